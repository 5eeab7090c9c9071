"""Gallery settings: the shared platform settings (env prefix ``REELHOUSE_``); port 8101 by default."""

from __future__ import annotations

from reelhouse.platform.settings import PlatformSettings


class GallerySettings(PlatformSettings):
    """Settings of the gallery service (``REELHOUSE_HTTP_PORT`` default 8101)."""

    service_name: str = "gallery"
    http_port: int = 8101
    dev_token_endpoint: bool = False
    """``REELHOUSE_DEV_TOKEN_ENDPOINT``: mount ``POST /api/dev/token`` (dev sign-in; the local stack only)."""
