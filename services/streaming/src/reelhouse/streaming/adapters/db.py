"""Streaming tables (the playback projection) as SQLModel models. Schema lives in migrations/."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class StreamingTable(SQLModel, registry=registry()):
    """Base of the streaming tables: its own metadata, so services loaded in one process never collide."""


def utcnow() -> datetime:
    """Current time, tz-aware UTC."""
    return datetime.now(UTC)


class PlaybackAsset(StreamingTable, table=True):
    """What the streaming service knows about one video's playback.

    Built from two events that may arrive in either order: ``video.created`` fills ``owner_id`` and
    ``visibility``; ``transcode.completed`` fills the keys (object keys in the media bucket),
    ``duration_seconds`` (seconds), ``width``/``height`` (pixels), plus ``job_id`` and ``completed_at``
    (CloudEvents time of the winning result). The video is playable once ``master_key`` is set.
    """

    __tablename__ = "playback_assets"

    video_id: uuid.UUID = Field(primary_key=True)
    owner_id: str | None = None
    visibility: str | None = None
    job_id: uuid.UUID | None = None
    completed_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    master_key: str | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    poster_key: str | None = None
    thumbnail_keys: list[str] = Field(
        default_factory=list, sa_column=sa.Column(pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb"))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class PlaybackRendition(StreamingTable, table=True):
    """One HLS rendition of the current transcode result: pixels, peak ``bandwidth`` in bits/s, RFC 6381
    ``codecs`` and the object key of its media playlist."""

    __tablename__ = "playback_renditions"

    video_id: uuid.UUID = Field(
        sa_column=sa.Column(
            pg.UUID(as_uuid=True), sa.ForeignKey("playback_assets.video_id", ondelete="CASCADE"), primary_key=True
        )
    )
    playlist_key: str = Field(primary_key=True)
    quality: str
    width: int
    height: int
    bandwidth: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    codecs: str


class DeletedVideo(StreamingTable, table=True):
    """Tombstone of a deleted video so a late ``video.created`` / ``transcode.completed`` cannot bring
    its projection back (video ids are never reused)."""

    __tablename__ = "deleted_videos"

    video_id: uuid.UUID = Field(primary_key=True)
    deleted_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
