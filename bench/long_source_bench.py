"""``make bench`` (long-source line) / ``make bench-long``: a long 1080p upload through the whole stack.

A benchmark, not a test: it prints figures and exits 0 whether or not a goal is met; 1 only when
something failed (the stack did not start, the video ended FAILED...).

The source is the transcode benchmark's 1080p clip (bigbuckbunny upscaled with lanczos, x264 CRF 18,
AAC; see ``transcode_bench.py``) looped without re-encoding (``-stream_loop``, ``-c copy``) to
``--seconds`` (default 600: ten minutes) and cached in ``.cache/bench/``. It is uploaded through the API
to an isolated stack with the worker's default settings (preset ``veryfast``, 4 s segments, the
production stall timeout of 120 s) and followed to READY. Printed:

* wall seconds from ``POST .../complete`` to the gallery's READY transition, and as a fraction of the
  source's duration (below 1.0: READY before the video would have finished playing);
* the ffmpeg pass's peak resident set (MiB): the largest ``VmRSS`` of any ffmpeg under the stack, sampled
  every second, and the worker's own figure from ``wait4`` when its log line is found;
* progress: how many ``transcode.progress`` events the worker published, how many distinct percentages
  a client polling ``GET /api/videos/{id}`` every second saw, and the longest wait between two changes
  of that percentage while TRANSCODING (goal: <= 5 s, issue "long videos fail").

Usage::

    .venv/bin/python bench/long_source_bench.py [--seconds 600]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import transcode_bench as tb  # noqa: E402
from stack import IsolatedStack  # noqa: E402

#: Isolated stack of this benchmark (slot 2 like transcode_bench.py, which runs before it, never beside
#: it: edge 28080...; names ``reelhouse_benchlong_*``).
STACK_NAME, STACK_SLOT = "benchlong", 2
#: Longest wait between two changes of the percentage a polling client sees, seconds: goal.
GOAL_PROGRESS_GAP_SECONDS = 5.0
#: Give up waiting for READY after this many seconds.
READY_TIMEOUT_SECONDS = 3600.0


def looped_clip(seconds: float) -> Path:
    """The 1080p benchmark clip looped without re-encoding to ``seconds``; cached; returns its path."""
    unit = tb.build_clip(tb.SOURCE_MEDIA, tb.CACHE_DIR)
    out = tb.CACHE_DIR / f"{unit.stem}-looped-{seconds:g}s.mp4"
    if out.is_file() and out.stat().st_size > 0:
        return out
    loops = int(seconds // tb.CLIP_SECONDS) + 1
    partial = out.with_name(out.name + ".partial.mp4")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-stream_loop", str(loops),
         "-i", str(unit), "-c", "copy", "-t", f"{seconds:g}", "-movflags", "+faststart", str(partial)],
        check=True,
    )  # fmt: skip
    os.replace(partial, out)
    return out


def ffmpeg_rss_bytes(root_pid: int) -> int:
    """Largest resident set (bytes) among the ffmpeg processes descending from ``root_pid`` right now."""
    stats = tb._proc_stats()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    largest = 0
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        if pid in stats and stats[pid][2].split(b"\0", 1)[0].endswith(b"ffmpeg"):
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        largest = max(largest, int(line.split()[1]) * 1024)
            except OSError:
                pass
    return largest


def worker_log_figures(log_path: Path, video_id: str) -> dict[str, str]:
    """``ffmpeg_peak_rss_mib`` and ``phases`` from the worker's ``transcode.completed`` log line for
    ``video_id`` (the local stack logs ``key=value``; JSON lines work too), as strings; {} if not found."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        if "transcode.completed" in line and video_id in line:
            found: dict[str, str] = {}
            rss = re.search(r'"?ffmpeg_peak_rss_mib"?[=:]\s*([0-9.]+)', line)
            phases = re.search(r'"?phases"?[=:]\s*(\{[^}]*\})', line)
            if rss:
                found["ffmpeg_peak_rss_mib"] = rss.group(1)
            if phases:
                found["phases"] = phases.group(1)
            return found
    return {}


def progress_events(settings, video_id: str) -> int:  # noqa: ANN001 - PlatformSettings
    """transcode.progress events the transcoder put in its outbox for ``video_id``."""
    import psycopg

    from reelhouse.platform.db import _libpq_conninfo

    with psycopg.connect(_libpq_conninfo(settings.database_url_for("transcoder"))) as conn:
        row = conn.execute(
            "SELECT count(*) FROM outbox WHERE event_type = 'reelhouse.transcode.progress.v1' "
            "AND envelope->'data'->>'videoId' = %s",
            (str(uuid.UUID(video_id)),),
        ).fetchone()
    return int(row[0]) if row else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="length of the source (default 600)")
    args = parser.parse_args(argv)

    from reelhouse.client import ReelhouseClient
    from reelhouse.platform.auth import issue_token

    try:
        clip = looped_clip(args.seconds)
    except Exception as exc:  # noqa: BLE001 - reported, exit 1
        tb.log(f"FAILED building the source: {exc}")
        return 1
    stack = IsolatedStack(STACK_NAME, STACK_SLOT, {"REELHOUSE_STACK_WORKERS": "1"})
    settings = stack.settings()
    load_start = tb.load_avg()
    try:
        tb.log(f"starting the isolated stack on {stack.edge_url} (log: {stack.log_path})")
        stack.start()
        client = ReelhouseClient(stack.edge_url, issue_token("bench-long", settings.jwt_secret), timeout=120)
        video = client.create_video(f"long source {args.seconds:g} s", clip)
        tb.log(f"uploading {clip.stat().st_size / 1e6:.0f} MB as video {video['id']}")
        client.upload_file(video["id"], clip)
        complete_wall = time.time()
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        seen: list[float] = []
        changes: list[float] = []  # monotonic times at which the polled percentage changed
        marks: list[str] = []  # what was seen at each of those times
        transcoding_since: float | None = None
        peak_rss = 0
        root = stack.proc.pid if stack.proc is not None else os.getpid()
        while True:
            state = client.get_video(video["id"])
            peak_rss = max(peak_rss, ffmpeg_rss_bytes(root))
            now = time.monotonic()
            if state["status"] == "TRANSCODING":
                if transcoding_since is None:
                    transcoding_since = now
                    changes.append(now)
                    marks.append("TRANSCODING")
                percent = state.get("transcodeProgress")
                if percent is not None and (not seen or percent != seen[-1]):
                    seen.append(percent)
                    changes.append(now)
                    marks.append(f"{percent:g} %")
            if state["status"] in ("READY", "FAILED"):
                changes.append(now)
                marks.append(state["status"])
                break
            if now > deadline:
                raise RuntimeError(f"still {state['status']} after {READY_TIMEOUT_SECONDS:g} s")
            time.sleep(1.0)
        if state["status"] != "READY":
            raise RuntimeError(f"video FAILED: {state.get('failReason')} {state.get('failDetail')}")
        ready_wall = datetime.fromisoformat(state["updatedAt"].replace("Z", "+00:00")).timestamp()
        wall = ready_wall - complete_wall
        duration = float(state["durationSeconds"])
        events = progress_events(settings, video["id"])
        figures = worker_log_figures(stack.log_path, video["id"])
        gap = max((b - a for a, b in zip(changes, changes[1:], strict=False)), default=float("nan"))
        gap_at = max(range(len(changes) - 1), key=lambda i: changes[i + 1] - changes[i], default=None)
        backwards = any(b < a for a, b in zip(seen, seen[1:], strict=False))
        client.close()
    except Exception as exc:  # noqa: BLE001 - reported, exit 1
        tb.log(f"FAILED: {type(exc).__name__}: {exc}")
        return 1
    finally:
        tb.log("stopping the stack")
        stack.stop()

    worker_rss = figures.get("ffmpeg_peak_rss_mib")
    print(
        f"long source: {duration:.0f} s of 1920x1080 ({clip.stat().st_size / 1e6:.0f} MB, veryfast, 1 worker); "
        f"complete->READY {wall:.0f} s = {wall / duration:.2f} x duration"
    )
    print(
        f"  ffmpeg pass peak RSS   {peak_rss / 2**20:.0f} MiB sampled"
        + (f", {float(worker_rss):.0f} MiB from wait4 (worker log)" if worker_rss else "")
    )
    print(
        f"  progress               {events} transcode.progress events; {len(seen)} distinct percentages polled; "
        f"longest wait between changes {gap:.1f} s"
        f"{f' ({marks[gap_at]} -> {marks[gap_at + 1]})' if gap_at is not None else ''} (goal <= {GOAL_PROGRESS_GAP_SECONDS:g})"
        f"{tb.goal(gap <= GOAL_PROGRESS_GAP_SECONDS)}; {'WENT BACKWARDS' if backwards else 'never backwards'}"
    )
    if figures.get("phases"):
        print(f"  worker phases          {figures['phases']}")
    print(f"  load avg               start {load_start}; end {tb.load_avg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
