"""Gallery settings: the shared platform settings (env prefix ``REELHOUSE_``); port 8101 by default."""

from __future__ import annotations

from pydantic import Field

from reelhouse.platform.settings import PlatformSettings

from reelhouse.gallery.domain.webhooks import DEFAULT_RETRY_SCHEDULE_SECONDS


class GallerySettings(PlatformSettings):
    """Settings of the gallery service (``REELHOUSE_HTTP_PORT`` default 8101)."""

    service_name: str = "gallery"
    http_port: int = 8101
    stuck_video_seconds: float = Field(default=300.0, gt=0)
    """``REELHOUSE_STUCK_VIDEO_SECONDS``: a video UPLOADED or TRANSCODING with no sign of a transcode job
    (no transition, no transcode event) this long is re-driven; the n-th re-drive waits
    ``2**n`` times as long for an answer (docs/reliability.md, "Sweepers")."""
    stuck_video_max_redrives: int = Field(default=3, ge=0)
    """``REELHOUSE_STUCK_VIDEO_MAX_REDRIVES``: re-drives without an answer before the video is FAILED
    (failReason NO_TRANSCODE_JOB). With the defaults: re-drives after 5, 15 and 35 min of silence, FAILED
    after 75 min."""
    stuck_sweeper_interval_seconds: float = Field(default=30.0, gt=0)
    """``REELHOUSE_STUCK_SWEEPER_INTERVAL_SECONDS``: how often the stuck-video sweeper runs."""
    dev_token_endpoint: bool = False
    """``REELHOUSE_DEV_TOKEN_ENDPOINT``: mount ``POST /api/dev/token`` (dev sign-in; the local stack only).
    Anyone could mint a token for any user with it, so outside ``REELHOUSE_ENV=dev`` the service refuses
    to start with it on (docs/security.md)."""

    webhook_retry_schedule_seconds: list[float] = Field(default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE_SECONDS))
    """``REELHOUSE_WEBHOOK_RETRY_SCHEDULE_SECONDS`` (JSON list): seconds before each retry of a failed
    webhook delivery (Standard Webhooks' recommended schedule, about 28 h; docs/webhooks.md)."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    """Timeout of one delivery attempt (seconds): connect, send and read the response."""
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    """How often the dispatcher looks for due deliveries when nothing wakes it (seconds)."""
    webhook_allow_private: bool | None = None
    """Deliver to loopback, link-local and private addresses. None (default): only in dev mode
    (``REELHOUSE_ENV=dev``); outside it such endpoints are refused (no SSRF; docs/security.md)."""
    webhook_max_endpoints: int = Field(default=20, ge=1)
    """Endpoints one owner may register."""
    webhook_secret_grace_seconds: float = Field(default=24 * 3600.0, ge=0)
    """After a secret rotation, deliveries are signed with the old secret too for this long (seconds)."""

    def webhooks_may_reach_private(self) -> bool:
        """Whether endpoints on private/loopback/link-local addresses are allowed (see
        ``webhook_allow_private``)."""
        if self.webhook_allow_private is not None:
            return self.webhook_allow_private
        return self.env.strip().lower() == "dev"

    def insecure_secrets(self) -> list[str]:
        """The platform's findings, plus ``REELHOUSE_DEV_TOKEN_ENDPOINT`` when the dev sign-in is on."""
        found = super().insecure_secrets()
        if self.dev_token_endpoint:
            found.append("REELHOUSE_DEV_TOKEN_ENDPOINT")
        return found
