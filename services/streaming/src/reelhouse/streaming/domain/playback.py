"""Playback rules (pure, no I/O).

Sources: docs/architecture.md, "Authentication" (a video is private to its owner unless its visibility is public;
another user gets 404), section 1 (playback only through signed, expiring, per-video URLs) and the
signing contract in :mod:`reelhouse.platform.signing` (a URL grants the scope ``videos/<id>``; the
path below it is segments of ``[A-Za-z0-9._~-]``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar

from reelhouse.platform.signing import PATH_SEGMENT_PATTERN

PUBLIC = "public"
PRIVATE = "private"
VISIBILITIES = (PRIVATE, PUBLIC)
"""Visibility values the gallery uses (``private`` is the default)."""

MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 86_400
"""Bounds of the ``ttl`` a client may ask for, seconds (one minute .. one day)."""


class KeyOutsideScope(ValueError):
    """An object key that a playback URL for its video cannot grant (not below ``videos/<id>/``,
    or with a path segment the edge refuses). Raised by :func:`path_below_scope`."""


def scope_for(video_id: uuid.UUID) -> str:
    """The signing scope of a video: ``videos/<uuid>`` (lower-case hex, as ``str(uuid.UUID)``)."""
    return f"videos/{video_id}"


def path_below_scope(scope: str, key: str) -> str:
    """The part of object ``key`` below ``scope``: ``path_below_scope("videos/<id>", "videos/<id>/j/master.m3u8")
    == "j/master.m3u8"``.

    Raises :class:`KeyOutsideScope` when ``key`` does not start with ``scope + "/"`` or a segment of the
    rest is empty, ``.``, ``..`` or has characters outside ``[A-Za-z0-9._~-]`` (the edge would refuse it).
    """
    prefix = scope + "/"
    if not key.startswith(prefix):
        raise KeyOutsideScope(f"object key {key!r} is not below {prefix!r}")
    path = key[len(prefix):]
    for segment in path.split("/"):
        if segment in ("", ".", "..") or not PATH_SEGMENT_PATTERN.fullmatch(segment):
            raise KeyOutsideScope(f"object key {key!r} has a path segment the edge refuses: {segment!r}")
    return path


def check_keys(video_id: uuid.UUID, keys: Iterable[str]) -> None:
    """Check that every key in ``keys`` can be signed for ``video_id``; raises :class:`KeyOutsideScope`
    naming every offending key (a transcode result with such keys can never be played)."""
    scope = scope_for(video_id)
    bad: list[str] = []
    for key in keys:
        try:
            path_below_scope(scope, key)
        except KeyOutsideScope as exc:
            bad.append(str(exc))
    if bad:
        raise KeyOutsideScope("; ".join(bad))


def effective_ttl(requested: int | None, default: int) -> int:
    """Lifetime of the playback URLs, seconds.

    ``default`` is the configured ``playback_url_ttl_seconds`` and is also the longest lifetime:
    a client may only ask for a *shorter* expiry, so the result is ``min(requested, default)``.
    ``requested`` must be within :data:`MIN_TTL_SECONDS` .. :data:`MAX_TTL_SECONDS` (``ValueError``
    otherwise; the HTTP layer answers that with 422 before calling this).
    """
    if requested is None:
        return default
    if isinstance(requested, bool) or not MIN_TTL_SECONDS <= requested <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl must be between {MIN_TTL_SECONDS} and {MAX_TTL_SECONDS} seconds, got {requested!r}")
    return min(requested, default)


def visibility_from_created(data: Mapping[str, Any]) -> str:
    """Visibility announced by a ``video.created`` payload (wire JSON), ``private`` when absent or unknown.

    ``VideoCreatedV1`` has no ``visibility`` field yet; a producer may add it as an optional field
    (backward compatible, docs/events.md). Until it does, every video is private to its owner here.
    """
    value = data.get("visibility")
    return value if value in VISIBILITIES else PRIVATE


def can_view(owner_id: str | None, visibility: str | None, user_id: str) -> bool:
    """True when ``user_id`` may play the video.

    The owner always may; others only when the visibility is ``public``. While the owner is unknown
    (``transcode.completed`` arrived before ``video.created``) nobody may: private is the safe default.
    """
    if owner_id is None:
        return False
    return user_id == owner_id or visibility == PUBLIC


def supersedes(current: datetime | None, incoming: datetime) -> bool:
    """True when a transcode result produced at ``incoming`` replaces the one produced at ``current``.

    Times are the CloudEvents ``time`` of the ``transcode.completed`` events (when the transcoder
    recorded the result). The newer job wins; on a tie the later delivery wins. A result older than
    the stored one (a redelivery that was delayed behind a retry) is ignored.
    """
    return current is None or incoming >= current


class _RenditionLike(Protocol):
    quality: str
    height: int
    bandwidth: int


R = TypeVar("R", bound=_RenditionLike)


def order_renditions(renditions: Iterable[R]) -> list[R]:
    """Renditions best first: height descending, then bandwidth descending, then quality name."""
    return sorted(renditions, key=lambda r: (-(r.height or 0), -(r.bandwidth or 0), r.quality))
