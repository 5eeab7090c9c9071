"""Chat rules without I/O.

- :func:`clean_text`: plain text only. The text is NFC-normalised, control characters are dropped
  (line breaks and tabs become spaces), surrounding whitespace is trimmed; empty or over-long texts are
  refused. Nothing is escaped or interpreted: the text travels as a JSON string and clients must render
  it as text (``textContent``), never as HTML.
- :class:`RateLimiter`: a token bucket per key (user id): ``burst`` posts at once, refilled at ``rate``
  per second. It lives in one replica's memory (see the service README for the cross-replica rule).
- moderation: :func:`can_moderate`, :func:`can_act_on`, :func:`can_delete_message`, :func:`ban_blocks`,
  :func:`slow_mode_wait`.
- :func:`parse_client_frame`: the JSON frames a client may send.

Errors are :class:`ChatError` with a stable ``code`` (the WebSocket error frame's ``code``).
"""

from __future__ import annotations

import json
import math
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Stable error codes of WebSocket error frames (and problem+json ``code`` on the REST side).
UNAUTHENTICATED = "UNAUTHENTICATED"
STREAM_NOT_FOUND = "STREAM_NOT_FOUND"
ROOM_CLOSED = "ROOM_CLOSED"
BANNED = "BANNED"
TIMED_OUT = "TIMED_OUT"
RATE_LIMITED = "RATE_LIMITED"
SLOW_MODE = "SLOW_MODE"
MESSAGE_TOO_LONG = "MESSAGE_TOO_LONG"
EMPTY_MESSAGE = "EMPTY_MESSAGE"
INVALID_JSON = "INVALID_JSON"
INVALID_FRAME = "INVALID_FRAME"
BINARY_NOT_SUPPORTED = "BINARY_NOT_SUPPORTED"
FRAME_TOO_LARGE = "FRAME_TOO_LARGE"
FORBIDDEN = "FORBIDDEN"
INTERNAL_ERROR = "INTERNAL_ERROR"


class ChatError(Exception):
    """A refused action: ``code`` (stable, UPPER_SNAKE), ``message`` (for humans), ``extra`` members
    (camelCase, e.g. ``retryAfterMs``)."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.extra = extra

    def frame(self) -> dict[str, Any]:
        """The WebSocket error frame: ``{"type": "error", "code", "message", ...extra}``."""
        return {"type": "error", "code": self.code, "message": self.message, **self.extra}


_SPACES = {"\n", "\r", "\t", "\u2028", "\u2029"}


def clean_text(text: Any, max_chars: int) -> str:  # noqa: ANN401
    """Return the plain text to store, or raise ChatError EMPTY_MESSAGE / MESSAGE_TOO_LONG / INVALID_FRAME.

    ``max_chars`` counts Unicode code points after cleaning.
    """
    if not isinstance(text, str):
        raise ChatError(INVALID_FRAME, "'text' must be a string")
    if len(text) > max_chars * 4 + 64:  # refuse absurd input before normalising it
        raise ChatError(MESSAGE_TOO_LONG, f"message longer than {max_chars} characters", maxChars=max_chars)
    text = unicodedata.normalize("NFC", text)
    out = []
    for ch in text:
        if ch in _SPACES:
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cs") or ch in ("\u202e", "\u202d", "\u2066", "\u2067", "\u2068"):
            continue  # control characters, lone surrogates, bidi overrides
        else:
            out.append(ch)
    cleaned = "".join(out).strip()
    if not cleaned:
        raise ChatError(EMPTY_MESSAGE, "message is empty")
    if len(cleaned) > max_chars:
        raise ChatError(MESSAGE_TOO_LONG, f"message longer than {max_chars} characters", maxChars=max_chars)
    return cleaned


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    """Token bucket per key: ``burst`` tokens, ``rate`` tokens per second; ``clock`` in seconds.

    :meth:`take` returns 0.0 when the action is allowed (a token is spent) or the seconds to wait.
    Idle full buckets are forgotten by :meth:`prune` so memory stays bounded by active users.
    """

    burst: int
    rate: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, key: str) -> float:
        now = self.clock()
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = _Bucket(tokens=float(self.burst), stamp=now)
        else:
            b.tokens = min(float(self.burst), b.tokens + (now - b.stamp) * self.rate)
            b.stamp = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0.0
        return (1.0 - b.tokens) / self.rate

    def prune(self) -> int:
        """Drop buckets that have refilled completely; returns how many were dropped."""
        now = self.clock()
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        return len(full)

    def __len__(self) -> int:
        return len(self._buckets)


def check_rate(limiter: RateLimiter, user_id: str) -> None:
    """Raise ChatError RATE_LIMITED (with ``retryAfterMs``) when ``user_id`` has no token left."""
    wait = limiter.take(user_id)
    if wait > 0:
        raise ChatError(RATE_LIMITED, "too many messages; slow down", retryAfterMs=math.ceil(wait * 1000))


def can_moderate(user_id: str | None, owner_id: str | None, moderators: Iterable[str]) -> bool:
    """The stream owner and the moderators the owner named may moderate; anonymous callers never."""
    if not user_id:
        return False
    return user_id == owner_id or user_id in set(moderators)


def ban_blocks(until: datetime | None, banned: bool, now: datetime) -> ChatError | None:
    """The error for a user with a ban row (``banned``): a permanent ban (``until`` None) -> BANNED;
    a timeout still running -> TIMED_OUT with ``until`` and ``retryAfterMs``; an expired timeout -> None."""
    if not banned:
        return None
    if until is None:
        return ChatError(BANNED, "you are banned from this chat")
    if until > now:
        ms = math.ceil((until - now).total_seconds() * 1000)
        return ChatError(TIMED_OUT, "you are timed out", until=until.isoformat(), retryAfterMs=ms)
    return None


def slow_mode_wait(last_post_at: datetime | None, slow_mode_seconds: int, now: datetime) -> float:
    """Seconds ``now`` is too early for the next post in slow mode (0.0 when allowed)."""
    if slow_mode_seconds <= 0 or last_post_at is None:
        return 0.0
    elapsed = (now - last_post_at).total_seconds()
    return max(0.0, slow_mode_seconds - elapsed)


def check_slow_mode(last_post_at: datetime | None, slow_mode_seconds: int, now: datetime) -> None:
    """Raise ChatError SLOW_MODE (with ``retryAfterMs``) when the user posted too recently."""
    wait = slow_mode_wait(last_post_at, slow_mode_seconds, now)
    if wait > 0:
        raise ChatError(SLOW_MODE, f"slow mode: one message every {slow_mode_seconds} s", retryAfterMs=math.ceil(wait * 1000))


@dataclass(frozen=True)
class ClientFrame:
    """A parsed client frame: ``type`` is ``post`` (with ``text`` and an optional ``nonce``) or ``ping``."""

    type: str
    text: str | None = None
    nonce: str | None = None


def parse_client_frame(raw: str, max_frame_bytes: int) -> ClientFrame:
    """Parse one text frame. Raises ChatError FRAME_TOO_LARGE, INVALID_JSON or INVALID_FRAME."""
    if len(raw) > max_frame_bytes or len(raw.encode("utf-8", "surrogatepass")) > max_frame_bytes:
        raise ChatError(FRAME_TOO_LARGE, f"frame larger than {max_frame_bytes} bytes", maxFrameBytes=max_frame_bytes)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ChatError(INVALID_JSON, f"frame is not JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ChatError(INVALID_FRAME, "frame must be a JSON object")
    kind = data.get("type")
    if kind == "ping":
        return ClientFrame("ping")
    if kind == "post":
        nonce = data.get("nonce")
        if nonce is not None and (not isinstance(nonce, str) or len(nonce) > 64):
            raise ChatError(INVALID_FRAME, "'nonce' must be a string of at most 64 characters")
        if "text" not in data:
            raise ChatError(INVALID_FRAME, "a post needs 'text'")
        return ClientFrame("post", text=data["text"], nonce=nonce)
    raise ChatError(INVALID_FRAME, f"unknown frame type {kind!r}; expected 'post' or 'ping'")


def can_act_on(actor_id: str, target_id: str, owner_id: str | None, moderators: Iterable[str]) -> bool:
    """Whether moderator ``actor_id`` may ban / time out ``target_id``: never the owner or oneself; only
    the owner may act on a moderator."""
    if target_id == owner_id or target_id == actor_id:
        return False
    if target_id in set(moderators):
        return actor_id == owner_id
    return True


def can_delete_message(actor_id: str, author_id: str, owner_id: str | None, moderators: Iterable[str]) -> bool:
    """Whether ``actor_id`` (the owner or a moderator, already checked by :func:`can_moderate`) may
    delete a message written by ``author_id``: the owner any message; a moderator their own and
    viewers' messages, never the owner's nor another moderator's (the same limits as bans,
    :func:`can_act_on`; issue 10 item 7, docs/api.md "Chat")."""
    if actor_id == owner_id or author_id == actor_id:
        return True
    return author_id != owner_id and author_id not in set(moderators)
