"""Response bodies of the streaming API (camelCase on the wire, DESIGN.md section 4)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """camelCase JSON, snake_case Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


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


class QualitiesOut(ApiModel):
    """``GET /api/videos/{id}/qualities``: the renditions, best first, each with a signed playlist URL."""

    video_id: uuid.UUID
    qualities: list[QualityOut]
