"""The transcoder's Prometheus metrics (docs/observability.md): jobs by outcome, failures by
failReason, queue wait, pass duration and realtime factor. Exported on ``/metrics`` with the platform's
HTTP and messaging metrics."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Counter, Histogram

from reelhouse.transcoder.domain.ladder import FailReason

JOBS = Counter("reelhouse_transcode_jobs_total", "Transcode jobs finished, by outcome (completed, failed).", ["outcome"])
FAILURES = Counter("reelhouse_transcode_failures_total", "Transcode jobs FAILED, by failReason.", ["reason"])
QUEUE_WAIT = Histogram(
    "reelhouse_transcode_queue_wait_seconds",
    "From the upload's completion (video.uploaded) to a worker claiming its first attempt (seconds).",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
DURATION = Histogram(
    "reelhouse_transcode_duration_seconds",
    "Wall time of a successful job, download to transcode.completed (seconds), by rendition count.",
    ["renditions"],
    buckets=(5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)
REALTIME_FACTOR = Histogram(
    "reelhouse_transcode_realtime_factor",
    "Source seconds encoded per wall second of a successful job (above 1: faster than real time).",
    buckets=(0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10),
)

_KNOWN_REASONS = {str(r) for r in FailReason}


def bounded_reason(reason: str) -> str:
    """``reason`` when it is a known failReason, else ``OTHER`` (label values stay bounded)."""
    return reason if reason in _KNOWN_REASONS else "OTHER"


def observe_claimed(uploaded_at: datetime) -> None:
    """Record the queue wait of a job claimed now whose upload completed at ``uploaded_at`` (tz-aware)."""
    QUEUE_WAIT.observe(max(0.0, (datetime.now(UTC) - uploaded_at).total_seconds()))


def observe_completed(wall_seconds: float, source_seconds: float, renditions: int) -> None:
    """Record a completed job: its wall time (s), the source's duration (s) and its rendition count."""
    JOBS.labels("completed").inc()
    DURATION.labels(str(renditions)).observe(wall_seconds)
    if wall_seconds > 0 and source_seconds > 0:
        REALTIME_FACTOR.observe(source_seconds / wall_seconds)
