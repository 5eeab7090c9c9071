"""The streaming service's Prometheus metrics (docs/observability.md): live streams and their viewers,
sampled from the database every ``metrics_interval_seconds`` by a lifespan task (any replica reports the
same figures: aggregate with ``max``, not ``sum``)."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI
from prometheus_client import Gauge
from sqlalchemy import text

log = structlog.get_logger(__name__)

LIVE_STREAMS = Gauge("reelhouse_live_streams", "Live streams in status LIVE (all replicas report the same count).")
LIVE_BROADCASTING = Gauge("reelhouse_live_streams_broadcasting", "LIVE streams with a broadcaster connected now.")
LIVE_VIEWERS = Gauge("reelhouse_live_viewers", "Viewers of LIVE streams, from the chat service's presence counts.")

_SQL = text(
    "SELECT count(*), count(publisher_client_id), coalesce(sum(viewer_count), 0) FROM live_streams WHERE status = 'LIVE'"
)


async def sample(app: FastAPI) -> None:
    """Set the gauges from one query (logs and keeps the last figures when the database is down)."""
    try:
        async with app.state.db.session() as session:
            live, broadcasting, viewers = (await session.execute(_SQL)).one()
    except Exception as exc:  # noqa: BLE001 - an outage is not a crash of the metrics
        log.debug("metrics.live_sample_failed", error=str(exc)[:200])
        return
    LIVE_STREAMS.set(live)
    LIVE_BROADCASTING.set(broadcasting)
    LIVE_VIEWERS.set(viewers)


async def _loop(app: FastAPI) -> None:
    while True:
        await sample(app)
        await asyncio.sleep(app.state.settings.metrics_interval_seconds)


async def start_live_metrics(app: FastAPI) -> None:
    """Lifespan hook: start sampling."""
    app.state.live_metrics_task = asyncio.create_task(_loop(app), name="streaming-live-metrics")


async def stop_live_metrics(app: FastAPI) -> None:
    """Lifespan hook: stop sampling."""
    task = getattr(app.state, "live_metrics_task", None)
    if task is not None:
        task.cancel()
