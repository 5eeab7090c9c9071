"""Streaming settings: the shared platform settings (env prefix ``REELHOUSE_``); port 8104 by default.

Playback signing uses the platform settings ``edge_base_url``, ``playback_signing_secret`` and
``playback_url_ttl_seconds`` (the default and longest lifetime of a playback URL, seconds).
"""

from __future__ import annotations

from reelhouse.platform.settings import PlatformSettings


class StreamingSettings(PlatformSettings):
    """Settings of the streaming service (``REELHOUSE_HTTP_PORT`` default 8104)."""

    service_name: str = "streaming"
    http_port: int = 8104
