"""Gallery entrypoint / composition root: ``reelhouse-gallery migrate|serve``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from reelhouse.gallery.adapters.webhooks import WebhookDispatcher
from reelhouse.gallery.handlers import HANDLERS, PUBLISHES
from reelhouse.gallery.http import dev, webhooks
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
    settings = gallery_settings(settings)
    routers = [router, webhooks.router]
    if settings.dev_token_endpoint:
        routers.append(dev.router)
    return ServiceDefinition(
        name="gallery",
        settings=settings,
        migrations_dir=MIGRATIONS,
        routers=routers,
        handlers=HANDLERS,
        publishes=PUBLISHES,
        on_startup=[start_webhook_dispatcher, start_sweeper],
        on_shutdown=[stop_sweeper, stop_webhook_dispatcher],
    )


def gallery_settings(settings: PlatformSettings | None) -> GallerySettings:
    """``settings`` as :class:`GallerySettings` (a plain PlatformSettings keeps its values and gets the
    gallery's defaults and whatever the environment sets)."""
    if settings is None:
        return GallerySettings()
    if isinstance(settings, GallerySettings):
        return settings
    return GallerySettings(**settings.model_dump(exclude={"service_name", "http_port"}, exclude_unset=True))


async def start_webhook_dispatcher(app: FastAPI) -> None:
    """Start this process's webhook dispatcher (docs/webhooks.md) as a background task."""
    settings: GallerySettings = app.state.settings
    dispatcher = WebhookDispatcher(
        app.state.db.sessions,
        allow_private=settings.webhooks_may_reach_private(),
        retry_schedule=settings.webhook_retry_schedule_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
        poll_seconds=settings.webhook_poll_seconds,
    )
    app.state.webhook_dispatcher = dispatcher
    app.state.webhook_dispatcher_task = asyncio.create_task(dispatcher.run(), name="gallery-webhook-dispatcher")


async def stop_webhook_dispatcher(app: FastAPI) -> None:
    """Stop the dispatcher (the round in flight finishes; leases of unsent claims expire and another
    replica takes them)."""
    dispatcher = getattr(app.state, "webhook_dispatcher", None)
    task = getattr(app.state, "webhook_dispatcher_task", None)
    if dispatcher is None or task is None:
        return
    dispatcher.stop()
    try:
        await asyncio.wait_for(task, 15)
    except (TimeoutError, asyncio.CancelledError):
        task.cancel()


def build_app(settings: PlatformSettings | None = None) -> FastAPI:
    """The gallery's ASGI app."""
    return create_app(build_service(settings))


def cli() -> None:
    """Console script entry."""
    run_cli(build_service)
