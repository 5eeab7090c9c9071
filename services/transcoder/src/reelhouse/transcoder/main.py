"""Transcoder entrypoint / composition root: ``reelhouse-transcoder migrate|serve``.

``serve`` runs one competing-consumer worker (prefetch 1) with its outbox relay and a health/metrics
HTTP port; run several processes (or replicas) for more throughput.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reelhouse.platform.runtime import ServiceDefinition, create_app, run_cli
from reelhouse.platform.settings import PlatformSettings
from reelhouse.platform.storage import ensure_buckets_on_startup
from reelhouse.transcoder.adapters.storage import MediaStore
from reelhouse.transcoder.handlers import HANDLERS, PUBLISHES
from reelhouse.transcoder.settings import TranscoderSettings

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


async def _start_storage(app: FastAPI) -> None:
    """Create buckets if missing (retrying while the S3 server starts) and the media store."""
    await ensure_buckets_on_startup(app)
    app.state.media_store = MediaStore(app.state.settings)


def build_service(settings: PlatformSettings | None = None) -> ServiceDefinition:
    """The transcoder's definition: handlers, prefetch 1, storage start-up hook."""
    s = settings if isinstance(settings, TranscoderSettings) else TranscoderSettings(**(settings.model_dump() if settings else {}))
    return ServiceDefinition(
        name="transcoder",
        settings=s,
        migrations_dir=MIGRATIONS,
        handlers=HANDLERS,
        publishes=PUBLISHES,
        prefetch=1,
        on_startup=[_start_storage],
    )


def build_app(settings: PlatformSettings | None = None) -> FastAPI:
    """The transcoder's ASGI app (health, readiness, metrics only)."""
    return create_app(build_service(settings))


def cli() -> None:
    """Console script entry."""
    run_cli(build_service)
