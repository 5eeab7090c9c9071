"""Upload sessions: docs/api.md, "Upload session status", exactly, and S3 part planning.

Allowed transitions: INITIATED -> IN_PROGRESS (first part URL requested), IN_PROGRESS -> PAUSED,
PAUSED -> IN_PROGRESS, IN_PROGRESS -> COMPLETED, IN_PROGRESS -> FAILED, IN_PROGRESS -> CANCELED,
PAUSED -> CANCELED. COMPLETED and CANCELED never resume; a FAILED session is replaced by a new one.
"""

from __future__ import annotations

import math
from enum import StrEnum


class UploadStatus(StrEnum):
    """Status of an upload session (docs/api.md, "Upload sessions")."""

    INITIATED = "INITIATED"
    IN_PROGRESS = "IN_PROGRESS"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


ALLOWED_TRANSITIONS: frozenset[tuple[UploadStatus, UploadStatus]] = frozenset(
    {
        (UploadStatus.INITIATED, UploadStatus.IN_PROGRESS),
        (UploadStatus.IN_PROGRESS, UploadStatus.PAUSED),
        (UploadStatus.PAUSED, UploadStatus.IN_PROGRESS),
        (UploadStatus.IN_PROGRESS, UploadStatus.COMPLETED),
        (UploadStatus.IN_PROGRESS, UploadStatus.FAILED),
        (UploadStatus.IN_PROGRESS, UploadStatus.CANCELED),
        (UploadStatus.PAUSED, UploadStatus.CANCELED),
    }
)

ACTIVE = frozenset({UploadStatus.INITIATED, UploadStatus.IN_PROGRESS, UploadStatus.PAUSED})
"""Statuses in which a session still holds an open S3 multipart upload."""


class IllegalSessionTransition(Exception):
    """A transition the session state machine forbids; ``code`` is a stable API error code."""

    def __init__(self, current: UploadStatus, target: UploadStatus) -> None:
        self.current = current
        self.target = target
        self.code = {
            UploadStatus.COMPLETED: "SESSION_COMPLETED",
            UploadStatus.CANCELED: "SESSION_CANCELED",
            UploadStatus.FAILED: "SESSION_FAILED",
        }.get(current, "ILLEGAL_SESSION_TRANSITION")
        super().__init__(f"upload session cannot go from {current} to {target}")


def check_transition(current: UploadStatus, target: UploadStatus) -> None:
    """Raise :class:`IllegalSessionTransition` unless ``current -> target`` is in the table in docs/api.md."""
    if (current, target) not in ALLOWED_TRANSITIONS:
        raise IllegalSessionTransition(current, target)


MIN_PART_SIZE_BYTES = 5 * 1024 * 1024
"""S3's minimum size of every part but the last: 5 MiB (the part size of docs/api.md, "Upload sessions")."""
MAX_PARTS = 10_000
"""S3's maximum number of parts in one multipart upload."""
MAX_OBJECT_BYTES = 5 * 1024**4
"""S3's maximum object size (5 TiB): a larger source could never be completed."""


def part_size_for(total_bytes: int) -> int:
    """Part size in bytes for a source of ``total_bytes``: 5 MiB, or larger (rounded up to a MiB) when
    5 MiB parts would exceed S3's 10,000-part limit. Raises ValueError for a non-positive size and for
    a size above S3's 5 TiB object limit (:data:`MAX_OBJECT_BYTES`)."""
    if total_bytes <= 0:
        raise ValueError("total_bytes must be positive")
    if total_bytes > MAX_OBJECT_BYTES:
        raise ValueError(f"total_bytes {total_bytes} exceeds S3's object limit of {MAX_OBJECT_BYTES} bytes")
    size = max(MIN_PART_SIZE_BYTES, math.ceil(total_bytes / MAX_PARTS))
    mib = 1024 * 1024
    return math.ceil(size / mib) * mib


def part_count(total_bytes: int, part_size: int) -> int:
    """Number of parts (the last may be shorter): ceil(total / part size). Both sizes in bytes.

    Raises ValueError unless both are positive (formerly a zero total gave 1 part and a zero part size
    a ZeroDivisionError)."""
    if total_bytes <= 0 or part_size <= 0:
        raise ValueError(f"sizes must be positive (total {total_bytes}, part {part_size})")
    return math.ceil(total_bytes / part_size)


def expected_part_size(part_number: int, total_bytes: int, part_size: int) -> int:
    """Bytes part ``part_number`` (1-based) must hold: ``part_size`` except the last, which holds the rest.

    Raises ValueError for a part number outside 1..part_count (or non-positive sizes)."""
    n = part_count(total_bytes, part_size)
    if not 1 <= part_number <= n:
        raise ValueError(f"part number {part_number} outside 1..{n}")
    return part_size if part_number < n else total_bytes - part_size * (n - 1)
