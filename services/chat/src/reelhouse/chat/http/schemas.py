"""Request and response bodies of the chat REST API (docs/api.md, "Chat"; camelCase on the wire).

Times are ISO 8601 in UTC; ``seq`` numbers a room's messages in order. The WebSocket frames are described
in :mod:`reelhouse.chat.http.ws`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from reelhouse.platform.api import ApiModel


class _In(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class BanIn(_In):
    """``POST .../chat/bans``: ``durationSeconds`` makes a timeout (at most 14 days), none a ban."""

    user_id: str = Field(min_length=1, max_length=200)
    duration_seconds: int | None = Field(default=None, ge=1, le=14 * 24 * 3600, description="timeout length; omit for a ban")
    reason: str | None = Field(default=None, max_length=500)


class SettingsIn(_In):
    """``PUT .../chat/settings``: seconds a user waits between two messages (0 = off)."""

    slow_mode_seconds: int = Field(ge=0, le=3600)


class RoomOut(ApiModel):
    """A stream's chat room: its stream's owner, status and visibility, slow mode, viewers connected now,
    and ``lastSeq`` (the ``seq`` of the newest message)."""

    stream_id: uuid.UUID
    owner_id: str
    status: str
    visibility: str
    slow_mode_seconds: int
    viewers: int
    last_seq: int


class TicketOut(ApiModel):
    """A short-lived ticket for the chat WebSocket: connect to ``webSocketPath`` (it carries the ticket)
    before ``expiresAt``."""

    ticket: str
    expires_at: datetime
    web_socket_path: str


class ChatMessageOut(ApiModel):
    """One chat message."""

    id: uuid.UUID
    seq: int
    stream_id: uuid.UUID
    user_id: str
    username: str | None = None
    text: str
    sent_at: datetime


class ChatMessagePage(ApiModel):
    """History, newest first; ``nextCursor`` asks for older messages (null: no more)."""

    items: list[ChatMessageOut]
    next_cursor: str | None = None


class BanOut(ApiModel):
    """A ban just made: ``until`` is null for a ban, the end of a timeout otherwise."""

    user_id: str
    until: datetime | None = None
    reason: str | None = None


class BanItem(BanOut):
    """A ban in force, with who made it and when."""

    created_by: str
    created_at: datetime


class BanPage(ApiModel):
    """Every ban in force (one page: ``nextCursor`` is always null)."""

    items: list[BanItem]
    next_cursor: str | None = None


class ModeratorOut(ApiModel):
    """A moderator of the room."""

    user_id: str


class ModeratorPage(ApiModel):
    """Every moderator (one page: ``nextCursor`` is always null)."""

    items: list[ModeratorOut]
    next_cursor: str | None = None
