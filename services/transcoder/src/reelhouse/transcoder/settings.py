"""Transcoder settings (env prefix ``REELHOUSE_``): health port 8103, ladder encoding options, job
ownership (lease, reaper, graceful stop) and source limits."""

from __future__ import annotations

from pydantic import Field

from reelhouse.platform.settings import PlatformSettings


class TranscoderSettings(PlatformSettings):
    """``preset``: x264 preset; ``segment_seconds``: HLS target segment duration (s);
    ``stall_timeout_seconds``: the supervisor kills an ffmpeg pass that has read and written nothing this
    long (docs/transcoding.md); ``work_dir``: scratch space
    (one sub-directory per job, removed afterwards); ``thumbnail_count``: thumbnails per video.

    Job ownership (see :mod:`reelhouse.transcoder.worker`): ``job_lease_seconds`` is how long a job row
    stays owned without a heartbeat (heartbeats every third of it), so a SIGKILLed worker's job is taken
    over at most about ``job_lease_seconds + reaper_interval_seconds`` later; ``reaper_interval_seconds``
    is how often each worker looks for expired leases; ``shutdown_grace_seconds`` is how long SIGTERM
    waits for the running job before handing it back to the queue.

    Limits (None = no limit): ``max_duration_seconds`` (source duration, s) -> SOURCE_TOO_LONG;
    ``max_pixels`` (display width x height of the source) -> RESOLUTION_TOO_HIGH. The default allows
    DCI 4K (4096 x 2160) and 6 hours.
    """

    service_name: str = "transcoder"
    http_port: int = 8103
    preset: str = "veryfast"
    segment_seconds: float = Field(default=4.0, gt=0)
    stall_timeout_seconds: float = Field(default=120.0, gt=0)
    work_dir: str | None = None
    thumbnail_count: int = Field(default=10, ge=1)
    worker_name: str | None = None
    job_lease_seconds: float = Field(default=30.0, ge=1.0)
    reaper_interval_seconds: float = Field(default=5.0, gt=0)
    shutdown_grace_seconds: float = Field(default=25.0, ge=0)
    max_duration_seconds: float | None = Field(default=6 * 3600.0, gt=0)
    max_pixels: int | None = Field(default=4096 * 2160, gt=0)
