"""Transactional outbox (docs/events.md; docs/decisions.md "Outbox and inbox").

A state change and the event that announces it commit in the same transaction
(:func:`add_event`); the :class:`OutboxRelay` publishes unsent rows in id order with publisher
confirms, persistent delivery, ``mandatory`` routing (an unroutable event is an error, not "sent"),
``message_id`` = event id, and marks them sent. Several relays can run: rows are claimed with
``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import aio_pika
import psycopg
import structlog
from prometheus_client import Counter
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.contracts import CloudEvent
from reelhouse.contracts.events import EventPayload
from reelhouse.platform.messaging.schema import OUTBOX_CHANNEL, outbox
from reelhouse.platform.tracing import trace_attributes

log = structlog.get_logger(__name__)


def make_envelope(payload: EventPayload, source: str, correlation_id: str | None = None) -> CloudEvent:
    """Wrap ``payload`` in a CloudEvents envelope (type from the payload class, subject = entity id,
    ``traceparent``/``tracestate`` of the current span: :func:`reelhouse.platform.tracing.trace_attributes`)."""
    return CloudEvent(
        source=source,
        type=payload.event_type,
        subject=payload.subject(),
        correlationid=correlation_id,
        data=payload.model_dump(mode="json", by_alias=True),
        **trace_attributes(),
    )


async def add_event(
    session: AsyncSession, payload: EventPayload, source: str, correlation_id: str | None = None
) -> CloudEvent:
    """Insert ``payload`` into the outbox inside the caller's transaction and NOTIFY the relay.

    The event is published only if the transaction commits. Returns the envelope (its ``id`` is the
    event id consumers deduplicate on).
    """
    env = make_envelope(payload, source, correlation_id)
    await session.execute(
        outbox.insert().values(
            event_id=uuid.UUID(env.id),
            event_type=env.type,
            routing_key=env.routing_key,
            envelope=json.loads(env.model_dump_json()),
        )
    )
    await session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
    return env


EVENTS_PUBLISHED = Counter(
    "reelhouse_events_published_total",
    "Domain events the outbox relay published (confirmed by the broker), by service and event type.",
    ["service", "event_type"],
)
PUBLISH_FAILURES = Counter(
    "reelhouse_outbox_publish_failures_total", "Outbox publishes that failed (kept and retried), by service.", ["service"]
)


def _service_of(envelope: dict) -> str:
    """The publishing service, from the CloudEvents ``source`` (``/reelhouse/<service>``)."""
    return str(envelope.get("source") or "unknown").rstrip("/").rsplit("/", 1)[-1]


class OutboxRelay:
    """Publishes a service's outbox to the events exchange.

    ``db_sessions`` is an ``async_sessionmaker``; ``conninfo`` a libpq string for LISTEN. Call
    :meth:`run` as a task; it returns when :meth:`stop` is called. ``poll_seconds`` is the fallback
    wake-up interval when no NOTIFY arrives.
    """

    def __init__(
        self,
        db_sessions,
        amqp_url: str,
        exchange: str,
        conninfo: str | None = None,
        batch_size: int = 100,
        poll_seconds: float = 1.0,
    ) -> None:
        self.db_sessions = db_sessions
        self.amqp_url = amqp_url
        self.exchange_name = exchange
        self.conninfo = conninfo
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self.published = 0

    def stop(self) -> None:
        """Ask :meth:`run` to finish after the current batch."""
        self._stop.set()
        self._wake.set()

    async def _listen(self) -> None:
        if not self.conninfo:
            return
        while not self._stop.is_set():
            try:
                conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
                    async for _ in conn.notifies():
                        self._wake.set()
                        if self._stop.is_set():
                            return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep listening; polling covers the gap
                log.warning("outbox.listen_failed", error=str(exc))
                await asyncio.sleep(self.poll_seconds)

    async def publish_batch(self, exchange: aio_pika.abc.AbstractExchange) -> int:
        """Publish up to ``batch_size`` unsent rows; returns how many were confirmed.

        A row whose publish fails (nack, unroutable, connection loss) stays unsent with ``attempts``
        incremented and ``last_error`` set; the relay tries it again on the next batch. Later rows about
        the same subject (entity) wait behind it, so per-entity order holds; other entities go on.
        """
        async with self.db_sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.event_id, outbox.c.routing_key, outbox.c.envelope)
                    .where(outbox.c.sent_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            sent = 0
            blocked: set[str] = set()
            for row in rows:
                env = row.envelope
                subject = env.get("subject") or ""
                if subject in blocked:
                    continue  # keep per-entity order behind an event that could not be published
                message = aio_pika.Message(
                    body=json.dumps(env).encode(),
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=str(row.event_id),
                    correlation_id=env.get("correlationid") or str(row.event_id),
                    type=env["type"],
                    app_id=env.get("source"),
                    timestamp=datetime.now(UTC),
                    headers={"ce-type": env["type"], "ce-id": env["id"], "x-attempt": 1},
                )
                try:
                    await exchange.publish(message, routing_key=row.routing_key, mandatory=True, timeout=10)
                except Exception as exc:  # noqa: BLE001 - recorded on the row, retried next batch
                    await session.execute(
                        update(outbox)
                        .where(outbox.c.id == row.id)
                        .values(attempts=outbox.c.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:500])
                    )
                    log.error("outbox.publish_failed", event_id=str(row.event_id), error=str(exc))
                    PUBLISH_FAILURES.labels(_service_of(env)).inc()
                    blocked.add(subject)
                    continue
                await session.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(sent_at=func.now(), attempts=outbox.c.attempts + 1)
                )
                EVENTS_PUBLISHED.labels(_service_of(env), str(env["type"]).removeprefix("reelhouse.")).inc()
                sent += 1
            self.published += sent
            return sent

    async def run(self) -> None:
        """Publish until stopped; reconnects to RabbitMQ with a delay when the connection drops."""
        listener = asyncio.create_task(self._listen())
        try:
            while not self._stop.is_set():
                try:
                    connection = await aio_pika.connect_robust(self.amqp_url)
                    async with connection:
                        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                        exchange = await channel.declare_exchange(
                            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                        )
                        while not self._stop.is_set():
                            self._wake.clear()
                            n = await self.publish_batch(exchange)
                            if n >= self.batch_size:
                                continue
                            try:
                                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                            except TimeoutError:
                                pass
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - broker or db down: wait and retry
                    log.warning("outbox.relay_error", error=f"{type(exc).__name__}: {exc}")
                    try:
                        await asyncio.wait_for(self._stop.wait(), self.poll_seconds * 2)
                    except TimeoutError:
                        pass
        finally:
            listener.cancel()
            try:
                await listener
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
