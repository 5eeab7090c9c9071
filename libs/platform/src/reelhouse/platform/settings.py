"""Settings every service reads from the environment (prefix ``REELHOUSE_``), via pydantic-settings.

Defaults point at the local stack (docs/architecture.md, "Local stack"): PostgreSQL on 127.0.0.1:5432 with trust auth,
RabbitMQ on 127.0.0.1:5672 (guest/guest), the local S3-compatible server on 127.0.0.1:9000, the edge on
http://127.0.0.1:8080.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class InsecureSettings(RuntimeError):
    """A secret is missing or still holds a published development value outside dev mode.

    ``variables`` lists the environment variables to set (``REELHOUSE_JWT_SECRET``...)."""

    def __init__(self, variables: list[str]) -> None:
        self.variables = variables
        super().__init__(
            "refusing to start: these secrets are empty or hold the published development value: "
            + ", ".join(variables)
            + " (set them, or REELHOUSE_ENV=dev on a development machine; docs/security.md)"
        )


class PlatformSettings(BaseSettings):
    """Connection and security settings shared by all services.

    ``postgres_url`` names the server (any database); each service uses its own database
    ``reelhouse_<service>`` on it unless ``database_url`` is set explicitly.
    """

    model_config = SettingsConfigDict(env_prefix="REELHOUSE_", env_file=None, extra="ignore")

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("jwt_secret", "playback_signing_secret", "s3_access_key", "s3_secret_key")
    """Fields that hold secrets: their defaults are development values, accepted only when ``env`` is dev."""

    env: str = "production"
    """``REELHOUSE_ENV``: ``dev`` (the local stack, the dev cluster overlay, the tests) accepts the
    development secrets below; anything else refuses to start with one of them (:meth:`check_secrets`)."""
    service_name: str = "reelhouse"
    postgres_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    database_url: str | None = None
    database_prefix: str = "reelhouse_"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    events_exchange: str = "reelhouse.events"
    queue_prefix: str = "reelhouse."
    max_delivery_attempts: int = Field(default=5, ge=1, description="handler errors before the DLQ")
    retry_backoff_seconds: float = Field(default=1.0, gt=0, description="first retry delay, doubles")
    retry_backoff_max_seconds: float = Field(default=60.0, gt=0, description="cap of the retry delay")
    retry_window_seconds: float = Field(
        default=1800.0, gt=0, description="outages and missing dependencies are retried this long before the DLQ"
    )

    outbox_retention_seconds: float = Field(default=7 * 86400.0, gt=0)
    """Sent outbox rows older than this (by ``sent_at``) are deleted; unsent rows never are
    (:mod:`reelhouse.platform.messaging.pruning`). Chat caps it at its message retention
    (:meth:`messaging_retention`)."""
    inbox_retention_seconds: float = Field(default=7 * 86400.0, gt=0)
    """Inbox rows (processed event ids) older than this are deleted; keep it well above
    ``retry_window_seconds``, the longest time a duplicate of a processed event can still arrive."""
    messaging_prune_interval_seconds: float = Field(default=300.0, gt=0)
    metrics_interval_seconds: float = Field(default=15.0, gt=0)
    """How often the outbox backlog, queue depths and readiness gauges are sampled (seconds;
    docs/observability.md)."""
    """How often each service prunes its outbox and inbox."""

    s3_endpoint_url: str = "http://127.0.0.1:9000"
    s3_public_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str = "reelhouse"
    s3_secret_key: str = "reelhouse-dev-secret"
    uploads_bucket: str = "reelhouse-uploads"
    media_bucket: str = "reelhouse-media"
    s3_manage_buckets: bool = Field(
        default=True,
        description="create the buckets and add Reelhouse's lifecycle and CORS rules at start; false for "
        "deployments without bucket-admin rights (the operator creates the buckets)",
    )

    jwt_secret: str = "reelhouse-dev-jwt-secret-change-me-0123456789"
    """HS256 key of bearer tokens: the dev scheme, used only while ``jwt_jwks_url`` is unset."""
    jwt_algorithm: str = "HS256"
    """Token algorithm: HS256 with ``jwt_secret``; RS256 (or ES256...) with ``jwt_jwks_url``."""
    jwt_audience: str | None = None
    """Required ``aud`` claim when set (always set it with an identity provider)."""
    jwt_jwks_url: str | None = None
    """JWKS URL of the identity provider (Cognito ``https://cognito-idp.<region>.amazonaws.com/<pool>/
    .well-known/jwks.json``, Keycloak ``<realm>/protocol/openid-connect/certs``, Auth0
    ``https://<tenant>/.well-known/jwks.json``): tokens are then verified with its public keys
    (``kid``), never with ``jwt_secret``. Needs ``jwt_issuer``."""
    jwt_issuer: str | None = None
    """Required ``iss`` claim when set (required with ``jwt_jwks_url``)."""
    jwt_max_lifetime_seconds: int = Field(default=24 * 3600, ge=60)
    """Longest accepted token lifetime, ``exp - iat`` in seconds (the dev tokens live 24 h)."""
    playback_signing_secret: str = "reelhouse-dev-playback-secret-change-me"
    playback_url_ttl_seconds: int = Field(default=900, ge=60)
    """Lifetime (s) of a signed VOD playback URL, and so the longest time a URL issued before a video was
    made private or deleted keeps playing it (edge objects included): docs/security.md. Players get new
    URLs from ``GET /api/videos/{id}/playback`` before ``expiresAt``."""
    live_playback_url_ttl_seconds: int = Field(default=6 * 3600, ge=60)
    """Lifetime (s) of a signed live playlist URL (players reload the same URL for the whole stream)."""
    edge_base_url: str = "http://127.0.0.1:8080"

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    log_json: bool = False

    def insecure_secrets(self) -> list[str]:
        """Environment variable names of the :attr:`SECRET_FIELDS` that are empty or equal to their
        published development default (whatever ``env`` says)."""
        found = []
        for name in self.SECRET_FIELDS:
            if name == "jwt_secret" and self.jwt_jwks_url:
                continue  # tokens are verified with the provider's public keys, the secret is unused
            value = getattr(self, name)
            if not value or value == type(self).model_fields[name].default:
                found.append(f"REELHOUSE_{name.upper()}")
        return found

    def check_secrets(self) -> None:
        """Raise :class:`InsecureSettings` unless ``env`` is ``dev`` or every secret was set to a value of
        its own (issue 10: a missing variable must not silently apply a development secret). Called when a
        service starts (:func:`reelhouse.platform.runtime.create_app`)."""
        if self.env.strip().lower() == "dev":
            return
        found = self.insecure_secrets()
        if self.jwt_jwks_url and not self.jwt_issuer:
            found.append("REELHOUSE_JWT_ISSUER")
        if found:
            raise InsecureSettings(found)

    def messaging_retention(self) -> tuple[float, float]:
        """``(outbox, inbox)`` retention in seconds used by the service's pruner (services holding
        personal data in their events lower the outbox one: chat)."""
        return self.outbox_retention_seconds, self.inbox_retention_seconds

    def database_url_for(self, service: str) -> str:
        """SQLAlchemy URL of ``service``'s own database (``<prefix><service>`` on ``postgres_url``)."""
        if self.database_url:
            return self.database_url
        return make_url(self.postgres_url).set(database=f"{self.database_prefix}{service}").render_as_string(
            hide_password=False
        )

    def queue_name(self, service: str) -> str:
        """Name of ``service``'s durable consumer queue, e.g. ``reelhouse.transcoder``."""
        return f"{self.queue_prefix}{service}"


class EdgeSettings(BaseSettings):
    """Settings of the nginx edge's browser and abuse policy (prefix ``REELHOUSE_EDGE_``), filled into
    ``deploy/k8s/base/nginx/edge.conf.template`` (docs/security.md, "CORS" and "Edge limits").

    The defaults are the Kubernetes base's (``deploy/k8s/base/reelhouse.env``); the laptop stack raises
    the limits (deploy/local/stack.py), since every test and benchmark there comes from one address.
    Raises ``pydantic.ValidationError`` for an origin that is not ``scheme://host[:port]`` or a limit
    below 1.
    """

    model_config = SettingsConfigDict(env_prefix="REELHOUSE_EDGE_", env_file=None, extra="ignore")

    cors_allowed_origins: str = ""
    """Comma-separated origins whose browser apps may call the API (``https://app.example.com``); empty:
    the same origin only."""
    api_rate_per_second: int = Field(default=20, ge=1)
    """API requests per second per client address (nginx ``limit_req`` rate)."""
    api_burst: int = Field(default=50, ge=1)
    """Requests above the rate a client address may send at once before 429 (``limit_req`` burst)."""
    api_connections_per_address: int = Field(default=32, ge=1)
    """Concurrent API requests per client address (``limit_conn``)."""
    ws_connections_per_address: int = Field(default=16, ge=1)
    """Open WebSockets (chat) per client address (``limit_conn``)."""

    @field_validator("cors_allowed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        origins = [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], nothing after it)")
        return ",".join(origins)

    def template_values(self) -> dict[str, str]:
        """The edge template's variables for these settings (``CORS_ALLOWED_ORIGINS``...)."""
        return {
            "CORS_ALLOWED_ORIGINS": self.cors_allowed_origins,
            "EDGE_API_RATE_PER_SECOND": str(self.api_rate_per_second),
            "EDGE_API_BURST": str(self.api_burst),
            "EDGE_API_CONNECTIONS_PER_ADDRESS": str(self.api_connections_per_address),
            "EDGE_WS_CONNECTIONS_PER_ADDRESS": str(self.ws_connections_per_address),
        }


_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9.-]+(:[0-9]{1,5})?|[A-Za-z][A-Za-z0-9+.-]*://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
