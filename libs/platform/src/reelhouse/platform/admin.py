"""``reelhouse-admin``: operator commands (Typer + Rich). Today: the dead-letter queues.

- ``reelhouse-admin dlq list [--service S ...] [--limit N] [--json]`` shows, per service, how many
  messages wait in ``<prefix><service>.dlq`` and the first ``N`` of them (message id, event type,
  subject, reason, detail, attempts, when). Listing is non-destructive: messages are fetched without
  acknowledgement and returned to the queue when the channel closes.
- ``reelhouse-admin dlq replay [--service S ...] (--id MESSAGE_ID ... | --all) [--limit N]`` re-drives
  dead-lettered messages: each is republished (persistent, publisher-confirmed, mandatory) straight to
  its service's main queue through the default exchange, so only that service sees it again, with the
  retry bookkeeping reset (``x-attempt`` 1, ``x-replayed-at``, ``x-replayed-from``); only then is the
  DLQ copy acknowledged. A replayed event that still fails goes round the normal retries and may end in
  the DLQ again; one that succeeded meanwhile is skipped by the consumer's inbox.

Connection and names come from the same settings as the services (``REELHOUSE_AMQP_URL``,
``REELHOUSE_QUEUE_PREFIX``, docs/settings.md); ``--amqp-url`` / ``--queue-prefix`` override them.
Why a message is dead-lettered: ``x-dlq-reason`` set by the platform consumer
(:mod:`reelhouse.platform.messaging.consumer`), or RabbitMQ's ``x-death`` when the quorum queue's
delivery limit was reached. Runbook: docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import aio_pika
import typer
from rich.console import Console
from rich.table import Table

from reelhouse.platform.messaging.topology import ServiceQueues
from reelhouse.platform.settings import PlatformSettings

SERVICES = ("gallery", "upload", "transcoder", "streaming", "chat")
"""Services that consume events (each has a ``.dlq``)."""

_RESET_HEADERS = ("x-dlq-reason", "x-dlq-detail", "x-dlq-service", "x-death", "x-first-death-exchange",
                  "x-first-death-queue", "x-first-death-reason", "x-last-death-exchange", "x-last-death-queue",
                  "x-last-death-reason", "x-first-failure-at-ms", "x-failures", "x-failure-kind", "x-delivery-count")

app = typer.Typer(help="Reelhouse operator commands.", no_args_is_help=True)
dlq_app = typer.Typer(help="List and re-drive dead-lettered events.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


@dataclass
class DeadLetter:
    """One dead-lettered message as listed: ``attempts`` is the delivery number it failed at."""

    service: str
    message_id: str | None
    event_type: str | None
    subject: str | None
    reason: str
    detail: str
    attempts: int | None
    dead_lettered_at: str | None


def _text(value: Any) -> str:  # noqa: ANN401
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def describe(service: str, msg: aio_pika.abc.AbstractIncomingMessage) -> DeadLetter:
    """A :class:`DeadLetter` from a DLQ message (headers first, the CloudEvents body as fallback)."""
    headers = msg.headers or {}
    try:
        body = json.loads(msg.body)
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    reason = headers.get("x-dlq-reason")
    detail = headers.get("x-dlq-detail") or headers.get("x-last-error") or ""
    if reason is None and headers.get("x-death"):
        death = headers["x-death"][0]
        reason = f"BROKER_{_text(death.get('reason', 'dead-lettered')).upper()}"
        detail = detail or f"queue {_text(death.get('queue', '?'))}, count {death.get('count', '?')}"
    when = msg.timestamp.astimezone(UTC).isoformat() if isinstance(msg.timestamp, datetime) else None
    attempt = headers.get("x-attempt")
    return DeadLetter(
        service=service,
        message_id=msg.message_id or body.get("id"),
        event_type=_text(headers["ce-type"]) if headers.get("ce-type") else body.get("type"),
        subject=body.get("subject"),
        reason=_text(reason or "UNKNOWN"),
        detail=_text(detail)[:300],
        attempts=int(attempt) if attempt is not None else None,
        dead_lettered_at=when,
    )


async def _dlq_depth(connection: aio_pika.abc.AbstractConnection, queue: str) -> int | None:
    """Ready messages in ``queue``; None when the queue does not exist."""
    channel = await connection.channel()
    try:
        q = await channel.declare_queue(queue, passive=True)
        return q.declaration_result.message_count or 0
    except aio_pika.exceptions.ChannelClosed:
        return None
    finally:
        if not channel.is_closed:
            await channel.close()


async def list_dead_letters(settings: PlatformSettings, services: list[str], limit: int) -> dict[str, Any]:
    """``{service: {"queue", "count", "messages": [DeadLetter, ...]}}`` without consuming anything."""
    out: dict[str, Any] = {}
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        for service in services:
            queue = ServiceQueues.for_service(settings.queue_prefix, service).dlq
            count = await _dlq_depth(connection, queue)
            messages: list[DeadLetter] = []
            if count:
                channel = await connection.channel()
                q = await channel.get_queue(queue, ensure=False)
                for _ in range(min(limit, count)):
                    msg = await q.get(no_ack=False, fail=False)
                    if msg is None:
                        break
                    messages.append(describe(service, msg))
                await channel.close()  # every fetched message goes back to the queue
            out[service] = {"queue": queue, "count": count, "messages": messages}
    return out


async def replay_dead_letters(
    settings: PlatformSettings, services: list[str], ids: set[str] | None, limit: int
) -> list[DeadLetter]:
    """Republish the DLQ messages whose message id is in ``ids`` (all when None, at most ``limit`` per
    service) to their service's main queue, then ack them in the DLQ. Returns what was replayed.
    Raises aio-pika errors when the broker refuses the publish (the DLQ copy then stays)."""
    replayed: list[DeadLetter] = []
    now = datetime.now(UTC).isoformat()
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        for service in services:
            queues = ServiceQueues.for_service(settings.queue_prefix, service)
            count = await _dlq_depth(connection, queues.dlq)
            if not count:
                continue
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            q = await channel.get_queue(queues.dlq, ensure=False)
            done = 0
            for _ in range(count):
                if done >= limit:
                    break
                msg = await q.get(no_ack=False, fail=False)
                if msg is None:
                    break
                info = describe(service, msg)
                if ids is not None and info.message_id not in ids:
                    continue  # left unacked: returned to the DLQ when the channel closes
                headers = {k: v for k, v in (msg.headers or {}).items() if k not in _RESET_HEADERS}
                headers.update({"x-attempt": 1, "x-replayed-at": now, "x-replayed-from": queues.dlq})
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        msg.body,
                        headers=headers,
                        message_id=msg.message_id,
                        correlation_id=msg.correlation_id,
                        content_type=msg.content_type,
                        type=msg.type,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=queues.main,
                    mandatory=True,
                )
                await msg.ack()
                replayed.append(info)
                done += 1
            await channel.close()
    return replayed


def _settings(amqp_url: str | None, queue_prefix: str | None) -> PlatformSettings:
    settings = PlatformSettings()
    update = {k: v for k, v in {"amqp_url": amqp_url, "queue_prefix": queue_prefix}.items() if v}
    return settings.model_copy(update=update) if update else settings


ServiceOpt = Annotated[list[str] | None, typer.Option("--service", "-s", help="service name (repeatable); default: all")]
AmqpOpt = Annotated[str | None, typer.Option("--amqp-url", help="default: REELHOUSE_AMQP_URL")]
PrefixOpt = Annotated[str | None, typer.Option("--queue-prefix", help="default: REELHOUSE_QUEUE_PREFIX")]


@dlq_app.command("list")
def dlq_list(
    service: ServiceOpt = None,
    limit: Annotated[int, typer.Option(help="messages shown per service")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    amqp_url: AmqpOpt = None,
    queue_prefix: PrefixOpt = None,
) -> None:
    """Count and show dead-lettered events per service (nothing is removed)."""
    settings = _settings(amqp_url, queue_prefix)
    result = asyncio.run(list_dead_letters(settings, service or list(SERVICES), limit))
    if as_json:
        typer.echo(json.dumps({s: {**v, "messages": [asdict(m) for m in v["messages"]]} for s, v in result.items()}))
        return
    console = Console()
    summary = Table("service", "queue", "dead-lettered", title="Dead-letter queues")
    for s, v in result.items():
        summary.add_row(s, v["queue"], "absent" if v["count"] is None else str(v["count"]))
    console.print(summary)
    rows = [m for v in result.values() for m in v["messages"]]
    if rows:
        table = Table("service", "message id", "type", "subject", "reason", "attempt", "detail", title="Messages")
        for column in table.columns[1:3]:
            column.no_wrap = True  # ids are copied into `dlq replay --id`
        for m in rows:
            table.add_row(m.service, m.message_id or "", m.event_type or "", m.subject or "", m.reason,
                          "" if m.attempts is None else str(m.attempts), m.detail)
        console.print(table)


@dlq_app.command("replay")
def dlq_replay(
    service: ServiceOpt = None,
    message_id: Annotated[list[str] | None, typer.Option("--id", help="message id to replay (repeatable)")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="replay every dead-lettered message")] = False,
    limit: Annotated[int, typer.Option(help="at most this many per service")] = 1000,
    amqp_url: AmqpOpt = None,
    queue_prefix: PrefixOpt = None,
) -> None:
    """Send dead-lettered events back to their service's queue (``--id`` or ``--all``)."""
    if not message_id and not replay_all:
        raise typer.BadParameter("give --id MESSAGE_ID (repeatable) or --all")
    settings = _settings(amqp_url, queue_prefix)
    ids = None if replay_all else set(message_id or [])
    replayed = asyncio.run(replay_dead_letters(settings, service or list(SERVICES), ids, limit))
    for m in replayed:
        typer.echo(f"replayed {m.service} {m.message_id} {m.event_type} ({m.reason})")
    typer.echo(f"{len(replayed)} message(s) replayed")
    if ids is not None and len(replayed) < len(ids):
        missing = ids - {m.message_id for m in replayed}
        typer.echo(f"not found in the dead-letter queues: {', '.join(sorted(missing))}", err=True)
        raise typer.Exit(1)


@app.command("edge-metrics")
def edge_metrics(
    log: Annotated[Path, typer.Option(help="the edge's JSON access log (access_log ... edge)")],
    port: Annotated[int, typer.Option(help="port of the /metrics endpoint")] = 9113,
    host: Annotated[str, typer.Option(help="address to listen on")] = "0.0.0.0",
    from_start: Annotated[bool, typer.Option(help="count what the file already holds too")] = False,
) -> None:
    """Serve the edge's request, status and cache metrics on /metrics, read from its access log
    (docs/observability.md, "Edge"); runs until stopped."""
    from prometheus_client import start_http_server

    from reelhouse.platform.edge_metrics import EdgeLogMetrics

    start_http_server(port, addr=host)
    Console(stderr=True).print(f"edge-metrics: following {log}, serving http://{host}:{port}/metrics")
    EdgeLogMetrics(log, from_start=from_start).run()


def main() -> None:
    """Console script entry point (``reelhouse-admin``)."""
    app()


if __name__ == "__main__":
    main()
