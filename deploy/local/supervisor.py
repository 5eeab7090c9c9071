"""The local stack's process supervisor: runs every process of the stack, prefixes its output with its
name, and restarts a process that exits on its own, with exponential backoff, as Kubernetes restarts a
crashed container (``restartPolicy: Always``, CrashLoopBackOff) instead of stopping the whole stack.

- Each process runs in its own session (process group). When it exits, whatever it left behind in its
  group (an ffmpeg of a killed transcoder worker, nginx workers of a killed master) is killed too, as
  the container runtime does, before the restart.
- Restart delay: ``backoff_base`` seconds doubling per crash in a row (1, 2, 4, ... capped at
  ``backoff_max``, 30 s); a process that stayed up ``stable_seconds`` (30 s) starts again from the base.
- Every exit and restart is logged on the supervisor's output: ``stack: gallery exited (rc=-9 after
  12.3 s); restart 1 in 1 s`` then ``stack: gallery restarted (pid 1234, restart 1)``.
- ``pid_file`` (JSON ``{"gallery": 1234, ...}``) always holds the current pid of every process, so
  drills and operators can find (and kill) a service process.
- :meth:`Supervisor.stop` (SIGINT/SIGTERM to the supervisor): SIGTERM to every process group, SIGKILL to
  what is left after ``stop_grace`` seconds; nothing is restarted any more.

Used by ``deploy/local/stack.py up`` (docs/reliability.md, "The local stack restarts what crashes").
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


@dataclass
class Program:
    """One supervised process: ``argv`` run in ``cwd`` with ``env`` (None: the supervisor's env)."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    crash_streak: int = 0
    restart_at: float | None = None
    reader: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    """Runs ``programs`` until :meth:`stop`; restarts each one that exits (see the module docstring).

    ``out`` receives every output line, prefixed ``HH:MM:SS <name> | ``, and the supervisor's own
    ``stack: ...`` lines. Thread-safe writes; :meth:`run` blocks until stopped and returns 0."""

    def __init__(
        self,
        programs: Sequence[Program],
        *,
        cwd: Path | None = None,
        out: IO[str] | None = None,
        pid_file: Path | None = None,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        stable_seconds: float = 30.0,
        stop_grace: float = 30.0,
    ) -> None:
        self.programs = {p.name: p for p in programs}
        self.cwd = cwd
        self.out = out or sys.stdout
        self.pid_file = pid_file
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.stable_seconds = stable_seconds
        self.stop_grace = stop_grace
        self.width = max((len(n) for n in self.programs), default=6)
        self._write_lock = threading.Lock()
        self._stopping = threading.Event()

    # --- output -------------------------------------------------------------------------------------

    def _emit(self, name: str, line: str) -> None:
        with self._write_lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} {name:<{self.width}} | {line}\n")
            self.out.flush()

    def log(self, message: str) -> None:
        """One ``stack: ...`` line on the supervisor's output."""
        with self._write_lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} stack: {message}\n")
            self.out.flush()

    def _pump(self, prog: Program, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self._emit(prog.name, raw.decode(errors="replace").rstrip("\n"))
        stream.close()

    # --- processes ----------------------------------------------------------------------------------

    def _spawn(self, prog: Program) -> None:
        prog.proc = subprocess.Popen(
            list(prog.argv), cwd=self.cwd, env=dict(prog.env) if prog.env is not None else None,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        prog.started_at = time.monotonic()
        prog.restart_at = None
        prog.reader = threading.Thread(target=self._pump, args=(prog, prog.proc.stdout), daemon=True, name=f"out-{prog.name}")
        prog.reader.start()
        self._write_pids()

    def _write_pids(self) -> None:
        if self.pid_file is None:
            return
        pids = {n: p.proc.pid for n, p in self.programs.items() if p.proc is not None and p.proc.poll() is None}
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(pids, indent=1, sort_keys=True))
        tmp.replace(self.pid_file)

    @staticmethod
    def _kill_group(pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)

    def delay_after(self, prog: Program) -> float:
        """Seconds to wait before restarting ``prog`` (exponential in its crashes in a row)."""
        return min(self.backoff_max, self.backoff_base * (2 ** max(0, prog.crash_streak - 1)))

    def _on_exit(self, prog: Program, rc: int) -> None:
        assert prog.proc is not None
        ran = time.monotonic() - prog.started_at
        self._kill_group(prog.proc.pid, signal.SIGKILL)  # leftovers of the dead process (ffmpeg, nginx workers)
        if prog.reader is not None:
            prog.reader.join(2)
        prog.crash_streak = 1 if ran >= self.stable_seconds else prog.crash_streak + 1
        delay = self.delay_after(prog)
        prog.restart_at = time.monotonic() + delay
        self.log(f"{prog.name} exited (rc={rc} after {ran:.1f} s); restart {prog.restarts + 1} in {delay:g} s")
        self._write_pids()

    def run(self) -> int:
        """Start every program and supervise until :meth:`stop`; returns 0 after stopping them all."""
        for prog in self.programs.values():
            self._spawn(prog)
            self.log(f"{prog.name} started (pid {prog.proc.pid})")
        try:
            while not self._stopping.is_set():
                now = time.monotonic()
                for prog in self.programs.values():
                    if prog.restart_at is not None:
                        if now >= prog.restart_at and not self._stopping.is_set():
                            prog.restarts += 1
                            self._spawn(prog)
                            self.log(f"{prog.name} restarted (pid {prog.proc.pid}, restart {prog.restarts})")
                        continue
                    rc = prog.proc.poll() if prog.proc is not None else None
                    if rc is not None and not self._stopping.is_set():
                        self._on_exit(prog, rc)
                self._stopping.wait(0.2)
        finally:
            self._terminate_all()
        return 0

    def stop(self) -> None:
        """Ask :meth:`run` to stop every process and return (safe from a signal handler)."""
        self._stopping.set()

    def _terminate_all(self) -> None:
        running = [p for p in self.programs.values() if p.proc is not None and p.proc.poll() is None]
        for prog in running:
            self._kill_group(prog.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        for prog in running:
            try:
                prog.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"{prog.name} did not stop within {self.stop_grace:g} s: SIGKILL")
            self._kill_group(prog.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                prog.proc.wait(5)
            self.log(f"{prog.name} stopped (rc={prog.proc.returncode})")
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)


def read_pids(pid_file: Path) -> dict[str, int]:
    """The current pid of every supervised process (``{}`` when the file is missing or being replaced)."""
    try:
        return {k: int(v) for k, v in json.loads(pid_file.read_text()).items()}
    except (OSError, ValueError):
        return {}
