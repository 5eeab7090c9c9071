"""The local stack's supervisor (deploy/local/supervisor.py) restarts a process that dies, as Kubernetes
would, instead of stopping everything (issue 10): a SIGKILLed HTTP server comes back under a new pid and
serves again, the exit and the restart are logged, and a process that keeps crashing is restarted with
a doubling delay. Real processes (Python's http.server), no stack."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
from pathlib import Path

import httpx
import pytest

from reelhouse.testing import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from supervisor import Program, Supervisor, read_pids  # noqa: E402

pytestmark = pytest.mark.unit


def _serves(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_killed_process_is_restarted_and_serves_again(tmp_path):
    port = free_port()
    out = io.StringIO()  # the supervisor serialises its writes
    pids = tmp_path / "pids.json"
    sup = Supervisor(
        [Program("web", [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]),
         Program("idle", [sys.executable, "-c", "import time; time.sleep(600)"])],
        out=out, pid_file=pids, backoff_base=0.2, stop_grace=5,
    )
    runner = threading.Thread(target=sup.run)
    runner.start()
    try:
        wait_until(lambda: _serves(port), 15, 0.1, "web serving")
        first = read_pids(pids)
        os.kill(first["web"], signal.SIGKILL)
        wait_until(lambda: (p := read_pids(pids).get("web")) and p != first["web"], 15, 0.1, "web restarted")
        wait_until(lambda: _serves(port), 15, 0.1, "web serving again")
        assert read_pids(pids)["idle"] == first["idle"]  # the others were left alone
        log = out.getvalue()
        assert "stack: web exited (rc=-9" in log and "restart 1 in 0.2 s" in log
        assert f"stack: web restarted (pid {read_pids(pids)['web']}, restart 1)" in log
    finally:
        sup.stop()
        runner.join(30)
    assert not pids.exists()
    assert "stack: idle stopped" in out.getvalue()


def test_a_crash_loop_backs_off_exponentially(tmp_path):
    out = io.StringIO()  # the supervisor serialises its writes
    sup = Supervisor([Program("crashy", [sys.executable, "-c", "raise SystemExit(3)"])], out=out, backoff_base=0.1, backoff_max=0.4)
    runner = threading.Thread(target=sup.run)
    runner.start()
    try:
        wait_until(lambda: out.getvalue().count("stack: crashy exited (rc=3") >= 4, 30, 0.1, "four crashes")
    finally:
        sup.stop()
        runner.join(30)
    plan = [line.rsplit("; ", 1)[1] for line in out.getvalue().splitlines() if "crashy exited" in line][:4]
    assert plan == ["restart 1 in 0.1 s", "restart 2 in 0.2 s", "restart 3 in 0.4 s", "restart 4 in 0.4 s"]
