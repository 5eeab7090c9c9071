"""Live stream rules (pure, no I/O): the status machine, stream keys, expiry of a dropped broadcast.

Statuses (docs/api.md, "Live streams"): OFFLINE, SCHEDULED, LIVE, ENDED.

Actions and what they do (:data:`TRANSITIONS`; anything not listed raises :class:`IllegalStreamTransition`):

=================  ======================  =========  ==================================================
from               action                  to         event
=================  ======================  =========  ==================================================
OFFLINE            SCHEDULE (scheduledAt)  SCHEDULED  -
SCHEDULED          SCHEDULE (new time)     SCHEDULED  -
SCHEDULED/OFFLINE  UNSCHEDULE              OFFLINE    -
OFFLINE/SCHEDULED  PUBLISH (broadcaster)   LIVE       stream.started
OFFLINE/SCHEDULED  START (API)             LIVE       stream.started
LIVE               PUBLISH (reconnect)     LIVE       - (same broadcast continues)
LIVE               START                   LIVE       - (idempotent)
LIVE               DISCONNECT              LIVE       - (the reconnect window starts)
LIVE               STOP (API, delete)      ENDED      stream.ended
LIVE               EXPIRE (window/idle)    ENDED      stream.ended
ENDED              STOP                    ENDED      - (idempotent)
=================  ======================  =========  ==================================================

ENDED is final: a broadcaster publishing to an ENDED stream is refused (code STREAM_ENDED), so are
START and SCHEDULE. STOP of a stream that never went live is refused (STREAM_NOT_LIVE): delete it
instead. A second broadcaster on a key whose stream already has one connected is refused before the
machine is asked (guard ``publisher_connected``, code PUBLISHER_ALREADY_CONNECTED).

Stream keys: ``rhlive_`` + 43 characters of base64url (256 bits), derived as
``HMAC-SHA256(stream_key_secret, f"{stream_id}:{nonce}")`` from a random per-key ``nonce``. The database
keeps only the nonce and ``HMAC-SHA256(stream_key_pepper, key)`` (the lookup index), so a database leak
reveals no key; the owner's ingest endpoint re-derives it with the server secret. Rotation = new nonce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class StreamStatus(StrEnum):
    """Status of a live stream."""

    OFFLINE = "OFFLINE"
    SCHEDULED = "SCHEDULED"
    LIVE = "LIVE"
    ENDED = "ENDED"


class Action(StrEnum):
    """What can happen to a stream (API calls, ingest callbacks, the supervisor's clock)."""

    SCHEDULE = "SCHEDULE"
    UNSCHEDULE = "UNSCHEDULE"
    PUBLISH = "PUBLISH"
    START = "START"
    DISCONNECT = "DISCONNECT"
    STOP = "STOP"
    EXPIRE = "EXPIRE"


@dataclass(frozen=True)
class Transition:
    """Result of an allowed action: the new status and which event (if any) announces it."""

    target: StreamStatus
    started: bool = False
    ended: bool = False


class IllegalStreamTransition(Exception):
    """An action the machine refuses; ``code`` is a stable problem code for the API / ingest."""

    def __init__(self, current: StreamStatus, action: Action, code: str) -> None:
        self.current = current
        self.action = action
        self.code = code
        super().__init__(f"{code}: a {current} stream cannot {action}")


S, A = StreamStatus, Action

TRANSITIONS: dict[tuple[StreamStatus, Action], Transition] = {
    (S.OFFLINE, A.SCHEDULE): Transition(S.SCHEDULED),
    (S.SCHEDULED, A.SCHEDULE): Transition(S.SCHEDULED),
    (S.SCHEDULED, A.UNSCHEDULE): Transition(S.OFFLINE),
    (S.OFFLINE, A.UNSCHEDULE): Transition(S.OFFLINE),
    (S.OFFLINE, A.PUBLISH): Transition(S.LIVE, started=True),
    (S.SCHEDULED, A.PUBLISH): Transition(S.LIVE, started=True),
    (S.OFFLINE, A.START): Transition(S.LIVE, started=True),
    (S.SCHEDULED, A.START): Transition(S.LIVE, started=True),
    (S.LIVE, A.PUBLISH): Transition(S.LIVE),
    (S.LIVE, A.START): Transition(S.LIVE),
    (S.LIVE, A.DISCONNECT): Transition(S.LIVE),
    (S.LIVE, A.STOP): Transition(S.ENDED, ended=True),
    (S.LIVE, A.EXPIRE): Transition(S.ENDED, ended=True),
    (S.ENDED, A.STOP): Transition(S.ENDED),
}
"""Every allowed (status, action) pair."""


def _refusal_code(current: StreamStatus, action: Action) -> str:
    if current == S.ENDED:
        return "STREAM_ENDED"
    if action in (A.STOP, A.EXPIRE, A.DISCONNECT):
        return "STREAM_NOT_LIVE"
    if current == S.LIVE:
        return "STREAM_LIVE"
    return "ILLEGAL_TRANSITION"


def transition(current: StreamStatus | str, action: Action, *, publisher_connected: bool = False) -> Transition:
    """The outcome of ``action`` on a stream in ``current``; raises :class:`IllegalStreamTransition`.

    ``publisher_connected`` (a broadcaster is attached right now) refuses a PUBLISH with
    PUBLISHER_ALREADY_CONNECTED: one broadcaster per stream.
    """
    current = StreamStatus(current)
    if action == A.PUBLISH and publisher_connected:
        raise IllegalStreamTransition(current, action, "PUBLISHER_ALREADY_CONNECTED")
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise IllegalStreamTransition(current, action, _refusal_code(current, action)) from None


def initial_status(scheduled_at: datetime | None) -> StreamStatus:
    """SCHEDULED when created with a ``scheduledAt``, else OFFLINE."""
    return S.SCHEDULED if scheduled_at is not None else S.OFFLINE


def expiry_reason(
    *,
    status: StreamStatus | str,
    publisher_connected: bool,
    started_at: datetime | None,
    disconnected_at: datetime | None,
    now: datetime,
    reconnect_window: timedelta,
    idle_timeout: timedelta,
) -> str | None:
    """Why a LIVE stream with no broadcaster must end now, or None.

    - ``RECONNECT_WINDOW_EXPIRED``: the broadcaster dropped at ``disconnected_at`` and did not come back
      within ``reconnect_window`` (a return within the window continues the same broadcast);
    - ``IDLE_TIMEOUT``: the stream went LIVE (API start) at ``started_at`` and no broadcaster ever
      arrived within ``idle_timeout`` (docs/api.md, "Live streams": idle streams end after 30 minutes).
    """
    if StreamStatus(status) != S.LIVE or publisher_connected:
        return None
    if disconnected_at is not None:
        return "RECONNECT_WINDOW_EXPIRED" if now - disconnected_at >= reconnect_window else None
    if started_at is not None and now - started_at >= idle_timeout:
        return "IDLE_TIMEOUT"
    return None


# --- stream keys -------------------------------------------------------------------------------------

KEY_PREFIX = "rhlive_"
KEY_PATTERN = re.compile(r"rhlive_[A-Za-z0-9_-]{43}")


def new_key_nonce() -> str:
    """A fresh random nonce (128 bits, hex) from which a stream key is derived."""
    return secrets.token_hex(16)


def derive_key(secret: str, stream_id: uuid.UUID, nonce: str) -> str:
    """The stream key of ``stream_id`` for ``nonce``: ``rhlive_`` + base64url(HMAC-SHA256(secret, id:nonce))."""
    if not secret:
        raise ValueError("stream key secret must not be empty")
    mac = hmac.new(secret.encode(), f"{stream_id}:{nonce}".encode(), hashlib.sha256).digest()
    return KEY_PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def hash_key(pepper: str, key: str) -> str:
    """What the database stores to find a stream by its key: hex HMAC-SHA256(pepper, key)."""
    if not pepper:
        raise ValueError("stream key pepper must not be empty")
    return hmac.new(pepper.encode(), key.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def looks_like_key(name: str) -> bool:
    """True when ``name`` has the shape of a stream key (cheap refusal of garbage before hashing)."""
    return bool(KEY_PATTERN.fullmatch(name or ""))


def redact(key: str) -> str:
    """A loggable hint of a key: its prefix and last 4 characters."""
    return f"{KEY_PREFIX}...{key[-4:]}" if len(key) > 11 else "***"


def live_scope(stream_id: uuid.UUID) -> str:
    """The signing scope of a stream's live HLS: ``live/<uuid>``."""
    return f"live/{stream_id}"


LIVE_PLAYLIST = "index.m3u8"
"""Name of the live media playlist nginx-rtmp writes (hls_nested on) below the stream's directory."""


MAX_THUMBNAIL_BYTES = 1_000_000
"""Largest stream thumbnail accepted (bytes; below the edge's 1 MiB API body limit, docs/api.md "Live
streams"). The web app scales a picked image down to a JPEG of at most 1280x720 before sending it."""

THUMBNAIL_TYPE = "image/jpeg"


def thumbnail_refusal(content_type: str | None, data: bytes) -> tuple[int, str, str] | None:
    """Why a thumbnail upload is refused as ``(http status, code, detail)``, or None when it is fine:
    415 ``UNSUPPORTED_IMAGE`` unless the body is a JPEG (``Content-Type: image/jpeg`` and the JPEG start
    marker FF D8 FF), 413 ``IMAGE_TOO_LARGE`` above :data:`MAX_THUMBNAIL_BYTES`, 422 ``EMPTY_IMAGE``."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype != THUMBNAIL_TYPE:
        return 415, "UNSUPPORTED_IMAGE", f"send the thumbnail as {THUMBNAIL_TYPE}, not {ctype or 'no content type'}"
    if not data:
        return 422, "EMPTY_IMAGE", "the request body is empty"
    if len(data) > MAX_THUMBNAIL_BYTES:
        return 413, "IMAGE_TOO_LARGE", f"the thumbnail may be at most {MAX_THUMBNAIL_BYTES} bytes"
    if not data.startswith(b"\xff\xd8\xff"):
        return 415, "UNSUPPORTED_IMAGE", "the body is not a JPEG image"
    return None


def thumbnail_key(stream_id: uuid.UUID, nonce: str) -> str:
    """Media bucket key of a stream's thumbnail: ``live/<uuid>/thumbnail-<nonce>.jpg`` (inside the live
    signing scope, so the edge serves it with a signed URL; a new nonce per upload defeats caches)."""
    return f"{live_scope(stream_id)}/thumbnail-{nonce}.jpg"
