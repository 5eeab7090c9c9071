"""The composition root every service shares: a FastAPI app whose lifespan opens the service database,
declares the service's RabbitMQ topology, starts its event consumer (FastStream), its outbox relay and
its outbox/inbox pruner,
plus ``/healthz``, ``/readyz`` and ``/metrics``; and a CLI with ``migrate`` and ``serve``.

Nothing happens at import time: :func:`create_app` builds, the lifespan connects.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI
from faststream.rabbit import RabbitBroker
from prometheus_client import make_asgi_app

from reelhouse.contracts import routing_key_for
from reelhouse.platform.api import RejectNulMiddleware
from reelhouse.platform.db import Database, _libpq_conninfo, ensure_database, migrate
from reelhouse.platform.logging import RequestIdMiddleware, configure_logging
from reelhouse.platform.messaging.consumer import EventConsumer, HandlerSpec, connect_and_declare
from reelhouse.platform.messaging.outbox import OutboxRelay
from reelhouse.platform.messaging.pruning import MessagingPruner
from reelhouse.platform.messaging.topology import ServiceQueues
from reelhouse.platform.metrics import HttpMetricsMiddleware, MessagingMetrics
from reelhouse.platform.openapi import install_openapi
from reelhouse.platform.tracing import configure_tracing, instrument_app
from reelhouse.platform.problems import install_problem_handlers, problem_response
from reelhouse.platform.settings import PlatformSettings

log = structlog.get_logger(__name__)

Hook = Callable[[FastAPI], Awaitable[None]]


@dataclass
class ServiceDefinition:
    """What makes one service: its name, settings, migrations, HTTP routers and event handlers.

    ``handlers`` maps full event types to :class:`HandlerSpec`; ``publishes`` lists the event types the
    service emits (read by the contract tests); ``prefetch`` is the consumer's unacked limit;
    ``on_startup`` / ``on_shutdown`` run inside the lifespan (after / before the messaging starts / stops).
    """

    name: str
    settings: PlatformSettings
    migrations_dir: Path
    routers: list[APIRouter] = field(default_factory=list)
    handlers: dict[str, HandlerSpec] = field(default_factory=dict)
    publishes: tuple[str, ...] = ()
    prefetch: int = 10
    run_relay: bool = True
    on_startup: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    server_options: dict[str, Any] = field(default_factory=dict)
    """Extra ``uvicorn.run`` keyword arguments for ``serve`` (e.g. ``ws_per_message_deflate``,
    ``ws_max_size``); they override the defaults below."""

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of this service's own database."""
        return self.settings.database_url_for(self.name)

    @property
    def queues(self) -> ServiceQueues:
        """Names of this service's consumer, retry and dead-letter queues."""
        return ServiceQueues.for_service(self.settings.queue_prefix, self.name)

    def prepare_database(self) -> None:
        """Create the service database if missing and upgrade it to the newest migration."""
        ensure_database(self.database_url)
        migrate(self.database_url, self.migrations_dir)


def create_app(defn: ServiceDefinition) -> FastAPI:
    """Build the service's FastAPI app (no I/O until the lifespan starts)."""
    settings = defn.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.check_secrets()  # refuse to start on a development secret outside dev mode
        db = Database(defn.database_url)
        app.state.db = db
        broker = RabbitBroker(settings.amqp_url, logger=None)
        app.state.broker = broker
        consumer = None
        if defn.handlers:
            await connect_and_declare(
                settings.amqp_url,
                settings.events_exchange,
                defn.queues,
                [routing_key_for(t) for t in defn.handlers],
                delivery_limit=settings.max_delivery_attempts + 2,
            )
            consumer = EventConsumer(
                defn.name,
                broker,
                db,
                defn.queues,
                defn.handlers,
                max_attempts=settings.max_delivery_attempts,
                backoff_seconds=settings.retry_backoff_seconds,
                backoff_max_seconds=settings.retry_backoff_max_seconds,
                retry_window_seconds=settings.retry_window_seconds,
                prefetch=defn.prefetch,
                extras={**defn.extras, "app": app},
            )
        app.state.consumer = consumer
        relay = None
        relay_task = None
        if defn.run_relay:
            relay = OutboxRelay(
                db.sessions, settings.amqp_url, settings.events_exchange, conninfo=_libpq_conninfo(defn.database_url)
            )
            relay_task = asyncio.create_task(relay.run(), name=f"{defn.name}-outbox-relay")
        app.state.relay = relay
        outbox_retention, inbox_retention = settings.messaging_retention()
        pruner = MessagingPruner(
            db.sessions,
            outbox_retention,
            inbox_retention,
            interval_seconds=settings.messaging_prune_interval_seconds,
        )
        pruner_task = asyncio.create_task(pruner.run(), name=f"{defn.name}-messaging-pruner")
        app.state.pruner = pruner
        depths = QueueDepths(settings.amqp_url, defn.queues) if defn.handlers else None
        sampler = MessagingMetrics(
            defn.name,
            db.sessions,
            queue_depths=depths.sample if depths else None,
            ready=lambda: _ready(app),
            interval_seconds=settings.metrics_interval_seconds,
        )
        for hook in defn.on_startup:
            await hook(app)
        await broker.start()
        # sampled only once the broker is started: a first sample before would report "not ready"
        sampler_task = asyncio.create_task(sampler.run(), name=f"{defn.name}-metrics-sampler")
        log.info("service.started", service=defn.name, queue=defn.queues.main if defn.handlers else None)
        try:
            yield
        finally:
            for hook in defn.on_shutdown:
                await hook(app)
            await broker.stop()
            sampler.stop()
            sampler_task.cancel()
            if depths is not None:
                await depths.close()
            pruner.stop()
            try:
                await asyncio.wait_for(pruner_task, 10)
            except (TimeoutError, asyncio.CancelledError):
                pruner_task.cancel()
            if relay is not None and relay_task is not None:
                relay.stop()
                try:
                    await asyncio.wait_for(relay_task, 10)
                except (TimeoutError, asyncio.CancelledError):
                    relay_task.cancel()
            await db.dispose()
            log.info("service.stopped", service=defn.name)

    app = FastAPI(title=f"Reelhouse {defn.name}", lifespan=lifespan)
    app.state.settings = settings
    app.state.definition = defn
    install_problem_handlers(app)
    install_openapi(app)  # errors declared as problem+json with their codes (reelhouse.platform.openapi)
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(HttpMetricsMiddleware, service=defn.name)
    app.add_middleware(RequestIdMiddleware)
    instrument_app(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": defn.name}

    @app.get("/readyz", include_in_schema=False)
    async def readyz():  # noqa: ANN202
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(app.state.db.ping(), 2)
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"error: {exc}"
        try:
            ok = await app.state.broker.ping(timeout=2)
            checks["broker"] = "ok" if ok else "error: unreachable"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {exc}"
        if all(v == "ok" for v in checks.values()):
            return {"status": "ready", "checks": checks}
        return problem_response(503, "NOT_READY", "Service not ready", str(checks), checks=checks)

    app.mount("/metrics", make_asgi_app())
    for router in defn.routers:
        app.include_router(router)
    return app


async def _ready(app: FastAPI) -> bool:
    """True when the service's database and broker answer within 2 s each."""
    try:
        await asyncio.wait_for(app.state.db.ping(), 2)
        return bool(await app.state.broker.ping(timeout=2))
    except Exception:  # noqa: BLE001
        return False


class QueueDepths:
    """Ready-message counts of a service's main, retry and dead-letter queues (passive declares on a
    connection of its own, opened on first use and reopened after a broker outage)."""

    def __init__(self, amqp_url: str, queues: ServiceQueues) -> None:
        self.amqp_url = amqp_url
        self.queues = queues
        self._connection = None

    async def sample(self) -> dict[str, int]:
        """``{"main": n, "retry": n, "dlq": n}``; raises aio-pika errors while the broker is down."""
        import aio_pika

        if self._connection is None or self._connection.is_closed:
            self._connection = await aio_pika.connect(self.amqp_url, timeout=5)
        try:
            channel = await self._connection.channel()
            try:
                out = {}
                for role, name in (("main", self.queues.main), ("retry", self.queues.retry), ("dlq", self.queues.dlq)):
                    queue = await channel.declare_queue(name, passive=True)
                    out[role] = int(queue.declaration_result.message_count or 0)
                return out
            finally:
                await channel.close()
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed:
            try:
                await connection.close()
            except Exception:  # noqa: BLE001
                pass


def run_cli(build: Callable[[PlatformSettings | None], ServiceDefinition], argv: list[str] | None = None) -> None:
    """Service CLI: ``migrate`` (create db + upgrade) and ``serve [--host] [--port] [--no-migrate]``."""
    import uvicorn

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="create the service database if needed and run migrations")
    serve = sub.add_parser("serve", help="run the HTTP API, event consumer and outbox relay")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--migrate", action="store_true", help="run migrations first")
    args = parser.parse_args(argv)
    defn = build(None)
    configure_logging(defn.name, defn.settings.log_level, defn.settings.log_json)
    configure_tracing(defn.name)
    if args.cmd == "migrate":
        defn.prepare_database()
        log.info("service.migrated", service=defn.name)
        return
    if args.migrate:
        defn.prepare_database()
    options: dict[str, Any] = {
        "log_level": defn.settings.log_level.lower(),
        "access_log": False,
        "ws": "websockets-sansio",
        "timeout_graceful_shutdown": 30,
        **defn.server_options,
    }
    uvicorn.run(create_app(defn), host=args.host or defn.settings.http_host, port=args.port or defn.settings.http_port, **options)
