"""The edge's metrics from its JSON access log (reelhouse.platform.edge_metrics; docs/observability.md):
lines counted by route kind, status class and cache status, partial lines and rotation handled, and
the ``reelhouse-admin edge-metrics`` process serving them to a scraper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from reelhouse.platform.edge_metrics import EdgeLogMetrics, route_of
from reelhouse.testing import free_port, wait_until

pytestmark = pytest.mark.unit


def _line(uri: str, status: int, cache: str = "", request_time: float = 0.004) -> str:
    return json.dumps({"time": "2026-12-02T04:00:00+00:00", "service": "edge", "method": "GET", "uri": uri, "status": status,
                       "bytes": 10, "request_time": request_time, "cache": cache, "request_id": "r", "trace_id": ""}) + "\n"


def _value(route: str, status_class: str, cache: str) -> float:
    return REGISTRY.get_sample_value("reelhouse_edge_requests_total", {"route": route, "status_class": status_class, "cache": cache}) or 0.0


@pytest.mark.parametrize(
    ("uri", "route"),
    [
        ("/play/1790000000/-/videos/v/j/720p/seg_00001.ts", "play"),
        ("/play/1790000000/-/live/s/index.m3u8", "live"),
        ("/api/videos?limit=20", "api"),
        ("/ws/streams/s/chat?-", "ws"),
        ("/", "web"),
        ("/assets/index-abc.js", "web"),
        ("/videos/upload", "web"),
        ("/healthz", "other"),
    ],
)
def test_routes_are_kinds_never_paths(uri, route):
    assert route_of(uri) == route


def test_lines_are_counted_by_route_status_and_cache_across_partial_writes_and_rotation(tmp_path: Path):
    log = tmp_path / "access.log"
    log.write_text(_line("/api/old", 200))  # before the follower started: not counted
    follower = EdgeLogMetrics(log)
    before = {k: _value(*k) for k in [("play", "2xx", "HIT"), ("play", "2xx", "MISS"), ("api", "4xx", "none"), ("api", "2xx", "none")]}
    assert follower.poll() == 0
    with log.open("a") as f:
        f.write(_line("/play/1/-/videos/v/j/seg.ts", 200, "MISS"))
        f.write(_line("/play/1/-/videos/v/j/seg.ts", 200, "HIT"))
        half = _line("/api/videos/x", 404)
        f.write(half[:20])  # nginx flushed half a line
    assert follower.poll() == 2
    with log.open("a") as f:
        f.write(half[20:])
        f.write("not json\n")
    assert follower.poll() == 1
    # logrotate: the file is moved away and a new one begins
    log.rename(tmp_path / "access.log.1")
    log.write_text(_line("/play/1/-/videos/v/j/seg.ts", 200, "HIT"))
    follower.poll()  # notices the new file
    assert follower.poll() == 1
    after = {k: _value(*k) for k in before}
    assert after[("play", "2xx", "HIT")] - before[("play", "2xx", "HIT")] == 2
    assert after[("play", "2xx", "MISS")] - before[("play", "2xx", "MISS")] == 1
    assert after[("api", "4xx", "none")] - before[("api", "4xx", "none")] == 1
    assert after[("api", "2xx", "none")] == before[("api", "2xx", "none")]


def test_the_admin_command_serves_them_on_metrics(tmp_path: Path):
    log = tmp_path / "access.log"
    log.write_text("")
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "reelhouse-admin"), "edge-metrics", "--log", str(log), "--port", str(port), "--host", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    try:
        wait_until(lambda: _scrape(port) is not None, 15, 0.2, "the metrics endpoint")
        time.sleep(1.2)  # the follower has opened the file (at its end)
        with log.open("a") as f:
            f.write(_line("/api/videos", 503))
        samples = wait_until(lambda: [s for s in (_scrape(port) or []) if s.name == "reelhouse_edge_requests_total" and s.labels.get("status_class") == "5xx"], 15, 0.2, "the 5xx line counted")
        assert samples[0].labels == {"route": "api", "status_class": "5xx", "cache": "none"} and samples[0].value == 1.0
    finally:
        proc.terminate()
        proc.wait(10)


def _scrape(port: int):
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    return [s for family in text_string_to_metric_families(text) for s in family.samples]
