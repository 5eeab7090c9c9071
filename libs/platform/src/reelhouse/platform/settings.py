"""Settings every service reads from the environment (prefix ``REELHOUSE_``), via pydantic-settings.

Defaults point at the local stack (docs/architecture.md, "Local stack"): PostgreSQL on 127.0.0.1:5432 with trust auth,
RabbitMQ on 127.0.0.1:5672 (guest/guest), the local S3-compatible server on 127.0.0.1:9000, the edge on
http://127.0.0.1:8080.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class PlatformSettings(BaseSettings):
    """Connection and security settings shared by all services.

    ``postgres_url`` names the server (any database); each service uses its own database
    ``reelhouse_<service>`` on it unless ``database_url`` is set explicitly.
    """

    model_config = SettingsConfigDict(env_prefix="REELHOUSE_", env_file=None, extra="ignore")

    service_name: str = "reelhouse"
    postgres_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    database_url: str | None = None
    database_prefix: str = "reelhouse_"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    events_exchange: str = "reelhouse.events"
    queue_prefix: str = "reelhouse."
    max_delivery_attempts: int = Field(default=5, ge=1, description="deliveries before the DLQ")
    retry_backoff_seconds: float = Field(default=1.0, gt=0, description="first retry delay, doubles")

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
    jwt_algorithm: str = "HS256"
    jwt_audience: str | None = None
    playback_signing_secret: str = "reelhouse-dev-playback-secret-change-me"
    playback_url_ttl_seconds: int = Field(default=6 * 3600, ge=60)
    edge_base_url: str = "http://127.0.0.1:8080"

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    log_json: bool = False

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
