"""Signed playback URLs, verified by the nginx edge in front of the private media bucket.

Why this exists
---------------
The media bucket is private (see docs/decisions.md, "nginx as the playback edge"). Viewers never talk to the bucket: they fetch ``/play/...`` URLs from the edge,
which checks a token, then fetches the object from the bucket with its own AWS SigV4 credentials
and caches it. This module is the Python half of that contract; the other half is
``deploy/k8s/base/nginx/playback.js``. Both must implement exactly the same rule:

The scheme (the contract)
-------------------------
* ``scope`` is the object-key prefix a URL grants, ``videos/<uuid>`` or ``live/<uuid>``
  (regex ``(videos|live)/[0-9a-f-]{36}``, lower-case hex as produced by ``str(uuid.UUID)``).
* ``path`` is the rest of the object key below the scope, e.g. ``<jobid>/master.m3u8``. It is one or
  more ``/``-separated segments of the characters ``A-Z a-z 0-9 . _ ~ -``; empty segments
  (``//``), ``.`` and ``..`` are refused by both sides.
* ``expires`` is a unix time in whole seconds: ``floor(now) + ttl_seconds``. A URL is valid while
  ``now < expires``.
* ``token = base64url_nopad(HMAC-SHA256(key=secret (UTF-8), msg=f"{scope}:{expires}" (UTF-8)))``,
  always 43 characters.
* ``url = f"{base_url}/play/{expires}/{token}/{scope}/{path}"``; the edge maps it to the object key
  ``f"{scope}/{path}"`` in the media bucket.

The token covers the scope, not the file: HLS players resolve the relative URIs inside a playlist
against the playlist URL, so rendition playlists and segments below the scope automatically carry
the same ``/play/<expires>/<token>/`` prefix. That is why the token lives in the path and not in a
query string (which relative URIs would drop).

Edge answers (for reference; produced by nginx, not by this module): ``403`` with a problem+json
body whose ``code`` is ``PLAYBACK_SIGNATURE_INVALID`` or ``PLAYBACK_URL_EXPIRED``; ``404`` with
``PLAYBACK_PATH_INVALID`` for a path that does not have the shape above.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

__all__ = [
    "PATH_SEGMENT_PATTERN",
    "PLAY_PREFIX",
    "SCOPE_PATTERN",
    "HmacPathSigner",
    "PlaybackSigner",
    "SignedUrl",
    "token",
]

#: Path prefix the edge serves signed playback under.
PLAY_PREFIX = "/play"
#: A scope the edge accepts (the object-key prefix a URL grants).
SCOPE_PATTERN = re.compile(r"(?:videos|live)/[0-9a-f-]{36}")
#: One segment of the ``path`` below the scope (unreserved URI characters only).
PATH_SEGMENT_PATTERN = re.compile(r"[A-Za-z0-9._~-]+")
#: Length of a token: 32 bytes of HMAC-SHA256 in unpadded base64url.
TOKEN_LENGTH = 43


@dataclass(frozen=True)
class SignedUrl:
    """A playback URL and the instant it stops working.

    ``url`` is absolute (starts with the signer's ``base_url``); ``expires_at`` is a timezone-aware
    UTC datetime equal to the ``expires`` second embedded in the URL.
    """

    url: str
    expires_at: datetime


class PlaybackSigner(Protocol):
    """Anything that can turn an object key into a time-limited playback URL."""

    def sign(self, scope: str, path: str, ttl_seconds: int, now: float | None = None) -> SignedUrl:
        """Return a URL granting read access to ``scope/path`` (and, for HMAC path signing, to
        everything else below ``scope``) for ``ttl_seconds`` seconds counted from ``now``
        (unix seconds; default: the current time)."""
        ...


def token(secret: str, scope: str, expires: int) -> str:
    """The playback token for ``scope`` valid until ``expires`` (unix seconds, int).

    ``base64url`` without padding of ``HMAC-SHA256(secret, f"{scope}:{expires}")``, 43 characters.
    No validation here: :class:`HmacPathSigner` validates its inputs.
    """
    mac = hmac.new(secret.encode("utf-8"), f"{scope}:{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _check_scope(scope: str) -> None:
    if not SCOPE_PATTERN.fullmatch(scope):
        raise ValueError(f"invalid playback scope {scope!r}: expected 'videos/<uuid>' or 'live/<uuid>'")


def _check_path(path: str) -> None:
    segments = path.split("/")
    for segment in segments:
        if segment in ("", ".", "..") or not PATH_SEGMENT_PATTERN.fullmatch(segment):
            raise ValueError(
                f"invalid playback path {path!r}: segments must match [A-Za-z0-9._~-]+ "
                "and must not be empty, '.' or '..'"
            )


class HmacPathSigner:
    """The edge-verified signer: the token sits in the URL path (see the module docstring).

    ``base_url`` is the public origin of the edge, e.g. ``"http://127.0.0.1:8080"`` (a trailing
    slash is ignored). ``secret`` is the shared secret the edge is configured with
    (``PLAYBACK_SIGNING_SECRET``); it must not be empty.
    """

    def __init__(self, base_url: str, secret: str) -> None:
        if not secret:
            raise ValueError("playback signing secret must not be empty")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        self._base_url = base_url.rstrip("/")
        self._secret = secret

    def sign(self, scope: str, path: str, ttl_seconds: int, now: float | None = None) -> SignedUrl:
        """Sign ``scope/path`` for ``ttl_seconds`` (> 0) seconds from ``now`` (unix seconds).

        Raises ``ValueError`` when the scope or path has a shape the edge would refuse, or when
        ``ttl_seconds`` is not a positive integer.
        """
        _check_scope(scope)
        _check_path(path)
        if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be a positive int, got {ttl_seconds!r}")
        current = time.time() if now is None else now
        expires = math.floor(current) + ttl_seconds
        sig = token(self._secret, scope, expires)
        url = f"{self._base_url}{PLAY_PREFIX}/{expires}/{sig}/{scope}/{path}"
        return SignedUrl(url=url, expires_at=datetime.fromtimestamp(expires, tz=UTC))

    def verify(self, scope: str, expires: int, signature: str, now: float | None = None) -> bool:
        """True when ``signature`` is the token for ``scope``/``expires`` and ``now < expires``.

        The same decision the edge takes (the edge additionally tells an expired URL apart from a
        bad signature). Never raises for malformed input: it just returns False.
        """
        if not isinstance(expires, int) or not isinstance(signature, str):
            return False
        if not SCOPE_PATTERN.fullmatch(scope) or len(signature) != TOKEN_LENGTH:
            return False
        expected = token(self._secret, scope, expires)
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
            return False
        current = time.time() if now is None else now
        return current < expires
