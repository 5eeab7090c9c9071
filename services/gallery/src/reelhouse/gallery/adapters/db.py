"""Gallery tables (docs/api.md, "Videos"; docs/architecture.md) as SQLModel models. Schema lives in migrations/."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class GalleryTable(SQLModel, registry=registry()):
    """Base of the gallery tables: its own metadata, so services loaded in one process never collide."""


def utcnow() -> datetime:
    """Current time, tz-aware UTC."""
    return datetime.now(UTC)


class Video(GalleryTable, table=True):
    """One video: its owner, metadata, declared and uploaded source, status and playback data.

    Sizes in bytes, duration in seconds, dimensions in pixels. ``version`` feeds the ETag.
    """

    __tablename__ = "videos"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: str = Field(index=True)
    title: str
    description: str = ""
    visibility: str = "private"
    source_file_name: str | None = None
    source_file_key: str | None = None
    source_bucket: str | None = None
    source_size_bytes: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    source_mime: str
    source_checksum: str | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    status: str = Field(default="DRAFT", index=True)
    fail_reason: str | None = None
    fail_detail: str | None = None
    transcode_progress: float | None = None
    transcode_attempt: int = 0
    master_key: str | None = None
    poster_key: str | None = None
    view_count: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    activity_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    """Last sign of life of the video's pipeline: its last transition or transcode event (the stuck-video
    sweeper, :mod:`reelhouse.gallery.sweeper`, measures silence from here)."""
    redrive_count: int = 0
    """Re-drives the sweeper sent since the last sign of life (reset by any transcode event)."""
    redriven_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))


class VideoTransition(GalleryTable, table=True):
    """One status transition of a video (the history: ``from_status`` -> ``to_status``, what caused it,
    when). Written in the transaction that changes ``videos.status``; a drill asserts no transition
    happens twice."""

    __tablename__ = "video_transitions"

    id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True))
    video_id: uuid.UUID = Field(sa_column=sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("videos.id", ondelete="CASCADE"), nullable=False))
    from_status: str
    to_status: str
    cause: str
    at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class VideoAsset(GalleryTable, table=True):
    """One derived asset of a READY video: the master playlist, a rendition, the poster or a thumbnail."""

    __tablename__ = "video_assets"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    video_id: uuid.UUID = Field(sa_column=sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("videos.id", ondelete="CASCADE"), nullable=False, index=True))
    type: str  # HLS_MASTER / HLS_RENDITION / POSTER / THUMBNAIL
    quality_label: str | None = None
    bandwidth: int | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    container: str | None = None
    file_key: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


def touch(video: Video, now=None) -> None:  # noqa: ANN001
    """A sign of life of the video's pipeline (a transition or a transcode event): the stuck-video
    sweeper starts counting silence again and forgets earlier re-drives (docs/reliability.md)."""
    video.activity_at = now or utcnow()
    video.redrive_count = 0
    video.redriven_at = None
