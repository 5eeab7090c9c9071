"""OAuth2 bearer JWT verification (docs/architecture.md, "Authentication": HS256 with a dev secret locally).

The token's ``sub`` is the user id. ``python -m reelhouse.platform.auth USER_ID`` prints a dev token.
"""

from __future__ import annotations

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


def verify_token(token: str, settings: PlatformSettings) -> Principal:
    """Verify signature and expiry; raises ProblemError 401 ``UNAUTHENTICATED`` on any failure."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            options={"require": ["sub", "exp"], "verify_aud": settings.jwt_audience is not None},
        )
    except jwt.PyJWTError as exc:
        raise ProblemError(401, "UNAUTHENTICATED", "Invalid or expired token", str(exc)) from exc
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
