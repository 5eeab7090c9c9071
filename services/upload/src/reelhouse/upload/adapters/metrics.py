"""The upload service's Prometheus metrics (docs/observability.md). Uploads started, completed and
failed are counted by the platform's ``reelhouse_events_published_total`` (video.upload_started.v1,
video.uploaded.v1, video.upload_failed.v1); this adds the bytes of completed uploads."""

from __future__ import annotations

from prometheus_client import Counter

UPLOADED_BYTES = Counter("reelhouse_upload_completed_bytes_total", "Bytes of the sources of completed uploads.")
