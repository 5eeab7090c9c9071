"""Upload tables: ``upload_sessions`` (docs/api.md, "Upload sessions", plus declared size, part size and object key)
and ``video_projection`` (the videos this service may accept, built from video.created / video.deleted)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class UploadTable(SQLModel, registry=registry()):
    """Base of the upload tables: its own metadata, so services loaded in one process never collide."""


def utcnow() -> datetime:
    """Current time, tz-aware UTC."""
    return datetime.now(UTC)


class VideoProjection(UploadTable, table=True):
    """What the upload service knows of a video: owner and the declared source (bytes, MIME type)."""

    __tablename__ = "video_projection"

    video_id: uuid.UUID = Field(primary_key=True)
    owner_id: str
    source_mime: str
    source_size_bytes: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    deleted: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class UploadSession(UploadTable, table=True):
    """One S3 multipart upload of a video's source. Sizes in bytes."""

    __tablename__ = "upload_sessions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    video_id: uuid.UUID = Field(index=True)
    owner_id: str
    provider: str = "S3_MULTIPART"
    provider_upload_id: str
    bucket: str
    object_key: str
    source_mime: str
    declared_size_bytes: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    part_size_bytes: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    status: str = "INITIATED"
    bytes_uploaded: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))
    fail_reason: str | None = None
    checksum: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
