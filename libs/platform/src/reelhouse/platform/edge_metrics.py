"""Prometheus metrics of the nginx edge, read from its JSON access log (docs/observability.md, "Edge").

nginx has no Prometheus endpoint of its own (the open-source build's ``stub_status`` has no status codes
and no cache figures), but the edge writes one JSON line per request (``deploy/k8s/base/nginx/
edge.conf.template``: ``status``, ``request_time``, ``cache``, ``uri``...). :class:`EdgeLogMetrics`
follows that file like ``tail -F`` (a new file after a rotation is read from its start) and counts:

* ``reelhouse_edge_requests_total{route, status_class, cache}``: ``route`` is the kind of request
  (``play`` signed VOD, ``live`` live HLS, ``api``, ``ws``, ``web`` the web app, ``other``), never the
  path; ``status_class`` ``2xx``..``5xx``; ``cache`` the edge cache's answer (``HIT``, ``MISS``,
  ``EXPIRED``, ``STALE``, ``BYPASS``...; ``none`` when the request did not use the cache);
* ``reelhouse_edge_request_duration_seconds{route}``: nginx's ``request_time`` (seconds).

The cache hit ratio is ``sum(rate(...{cache="HIT"}[5m])) / sum(rate(...{cache!="none"}[5m]))``.
Run it beside the edge: ``reelhouse-admin edge-metrics --log <access.log> --port 9113``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from prometheus_client import Counter, Histogram

EDGE_REQUESTS = Counter(
    "reelhouse_edge_requests_total",
    "Requests the edge answered, by kind of route, status class and edge-cache status.",
    ["route", "status_class", "cache"],
)
EDGE_DURATION = Histogram(
    "reelhouse_edge_request_duration_seconds",
    "Time the edge took to answer (nginx request_time, seconds), by kind of route.",
    ["route"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

_WEB_PREFIXES = ("/assets/", "/videos", "/streams", "/signin")


def route_of(uri: str) -> str:
    """The kind of request for ``uri`` (a bounded label value; see the module docstring)."""
    path = uri.split("?", 1)[0]
    if path.startswith("/play/"):
        return "live" if "/live/" in path else "play"
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/ws/"):
        return "ws"
    if path == "/" or path.startswith(_WEB_PREFIXES):
        return "web"
    return "other"


def count_line(line: str) -> bool:
    """Count one access-log line; False (counted as nothing) when it is not a JSON request line."""
    try:
        entry = json.loads(line)
        status = int(entry["status"])
    except (ValueError, KeyError, TypeError):
        return False
    route = route_of(str(entry.get("uri", "")))
    cache = str(entry.get("cache") or "") or "none"
    if cache == "-":
        cache = "none"
    EDGE_REQUESTS.labels(route, f"{status // 100}xx", cache).inc()
    try:
        EDGE_DURATION.labels(route).observe(float(entry.get("request_time", 0.0)))
    except (TypeError, ValueError):
        pass
    return True


class EdgeLogMetrics:
    """Follow ``log_path`` and count its lines (see the module docstring).

    ``from_start``: read what the file already holds (True) or only what comes after (False, the
    default for a long-running edge, so a restart of this process does not count old requests twice).
    """

    def __init__(self, log_path: str | os.PathLike[str], *, from_start: bool = False) -> None:
        self.path = Path(log_path)
        self.from_start = from_start
        self._file = None
        self._inode: int | None = None
        self._partial = ""
        self.lines = 0

    def _open(self) -> None:
        try:
            handle = self.path.open("r", encoding="utf-8", errors="replace")
        except OSError:
            return
        stat = os.fstat(handle.fileno())
        if self._inode is None and not self.from_start:
            handle.seek(0, os.SEEK_END)
        self._file, self._inode, self._partial = handle, stat.st_ino, ""

    def poll(self) -> int:
        """Read what was appended since the last call (reopening a rotated or truncated file); returns
        how many request lines were counted."""
        if self._file is None:
            self._open()
            if self._file is None:
                return 0
        counted = 0
        chunk = self._file.read()
        if chunk:
            data = self._partial + chunk
            *complete, self._partial = data.split("\n")
            for line in complete:
                if line.strip() and count_line(line):
                    counted += 1
        try:
            stat = self.path.stat()
            rotated = stat.st_ino != self._inode or stat.st_size < self._file.tell()
        except OSError:
            rotated = False
        if rotated:
            self._file.close()
            self._file, self._inode = None, -1  # the next file is read from its start
            self.from_start = True
        self.lines += counted
        return counted

    def run(self, interval_seconds: float = 1.0, stop=None) -> None:  # noqa: ANN001 - threading.Event
        """Poll every ``interval_seconds`` until ``stop`` (a ``threading.Event``) is set, or forever."""
        while stop is None or not stop.is_set():
            self.poll()
            time.sleep(interval_seconds)
