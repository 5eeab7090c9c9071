"""Chat entrypoint / composition root: ``reelhouse-chat migrate|serve`` (port 8105 by default)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reelhouse.chat.handlers import HANDLERS, PUBLISHES
from reelhouse.chat.settings import ChatSettings
from reelhouse.platform.runtime import ServiceDefinition, create_app, run_cli
from reelhouse.platform.settings import PlatformSettings

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


def build_service(settings: PlatformSettings | None = None) -> ServiceDefinition:
    """The chat service's definition (migrations only, no routes or handlers yet) with ``settings`` or
    from the env."""
    return ServiceDefinition(
        name="chat",
        settings=settings or ChatSettings(),
        migrations_dir=MIGRATIONS,
        routers=[],
        handlers=HANDLERS,
        publishes=PUBLISHES,
    )


def build_app(settings: PlatformSettings | None = None) -> FastAPI:
    """The chat service's ASGI app."""
    return create_app(build_service(settings))


def cli() -> None:
    """Console script entry."""
    run_cli(build_service)
