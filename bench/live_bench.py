"""``make bench-live``: live ingest latency of the local stack (a benchmark, not a test).

For each run a new stream is created through the edge and a real clip is published with ffmpeg in
real time (``-re``; bigbuckbunny looped, re-encoded with x264 ultrafast and a 1 s GOP, as OBS would
send with a 1 s keyframe interval). Printed, medians over ``--runs``:

1. **publish -> LIVE**: ffmpeg started -> ``GET /api/streams/{id}`` says LIVE (the on_publish callback).
2. **publish -> first playable playlist**: ffmpeg started -> the signed live playlist answers 200 through
   the edge with at least one segment, and that segment downloads (goal <= 4 s).
3. **frame in -> segment playable**: for every segment that appears while polling the playlist every
   50 ms, the wall time it became listed minus the wall time its frames entered the ingest. With
   ``-re`` a frame of media time ``t`` enters at ``publish start + t``; ``t`` is the segment's PTS
   minus 0.7 s (nginx-rtmp writes the RTMP timestamps into the MPEG-TS shifted by its fixed
   ``NGX_RTMP_HLS_DELAY`` of 63000 ticks at 90 kHz; checked here on a -c copy publish whose
   keyframes sit at known media times). Reported for the oldest frame of the segment (what a
   viewer at the live edge waits for, goal <= 6 s; IVS claims < 5 s) and the newest one.

The clip's own GOP drives the segment length (nginx-rtmp cuts at keyframes): the source file has a
single keyframe per 5.3 s loop, so ``--copy`` (``-c copy``, as the e2e test publishes) shows what a
long GOP costs.

Usage::

    .venv/bin/python bench/live_bench.py [--runs 3] [--seconds 20] [--copy] [--keep]
    .venv/bin/python bench/live_bench.py --edge-url http://127.0.0.1:8080   # reuse a running stack

Without ``--edge-url`` it starts an isolated local stack (own ports, databases, queues, buckets).
Results go to stdout, progress to stderr. Exit 1 only when something failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import m3u8

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "libs/platform/src"))
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from stack import IsolatedStack  # noqa: E402

from reelhouse.platform.auth import issue_token  # noqa: E402
from reelhouse.platform.settings import PlatformSettings  # noqa: E402
from reelhouse.testing import footage_dir  # noqa: E402

#: The isolated stack (slot 4: edge 48080, S3 49000, services 48101.., RTMP 41935; databases
#: ``reelhouse_benchlive_*``...), trimmed to what a live stream needs: one transcoder worker (for the
#: recordings, with the fastest preset) and one chat replica.
BENCH_STACK_NAME, BENCH_STACK_SLOT = "benchlive", 4
BENCH_EXTRA_ENV = {
    "REELHOUSE_STACK_WORKERS": "1",
    "REELHOUSE_STACK_CHAT_REPLICAS": "1",
    "REELHOUSE_PRESET": "ultrafast",
}
GOALS = {"first_playlist": 4.0, "frame_delay": 6.0}
HLS_PTS_OFFSET = 0.7  # seconds: nginx-rtmp's NGX_RTMP_HLS_DELAY (63000 / 90 kHz)


def err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def start_stack() -> IsolatedStack:
    """Reset and start the isolated stack; exits (with the log tail) when it does not become ready."""
    stack = IsolatedStack(BENCH_STACK_NAME, BENCH_STACK_SLOT, BENCH_EXTRA_ENV)
    err(f"bench-live: starting an isolated stack on {stack.edge_url} (log: {stack.log_path})")
    try:
        stack.start()
    except RuntimeError as exc:
        raise SystemExit(f"bench-live: {exc}") from None
    return stack


def segment_pts(data: bytes) -> tuple[float, float] | None:
    """(first, last) video PTS of an MPEG-TS segment, seconds."""
    with tempfile.NamedTemporaryFile(suffix=".ts") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
                              "-of", "json", f.name], capture_output=True, text=True, timeout=30)
    try:
        pts = [float(p["pts_time"]) for p in json.loads(out.stdout)["packets"] if p.get("pts_time") not in (None, "N/A")]
    except (ValueError, KeyError):
        return None
    return (min(pts) - HLS_PTS_OFFSET, max(pts) - HLS_PTS_OFFSET) if pts else None


def one_run(client: httpx.Client, seconds: float, copy: bool) -> dict:
    created = client.post("/api/streams", json={"title": f"bench {uuid.uuid4().hex[:6]}", "recordingEnabled": False})
    created.raise_for_status()
    stream = created.json()
    codec = ["-c", "copy"] if copy else ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
                                          "-keyint_min", "25", "-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k"]
    argv = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i",
            str(footage_dir() / "bigbuckbunny.mp4"), "-t", str(seconds), *codec, "-f", "flv",
            stream["ingest"]["publishUrl"]]
    t0 = time.monotonic()
    ffmpeg = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    result: dict = {"live": None, "first_playlist": None, "oldest": [], "newest": []}
    url = None
    seen: set[str] = set()
    try:
        while time.monotonic() - t0 < seconds + 5 and ffmpeg.poll() is None:
            now = time.monotonic()
            if url is None:
                s = client.get(f"/api/streams/{stream['id']}").json()
                if s["status"] == "LIVE":
                    result["live"] = now - t0
                    url = s["playbackUrl"]
                time.sleep(0.05)
                continue
            r = httpx.get(url, timeout=5)
            listed_at = time.monotonic()
            if r.status_code == 200:
                pl = m3u8.loads(r.text, uri=url)
                for seg in pl.segments:
                    if seg.uri in seen:
                        continue
                    seen.add(seg.uri)
                    data = httpx.get(httpx.URL(url).join(seg.uri), timeout=10)
                    if data.status_code != 200:
                        continue
                    if result["first_playlist"] is None:
                        result["first_playlist"] = time.monotonic() - t0
                    pts = segment_pts(data.content)
                    if pts is not None and len(seen) > 1:  # the first listing may hold older segments
                        result["oldest"].append(listed_at - t0 - pts[0])
                        result["newest"].append(listed_at - t0 - pts[1])
            time.sleep(0.05)
    finally:
        if ffmpeg.poll() is None:
            ffmpeg.kill()
        ffmpeg.wait(10)
        client.post(f"/api/streams/{stream['id']}/stop")
    return result


def fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:6.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="live ingest latency")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0, help="publish duration per run")
    parser.add_argument("--copy", action="store_true", help="publish the clip with -c copy (5.3 s GOP)")
    parser.add_argument("--edge-url", default=os.environ.get("REELHOUSE_BENCH_EDGE_URL"))
    parser.add_argument("--keep", action="store_true", help="leave the isolated stack running")
    args = parser.parse_args(argv)

    stack = None
    if args.edge_url:
        edge = args.edge_url.rstrip("/")
        secret = PlatformSettings().jwt_secret
    else:
        stack = start_stack()
        edge = stack.edge_url
        secret = stack.settings().jwt_secret
    client = httpx.Client(base_url=edge, headers={"Authorization": f"Bearer {issue_token('bench-live', secret)}"}, timeout=30)
    runs = []
    try:
        for i in range(args.runs):
            err(f"bench-live: run {i + 1}/{args.runs} ({args.seconds:.0f} s of {'-c copy' if args.copy else 'x264 1 s GOP'})")
            runs.append(one_run(client, args.seconds, args.copy))
    finally:
        client.close()
        if stack is not None:
            if args.keep:
                err(f"bench-live: stack left running on {stack.edge_url} (process group {stack.proc.pid}; "
                    f"stop it with: kill -INT -- -{stack.proc.pid})")
            else:
                stack.stop()
    if any(r["live"] is None or r["first_playlist"] is None for r in runs):
        print(json.dumps(runs, indent=1))
        err("bench-live: a run never went LIVE or never became playable")
        return 1

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    oldest = [d for r in runs for d in r["oldest"]]
    newest = [d for r in runs for d in r["newest"]]
    first = med("first_playlist")
    worst = statistics.median(oldest) if oldest else None
    print(f"live ingest latency ({args.runs} runs, {'-c copy, source GOP 5.3 s' if args.copy else 'x264 ultrafast, GOP 1 s'}; "
          f"hls_fragment 1s)")
    print(f"  publish -> LIVE                        {fmt(med('live'))}")
    verdict = "ok" if first <= GOALS["first_playlist"] else "MISSED"
    print(f"  publish -> first playable playlist     {fmt(first)}   goal <= {GOALS['first_playlist']:.0f} s: {verdict}")
    if worst is not None:
        verdict = "ok" if worst <= GOALS["frame_delay"] else "MISSED"
        p90 = f"p90 {statistics.quantiles(oldest, n=10)[-1]:.2f} s, " if len(oldest) >= 2 else ""
        print(f"  frame in -> segment playable (oldest)  {fmt(worst)}   goal <= {GOALS['frame_delay']:.0f} s: {verdict}"
              f"   ({p90}{len(oldest)} segments)")
        print(f"  frame in -> segment playable (newest)  {fmt(statistics.median(newest))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
