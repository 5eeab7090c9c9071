"""``make bench`` (restart line) / ``make bench-restart``: how long the local stack takes to be ready.

A benchmark, not a test: prints figures, exits 0; 1 only when the stack did not start.

An isolated stack (slot 2, names ``reelhouse_benchrestart_*``, the default two transcoder workers and
two chat replicas) is started from nothing (databases created and migrated, buckets made), stopped the
way ``make down`` stops it, then started again with its data kept (what ``make up`` after ``make down``
does), ``--restarts`` times. Each figure is the wall time from launching ``stack.py up`` until every
process answers its readiness check through the stack's own wait (the "stack: ready" line), and the
time ``down`` took. Afterwards the stack's databases, queues and files are removed.

Usage::

    .venv/bin/python bench/stack_restart_bench.py [--restarts 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import transcode_bench as tb  # noqa: E402
from stack import IsolatedStack  # noqa: E402

STACK_NAME, STACK_SLOT = "benchrestart", 2


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restarts", type=int, default=3, help="restarts measured after the first start (default 3)")
    args = parser.parse_args(argv)
    stack = IsolatedStack(STACK_NAME, STACK_SLOT)
    load_start = tb.load_avg()
    starts: list[float] = []
    stops: list[float] = []
    try:
        stack.reset()
        for i in range(args.restarts + 1):
            began = time.monotonic()
            stack.start(timeout=300)
            starts.append(time.monotonic() - began)
            tb.log(f"{'first start' if i == 0 else f'restart {i}'}: ready in {starts[-1]:.1f} s")
            began = time.monotonic()
            stack.stop()
            stops.append(time.monotonic() - began)
    except Exception as exc:  # noqa: BLE001 - reported, exit 1
        tb.log(f"FAILED: {exc}")
        stack.stop(kill=True)
        return 1
    finally:
        stack.reset()
        shutil.rmtree(stack.run_dir, ignore_errors=True)
    restarts = starts[1:]
    print(
        f"stack restart: first start (databases created, migrated) {starts[0]:.1f} s; "
        f"restart with data kept median {statistics.median(restarts):.1f} s (min {min(restarts):.1f}, max {max(restarts):.1f}, "
        f"{len(restarts)} runs); stop median {statistics.median(stops):.1f} s; load avg start {load_start}, end {tb.load_avg()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
