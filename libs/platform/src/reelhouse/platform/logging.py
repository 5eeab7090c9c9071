"""structlog configuration: key-value logs for humans locally, JSON lines in production."""

from __future__ import annotations

import logging
import sys

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
