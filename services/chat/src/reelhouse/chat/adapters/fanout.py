"""Fan-out between chat replicas through RabbitMQ.

The service's durable queue (``reelhouse.chat``) has competing consumers: each event reaches ONE
replica, which is right for updating the database (stream.started / stream.ended) and wrong for
delivering a message to every client. So every replica also declares its own server-named-like queue
``<prefix>chat.fanout.<replica>``: exclusive (only this connection may use it) and auto-delete (gone
when the replica goes), bound to the events exchange for ``chat.posted``, ``chat.deleted``,
``chat.moderated``, ``chat.presence``, ``stream.started`` and ``stream.ended``. Deliveries are
auto-acked and never retried or dead-lettered: a replica that misses one (it was restarting) has no
clients that depend on it, and a client that reconnects catches up from PostgreSQL by its last ``seq``;
a lost ``chat.posted`` is also recovered by the next message's gap fill.

Messages are handled one at a time in arrival order (queue iterator), so a room's frames keep the order
the hub gives them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import structlog

log = structlog.get_logger(__name__)

FANOUT_KEYS = (
    "chat.posted.v1",
    "chat.deleted.v1",
    "chat.moderated.v1",
    "chat.presence.v1",
    "stream.started.v1",
    "stream.ended.v1",
)


class FanoutConsumer:
    """Reads this replica's exclusive fan-out queue and calls ``on_event(type, data)`` for each event."""

    def __init__(
        self,
        amqp_url: str,
        exchange: str,
        queue_name: str,
        on_event: Callable[[str, dict[str, Any]], Awaitable[None]],
        prefetch: int = 512,
    ) -> None:
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.queue_name = queue_name
        self.on_event = on_event
        self.prefetch = prefetch
        self.received = 0
        self.ready = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()

    async def start(self, timeout: float = 15.0) -> None:
        """Start consuming; returns once the queue is declared and bound (so no event is missed after)."""
        self._task = asyncio.create_task(self._run(), name="chat-fanout")
        await asyncio.wait_for(self.ready.wait(), timeout)

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn = await aio_pika.connect(self.amqp_url)
                async with conn:
                    ch = await conn.channel()
                    await ch.set_qos(prefetch_count=self.prefetch)
                    ex = await ch.declare_exchange(self.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
                    q = await ch.declare_queue(self.queue_name, exclusive=True, auto_delete=True, durable=False)
                    for key in FANOUT_KEYS:
                        await q.bind(ex, routing_key=key)
                    self.ready.set()
                    log.info("chat.fanout_bound", queue=self.queue_name)
                    async with q.iterator(no_ack=True) as it:
                        async for message in it:
                            self.received += 1
                            try:
                                env = json.loads(message.body)
                                await self.on_event(env["type"], env.get("data") or {})
                            except asyncio.CancelledError:
                                raise
                            except Exception:  # noqa: BLE001 - one bad event must not stop the fan-out
                                log.exception("chat.fanout_event_failed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker gone: reconnect
                log.warning("chat.fanout_reconnect", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1.0)
