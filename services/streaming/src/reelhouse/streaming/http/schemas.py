"""Response bodies of the streaming API (camelCase on the wire, docs/api.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from reelhouse.platform.api import ApiModel


class QualityOut(ApiModel):
    """One rendition: ``width``/``height`` in pixels, ``bandwidth`` peak bits/s, RFC 6381 ``codecs``,
    ``url`` the signed URL of its media playlist."""

    quality: str
    width: int
    height: int
    bandwidth: int
    codecs: str
    url: str


class PlaybackOut(ApiModel):
    """``GET /api/videos/{id}/playback``.

    ``streamUrl`` is the signed master.m3u8 URL; every URL expires at ``expiresAt`` (UTC, whole
    second). ``durationSeconds`` in seconds, ``width``/``height`` in pixels (the source's displayed
    size). ``qualities`` best first. ``posterUrl`` is null when the transcoder made no poster.
    ``storyboardUrl`` is the WebVTT index of the scrub previews (null when none was made); its cues name
    sprite sheets relative to it (``sprite_001.jpg#xywh=x,y,w,h``), which resolve under the same signed
    prefix.
    """

    video_id: uuid.UUID
    stream_url: str
    expires_at: datetime
    duration_seconds: float
    width: int
    height: int
    qualities: list[QualityOut]
    poster_url: str | None = None
    thumbnail_urls: list[str] = []
    storyboard_url: str | None = None


class QualitiesOut(ApiModel):
    """``GET /api/videos/{id}/qualities``: the renditions, best first, each with a signed playlist URL."""

    video_id: uuid.UUID
    qualities: list[QualityOut]


# --- live streams ------------------------------------------------------------------------------------


class StreamIn(ApiModel):
    """``POST /api/streams``: ``scheduledAt`` (UTC) makes it SCHEDULED; recording is on by default."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    scheduled_at: datetime | None = None
    recording_enabled: bool = True
    visibility: Literal["private", "public"] = "private"


class StreamPatch(ApiModel):
    """``PUT``/``PATCH /api/streams/{id}``: only the fields present change (``scheduledAt: null``
    unschedules)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    scheduled_at: datetime | None = None
    recording_enabled: bool | None = None
    visibility: Literal["private", "public"] | None = None


class IngestOut(ApiModel):
    """Owner-only: where and with what to publish. ``publishUrl`` = ``rtmpUrl/streamKey`` (one string
    for ffmpeg); OBS takes ``rtmpUrl`` as "Server" and ``streamKey`` as "Stream Key"."""

    stream_id: uuid.UUID
    rtmp_url: str
    stream_key: str
    publish_url: str
    key_rotated_at: datetime | None = None


class StreamOut(ApiModel):
    """A live stream. ``playbackUrl`` (signed live HLS playlist) and ``playbackExpiresAt`` only while
    LIVE, else null. ``broadcasting`` is true while a broadcaster is connected (false during the
    reconnect window). ``viewerCount`` comes from chat presence. ``recordingStatus``: NONE, PENDING,
    PROCESSING, UPLOADED, EMPTY, FAILED or DELETED (its video was deleted, and the recording object with
    it); ``recordingVideoId`` the gallery video of the recording. ``thumbnailUrl`` is the signed URL of
    the owner's thumbnail image (``PUT /api/streams/{id}/thumbnail``), null when none was set.
    ``visibility``: ``private`` (the owner only) or ``public`` (anyone signed in may get it, list it with
    ``scope=public`` and watch it)."""

    id: uuid.UUID
    owner_id: str
    title: str
    description: str
    status: str
    visibility: str = "private"
    recording_enabled: bool
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    broadcasting: bool = False
    viewer_count: int = 0
    playback_url: str | None = None
    playback_expires_at: datetime | None = None
    recording_status: str = "NONE"
    recording_video_id: uuid.UUID | None = None
    thumbnail_url: str | None = None
    created_at: datetime
    updated_at: datetime


class StreamCreatedOut(StreamOut):
    """``POST /api/streams`` answer: the stream plus its ingest (the key is shown here once)."""

    ingest: IngestOut


class StreamPage(ApiModel):
    """A page of streams, newest first; ``nextCursor`` is null on the last page."""

    items: list[StreamOut]
    next_cursor: str | None = None
