"""Webhook endpoints and deliveries (tables), the enqueue step and the dispatcher (docs/webhooks.md).

Enqueue: :func:`enqueue` inserts one ``webhook_deliveries`` row per enabled endpoint of the owner that
subscribes to the event type, **in the caller's transaction** (the one that makes the video READY, for
example): a delivery exists exactly when its state change committed, like the outbox.

Dispatch: :class:`WebhookDispatcher` (one per gallery process; any number of replicas) claims due
deliveries with a short lease (``UPDATE ... FOR UPDATE SKIP LOCKED``, committed before any HTTP), sends
them concurrently, each with its own timeout, and records the outcome: 2xx is DELIVERED; anything else
schedules the next attempt (:data:`~reelhouse.gallery.domain.webhooks.DEFAULT_RETRY_SCHEDULE_SECONDS`)
or, when the schedule is exhausted, FAILED, which disables the endpoint when nothing reached it since
that delivery was created (:func:`~reelhouse.gallery.domain.webhooks.should_disable`). A slow or dead
endpoint only ever holds its own deliveries. The addresses of the endpoint's host are checked again
before every attempt outside dev mode (DNS answers change: no SSRF through a later DNS record).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field
from standardwebhooks import Webhook

from reelhouse.gallery.adapters.db import GalleryTable, utcnow
from reelhouse.gallery.domain import webhooks as rules

log = structlog.get_logger(__name__)

DELIVERIES = Counter(
    "reelhouse_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (delivered, retry, failed, refused).",
    ["outcome"],
)

#: Characters of a failed response body or error kept on the delivery (shown in the deliveries list).
ERROR_CHARS = 300
#: How long a claimed delivery is leased to one dispatcher (seconds; longer than any request timeout).
LEASE_SECONDS = 120.0


class WebhookEndpoint(GalleryTable, table=True):
    """An owner's webhook endpoint. ``event_types``: subscribed types; ``secret``: the signing secret
    (``whsec_...``); ``previous_secret`` still signs (a second signature) until
    ``previous_secret_expires_at`` after a rotation; ``disabled_reason`` says why ``enabled`` is false."""

    __tablename__ = "webhook_endpoints"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: str = Field(index=True)
    url: str
    description: str = ""
    event_types: list[str] = Field(sa_column=sa.Column(pg.ARRAY(sa.String()), nullable=False))
    secret: str
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    enabled: bool = True
    disabled_reason: str | None = None
    last_success_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class WebhookDelivery(GalleryTable, table=True):
    """One message to one endpoint. ``message_id`` is the ``webhook-id`` header (the same for a manual
    redelivery, so receivers can deduplicate); ``status`` PENDING | DELIVERED | FAILED; ``attempts``
    made so far; ``last_status_code``/``last_error`` of the latest attempt; times in UTC."""

    __tablename__ = "webhook_deliveries"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    endpoint_id: uuid.UUID = Field(
        sa_column=sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    message_id: str
    event_type: str
    payload: dict[str, Any] = Field(sa_column=sa.Column(pg.JSONB(), nullable=False))
    status: str = "PENDING"
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))


async def enqueue(session: AsyncSession, owner_id: str, event_type: str, data: dict[str, Any], *, at: datetime | None = None) -> int:
    """Add a delivery of ``event_type`` with ``data`` for every enabled endpoint of ``owner_id`` that
    subscribes to it, in ``session``'s transaction; returns how many. One message id per event, shared
    by its deliveries. Wakes the dispatchers of this process after the commit (see :func:`wake`)."""
    now = at or utcnow()
    endpoints = (
        await session.execute(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.owner_id == owner_id,
                WebhookEndpoint.enabled.is_(True),
                sa.literal(event_type) == sa.any_(WebhookEndpoint.event_types),
            )
        )
    ).scalars().all()
    if not endpoints:
        return 0
    message_id = f"msg_{uuid.uuid4().hex}"
    body = rules.payload(event_type, now, data)
    for endpoint_id in endpoints:
        session.add(WebhookDelivery(endpoint_id=endpoint_id, message_id=message_id, event_type=event_type, payload=body, next_attempt_at=now))
    sa.event.listen(session.sync_session, "after_commit", lambda _s: wake(), once=True)
    return len(endpoints)


_wakers: set[asyncio.Event] = set()


def wake() -> None:
    """Tell this process's dispatchers that deliveries are due now (they also poll)."""
    for event in list(_wakers):
        event.set()


_CLAIM = text(
    "UPDATE webhook_deliveries SET lease_until = now() + make_interval(secs => :lease)"
    " WHERE id IN (SELECT d.id FROM webhook_deliveries d"
    "  WHERE d.status = 'PENDING' AND d.next_attempt_at <= now()"
    "  AND (d.lease_until IS NULL OR d.lease_until < now())"
    "  ORDER BY d.next_attempt_at LIMIT :batch FOR UPDATE SKIP LOCKED)"
    " RETURNING id"
)


class WebhookDispatcher:
    """Deliver due webhooks until stopped.

    Args:
        sessions: the gallery's session factory (``async_sessionmaker``).
        allow_private: deliver to loopback/private addresses (dev mode only).
        retry_schedule: seconds before each retry (:data:`rules.DEFAULT_RETRY_SCHEDULE_SECONDS`).
        timeout_seconds: the whole request's timeout per attempt.
        poll_seconds: how often to look for due deliveries when not woken.
        batch_size: deliveries claimed (and sent concurrently) per round.
        previous_secret_seconds: not used here; rotation keeps the old secret that long (routes).
    """

    def __init__(
        self,
        sessions,  # noqa: ANN001 - async_sessionmaker
        *,
        allow_private: bool,
        retry_schedule: Sequence[float] = rules.DEFAULT_RETRY_SCHEDULE_SECONDS,
        timeout_seconds: float = 10.0,
        poll_seconds: float = 1.0,
        batch_size: int = 32,
        resolve: rules.Resolver = rules.resolve_addresses,
    ) -> None:
        self.sessions = sessions
        self.allow_private = allow_private
        self.retry_schedule = tuple(retry_schedule)
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.resolve = resolve
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current round."""
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        """Loop: claim due deliveries, send them, record outcomes; survives database outages (logs and
        waits for the next poll)."""
        _wakers.add(self._wake)
        try:
            async with httpx.AsyncClient(timeout=self.timeout_seconds, follow_redirects=False, trust_env=False) as client:
                while not self._stop.is_set():
                    self._wake.clear()
                    try:
                        sent = await self.run_once(client)
                    except Exception as exc:  # noqa: BLE001 - a database outage costs time, never the loop
                        log.warning("webhooks.round_failed", error=f"{type(exc).__name__}: {exc}"[:300])
                        sent = 0
                    if sent >= self.batch_size:
                        continue  # a backlog: go on at once
                    try:
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                    except TimeoutError:
                        pass
        finally:
            _wakers.discard(self._wake)

    async def run_once(self, client: httpx.AsyncClient) -> int:
        """One round: claim up to ``batch_size`` due deliveries and send them concurrently; returns how
        many were claimed."""
        async with self.sessions() as session, session.begin():
            ids = (await session.execute(_CLAIM, {"lease": LEASE_SECONDS, "batch": self.batch_size})).scalars().all()
        if ids:
            await asyncio.gather(*(self._deliver(client, delivery_id) for delivery_id in ids))
        return len(ids)

    async def _deliver(self, client: httpx.AsyncClient, delivery_id: uuid.UUID) -> None:
        async with self.sessions() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
            endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id) if delivery else None
        if delivery is None or endpoint is None:
            return
        if not endpoint.enabled:  # disabled meanwhile: keep the delivery for a redeliver, do not send
            await self._record(delivery_id, endpoint.id, ok=False, status_code=None, error="endpoint disabled", final=True, disable=False)
            return
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
        now = datetime.now(UTC)
        signatures = [Webhook(endpoint.secret).sign(delivery.message_id, now, body)]
        if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
            signatures.append(Webhook(endpoint.previous_secret).sign(delivery.message_id, now, body))
        headers = {
            "content-type": "application/json",
            "user-agent": "Reelhouse-Webhooks/1",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(signatures),
        }
        status_code: int | None = None
        error: str | None = None
        try:
            if not self.allow_private:
                parts = urlsplit(endpoint.url)
                await asyncio.to_thread(rules.check_host, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80), self.resolve)
            response = await client.post(endpoint.url, content=body.encode(), headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}: {response.text[:ERROR_CHARS]}"
        except rules.WebhookRefused as exc:
            error = exc.detail
            DELIVERIES.labels("refused").inc()
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS] or type(exc).__name__
        ok = error is None
        await self._record(delivery_id, endpoint.id, ok=ok, status_code=status_code, error=error)

    async def _record(
        self,
        delivery_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        *,
        ok: bool,
        status_code: int | None,
        error: str | None,
        final: bool = False,
        disable: bool = True,
    ) -> None:
        now = utcnow()
        async with self.sessions() as session, session.begin():
            delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
            endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
            if delivery is None or endpoint is None:
                return
            delivery.attempts += 1
            delivery.last_status_code = status_code
            delivery.last_error = error
            delivery.lease_until = None
            if ok:
                delivery.status, delivery.delivered_at = "DELIVERED", now
                endpoint.last_success_at = now
                DELIVERIES.labels("delivered").inc()
                log.info("webhooks.delivered", delivery_id=str(delivery_id), endpoint_id=str(endpoint_id), attempts=delivery.attempts)
                return
            delay = None if final else rules.retry_delay(delivery.attempts, self.retry_schedule)
            if delay is not None:
                delivery.next_attempt_at = now + timedelta(seconds=delay)
                DELIVERIES.labels("retry").inc()
                log.info("webhooks.retry_scheduled", delivery_id=str(delivery_id), attempts=delivery.attempts, delay_s=delay, error=(error or "")[:200])
                return
            delivery.status = "FAILED"
            DELIVERIES.labels("failed").inc()
            log.warning("webhooks.delivery_failed", delivery_id=str(delivery_id), endpoint_id=str(endpoint_id), attempts=delivery.attempts)
            if disable and endpoint.enabled and rules.should_disable(endpoint.last_success_at, delivery.created_at):
                endpoint.enabled = False
                endpoint.disabled_reason = (
                    f"ENDPOINT_FAILING: every attempt since {delivery.created_at.isoformat()} failed "
                    f"({delivery.attempts} attempts of delivery {delivery.id}; last: {error or 'no response'})"
                )[:500]
                log.warning("webhooks.endpoint_disabled", endpoint_id=str(endpoint_id), reason=endpoint.disabled_reason)
