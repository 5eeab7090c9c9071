"""Request and response bodies of the gallery API (docs/api.md, "Videos", camelCase on the wire)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from reelhouse.platform.api import ApiModel


class CreateVideo(ApiModel):
    """POST /api/videos. ``sourceSizeBytes`` in bytes; ``fileName`` optional (its extension is checked)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=5000)
    source_mime: str = Field(min_length=3, max_length=100)
    source_size_bytes: int
    file_name: str | None = Field(default=None, max_length=500)
    visibility: Literal["private", "public"] = "private"


class UpdateVideo(ApiModel):
    """PATCH /api/videos/{id}: only the fields given change."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=5000)
    visibility: Literal["private", "public"] | None = None


class Source(ApiModel):
    mime: str
    size_bytes: int
    file_name: str | None = None


class Playback(ApiModel):
    """``streamUrl`` is a signed, expiring master.m3u8 URL only when READY, else null."""

    ready: bool
    stream_url: str | None = None
    poster_url: str | None = None
    expires_at: datetime | None = None


class Rendition(ApiModel):
    quality: str | None
    width: int | None
    height: int | None
    bandwidth: int | None
    codecs: str | None


class VideoOut(ApiModel):
    """A video as clients see it (docs/api.md, "Videos", GET, plus duration, dimensions, progress)."""

    id: uuid.UUID
    owner_id: str
    title: str
    description: str
    visibility: str
    source: Source
    status: str
    fail_reason: str | None = None
    fail_detail: str | None = None
    transcode_progress: float | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    renditions: list[Rendition] = []
    playback: Playback
    view_count: int = 0
    created_at: datetime
    updated_at: datetime


class VideoSummary(ApiModel):
    """A list item (docs/api.md, "Videos", list), with what a grid card of the web app shows (docs/web.md).

    ``posterUrl`` is a signed, expiring poster URL when the video is READY and has a poster, else null;
    ``durationSeconds`` (seconds) once probed; ``transcodeProgress`` (0..100) only while TRANSCODING;
    ``failReason`` only when FAILED.
    """

    id: uuid.UUID
    owner_id: str
    title: str
    description: str
    status: str
    visibility: str
    duration_seconds: float | None = None
    transcode_progress: float | None = None
    fail_reason: str | None = None
    poster_url: str | None = None
    created_at: datetime
    updated_at: datetime


class VideoPage(ApiModel):
    """Cursor page: ``nextCursor`` is null on the last page."""

    items: list[VideoSummary]
    next_cursor: str | None = None


# --- webhooks (docs/webhooks.md) ------------------------------------------------------------------


class CreateWebhook(ApiModel):
    """POST /api/webhooks. ``eventTypes`` empty or absent = every type."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    url: str = Field(min_length=8, max_length=2048)
    event_types: list[str] | None = Field(default=None, max_length=20)
    description: str = Field(default="", max_length=500)


class UpdateWebhook(ApiModel):
    """PATCH /api/webhooks/{id}: only the fields given change; ``enabled: true`` re-enables a disabled
    endpoint (and clears its ``disabledReason``)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    url: str | None = Field(default=None, min_length=8, max_length=2048)
    event_types: list[str] | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None


class WebhookOut(ApiModel):
    """A webhook endpoint. ``secret`` (``whsec_...``) is shown only when created or rotated."""

    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = None
    created_at: datetime
    last_success_at: datetime | None = None
    secret: str | None = None


class WebhookPage(ApiModel):
    """GET /api/webhooks: the caller's endpoints, newest first."""

    items: list[WebhookOut]


class WebhookSecret(ApiModel):
    """POST /api/webhooks/{id}/rotate-secret: the new secret; the previous one keeps signing (a second
    signature) until ``previousSecretExpiresAt``."""

    secret: str
    previous_secret_expires_at: datetime


class WebhookDeliveryOut(ApiModel):
    """One delivery: ``status`` PENDING | DELIVERED | FAILED; ``messageId`` is the ``webhook-id`` header."""

    id: uuid.UUID
    message_id: str
    event_type: str
    status: Literal["PENDING", "DELIVERED", "FAILED"]
    attempts: int
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    payload: dict


class WebhookDeliveryPage(ApiModel):
    """GET /api/webhooks/{id}/deliveries: the most recent deliveries, newest first."""

    items: list[WebhookDeliveryOut]
