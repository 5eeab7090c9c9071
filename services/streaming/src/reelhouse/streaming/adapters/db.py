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
    ``storyboard_key`` is the WebVTT index of the scrub-preview sprites (None when none was made).
    ``visibility_version`` is the video version of the ``video.updated`` that last set ``visibility``
    (0: only ``video.created`` did), so an older or repeated update never overrides a newer one.
    """

    __tablename__ = "playback_assets"

    video_id: uuid.UUID = Field(primary_key=True)
    owner_id: str | None = None
    visibility: str | None = None
    visibility_version: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default=sa.text("0")))
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
    storyboard_key: str | None = None
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


# --- live streams ------------------------------------------------------------------------------------


class LiveStream(StreamingTable, table=True):
    """One live stream (docs/api.md, "Live streams"), private to its owner.

    ``key_nonce`` derives the stream key with the server's ``stream_key_secret``; ``key_hash`` is the
    peppered HMAC of the key (lookup index). Neither reveals the key without the server secrets.
    ``publisher_client_id`` is the nginx-rtmp client id of the connected broadcaster (None when nobody
    is connected); ``disconnected_at`` starts the reconnect window. ``recording_state`` is NONE
    (recording off or not ended yet), PENDING, PROCESSING, UPLOADED, EMPTY, FAILED or DELETED (the
    recording's video was deleted, and with it the object at ``recording_key``, then cleared);
    ``recording_video_id`` is the gallery video the recording becomes. ``viewer_count`` comes from the
    chat service's ``chat.presence`` (``viewer_count_at`` = its time). ``thumbnail_key`` is the media
    bucket key of the owner's thumbnail image (``live/<id>/thumbnail-<nonce>.jpg``; None: none set).
    ``version`` feeds the ETag.
    """

    __tablename__ = "live_streams"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: str = Field(index=True)
    title: str
    description: str = ""
    status: str = Field(default="OFFLINE", index=True)
    recording_enabled: bool = True
    scheduled_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    started_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    end_reason: str | None = None
    key_nonce: str
    key_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    key_rotated_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    publisher_client_id: str | None = None
    publisher_connected_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    disconnected_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    viewer_count: int = 0
    viewer_count_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    recording_state: str = "NONE"
    recording_error: str | None = None
    recording_video_id: uuid.UUID | None = None
    recording_key: str | None = None
    recording_started_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    """When the current PROCESSING attempt began (the stuck-recording sweeper measures from here)."""
    recording_attempts: int = 0
    """PROCESSING attempts so far (the sweeper fails the recording after ``live_recording_max_attempts``)."""
    thumbnail_key: str | None = None
    visibility: str = "private"
    """``private`` (only the owner) or ``public`` (anyone signed in may watch it and list it)."""
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class IngestSession(StreamingTable, table=True):
    """One broadcaster connection to the ingest (on_publish .. on_publish_done). ``key_hash`` is the
    lookup hash of the key it published with (None for sessions older than migration 0006)."""

    __tablename__ = "live_ingest_sessions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    stream_id: uuid.UUID = Field(
        sa_column=sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("live_streams.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    client_id: str
    key_hash: str | None = None
    addr: str | None = None
    started_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))


class RecordingPart(StreamingTable, table=True):
    """One FLV file the ingest finished recording (on_record_done) for a stream."""

    __tablename__ = "live_recording_parts"

    path: str = Field(primary_key=True)
    stream_id: uuid.UUID = Field(
        sa_column=sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("live_streams.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    done_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
