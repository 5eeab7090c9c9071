"""Upload settings: the shared platform settings (env prefix ``REELHOUSE_``); port 8102 by default."""

from __future__ import annotations

from pydantic import Field

from reelhouse.platform.settings import PlatformSettings


class UploadSettings(PlatformSettings):
    """Settings of the upload service (``REELHOUSE_HTTP_PORT`` default 8102)."""

    service_name: str = "upload"
    http_port: int = 8102
    upload_session_idle_seconds: float = Field(
        default=86400.0, gt=0, description="an open session with no activity this long is expired (s)"
    )
    upload_sweeper_interval_seconds: float = Field(default=60.0, gt=0, description="how often the sweeper runs (s)")
