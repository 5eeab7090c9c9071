"""The local stack's life as a user sees it through make (issue 11, items 1 and 3): ``start`` (what
``make demo`` runs) leaves the stack running and prints the URLs and how to stop it; a second
``start`` reuses it; ``down`` stops it and says so, keeping the data; ``clean`` wipes it and says so.

The stack here runs beside the session's e2e stack, on the same slot's spare ports (edge ``<slot>8090``,
S3 ``<slot>9010``, services ``<slot>8201..``) with its own names (``life<slot>``), one transcoder worker
and one chat replica; it is driven through ``deploy/local/stack.py`` exactly like the Makefile does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reelhouse.platform.settings import PlatformSettings
from reelhouse.platform.storage import s3_client
from reelhouse.testing import skip_without_tools

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STACK_PY = ROOT / "deploy" / "local" / "stack.py"
SLOT = int(os.environ.get("REELHOUSE_E2E_SLOT", "0") or 0) or 1
NAME = f"life{SLOT}"
EDGE = f"http://127.0.0.1:{SLOT}8090"
S3 = f"http://127.0.0.1:{SLOT}9010"
ENV = {
    **os.environ,
    "REELHOUSE_STACK_EDGE_PORT": f"{SLOT}8090",
    "REELHOUSE_STACK_S3_PORT": f"{SLOT}9010",
    "REELHOUSE_STACK_PORT_BASE": f"{SLOT}8200",
    "REELHOUSE_STACK_RTMP_PORT": f"{SLOT}1945",
    "REELHOUSE_STACK_RUN_DIR": str(ROOT / ".run" / NAME),
    "REELHOUSE_STACK_WORKERS": "1",
    "REELHOUSE_STACK_CHAT_REPLICAS": "1",
    "REELHOUSE_DATABASE_PREFIX": f"reelhouse_{NAME}_",
    "REELHOUSE_QUEUE_PREFIX": f"reelhouse.{NAME}.",
    "REELHOUSE_EVENTS_EXCHANGE": f"reelhouse.{NAME}.events",
    "REELHOUSE_UPLOADS_BUCKET": f"{NAME}-uploads",
    "REELHOUSE_MEDIA_BUCKET": f"{NAME}-media",
    "REELHOUSE_S3_ENDPOINT_URL": S3,
    "REELHOUSE_EDGE_BASE_URL": EDGE,
}
RUN_DIR = Path(ENV["REELHOUSE_STACK_RUN_DIR"])


def stack(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python deploy/local/stack.py <args>`` with this test's environment; stdout+stderr as text."""
    return subprocess.run([sys.executable, str(STACK_PY), *args], env=ENV, capture_output=True, text=True, timeout=timeout)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def process_alive(pid: str) -> bool:
    """True while the process runs (a zombie nobody reaped yet counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.fixture
def lifecycle_stack():
    """Nothing left from an earlier run before; the stack stopped and wiped after, whatever happened."""
    skip_without_tools("nginx", "ffmpeg", "ffprobe")
    stack("clean")
    yield
    stack("clean")


def test_start_reuses_down_stops_and_clean_wipes(lifecycle_stack):
    first = stack("start")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"web {EDGE}/" in first.stdout and f"API {EDGE}/api/" in first.stdout and "'make down'" in first.stdout
    pid = (RUN_DIR / "stack.pid").read_text().strip()
    assert answers(f"{EDGE}/healthz")
    # `start` returns once every process answers; the supervisor writes its one ready line on its own
    # schedule (it checks every process too), so allow it a moment
    deadline = time.monotonic() + 60
    while "stack: ready:" not in (RUN_DIR / "stack.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert (RUN_DIR / "stack.log").read_text().count("stack: ready:") == 1

    # the object store keeps its data in the run folder (a restart of the same store is checked in
    # libs/platform/tests/test_storage.py)
    s3 = s3_client(PlatformSettings(s3_endpoint_url=S3))
    s3.put_object(Bucket=f"{NAME}-media", Key="videos/kept/master.m3u8", Body=b"#EXTM3U\n")
    assert any((RUN_DIR / "s3").rglob("*.dat"))

    again = stack("start", timeout=60)
    assert again.returncode == 0
    assert f"already running (pid {pid}), reused" in again.stdout
    assert (RUN_DIR / "stack.pid").read_text().strip() == pid

    down = stack("down", timeout=90)
    assert f"stack: stopped (pid {pid})" in down.stdout and "data kept" in down.stdout
    assert not answers(f"{EDGE}/healthz")
    assert not process_alive(pid)
    assert "stack: not running" in stack("down").stdout
    assert any((RUN_DIR / "s3").rglob("*.dat")), "the stopped stack keeps its objects"

    wiped = stack("clean", timeout=90)
    assert f"removed {RUN_DIR}" in wiped.stdout and "dropped databases" in wiped.stdout
    assert not RUN_DIR.exists()
