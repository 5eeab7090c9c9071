"""Chat entrypoint / composition root: ``reelhouse-chat migrate|serve`` (port 8105 by default)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reelhouse.chat import runtime
from reelhouse.chat.handlers import HANDLERS, PUBLISHES
from reelhouse.chat.http.routes import router as rest_router
from reelhouse.chat.http.ws import router as ws_router
from reelhouse.chat.settings import ChatSettings
from reelhouse.platform.runtime import ServiceDefinition, create_app, run_cli
from reelhouse.platform.settings import PlatformSettings

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


def chat_settings(settings: PlatformSettings | None) -> ChatSettings:
    """``settings`` as ChatSettings (the chat limits at their defaults / from the env when a plain
    PlatformSettings is passed, as the test fixtures do)."""
    if settings is None:
        return ChatSettings()
    if isinstance(settings, ChatSettings):
        return settings
    return ChatSettings(**settings.model_dump(exclude_unset=True, exclude={"service_name", "http_port"}))


def build_service(settings: PlatformSettings | None = None) -> ServiceDefinition:
    """The chat service's definition with ``settings`` or from the env."""
    cs = chat_settings(settings)
    return ServiceDefinition(
        name="chat",
        settings=cs,
        migrations_dir=MIGRATIONS,
        routers=[rest_router, ws_router],
        handlers=HANDLERS,
        publishes=PUBLISHES,
        on_startup=[runtime.start],
        on_shutdown=[runtime.stop],
        # chat frames are small: permessage-deflate would double the memory of every connection and
        # compress each broadcast once per client; frames beyond 64 KiB are refused by the protocol
        # (1009) before the app reads them (the app answers FRAME_TOO_LARGE above chat_max_frame_bytes)
        server_options={"ws_per_message_deflate": False, "ws_max_size": max(65536, cs.chat_max_frame_bytes * 2)},
    )


def build_app(settings: PlatformSettings | None = None) -> FastAPI:
    """The chat service's ASGI app."""
    return create_app(build_service(settings))


def cli() -> None:
    """Console script entry."""
    run_cli(build_service)
