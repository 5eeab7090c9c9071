"""Upload settings: the shared platform settings (env prefix ``REELHOUSE_``); port 8102 by default."""

from __future__ import annotations

from reelhouse.platform.settings import PlatformSettings


class UploadSettings(PlatformSettings):
    """Settings of the upload service (``REELHOUSE_HTTP_PORT`` default 8102)."""

    service_name: str = "upload"
    http_port: int = 8102
