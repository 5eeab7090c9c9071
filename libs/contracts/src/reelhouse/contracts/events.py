"""Version 1 payloads of the Reelhouse domain events (docs/events.md).

Rules (enforced by the contract tests against the committed JSON Schemas in ``schemas/``):
- a published version only ever gains optional fields;
- anything else is a new version (``...v2``) published side by side until consumers move;
- wire names are camelCase like the REST API.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class EventPayload(BaseModel):
    """Base of every event payload: frozen, camelCase on the wire, unknown fields ignored.

    Subclasses set ``event_type`` (the full CloudEvents type, version included).
    """

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore")
    event_type: ClassVar[str]

    def subject(self) -> str | None:
        """The entity id the event is about (``videoId`` or ``streamId``), used as CloudEvents subject."""
        for name in ("video_id", "stream_id"):
            value = getattr(self, name, None)
            if value is not None:
                return str(value)
        return None


# --- gallery ---------------------------------------------------------------------------------------


class VideoCreatedV1(EventPayload):
    """A video record was created in DRAFT (gallery). Sizes in bytes."""

    event_type: ClassVar[str] = "reelhouse.video.created.v1"
    video_id: uuid.UUID
    owner_id: str
    title: str
    source_mime: str
    source_size_bytes: int = Field(ge=1)
    source_extension: str | None = None
    visibility: str | None = None


class VideoDeletedV1(EventPayload):
    """A video was deleted; owners of derived state (upload sessions, media, projections) clean up."""

    event_type: ClassVar[str] = "reelhouse.video.deleted.v1"
    video_id: uuid.UUID
    owner_id: str | None = None


class VideoUpdatedV1(EventPayload):
    """The owner changed a video's title, description or visibility (gallery ``PATCH /api/videos/{id}``).

    Carries the values after the change. ``version`` is the video's version after it (it only grows):
    a consumer keeps what the highest version said and ignores an older or repeated one, so updates may
    arrive in any order and before ``video.created`` (version 1). ``visibility`` is ``private`` or
    ``public``; copies of it (streaming's playback projection) must follow it (docs/security.md).
    """

    event_type: ClassVar[str] = "reelhouse.video.updated.v1"
    video_id: uuid.UUID
    owner_id: str
    version: int = Field(ge=1)
    title: str
    visibility: str
    description: str | None = None


class VideoRetryRequestedV1(EventPayload):
    """The owner asked to re-run the transcode of a FAILED video whose source still exists."""

    event_type: ClassVar[str] = "reelhouse.video.retry_requested.v1"
    video_id: uuid.UUID
    owner_id: str | None = None
    bucket: str | None = None
    source_file_key: str | None = None
    source_mime: str | None = None
    source_size_bytes: int | None = None


class VideoRedriveRequestedV1(EventPayload):
    """The gallery's stuck-video sweeper asks the transcoder about a video that has been UPLOADED or
    TRANSCODING with no sign of a transcode job for too long (docs/reliability.md, "Sweepers").

    The transcoder answers idempotently from its job table: a live job is announced again
    (transcode.started), a COMPLETED one re-publishes its transcode.completed, and with no job (or
    only a FAILED one) a job is started from ``bucket`` / ``sourceFileKey``. ``redrive`` counts the
    re-drives of this stall (1, 2, ...)."""

    event_type: ClassVar[str] = "reelhouse.video.redrive_requested.v1"
    video_id: uuid.UUID
    owner_id: str | None = None
    bucket: str | None = None
    source_file_key: str | None = None
    source_mime: str | None = None
    redrive: int = Field(default=1, ge=1)


# --- upload ----------------------------------------------------------------------------------------


class VideoUploadStartedV1(EventPayload):
    """An upload session was opened for a video (DRAFT -> UPLOADING)."""

    event_type: ClassVar[str] = "reelhouse.video.upload_started.v1"
    video_id: uuid.UUID
    upload_session_id: uuid.UUID


class VideoUploadFailedV1(EventPayload):
    """An upload session failed or was canceled; ``reason`` is a stable code such as CANCELED."""

    event_type: ClassVar[str] = "reelhouse.video.upload_failed.v1"
    video_id: uuid.UUID
    upload_session_id: uuid.UUID
    reason: str


class VideoUploadedV1(EventPayload):
    """The source file is complete in the uploads bucket (size checked against the declared size).

    ``checksum`` is the S3 multipart ETag of the object (MD5 of part MD5s, ``-N`` suffix).
    """

    event_type: ClassVar[str] = "reelhouse.video.uploaded.v1"
    video_id: uuid.UUID
    owner_id: str
    upload_session_id: uuid.UUID
    bucket: str
    source_file_key: str
    source_size_bytes: int = Field(ge=1)
    source_mime: str
    checksum: str


# --- transcoder ------------------------------------------------------------------------------------


class TranscodeStartedV1(EventPayload):
    """A worker took the transcode job (UPLOADED -> TRANSCODING)."""

    event_type: ClassVar[str] = "reelhouse.transcode.started.v1"
    video_id: uuid.UUID
    job_id: uuid.UUID
    attempt: int = Field(ge=1)
    worker: str | None = None


class TranscodeProgressV1(EventPayload):
    """Progress of a running job; ``percent`` in 0..100, throttled by the worker."""

    event_type: ClassVar[str] = "reelhouse.transcode.progress.v1"
    video_id: uuid.UUID
    job_id: uuid.UUID
    attempt: int = Field(ge=1)
    percent: float = Field(ge=0, le=100)


class RenditionV1(BaseModel):
    """One HLS rendition: dimensions in pixels, ``bandwidth`` peak bits/s, key of its media playlist."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore")
    quality: str
    width: int
    height: int
    bandwidth: int
    codecs: str
    playlist_key: str


class TranscodeCompletedV1(EventPayload):
    """All outputs are in the media bucket; ``masterKey`` was written last so it is never half-visible.

    Keys are object keys in ``bucket`` (the media bucket); ``durationSeconds`` in seconds.
    """

    event_type: ClassVar[str] = "reelhouse.transcode.completed.v1"
    video_id: uuid.UUID
    job_id: uuid.UUID | None = None
    bucket: str | None = None
    duration_seconds: float
    width: int
    height: int
    master_key: str
    renditions: tuple[RenditionV1, ...] = Field(min_length=1)
    poster_key: str | None = None
    thumbnail_keys: tuple[str, ...] = ()
    storyboard_key: str | None = None
    """Key of the storyboard's WebVTT index (scrub previews); its cues name sprite sheets by relative
    URL (``sprite_001.jpg#xywh=x,y,w,h``) in the same folder. None when no storyboard was made."""


class TranscodeFailedV1(EventPayload):
    """The job failed; ``failReason`` is a stable code (UNSUPPORTED_MEDIA, UNSUPPORTED_FORMAT, NO_VIDEO_STREAM,
    CORRUPT_SOURCE, UNSUPPORTED_CODEC, TRANSCODE_ERROR, TIMEOUT, SOURCE_MISSING); ``retryable`` says whether a
    retry may help.
    """

    event_type: ClassVar[str] = "reelhouse.transcode.failed.v1"
    video_id: uuid.UUID
    job_id: uuid.UUID | None = None
    fail_reason: str
    detail: str = ""
    attempt: int = Field(ge=1)
    retryable: bool


# --- streaming -------------------------------------------------------------------------------------


class StreamStartedV1(EventPayload):
    """A live stream went LIVE. Optional (added compatibly): ``visibility`` (``private`` or ``public``),
    which the chat room takes (a private stream's chat is for signed-in users only)."""

    event_type: ClassVar[str] = "reelhouse.stream.started.v1"
    stream_id: uuid.UUID
    owner_id: str
    started_at: datetime
    playback_path: str | None = None
    visibility: str | None = None


class StreamEndedV1(EventPayload):
    """A live stream ENDED."""

    event_type: ClassVar[str] = "reelhouse.stream.ended.v1"
    stream_id: uuid.UUID
    owner_id: str
    ended_at: datetime
    playback_path: str | None = None
    reason: str | None = None


class StreamRecordedV1(EventPayload):
    """The recording of a stream is an MP4 in the uploads bucket and becomes a VOD video.

    Optional (added compatibly): ``videoId`` is the id the recording's video must get (chosen by the
    streaming service so the stream can link to it and redeliveries create one video);
    ``sourceSizeBytes`` in bytes, ``sourceMime``, ``checksum`` (the object's S3 ETag),
    ``durationSeconds`` (seconds, as probed after the remux), ``description``.
    """

    event_type: ClassVar[str] = "reelhouse.stream.recorded.v1"
    stream_id: uuid.UUID
    owner_id: str
    bucket: str
    source_file_key: str
    title: str
    video_id: uuid.UUID | None = None
    source_size_bytes: int | None = None
    source_mime: str | None = None
    checksum: str | None = None
    duration_seconds: float | None = None
    description: str | None = None


class PlaybackViewedV1(EventPayload):
    """A viewer fetched a playback URL (view counts)."""

    event_type: ClassVar[str] = "reelhouse.playback.viewed.v1"
    video_id: uuid.UUID
    viewer_id: str | None = None
    at: datetime


# --- chat ------------------------------------------------------------------------------------------


class ChatPostedV1(EventPayload):
    """A chat message was accepted."""

    event_type: ClassVar[str] = "reelhouse.chat.posted.v1"
    message_id: uuid.UUID
    stream_id: uuid.UUID
    user_id: str
    username: str
    text: str
    sent_at: datetime
    seq: int | None = Field(default=None, ge=1, description="per-stream sequence number (1, 2, ...): the order of the room")


class ChatDeletedV1(EventPayload):
    """A moderator deleted a chat message."""

    event_type: ClassVar[str] = "reelhouse.chat.deleted.v1"
    message_id: uuid.UUID
    stream_id: uuid.UUID
    seq: int | None = Field(default=None, ge=1, description="the deleted message's per-stream sequence number")
    moderator_id: str | None = None


class ChatModeratedV1(EventPayload):
    """A moderation change in a stream's chat room: ``action`` is BAN, TIMEOUT, UNBAN, SLOW_MODE,
    MODERATOR_ADDED or MODERATOR_REMOVED. ``userId`` is the target user (not for SLOW_MODE); ``until``
    ends a TIMEOUT (null for a permanent BAN); ``slowModeSeconds`` is the new slow mode (0 = off)."""

    event_type: ClassVar[str] = "reelhouse.chat.moderated.v1"
    stream_id: uuid.UUID
    action: str
    moderator_id: str
    user_id: str | None = None
    until: datetime | None = None
    slow_mode_seconds: int | None = None
    reason: str | None = None


class ChatPresenceV1(EventPayload):
    """The number of connected chat clients (viewers) of a stream, summed over every chat replica;
    published when it changes (for the streaming service's viewer count)."""

    event_type: ClassVar[str] = "reelhouse.chat.presence.v1"
    stream_id: uuid.UUID
    viewers: int = Field(ge=0)
    at: datetime


CATALOGUE: dict[str, type[EventPayload]] = {
    m.event_type: m
    for m in (
        VideoCreatedV1,
        VideoDeletedV1,
        VideoUpdatedV1,
        VideoRetryRequestedV1,
        VideoRedriveRequestedV1,
        VideoUploadStartedV1,
        VideoUploadFailedV1,
        VideoUploadedV1,
        TranscodeStartedV1,
        TranscodeProgressV1,
        TranscodeCompletedV1,
        TranscodeFailedV1,
        StreamStartedV1,
        StreamEndedV1,
        StreamRecordedV1,
        PlaybackViewedV1,
        ChatPostedV1,
        ChatDeletedV1,
        ChatModeratedV1,
        ChatPresenceV1,
    )
}
"""Every published event type (version included) -> its payload model."""


def payload_model_for(event_type: str) -> type[EventPayload]:
    """Return the payload model of ``event_type``; raises KeyError for an unknown type or version."""
    return CATALOGUE[event_type]
