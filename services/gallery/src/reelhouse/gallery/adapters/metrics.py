"""The gallery's Prometheus metrics (docs/observability.md): videos reaching READY and FAILED (by
failReason, bounded). The READY rate against the upload service's completed uploads drives the alert
"READY rate dropped to zero while uploads continue" (deploy/observability/)."""

from __future__ import annotations

from prometheus_client import Counter

VIDEOS_READY = Counter("reelhouse_videos_ready_total", "Videos that reached READY.")
VIDEOS_FAILED = Counter("reelhouse_videos_failed_total", "Videos that reached FAILED, by failReason.", ["reason"])

#: failReason values a label may carry (docs/api.md's codes plus the upload failures); others are OTHER.
KNOWN_REASONS = frozenset({
    "UNSUPPORTED_MEDIA", "UNSUPPORTED_FORMAT", "NO_VIDEO_STREAM", "CORRUPT_SOURCE", "UNSUPPORTED_CODEC",
    "TRANSCODE_ERROR", "TIMEOUT", "SOURCE_MISSING", "WORKER_LOST", "SOURCE_TOO_LONG", "RESOLUTION_TOO_HIGH",
    "UPLOAD_EXPIRED", "UPLOAD_UNSUPPORTED_FORMAT", "UPLOAD_UPLOAD_GONE",
})  # fmt: skip


def video_failed(reason: str | None) -> None:
    """Count a video that reached FAILED with ``reason``."""
    VIDEOS_FAILED.labels(reason if reason in KNOWN_REASONS else "OTHER").inc()
