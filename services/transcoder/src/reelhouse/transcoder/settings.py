"""Transcoder settings (env prefix ``REELHOUSE_``): health port 8103, ladder encoding options."""

from __future__ import annotations

from pydantic import Field

from reelhouse.platform.settings import PlatformSettings


class TranscoderSettings(PlatformSettings):
    """``preset``: x264 preset; ``segment_seconds``: HLS target segment duration (s);
    ``stall_timeout_seconds``: the watchdog kills an ffmpeg silent this long; ``work_dir``: scratch space
    (one sub-directory per job, removed afterwards); ``thumbnail_count``: thumbnails per video."""

    service_name: str = "transcoder"
    http_port: int = 8103
    preset: str = "veryfast"
    segment_seconds: float = Field(default=4.0, gt=0)
    stall_timeout_seconds: float = Field(default=120.0, gt=0)
    work_dir: str | None = None
    thumbnail_count: int = Field(default=10, ge=1)
    worker_name: str | None = None
