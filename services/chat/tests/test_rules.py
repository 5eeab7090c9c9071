"""Unit tests (no I/O): message validation, the rate limiter, moderation rules, client frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reelhouse.chat.domain import rules
from reelhouse.chat.domain.rules import ChatError, RateLimiter

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_clean_text_keeps_plain_text_verbatim_and_drops_controls():
    assert rules.clean_text("  <script>alert(1)</script> &amp; ", 100) == "<script>alert(1)</script> &amp;"
    assert rules.clean_text("a\nb\tc\x00d\x1b[31m", 100) == "a b cd[31m"
    assert rules.clean_text("e\u0301", 100) == "\u00e9"  # NFC
    assert rules.clean_text("x\u202egnp.exe", 100) == "xgnp.exe"  # bidi override removed


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "EMPTY_MESSAGE"), (" \n\t\x00 ", "EMPTY_MESSAGE"), ("x" * 11, "MESSAGE_TOO_LONG"), ("y" * 10_000, "MESSAGE_TOO_LONG"), (42, "INVALID_FRAME"), (None, "INVALID_FRAME")],
)
def test_clean_text_refusals(text, code):
    with pytest.raises(ChatError) as e:
        rules.clean_text(text, 10)
    assert e.value.code == code
    assert e.value.frame()["type"] == "error" and e.value.frame()["code"] == code


def test_length_counts_characters_not_bytes():
    assert rules.clean_text("é" * 10, 10) == "é" * 10
    assert rules.clean_text("🎉" * 10, 10) == "🎉" * 10


def test_rate_limiter_burst_then_refill():
    clock = Clock()
    rl = RateLimiter(burst=3, rate=2.0, clock=clock)
    assert [rl.take("u") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = rl.take("u")
    assert wait == pytest.approx(0.5)
    assert rl.take("other") == 0.0  # per user
    clock.t += 0.5
    assert rl.take("u") == 0.0
    assert rl.take("u") > 0
    clock.t += 100
    assert rl.take("u") == 0.0  # never more than the burst after a long pause
    assert rl.take("u") == 0.0 and rl.take("u") == 0.0 and rl.take("u") > 0


def test_rate_limiter_prunes_idle_users_and_check_rate_reports_retry():
    clock = Clock()
    rl = RateLimiter(burst=1, rate=1.0, clock=clock)
    rules.check_rate(rl, "a")
    with pytest.raises(ChatError) as e:
        rules.check_rate(rl, "a")
    assert e.value.code == "RATE_LIMITED" and e.value.extra["retryAfterMs"] == 1000
    clock.t += 5
    assert rl.prune() == 1 and len(rl) == 0


def test_moderation_rights():
    assert rules.can_moderate("owner", "owner", [])
    assert rules.can_moderate("m", "owner", ["m"])
    assert not rules.can_moderate("viewer", "owner", ["m"])
    assert not rules.can_moderate(None, "owner", ["m"])
    assert rules.can_act_on("m", "viewer", "owner", ["m"])
    assert not rules.can_act_on("m", "owner", "owner", ["m"])
    assert not rules.can_act_on("m", "m2", "owner", ["m", "m2"])
    assert rules.can_act_on("owner", "m2", "owner", ["m", "m2"])
    assert not rules.can_act_on("owner", "owner", "owner", [])


def test_ban_and_timeout_rules():
    now = datetime(2026, 11, 22, tzinfo=UTC)
    assert rules.ban_blocks(None, False, now) is None
    assert rules.ban_blocks(None, True, now).code == "BANNED"
    t = rules.ban_blocks(now + timedelta(seconds=30), True, now)
    assert t.code == "TIMED_OUT" and t.extra["retryAfterMs"] == 30_000
    assert rules.ban_blocks(now - timedelta(seconds=1), True, now) is None  # timeout over


def test_slow_mode():
    now = datetime(2026, 11, 22, tzinfo=UTC)
    assert rules.slow_mode_wait(None, 10, now) == 0
    assert rules.slow_mode_wait(now - timedelta(seconds=4), 10, now) == pytest.approx(6)
    assert rules.slow_mode_wait(now - timedelta(seconds=4), 0, now) == 0
    with pytest.raises(ChatError) as e:
        rules.check_slow_mode(now - timedelta(seconds=9), 10, now)
    assert e.value.code == "SLOW_MODE" and e.value.extra["retryAfterMs"] == 1000


def test_client_frames():
    assert rules.parse_client_frame('{"type":"ping"}', 100) == rules.ClientFrame("ping")
    f = rules.parse_client_frame('{"type":"post","text":"hi","nonce":"n1"}', 100)
    assert (f.type, f.text, f.nonce) == ("post", "hi", "n1")
    for raw, code in [
        ("{nope", "INVALID_JSON"),
        ("[1]", "INVALID_FRAME"),
        ('{"type":"post"}', "INVALID_FRAME"),
        ('{"type":"post","text":"x","nonce":5}', "INVALID_FRAME"),
        ('{"type":"dance"}', "INVALID_FRAME"),
        ('{"type":"post","text":"' + "x" * 200 + '"}', "FRAME_TOO_LARGE"),
        ('{"type":"post","text":"' + "é" * 60 + '"}', "FRAME_TOO_LARGE"),  # bytes, not characters
    ]:
        with pytest.raises(ChatError) as e:
            rules.parse_client_frame(raw, 100)
        assert e.value.code == code, raw


def test_chat_outbox_retention_never_exceeds_message_retention():
    """Issue 10 item 7: chat.posted envelopes in the outbox hold message text, so the chat service keeps
    sent outbox rows no longer than its messages (docs/api.md: 7 days)."""
    from reelhouse.chat.settings import ChatSettings

    default = ChatSettings()
    assert default.messaging_retention()[0] <= 7 * 86400
    shorter = ChatSettings(chat_retention_days=1, outbox_retention_seconds=30 * 86400)
    assert shorter.messaging_retention() == (86400.0, shorter.inbox_retention_seconds)


def test_moderators_cannot_delete_the_owners_or_other_moderators_messages():
    """Issue 10 item 7: message deletion follows the ban limits."""
    from reelhouse.chat.domain.rules import can_delete_message

    mods = ["mod-a", "mod-b"]
    assert not can_delete_message("mod-a", "owner", "owner", mods)
    assert not can_delete_message("mod-a", "mod-b", "owner", mods)
    assert can_delete_message("mod-a", "mod-a", "owner", mods)
    assert can_delete_message("mod-a", "viewer", "owner", mods)
    assert can_delete_message("owner", "mod-b", "owner", mods)
    assert can_delete_message("owner", "owner", "owner", mods)
