"""The video lifecycle: docs/api.md, "Video status", exactly.

Allowed transitions (trigger in parentheses):

- DRAFT -> UPLOADING (upload session created)
- UPLOADING -> UPLOADED (upload finished, size/etag validated)
- UPLOADED -> TRANSCODING (transcode job taken)
- TRANSCODING -> READY (transcode succeeded and ``video_assets`` saved)
- TRANSCODING -> FAILED (transcode failed or retries exceeded)
- UPLOADING -> FAILED (upload failed)
- FAILED -> TRANSCODING (manual/system retry, source file exists)

Constraints: READY never rolls back; entering TRANSCODING requires a valid source file; entering READY
requires assets. Everything else is refused with :class:`IllegalTransition`.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum


class VideoStatus(StrEnum):
    """Status of a video (docs/api.md, "Video status")."""

    DRAFT = "DRAFT"
    UPLOADING = "UPLOADING"
    UPLOADED = "UPLOADED"
    TRANSCODING = "TRANSCODING"
    READY = "READY"
    FAILED = "FAILED"


ALLOWED_TRANSITIONS: frozenset[tuple[VideoStatus, VideoStatus]] = frozenset(
    {
        (VideoStatus.DRAFT, VideoStatus.UPLOADING),
        (VideoStatus.UPLOADING, VideoStatus.UPLOADED),
        (VideoStatus.UPLOADED, VideoStatus.TRANSCODING),
        (VideoStatus.TRANSCODING, VideoStatus.READY),
        (VideoStatus.TRANSCODING, VideoStatus.FAILED),
        (VideoStatus.UPLOADING, VideoStatus.FAILED),
        (VideoStatus.FAILED, VideoStatus.TRANSCODING),
    }
)


class IllegalTransition(Exception):
    """A transition the lifecycle forbids; ``code`` is a stable error code for the API."""

    def __init__(self, current: VideoStatus, target: VideoStatus, code: str = "ILLEGAL_TRANSITION", why: str = "") -> None:
        self.current = current
        self.target = target
        self.code = code
        super().__init__(why or f"video cannot go from {current} to {target}")


def check_transition(
    current: VideoStatus, target: VideoStatus, *, source_exists: bool = False, has_assets: bool = False
) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is allowed with its guard.

    Guards: TRANSCODING needs ``source_exists`` (code SOURCE_MISSING); READY needs ``has_assets``
    (code ASSETS_MISSING); READY never leaves (code READY_IS_FINAL).
    """
    if current == VideoStatus.READY and target != VideoStatus.READY:
        raise IllegalTransition(current, target, "READY_IS_FINAL", "a READY video never rolls back")
    if (current, target) not in ALLOWED_TRANSITIONS:
        raise IllegalTransition(current, target)
    if target == VideoStatus.TRANSCODING and not source_exists:
        raise IllegalTransition(current, target, "SOURCE_MISSING", "entering TRANSCODING requires a source file")
    if target == VideoStatus.READY and not has_assets:
        raise IllegalTransition(current, target, "ASSETS_MISSING", "entering READY requires video_assets")


def path_to(current: VideoStatus, target: VideoStatus) -> list[VideoStatus]:
    """The shortest chain of allowed transitions from ``current`` to ``target`` (excluding ``current``).

    Used by event handlers because events from different services may arrive out of order (a
    ``transcode.completed`` can be processed while the video is still UPLOADED). Returns ``[]`` when
    already there; raises :class:`IllegalTransition` when ``target`` is unreachable.
    """
    if current == target:
        return []
    if current == VideoStatus.READY:
        raise IllegalTransition(current, target, "READY_IS_FINAL", "a READY video never rolls back")
    seen = {current}
    queue: deque[tuple[VideoStatus, list[VideoStatus]]] = deque([(current, [])])
    while queue:
        node, path = queue.popleft()
        for a, b in sorted(ALLOWED_TRANSITIONS):
            if a == node and b not in seen:
                if b == target:
                    return [*path, b]
                seen.add(b)
                queue.append((b, [*path, b]))
    raise IllegalTransition(current, target)
