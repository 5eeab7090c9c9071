"""Upload entrypoint / composition root: ``reelhouse-upload migrate|serve``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reelhouse.platform.runtime import ServiceDefinition, create_app, run_cli
from reelhouse.platform.settings import PlatformSettings
from reelhouse.platform.storage import ensure_buckets_on_startup
from reelhouse.upload.handlers import HANDLERS, PUBLISHES
from reelhouse.upload.http.routes import router
from reelhouse.upload.settings import UploadSettings
from reelhouse.upload.sweeper import start_sweeper, stop_sweeper

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


def build_service(settings: PlatformSettings | None = None) -> ServiceDefinition:
    """The upload's definition (routes, handlers, migrations) with ``settings`` or from the env."""
    return ServiceDefinition(
        name="upload",
        settings=settings if isinstance(settings, UploadSettings) else UploadSettings(**(settings.model_dump() if settings else {})),
        migrations_dir=MIGRATIONS,
        routers=[router],
        handlers=HANDLERS,
        publishes=PUBLISHES,
        on_startup=[ensure_buckets_on_startup, start_sweeper],
        on_shutdown=[stop_sweeper],
    )


def build_app(settings: PlatformSettings | None = None) -> FastAPI:
    """The upload's ASGI app."""
    return create_app(build_service(settings))


def cli() -> None:
    """Console script entry."""
    run_cli(build_service)
