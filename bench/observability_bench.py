"""``make bench-observability``: what tracing costs (docs/observability.md).

A benchmark, not a test: it prints figures and ratios and exits 0 whether or not the goal is met; 1 only
when something failed.

The same isolated stack (slot 2, names ``reelhouse_benchobs_*``, one transcoder worker, preset
ultrafast) runs twice: tracing off (the default) and tracing on, exporting every span with OTLP over
HTTP to a sink in this process that accepts and counts the requests (a collector that drops everything:
the cost measured is the services' own). Each run uploads the bundled clip ``--videos`` times, one after
the other, and measures:

* READY time: ``POST .../complete`` -> the gallery's READY (its ``updatedAt``), median;
* API latency: ``--requests`` ``GET /api/videos/{id}`` through the edge, one at a time, p50 and p99.

Goal (issue "For operators and integrators"): tracing on is at most 3 % slower on both.

Usage::

    .venv/bin/python bench/observability_bench.py [--videos 3] [--requests 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import transcode_bench as tb  # noqa: E402
from stack import IsolatedStack  # noqa: E402

STACK_NAME, STACK_SLOT = "benchobs", 2
GOAL_RATIO = 1.03


class OtlpSink:
    """An OTLP/HTTP endpoint that answers 200 to every export and counts requests and bytes."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                sink.requests += 1
                sink.bytes += len(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a) -> None:  # noqa: ANN002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(traced: bool, videos: int, requests: int, sink: OtlpSink) -> dict[str, float]:
    """One stack run; returns the median READY seconds and the API p50/p99 (seconds)."""
    from reelhouse.client import ReelhouseClient
    from reelhouse.platform.auth import issue_token

    env = {"REELHOUSE_STACK_WORKERS": "1", "REELHOUSE_PRESET": "ultrafast"}
    if traced:
        env.update({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink.port}"})
    stack = IsolatedStack(STACK_NAME, STACK_SLOT, env)
    settings = stack.settings()
    clip = tb.SOURCE_MEDIA
    tb.log(f"{'tracing on' if traced else 'tracing off'}: starting the stack on {stack.edge_url}")
    stack.start()
    try:
        client = ReelhouseClient(stack.edge_url, issue_token("bench-obs", settings.jwt_secret), timeout=120)
        ready: list[float] = []
        last = None
        for i in range(videos):
            video = client.create_video(f"observability {i}", clip)
            client.upload_file(video["id"], clip)
            completed = time.time()
            final = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=300)
            if final["status"] != "READY":
                raise RuntimeError(f"video FAILED: {final.get('failReason')}")
            ready.append(datetime.fromisoformat(final["updatedAt"].replace("Z", "+00:00")).timestamp() - completed)
            last = video["id"]
        latencies: list[float] = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get_video(last)
            latencies.append(time.perf_counter() - started)
        client.close()
        return {"ready": statistics.median(ready), "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99)}
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=3, help="uploads per run (default 3)")
    parser.add_argument("--requests", type=int, default=400, help="API requests per run (default 400)")
    args = parser.parse_args(argv)
    sink = OtlpSink()
    load_start = tb.load_avg()
    try:
        off = run(False, args.videos, args.requests, sink)
        on = run(True, args.videos, args.requests, sink)
    except Exception as exc:  # noqa: BLE001 - reported, exit 1
        tb.log(f"FAILED: {exc}")
        return 1
    for key, label in (("ready", "READY after complete (median)"), ("p50", "API GET p50"), ("p99", "API GET p99")):
        ratio = on[key] / off[key] if off[key] else float("nan")
        goal = tb.goal(ratio <= GOAL_RATIO) if key != "p50" else ""
        print(f"observability: {label:<30} off {off[key] * (1 if key == 'ready' else 1000):8.2f} {'s ' if key == 'ready' else 'ms'}"
              f"  on {on[key] * (1 if key == 'ready' else 1000):8.2f} {'s ' if key == 'ready' else 'ms'}  = {ratio:.3f}x{goal}")
    print(f"  spans exported: {sink.requests} OTLP requests, {sink.bytes / 1024:.0f} KiB; load avg start {load_start}, end {tb.load_avg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
