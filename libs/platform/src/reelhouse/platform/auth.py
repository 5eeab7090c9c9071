"""OAuth2 bearer JWT verification (docs/architecture.md, "Authentication": HS256 with a dev secret locally).

Two schemes (docs/security.md, "Tokens"):

* dev: HS256 with the shared ``jwt_secret`` (the local stack, the tests; ``python -m
  reelhouse.platform.auth USER_ID`` prints a dev token);
* identity provider: with ``jwt_jwks_url`` set, RS256 (or the configured asymmetric algorithm) verified
  against the provider's JWKS (keys chosen by ``kid``, fetched and cached by PyJWT's ``PyJWKClient``),
  with ``iss`` (``jwt_issuer``) and ``aud`` (``jwt_audience``) checks. Works with Cognito, Keycloak and
  Auth0 access or ID tokens whose ``sub`` is the user id.

Both require ``sub``, ``exp`` and ``iat`` and refuse a token whose lifetime ``exp - iat`` exceeds
``jwt_max_lifetime_seconds``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import sys
import time
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reelhouse.platform.problems import ProblemError
from reelhouse.platform.settings import PlatformSettings


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: ``user_id`` is the JWT subject; ``username`` an optional display name."""

    user_id: str
    username: str | None = None


def issue_token(user_id: str, secret: str, ttl_seconds: int = 24 * 3600, algorithm: str = "HS256", username: str | None = None) -> str:
    """Sign a JWT for ``user_id`` valid for ``ttl_seconds`` seconds (dev and tests)."""
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + ttl_seconds}
    if username:
        claims["name"] = username
    return jwt.encode(claims, secret, algorithm=algorithm)


_SYMMETRIC = frozenset({"HS256", "HS384", "HS512"})


@functools.lru_cache(maxsize=8)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    """One cached JWKS client per URL: keys are kept (``lifespan`` 300 s) and refetched for an unknown
    ``kid`` (key rotation)."""
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)


def verify_token(token: str, settings: PlatformSettings) -> Principal:
    """Verify signature, expiry, issuer, audience and lifetime (see the module docstring).

    Returns the :class:`Principal`; raises ProblemError 401 ``UNAUTHENTICATED`` on any failure (bad
    signature, unknown ``kid``, expired, wrong ``iss``/``aud``, lifetime above the maximum, an HS*
    algorithm in JWKS mode, an unreachable JWKS URL).
    """
    try:
        if settings.jwt_jwks_url:
            if settings.jwt_algorithm.upper() in _SYMMETRIC:
                raise jwt.InvalidAlgorithmError("a JWKS verifies asymmetric signatures only (set RS256)")
            key: object = _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key
        else:
            key = settings.jwt_secret
        claims = jwt.decode(
            token,
            key,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={
                "require": ["sub", "exp", "iat"],
                "verify_aud": settings.jwt_audience is not None,
                "verify_iss": settings.jwt_issuer is not None,
            },
        )
        lifetime = int(claims["exp"]) - int(claims["iat"])
        if lifetime > settings.jwt_max_lifetime_seconds:
            raise jwt.InvalidTokenError(f"token lifetime {lifetime} s exceeds {settings.jwt_max_lifetime_seconds} s")
    except jwt.PyJWTError as exc:
        raise ProblemError(401, "UNAUTHENTICATED", "Invalid or expired token", str(exc)) from exc
    return Principal(user_id=str(claims["sub"]), username=claims.get("name"))


def ticket_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose derived from a service secret (HMAC-SHA256(secret, purpose)), so a ticket
    key never equals, nor reveals, the secret it comes from."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def issue_ticket(principal: Principal, audience: str, key: bytes, ttl_seconds: int = 30) -> tuple[str, int]:
    """A short-lived ticket (an HS256 JWT with ``sub``, ``name``, ``aud`` = ``audience``, ``iat``, ``exp``)
    standing for ``principal`` at one resource, for URLs where a bearer token must not go (a WebSocket
    URL is logged by proxies). Returns (ticket, expiry in unix seconds)."""
    now = int(time.time())
    claims: dict[str, object] = {"sub": principal.user_id, "aud": audience, "iat": now, "exp": now + ttl_seconds}
    if principal.username:
        claims["name"] = principal.username
    return jwt.encode(claims, key, algorithm="HS256"), now + ttl_seconds


def verify_ticket(ticket: str, audience: str, key: bytes) -> Principal:
    """The :class:`Principal` of a ticket from :func:`issue_ticket` for exactly ``audience``; raises
    ProblemError 401 ``UNAUTHENTICATED`` when it is forged, expired or for another resource."""
    try:
        claims = jwt.decode(ticket, key, algorithms=["HS256"], audience=audience, options={"require": ["sub", "exp", "aud"]})
    except jwt.PyJWTError as exc:
        raise ProblemError(401, "UNAUTHENTICATED", "Invalid or expired ticket", str(exc)) from exc
    return Principal(user_id=str(claims["sub"]), username=claims.get("name"))


_bearer = HTTPBearer(auto_error=False)


def current_principal(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """FastAPI dependency: the caller from ``Authorization: Bearer <jwt>``; 401 problem when absent."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise ProblemError(401, "UNAUTHENTICATED", "Missing bearer token")
    return verify_token(creds.credentials, request.app.state.settings)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def main(argv: list[str] | None = None) -> int:
    """CLI: print only a dev JWT for the given user id (used by ``make -s token USER=<id>``)."""
    args = argv if argv is not None else sys.argv[1:]
    if not args or not args[0]:
        print("usage: python -m reelhouse.platform.auth USER_ID", file=sys.stderr)
        return 2
    settings = PlatformSettings()
    print(issue_token(args[0], settings.jwt_secret, algorithm=settings.jwt_algorithm))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
