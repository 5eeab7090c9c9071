"""Bearer tokens from an identity provider (issue 10 item 6; docs/security.md, "Tokens"): RS256 verified
against a JWKS served over HTTP by this test (like Cognito, Keycloak or Auth0 do), with issuer, audience
and maximum-lifetime checks; and the dev HS256 scheme keeps working."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from reelhouse.platform.auth import issue_token, verify_token
from reelhouse.platform.problems import ProblemError
from reelhouse.platform.settings import PlatformSettings

pytestmark = pytest.mark.unit

ISSUER = "https://idp.example.test/realms/reelhouse"
AUDIENCE = "reelhouse-api"


@pytest.fixture(scope="module")
def idp():
    """(private key, JWKS URL): an RSA key published as a JWKS by a local HTTP server."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # noqa: ANN002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield key, f"http://127.0.0.1:{server.server_port}/certs"
    server.shutdown()


def _settings(url: str, **over) -> PlatformSettings:
    return PlatformSettings(**{"jwt_jwks_url": url, "jwt_algorithm": "RS256", "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, **over})


def _token(key, *, kid="k1", iss=ISSUER, aud=AUDIENCE, lifetime=3600, alg="RS256", **claims) -> str:
    now = int(time.time())
    body = {"sub": "alice", "iss": iss, "aud": aud, "iat": now, "exp": now + lifetime, **claims}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def _refused(token: str, settings: PlatformSettings) -> str:
    with pytest.raises(ProblemError) as caught:
        verify_token(token, settings)
    assert caught.value.status == 401 and caught.value.code == "UNAUTHENTICATED"
    return caught.value.detail or ""


def test_a_provider_token_is_verified_against_its_jwks(idp):
    key, url = idp
    principal = verify_token(_token(key, name="Alice"), _settings(url))
    assert (principal.user_id, principal.username) == ("alice", "Alice")


def test_wrong_issuer_audience_or_signer_is_refused(idp):
    key, url = idp
    settings = _settings(url)
    assert "issuer" in _refused(_token(key, iss="https://evil.example.test"), settings).lower()
    assert "audience" in _refused(_token(key, aud="another-app"), settings).lower()
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _refused(_token(stranger), settings)  # right kid, wrong key
    _refused(_token(key, kid="unknown"), settings)


def test_a_token_living_longer_than_the_maximum_is_refused(idp):
    key, url = idp
    assert "lifetime" in _refused(_token(key, lifetime=7 * 24 * 3600), _settings(url))
    verify_token(_token(key, lifetime=3600), _settings(url, jwt_max_lifetime_seconds=3600))


def test_the_dev_secret_is_never_accepted_in_jwks_mode(idp):
    _, url = idp
    settings = _settings(url)
    forged = issue_token("alice", settings.jwt_secret)  # HS256 with the published dev secret
    _refused(forged, settings)
    # JWKS mode never verifies with an HMAC algorithm (algorithm confusion), even when misconfigured
    _refused(_token(idp[0]), _settings(url, jwt_algorithm="HS256"))


def test_the_dev_scheme_still_works_and_checks_lifetime():
    settings = PlatformSettings()
    assert verify_token(issue_token("bob", settings.jwt_secret), settings).user_id == "bob"
    too_long = issue_token("bob", settings.jwt_secret, ttl_seconds=30 * 24 * 3600)
    assert "lifetime" in _refused(too_long, settings)


def test_jwks_mode_needs_an_issuer_and_no_jwt_secret_outside_dev(idp):
    _, url = idp
    own = {"playback_signing_secret": "p" * 48, "s3_access_key": "AKIAEXAMPLE", "s3_secret_key": "s" * 40}
    PlatformSettings(env="production", jwt_jwks_url=url, jwt_issuer=ISSUER, jwt_algorithm="RS256", **own).check_secrets()
    from reelhouse.platform.settings import InsecureSettings

    with pytest.raises(InsecureSettings) as caught:
        PlatformSettings(env="production", jwt_jwks_url=url, jwt_algorithm="RS256", **own).check_secrets()
    assert caught.value.variables == ["REELHOUSE_JWT_ISSUER"]
