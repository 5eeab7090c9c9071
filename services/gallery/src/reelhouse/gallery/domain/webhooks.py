"""Webhook rules (pure: no I/O except the resolver passed in): event types, endpoint URL checks against
SSRF, the retry schedule, when an endpoint is disabled, and the payload shape.

The wire format follows the Standard Webhooks specification as summarised in docs/webhooks.md: a JSON
body ``{"type", "timestamp", "data"}`` and the ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` headers (signed by the ``standardwebhooks`` library in the dispatcher).
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

#: The event types an endpoint can subscribe to (docs/webhooks.md, "Events").
EVENT_TYPES: tuple[str, ...] = (
    "video.ready",
    "video.failed",
    "video.deleted",
    "stream.started",
    "stream.ended",
    "recording.ready",
)

#: Seconds to wait before each retry of a failed delivery: the schedule the Standard Webhooks
#: specification recommends after the immediate first attempt (5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
#: 10 h: about 28 hours in all; docs/webhooks.md, "Retries").
DEFAULT_RETRY_SCHEDULE_SECONDS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)

#: Longest accepted endpoint URL (characters).
MAX_URL_LENGTH = 2048

Resolver = Callable[[str, int], Sequence[str]]


class WebhookRefused(ValueError):
    """An endpoint or request that is refused: ``code`` is the stable problem code
    (``WEBHOOK_URL_REFUSED`` or ``INVALID_EVENT_TYPE``), ``detail`` says why in words."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def resolve_addresses(host: str, port: int) -> list[str]:
    """Every IP address ``host`` resolves to (``socket.getaddrinfo``); [] when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({info[4][0] for info in infos})


def refused_address(address: str) -> str | None:
    """Why ``address`` may not receive webhooks outside dev mode (None when it may): loopback,
    link-local (cloud metadata at 169.254.169.254 included), private (RFC 1918, RFC 4193 unique local),
    shared (RFC 6598), multicast, reserved and unspecified addresses are refused; only globally routable
    addresses pass (``ipaddress``'s ``is_global``)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for label, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("unspecified", ip.is_unspecified),
    ):
        if flag:
            return label
    if not ip.is_global:
        return "not globally routable"
    return None


def check_endpoint_url(url: str, *, allow_private: bool, resolve: Resolver = resolve_addresses) -> str:
    """Validate an endpoint URL and return it unchanged.

    Rules: ``http`` or ``https``, a host, no user info, at most :data:`MAX_URL_LENGTH` characters; unless
    ``allow_private`` (dev mode), the host must resolve and every address it resolves to must be global
    (:func:`refused_address`), so a webhook can never be aimed at the cluster's own services or the cloud
    metadata endpoint (server-side request forgery). The dispatcher checks the addresses again before
    every delivery, as DNS answers change.

    Raises :class:`WebhookRefused` (``WEBHOOK_URL_REFUSED``) with the reason.
    """
    if len(url) > MAX_URL_LENGTH:
        raise WebhookRefused("WEBHOOK_URL_REFUSED", f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookRefused("WEBHOOK_URL_REFUSED", f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("WEBHOOK_URL_REFUSED", "the URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise WebhookRefused("WEBHOOK_URL_REFUSED", "the URL must not carry a user name or password")
    if not allow_private:
        check_host(parts.hostname, port or (443 if parts.scheme == "https" else 80), resolve)
    return url


def check_host(host: str, port: int, resolve: Resolver = resolve_addresses) -> list[str]:
    """The addresses of ``host`` when all are global; raises :class:`WebhookRefused` otherwise (no
    address, or one that :func:`refused_address` refuses)."""
    addresses = resolve(host, port)
    if not addresses:
        raise WebhookRefused("WEBHOOK_URL_REFUSED", f"{host} does not resolve")
    for address in addresses:
        why = refused_address(address)
        if why is not None:
            raise WebhookRefused("WEBHOOK_URL_REFUSED", f"{host} resolves to a {why} address ({address}); webhooks go to public addresses only")
    return list(addresses)


def check_event_types(types: Sequence[str] | None) -> list[str]:
    """The subscribed types (all of :data:`EVENT_TYPES` for None or empty), deduplicated in catalogue
    order; raises :class:`WebhookRefused` (``INVALID_EVENT_TYPE``) for an unknown one."""
    if not types:
        return list(EVENT_TYPES)
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise WebhookRefused("INVALID_EVENT_TYPE", f"unknown event type(s) {unknown}; known: {list(EVENT_TYPES)}")
    return [t for t in EVENT_TYPES if t in set(types)]


def new_secret() -> str:
    """A new signing secret in the Standard Webhooks form: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def retry_delay(attempts_made: int, schedule: Sequence[float]) -> float | None:
    """Seconds before the next attempt after ``attempts_made`` failed attempts (>= 1), or None when the
    schedule is exhausted (the delivery has FAILED)."""
    if attempts_made < 1:
        raise ValueError("attempts_made must be >= 1")
    index = attempts_made - 1
    return float(schedule[index]) if index < len(schedule) else None


def should_disable(last_success_at: datetime | None, failed_delivery_created_at: datetime) -> bool:
    """An endpoint is disabled when a delivery has exhausted its whole retry schedule and nothing was
    delivered to it since that delivery was created (about 28 hours of failures with the default
    schedule): persistent failure, not one bad moment."""
    return last_success_at is None or last_success_at < failed_delivery_created_at


def payload(event_type: str, timestamp: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a webhook: ``{"type", "timestamp" (ISO 8601, UTC), "data"}``."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    return {"type": event_type, "timestamp": timestamp.isoformat().replace("+00:00", "Z"), "data": data}
