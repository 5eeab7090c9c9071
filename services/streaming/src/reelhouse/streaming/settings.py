"""Streaming settings: the shared platform settings (env prefix ``REELHOUSE_``); port 8104 by default.

Playback signing uses the platform settings ``edge_base_url``, ``playback_signing_secret`` and
``playback_url_ttl_seconds`` (the default and longest lifetime of a playback URL, seconds).

Live streaming (all ``REELHOUSE_`` + upper-case name):

- ``stream_key_secret``: derives the stream keys (see :mod:`reelhouse.streaming.domain.live`);
  ``stream_key_pepper``: keys the stored lookup hash. Both are server secrets, never in the database.
- ``rtmp_ingest_url``: what broadcasters are told to publish to (``rtmp://host:1935/live``).
- ``rtmp_control_url``: the ingest nginx's ``rtmp_control`` base (loopback HTTP), used to disconnect
  a broadcaster.
- ``rtmp_callback_token``: the ``t`` query parameter the ingest's callbacks must carry. Empty
  refuses every callback (never "no check"); outside dev mode the service does not start without one.
- ``rtmp_record_dir``: the ingest's ``record_path`` as this service sees it; a ``record_done`` callback
  naming a file anywhere else is ignored (the service only ever remuxes the ingest's own recordings).
- ``live_reconnect_window_seconds``: a broadcaster that drops and returns within this many seconds
  continues the same stream; ``live_idle_timeout_seconds``: a stream started from the API that never
  gets a broadcaster ends after this (30 minutes, docs/api.md "Live streams").
- ``live_recording_grace_seconds``: how long an ENDED stream waits for the ingest's ``record_done``
  before its recording is remuxed with what is there.
- ``live_recording_processing_timeout_seconds``: a recording PROCESSING this long (its process died
  mid-remux or mid-upload) goes back to PENDING and is processed again, at most
  ``live_recording_max_attempts`` times in all; then FAILED (``PROCESSING_TIMEOUT``). docs/reliability.md,
  "Sweepers".
"""

from __future__ import annotations

from pydantic import Field

from reelhouse.platform.settings import PlatformSettings


class StreamingSettings(PlatformSettings):
    """Settings of the streaming service (``REELHOUSE_HTTP_PORT`` default 8104)."""

    SECRET_FIELDS = (*PlatformSettings.SECRET_FIELDS, "stream_key_secret", "stream_key_pepper", "rtmp_callback_token")

    service_name: str = "streaming"
    http_port: int = 8104

    stream_key_secret: str = "reelhouse-dev-stream-key-secret-change-me"
    stream_key_pepper: str = "reelhouse-dev-stream-key-pepper-change-me"
    rtmp_ingest_url: str = "rtmp://127.0.0.1:1935/live"
    rtmp_control_url: str = "http://127.0.0.1:8106/control"
    rtmp_callback_token: str = "reelhouse-dev-rtmp-callback-token"
    rtmp_record_dir: str = "/var/lib/reelhouse-live/recordings"
    live_reconnect_window_seconds: float = Field(default=30.0, ge=0)
    live_idle_timeout_seconds: float = Field(default=1800.0, gt=0)
    live_recording_grace_seconds: float = Field(default=10.0, ge=0)
    live_supervisor_interval_seconds: float = Field(default=1.0, gt=0)
    live_recording_processing_timeout_seconds: float = Field(default=1800.0, gt=0)
    live_recording_max_attempts: int = Field(default=3, ge=1)
    recordings_prefix: str = "recordings"


def streaming_settings(settings: PlatformSettings | None) -> StreamingSettings:
    """``settings`` as :class:`StreamingSettings` (a plain PlatformSettings gets the live defaults and
    whatever the environment sets)."""
    if settings is None:
        return StreamingSettings()
    if isinstance(settings, StreamingSettings):
        return settings
    return StreamingSettings(**settings.model_dump(exclude={"service_name", "http_port"}, exclude_unset=True))
