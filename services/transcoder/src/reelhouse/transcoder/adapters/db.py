"""Transcoder tables: ``transcode_jobs`` (one row per requested transcode: attempts, timings, worker) and
``deleted_videos`` (tombstones from video.deleted so a late job never resurrects a deleted video)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from reelhouse.transcoder.domain.job import JobStatus


class TranscoderTable(SQLModel, registry=registry()):
    """Base of the transcoder tables: its own metadata, so services loaded in one process never collide."""


def utcnow() -> datetime:
    """Current time, tz-aware UTC."""
    return datetime.now(UTC)


class TranscodeJob(TranscoderTable, table=True):
    """A transcode of one source. ``job_key`` is the idempotency key: ``upload:<uploadSessionId>`` for a
    fresh upload, ``retry:<eventId>`` for a retry, so a duplicate delivery finds the existing job.

    Status (:class:`~reelhouse.transcoder.domain.job.JobStatus`, stored as its value): RUNNING ->
    COMPLETED | FAILED. Durations in seconds. ``attempt`` counts the workers that
    claimed the job (1 = the first one; a takeover after a crash, a retry or a hand-back adds one);
    ``worker`` is the last claimer's name.

    Ownership (see :mod:`reelhouse.transcoder.worker`): a RUNNING job belongs to ``lease_owner`` until
    ``lease_expires_at`` (extended by heartbeats); ``lease_owner`` NULL means released (handed back or
    orphaned: the next delivery takes it over). ``message`` is the CloudEvent (JSON) that started the
    job, republished to the queue when the job is handed back or its owner died.
    """

    __tablename__ = "transcode_jobs"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    job_key: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    video_id: uuid.UUID = Field(index=True)
    source_bucket: str
    source_key: str
    status: str = JobStatus.RUNNING
    attempt: int = 1
    worker: str | None = None
    fail_reason: str | None = None
    detail: str | None = None
    output_prefix: str | None = None
    duration_seconds: float | None = None
    transcode_seconds: float | None = None
    started_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    lease_owner: str | None = None
    lease_expires_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    message: str | None = None
    result: str | None = None
    """The payload (JSON, wire names) of a COMPLETED job's transcode.completed, re-published when the
    gallery re-drives the video (``reelhouse.transcoder.handlers.on_redrive_requested``)."""


class DeletedVideo(TranscoderTable, table=True):
    """A video deleted in the gallery: no job for it runs or publishes again."""

    __tablename__ = "deleted_videos"

    video_id: uuid.UUID = Field(primary_key=True)
    deleted_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
