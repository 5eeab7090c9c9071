"""Streaming entrypoint / composition root: ``reelhouse-streaming migrate|serve`` (port 8104 by default)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reelhouse.platform.runtime import ServiceDefinition, create_app, run_cli
from reelhouse.platform.settings import PlatformSettings
from reelhouse.streaming.adapters.metrics import start_live_metrics, stop_live_metrics
from reelhouse.streaming.handlers import HANDLERS, PUBLISHES
from reelhouse.streaming.handlers.live import start_supervisor, stop_supervisor
from reelhouse.streaming.http.ingest import router as ingest_router
from reelhouse.streaming.http.routes import router
from reelhouse.streaming.http.streams import router as streams_router
from reelhouse.streaming.settings import streaming_settings

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


def build_service(settings: PlatformSettings | None = None) -> ServiceDefinition:
    """The streaming service's definition (routes, handlers, migrations) with ``settings`` or from the env."""
    return ServiceDefinition(
        name="streaming",
        settings=streaming_settings(settings),
        migrations_dir=MIGRATIONS,
        routers=[router, streams_router, ingest_router],
        handlers=HANDLERS,
        publishes=PUBLISHES,
        on_startup=[start_supervisor, start_live_metrics],
        on_shutdown=[stop_supervisor, stop_live_metrics],
    )


def build_app(settings: PlatformSettings | None = None) -> FastAPI:
    """The streaming service's ASGI app."""
    return create_app(build_service(settings))


def cli() -> None:
    """Console script entry."""
    run_cli(build_service)
