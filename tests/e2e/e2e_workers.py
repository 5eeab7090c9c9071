"""Helpers of the e2e tests that need the transcoder workers under control: pause the stack's workers
through their admin endpoint and start an EXTRA ``reelhouse-transcoder serve`` process with its own
settings (see tests/e2e/test_transcoder_crash.py for why: an unsupervised worker of its own).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from reelhouse.testing import free_port, wait_until


def stack_worker_ports(env: dict[str, str]) -> list[int]:
    """HTTP ports of the stack's transcoder workers (deploy/local/stack.py: port base + 3, + 13, ...)."""
    base = int(env.get("REELHOUSE_STACK_PORT_BASE", 8100))
    return [base + 3 + 10 * i for i in range(int(env.get("REELHOUSE_STACK_WORKERS", 2)))]


@contextlib.contextmanager
def stack_workers_paused(stack) -> Iterator[None]:  # noqa: ANN001
    """Pause the stack's transcoder workers (they finish a running job but take no new one)."""
    ports = stack_worker_ports(stack["env"])
    try:
        for port in ports:
            httpx.post(f"http://127.0.0.1:{port}/admin/consumer/pause", timeout=10).raise_for_status()
        for port in ports:  # a worker busy with an earlier job finishes it first
            wait_until(lambda p=port: not httpx.get(f"http://127.0.0.1:{p}/admin/consumer", timeout=5).json()["busy"], 120, 0.3, f"worker :{port} idle")
        yield
    finally:
        for port in ports:
            httpx.post(f"http://127.0.0.1:{port}/admin/consumer/resume", timeout=10)


@dataclass
class ExtraWorker:
    name: str
    port: int
    proc: subprocess.Popen
    log: Path

    def ffmpeg_pids(self) -> list[int]:
        """PIDs of this worker's ffmpeg HLS encodes (children whose command line has ``-f hls``)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, ValueError, IndexError):
                continue
            if ppid == self.proc.pid and cmd and cmd[0].endswith(b"ffmpeg") and b"hls" in cmd:
                pids.append(int(entry.name))
        return pids


@contextlib.contextmanager
def extra_worker(stack, media_dir: Path, name: str, **settings: str) -> Iterator[ExtraWorker]:  # noqa: ANN001
    """Start ``reelhouse-transcoder serve`` as the stack's supervisor does, with ``REELHOUSE_<KEY>``
    overrides from ``settings``; wait until ready; kill its process group on exit if still alive."""
    port = free_port()
    env = dict(stack["env"])
    env.setdefault("REELHOUSE_S3_ENDPOINT_URL", f"http://127.0.0.1:{env['REELHOUSE_STACK_S3_PORT']}")
    env.setdefault("REELHOUSE_EDGE_BASE_URL", stack["edge"])
    env.update({"PYTHONUNBUFFERED": "1", "REELHOUSE_HTTP_PORT": str(port), "REELHOUSE_WORKER_NAME": name})
    env.update({f"REELHOUSE_{k.upper()}": v for k, v in settings.items()})
    log = media_dir / f"{name}.log"
    binary = Path(sys.executable).parent / "reelhouse-transcoder"
    with log.open("w") as out:
        proc = subprocess.Popen([str(binary), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    worker = ExtraWorker(name, port, proc, log)
    try:
        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited: {log.read_text()[-3000:]}")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 60, 0.3, f"{name} ready")
        yield worker
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
