"""e2e fixtures: the whole local stack (deploy/local/stack.py) started once per session on its own
ports, databases, queues and buckets, driven through the edge like a client app.

Ports: edge 18080, S3 19000, services 18101..; databases ``reelhouse_e2e_*``; queues ``reelhouse.e2e.*``;
exchange ``reelhouse.e2e.events``. A running developer stack on the default ports is not touched.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aio_pika
import psycopg
import pytest

from reelhouse.client import ReelhouseClient
from reelhouse.platform.auth import issue_token
from reelhouse.platform.settings import PlatformSettings
from reelhouse.platform.testing import shared_media_dir

ROOT = Path(__file__).resolve().parents[2]
MEDIA = shared_media_dir()
SERVICES = ("gallery", "upload", "transcoder", "streaming", "chat")

E2E_ENV = {
    "REELHOUSE_STACK_EDGE_PORT": "18080",
    "REELHOUSE_STACK_S3_PORT": "19000",
    "REELHOUSE_STACK_PORT_BASE": "18100",
    "REELHOUSE_STACK_WORKERS": "2",
    "REELHOUSE_STACK_RUN_DIR": str(ROOT / ".run" / "e2e"),
    "REELHOUSE_DATABASE_PREFIX": "reelhouse_e2e_",
    "REELHOUSE_QUEUE_PREFIX": "reelhouse.e2e.",
    "REELHOUSE_EVENTS_EXCHANGE": "reelhouse.e2e.events",
    "REELHOUSE_UPLOADS_BUCKET": "e2e-uploads",
    "REELHOUSE_MEDIA_BUCKET": "e2e-media",
    "REELHOUSE_RETRY_BACKOFF_SECONDS": "0.5",
    "REELHOUSE_MAX_DELIVERY_ATTEMPTS": "3",
    "REELHOUSE_PRESET": "ultrafast",
}


def _settings() -> PlatformSettings:
    return PlatformSettings(
        database_prefix=E2E_ENV["REELHOUSE_DATABASE_PREFIX"],
        queue_prefix=E2E_ENV["REELHOUSE_QUEUE_PREFIX"],
        events_exchange=E2E_ENV["REELHOUSE_EVENTS_EXCHANGE"],
        s3_endpoint_url=f"http://127.0.0.1:{E2E_ENV['REELHOUSE_STACK_S3_PORT']}",
        uploads_bucket=E2E_ENV["REELHOUSE_UPLOADS_BUCKET"],
        media_bucket=E2E_ENV["REELHOUSE_MEDIA_BUCKET"],
        edge_base_url=f"http://127.0.0.1:{E2E_ENV['REELHOUSE_STACK_EDGE_PORT']}",
    )


def _reset(settings: PlatformSettings) -> None:
    """Drop the e2e databases and queues left by an earlier run."""
    from reelhouse.platform.db import drop_database

    for svc in SERVICES:
        drop_database(settings.database_url_for(svc))

    async def _queues() -> None:
        conn = await aio_pika.connect(settings.amqp_url)
        async with conn:
            for svc in SERVICES:
                for suffix in ("", ".retry", ".dlq"):
                    ch = await conn.channel()
                    await ch.queue_delete(f"{settings.queue_prefix}{svc}{suffix}")

    asyncio.run(_queues())


@pytest.fixture(scope="session")
def e2e_settings() -> PlatformSettings:
    """Settings naming the e2e stack's databases, queues, buckets and edge."""
    return _settings()


@pytest.fixture(scope="session")
def stack(e2e_settings: PlatformSettings):
    """The running local stack (started here, stopped at the end of the session)."""
    _reset(e2e_settings)
    env = {**os.environ, **E2E_ENV}
    run_dir = Path(E2E_ENV["REELHOUSE_STACK_RUN_DIR"])
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "stack.log"
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "deploy/local/stack.py"), "up"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    ready = subprocess.run([sys.executable, str(ROOT / "deploy/local/stack.py"), "wait", "--timeout", "180"], env=env)
    if ready.returncode != 0:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"the local stack did not start; log tail:\n{log_path.read_text()[-4000:]}")
    yield {"proc": proc, "env": env, "log": log_path, "edge": e2e_settings.edge_base_url}
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def make_client(stack, e2e_settings):
    """Factory: a :class:`ReelhouseClient` through the edge for a user id."""
    clients = []

    def _make(user_id: str) -> ReelhouseClient:
        c = ReelhouseClient(stack["edge"], issue_token(user_id, e2e_settings.jwt_secret))
        clients.append(c)
        return c

    yield _make
    for c in clients:
        c.close()


@pytest.fixture(scope="session")
def db_query(e2e_settings):
    """Run a SQL query against one service's database: ``db_query("gallery", sql, params)`` -> rows."""

    def _q(service: str, sql: str, params: tuple = ()) -> list[tuple]:
        url = e2e_settings.database_url_for(service)
        from reelhouse.platform.db import _libpq_conninfo

        with psycopg.connect(_libpq_conninfo(url)) as conn:
            return conn.execute(sql, params).fetchall()

    return _q


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """Scratch directory for clips derived from the shared footage with ffmpeg."""
    return tmp_path_factory.mktemp("media")


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; raises CalledProcessError with its stderr on failure."""
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="session")
def big_clip(media_dir: Path) -> Path:
    """A real clip of at least 12 MB: bigbuckbunny looped 3 times (~16 s of 1280x720) at a high bitrate."""
    out = media_dir / "bbb-looped.mp4"
    ffmpeg("-stream_loop", "2", "-i", str(MEDIA / "bigbuckbunny.mp4"), "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "7M", "-maxrate", "7M", "-bufsize", "14M", "-c:a", "aac", "-b:a", "128k", str(out))
    assert out.stat().st_size >= 12 * 1024 * 1024, out.stat().st_size
    return out
