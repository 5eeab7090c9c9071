"""Chat tables as SQLModel models. Schema lives in migrations/ (0001, 0002)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class ChatTable(SQLModel, registry=registry()):
    """Base of the chat tables: its own metadata, so services loaded in one process never collide."""


def utcnow() -> datetime:
    """Current time, tz-aware UTC."""
    return datetime.now(UTC)


def _ts(nullable: bool) -> sa.Column:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class ChatMessage(ChatTable, table=True):
    """One chat message in a live stream's room: ``seq`` is its place in the room (1, 2, ... per stream,
    allocated under the room row lock, so commit order equals ``seq`` order); ``sent_at`` when the server
    accepted it (UTC); ``deleted_at`` set when a moderator removed it (kept until the 7-day retention
    deletes the row, docs/architecture.md, "Services and what they own")."""

    __tablename__ = "chat_messages"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    stream_id: uuid.UUID
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    user_id: str
    username: str
    text: str
    sent_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    deleted_at: datetime | None = Field(default=None, sa_column=_ts(True))


class ChatRoom(ChatTable, table=True):
    """The chat room of one live stream, created by ``stream.started`` (or ``stream.ended``):
    ``status`` LIVE (posting open) or ENDED (read-only, history stays); ``last_seq`` the newest message's
    ``seq``; ``viewers`` the last published presence count (sum over replicas)."""

    __tablename__ = "chat_rooms"

    stream_id: uuid.UUID = Field(primary_key=True)
    owner_id: str
    status: str
    visibility: str = "public"
    last_seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))
    slow_mode_seconds: int = 0
    viewers: int = 0
    started_at: datetime | None = Field(default=None, sa_column=_ts(True))
    ended_at: datetime | None = Field(default=None, sa_column=_ts(True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))


class ChatBan(ChatTable, table=True):
    """A ban (``until`` None) or timeout (``until`` set) of a user in one room."""

    __tablename__ = "chat_bans"

    stream_id: uuid.UUID = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    until: datetime | None = Field(default=None, sa_column=_ts(True))
    reason: str | None = None
    created_by: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))


class ChatModerator(ChatTable, table=True):
    """A moderator the stream owner named for the room."""

    __tablename__ = "chat_moderators"

    stream_id: uuid.UUID = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    added_by: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))


class ChatPresence(ChatTable, table=True):
    """Connected clients of one stream on one replica, refreshed every presence interval."""

    __tablename__ = "chat_presence"

    replica_id: str = Field(primary_key=True)
    stream_id: uuid.UUID = Field(primary_key=True)
    viewers: int
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))


messages = ChatMessage.__table__
rooms = ChatRoom.__table__
bans = ChatBan.__table__
moderators = ChatModerator.__table__
presence = ChatPresence.__table__
