"""Gallery entrypoint / composition root: ``reelhouse-gallery migrate|serve``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reelhouse.gallery.handlers import HANDLERS, PUBLISHES
from reelhouse.gallery.http import dev
from reelhouse.gallery.http.routes import router
from reelhouse.gallery.settings import GallerySettings
from reelhouse.gallery.sweeper import start_sweeper, stop_sweeper
from reelhouse.platform.runtime import ServiceDefinition, create_app, run_cli
from reelhouse.platform.settings import PlatformSettings

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


def build_service(settings: PlatformSettings | None = None) -> ServiceDefinition:
    """The gallery's definition (routes, handlers, migrations) with ``settings`` or from the env.

    The dev sign-in route (reelhouse.gallery.http.dev) is mounted only when the settings'
    ``dev_token_endpoint`` is true."""
    if not isinstance(settings, GallerySettings):
        settings = GallerySettings(**(settings.model_dump(exclude={"service_name", "http_port"}) if settings else {}))
    routers = [router, dev.router] if getattr(settings, "dev_token_endpoint", False) else [router]
    return ServiceDefinition(
        name="gallery",
        settings=settings,
        migrations_dir=MIGRATIONS,
        routers=routers,
        handlers=HANDLERS,
        publishes=PUBLISHES,
        on_startup=[start_sweeper],
        on_shutdown=[stop_sweeper],
    )


def build_app(settings: PlatformSettings | None = None) -> FastAPI:
    """The gallery's ASGI app."""
    return create_app(build_service(settings))


def cli() -> None:
    """Console script entry."""
    run_cli(build_service)
