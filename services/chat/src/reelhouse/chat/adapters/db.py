"""Chat tables as SQLModel models. Schema lives in migrations/."""

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


class ChatMessage(ChatTable, table=True):
    """One chat message in a live stream's room: ``sent_at`` when the server accepted it (UTC);
    ``deleted_at`` set when a moderator removed it (kept for the 7-day retention window, DESIGN.md
    section 1)."""

    __tablename__ = "chat_messages"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    stream_id: uuid.UUID
    user_id: str
    username: str
    text: str
    sent_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    deleted_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
