"""Unit tests: the live stream status machine (every status x action), stream keys, expiry (no I/O)."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from reelhouse.streaming.domain.live import (
    TRANSITIONS,
    Action,
    IllegalStreamTransition,
    StreamStatus,
    derive_key,
    expiry_reason,
    hash_key,
    initial_status,
    looks_like_key,
    new_key_nonce,
    redact,
    transition,
)

pytestmark = pytest.mark.unit

S, A = StreamStatus, Action

# (from, action) -> (to, started, ended) for every allowed pair; everything else -> refusal code.
EXPECTED = {
    (S.OFFLINE, A.SCHEDULE): (S.SCHEDULED, False, False),
    (S.SCHEDULED, A.SCHEDULE): (S.SCHEDULED, False, False),
    (S.SCHEDULED, A.UNSCHEDULE): (S.OFFLINE, False, False),
    (S.OFFLINE, A.UNSCHEDULE): (S.OFFLINE, False, False),
    (S.OFFLINE, A.PUBLISH): (S.LIVE, True, False),
    (S.SCHEDULED, A.PUBLISH): (S.LIVE, True, False),
    (S.OFFLINE, A.START): (S.LIVE, True, False),
    (S.SCHEDULED, A.START): (S.LIVE, True, False),
    (S.LIVE, A.PUBLISH): (S.LIVE, False, False),
    (S.LIVE, A.START): (S.LIVE, False, False),
    (S.LIVE, A.DISCONNECT): (S.LIVE, False, False),
    (S.LIVE, A.STOP): (S.ENDED, False, True),
    (S.LIVE, A.EXPIRE): (S.ENDED, False, True),
    (S.ENDED, A.STOP): (S.ENDED, False, False),
}
REFUSED = {
    (S.OFFLINE, A.DISCONNECT): "STREAM_NOT_LIVE",
    (S.OFFLINE, A.STOP): "STREAM_NOT_LIVE",
    (S.OFFLINE, A.EXPIRE): "STREAM_NOT_LIVE",
    (S.SCHEDULED, A.DISCONNECT): "STREAM_NOT_LIVE",
    (S.SCHEDULED, A.STOP): "STREAM_NOT_LIVE",
    (S.SCHEDULED, A.EXPIRE): "STREAM_NOT_LIVE",
    (S.LIVE, A.SCHEDULE): "STREAM_LIVE",
    (S.LIVE, A.UNSCHEDULE): "STREAM_LIVE",
    (S.ENDED, A.SCHEDULE): "STREAM_ENDED",
    (S.ENDED, A.UNSCHEDULE): "STREAM_ENDED",
    (S.ENDED, A.PUBLISH): "STREAM_ENDED",
    (S.ENDED, A.START): "STREAM_ENDED",
    (S.ENDED, A.DISCONNECT): "STREAM_ENDED",
    (S.ENDED, A.EXPIRE): "STREAM_ENDED",
}


def test_the_tables_cover_every_status_and_action():
    pairs = set(itertools.product(S, A))
    assert set(EXPECTED) | set(REFUSED) == pairs
    assert not set(EXPECTED) & set(REFUSED)
    assert set(TRANSITIONS) == set(EXPECTED)


@pytest.mark.parametrize(("current", "action"), sorted(EXPECTED))
def test_allowed_transitions(current, action):
    target, started, ended = EXPECTED[(current, action)]
    result = transition(current, action)
    assert (result.target, result.started, result.ended) == (target, started, ended)
    assert transition(current.value, action) == result  # strings from the database work too


@pytest.mark.parametrize(("current", "action"), sorted(REFUSED))
def test_refused_transitions(current, action):
    with pytest.raises(IllegalStreamTransition) as exc:
        transition(current, action)
    assert exc.value.code == REFUSED[(current, action)]


@pytest.mark.parametrize("current", [S.OFFLINE, S.SCHEDULED, S.LIVE, S.ENDED])
def test_a_second_broadcaster_is_refused(current):
    with pytest.raises(IllegalStreamTransition) as exc:
        transition(current, A.PUBLISH, publisher_connected=True)
    assert exc.value.code == "PUBLISHER_ALREADY_CONNECTED"


def test_only_going_live_announces_a_start_and_only_ending_an_end():
    starts = {k for k, v in TRANSITIONS.items() if v.started}
    ends = {k for k, v in TRANSITIONS.items() if v.ended}
    assert all(v.target == S.LIVE for k, v in TRANSITIONS.items() if k in starts)
    assert {k[0] for k in starts} == {S.OFFLINE, S.SCHEDULED}  # a reconnect never starts again
    assert ends == {(S.LIVE, A.STOP), (S.LIVE, A.EXPIRE)}


def test_initial_status():
    assert initial_status(None) == S.OFFLINE
    assert initial_status(datetime.now(UTC)) == S.SCHEDULED


T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WINDOW, IDLE = timedelta(seconds=30), timedelta(minutes=30)


def _why(**kw):
    base = dict(status=S.LIVE, publisher_connected=False, started_at=T0, disconnected_at=None, now=T0,
                reconnect_window=WINDOW, idle_timeout=IDLE)
    base.update(kw)
    return expiry_reason(**base)


def test_reconnect_window():
    dropped = T0 + timedelta(minutes=5)
    assert _why(disconnected_at=dropped, now=dropped + timedelta(seconds=29)) is None
    assert _why(disconnected_at=dropped, now=dropped + WINDOW) == "RECONNECT_WINDOW_EXPIRED"
    # back within the window: connected again, nothing expires
    assert _why(disconnected_at=None, publisher_connected=True, now=dropped + timedelta(hours=2)) is None


def test_idle_timeout_when_no_broadcaster_ever_came():
    assert _why(now=T0 + IDLE - timedelta(seconds=1)) is None
    assert _why(now=T0 + IDLE) == "IDLE_TIMEOUT"


@pytest.mark.parametrize("status", [S.OFFLINE, S.SCHEDULED, S.ENDED])
def test_only_live_streams_expire(status):
    assert _why(status=status, disconnected_at=T0, now=T0 + timedelta(days=1)) is None


def test_keys_are_long_random_and_derived_per_nonce():
    sid = uuid.uuid4()
    n1, n2 = new_key_nonce(), new_key_nonce()
    assert n1 != n2 and len(n1) == 32
    k1 = derive_key("secret", sid, n1)
    assert looks_like_key(k1) and len(k1) == len("rhlive_") + 43
    assert derive_key("secret", sid, n1) == k1  # the owner's ingest endpoint can show it again
    assert derive_key("secret", sid, n2) != k1  # rotation
    assert derive_key("other-secret", sid, n1) != k1  # the nonce alone (a database leak) is not enough
    assert derive_key("secret", uuid.uuid4(), n1) != k1


def test_key_hash_is_peppered_and_hides_the_key():
    key = derive_key("secret", uuid.uuid4(), new_key_nonce())
    h = hash_key("pepper", key)
    assert len(h) == 64 and key not in h and key[7:] not in h
    assert hash_key("pepper", key) == h
    assert hash_key("other-pepper", key) != h
    with pytest.raises(ValueError):
        hash_key("", key)
    with pytest.raises(ValueError):
        derive_key("", uuid.uuid4(), "n")


@pytest.mark.parametrize("name", ["", "goodkey", "rhlive_short", "rhlive_" + "a" * 42, "rhlive_" + "a" * 43 + "/x", "../rhlive_" + "a" * 43])
def test_garbage_is_not_a_key(name):
    assert not looks_like_key(name)


def test_redact_keeps_only_the_last_four_characters():
    key = derive_key("secret", uuid.uuid4(), new_key_nonce())
    assert redact(key) == "rhlive_..." + key[-4:]
    assert key[7:-4] not in redact(key)


def test_thumbnail_refusal_accepts_only_jpeg_bodies_within_the_limit():
    from reelhouse.streaming.domain.live import MAX_THUMBNAIL_BYTES, thumbnail_key, thumbnail_refusal

    jpeg = b"\xff\xd8\xff\xe0" + b"x" * 100
    assert thumbnail_refusal("image/jpeg", jpeg) is None
    assert thumbnail_refusal("Image/JPEG; charset=binary", jpeg) is None
    assert thumbnail_refusal("image/png", jpeg)[:2] == (415, "UNSUPPORTED_IMAGE")
    assert thumbnail_refusal(None, jpeg)[:2] == (415, "UNSUPPORTED_IMAGE")
    assert thumbnail_refusal("image/jpeg", b"GIF89a")[:2] == (415, "UNSUPPORTED_IMAGE")
    assert thumbnail_refusal("image/jpeg", b"")[:2] == (422, "EMPTY_IMAGE")
    assert thumbnail_refusal("image/jpeg", b"\xff\xd8\xff" + b"0" * MAX_THUMBNAIL_BYTES)[:2] == (413, "IMAGE_TOO_LARGE")
    sid = uuid.UUID(int=7)
    assert thumbnail_key(sid, "ab12") == f"live/{sid}/thumbnail-ab12.jpg"
