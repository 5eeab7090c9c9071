"""Idempotent event consumption with bounded retries and a dead-letter queue.

One :class:`EventConsumer` per service reads the service's queue through FastStream (manual acks).
For each delivery it:

1. parses the CloudEvents envelope and the payload model of its ``type`` (a malformed message or an
   unknown type goes straight to the DLQ with ``x-dlq-reason``; the consumer keeps running);
2. runs the handler. In ``inbox`` mode the handler runs inside one transaction that first inserts
   ``(consumer, event id)`` into the inbox with ON CONFLICT DO NOTHING: a duplicate is skipped and
   acked, and the state change, the inbox row and any outbox events commit together. In ``self``
   mode the handler manages its own transactions (long jobs such as a transcode);
3. on failure republishes the message to the retry queue with ``x-attempt`` + 1 and an exponential
   delay (``backoff_seconds`` doubling, capped at ``backoff_max_seconds``); the original is acked only
   after the republish is confirmed. What ends the retries depends on the failure
   (:func:`classify_failure`):

   - :class:`PermanentError`: dead-lettered at once (``PERMANENT_FAILURE``);
   - an outage (PostgreSQL, RabbitMQ or S3 unreachable: connection errors, timeouts,
     ``OperationalError``) or :class:`RetryLater` (the event came before one it depends on): retried
     for ``retry_window_seconds`` after the first failure, however many attempts that takes, then
     dead-lettered (``OUTAGE_WINDOW_EXHAUSTED`` / ``DEPENDENCY_WINDOW_EXHAUSTED``). An outage costs
     time, not data;
   - any other error (a bug, bad data the handler did not foresee): dead-lettered after
     ``max_attempts`` such failures (``RETRIES_EXHAUSTED``).

   Headers carried on the message: ``x-attempt`` (delivery number, 1-based), ``x-failures`` (failures
   of the last kind), ``x-first-failure-at-ms`` (Unix time of the first failure, ms), ``x-last-error``.
   Dead-lettered messages keep their body and get ``x-dlq-reason`` / ``x-dlq-detail`` /
   ``x-dlq-service``; ``reelhouse-admin dlq list|replay`` lists and re-drives them.

Sources: docs/decisions.md "FastStream 0.7" and "Outbox and inbox"; docs/events.md; docs/reliability.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import aio_pika
import structlog
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitMessage, RabbitQueue
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.contracts import CloudEvent
from reelhouse.contracts.events import EventPayload, payload_model_for
from reelhouse.platform.db import Database
from reelhouse.platform.tracing import consumer_span
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.platform.messaging.schema import inbox
from reelhouse.platform.messaging.topology import DLX_EXCHANGE, ServiceQueues

log = structlog.get_logger(__name__)

DEAD_LETTERED = Counter(
    "reelhouse_events_dead_lettered", "Events moved to a dead-letter queue", ["service", "reason"]
)
"""``reelhouse_events_dead_lettered_total{service,reason}``: alert when it grows (see docs/reliability.md)."""
RETRIED = Counter("reelhouse_events_retried", "Event deliveries sent to the retry queue", ["service", "kind"])
"""``reelhouse_events_retried_total{service,kind}`` (kind: outage, dependency, error)."""


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help (the message goes to the DLQ at once)."""


class RetryLater(Exception):
    """Raised by a handler when the event arrived before one it depends on (e.g. ``transcode.completed``
    for a video whose ``video.uploaded`` has not been applied yet). The transaction rolls back (the
    inbox row too, so the redelivery is processed) and the event comes back after the backoff delay, for
    up to ``retry_window_seconds``; it is never dropped."""


FailureKind = Literal["permanent", "outage", "dependency", "error"]

_OUTAGE_NAMES = frozenset(
    {
        # SQLAlchemy / DBAPI: server gone, connection refused, pool invalidated
        "OperationalError",
        "InterfaceError",
        "DisconnectionError",
        # botocore: S3 endpoint unreachable or the connection dropped
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        # aiormq / aio-pika: channel or connection closed under us
        "ChannelInvalidStateError",
        "AMQPConnectionError",
        "ConnectionChannelError",
        "ChannelClosed",
        "ConnectionClosed",
    }
)


def classify_failure(exc: BaseException) -> FailureKind:
    """How the consumer treats ``exc`` raised by a handler.

    Returns ``permanent`` for :class:`PermanentError`, ``dependency`` for :class:`RetryLater`,
    ``outage`` when ``exc`` or any exception in its cause/context chain is an infrastructure failure
    (``ConnectionError``, ``TimeoutError``, SQLAlchemy ``OperationalError``/``InterfaceError``, botocore
    connection errors, aiormq channel/connection errors: matched by class name so the platform does not
    import every client library), else ``error``.
    """
    if isinstance(exc, PermanentError):
        return "permanent"
    if isinstance(exc, RetryLater):
        return "dependency"
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ConnectionError | TimeoutError):
            return "outage"
        if any(c.__name__ in _OUTAGE_NAMES for c in type(cur).__mro__):
            return "outage"
        cur = cur.__cause__ or cur.__context__
    return "error"


@dataclass
class HandlerContext:
    """What a handler receives besides the payload.

    ``session`` is the open transaction in ``inbox`` mode (None in ``self`` mode); ``db`` the service
    database; ``envelope`` the CloudEvent; ``attempt`` the delivery attempt (1-based);
    ``redelivered`` True when RabbitMQ redelivers after a consumer died; ``headers`` the AMQP headers of
    the delivery (retry bookkeeping such as ``x-first-failure-at-ms``).
    """

    service: str
    db: Database
    envelope: CloudEvent
    attempt: int
    redelivered: bool
    session: AsyncSession | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)

    async def publish(self, payload: EventPayload, session: AsyncSession | None = None) -> CloudEvent:
        """Add ``payload`` to the outbox in ``session`` (default: the handler's transaction)."""
        s = session or self.session
        if s is None:
            raise RuntimeError("no open session: pass one in 'self' mode")
        return await add_event(s, payload, source=f"/reelhouse/{self.service}", correlation_id=self.envelope.correlationid or self.envelope.id)


Handler = Callable[[HandlerContext, Any], Awaitable[None]]


@dataclass(frozen=True)
class HandlerSpec:
    """A handler for one event type; ``mode`` is ``inbox`` (default) or ``self`` (own transactions)."""

    func: Handler
    mode: Literal["inbox", "self"] = "inbox"


class EventConsumer:
    """Consumes ``queues.main`` with FastStream and dispatches to ``handlers`` by event type.

    ``handlers`` maps full event types (``reelhouse.video.uploaded.v1``) to :class:`HandlerSpec`.
    ``max_attempts`` counts failures of a handler error (1 = no retry); ``backoff_seconds`` is the first
    retry delay (s), doubled each attempt and capped at ``backoff_max_seconds``; ``retry_window_seconds``
    is how long outages and missing dependencies are retried after the first failure (see the module
    docstring). ``prefetch`` is the consumer's unacked-message limit (1 for competing transcoder workers).
    """

    def __init__(
        self,
        service: str,
        broker: RabbitBroker,
        db: Database,
        queues: ServiceQueues,
        handlers: dict[str, HandlerSpec],
        max_attempts: int = 5,
        backoff_seconds: float = 1.0,
        prefetch: int = 10,
        backoff_max_seconds: float = 60.0,
        retry_window_seconds: float = 1800.0,
        extras: dict[str, Any] | None = None,
    ) -> None:
        self.service = service
        self.broker = broker
        self.db = db
        self.queues = queues
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.retry_window_seconds = retry_window_seconds
        self.retried = 0
        self.extras = extras or {}
        self.processed = 0
        self.dead_lettered = 0
        self.subscriber = broker.subscriber(
            RabbitQueue(queues.main, declare=False),
            ack_policy=AckPolicy.MANUAL,
            channel=_channel(prefetch),
        )
        self.subscriber(self._on_message)

    async def _dead_letter(self, msg: RabbitMessage, reason: str, detail: str) -> None:
        raw = msg.raw_message
        headers = dict(raw.headers or {})
        headers.update({"x-dlq-reason": reason, "x-dlq-detail": detail[:1000], "x-dlq-service": self.service})
        await self.broker.publish(
            raw.body,
            exchange=DLX_EXCHANGE,
            routing_key=self.queues.dlq,
            headers=headers,
            persist=True,
            message_id=raw.message_id,
            correlation_id=raw.correlation_id,
            content_type=raw.content_type,
            message_type=raw.type,
            mandatory=True,
        )
        self.dead_lettered += 1
        DEAD_LETTERED.labels(self.service, reason).inc()
        log.error("event.dead_lettered", reason=reason, detail=detail[:300], message_id=raw.message_id)

    def retry_delay(self, attempt: int) -> float:
        """Seconds before delivery ``attempt + 1``: ``backoff_seconds * 2**(attempt-1)``, capped."""
        return min(self.backoff_seconds * (2 ** min(attempt - 1, 30)), self.backoff_max_seconds)

    async def _retry(self, msg: RabbitMessage, attempt: int, error: str, extra_headers: dict[str, Any]) -> None:
        raw = msg.raw_message
        delay = self.retry_delay(attempt)
        headers = dict(raw.headers or {})
        headers.update({"x-attempt": attempt + 1, "x-last-error": error[:500], **extra_headers})
        await self.broker.publish(
            raw.body,
            queue=self.queues.retry,
            headers=headers,
            persist=True,
            expiration=timedelta(seconds=delay),
            message_id=raw.message_id,
            correlation_id=raw.correlation_id,
            content_type=raw.content_type,
            message_type=raw.type,
            mandatory=True,
        )
        self.retried += 1
        RETRIED.labels(self.service, str(extra_headers.get("x-failure-kind", "error"))).inc()
        log.warning("event.retry_scheduled", attempt=attempt, delay_s=delay, error=error[:300])

    async def _on_failure(self, msg: RabbitMessage, attempt: int, exc: Exception) -> None:
        """Retry or dead-letter a failed delivery according to :func:`classify_failure`."""
        headers = msg.raw_message.headers or {}
        kind = classify_failure(exc)
        err = f"{type(exc).__name__}: {exc}"
        if kind == "permanent":
            await self._dead_letter(msg, "PERMANENT_FAILURE", str(exc))
            return
        now = time.time()
        # an integer (ms): AMQP tables would carry a Python float as a 32-bit float (~2 min precision)
        first = int(headers.get("x-first-failure-at-ms") or now * 1000) / 1000
        same_kind = headers.get("x-failure-kind") == kind
        failures = (int(headers.get("x-failures") or 0) if same_kind else 0) + 1
        if kind == "error":
            log.exception("event.handler_failed", attempt=attempt, failures=failures)
            if failures >= self.max_attempts:
                await self._dead_letter(msg, "RETRIES_EXHAUSTED", err)
                return
        else:
            log.warning("event.retry_later", kind=kind, attempt=attempt, error=err[:300])
            if now - first >= self.retry_window_seconds:
                reason = "OUTAGE_WINDOW_EXHAUSTED" if kind == "outage" else "DEPENDENCY_WINDOW_EXHAUSTED"
                await self._dead_letter(msg, reason, err)
                return
        await self._retry(
            msg,
            attempt,
            err,
            {"x-first-failure-at-ms": int(first * 1000), "x-failures": failures, "x-failure-kind": kind},
        )

    async def _on_message(self, body: Any, msg: RabbitMessage) -> None:  # noqa: ANN401
        raw = msg.raw_message
        attempt = int((raw.headers or {}).get("x-attempt", 1) or 1)
        try:
            data = json.loads(raw.body)
            envelope = CloudEvent.model_validate(data)
            try:
                spec = self.handlers[envelope.type]
            except KeyError:
                await self._dead_letter(msg, "UNKNOWN_EVENT_TYPE", envelope.type)
                await msg.ack()
                return
            payload = payload_model_for(envelope.type).model_validate(envelope.data)
        except (ValueError, ValidationError, KeyError, TypeError) as exc:
            await self._dead_letter(msg, "MALFORMED_EVENT", f"{type(exc).__name__}: {exc}")
            await msg.ack()
            return

        structlog.contextvars.bind_contextvars(event_id=envelope.id, event_type=envelope.type, request_id=envelope.correlationid)
        span_scope = consumer_span(envelope.type, envelope.id, self.service, data)
        span = span_scope.__enter__()
        try:
            ctx = HandlerContext(
                service=self.service,
                db=self.db,
                envelope=envelope,
                attempt=attempt,
                redelivered=bool(raw.redelivered),
                extras=self.extras,
                headers=dict(raw.headers or {}),
            )
            if spec.mode == "inbox":
                async with self.db.session() as session:
                    inserted = await session.execute(
                        pg_insert(inbox)
                        .values(consumer=self.service, event_id=envelope.id, event_type=envelope.type)
                        .on_conflict_do_nothing()
                        .returning(inbox.c.event_id)
                    )
                    if inserted.first() is None:
                        log.info("event.duplicate_skipped")
                    else:
                        ctx.session = session
                        await spec.func(ctx, payload)
            else:
                await spec.func(ctx, payload)
            self.processed += 1
            await msg.ack()
        except Exception as exc:  # noqa: BLE001 - every failure is retried or dead-lettered, never dropped
            span.record_exception(exc)
            await self._on_failure(msg, attempt, exc)
            await msg.ack()
        finally:
            span_scope.__exit__(None, None, None)
            structlog.contextvars.unbind_contextvars("event_id", "event_type", "request_id")


def _channel(prefetch: int):  # noqa: ANN202
    from faststream.rabbit import Channel

    return Channel(prefetch_count=prefetch)


async def connect_and_declare(amqp_url: str, exchange: str, queues: ServiceQueues, routing_keys: list[str], delivery_limit: int) -> None:
    """Open a short aio-pika connection and declare the service's topology (see topology module)."""
    from reelhouse.platform.messaging.topology import declare_topology

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await declare_topology(channel, exchange, queues, routing_keys, delivery_limit)
