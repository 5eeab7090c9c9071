"""Chat settings: the shared platform settings (env prefix ``REELHOUSE_``); port 8105 by default."""

from __future__ import annotations

from reelhouse.platform.settings import PlatformSettings


class ChatSettings(PlatformSettings):
    """Settings of the chat service (``REELHOUSE_HTTP_PORT`` default 8105)."""

    service_name: str = "chat"
    http_port: int = 8105
