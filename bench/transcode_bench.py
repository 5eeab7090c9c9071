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
   ffmpeg process (which decodes the source again), one after the other. Ratio to the single pass:
   goal >= 1.7x (the single pass must be worth it).
4. **worker images**: the poster and thumbnails the worker makes after the HLS pass (informative: part
   of the job, not of the bare pass).
5. **pipeline**: an isolated local stack (``IsolatedStack("bench", 2)`` from ``deploy/local/stack.py``:
   own ports, databases, queues, exchange and buckets), the same clip uploaded through the API with
   :class:`ReelhouseClient`; wall seconds from the moment ``POST /api/uploads/{id}/complete`` returned
   to the first ``GET /api/videos/{id}`` (polled every 0.1 s) that shows READY. Ratio to the bare single pass: goal <= 1.10. The server-side
   job duration (``transcode_jobs.transcode_seconds``) and the job's start/finish timestamps split
   that wall time into "event reaches a worker", "worker job" and "completion reaches the gallery".

Usage::

    .venv/bin/python bench/transcode_bench.py [--runs N] [--skip-pipeline] [--keep] [--verbose]
    .venv/bin/python bench/transcode_bench.py --no-stack --edge-url http://127.0.0.1:8080   # reuse a stack

``REELHOUSE_BENCH_EDGE_URL`` set in the environment means the same as ``--no-stack --edge-url <it>``.
The results table goes to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import os
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
    from reelhouse.transcoder.domain.ladder import MediaInfo, Rendition

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from stack import IsolatedStack  # noqa: E402

SOURCE_MEDIA = ROOT.parent / "shared" / "media" / "bigbuckbunny.mp4"
CACHE_DIR = ROOT / ".cache" / "bench"

#: Length of the benchmark clip, seconds of content.
CLIP_SECONDS = 20.0
#: Size of the benchmark clip, pixels.
CLIP_WIDTH, CLIP_HEIGHT = 1920, 1080
#: x264 constant rate factor of the clip (18: visually lossless, a demanding source for the ladder).
CLIP_CRF = 18
#: AAC bit rate of the clip, bits/s.
CLIP_AUDIO_BITRATE = 192_000
#: Cache file name: every parameter of the clip is in it, so changing one builds a new clip.
CLIP_NAME = (
    f"bigbuckbunny-{CLIP_WIDTH}x{CLIP_HEIGHT}-lanczos-crf{CLIP_CRF}-aac{CLIP_AUDIO_BITRATE // 1000}k"
    f"-{CLIP_SECONDS:g}s.mp4"
)

#: Per-rendition wall time / single-pass wall time must be at least this (the single pass pays off).
GOAL_PER_RENDITION_RATIO = 1.7
#: Pipeline complete->READY wall time / single-pass wall time must be at most this.
GOAL_PIPELINE_OVERHEAD = 1.10
#: Interval between two ``GET /api/videos/{id}`` while waiting for READY, seconds.
POLL_SECONDS = 0.1
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


def build_clip(source: Path, cache_dir: Path) -> Path:
    """The benchmark clip in ``cache_dir`` (built from ``source`` unless already cached); returns its path.

    1920x1080 (lanczos upscale, square pixels), x264 CRF 18 yuv420p, AAC stereo, ``source`` looped
    (``-stream_loop``) and cut to :data:`CLIP_SECONDS` seconds. Written to a temporary name and renamed,
    so an interrupted build never leaves a half clip in the cache.
    """
    clip = cache_dir / CLIP_NAME
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
        "-vf", f"scale={CLIP_WIDTH}:{CLIP_HEIGHT}:flags=lanczos,setsar=1,format=yuv420p",
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
) -> Timing:
    """Time the worker's one-pass ladder encode of ``clip`` into ``out`` (seconds wall and CPU)."""
    from reelhouse.transcoder.adapters import ffmpeg as ff

    prepare_out_dir(out, renditions)
    argv = ff.build_hls_command(clip, out, renditions, info, segment_seconds=segment, preset=preset)
    if verbose:
        log(f"single pass argv: {shlex.join(argv)}")
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


def worker_images(clip: Path, info: MediaInfo, out: Path, thumbnail_count: int) -> Timing:
    """Time the worker's poster + thumbnails step for ``clip`` (seconds wall and CPU)."""
    from reelhouse.transcoder.adapters import ffmpeg as ff

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return timed(lambda: ff.make_images(clip, out, info, thumbnail_count))


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

    honcho starts every stack process in its own session, so the tree is followed by parent pid, not by
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

    ``wall``: complete returned -> first poll showing READY. ``job``: the worker's
    ``transcode_seconds`` (download .. upload of the package). ``to_job``: complete returned -> job row
    created (event delivery to a worker); ``after_job``: job finished -> READY seen (completion event to
    the gallery, plus polling). ``worker_cpu``/``stack_cpu``: CPU seconds of the transcoder workers
    (with their ffmpeg children) and of every stack process in that window, None for a reused stack.
    """

    wall: float
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
    wall = time.perf_counter() - t_complete
    wall_ready = wall_complete + wall
    if state["status"] != "READY":
        raise RuntimeError(f"video {video['id']} FAILED: {state.get('failReason')} {state.get('failDetail')}")
    cpu1 = stack_cpu_seconds(stack_pid) if stack_pid else None
    job_seconds, started_at, finished_at = job_row(settings, video["id"])
    worker_cpu = stack_cpu = None
    if cpu0 is not None and cpu1 is not None:
        worker_cpu, stack_cpu = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    result = PipelineRun(
        wall=wall,
        job=job_seconds,
        to_job=started_at.timestamp() - wall_complete,
        after_job=wall_ready - finished_at.timestamp(),
        worker_cpu=worker_cpu,
        stack_cpu=stack_cpu,
    )
    log(f"run {run}: READY {wall:.1f} s after complete (job {job_seconds:.1f} s)")
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
    try:
        clip = build_clip(SOURCE_MEDIA, CACHE_DIR)
        info = ff.probe(clip)
        renditions = plan_ladder(info)
    except Exception as exc:  # reported, then exit 1
        log(f"FAILED: {type(exc).__name__}: {exc}")
        return 1
    work = Path(tempfile.mkdtemp(prefix="reelhouse-bench-"))

    single_runs: list[Timing] = []
    split_runs: list[Timing] = []
    split_each: dict[str, list[Timing]] = {r.name: [] for r in renditions}
    image_runs: list[Timing] = []
    pipeline_runs: list[PipelineRun] = []
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
            image_runs.append(worker_images(clip, info, work / f"images-{run}", thumbnail_count))
            if not args.keep:
                for sub in ("single", "per-rendition", "images"):
                    shutil.rmtree(work / f"{sub}-{run}", ignore_errors=True)
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
    images = median_timing(image_runs)
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
        f"ratio {ratio:.2f}x slower (goal >= {GOAL_PER_RENDITION_RATIO:g}x){goal(ratio >= GOAL_PER_RENDITION_RATIO)}"
        f"  cpu ratio {split.cpu / single.cpu:.2f}x{spread([t.wall for t in split_runs])}"
    )
    for name, timings in split_each.items():
        m = median_timing(timings)
        print(f"  {name:<22} wall {m.wall:5.1f} s  cpu {m.cpu:5.1f} s")
    print(
        f"worker images (info)     wall {images.wall:5.1f} s  cpu {images.cpu:5.1f} s  (poster + {thumbnail_count} thumbnails)"
    )
    if pipeline_runs:
        wall = statistics.median(p.wall for p in pipeline_runs)
        job = statistics.median(p.job for p in pipeline_runs)
        overhead = wall / single.wall
        print(
            f"pipeline complete->READY wall {wall:5.1f} s  (job {job:.1f} s)  "
            f"overhead {overhead:.2f}x (goal <= {GOAL_PIPELINE_OVERHEAD:.2f}){goal(overhead <= GOAL_PIPELINE_OVERHEAD)}  "
            f"realtime x{seconds / wall:.2f}{spread([p.wall for p in pipeline_runs])}{stack_note}"
        )
        to_job = statistics.median(p.to_job for p in pipeline_runs)
        after_job = statistics.median(p.after_job for p in pipeline_runs)
        print(
            f"  split                  complete->job start {to_job:.2f} s, job {job:.1f} s "
            f"(x{job / single.wall:.2f} of bare), job end->READY seen {after_job:.2f} s"
        )
        cpus = [(p.worker_cpu, p.stack_cpu) for p in pipeline_runs if p.worker_cpu is not None]
        if cpus:
            worker_cpu = statistics.median(c[0] for c in cpus)
            stack_cpu = statistics.median(c[1] for c in cpus)
            print(
                f"  cpu                    transcoder workers incl. ffmpeg {worker_cpu:.1f} s, "
                f"whole stack {stack_cpu:.1f} s (bare single pass + images {single.cpu + images.cpu:.1f} s)"
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
