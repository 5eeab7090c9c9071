"""Chat settings: the shared platform settings (env prefix ``REELHOUSE_``); port 8105 by default.

Limits (all overridable in the environment, e.g. ``REELHOUSE_CHAT_MAX_MESSAGE_CHARS=300``):

- ``chat_max_message_chars``: longest accepted message text, in characters (after trimming);
- ``chat_max_frame_bytes``: largest client frame the service reads; bigger frames get FRAME_TOO_LARGE and
  the connection is closed with 1009;
- ``chat_rate_burst`` / ``chat_rate_per_second``: per-user token bucket (per replica) for posts;
- ``chat_frame_burst`` / ``chat_frames_per_second``: per-connection budget of client frames of any
  kind; a connection that keeps exceeding it is closed with 1008 (flooding);
- ``chat_send_queue_frames``: bounded per-connection send queue; a client that falls this far behind is
  disconnected with close code 1013 instead of slowing the room or growing memory;
- ``chat_history_messages``: recent messages sent on connect (and the cap of a reconnect catch-up);
- ``chat_retention_days`` / ``chat_retention_interval_seconds``: messages older than this are deleted by a
  periodic job (also ``python -m reelhouse.chat.retention``); the outbox, whose ``chat.posted`` rows
  hold message text, keeps sent rows no longer than this either (:meth:`ChatSettings.messaging_retention`);
- ``chat_presence_interval_seconds``: how often each replica reports its viewer counts; a replica silent
  for 3 intervals no longer counts;
- ``chat_ticket_ttl_seconds``: lifetime of a WebSocket ticket (the key is derived from
  ``playback_signing_secret``, so every replica accepts every replica's tickets).
"""

from __future__ import annotations

from pydantic import Field

from reelhouse.platform.settings import PlatformSettings


class ChatSettings(PlatformSettings):
    """Settings of the chat service (``REELHOUSE_HTTP_PORT`` default 8105)."""

    service_name: str = "chat"
    http_port: int = 8105

    chat_max_message_chars: int = Field(default=500, ge=1)
    chat_max_frame_bytes: int = Field(default=8192, ge=256)
    chat_rate_burst: int = Field(default=5, ge=1)
    chat_rate_per_second: float = Field(default=1.0, gt=0)
    chat_frame_burst: int = Field(default=20, ge=1)
    chat_frames_per_second: float = Field(default=10.0, gt=0)
    chat_send_queue_frames: int = Field(default=512, ge=8)
    chat_history_messages: int = Field(default=50, ge=0, le=500)
    chat_retention_days: float = Field(default=7.0, gt=0)
    chat_retention_interval_seconds: float = Field(default=3600.0, gt=0)
    chat_presence_interval_seconds: float = Field(default=2.0, gt=0)
    chat_replica_id: str | None = None
    chat_ticket_ttl_seconds: int = Field(default=30, ge=5, le=600)
    """Lifetime of a WebSocket ticket (``POST /api/streams/{id}/chat/ticket``), seconds."""

    def messaging_retention(self) -> tuple[float, float]:
        """``(outbox, inbox)`` retention in seconds: the outbox keeps ``chat.posted`` envelopes (message
        text), so its retention is capped at ``chat_retention_days`` (7 days by default, docs/api.md
        "Chat") and chat text never outlives the messages table."""
        outbox_seconds, inbox_seconds = super().messaging_retention()
        return min(outbox_seconds, self.chat_retention_days * 86400.0), inbox_seconds
