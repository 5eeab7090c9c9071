"""Unit tests of the webhook rules (domain/webhooks.py): SSRF checks, retry schedule, disabling, payload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reelhouse.gallery.domain import webhooks as rules

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("10.0.0.8", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "not globally routable"),  # carrier-grade NAT (RFC 6598)
        ("0.0.0.0", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6 cannot hide a loopback address
        ("224.0.0.1", "multicast"),
    ],
)
def test_non_public_addresses_are_refused_with_their_kind(address: str, why: str) -> None:
    assert rules.refused_address(address) == why


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "1.1.1.1"])
def test_public_addresses_pass(address: str) -> None:
    assert rules.refused_address(address) is None


def test_a_host_with_one_private_address_among_public_ones_is_refused() -> None:
    # DNS may answer several records: one internal address is enough to refuse the endpoint
    resolve = {"hooks.example.com": ["93.184.215.14", "10.0.0.5"], "ok.example.com": ["93.184.215.14"]}
    with pytest.raises(rules.WebhookRefused, match="private address"):
        rules.check_endpoint_url("https://hooks.example.com/x", allow_private=False, resolve=lambda h, p: resolve[h])
    assert rules.check_endpoint_url("https://ok.example.com/x", allow_private=False, resolve=lambda h, p: resolve[h]) == "https://ok.example.com/x"
    with pytest.raises(rules.WebhookRefused, match="does not resolve"):
        rules.check_endpoint_url("https://nowhere.invalid/x", allow_private=False, resolve=lambda h, p: [])


def test_dev_mode_allows_local_receivers_but_never_other_schemes_or_credentials() -> None:
    assert rules.check_endpoint_url("http://127.0.0.1:9000/hook", allow_private=True)
    for url in ("ftp://127.0.0.1/x", "file:///etc/passwd", "http://u:p@127.0.0.1/", "http:///nohost", "x" * 3000):
        with pytest.raises(rules.WebhookRefused) as caught:
            rules.check_endpoint_url(url, allow_private=True)
        assert caught.value.code == "WEBHOOK_URL_REFUSED"


def test_event_types_default_to_all_and_unknown_ones_are_refused() -> None:
    assert rules.check_event_types(None) == list(rules.EVENT_TYPES)
    assert rules.check_event_types(["stream.ended", "video.ready", "video.ready"]) == ["video.ready", "stream.ended"]
    with pytest.raises(rules.WebhookRefused) as caught:
        rules.check_event_types(["video.ready", "video.exploded"])
    assert caught.value.code == "INVALID_EVENT_TYPE" and "video.exploded" in caught.value.detail


def test_the_retry_schedule_is_standard_webhooks_and_ends() -> None:
    schedule = rules.DEFAULT_RETRY_SCHEDULE_SECONDS
    assert [rules.retry_delay(n, schedule) for n in range(1, 9)] == [5, 300, 1800, 7200, 18000, 36000, 36000, None]
    assert sum(schedule) / 3600 == pytest.approx(27.6, abs=0.1)  # about 28 hours of retries
    with pytest.raises(ValueError):
        rules.retry_delay(0, schedule)


def test_an_endpoint_is_disabled_only_when_nothing_reached_it_since_the_failed_delivery() -> None:
    created = datetime(2026, 12, 1, tzinfo=UTC)
    assert rules.should_disable(None, created)
    assert rules.should_disable(created - timedelta(hours=1), created)
    assert not rules.should_disable(created + timedelta(hours=3), created)  # something got through meanwhile


def test_payload_shape_and_secret_format() -> None:
    at = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)
    assert rules.payload("video.ready", at, {"videoId": "v"}) == {"type": "video.ready", "timestamp": "2026-12-02T03:04:05Z", "data": {"videoId": "v"}}
    with pytest.raises(ValueError):
        rules.payload("video.exploded", at, {})
    secret = rules.new_secret()
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 44 and secret != rules.new_secret()
