"""``make bench``: how fast Reelhouse turns a real 1080p clip into HLS, and what the pipeline adds.

A benchmark, not a test: it prints figures and ratios and exits 0 whether or not a goal is met (a
missed goal is printed as ``MISSED``); it exits 1 only when something failed (ffmpeg error, the stack
did not start, the video ended FAILED...).

Measured, in this order (``--runs N`` repeats every measurement N times; medians are printed):

1. **clip**: bigbuckbunny upscaled to 1920x1080 (lanczos, x264 CRF 18, AAC), looped to 20 s. Built
   once and cached in ``.cache/bench/`` under a name that encodes those parameters.
2. **bare single pass**: the exact ffmpeg argv the transcoder worker runs for that clip (``probe`` ->
   ``plan_ladder`` -> ``build_hls_command`` with the worker's default preset and segment duration),
   run through the worker's own ``run_ffmpeg``. Wall seconds and CPU seconds (user + system) of the
   ffmpeg child, from ``getrusage(RUSAGE_CHILDREN)`` deltas.
3. **one run per rendition**: the same ladder and settings, but each rendition encoded by its own
   ffmpeg process (which decodes the source again), one after the other. Ratio to the single pass,
   printed next to the docs/decisions.md reference (1.79x, a 720p source to 3 rungs); the single pass saves
   the extra decodes, so the ratio is bounded by their share of the CPU (bench/README.md).
4. **worker pass**: the argv the worker really runs: the same single pass plus the poster candidates,
   thumbnails and storyboard sprites as extra branches of the same decoded frames
   (``build_hls_command(images=plan_images(...))``). Its cost over the bare pass is what the pictures add.
4b. **720p source** (skip with ``--skip-720p``): the same footage at its own 1280x720, re-encoded like the
   1080p clip (CRF 18, looped to 20 s, cached alike); bare single pass vs one run per rendition again, so
   both sources get wall and CPU seconds and ratios (printed together in one table).
4c. **realtime factor per preset** (``--presets ultrafast,veryfast,medium``; default
   ``ultrafast,veryfast``; empty: none): content seconds / wall seconds of the bare 1080p single pass with
   each x264 preset offered; goal >= 1.0. The worker's default preset reuses the bare single pass above.
4d. **quality** (skip with ``--skip-quality``): SSIM and PSNR of every rendition of the ``veryfast``
   single-pass output of the 720p clip against the clip scaled (bicubic) to that rendition's size, from
   the summary lines of ffmpeg's ``ssim`` and ``psnr`` filters; with the measured bit rate of its segments.
5. **pipeline**: an isolated local stack (``IsolatedStack("bench", 2)`` from ``deploy/local/stack.py``:
   own ports, databases, queues, exchange and buckets), the same clip uploaded through the API with
   :class:`ReelhouseClient`; wall seconds from the moment ``POST /api/uploads/{id}/complete`` returned
   to the gallery's READY transition (``updatedAt`` of the READY video; ``GET /api/videos/{id}`` polled
   every second). Ratio to a bare single pass run right before each upload, with the idle stack
   running (same machine state; the median of the per-run ratios): goal <= 1.10. The server-side
   job duration (``transcode_jobs.transcode_seconds``) and the job's start/finish timestamps split
   that wall time into "event reaches a worker", "worker job" and "completion reaches the gallery".

Usage::

    .venv/bin/python bench/transcode_bench.py [--runs N] [--skip-pipeline] [--keep] [--verbose]
        [--presets ultrafast,veryfast,medium] [--skip-720p] [--skip-quality]
    .venv/bin/python bench/transcode_bench.py --no-stack --edge-url http://127.0.0.1:8080   # reuse a stack

``REELHOUSE_BENCH_EDGE_URL`` set in the environment means the same as ``--no-stack --edge-url <it>``.
The results table goes to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reelhouse.client import ReelhouseClient
    from reelhouse.platform.settings import PlatformSettings
    from reelhouse.transcoder.adapters.ffmpeg import ImagePlan
    from reelhouse.transcoder.domain.ladder import MediaInfo, Rendition

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from stack import IsolatedStack  # noqa: E402

SOURCE_MEDIA = ROOT / "media" / "bigbuckbunny.mp4"
CACHE_DIR = ROOT / ".cache" / "bench"

#: Length of the benchmark clip, seconds of content.
CLIP_SECONDS = 20.0
#: Size of the benchmark clip, pixels.
CLIP_WIDTH, CLIP_HEIGHT = 1920, 1080
#: x264 constant rate factor of the clip (18: visually lossless, a demanding source for the ladder).
CLIP_CRF = 18
#: AAC bit rate of the clip, bits/s.
CLIP_AUDIO_BITRATE = 192_000
#: Size of the second (smaller) source clip, pixels: the footage's own size, re-encoded like the 1080p one.
CLIP_720P_WIDTH, CLIP_720P_HEIGHT = 1280, 720


def clip_name(width: int, height: int) -> str:
    """Cache file name of a clip: every parameter of it is in the name, so changing one builds a new clip."""
    return (
        f"bigbuckbunny-{width}x{height}-lanczos-crf{CLIP_CRF}-aac{CLIP_AUDIO_BITRATE // 1000}k"
        f"-{CLIP_SECONDS:g}s.mp4"
    )


#: Cache file name of the 1080p clip.
CLIP_NAME = clip_name(CLIP_WIDTH, CLIP_HEIGHT)

#: x264 presets that ``--presets`` accepts (the ones a deployment may configure).
OFFERED_PRESETS = ("ultrafast", "veryfast", "medium")
#: Presets whose realtime factor is measured by default (``medium`` is slow: opt in).
DEFAULT_PRESETS = ("ultrafast", "veryfast")
#: Realtime factor (content seconds / wall seconds) of the bare single pass at 1080p: goal.
GOAL_REALTIME_1080P = 1.0
#: Preset of the single-pass output whose quality is measured (the production worker's preset).
QUALITY_PRESET = "veryfast"

#: Per-rendition wall time / single-pass wall time recorded in docs/decisions.md ("FFmpeg") (720p source, 3 rungs): a
#: reference printed next to ours, not a goal (the issue asks for the ratio; see bench/README.md).
REFERENCE_PER_RENDITION_RATIO = 1.79
#: Pipeline complete->READY wall time / single-pass wall time must be at most this.
GOAL_PIPELINE_OVERHEAD = 1.10
#: Interval between two ``GET /api/videos/{id}`` while waiting for READY, seconds. The READY instant is
#: the gallery's own (``updatedAt`` of the READY video, set by the transition), so polling can be slow
#: and cheap: every poll costs CPU (client, nginx, gallery, PostgreSQL) that the job's ffmpeg would use.
POLL_SECONDS = 1.0
#: Give up waiting for READY after this many seconds.
READY_TIMEOUT_SECONDS = 1800.0
#: How long the idle stack's CPU use is sampled before the first upload, seconds.
IDLE_SECONDS = 10.0
#: Watchdog of the bare ffmpeg runs: kill ffmpeg if its output time stalls this long, seconds.
STALL_TIMEOUT_SECONDS = 600.0

#: The isolated benchmark stack: :class:`IsolatedStack` name and port slot (edge 28080, S3 29000,
#: services 28101.., RTMP 21935; databases ``reelhouse_bench_*``, queues ``reelhouse.bench.*``...).
BENCH_STACK_NAME, BENCH_STACK_SLOT = "bench", 2
#: Transcoder workers of the benchmark stack (competing consumers, as the local stack's default).
BENCH_STACK_WORKERS = 2


def log(message: str) -> None:
    """Progress line on stderr (the results table alone goes to stdout)."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """One measured run: ``wall`` elapsed seconds, ``cpu`` user + system CPU seconds of the children."""

    wall: float
    cpu: float


def children_cpu_seconds() -> float:
    """User + system CPU seconds of every child process this process has waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], object]) -> Timing:
    """Run ``action`` and return its wall seconds and the CPU seconds of the children it waited for.

    Only ``action`` may start (and reap) child processes meanwhile, or their CPU is counted too.
    """
    cpu0 = children_cpu_seconds()
    t0 = time.perf_counter()
    action()
    wall = time.perf_counter() - t0
    return Timing(wall=wall, cpu=children_cpu_seconds() - cpu0)


def median_timing(runs: Sequence[Timing]) -> Timing:
    """Median wall seconds and median CPU seconds of several runs (taken separately)."""
    return Timing(wall=statistics.median(t.wall for t in runs), cpu=statistics.median(t.cpu for t in runs))


def spread(values: Sequence[float]) -> str:
    """`` (runs 1.0-2.0 s)``: the fastest and slowest of several runs in seconds; empty for one run."""
    if len(values) < 2:
        return ""
    return f" (runs {min(values):.1f}-{max(values):.1f} s)"


# --------------------------------------------------------------------------------------------------
# The clip
# --------------------------------------------------------------------------------------------------


def build_clip(source: Path, cache_dir: Path, width: int = CLIP_WIDTH, height: int = CLIP_HEIGHT) -> Path:
    """A benchmark clip in ``cache_dir`` (built from ``source`` unless already cached); returns its path.

    ``width`` x ``height`` (lanczos scale, square pixels; 1280x720 is the footage's own size, so only
    re-encoded), x264 CRF 18 yuv420p, AAC stereo, ``source`` looped (``-stream_loop``) and cut to
    :data:`CLIP_SECONDS` seconds. Written to a temporary name and renamed, so an interrupted build never
    leaves a half clip in the cache.
    """
    clip = cache_dir / clip_name(width, height)
    if clip.is_file() and clip.stat().st_size > 0:
        log(f"clip cached: {clip}")
        return clip
    if not source.is_file():
        raise FileNotFoundError(f"source footage {source} not found")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = clip.with_name(clip.name + ".partial.mp4")
    argv = [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-stream_loop", "-1", "-i", str(source), "-t", f"{CLIP_SECONDS:g}",
        "-vf", f"scale={width}:{height}:flags=lanczos,setsar=1,format=yuv420p",
        "-c:v", "libx264", "-crf", str(CLIP_CRF), "-preset", "medium",
        "-c:a", "aac", "-b:a", str(CLIP_AUDIO_BITRATE), "-ac", "2",
        "-movflags", "+faststart", str(partial),
    ]  # fmt: skip
    log(f"building the clip (once): {clip}")
    t0 = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"building the clip failed: {result.stderr.strip()[-2000:]}")
    os.replace(partial, clip)
    log(f"clip built in {time.perf_counter() - t0:.1f} s")
    return clip


# --------------------------------------------------------------------------------------------------
# Bare ffmpeg runs
# --------------------------------------------------------------------------------------------------


def prepare_out_dir(out: Path, renditions: Sequence[Rendition]) -> None:
    """Empty ``out`` with one sub-directory per rendition, as ``transcode_to_hls`` leaves it before ffmpeg."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for rendition in renditions:
        (out / rendition.name).mkdir()


def run_hls(argv: list[str], duration: float, out: Path) -> None:
    """Run one HLS ffmpeg argv with the worker's ``run_ffmpeg`` and check it wrote a master playlist."""
    from reelhouse.transcoder.adapters import ffmpeg as ff

    ff.run_ffmpeg(argv, duration, None, stall_timeout_seconds=STALL_TIMEOUT_SECONDS)
    if not (out / ff.MASTER_PLAYLIST).is_file():
        raise RuntimeError(f"ffmpeg wrote no master playlist in {out}")


def bare_single_pass(
    clip: Path,
    info: MediaInfo,
    renditions: Sequence[Rendition],
    out: Path,
    preset: str,
    segment: float,
    verbose: bool,
    images: ImagePlan | None = None,
) -> Timing:
    """Time the worker's one-pass ladder encode of ``clip`` into ``out`` (seconds wall and CPU); with
    ``images``, the pictures too (the worker's real argv)."""
    from reelhouse.transcoder.adapters import ffmpeg as ff

    prepare_out_dir(out, renditions)
    if images is not None:
        ff.prepare_image_dirs(out, images)
    argv = ff.build_hls_command(clip, out, renditions, info, segment_seconds=segment, preset=preset, images=images)
    if verbose:
        log(f"{'worker' if images else 'single'} pass argv: {shlex.join(argv)}")
    return timed(lambda: run_hls(argv, info.duration_seconds, out))


def one_run_per_rendition(
    clip: Path,
    info: MediaInfo,
    renditions: Sequence[Rendition],
    out: Path,
    preset: str,
    segment: float,
    verbose: bool,
) -> tuple[Timing, dict[str, Timing]]:
    """Time the same ladder encoded by one ffmpeg process per rendition, sequentially (each decodes the
    source again). Returns the total and each rendition's (seconds wall and CPU)."""
    from reelhouse.transcoder.adapters import ffmpeg as ff

    each: dict[str, Timing] = {}
    for rendition in renditions:
        rung_out = out / rendition.name
        prepare_out_dir(rung_out, [rendition])
        argv = ff.build_hls_command(clip, rung_out, [rendition], info, segment_seconds=segment, preset=preset)
        if verbose:
            log(f"{rendition.name} argv: {shlex.join(argv)}")
        each[rendition.name] = timed(lambda a=argv, o=rung_out: run_hls(a, info.duration_seconds, o))
    total = Timing(wall=sum(t.wall for t in each.values()), cpu=sum(t.cpu for t in each.values()))
    return total, each


def worker_pass(
    clip: Path, info: MediaInfo, renditions: Sequence[Rendition], out: Path, preset: str, segment: float, thumbnail_count: int, verbose: bool
) -> Timing:
    """Time the worker's real pass: the ladder plus poster candidates, thumbnails and storyboard sprites
    from the same decode (seconds wall and CPU); raises if a picture is missing."""
    from reelhouse.transcoder.adapters import ffmpeg as ff

    plan = ff.plan_images(info, thumbnail_count)
    timing = bare_single_pass(clip, info, renditions, out, preset, segment, verbose, images=plan)
    images, storyboard = ff.collect_images(out, plan)
    if images is None or storyboard is None:
        raise RuntimeError(f"the worker pass wrote no poster, thumbnails or storyboard in {out}")
    return timing


# --------------------------------------------------------------------------------------------------
# Quality of the renditions
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quality:
    """Quality of one rendition against the source scaled to its size.

    ``kbps``: measured bit rate of the rendition's MPEG-TS segments (video + audio + TS overhead),
    kbit/s over the clip's duration; ``target_kbps`` the planned x264 video bit rate (``-b:v``).
    ``ssim``: SSIM "All" (0..1, 1 = identical); ``psnr``: PSNR average over Y, U, V, dB.
    """

    name: str
    width: int
    height: int
    kbps: float
    target_kbps: float
    ssim: float
    psnr: float


_SSIM_RE = re.compile(r"\bSSIM Y:.*\bAll:([0-9.]+)")
_PSNR_RE = re.compile(r"\bPSNR y:.*\baverage:([0-9.]+|inf)")


def rendition_quality(
    clip: Path, rendition: Rendition, playlist: Path, duration: float, verbose: bool
) -> Quality:
    """SSIM and PSNR of the HLS rendition at ``playlist`` against ``clip`` scaled (bicubic) to its size.

    One ffmpeg run: both inputs get ``setpts=PTS-STARTPTS`` (the MPEG-TS segments start at a non-zero
    timestamp, the mp4 at 0, and the filters pair frames by timestamp), the source is scaled to the
    rendition's size and split; ``ssim`` passes the rendition through to ``psnr``. The summary lines
    the two filters log at the end (stderr, level info) are parsed.
    """
    graph = (
        f"[0:v]setpts=PTS-STARTPTS,scale={rendition.width}:{rendition.height}:flags=bicubic,"
        f"setsar=1,format=yuv420p,split[ref1][ref2];"
        f"[1:v]setpts=PTS-STARTPTS,setsar=1,format=yuv420p[dist];"
        f"[dist][ref1]ssim[dist2];[dist2][ref2]psnr"
    )
    argv = [
        "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
        "-i", str(clip), "-i", str(playlist),
        "-lavfi", graph, "-an", "-f", "null", "-",
    ]  # fmt: skip
    if verbose:
        log(f"quality {rendition.name} argv: {shlex.join(argv)}")
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ssim/psnr of {rendition.name} failed: {result.stderr.strip()[-2000:]}")
    ssim = _SSIM_RE.search(result.stderr)
    psnr = _PSNR_RE.search(result.stderr)
    if ssim is None or psnr is None:
        raise RuntimeError(f"no SSIM/PSNR summary for {rendition.name}: {result.stderr.strip()[-2000:]}")
    size = sum(f.stat().st_size for f in playlist.parent.glob("*.ts"))
    return Quality(
        name=rendition.name,
        width=rendition.width,
        height=rendition.height,
        kbps=size * 8 / duration / 1000,
        target_kbps=rendition.video_bitrate / 1000,
        ssim=float(ssim.group(1)),
        psnr=float(psnr.group(1)),
    )


# --------------------------------------------------------------------------------------------------
# The isolated stack
# --------------------------------------------------------------------------------------------------


def edge_answers(edge_url: str) -> bool:
    """True when something answers ``GET <edge>/healthz`` with 200."""
    import httpx

    try:
        return httpx.get(f"{edge_url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def bench_stack(preset: str, segment: float) -> IsolatedStack:
    """The isolated benchmark stack, its transcoder workers forced to ``preset`` and ``segment`` seconds
    (the worker defaults, so the pipeline encodes exactly like the bare single pass)."""
    return IsolatedStack(
        BENCH_STACK_NAME,
        BENCH_STACK_SLOT,
        {
            "REELHOUSE_STACK_WORKERS": str(BENCH_STACK_WORKERS),
            "REELHOUSE_PRESET": preset,
            "REELHOUSE_SEGMENT_SECONDS": f"{segment:g}",
        },
    )


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stats() -> dict[int, tuple[int, float, bytes]]:
    """pid -> (parent pid, CPU seconds, cmdline) of every process; CPU seconds are the process's own user
    + system time plus that of the children it has reaped."""
    stats: dict[int, tuple[int, float, bytes]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # exited meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # fields[0] is the state, [1] the parent pid
        seconds = sum(int(x) for x in fields[11:15]) / _CLOCK_TICKS  # utime stime cutime cstime
        stats[int(entry.name)] = (int(fields[1]), seconds, cmdline)
    return stats


def stack_cpu_seconds(root_pid: int) -> tuple[float, float]:
    """(transcoder workers, whole stack) CPU seconds so far of ``root_pid`` and all its descendants.

    The stack's supervisor starts every process in its own session, so the tree is followed by parent pid, not by
    process group. A worker's ffmpeg runs count once they have exited (reaped children's time).
    """
    stats = _proc_stats()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    workers = total = 0.0
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        if pid in stats:
            _, seconds, cmdline = stats[pid]
            total += seconds
            if b"reelhouse-transcoder" in cmdline:
                workers += seconds
        todo.extend(children.get(pid, []))
    return workers, total


def idle_stack_cpu(root_pid: int) -> tuple[float, float]:
    """(transcoder workers, whole stack) CPU seconds per wall second while the stack has nothing to do,
    measured over :data:`IDLE_SECONDS` (relays and consumers polling: a cost the pipeline always pays)."""
    log(f"measuring the idle stack for {IDLE_SECONDS:g} s")
    before = stack_cpu_seconds(root_pid)
    t0 = time.perf_counter()
    time.sleep(IDLE_SECONDS)
    after = stack_cpu_seconds(root_pid)
    wall = time.perf_counter() - t0
    return (after[0] - before[0]) / wall, (after[1] - before[1]) / wall


# --------------------------------------------------------------------------------------------------
# Pipeline runs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineRun:
    """One upload through the stack, seconds.

    ``wall``: complete returned -> the gallery's READY transition (its ``updatedAt``; same machine, same
    clock). ``seen``: complete returned -> first poll showing READY (every 1 s). ``job``: the worker's
    ``transcode_seconds`` (download .. upload of the package). ``to_job``: complete returned -> job row
    created (event delivery to a worker); ``after_job``: job finished -> READY (completion event through
    the outbox and the broker to the gallery). ``worker_cpu``/``stack_cpu``: CPU seconds of the transcoder workers
    (with their ffmpeg children) and of every stack process in that window, None for a reused stack.
    """

    wall: float
    seen: float
    job: float
    to_job: float
    after_job: float
    worker_cpu: float | None
    stack_cpu: float | None


def job_row(settings: PlatformSettings, video_id: str) -> tuple[float, datetime, datetime]:
    """(transcode_seconds, started_at, finished_at) of the video's completed job in the transcoder DB."""
    import psycopg

    from reelhouse.platform.db import _libpq_conninfo

    with psycopg.connect(_libpq_conninfo(settings.database_url_for("transcoder"))) as conn:
        row = conn.execute(
            "SELECT transcode_seconds, started_at, finished_at FROM transcode_jobs "
            "WHERE video_id = %s AND status = 'COMPLETED' ORDER BY finished_at DESC LIMIT 1",
            (uuid.UUID(video_id),),
        ).fetchone()
    if row is None or row[0] is None:
        raise RuntimeError(f"no completed transcode job for video {video_id}")
    return float(row[0]), row[1], row[2]


def pipeline_run(
    client: ReelhouseClient, settings: PlatformSettings, clip: Path, run: int, stack_pid: int | None
) -> PipelineRun:
    """Upload ``clip`` through the API and time complete -> READY; raises if the video ends FAILED."""
    video = client.create_video(f"bench run {run}: {clip.name}", clip)
    log(f"run {run}: uploading {clip.stat().st_size / 1e6:.1f} MB as video {video['id']}")
    client.upload_file(video["id"], clip)
    t_complete = time.perf_counter()  # upload_file returns right after POST .../complete answered
    wall_complete = time.time()
    cpu0 = stack_cpu_seconds(stack_pid) if stack_pid else None
    deadline = t_complete + READY_TIMEOUT_SECONDS
    while True:
        state = client.get_video(video["id"])
        if state["status"] in ("READY", "FAILED"):
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(
                f"video {video['id']} still {state['status']} after {READY_TIMEOUT_SECONDS:g} s"
            )
        time.sleep(POLL_SECONDS)
    seen = time.perf_counter() - t_complete
    if state["status"] != "READY":
        raise RuntimeError(f"video {video['id']} FAILED: {state.get('failReason')} {state.get('failDetail')}")
    wall_ready = datetime.fromisoformat(state["updatedAt"].replace("Z", "+00:00")).timestamp()
    wall = wall_ready - wall_complete
    cpu1 = stack_cpu_seconds(stack_pid) if stack_pid else None
    job_seconds, started_at, finished_at = job_row(settings, video["id"])
    worker_cpu = stack_cpu = None
    if cpu0 is not None and cpu1 is not None:
        worker_cpu, stack_cpu = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    result = PipelineRun(
        wall=wall,
        seen=seen,
        job=job_seconds,
        to_job=started_at.timestamp() - wall_complete,
        after_job=wall_ready - finished_at.timestamp(),
        worker_cpu=worker_cpu,
        stack_cpu=stack_cpu,
    )
    log(f"run {run}: READY {wall:.1f} s after complete (seen {seen:.1f} s, job {job_seconds:.1f} s)")
    return result


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def goal(met: bool) -> str:
    """Suffix after a goal: empty when met, `` MISSED`` otherwise."""
    return "" if met else " MISSED"


def load_avg() -> str:
    """1, 5 and 15 minute load averages (runnable processes)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, default=1, help="repeat every measurement N times; medians printed"
    )
    parser.add_argument("--skip-pipeline", action="store_true", help="bare ffmpeg measurements only")
    parser.add_argument(
        "--presets",
        default=",".join(DEFAULT_PRESETS),
        help=f"comma-separated x264 presets whose 1080p realtime factor is measured, among "
        f"{','.join(OFFERED_PRESETS)} (default: {','.join(DEFAULT_PRESETS)}; empty: none)",
    )
    parser.add_argument(
        "--skip-720p", action="store_true", help="no 720p single pass vs one run per rendition"
    )
    parser.add_argument(
        "--skip-quality", action="store_true", help="no SSIM/PSNR of the renditions (720p clip)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the HLS outputs (path printed)")
    parser.add_argument("--verbose", action="store_true", help="print the ffmpeg argv of every bare run")
    parser.add_argument(
        "--no-stack",
        action="store_true",
        help="reuse a running stack at --edge-url instead of starting the isolated one",
    )
    parser.add_argument(
        "--edge-url",
        default=os.environ.get("REELHOUSE_BENCH_EDGE_URL"),
        help="edge of the stack to reuse (default: $REELHOUSE_BENCH_EDGE_URL, else http://127.0.0.1:8080)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    unknown = [p for p in presets if p not in OFFERED_PRESETS]
    if unknown:
        parser.error(f"--presets: unknown {','.join(unknown)} (offered: {','.join(OFFERED_PRESETS)})")
    args.presets = list(dict.fromkeys(presets))
    if os.environ.get("REELHOUSE_BENCH_EDGE_URL"):
        args.no_stack = True
    if args.no_stack and not args.edge_url:
        args.edge_url = "http://127.0.0.1:8080"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``make bench``; returns the exit code (0 unless something failed)."""
    args = parse_args(argv)
    from reelhouse.transcoder.adapters import ffmpeg as ff
    from reelhouse.transcoder.domain.ladder import plan_ladder
    from reelhouse.transcoder.settings import TranscoderSettings

    defaults = TranscoderSettings.model_fields
    preset: str = defaults["preset"].default
    segment: float = defaults["segment_seconds"].default
    thumbnail_count: int = defaults["thumbnail_count"].default

    load_start = load_avg()
    cores = len(os.sched_getaffinity(0))
    need_720p = not args.skip_720p or not args.skip_quality
    try:
        clip = build_clip(SOURCE_MEDIA, CACHE_DIR)
        info = ff.probe(clip)
        renditions = plan_ladder(info)
        if need_720p:
            clip720 = build_clip(SOURCE_MEDIA, CACHE_DIR, CLIP_720P_WIDTH, CLIP_720P_HEIGHT)
            info720 = ff.probe(clip720)
            renditions720 = plan_ladder(info720)
    except Exception as exc:  # reported, then exit 1
        log(f"FAILED: {type(exc).__name__}: {exc}")
        return 1
    work = Path(tempfile.mkdtemp(prefix="reelhouse-bench-"))

    single720_runs: list[Timing] = []
    split720_runs: list[Timing] = []
    split720_each: dict[str, list[Timing]] = {r.name: [] for r in renditions720} if need_720p else {}
    #: preset -> bare 1080p single-pass runs; the worker's default preset reuses ``single_runs``.
    preset_runs: dict[str, list[Timing]] = {p: [] for p in args.presets if p != preset}
    qualities: list[Quality] = []

    single_runs: list[Timing] = []
    split_runs: list[Timing] = []
    split_each: dict[str, list[Timing]] = {r.name: [] for r in renditions}
    worker_runs: list[Timing] = []
    pipeline_runs: list[PipelineRun] = []
    paired_bare: list[Timing] = []
    stack: IsolatedStack | None = None
    stack_note = ""
    idle: tuple[float, float] | None = None
    try:
        for run in range(1, args.runs + 1):
            log(
                f"run {run}/{args.runs}: bare single pass ({', '.join(r.name for r in renditions)}, {preset})"
            )
            t = bare_single_pass(
                clip, info, renditions, work / f"single-{run}", preset, segment, args.verbose
            )
            single_runs.append(t)
            log(f"run {run}: single pass wall {t.wall:.1f} s cpu {t.cpu:.1f} s")
            log(f"run {run}/{args.runs}: one ffmpeg run per rendition")
            total, each = one_run_per_rendition(
                clip, info, renditions, work / f"per-rendition-{run}", preset, segment, args.verbose
            )
            split_runs.append(total)
            for name, timing in each.items():
                split_each[name].append(timing)
            log(f"run {run}: per rendition wall {total.wall:.1f} s cpu {total.cpu:.1f} s")
            log(f"run {run}/{args.runs}: worker pass (ladder + poster, thumbnails, storyboard)")
            t = worker_pass(
                clip, info, renditions, work / f"worker-{run}", preset, segment, thumbnail_count, args.verbose
            )
            worker_runs.append(t)
            log(f"run {run}: worker pass wall {t.wall:.1f} s cpu {t.cpu:.1f} s")
            if not args.keep:
                for sub in ("single", "per-rendition", "worker"):
                    shutil.rmtree(work / f"{sub}-{run}", ignore_errors=True)

            if not args.skip_720p:
                names720 = ", ".join(r.name for r in renditions720)
                log(f"run {run}/{args.runs}: 720p clip, bare single pass ({names720}, {preset})")
                t = bare_single_pass(
                    clip720, info720, renditions720, work / f"single720-{run}", preset, segment, args.verbose
                )
                single720_runs.append(t)
                log(f"run {run}: 720p single pass wall {t.wall:.1f} s cpu {t.cpu:.1f} s")
                log(f"run {run}/{args.runs}: 720p clip, one ffmpeg run per rendition")
                total, each = one_run_per_rendition(
                    clip720, info720, renditions720, work / f"per-rendition720-{run}", preset, segment,
                    args.verbose,
                )  # fmt: skip
                split720_runs.append(total)
                for name, timing in each.items():
                    split720_each[name].append(timing)
                log(f"run {run}: 720p per rendition wall {total.wall:.1f} s cpu {total.cpu:.1f} s")
                if not args.keep:
                    shutil.rmtree(work / f"per-rendition720-{run}", ignore_errors=True)
                    if run > 1 or preset != QUALITY_PRESET or args.skip_quality:  # run 1's: for quality
                        shutil.rmtree(work / f"single720-{run}", ignore_errors=True)

            for other in preset_runs:
                log(f"run {run}/{args.runs}: 1080p bare single pass, preset {other}")
                t = bare_single_pass(
                    clip, info, renditions, work / f"preset-{other}-{run}", other, segment, args.verbose
                )
                preset_runs[other].append(t)
                log(f"run {run}: preset {other} wall {t.wall:.1f} s cpu {t.cpu:.1f} s")
                if not args.keep:
                    shutil.rmtree(work / f"preset-{other}-{run}", ignore_errors=True)

        if not args.skip_quality:
            quality_out = work / "single720-1"
            if args.skip_720p or preset != QUALITY_PRESET:
                log(f"720p clip: single pass ({QUALITY_PRESET}) for the quality measurement")
                quality_out = work / "quality720"
                bare_single_pass(
                    clip720, info720, renditions720, quality_out, QUALITY_PRESET, segment, args.verbose
                )
            for rendition in renditions720:
                log(f"quality: SSIM/PSNR of {rendition.name} against the 720p clip scaled to its size")
                q = rendition_quality(
                    clip720,
                    rendition,
                    quality_out / rendition.name / ff.VARIANT_PLAYLIST,
                    info720.duration_seconds,
                    args.verbose,
                )
                qualities.append(q)
                log(f"quality {q.name}: SSIM {q.ssim:.4f} PSNR {q.psnr:.2f} dB")
            if not args.keep:
                shutil.rmtree(quality_out, ignore_errors=True)
        load_bare_end = load_avg()

        if not args.skip_pipeline:
            from reelhouse.client import ReelhouseClient
            from reelhouse.platform.auth import issue_token
            from reelhouse.platform.settings import PlatformSettings

            if args.no_stack:
                settings = PlatformSettings()
                edge = args.edge_url.rstrip("/")
                if not edge_answers(edge):
                    raise RuntimeError(f"no stack answers at {edge} (start one, or drop --no-stack)")
                stack_note = f" (reused stack at {edge}: its own preset and segment settings)"
                log(f"using the running stack at {edge}")
            else:
                candidate = bench_stack(preset, segment)
                settings = candidate.settings()
                edge = candidate.edge_url
                if edge_answers(edge):  # checked before start(), which drops the bench databases
                    raise RuntimeError(
                        f"something already answers on the bench edge {edge}; stop it or use --no-stack"
                    )
                log(f"starting the isolated stack on {edge} (log: {candidate.log_path})")
                stack = candidate  # stopped in the finally below even if start() fails half-way
                stack.start()
            client = ReelhouseClient(edge, issue_token("bench-user", settings.jwt_secret), timeout=60)
            try:
                stack_pid = stack.proc.pid if stack is not None and stack.proc is not None else None
                if stack_pid is not None:
                    idle = idle_stack_cpu(stack_pid)
                for run in range(1, args.runs + 1):
                    # A bare pass right before each upload, on the same machine state (the idle stack
                    # running, the same minute of a shared host): the overhead is taken pair by pair.
                    log(f"run {run}/{args.runs}: bare single pass paired with the pipeline run")
                    paired_bare.append(
                        bare_single_pass(clip, info, renditions, work / f"paired-{run}", preset, segment, args.verbose)
                    )
                    shutil.rmtree(work / f"paired-{run}", ignore_errors=True)
                    pipeline_runs.append(pipeline_run(client, settings, clip, run, stack_pid))
            finally:
                client.close()
    except Exception as exc:  # reported, then exit 1
        log(f"FAILED: {type(exc).__name__}: {exc}")
        return 1
    finally:
        if stack is not None and stack.proc is not None:
            log("stopping the stack")
            stack.stop()
        if args.keep:
            log(f"outputs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    # ---- table --------------------------------------------------------------------------------------
    seconds = info.duration_seconds
    single = median_timing(single_runs)
    split = median_timing(split_runs)
    worker = median_timing(worker_runs)
    n = args.runs
    what = f"median of {n} runs" if n > 1 else "1 run"
    print(
        f"clip: {info.width}x{info.height} {info.frame_rate:g} fps {seconds:.1f} s, {clip.stat().st_size / 1e6:.1f} MB; "
        f"ladder {','.join(r.name for r in renditions)} ({preset}, {segment:g} s segments); "
        f"cores: {cores}; load avg: {load_start}"
    )
    print(f"figures: {what}; wall = elapsed s, cpu = user+system s of the ffmpeg processes")
    print(
        f"bare single pass         wall {single.wall:5.1f} s  cpu {single.cpu:5.1f} s  "
        f"realtime x{seconds / single.wall:.2f}{spread([t.wall for t in single_runs])}"
    )
    ratio = split.wall / single.wall
    print(
        f"one run per rendition    wall {split.wall:5.1f} s  cpu {split.cpu:5.1f} s  "
        f"ratio {ratio:.2f}x slower (reference {REFERENCE_PER_RENDITION_RATIO:g}x)"
        f"  cpu ratio {split.cpu / single.cpu:.2f}x{spread([t.wall for t in split_runs])}"
    )
    for name, timings in split_each.items():
        m = median_timing(timings)
        print(f"  {name:<22} wall {m.wall:5.1f} s  cpu {m.cpu:5.1f} s")
    print(
        f"worker pass              wall {worker.wall:5.1f} s  cpu {worker.cpu:5.1f} s  "
        f"x{worker.wall / single.wall:.2f} wall, x{worker.cpu / single.cpu:.2f} cpu of bare "
        f"(+ poster, {thumbnail_count} thumbnails, storyboard in the same pass){spread([t.wall for t in worker_runs])}"
    )

    # single pass vs one run per rendition, both sources
    print()
    print(
        f"single pass vs one run per rendition (preset {preset}, {what}; docs/decisions.md reference: 720p source, 3 rungs, "
        f"wall ratio {REFERENCE_PER_RENDITION_RATIO:g}x)"
    )
    rows: list[tuple[str, Sequence[Rendition], list[Timing], list[Timing]]] = [
        ("1080p", renditions, single_runs, split_runs)
    ]
    if single720_runs:
        rows.append(("720p", renditions720, single720_runs, split720_runs))
    print(
        f"{'source':<7} | {'ladder':<20} | {'single wall':>11} | {'single cpu':>10} | "
        f"{'per-rend wall':>13} | {'per-rend cpu':>12} | {'wall ratio':>10} | {'cpu ratio':>9}"
    )
    for label, src_renditions, singles, splits in rows:
        one, per = median_timing(singles), median_timing(splits)
        wall_ratio = per.wall / one.wall
        print(
            f"{label:<7} | {','.join(r.name for r in src_renditions):<20} | {one.wall:9.1f} s | {one.cpu:8.1f} s | "
            f"{per.wall:11.1f} s | {per.cpu:10.1f} s | {wall_ratio:9.2f}x | {per.cpu / one.cpu:8.2f}x"
        )
    if single720_runs:
        print(
            f"  720p clip: {info720.width}x{info720.height} {info720.frame_rate:g} fps "
            f"{info720.duration_seconds:.1f} s, {clip720.stat().st_size / 1e6:.1f} MB; per rendition: "
            + ", ".join(f"{name} {median_timing(ts).wall:.1f} s" for name, ts in split720_each.items())
        )

    # realtime factor per preset at 1080p
    if args.presets:
        print()
        print(
            f"realtime factor of the bare 1080p single pass per preset ({what}; "
            f"goal >= {GOAL_REALTIME_1080P:.1f} at 1080p on {cores} cores)"
        )
        print(f"{'preset':<10} | {'wall':>7} | {'cpu':>7} | {'realtime':>8} | goal")
        for name in args.presets:
            runs_p = single_runs if name == preset else preset_runs[name]
            m = median_timing(runs_p)
            factor = seconds / m.wall
            note = "  (the bare single pass above)" if name == preset else ""
            print(
                f"{name:<10} | {m.wall:5.1f} s | {m.cpu:5.1f} s | {factor:7.2f}x | "
                f"{'ok' if factor >= GOAL_REALTIME_1080P else 'MISSED'}{note}"
            )

    # quality of the renditions
    if qualities:
        print()
        print(
            f"quality of the {QUALITY_PRESET} single-pass renditions of the 720p clip against it scaled "
            f"(bicubic) to each size"
        )
        print(f"{'quality':<8} | {'W x H':>9} | {'kbit/s':>6} | {'target':>6} | {'SSIM':>6} | {'PSNR dB':>7}")
        for q in qualities:
            print(
                f"{q.name:<8} | {f'{q.width}x{q.height}':>9} | {q.kbps:6.0f} | {q.target_kbps:6.0f} | "
                f"{q.ssim:6.4f} | {q.psnr:7.2f}"
            )
        print("  kbit/s: measured, MPEG-TS segments incl. audio; target: planned x264 video bit rate (-b:v)")
    print()
    if pipeline_runs:
        wall = statistics.median(p.wall for p in pipeline_runs)
        job = statistics.median(p.job for p in pipeline_runs)
        ratios = [p.wall / b.wall for p, b in zip(pipeline_runs, paired_bare, strict=True)]
        overhead = statistics.median(ratios)
        bare_wall = statistics.median(b.wall for b in paired_bare)
        print(
            f"pipeline complete->READY wall {wall:5.1f} s  (job {job:.1f} s)  "
            f"overhead {overhead:.2f}x (goal <= {GOAL_PIPELINE_OVERHEAD:.2f}){goal(overhead <= GOAL_PIPELINE_OVERHEAD)}  "
            f"realtime x{seconds / wall:.2f}{spread([p.wall for p in pipeline_runs])}{stack_note}"
        )
        print(
            f"  overhead               pipeline wall / wall of a bare single pass run just before it "
            f"(paired bare {bare_wall:.1f} s{spread([b.wall for b in paired_bare])}); per run: "
            + ", ".join(f"{r:.3f}x" for r in ratios)
            + f"; against the bare single pass above (no stack up): {wall / single.wall:.2f}x"
        )
        to_job = statistics.median(p.to_job for p in pipeline_runs)
        after_job = statistics.median(p.after_job for p in pipeline_runs)
        print(
            f"  split                  complete->job start {to_job:.2f} s, job {job:.1f} s "
            f"(x{job / bare_wall:.2f} of paired bare), job end->READY {after_job:.2f} s, READY seen by a {POLL_SECONDS:g} s poll "
            f"{statistics.median(p.seen for p in pipeline_runs):.1f} s"
        )
        cpus = [(p.worker_cpu, p.stack_cpu) for p in pipeline_runs if p.worker_cpu is not None]
        if cpus:
            worker_cpu = statistics.median(c[0] for c in cpus)
            stack_cpu = statistics.median(c[1] for c in cpus)
            print(
                f"  cpu                    transcoder workers incl. ffmpeg {worker_cpu:.1f} s, "
                f"whole stack {stack_cpu:.1f} s (worker pass alone {worker.cpu:.1f} s)"
            )
        if idle is not None:
            print(
                f"  idle stack             {idle[1]:.2f} cpu s per s (workers {idle[0]:.2f}), "
                f"measured over {IDLE_SECONDS:g} s before the first upload"
            )
    else:
        print("pipeline complete->READY skipped (--skip-pipeline)")
    if pipeline_runs:
        print(f"load avg: start {load_start}; after bare runs {load_bare_end}; end {load_avg()}")
    else:
        print(f"load avg: start {load_start}; end {load_bare_end}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
