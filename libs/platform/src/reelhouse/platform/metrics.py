"""Prometheus metrics every service exports on ``/metrics`` (docs/observability.md).

Names follow the Prometheus conventions (https://prometheus.io/docs/practices/naming/ as summarised in
docs/observability.md): a ``reelhouse_`` prefix, the unit in the name (``_seconds``, ``_bytes``),
``_total`` for counters, and only bounded label values (the route *template*, never the path; a queue
*role*, never a name with an id in it).

- :class:`HttpMetricsMiddleware`: requests and their duration per service, method, route and status.
- :class:`MessagingMetrics`: a background sampler of the service's outbox backlog, the age of its
  oldest unsent event, the depth of its queues (main, retry, dead-letter) and its readiness.

Metrics are module-level objects of the default registry (defining them does no I/O); every sample
carries a ``service`` label so one process may host several services (the tests do).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import text

log = structlog.get_logger(__name__)

#: Request duration buckets (seconds): API calls of a few ms up to slow uploads' completion.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "reelhouse_http_requests_total",
    "HTTP requests answered, by service, method, route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "reelhouse_http_request_duration_seconds",
    "Time to answer an HTTP request (seconds), by service, method and route template.",
    ["service", "method", "route"],
    buckets=HTTP_BUCKETS,
)
OUTBOX_UNSENT = Gauge("reelhouse_outbox_unsent_events", "Events in the service's outbox not yet published.", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "reelhouse_outbox_oldest_unsent_age_seconds",
    "Age of the oldest unpublished outbox event (seconds; 0 when none is waiting).",
    ["service"],
)
QUEUE_MESSAGES = Gauge(
    "reelhouse_queue_messages",
    "Messages ready in the service's queues; queue is main, retry or dlq (the dead-letter queue).",
    ["service", "queue"],
)
SERVICE_READY = Gauge("reelhouse_service_ready", "1 when the service reaches its database and broker, else 0.", ["service"])

#: Paths left out of the HTTP metrics (probes and the scrape itself would drown the API's figures).
UNMEASURED_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})


class HttpMetricsMiddleware:
    """ASGI middleware counting and timing every HTTP request of ``service``.

    The ``route`` label is the matched route's template (``/api/videos/{video_id}``), ``unmatched`` for a
    404 outside every route; WebSocket connections are not HTTP requests and are left to the chat
    service's own gauges.
    """

    def __init__(self, app: Any, service: str) -> None:  # noqa: ANN401
        self.app = app
        self.service = service

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http" or scope.get("path", "").rstrip("/") in UNMEASURED_PATHS or scope.get("path", "").startswith("/metrics"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(self.service, method, template, str(status)).inc()
            HTTP_DURATION.labels(self.service, method, template).observe(time.perf_counter() - started)


_OUTBOX_SQL = text(
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox WHERE sent_at IS NULL"
)


class MessagingMetrics:
    """Sample the outbox, the queues and readiness of one service every ``interval_seconds``.

    Args:
        service: the ``service`` label.
        sessions: the service's session factory (``async_sessionmaker``).
        queue_depths: coroutine returning ``{"main": n, "retry": n, "dlq": n}`` (ready messages), or
            None for a service without queues.
        ready: coroutine returning True when the database and the broker answer.
        interval_seconds: time between samples (> 0).

    A failed sample (database or broker down) marks the service not ready and keeps the last figures.
    """

    def __init__(
        self,
        service: str,
        sessions,  # noqa: ANN001 - async_sessionmaker
        *,
        queue_depths: Callable[[], Awaitable[dict[str, int]]] | None,
        ready: Callable[[], Awaitable[bool]],
        interval_seconds: float = 15.0,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self.service = service
        self.sessions = sessions
        self.queue_depths = queue_depths
        self.ready = ready
        self.interval_seconds = interval_seconds
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask :meth:`run` to return."""
        self._stop.set()

    async def sample(self) -> None:
        """Take one sample of every figure (each failure is logged and counted as not ready)."""
        ok = True
        try:
            async with self.sessions() as session:
                unsent, oldest = (await session.execute(_OUTBOX_SQL)).one()
            OUTBOX_UNSENT.labels(self.service).set(int(unsent))
            OUTBOX_OLDEST_AGE.labels(self.service).set(float(oldest or 0.0))
        except Exception as exc:  # noqa: BLE001 - an outage is a figure, not a crash
            ok = False
            log.debug("metrics.outbox_sample_failed", error=str(exc)[:200])
        if self.queue_depths is not None:
            try:
                for role, depth in (await self.queue_depths()).items():
                    QUEUE_MESSAGES.labels(self.service, role).set(depth)
            except Exception as exc:  # noqa: BLE001
                ok = False
                log.debug("metrics.queue_sample_failed", error=str(exc)[:200])
        try:
            ok = ok and await self.ready()
        except Exception:  # noqa: BLE001
            ok = False
        SERVICE_READY.labels(self.service).set(1 if ok else 0)

    async def run(self) -> None:
        """Sample until stopped."""
        while not self._stop.is_set():
            await self.sample()
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval_seconds)
            except TimeoutError:
                pass
