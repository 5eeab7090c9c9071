"""Transcoder entrypoint / composition root: ``reelhouse-transcoder migrate|serve``.

``serve`` runs one competing-consumer worker (prefetch 1, one job at a time, acked early under a job
lease: see :mod:`reelhouse.transcoder.worker`) with its outbox relay, its orphan reaper and a
health/metrics/admin HTTP port; run several processes (or replicas) for more throughput. SIGTERM stops
consuming at once and gives the running job ``shutdown_grace_seconds`` before handing it back.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reelhouse.platform.runtime import ServiceDefinition, create_app, run_cli
from reelhouse.platform.settings import PlatformSettings
from reelhouse.platform.storage import ensure_buckets_on_startup
from reelhouse.transcoder.adapters.storage import MediaStore
from reelhouse.transcoder.handlers import HANDLERS, PUBLISHES, worker_name
from reelhouse.transcoder.settings import TranscoderSettings
from reelhouse.transcoder.worker import JobControl, admin_router

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


async def _start_storage(app: FastAPI) -> None:
    """Create buckets if missing (retrying while the S3 server starts) and the media store."""
    await ensure_buckets_on_startup(app)
    app.state.media_store = MediaStore(app.state.settings)
    jobs = JobControl(app, app.state.settings, worker_name(app.state.settings))
    app.state.jobs = jobs
    jobs.start_reaper()


async def _graceful_stop(app: FastAPI) -> None:
    """Lifespan shutdown (SIGTERM): stop consuming, finish or hand back the running job."""
    jobs: JobControl | None = getattr(app.state, "jobs", None)
    if jobs is not None:
        await jobs.shutdown()


def build_service(settings: PlatformSettings | None = None) -> ServiceDefinition:
    """The transcoder's definition: handlers, prefetch 1, storage + job control start-up, graceful stop."""
    s = settings if isinstance(settings, TranscoderSettings) else TranscoderSettings(**(settings.model_dump() if settings else {}))
    return ServiceDefinition(
        name="transcoder",
        settings=s,
        migrations_dir=MIGRATIONS,
        handlers=HANDLERS,
        publishes=PUBLISHES,
        prefetch=1,
        on_startup=[_start_storage],
        on_shutdown=[_graceful_stop],
        routers=[admin_router()],
    )


def build_app(settings: PlatformSettings | None = None) -> FastAPI:
    """The transcoder's ASGI app (health, readiness, metrics only)."""
    return create_app(build_service(settings))


def cli() -> None:
    """Console script entry."""
    run_cli(build_service)
