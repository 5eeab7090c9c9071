"""e2e fixtures: the whole local stack (deploy/local/stack.py) started once per session as an
:class:`IsolatedStack` with its own ports, databases, queues and buckets, driven through the edge like a
client app.

Slot 1 by default (edge 18080, S3 19000, services 18101.., RTMP 11935; databases ``reelhouse_e2e_*``,
queues ``reelhouse.e2e.*``). ``REELHOUSE_E2E_SLOT=N`` moves a run to slot N (names ``e2eN``) so two e2e
sessions on one machine never reset each other. A developer stack on the default ports is not touched.
``REELHOUSE_E2E_NAME`` renames the stack (databases, queues, buckets, run dir) and
``REELHOUSE_E2E_PORTS=<edge>,<s3>,<port base>,<rtmp>`` moves it off its slot's ports (a helper sharing a
slot with someone else: S3 uses the s3 port .. +7, the services the port base +1 .. +16).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from reelhouse.client import ReelhouseClient
from reelhouse.platform.auth import issue_token
from reelhouse.platform.settings import PlatformSettings
from reelhouse.testing import footage_dir, skip_without_tools

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # e2e_workers (helpers shared by test modules)

from stack import IsolatedStack  # noqa: E402

MEDIA = footage_dir()
SERVICES = IsolatedStack.SERVICES

_SLOT = int(os.environ.get("REELHOUSE_E2E_SLOT", "0") or 0)


def _port_overrides() -> dict[str, str]:
    raw = os.environ.get("REELHOUSE_E2E_PORTS")
    if not raw:
        return {}
    edge, s3, base, rtmp = (int(p) for p in raw.split(","))
    return {
        "REELHOUSE_STACK_EDGE_PORT": str(edge),
        "REELHOUSE_STACK_S3_PORT": str(s3),
        "REELHOUSE_STACK_PORT_BASE": str(base),
        "REELHOUSE_STACK_RTMP_PORT": str(rtmp),
        "REELHOUSE_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3}",
        "REELHOUSE_EDGE_BASE_URL": f"http://127.0.0.1:{edge}",
    }


STACK = IsolatedStack(
    os.environ.get("REELHOUSE_E2E_NAME") or (f"e2e{_SLOT}" if _SLOT else "e2e"),
    _SLOT or 1,
    {
        "REELHOUSE_STACK_WORKERS": "2",
        "REELHOUSE_RETRY_BACKOFF_SECONDS": "0.5",
        "REELHOUSE_MAX_DELIVERY_ATTEMPTS": "3",
        "REELHOUSE_PRESET": "ultrafast",
        # A short stall timeout: every pass longer than this must be judged by what it produces
        # (tests/e2e/test_long_video.py), and a hung ffmpeg is still caught quickly.
        "REELHOUSE_STALL_TIMEOUT_SECONDS": "8",
        # live (tests/e2e/test_live.py): short reconnect window and recording grace
        "REELHOUSE_LIVE_RECONNECT_WINDOW_SECONDS": "3",
        "REELHOUSE_LIVE_RECORDING_GRACE_SECONDS": "3",
        **_port_overrides(),
    },
)
E2E_ENV = STACK.env_overrides
"""The settings every process of the e2e stack gets (ports, names, tuned timings)."""


@pytest.fixture(scope="session")
def e2e_settings() -> PlatformSettings:
    """Settings naming the e2e stack's databases, queues, buckets and edge."""
    return STACK.settings()


@pytest.fixture(scope="session")
def stack(e2e_settings: PlatformSettings):
    """The running local stack (started here, stopped at the end of the session); skipped with the
    reason when nginx or ffmpeg is not installed."""
    skip_without_tools("nginx", "ffmpeg", "ffprobe")
    try:
        STACK.start(timeout=180)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield {"proc": STACK.proc, "env": STACK.env, "log": STACK.log_path, "edge": STACK.edge_url}
    STACK.stop()


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
    """Scratch directory for clips derived from the bundled footage with ffmpeg."""
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
