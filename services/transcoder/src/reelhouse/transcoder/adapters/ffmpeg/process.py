"""Running ffmpeg under a supervisor: progress, liveness (the rule: :mod:`reelhouse.transcoder.domain.liveness`),
stall and cancel kills, failure classification from stderr, and what the process cost (``wait4``).

Also what the supervisor samples of a running ladder pass: the read offset of its source
(``/proc/<pid>/fdinfo``, Linux) and the media seconds already written as HLS segments
(:func:`completed_segments`, :func:`written_media_seconds`). Blocking; asyncio callers use
``asyncio.to_thread``. docs/transcoding.md, "Liveness and progress of the pass".
"""

from __future__ import annotations

import collections
import logging
import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelhouse.transcoder.adapters.ffmpeg.layout import SEGMENT_NAME_RE
from reelhouse.transcoder.domain.ladder import FailReason, MediaRejected, Rendition
from reelhouse.transcoder.domain.liveness import PassLiveness

__all__ = [
    "PARTIAL_SEGMENT_CEILING",
    "STDERR_TAIL_LINES",
    "SUPERVISOR_POLL_SECONDS",
    "FfmpegRun",
    "TranscodeCancelled",
    "completed_media_seconds",
    "completed_segments",
    "run_ffmpeg",
    "stderr_tail",
    "written_media_seconds",
]

log = logging.getLogger(__name__)

#: stderr lines kept for error details (bounded: memory stays flat however much ffmpeg logs).
STDERR_TAIL_LINES = 20
#: Longest error detail (characters) taken from stderr.
DETAIL_MAX_CHARS = 4000

# Substrings (lower case) of ffmpeg/ffprobe messages that mean the *input* is damaged or truncated.
_CORRUPT_MARKERS = (
    "invalid data found when processing input",
    "moov atom not found",
    "partial file",  # mov/mp4 demuxer: the file ends before the data its index points to
    "invalid nal unit size",
    "error splitting the input into nal units",
    "truncated",
    "end of file",
)
# Messages that mean the input is truncated even when ffmpeg exits 0 (it encodes what it could read).
_TRUNCATION_MARKERS = ("partial file",)
# Messages that point at the machine rather than the file (the job may succeed elsewhere or later).
_ENVIRONMENT_MARKERS = (
    "no space left on device",
    "cannot allocate memory",
    "resource temporarily unavailable",
    "input/output error",
)
_UNSUPPORTED_CODEC_MARKERS = (
    "decoder (codec",  # "Decoder (codec xyz) not found for input stream"
    "unknown decoder",
    "no decoder for",
)


class TranscodeCancelled(Exception):
    """``run_ffmpeg`` was asked to stop (its cancel event was set); ffmpeg was killed. Not a media failure."""


def stderr_tail(text: bytes | str | None, lines: int = STDERR_TAIL_LINES) -> str:
    """The last ``lines`` non-blank lines of ffmpeg's stderr (bytes decoded as UTF-8, bad bytes replaced),
    at most :data:`DETAIL_MAX_CHARS` characters: the detail of an error. ``""`` for None."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(kept)[-DETAIL_MAX_CHARS:]


def _classify_failure(returncode: int, seen: set[str], tail: str) -> MediaRejected:
    detail = f"ffmpeg exited with {returncode}\n{tail}".strip()[-DETAIL_MAX_CHARS:]
    if returncode < 0 or "environment" in seen:  # killed by a signal (OOM killer...), disk full, I/O error
        return MediaRejected(FailReason.TRANSCODE_ERROR, detail, retryable=True)
    if "unsupported_codec" in seen:
        return MediaRejected(FailReason.UNSUPPORTED_CODEC, detail)
    if "corrupt" in seen:
        return MediaRejected(FailReason.CORRUPT_SOURCE, detail)
    return MediaRejected(FailReason.TRANSCODE_ERROR, detail, retryable=True)


@dataclass(frozen=True)
class FfmpegRun:
    """What one successful ffmpeg process cost, from ``wait4``: ``cpu_seconds`` (user + system CPU
    seconds), ``peak_rss_bytes`` (its largest resident set, bytes), ``wall_seconds``, and how many times
    it called ``on_progress`` (``progress_reports``)."""

    cpu_seconds: float
    peak_rss_bytes: int
    wall_seconds: float
    progress_reports: int


#: How often (seconds) the supervisor samples a running ffmpeg for liveness and progress.
SUPERVISOR_POLL_SECONDS = 0.25


def _first_input_file(argv: Sequence[str]) -> Path | None:
    """The path after the first ``-i`` of an ffmpeg argv when it names a regular file, else None
    (a pipe, a device, a URL)."""
    for index, arg in enumerate(argv[:-1]):
        if arg == "-i":
            candidate = Path(argv[index + 1])
            try:
                return candidate.resolve() if candidate.is_file() else None
            except OSError:
                return None
    return None


def _read_position(pid: int, source: Path) -> int | None:
    """How many bytes of ``source`` process ``pid`` has read so far: the file offset of the descriptor it
    has open on it (``pos`` in ``/proc/<pid>/fdinfo/<fd>``, Linux). None when unknown (no ``/proc``, the
    file not open yet or any more)."""
    fd_dir = f"/proc/{pid}/fd"
    target = str(source)
    try:
        for fd in os.listdir(fd_dir):
            try:
                if os.readlink(f"{fd_dir}/{fd}") != target:
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as info:
                    for line in info:
                        if line.startswith("pos:"):
                            return int(line.split()[1])
            except (OSError, ValueError):
                continue
    except OSError:
        return None
    return None


def run_ffmpeg(
    argv: Sequence[str],
    duration_seconds: float,
    on_progress: Callable[[float], None] | None = None,
    stall_timeout_seconds: float = 120,
    *,
    cancel: threading.Event | None = None,
    produced_seconds: Callable[[], float] | None = None,
    lead_seconds: float = math.inf,
) -> FfmpegRun:
    """Run ffmpeg to completion under a supervisor that reports progress and kills it when it hangs;
    blocking (call through ``asyncio.to_thread``). Returns :class:`FfmpegRun`.

    Every :data:`SUPERVISOR_POLL_SECONDS` the supervisor samples what the pass really produces and feeds a
    :class:`~reelhouse.transcoder.domain.liveness.PassLiveness` (the rule and why it does not rely on
    ffmpeg's own report timing: that module): ffmpeg's ``out_time_us``/``frame`` when ``argv`` has
    ``-progress pipe:1`` (it may say nothing until the end), ``produced_seconds()`` (media seconds written:
    the HLS pass passes :func:`written_media_seconds`, whole segments plus the share of the segment being
    written) and the read offset of the
    source file named by the first ``-i``. ``lead_seconds`` bounds how far the read-offset estimate may
    run ahead of what is confirmed (one segment length for the HLS pass).

    ``duration_seconds`` (of the source) turns those into a percentage. ``on_progress(percent)`` gets
    strictly increasing floats in 0..100 in the calling thread, at most one call per second unless the
    percentage moved by >= 5 points, and a final ``100.0`` on success; if it raises, ffmpeg is killed and
    the exception propagates. A pass is killed as stalled when no signal has increased for
    ``stall_timeout_seconds`` (a truly hung ffmpeg reads and writes nothing; a slow one keeps reading).
    Setting ``cancel`` kills ffmpeg and raises :class:`TranscodeCancelled` (worker shutdown, deleted
    video). stderr is read continuously into a bounded buffer (the last 20 lines), so memory stays flat.

    Raises OSError when ffmpeg cannot be started at all (a broken worker, not a media problem), else
    :class:`MediaRejected`:
    * TIMEOUT (retryable) when the pass stalled;
    * CORRUPT_SOURCE (not retryable) when ffmpeg failed on damaged input ("Invalid data found",
      "moov atom not found", ...) or exited 0 after reading a truncated file ("partial file");
    * UNSUPPORTED_CODEC (not retryable) when no decoder exists;
    * TRANSCODE_ERROR (retryable) for any other non-zero exit, with the stderr tail as detail.
    """
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    seen: set[str] = set()
    reported: dict[str, int] = {"out_time_us": -1, "frame": -1}
    lock = threading.Lock()
    source = _first_input_file(argv)
    source_size = source.stat().st_size if source is not None else None

    started = time.monotonic()
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
    )
    liveness = PassLiveness(duration_seconds, stall_timeout_seconds, started, lead_seconds=lead_seconds)

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            line = line.rstrip()
            if not line:
                continue
            lowered = line.lower()
            if any(marker in lowered for marker in _CORRUPT_MARKERS):
                seen.add("corrupt")
            if any(marker in lowered for marker in _TRUNCATION_MARKERS):
                seen.add("truncated")
            if any(marker in lowered for marker in _UNSUPPORTED_CODEC_MARKERS):
                seen.add("unsupported_codec")
            if any(marker in lowered for marker in _ENVIRONMENT_MARKERS):
                seen.add("environment")
            tail.append(line)

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            if key in reported:
                try:
                    number = int(value)
                except ValueError:  # "N/A" before the first packet
                    continue
                with lock:
                    reported[key] = max(reported[key], number)

    readers = [
        threading.Thread(target=read_stderr, name="ffmpeg-stderr", daemon=True),
        threading.Thread(target=read_stdout, name="ffmpeg-stdout", daemon=True),
    ]
    for reader in readers:
        reader.start()

    last_percent = -1.0
    last_report = 0.0
    reports = 0

    def report(percent: float, force: bool = False) -> None:
        nonlocal last_percent, last_report, reports
        if on_progress is None or percent <= last_percent:
            return
        now = time.monotonic()
        if force or percent - last_percent >= 5.0 or now - last_report >= 1.0:
            last_percent, last_report = percent, now
            reports += 1
            on_progress(percent)

    def sample(now: float) -> float:
        with lock:
            out_time_us, frames = reported["out_time_us"], reported["frame"]
        produced = None
        if produced_seconds is not None:
            try:
                produced = produced_seconds()
            except OSError:  # the output directory is being replaced: next time
                produced = None
        return liveness.observe(
            now,
            output_seconds=out_time_us / 1e6 if out_time_us >= 0 else None,
            frames=frames if frames >= 0 else None,
            produced_seconds=produced,
            input_bytes=_read_position(proc.pid, source) if source is not None else None,
            input_size_bytes=source_size,
        )

    killed_for: str | None = None
    returncode: int | None = None
    usage: Any = None
    try:
        while returncode is None:
            try:
                pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: the exit status is known, the usage is not
                returncode = proc.wait()
                break
            if pid:
                returncode = proc.returncode = os.waitstatus_to_exitcode(status)
                usage = rusage
                break
            now = time.monotonic()
            if killed_for is None:
                if cancel is not None and cancel.is_set():
                    killed_for = "cancel"
                    _kill(proc)
                else:
                    report(sample(now))
                    if liveness.stalled(now):
                        killed_for = "stall"
                        _kill(proc)
            time.sleep(SUPERVISOR_POLL_SECONDS)
    finally:
        if returncode is None:  # on_progress raised (or we were interrupted): never leave ffmpeg behind
            _kill(proc)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
                log.error("ffmpeg pid %s did not exit after SIGKILL", proc.pid)
        for reader in readers:
            reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()

    last_lines = "\n".join(tail)
    if killed_for == "cancel":
        raise TranscodeCancelled("ffmpeg was cancelled")
    if killed_for == "stall":
        raise MediaRejected(
            FailReason.TIMEOUT,
            f"ffmpeg made no progress for {stall_timeout_seconds:g} s (read nothing, wrote nothing) and was "
            f"killed\n{last_lines}".strip(),
            retryable=True,
        )
    if returncode != 0:
        raise _classify_failure(returncode, seen, last_lines)
    if "truncated" in seen:
        raise MediaRejected(
            FailReason.CORRUPT_SOURCE,
            f"source is truncated (ffmpeg read a partial file)\n{last_lines}".strip(),
        )
    report(100.0, force=True)
    return FfmpegRun(
        cpu_seconds=usage.ru_utime + usage.ru_stime if usage is not None else 0.0,
        peak_rss_bytes=usage.ru_maxrss * 1024 if usage is not None else 0,  # Linux reports kilobytes
        wall_seconds=time.monotonic() - started,
        progress_reports=reports,
    )


def _kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL ``proc`` without reaping it (``Popen.kill`` may reap, and the supervisor needs ``wait4``'s
    resource usage)."""
    if proc.returncode is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except OSError:  # already gone
        pass


def completed_segments(out_dir: str | os.PathLike[str], renditions: Sequence[Rendition]) -> list[str]:
    """Segments of a running (or finished) :func:`build_hls_command` pass that are complete, as relative
    POSIX paths (``"720p/seg_00000.ts"``), sorted.

    Safe while ffmpeg writes: it writes each segment as ``<name>.tmp`` and renames it when the segment
    is complete (``hls_flags temp_file``), so a file under its final name never changes again. Playlists
    and the master are written at the end of the pass and are not listed. Missing directories count as
    empty.
    """
    out = Path(out_dir)
    found: list[str] = []
    for rendition in renditions:
        directory = out / rendition.name
        if not directory.is_dir():
            continue
        found.extend(f"{rendition.name}/{name}" for name in os.listdir(directory) if SEGMENT_NAME_RE.match(name))
    return sorted(found)



def completed_media_seconds(out_dir: str | os.PathLike[str], renditions: Sequence[Rendition], segment_seconds: float) -> float:
    """Media seconds that every rendition of a running :func:`build_hls_command` pass has written as
    complete segments: the smallest count of finished segments over the renditions times
    ``segment_seconds`` (keyframes are forced every ``segment_seconds`` of timestamp, so segment *k*
    ends at ``(k + 1) * segment_seconds``; the last one may be shorter, which only matters at the end).
    """
    counts = collections.Counter(path.split("/", 1)[0] for path in completed_segments(out_dir, renditions))
    return min(counts.get(r.name, 0) for r in renditions) * segment_seconds


#: Share of a segment that a segment still being written may count for (it is only known complete when
#: ffmpeg renames it), so the written-media figure never claims a segment before it exists.
PARTIAL_SEGMENT_CEILING = 0.95


def written_media_seconds(out_dir: str | os.PathLike[str], renditions: Sequence[Rendition], segment_seconds: float) -> float:
    """Media seconds that every rendition of a running :func:`build_hls_command` pass has written,
    counting the segment each rendition is writing (``seg_NNNNN.ts.tmp``, growing as the muxer flushes)
    as a fraction: its size over the expected size of a segment (the mean size of that rendition's
    complete segments, or before there is one, its target bit rate times ``segment_seconds``), at most
    :data:`PARTIAL_SEGMENT_CEILING`. The smallest figure over the renditions (the slowest one) is returned.

    Whole segments make :func:`completed_media_seconds` exact; the fraction lets the percentage move
    while a long segment of a slow rendition is encoded (a 1080p segment of 4 s can take 15 s to write),
    and is never more than one segment ahead. Missing directories count as empty.
    """
    slowest = math.inf
    for rendition in renditions:
        directory = Path(out_dir) / rendition.name
        done_sizes: list[int] = []
        partial = 0
        try:
            entries = list(os.scandir(directory))
        except OSError:
            entries = []
        for entry in entries:
            try:
                if SEGMENT_NAME_RE.match(entry.name):
                    done_sizes.append(entry.stat().st_size)
                elif entry.name.endswith(".tmp") and SEGMENT_NAME_RE.match(entry.name[: -len(".tmp")]):
                    partial = max(partial, entry.stat().st_size)
            except OSError:  # renamed or removed between listing and stat
                continue
        expected = (sum(done_sizes) / len(done_sizes)) if done_sizes else (rendition.video_bitrate + rendition.audio_bitrate) / 8 * segment_seconds
        fraction = min(PARTIAL_SEGMENT_CEILING, partial / expected) if expected > 0 else 0.0
        slowest = min(slowest, (len(done_sizes) + fraction) * segment_seconds)
    return 0.0 if slowest == math.inf else slowest
