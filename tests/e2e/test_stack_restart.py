"""The local stack restarts a crashed process on its own, as Kubernetes would (issue 10; the supervisor
of deploy/local/supervisor.py): a SIGKILLed gallery process of the e2e stack comes back under a new pid,
the crash and the restart are in the stack's log, and the API answers through the edge again. The rest
of the stack keeps running (honcho used to stop everything when one process died)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from reelhouse.testing import wait_until

from .conftest import STACK

pytestmark = pytest.mark.e2e


def _pids() -> dict[str, int]:
    from supervisor import read_pids

    return read_pids(STACK.run_dir / "pids.json")


def _lists_videos(client) -> bool:  # noqa: ANN001
    try:
        return isinstance(client.request("GET", "/api/videos")["items"], list)
    except Exception:  # noqa: BLE001 - 502 from the edge while the gallery restarts
        return False


def test_a_killed_service_process_is_restarted_and_serves(stack, make_client):
    client = make_client("restart-user")
    assert _lists_videos(client)
    before = _pids()
    os.kill(before["gallery"], signal.SIGKILL)
    after = wait_until(lambda: (p := _pids()).get("gallery") not in (None, before["gallery"]) and p, 30, 0.2, "gallery restarted")
    wait_until(lambda: _lists_videos(client), 60, 0.5, "the API answering again through the edge")
    assert httpx.get(f"http://127.0.0.1:{int(STACK.env_overrides['REELHOUSE_STACK_PORT_BASE']) + 1}/readyz", timeout=5).status_code == 200
    log = Path(stack["log"]).read_text(errors="replace")
    assert "stack: gallery exited (rc=-9" in log and f"stack: gallery restarted (pid {after['gallery']}" in log
    assert {k: v for k, v in after.items() if k != "gallery"} == {k: v for k, v in before.items() if k != "gallery"}
