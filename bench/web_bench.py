"""``make bench-web``: the web app's speed figures (a benchmark, not a test; issue 12 "Benchmark").

It prints, for the built app (``frontend/dist``, built first when missing) served by the edge:

1. **initial JavaScript for /videos**: every script a cold, signed-in visit of ``/videos`` loads until
   the network is idle, each gzipped (zlib level 9) and summed (goal <= 200 KB); and whether hls.js was
   among them (it must load only on pages with a player).
2. **time to first frame**: navigation start -> the first decoded frame (``loadeddata``) of a READY
   video's page ``/videos/<id>``, cold cache, median of ``--runs`` (goal <= 1.5 s). The video is the
   bundled clip, uploaded and transcoded first (fastest preset).
3. **upload throughput**: the same ``--mb`` file (an MP4 header and random bytes: the transcoder refuses
   it at once, so nothing is encoded afterwards) uploaded through the page (4 parts in parallel,
   presigned PUTs) and with the Python API client ``reelhouse.client`` (one part at a time), from the
   click / ``create_video`` to the completed session; MB/s medians and the ratio page / client
   (goal >= 0.9).

Chromium is Debian's (``chromium`` on PATH or ``REELHOUSE_CHROMIUM``), driven by Playwright from
``frontend/bench/web-bench.mjs``. Results to stdout, progress to stderr; exits 1 only when something
failed (the stack did not start, the video did not become READY, the browser run failed).

Usage::

    .venv/bin/python bench/web_bench.py [--runs 3] [--mb 128] [--slot 3] [--keep]
    .venv/bin/python bench/web_bench.py --edge-url http://127.0.0.1:8080   # reuse a running stack (dev mode)
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from stack import IsolatedStack  # noqa: E402

from reelhouse.client.api import ReelhouseClient  # noqa: E402
from reelhouse.platform.auth import issue_token  # noqa: E402
from reelhouse.platform.settings import PlatformSettings  # noqa: E402
from reelhouse.testing import footage_dir  # noqa: E402

BENCH_STACK_NAME = "benchweb"
BENCH_EXTRA_ENV = {"REELHOUSE_STACK_WORKERS": "1", "REELHOUSE_STACK_CHAT_REPLICAS": "1", "REELHOUSE_PRESET": "ultrafast"}
GOALS = {"initial_js_kb": 200, "first_frame_s": 1.5, "upload_ratio": 0.9}
#: The start of an ISO BMFF file (ftyp isom/avc1): enough for the upload's container check.
FTYP = bytes.fromhex("0000002066747970" "69736f6d00000200" "69736f6d69736f32" "617663316d703431")


def err(msg: str) -> None:
    print(f"bench-web: {msg}", file=sys.stderr, flush=True)


def ensure_build() -> None:
    if not (FRONTEND / "dist" / "index.html").exists():
        err("building the web app (npm run build)")
        subprocess.run(["npm", "run", "-s", "build"], cwd=FRONTEND, check=True)


def junk_video(mb: int) -> Path:
    """A file of ``mb`` MiB that passes the upload's checks (MP4 name and header) but is no video."""
    path = Path(tempfile.mkdtemp(prefix="reelhouse-bench-web-")) / "upload.mp4"
    with path.open("wb") as fh:
        fh.write(FTYP)
        remaining = mb * 1024 * 1024 - len(FTYP)
        while remaining > 0:
            n = min(remaining, 4 * 1024 * 1024)
            fh.write(os.urandom(n))
            remaining -= n
    return path


def ready_video(client: ReelhouseClient) -> str:
    """Upload the bundled clip as a public video and wait until it is READY; returns its id."""
    clip = footage_dir() / "bigbuckbunny.mp4"
    video = client.create_video("bench-web clip", clip, visibility="public")
    client.upload_file(video["id"], clip)
    final = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=600)
    if final["status"] != "READY":
        raise SystemExit(f"bench-web: the clip ended {final['status']} ({final.get('failReason')})")
    return video["id"]


def client_upload_seconds(client: ReelhouseClient, path: Path) -> float:
    t0 = time.perf_counter()
    video = client.create_video("bench-web client upload", path)
    client.upload_file(video["id"], path)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="web app speed figures")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mb", type=int, default=128, help="size of the uploaded file in MiB")
    parser.add_argument("--slot", type=int, default=int(os.environ.get("REELHOUSE_BENCH_WEB_SLOT", "3")), help="isolated stack slot (ports <slot>8080...)")
    parser.add_argument("--edge-url", default=os.environ.get("REELHOUSE_BENCH_EDGE_URL"), help="reuse this running stack (dev mode)")
    parser.add_argument("--keep", action="store_true", help="leave the isolated stack running")
    args = parser.parse_args(argv)

    ensure_build()
    stack = None
    if args.edge_url:
        edge, secret = args.edge_url.rstrip("/"), PlatformSettings().jwt_secret
    else:
        stack = IsolatedStack(BENCH_STACK_NAME, args.slot, BENCH_EXTRA_ENV)
        err(f"starting an isolated stack on {stack.edge_url} (log: {stack.log_path})")
        try:
            stack.start()
        except RuntimeError as exc:
            raise SystemExit(f"bench-web: {exc}") from None
        edge, secret = stack.edge_url, stack.settings().jwt_secret
    client = ReelhouseClient(edge, issue_token("bench-web-client", secret), timeout=60)
    upload_file = junk_video(args.mb)
    try:
        err("uploading and transcoding the clip for the first-frame figure")
        video_id = ready_video(client)
        err(f"uploading {args.mb} MiB with the Python client ({args.runs}x)")
        client_s = [client_upload_seconds(client, upload_file) for _ in range(args.runs)]
        err(f"the browser: /videos, first frame and {args.mb} MiB through the page ({args.runs}x each)")
        env = {**os.environ, "REELHOUSE_WEB_URL": edge, "REELHOUSE_BENCH_VIDEO_ID": video_id, "REELHOUSE_BENCH_FILE": str(upload_file), "REELHOUSE_BENCH_RUNS": str(args.runs)}
        run = subprocess.run(["node", "bench/web-bench.mjs"], cwd=FRONTEND, env=env, capture_output=True, text=True, timeout=1800)
        if run.returncode != 0:
            err(run.stdout[-3000:] + run.stderr[-3000:])
            return 1
        browser = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        client.close()
        upload_file.unlink(missing_ok=True)
        upload_file.parent.rmdir()
        if stack is not None:
            if args.keep:
                err(f"stack left running on {stack.edge_url} (stop it with: kill -INT -- -{stack.proc.pid})")
            else:
                stack.stop()

    scripts = browser["initialJs"]
    js_kb = sum(s["gzip"] for s in scripts) / 1000
    raw_kb = sum(s["bytes"] for s in scripts) / 1000
    ff = statistics.median(browser["firstFrameMs"]) / 1000
    page_s = statistics.median(browser["pageUploadSeconds"])
    cli_s = statistics.median(client_s)
    mb = args.mb * 1024 * 1024 / 1e6
    ratio = cli_s / page_s

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(f"web app ({edge}; medians of {args.runs} runs)")
    print(f"  initial JS for /videos (gzip)     {js_kb:7.1f} KB   ({len(scripts)} scripts, {raw_kb:.0f} KB raw)   goal <= {GOALS['initial_js_kb']} KB: {verdict(js_kb <= GOALS['initial_js_kb'])}")
    print(f"  hls.js loaded on /videos          {'yes' if browser['hlsOnVideos'] else 'no':>7}      goal no: {verdict(not browser['hlsOnVideos'])}")
    print(f"  first frame of a READY video      {ff:7.2f} s    (runs: {', '.join(f'{v / 1000:.2f}' for v in browser['firstFrameMs'])})   goal <= {GOALS['first_frame_s']} s: {verdict(ff <= GOALS['first_frame_s'])}")
    print(f"  upload through the page           {mb / page_s:7.1f} MB/s ({args.mb} MiB in {page_s:.2f} s)")
    print(f"  upload with the Python client     {mb / cli_s:7.1f} MB/s ({args.mb} MiB in {cli_s:.2f} s)")
    print(f"  page / client                     {ratio:7.2f} x    goal >= {GOALS['upload_ratio']}: {verdict(ratio >= GOALS['upload_ratio'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
