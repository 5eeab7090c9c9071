"""structlog configuration: key-value logs for humans locally, JSON lines in production."""

from __future__ import annotations

import logging
import re
import sys
import uuid

import structlog


def add_trace_id(_logger: object, _method: str, event: dict) -> dict:
    """structlog processor: the current span's ``trace_id`` (32 hex digits) on every line logged inside
    a traced request or event handling (docs/observability.md)."""
    if "trace_id" not in event:
        from reelhouse.platform.tracing import current_trace_id

        trace_id = current_trace_id()
        if trace_id is not None:
            event["trace_id"] = trace_id
    return event


def configure_logging(service: str, level: str = "INFO", json: bool = False) -> None:
    """Configure structlog and the stdlib root logger once per process; binds ``service`` to every line."""
    lvl = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=lvl, format="%(name)s %(levelname)s %(message)s")
    for noisy in ("aiormq", "aio_pika", "botocore", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class RequestIdMiddleware:
    """ASGI middleware: every log line of an HTTP request carries ``request_id``, the edge's
    ``X-Request-Id`` (kept when well formed, as the edge does: docs/observability.md) or a new 32-hex id;
    the response echoes it in ``X-Request-Id``."""

    def __init__(self, app: object) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # type: ignore[operator]
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"), "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)  # type: ignore[operator]
