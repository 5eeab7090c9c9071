"""Gallery entrypoint / composition root: ``reelhouse-gallery migrate|serve``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reelhouse.gallery.handlers import HANDLERS, PUBLISHES
from reelhouse.gallery.http.routes import router
from reelhouse.gallery.settings import GallerySettings
from reelhouse.platform.runtime import ServiceDefinition, create_app, run_cli
from reelhouse.platform.settings import PlatformSettings

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


def build_service(settings: PlatformSettings | None = None) -> ServiceDefinition:
    """The gallery's definition (routes, handlers, migrations) with ``settings`` or from the env."""
    return ServiceDefinition(
        name="gallery",
        settings=settings or GallerySettings(),
        migrations_dir=MIGRATIONS,
        routers=[router],
        handlers=HANDLERS,
        publishes=PUBLISHES,
    )


def build_app(settings: PlatformSettings | None = None) -> FastAPI:
    """The gallery's ASGI app."""
    return create_app(build_service(settings))


def cli() -> None:
    """Console script entry."""
    run_cli(build_service)
