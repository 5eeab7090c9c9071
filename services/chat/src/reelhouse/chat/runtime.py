"""Per-process chat state created in the service's startup hook: the hub of rooms, the per-user rate
limiter, the fan-out consumer and the periodic presence and retention jobs."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from fastapi import FastAPI
from sqlalchemy import text

from reelhouse.chat.adapters import store
from reelhouse.chat.adapters.fanout import FanoutConsumer
from reelhouse.chat.adapters.hub import Hub
from reelhouse.chat.domain.rules import RateLimiter
from reelhouse.chat.handlers import fanout_dispatch
from reelhouse.chat.settings import ChatSettings
from reelhouse.platform.db import Database

log = structlog.get_logger(__name__)


@dataclass
class ChatRuntime:
    """What the WebSocket and REST handlers share inside one replica."""

    settings: ChatSettings
    db: Database
    replica_id: str
    hub: Hub
    limiter: RateLimiter
    fanout: FanoutConsumer | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)

    async def presence_tick(self) -> list[tuple[uuid.UUID, int]]:
        """Report this replica's counts and publish changed totals (also called by tests)."""
        return await store.report_presence(
            self.db, self.replica_id, self.hub.counts(), stale_after_s=3 * self.settings.chat_presence_interval_seconds
        )

    async def retention_run(self) -> int:
        """Delete messages older than the retention window now; returns how many rows went."""
        n = await store.purge_expired(self.db, timedelta(days=self.settings.chat_retention_days))
        if n:
            log.info("chat.retention_purged", rows=n)
        return n


def replica_id(settings: ChatSettings) -> str:
    return settings.chat_replica_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


async def _every(seconds: float, job, name: str) -> None:  # noqa: ANN001
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - keep the loop alive; log and try next time
            log.exception("chat.periodic_job_failed", job=name)
        await asyncio.sleep(seconds)


async def start(app: FastAPI) -> None:
    """on_startup hook: build the runtime, bind this replica's fan-out queue, start the periodic jobs."""
    settings: ChatSettings = app.state.settings
    db: Database = app.state.db

    async def room_last_seq(stream_id: uuid.UUID) -> int:
        async with db.session() as s:
            return int((await s.execute(text("SELECT last_seq FROM chat_rooms WHERE stream_id = :s"), {"s": stream_id})).scalar() or 0)

    async def fetch_between(stream_id: uuid.UUID, after: int, before: int) -> list[dict]:
        return await store.messages_between(db, stream_id, after, before)

    rid = replica_id(settings)
    hub = Hub(room_last_seq, fetch_between)
    rt = ChatRuntime(settings=settings, db=db, replica_id=rid, hub=hub, limiter=RateLimiter(settings.chat_rate_burst, settings.chat_rate_per_second))
    app.state.chat = rt

    async def on_event(event_type: str, data: dict) -> None:
        await fanout_dispatch(hub, event_type, data)

    rt.fanout = FanoutConsumer(settings.amqp_url, settings.events_exchange, f"{settings.queue_prefix}chat.fanout.{rid}", on_event)
    await rt.fanout.start()

    async def prune() -> None:
        rt.limiter.prune()

    rt.tasks = [
        asyncio.create_task(_every(settings.chat_presence_interval_seconds, rt.presence_tick, "presence")),
        asyncio.create_task(_every(settings.chat_retention_interval_seconds, rt.retention_run, "retention")),
        asyncio.create_task(_every(60.0, prune, "limiter-prune")),
    ]
    log.info("chat.replica_started", replica=rid)


async def stop(app: FastAPI) -> None:
    """on_shutdown hook: tell clients to reconnect elsewhere (1012), stop jobs and the fan-out."""
    rt: ChatRuntime | None = getattr(app.state, "chat", None)
    if rt is None:
        return
    rt.hub.close_all(1012, "service restarting")
    for t in rt.tasks:
        t.cancel()
    for t in rt.tasks:
        try:
            await t
        except (asyncio.CancelledError, Exception):  # noqa: BLE001
            pass
    try:  # drop this replica's presence rows so the totals fall at once
        await store.report_presence(rt.db, rt.replica_id, {}, stale_after_s=3 * rt.settings.chat_presence_interval_seconds)
    except Exception:  # noqa: BLE001
        log.warning("chat.presence_cleanup_failed")
    if rt.fanout:
        await rt.fanout.stop()
