"""FFmpeg adapter: probe a source; in one ffmpeg pass, transcode it to an HLS ladder and make its poster,
thumbnails and storyboard.

Everything here is synchronous and blocking (it runs child processes); asyncio callers use
``asyncio.to_thread``. Failures that the service reports are raised as
:class:`~reelhouse.transcoder.domain.ladder.MediaRejected` with a stable
:class:`~reelhouse.transcoder.domain.ladder.FailReason`.

Paths: sources and output directories are resolved to absolute paths before they reach ffmpeg, so a file
name can never be read as an option (leading ``-``) or a protocol (``name:...``).

The binaries are ``ffmpeg``/``ffprobe`` from PATH unless ``REELHOUSE_FFMPEG``/``REELHOUSE_FFPROBE`` name
others. Written and measured against ffmpeg 5.1 (Debian bookworm).
"""

from __future__ import annotations

import collections
import functools
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg
import m3u8

from reelhouse.platform.containers import ALLOWED_DEMUXERS, SNIFF_BYTES, describe_content, sniff_container
from reelhouse.transcoder.domain.ladder import FailReason, MediaInfo, MediaRejected, Rendition
from reelhouse.transcoder.domain.liveness import PassLiveness

__all__ = [
    "HlsOutput",
    "HlsVariant",
    "ImagePlan",
    "Images",
    "PosterWindow",
    "Storyboard",
    "StoryboardPlan",
    "TranscodeCancelled",
    "build_hls_command",
    "collect_images",
    "completed_segments",
    "frame_mean_luma",
    "image_outputs",
    "input_options",
    "make_images",
    "make_storyboard",
    "media_info_from_probe",
    "plan_images",
    "plan_storyboard",
    "prepare_image_dirs",
    "probe",
    "run_ffmpeg",
    "FfmpegRun",
    "completed_media_seconds",
    "written_media_seconds",
    "storyboard_vtt",
    "transcode_to_hls",
]

log = logging.getLogger(__name__)

FFMPEG = os.environ.get("REELHOUSE_FFMPEG", "ffmpeg")
FFPROBE = os.environ.get("REELHOUSE_FFPROBE", "ffprobe")

MASTER_PLAYLIST = "master.m3u8"
VARIANT_PLAYLIST = "index.m3u8"
SEGMENT_PATTERN = "seg_%05d.ts"
POSTER = "poster.jpg"
THUMBS_DIR = "thumbs"
THUMB_PATTERN = "thumb_%05d.jpg"

#: stderr lines kept for error details (bounded: memory stays flat however much ffmpeg logs).
STDERR_TAIL_LINES = 20
_DETAIL_MAX_CHARS = 4000

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

# Container formats that hold one still picture, not a video (ffprobe format_name values).
_IMAGE_FORMATS = frozenset({"image2", "image2pipe", "tty"})
# Codecs of still pictures: a video stream of one of these with a single frame is a picture, not a video.
_STILL_CODECS = frozenset(
    {
        "mjpeg",
        "png",
        "apng",
        "bmp",
        "gif",
        "webp",
        "tiff",
        "jpeg2000",
        "jpegls",
        "targa",
        "pcx",
        "sgi",
        "ppm",
        "pgm",
        "pgmyuv",
        "pbm",
        "pam",
        "qoi",
        "xbm",
        "xwd",
        "dpx",
        "exr",
        "hdr",
        "photocd",
        "psd",
        "ljpeg",
        "jpegxl",
    }
)
# Text rendered as video by ffmpeg's tty demuxer: not media a user meant to upload.
_TEXT_CODECS = frozenset({"ansi", "bintext", "xbin", "idf"})
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class TranscodeCancelled(Exception):
    """``run_ffmpeg`` was asked to stop (its cancel event was set); ffmpeg was killed. Not a media failure."""


# --------------------------------------------------------------------------------------------------
# Probing
# --------------------------------------------------------------------------------------------------


@functools.cache
def _decodable_codecs() -> frozenset[str]:
    """Codec names this ffmpeg build can decode (``ffmpeg -codecs``, flag D). Cached per process."""
    try:
        out = subprocess.run(
            [FFMPEG, "-hide_banner", "-codecs"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):  # pragma: no cover - ffmpeg missing: probe fails anyway
        return frozenset()
    names: set[str] = set()
    seen_rule = False
    for line in out.splitlines():
        if line.strip().startswith("---"):
            seen_rule = True
            continue
        parts = line.split()
        if seen_rule and len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] == "D":
            names.add(parts[1])
    return frozenset(names)


def _can_decode(codec: str | None) -> bool:
    known = _decodable_codecs()
    if not known:  # could not list codecs: let ffmpeg decide at transcode time
        return bool(codec)
    return bool(codec) and codec in known


def _ratio(value: Any) -> float:
    """'30000/1001' -> 29.97; '0/0', 'N/A', None -> 0.0."""
    if not isinstance(value, str) or "/" not in value:
        return _float(value)
    num, _, den = value.partition("/")
    try:
        n, d = float(num), float(den)
    except ValueError:
        return 0.0
    return n / d if d else 0.0


def _float(value: Any) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return 0.0
    return result if math.isfinite(result) else 0.0


def _int_or_none(value: Any) -> int | None:
    try:
        result = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return result if result > 0 else None


def _tail(text: bytes | str | None, lines: int = STDERR_TAIL_LINES) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(kept)[-_DETAIL_MAX_CHARS:]


def _rotation_cw(stream: dict[str, Any]) -> int:
    """Clockwise display rotation in degrees, normalised to 0/90/180/270.

    ffprobe prints the display matrix angle counter-clockwise (``av_display_rotation_get``); the legacy
    ``rotate`` tag is clockwise.
    """
    degrees: float | None = None
    for side_data in stream.get("side_data_list") or []:
        if "rotation" in side_data:
            degrees = -_float(side_data.get("rotation"))
            break
    if degrees is None:
        tag = (stream.get("tags") or {}).get("rotate")
        if tag is not None:
            degrees = _float(tag)
    if degrees is None:
        return 0
    return (round(degrees / 90.0) * 90) % 360


def _is_still_picture(stream: dict[str, Any], format_names: set[str]) -> bool:
    disposition = stream.get("disposition") or {}
    if disposition.get("attached_pic") or disposition.get("timed_thumbnails"):
        return True
    if format_names & _IMAGE_FORMATS or any(name.endswith("_pipe") for name in format_names):
        return True
    if stream.get("codec_name") in _STILL_CODECS:
        frames = _int_or_none(stream.get("nb_frames"))
        duration = _float(stream.get("duration"))
        return frames == 1 or (frames is None and duration <= 0.0)
    return False


def _video_bitrate(video: dict[str, Any], streams: list[dict[str, Any]], fmt: dict[str, Any]) -> int | None:
    """Video bit rate in bits/s: the stream's, else Matroska's BPS tag, else container minus other streams."""
    direct = _int_or_none(video.get("bit_rate"))
    if direct:
        return direct
    tags = video.get("tags") or {}
    for key in ("BPS", "BPS-eng"):
        if key in tags:
            tagged = _int_or_none(tags[key])
            if tagged:
                return tagged
    total = _int_or_none(fmt.get("bit_rate"))
    if total is None:
        return None
    others = sum(_int_or_none(s.get("bit_rate")) or 0 for s in streams if s is not video)
    estimate = total - others
    return estimate if estimate > 0 else None


def media_info_from_probe(data: dict[str, Any], size_bytes: int | None = None) -> MediaInfo:
    """Turn ffprobe's JSON (``-show_format -show_streams``) into a :class:`MediaInfo`.

    Pure (no I/O once the codec list is cached). Raises :class:`MediaRejected`:
    * UNSUPPORTED_FORMAT: the demuxer (first name of ``format_name``) is not one of the five containers
      of docs/api.md "Upload validation" (``mov`` for MOV/MP4/3GP, ``avi``, ``asf`` for WMV: ``ALLOWED_DEMUXERS``), e.g. ``hls``,
      ``concat``, ``image2``, ``matroska,webm``;
    * CORRUPT_SOURCE: no format section, no dimensions, duration missing or <= 0;
    * UNSUPPORTED_MEDIA: text rendered as video (tty demuxer);
    * NO_VIDEO_STREAM: no video stream, only audio, only a cover picture, or a single still image
      (a PNG/JPEG renamed .mp4, an image2/…_pipe format, a still-image codec with one frame);
    * UNSUPPORTED_CODEC: the only video streams use a codec this ffmpeg build cannot decode.
    """
    fmt = data.get("format")
    if not fmt:
        raise MediaRejected(FailReason.CORRUPT_SOURCE, "ffprobe found no container format")
    format_name = str(fmt.get("format_name") or "")
    format_names = set(format_name.split(","))
    if format_name.split(",")[0] not in ALLOWED_DEMUXERS:
        raise MediaRejected(FailReason.UNSUPPORTED_FORMAT, f"container {format_name or 'unknown'!r} is not MOV, MP4, 3GP, AVI or WMV")
    streams: list[dict[str, Any]] = list(data.get("streams") or [])

    videos = [s for s in streams if s.get("codec_type") == "video"]
    if any(s.get("codec_name") in _TEXT_CODECS for s in videos):
        raise MediaRejected(FailReason.UNSUPPORTED_MEDIA, f"text file, not media (format {format_name})")
    real_videos = [s for s in videos if not _is_still_picture(s, format_names)]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not real_videos:
        if videos:
            detail = f"a still image, not a video (format {format_name}, codec {videos[0].get('codec_name')})"
        elif audios:
            detail = f"audio only (format {format_name}, codec {audios[0].get('codec_name')})"
        else:
            detail = f"no video stream (format {format_name})"
        raise MediaRejected(FailReason.NO_VIDEO_STREAM, detail)
    decodable = [s for s in real_videos if _can_decode(s.get("codec_name"))]
    if not decodable:
        codec = real_videos[0].get("codec_name") or real_videos[0].get("codec_tag_string") or "unknown"
        raise MediaRejected(FailReason.UNSUPPORTED_CODEC, f"cannot decode video codec {codec!r}")
    video = decodable[0]

    coded_width = int(video.get("width") or 0)
    coded_height = int(video.get("height") or 0)
    if coded_width <= 0 or coded_height <= 0:
        raise MediaRejected(FailReason.CORRUPT_SOURCE, "video stream has no dimensions")

    duration = _float(fmt.get("duration")) or _float(video.get("duration"))
    if duration <= 0.0:
        raise MediaRejected(FailReason.CORRUPT_SOURCE, "duration missing or zero")

    sar = _ratio(video.get("sample_aspect_ratio"))
    display_width = coded_width
    if sar > 0 and abs(sar - 1.0) > 1e-3:
        display_width = max(1, round(coded_width * sar))
    rotation = _rotation_cw(video)
    width, height = (coded_height, display_width) if rotation in (90, 270) else (display_width, coded_height)

    frame_rate = _ratio(video.get("avg_frame_rate")) or _ratio(video.get("r_frame_rate"))

    audio = next(
        (s for s in audios if _can_decode(s.get("codec_name")) and int(s.get("channels") or 0) > 0),
        None,
    )
    return MediaInfo(
        duration_seconds=duration,
        width=width,
        height=height,
        coded_width=coded_width,
        coded_height=coded_height,
        rotation=rotation,
        video_codec=str(video.get("codec_name")),
        pix_fmt=str(video.get("pix_fmt") or ""),
        frame_rate=frame_rate,
        video_bitrate=_video_bitrate(video, streams, fmt),
        has_audio=audio is not None,
        audio_codec=str(audio.get("codec_name")) if audio is not None else None,
        format_name=format_name,
        size_bytes=_int_or_none(fmt.get("size")) or size_bytes,
        video_stream_index=int(video.get("index", 0)),
        audio_stream_index=int(audio.get("index", 0)) if audio is not None else None,
    )


def input_options(demuxer: str) -> dict[str, str]:
    """ffmpeg/ffprobe *input* options (ffmpeg-python keyword form) that read a local source with the given
    demuxer and nothing else: ``-f <demuxer> -format_whitelist mov,avi,asf -protocol_whitelist file``.

    Forcing the demuxer means ffmpeg never picks one from the content, so an uploaded HLS playlist, an
    ffconcat list or an image-sequence pattern is never interpreted as one (they could make ffmpeg read
    other files of the worker's disk or the network); the protocol whitelist keeps the input to the
    local file. ``demuxer`` is ``mov``, ``avi`` or ``asf`` (``MediaInfo.format_name`` may be given: its
    first name is used). Raises MediaRejected(UNSUPPORTED_FORMAT) for any other. Rule: docs/security.md.
    """
    name = demuxer.split(",")[0]
    if name not in ALLOWED_DEMUXERS:
        raise MediaRejected(FailReason.UNSUPPORTED_FORMAT, f"container {demuxer!r} is not MOV, MP4, 3GP, AVI or WMV")
    return {"f": name, "format_whitelist": ",".join(sorted(ALLOWED_DEMUXERS)), "protocol_whitelist": "file"}


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Probe a local source file with ffprobe (through ``ffmpeg.probe``).

    The first bytes choose the demuxer (:func:`reelhouse.platform.containers.sniff_container`), which is
    then forced (:func:`input_options`); a file that is none of the five containers never reaches ffprobe.
    Returns a :class:`MediaInfo` (display dimensions after rotation, seconds, bits/s, bytes).
    Raises :class:`MediaRejected`:
    * SOURCE_MISSING: the path is not an existing file;
    * UNSUPPORTED_FORMAT: the first bytes are not MOV/MP4/3GP, AVI or WMV (a playlist, a concat list,
      text, an image, another container);
    * CORRUPT_SOURCE: empty file, ffprobe fails (e.g. "moov atom not found" for a truncated MP4),
      unparsable output, no duration or dimensions;
    * NO_VIDEO_STREAM / UNSUPPORTED_MEDIA / UNSUPPORTED_CODEC: see :func:`media_info_from_probe`.
    All of these are ``retryable=False``.
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise MediaRejected(FailReason.SOURCE_MISSING, f"source file not found: {file}")
    size = file.stat().st_size
    if size == 0:
        raise MediaRejected(FailReason.CORRUPT_SOURCE, "source file is empty")
    with file.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    container = sniff_container(head)
    if container is None:
        raise MediaRejected(
            FailReason.UNSUPPORTED_FORMAT, f"not MOV, MP4, 3GP, AVI or WMV (looks like {describe_content(head)})"
        )
    try:
        data = ffmpeg.probe(str(file), cmd=FFPROBE, hide_banner=None, **input_options(container.value))
    except ffmpeg.Error as exc:
        raise MediaRejected(FailReason.CORRUPT_SOURCE, _tail(exc.stderr, 5) or "ffprobe failed") from exc
    except ValueError as exc:  # ffprobe exited 0 but printed no JSON
        raise MediaRejected(FailReason.CORRUPT_SOURCE, f"unreadable ffprobe output: {exc}") from exc
    return media_info_from_probe(data, size)


# --------------------------------------------------------------------------------------------------
# HLS command
# --------------------------------------------------------------------------------------------------


def _validate_renditions(renditions: Sequence[Rendition]) -> None:
    if not renditions:
        raise ValueError("at least one rendition is required")
    names = [r.name for r in renditions]
    if len(set(names)) != len(names):
        raise ValueError(f"rendition names must be unique: {names}")
    for r in renditions:
        if not _NAME_RE.match(r.name):
            raise ValueError(f"rendition name {r.name!r} must match {_NAME_RE.pattern}")
        if r.width % 2 or r.height % 2 or r.width <= 0 or r.height <= 0:
            raise ValueError(f"rendition {r.name} needs positive even dimensions, got {r.width}x{r.height}")


def build_hls_command(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    renditions: Sequence[Rendition],
    info: MediaInfo,
    segment_seconds: float = 4,
    preset: str = "veryfast",
    images: ImagePlan | None = None,
) -> list[str]:
    """The argv of ONE ffmpeg process that decodes the source once and writes every rendition as HLS
    (and, given ``images``, the poster candidates, thumbnails and storyboard sprites from the same frames).

    Graph: ``[0:<video>] split=N`` -> per rung ``scale=W:H, setsar=1, format=yuv420p`` (8-bit 4:2:0 from
    10-bit or 4:4:4 sources; ffmpeg's default autorotation stays on, so the filters see the display
    orientation) -> libx264 (High profile, the rung's level, ``-b:v/-maxrate/-bufsize``), keyframes forced
    every ``segment_seconds`` of *timestamp* (``expr:gte(t,n_forced*SEG)``: right for VFR too) with
    scene-cut keyframes off, so every rendition cuts its segments at the same instants. AAC stereo per
    rung from the source's audio stream only when it has one. HLS: MPEG-TS segments
    ``out_dir/<name>/seg_00000.ts``, playlists ``out_dir/<name>/index.m3u8``, master
    ``out_dir/master.m3u8`` (``-var_stream_map``). Progress goes to stdout (``-progress pipe:1``).
    Segments are written as ``seg_00000.ts.tmp`` and renamed when complete (``hls_flags temp_file``), so
    :func:`completed_segments` can hand finished ones to an uploader while the pass goes on.

    With ``images`` (:func:`plan_images`) the split gets ``images.branch_count`` more outputs, written by
    :func:`image_outputs` as JPEG files next to the renditions (``out_dir/thumbs/`` and
    ``out_dir/storyboard/`` must exist: :func:`prepare_image_dirs`). They cost a few per cent of the pass
    (a ``trim``/``fps`` filter drops all but a few frames before any scaling) instead of a decode of
    the source each.

    Built with ffmpeg-python (the design's driver): it expresses the whole graph, repeated ``-map`` of the
    audio stream and per-stream options (``-b:v:0`` via ``**{}``) cleanly; ``.compile()`` gives the argv.
    Output-option order does not matter to ffmpeg (ffmpeg-python sorts them).

    Args: ``segment_seconds`` is the HLS target duration in seconds (ffmpeg's default of 2 is never
    relied on); ``preset`` is the x264 preset (``veryfast`` in production, ``ultrafast`` in tests).
    Raises ValueError for an empty ladder, duplicate/unsafe rendition names, odd dimensions or a
    non-positive segment duration.
    """
    _validate_renditions(renditions)
    if segment_seconds <= 0:
        raise ValueError("segment_seconds must be positive")
    src = str(Path(source).resolve())
    out = Path(out_dir).resolve()
    seg = f"{segment_seconds:g}"

    stream = ffmpeg.input(src, **input_options(info.format_name))
    video_in = stream[str(info.video_stream_index)]
    audio_in = (
        stream[str(info.audio_stream_index)]
        if info.has_audio and info.audio_stream_index is not None
        else None
    )
    branch_count = len(renditions) + (images.branch_count if images is not None else 0)
    split = video_in.split() if branch_count > 1 else None
    branches = [split[i] for i in range(branch_count)] if split is not None else None

    mapped: list[Any] = []
    options: dict[str, Any] = {
        "c:v": "libx264",
        "preset": preset,
        "profile:v": "high",
        "sc_threshold": 0,
        "force_key_frames": f"expr:gte(t,n_forced*{seg})",
        "max_muxing_queue_size": 1024,
    }
    stream_map: list[str] = []
    for i, rendition in enumerate(renditions):
        branch = branches[i] if branches is not None else video_in
        mapped.append(
            branch.filter("scale", rendition.width, rendition.height)
            .filter("setsar", 1)
            .filter("format", "yuv420p")
        )
        options[f"b:v:{i}"] = rendition.video_bitrate
        options[f"maxrate:v:{i}"] = rendition.maxrate
        options[f"bufsize:v:{i}"] = rendition.bufsize
        options[f"level:v:{i}"] = rendition.level_string
        if audio_in is not None:
            mapped.append(audio_in)
            options[f"b:a:{i}"] = rendition.audio_bitrate or 128_000
            stream_map.append(f"v:{i},a:{i},name:{rendition.name}")
        else:
            stream_map.append(f"v:{i},name:{rendition.name}")
    if audio_in is not None:
        options.update({"c:a": "aac", "ac": 2})

    options.update(
        {
            "f": "hls",
            "hls_time": seg,
            "hls_playlist_type": "vod",
            "hls_list_size": 0,
            "hls_segment_type": "mpegts",
            # temp_file: each segment is written as <name>.tmp and renamed when complete, so a segment
            # file under its own name is final (completed_segments() uploads those during the pass)
            "hls_flags": "independent_segments+temp_file",
            "hls_segment_filename": str(out / "%v" / SEGMENT_PATTERN),
            "master_pl_name": MASTER_PLAYLIST,
            "var_stream_map": " ".join(stream_map),
        }
    )
    outputs = [ffmpeg.output(*mapped, str(out / "%v" / VARIANT_PLAYLIST), **options)]
    if images is not None:
        assert branches is not None
        outputs += image_outputs(branches[len(renditions) :], out, images)
    command = (
        ffmpeg.merge_outputs(*outputs)
        .global_args("-hide_banner", "-nostdin", "-loglevel", "warning", "-progress", "pipe:1", "-nostats")
        .overwrite_output()
    )
    return command.compile(cmd=FFMPEG)


# --------------------------------------------------------------------------------------------------
# Running ffmpeg
# --------------------------------------------------------------------------------------------------


def _classify_failure(returncode: int, seen: set[str], tail: str) -> MediaRejected:
    detail = f"ffmpeg exited with {returncode}\n{tail}".strip()[-_DETAIL_MAX_CHARS:]
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


# --------------------------------------------------------------------------------------------------
# HLS transcode
# --------------------------------------------------------------------------------------------------

_SEGMENT_NAME_RE = re.compile(r"^seg_\d{5}\.ts$")


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
        found.extend(f"{rendition.name}/{name}" for name in os.listdir(directory) if _SEGMENT_NAME_RE.match(name))
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
                if _SEGMENT_NAME_RE.match(entry.name):
                    done_sizes.append(entry.stat().st_size)
                elif entry.name.endswith(".tmp") and _SEGMENT_NAME_RE.match(entry.name[: -len(".tmp")]):
                    partial = max(partial, entry.stat().st_size)
            except OSError:  # renamed or removed between listing and stat
                continue
        expected = (sum(done_sizes) / len(done_sizes)) if done_sizes else (rendition.video_bitrate + rendition.audio_bitrate) / 8 * segment_seconds
        fraction = min(PARTIAL_SEGMENT_CEILING, partial / expected) if expected > 0 else 0.0
        slowest = min(slowest, (len(done_sizes) + fraction) * segment_seconds)
    return 0.0 if slowest == math.inf else slowest


@dataclass(frozen=True)
class HlsVariant:
    """One rendition as written: ``playlist`` is relative to the output directory (POSIX, e.g.
    ``"720p/index.m3u8"``); ``codecs``/``bandwidth`` (bits/s) are what the master playlist declares;
    ``duration_seconds`` is the sum of the segment durations. ``average_bitrate``/``peak_bitrate`` (bits/s)
    are measured on the written segments as RFC 8216 section 4.3.4.2 defines AVERAGE-BANDWIDTH and
    BANDWIDTH (peak: the highest rate of any run of consecutive segments lasting 0.5-1.5 x the target
    duration), for comparison with the declared ``bandwidth``; the master is not rewritten with them."""

    rendition: Rendition
    playlist: str
    codecs: str
    bandwidth: int
    segment_count: int
    duration_seconds: float
    segments: tuple[str, ...]
    average_bitrate: int
    peak_bitrate: int


@dataclass(frozen=True)
class HlsOutput:
    """A finished HLS package in ``out_dir``: ``master`` is the master playlist's path relative to it.

    ``images``/``storyboard``: the pictures the same pass made (None when none were asked for, or the pass
    could not make them; :func:`make_images`/:func:`make_storyboard` make them separately). They are not
    part of :meth:`files`. ``cpu_seconds``: user + system CPU seconds of the ffmpeg process;
    ``peak_rss_bytes``: its largest resident set (bytes); ``progress_reports``: progress callbacks made
    during the pass.
    """

    out_dir: Path
    master: str
    variants: tuple[HlsVariant, ...]
    images: Images | None = None
    storyboard: Storyboard | None = None
    cpu_seconds: float | None = None
    peak_rss_bytes: int | None = None
    progress_reports: int | None = None

    @property
    def master_path(self) -> Path:
        return self.out_dir / self.master

    def files(self) -> list[str]:
        """Every file of the package, relative POSIX paths (master, playlists, segments)."""
        keys = [self.master]
        for variant in self.variants:
            base = variant.playlist.rsplit("/", 1)[0]
            keys.append(variant.playlist)
            keys.extend(f"{base}/{segment}" for segment in variant.segments)
        return keys


#: A transcode whose output covers less than this share of the source (and over a second less) means
#: ffmpeg stopped reading early: the source is damaged.
_MIN_OUTPUT_COVERAGE = 0.8


def _measured_bitrates(sizes: Sequence[int], durations: Sequence[float], target: float) -> tuple[int, int]:
    """(average, peak) segment bit rates in bits/s per RFC 8216 section 4.3.4.2; sizes in bytes."""
    total_duration = sum(durations)
    if total_duration <= 0:
        return 0, 0
    average = int(sum(sizes) * 8 / total_duration)
    peak = 0.0
    for start in range(len(sizes)):
        bits = 0
        seconds = 0.0
        for index in range(start, len(sizes)):
            bits += sizes[index] * 8
            seconds += durations[index]
            if seconds > 1.5 * target:
                break
            if seconds >= 0.5 * target:
                peak = max(peak, bits / seconds)
    if peak == 0.0:  # no run of the right length (a very short video): the fastest single segment
        peak = max(size * 8 / d for size, d in zip(sizes, durations, strict=True) if d > 0)
    return average, int(peak)


def _attribute_missing(stream_inf: str, name: str) -> bool:
    return re.search(rf"[:,]{name}=", stream_inf) is None


def _complete_master(master_path: Path, renditions: Sequence[Rendition]) -> None:
    """Add CODECS (and RESOLUTION) to variants of ffmpeg's master playlist that lack them. Only those
    attributes are appended; every other byte of the file is kept."""
    by_uri = {f"{r.name}/{VARIANT_PLAYLIST}": r for r in renditions}
    lines = master_path.read_text().splitlines()
    changed = False
    for i, line in enumerate(lines):
        if not line.startswith("#EXT-X-STREAM-INF:"):
            continue
        uri = next(
            (later.strip() for later in lines[i + 1 :] if later.strip() and not later.startswith("#")), ""
        )
        rendition = by_uri.get(uri)
        if rendition is None:
            continue
        if _attribute_missing(line, "RESOLUTION"):
            line += f",RESOLUTION={rendition.width}x{rendition.height}"
        if _attribute_missing(line, "CODECS"):
            line += f',CODECS="{rendition.codecs}"'
        if line != lines[i]:
            lines[i] = line
            changed = True
    if changed:
        tmp = master_path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, master_path)


def transcode_to_hls(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    renditions: Sequence[Rendition],
    info: MediaInfo,
    on_progress: Callable[[float], None] | None = None,
    segment_seconds: float = 4,
    preset: str = "veryfast",
    *,
    stall_timeout_seconds: float = 120,
    cancel: threading.Event | None = None,
    images: ImagePlan | None = None,
) -> HlsOutput:
    """Transcode ``source`` into an HLS package in ``out_dir`` with one ffmpeg process, then verify it;
    given ``images`` (:func:`plan_images`), the same process writes the poster, thumbnails and storyboard.

    Layout: ``out_dir/master.m3u8``, ``out_dir/<rendition.name>/index.m3u8`` and ``seg_00000.ts``...
    Stale ``<rendition.name>/`` directories and master from an earlier attempt are removed first; nothing
    else in ``out_dir`` is touched (images can live there too).

    After ffmpeg: every variant playlist must exist with >= 1 segment, every segment file must exist and be
    non-empty, and the master must list every rendition. CODECS/RESOLUTION are appended to the master only
    where ffmpeg left them out (ffmpeg 5.1 writes both, with CODECS read from the encoded bitstream).

    Returns :class:`HlsOutput`. Raises :class:`MediaRejected` as :func:`run_ffmpeg` does, plus
    CORRUPT_SOURCE when the output covers under 80 % of the source duration (ffmpeg stopped reading early)
    and TRANSCODE_ERROR (retryable) when the package is incomplete; :class:`TranscodeCancelled` on cancel.
    Missing pictures are no error: ``images``/``storyboard`` of the result are then None
    (:func:`collect_images`).
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    _validate_renditions(renditions)
    for rendition in renditions:
        stale = out / rendition.name
        if stale.exists():
            shutil.rmtree(stale)
        stale.mkdir()
    (out / MASTER_PLAYLIST).unlink(missing_ok=True)
    if images is not None:
        prepare_image_dirs(out, images)

    argv = build_hls_command(source, out, renditions, info, segment_seconds=segment_seconds, preset=preset, images=images)
    log.info("ffmpeg hls: %s", " ".join(argv))
    run = run_ffmpeg(
        argv, info.duration_seconds, on_progress, stall_timeout_seconds, cancel=cancel,
        produced_seconds=functools.partial(written_media_seconds, out, renditions, segment_seconds),
        lead_seconds=segment_seconds,
    )

    master_path = out / MASTER_PLAYLIST
    if not master_path.is_file():
        raise MediaRejected(FailReason.TRANSCODE_ERROR, "ffmpeg wrote no master playlist", retryable=True)
    _complete_master(master_path, renditions)
    master = m3u8.load(str(master_path))
    declared = {p.uri: p.stream_info for p in master.playlists}

    variants: list[HlsVariant] = []
    for rendition in renditions:
        relative = f"{rendition.name}/{VARIANT_PLAYLIST}"
        playlist_path = out / rendition.name / VARIANT_PLAYLIST
        if not playlist_path.is_file():
            raise MediaRejected(FailReason.TRANSCODE_ERROR, f"missing playlist {relative}", retryable=True)
        playlist = m3u8.load(str(playlist_path))
        segments = [s.uri for s in playlist.segments]
        if not segments:
            raise MediaRejected(
                FailReason.TRANSCODE_ERROR, f"playlist {relative} has no segment", retryable=True
            )
        sizes: list[int] = []
        for uri in segments:
            segment_path = playlist_path.parent / uri
            size = segment_path.stat().st_size if segment_path.is_file() else 0
            if size == 0:
                raise MediaRejected(
                    FailReason.TRANSCODE_ERROR,
                    f"segment {rendition.name}/{uri} missing or empty",
                    retryable=True,
                )
            sizes.append(size)
        durations = [float(s.duration or 0.0) for s in playlist.segments]
        target = float(playlist.target_duration or segment_seconds)
        average, peak = _measured_bitrates(sizes, durations, target)
        stream_info = declared.get(relative)
        if stream_info is None:
            raise MediaRejected(
                FailReason.TRANSCODE_ERROR, f"master playlist does not list {relative}", retryable=True
            )
        variants.append(
            HlsVariant(
                rendition=rendition,
                playlist=relative,
                codecs=stream_info.codecs or rendition.codecs,
                bandwidth=int(stream_info.bandwidth or rendition.bandwidth),
                segment_count=len(segments),
                duration_seconds=sum(durations),
                segments=tuple(segments),
                average_bitrate=average,
                peak_bitrate=peak,
            )
        )

    covered = max(v.duration_seconds for v in variants)
    expected = info.duration_seconds
    if covered < expected * _MIN_OUTPUT_COVERAGE and expected - covered > 1.0:
        raise MediaRejected(
            FailReason.CORRUPT_SOURCE,
            f"output covers {covered:.2f} s of a {expected:.2f} s source: the source is damaged or truncated",
        )
    counts = {v.segment_count for v in variants}
    if len(counts) > 1:
        log.warning("renditions have different segment counts %s: keyframes are not aligned", counts)
    pictures, storyboard = collect_images(out, images) if images is not None else (None, None)
    return HlsOutput(out_dir=out, master=MASTER_PLAYLIST, variants=tuple(variants), images=pictures, storyboard=storyboard,
        cpu_seconds=run.cpu_seconds, peak_rss_bytes=run.peak_rss_bytes, progress_reports=run.progress_reports,
    )



# --------------------------------------------------------------------------------------------------
# Images: poster, thumbnails and storyboard
# --------------------------------------------------------------------------------------------------
#
# The worker makes them inside the ladder pass: extra branches of the same decoded frames
# (``build_hls_command(images=plan_images(...))``), so a job decodes its source exactly once. The
# stand-alone functions below (:func:`make_images`, :func:`make_storyboard`) make the same files with
# their own ffmpeg runs; the worker uses them only when the ladder pass left an image out (a clip too
# short for any poster window, say).

#: Poster candidates, as shares of the duration: 10 % avoids fade-ins and studio cards in most videos;
#: later ones are tried only when a candidate is (nearly) black.
POSTER_POSITIONS = (0.10, 0.25, 0.50, 0.75)
#: Mean luma (0..255, full range) under which a poster candidate counts as black. Video black (Y=16) is
#: about 0 once JPEG full range; a dark but real scene is well above 20.
POSTER_MIN_LUMA = 20.0
#: Frames the ``thumbnail`` filter compares per candidate (it buffers them: kept small, after scaling).
POSTER_THUMBNAIL_FRAMES = 25
#: Longest poster window, seconds (the ``thumbnail`` filter picks the most representative frame in it).
POSTER_WINDOW_MAX_SECONDS = 2.0
POSTER_CANDIDATE = ".poster_candidate_{k}.jpg"

STORYBOARD_DIR = "storyboard"
STORYBOARD_VTT = "storyboard.vtt"
STORYBOARD_SPRITE_PATTERN = "sprite_%03d.jpg"
#: Fewest seconds between storyboard tiles, and most tiles per video (our choices: a scrub bar shows at
#: most a few hundred distinct previews; 200 tiles of 160 px are ~1.5 MB of JPEG).
STORYBOARD_MIN_INTERVAL_SECONDS = 2.0
STORYBOARD_MAX_TILES = 200

#: JPEG quality (ffmpeg ``-q:v``, 2 best .. 31 worst) of the poster, and of thumbnails and sprites.
POSTER_JPEG_QUALITY = 3
THUMBNAIL_JPEG_QUALITY = 5


@dataclass(frozen=True)
class Images:
    """Poster and thumbnails written under ``out_dir``; keys are relative POSIX paths.

    ``thumbnails[k]`` shows the source at about ``k * thumbnail_interval_seconds`` seconds.
    ``poster_mean_luma`` is the poster's mean luma on a 0..255 scale.
    """

    poster: str
    thumbnails: tuple[str, ...]
    thumbnail_interval_seconds: float
    poster_width: int
    poster_height: int
    poster_mean_luma: float


@dataclass(frozen=True)
class Storyboard:
    """Sprite sheets and their WebVTT index under ``out_dir``; keys are relative POSIX paths.

    ``vtt`` maps each ``interval_seconds`` slice of the video to a tile: ``sprite_001.jpg#xywh=x,y,w,h``
    (W3C Media Fragments spatial dimension, pixels), cue URLs relative to the VTT's own location.
    Each sheet holds ``columns x rows`` tiles of ``tile_width x tile_height`` px, row by row.
    """

    vtt: str
    sprites: tuple[str, ...]
    interval_seconds: float
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    tiles: int

    def files(self) -> list[str]:
        return [*self.sprites, self.vtt]


@dataclass(frozen=True)
class PosterWindow:
    """A stretch of the source, ``[start_seconds, end_seconds)``, whose most representative frame (the
    ``thumbnail`` filter over at most ``frames`` frames) is a poster candidate. ``end_seconds`` None
    means the first frame from ``start_seconds`` on (the last-resort candidate: it exists in any video)."""

    start_seconds: float
    end_seconds: float | None
    frames: int


@dataclass(frozen=True)
class StoryboardPlan:
    """One tile every ``interval_seconds`` (``tiles`` in all), ``tile_width x tile_height`` px,
    ``columns x rows`` tiles per sheet; ``sheets`` JPEG files."""

    interval_seconds: float
    tiles: int
    columns: int
    rows: int
    tile_width: int
    tile_height: int

    @property
    def sheets(self) -> int:
        return math.ceil(self.tiles / (self.columns * self.rows))


@dataclass(frozen=True)
class ImagePlan:
    """Every picture a job makes of a source, decided from its probe alone (see :func:`plan_images`).

    Sizes in pixels (display orientation, even, never above the source), times in seconds.
    ``storyboard`` is None when no storyboard is wanted.
    """

    duration_seconds: float
    poster_width: int
    poster_height: int
    poster_windows: tuple[PosterWindow, ...]
    thumbnail_width: int
    thumbnail_height: int
    thumbnail_interval_seconds: float
    thumbnail_count: int
    storyboard: StoryboardPlan | None

    @property
    def branch_count(self) -> int:
        """Decoded-frame branches the images take in a shared filter graph."""
        return len(self.poster_windows) + 1 + (1 if self.storyboard is not None else 0)


def _fit_width(info: MediaInfo, max_width: int) -> tuple[int, int]:
    """(width, height): at most ``max_width`` wide, display aspect kept, both even (JPEG 4:2:0 and the
    scaler like even sizes), never larger than the source."""
    width = max(2, min(max_width, info.width) // 2 * 2)
    height = max(2, round(width * info.height / info.width / 2.0) * 2)
    return width, min(height, max(2, info.height // 2 * 2))


def plan_storyboard(info: MediaInfo, *, tile_width: int = 160, columns: int = 10, rows: int = 10) -> StoryboardPlan:
    """Storyboard geometry (pure): one tile every ``max(2 s, duration / 200)``, ``tile_width`` px wide
    (display aspect, never upscaled), at most ``columns x rows`` tiles per sheet (fewer columns/rows for
    short videos). Raises ValueError for non-positive sizes."""
    if tile_width <= 0 or columns <= 0 or rows <= 0:
        raise ValueError("tile_width, columns and rows must be positive")
    duration = info.duration_seconds
    interval = max(STORYBOARD_MIN_INTERVAL_SECONDS, duration / STORYBOARD_MAX_TILES)
    tiles = max(1, math.ceil(duration / interval - 1e-6))
    columns = min(columns, tiles)
    rows = min(rows, math.ceil(tiles / columns))
    width, height = _fit_width(info, tile_width)
    return StoryboardPlan(interval, tiles, columns, rows, width, height)


def plan_images(
    info: MediaInfo,
    thumbnail_count: int = 10,
    *,
    poster_max_width: int = 1280,
    thumbnail_width: int = 320,
    storyboard: bool = True,
    tile_width: int = 160,
) -> ImagePlan:
    """Plan the poster, thumbnails and storyboard of a probed source (pure).

    Poster: at most ``poster_max_width`` px wide (1280; never upscaled), display aspect; one candidate
    window at each of :data:`POSTER_POSITIONS` (10, 25, 50, 75 % of the duration), each
    ``min(2 s, 10 % of the duration)`` long (at least 0.04 s) and holding at most 25 frames at the source
    frame rate (25 frames/s when unknown), then the first frame as a last resort (a clip too short for
    any window still gets a poster). Thumbnails: ``thumbnail_width`` px wide (320), one every
    ``max(duration / thumbnail_count, 1 s)``, at most ``thumbnail_count``. Storyboard: see
    :func:`plan_storyboard`. Raises ValueError when ``thumbnail_count`` < 1.
    """
    if thumbnail_count < 1:
        raise ValueError("thumbnail_count must be >= 1")
    duration = info.duration_seconds
    fps = info.frame_rate if info.frame_rate > 0 else 25.0
    window = max(0.04, min(POSTER_WINDOW_MAX_SECONDS, duration * 0.1))
    frames = max(1, min(POSTER_THUMBNAIL_FRAMES, int(window * fps)))
    windows = tuple(
        PosterWindow(round(duration * share, 3), round(duration * share + window, 3), frames) for share in POSTER_POSITIONS
    ) + (PosterWindow(0.0, None, 1),)
    poster_width, poster_height = _fit_width(info, poster_max_width)
    thumb_width, thumb_height = _fit_width(info, thumbnail_width)
    interval = max(duration / thumbnail_count, 1.0)
    count = max(1, min(thumbnail_count, math.floor(duration / interval) + 1))
    return ImagePlan(
        duration_seconds=duration,
        poster_width=poster_width,
        poster_height=poster_height,
        poster_windows=windows,
        thumbnail_width=thumb_width,
        thumbnail_height=thumb_height,
        thumbnail_interval_seconds=interval,
        thumbnail_count=count,
        storyboard=plan_storyboard(info, tile_width=tile_width) if storyboard else None,
    )


def _poster_chain(video: Any, plan: ImagePlan, window: PosterWindow) -> Any:
    """``trim`` to the window (it ends the branch early), then :func:`_poster_pick`."""
    if window.end_seconds is None:
        trimmed = video.filter("trim", start=f"{window.start_seconds:.3f}", end_frame=1)
    else:
        trimmed = video.filter("trim", start=f"{window.start_seconds:.3f}", end=f"{window.end_seconds:.3f}")
    return _poster_pick(trimmed, plan, window)


def _poster_pick(video: Any, plan: ImagePlan, window: PosterWindow) -> Any:
    """Scale to the poster size, then the ``thumbnail`` filter: the frame closest to the window's average
    colour histogram (it flushes its best frame when its input ends). The filter needs at least 2 frames
    per batch; a window of one frame keeps that frame."""
    scaled = video.filter("scale", plan.poster_width, plan.poster_height).filter("setsar", 1)
    return scaled.filter("thumbnail", window.frames) if window.frames >= 2 else scaled


def _thumbnail_chain(video: Any, plan: ImagePlan) -> Any:
    """One frame every interval; ``eof_action=pass`` makes a clip shorter than half an interval still
    give its frame (ffmpeg's default rounds it away)."""
    return (
        video.filter("fps", f"1/{plan.thumbnail_interval_seconds:g}", eof_action="pass")
        .filter("scale", plan.thumbnail_width, plan.thumbnail_height)
        .filter("setsar", 1)
    )


def _storyboard_chain(video: Any, board: StoryboardPlan, *, keep_last: bool = True) -> Any:
    """One tile every interval, tiled into sheets; ``keep_last`` (``eof_action=pass``) as for thumbnails.
    Without it a source that gives one frame (keyframes only, one keyframe) gives no tile at all."""
    return (
        video.filter("fps", f"1/{board.interval_seconds:g}", eof_action="pass" if keep_last else "round")
        .filter("scale", board.tile_width, board.tile_height)
        .filter("setsar", 1)
        .filter("tile", f"{board.columns}x{board.rows}")
    )


def image_outputs(branches: Sequence[Any], out_dir: str | os.PathLike[str], plan: ImagePlan) -> list[Any]:
    """ffmpeg-python outputs that write ``plan``'s pictures under ``out_dir`` from ``branches``
    (``plan.branch_count`` streams of decoded video, e.g. outputs of a ``split``).

    Files: ``.poster_candidate_<k>.jpg`` (one per poster window; :func:`collect_images` keeps one as
    ``poster.jpg``), ``thumbs/thumb_00001.jpg``..., ``storyboard/sprite_001.jpg``... Raises ValueError
    when the number of branches is not ``plan.branch_count``.
    """
    if len(branches) != plan.branch_count:
        raise ValueError(f"image_outputs needs {plan.branch_count} branches, got {len(branches)}")
    out = Path(out_dir).resolve()
    taken = iter(branches)
    outputs = [
        _poster_chain(next(taken), plan, window).output(
            str(out / POSTER_CANDIDATE.format(k=k)), **{"frames:v": 1, "update": 1, "q:v": POSTER_JPEG_QUALITY}
        )
        for k, window in enumerate(plan.poster_windows)
    ]
    outputs.append(
        _thumbnail_chain(next(taken), plan).output(
            str(out / THUMBS_DIR / THUMB_PATTERN),
            **{"frames:v": plan.thumbnail_count, "start_number": 1, "q:v": THUMBNAIL_JPEG_QUALITY},
        )
    )
    if plan.storyboard is not None:
        board = plan.storyboard
        outputs.append(
            _storyboard_chain(next(taken), board).output(
                str(out / STORYBOARD_DIR / STORYBOARD_SPRITE_PATTERN),
                **{"frames:v": board.sheets, "start_number": 1, "q:v": THUMBNAIL_JPEG_QUALITY},
            )
        )
    return outputs


def prepare_image_dirs(out_dir: str | os.PathLike[str], plan: ImagePlan) -> None:
    """Remove the pictures of ``plan`` an earlier attempt left in ``out_dir`` and create ``thumbs/`` (and
    ``storyboard/`` when planned): the image2 muxer does not create directories. A storyboard that
    ``plan`` does not cover is left alone."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / POSTER).unlink(missing_ok=True)
    for candidate in out.glob(".poster_candidate_*.jpg"):
        candidate.unlink()
    names = (THUMBS_DIR, STORYBOARD_DIR) if plan.storyboard is not None else (THUMBS_DIR,)
    for name in names:
        if (out / name).exists():
            shutil.rmtree(out / name)
        (out / name).mkdir()


def _choose_poster(out: Path, candidates: Sequence[Path]) -> float | None:
    """Keep the first candidate (in order) whose mean luma reaches :data:`POSTER_MIN_LUMA`, else the
    brightest, as ``out/poster.jpg``; delete the others. Returns its mean luma, None when no candidate
    file exists (or none decodes)."""
    best: tuple[float, Path] | None = None
    try:
        for candidate in candidates:
            if not candidate.is_file() or candidate.stat().st_size == 0:
                continue
            try:
                luma = frame_mean_luma(candidate)
            except MediaRejected:
                continue
            if best is None or luma > best[0]:
                best = (luma, candidate)
            if luma >= POSTER_MIN_LUMA:
                break
        if best is None:
            return None
        os.replace(best[1], out / POSTER)
        return best[0]
    finally:
        for candidate in candidates:
            candidate.unlink(missing_ok=True)


def _jpegs(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if p.suffix == ".jpg" and p.is_file() and p.stat().st_size > 0)


def _storyboard_result(out: Path, plan: StoryboardPlan, duration: float, sprites: Sequence[str]) -> Storyboard:
    tiles = min(plan.tiles, len(sprites) * plan.columns * plan.rows)
    vtt = storyboard_vtt(duration, plan.interval_seconds, tiles, plan.tile_width, plan.tile_height, plan.columns, plan.rows)
    (out / STORYBOARD_DIR / STORYBOARD_VTT).write_text(vtt)
    return Storyboard(
        vtt=f"{STORYBOARD_DIR}/{STORYBOARD_VTT}",
        sprites=tuple(f"{STORYBOARD_DIR}/{name}" for name in sprites),
        interval_seconds=plan.interval_seconds,
        tile_width=plan.tile_width,
        tile_height=plan.tile_height,
        columns=plan.columns,
        rows=plan.rows,
        tiles=tiles,
    )


def collect_images(out_dir: str | os.PathLike[str], plan: ImagePlan) -> tuple[Images | None, Storyboard | None]:
    """After a pass that wrote :func:`image_outputs`: choose the poster among the candidates (first one
    not nearly black, else the brightest), list thumbnails and sprites, write the storyboard's WebVTT.

    Returns ``(images, storyboard)``; ``images`` is None when no poster candidate or no thumbnail was
    written, ``storyboard`` None when no sheet was (or none was planned). Never raises for missing
    pictures: the caller decides whether to make them another way.
    """
    out = Path(out_dir).resolve()
    candidates = [out / POSTER_CANDIDATE.format(k=k) for k in range(len(plan.poster_windows))]
    luma = _choose_poster(out, candidates)
    thumbs = _jpegs(out / THUMBS_DIR)
    images = None
    if luma is not None and thumbs:
        images = Images(
            poster=POSTER,
            thumbnails=tuple(f"{THUMBS_DIR}/{name}" for name in thumbs),
            thumbnail_interval_seconds=plan.thumbnail_interval_seconds,
            poster_width=plan.poster_width,
            poster_height=plan.poster_height,
            poster_mean_luma=luma,
        )
    storyboard = None
    if plan.storyboard is not None:
        sprites = _jpegs(out / STORYBOARD_DIR)
        if sprites:
            storyboard = _storyboard_result(out, plan.storyboard, plan.duration_seconds, sprites)
    return images, storyboard


def frame_mean_luma(image: str | os.PathLike[str]) -> float:
    """Mean luma (0..255) of an image file, decoded by ffmpeg to 8-bit gray at 64 px wide.

    Raises MediaRejected(TRANSCODE_ERROR) when ffmpeg cannot decode it.
    """
    argv = (
        ffmpeg.input(str(Path(image).resolve()))
        .filter("scale", 64, -2)
        .filter("format", "gray")
        .output("pipe:1", f="rawvideo", **{"frames:v": 1})
        .global_args("-hide_banner", "-nostdin", "-loglevel", "error")
        .compile(cmd=FFMPEG)
    )
    result = subprocess.run(argv, check=False, capture_output=True, timeout=60)
    if result.returncode != 0 or not result.stdout:
        raise MediaRejected(
            FailReason.TRANSCODE_ERROR, _tail(result.stderr) or "cannot decode image", retryable=True
        )
    data = result.stdout
    return sum(data) / len(data)


_IMAGE_GLOBAL_ARGS = ("-hide_banner", "-nostdin", "-loglevel", "warning", "-progress", "pipe:1", "-nostats")


def _image_command(source: str, info: MediaInfo, seek: float, graph: Callable[[Any], Any], target: Path, **out: Any) -> list[str]:
    stream = ffmpeg.input(source, **({"ss": f"{seek:.3f}"} if seek > 0 else {}), **input_options(info.format_name))
    video = graph(stream[str(info.video_stream_index)])
    return video.output(str(target), **out).global_args(*_IMAGE_GLOBAL_ARGS).overwrite_output().compile(cmd=FFMPEG)


def make_images(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    info: MediaInfo,
    thumbnail_count: int = 10,
    *,
    poster_max_width: int = 1280,
    thumbnail_width: int = 320,
    full_decode_max_seconds: float = 120.0,
) -> Images:
    """Write ``out_dir/poster.jpg`` and ``out_dir/thumbs/thumb_00001.jpg``... with ffmpeg runs of their own.

    The same pictures as the ladder pass makes (:func:`plan_images`), taken differently: each poster
    candidate with a fast input seek to its window (the first one not nearly black wins, else the
    brightest); thumbnails of sources up to ``full_decode_max_seconds`` long in one decode through
    ``fps=1/interval``, of longer ones with one seek per thumbnail (decoding a two-hour film for ten
    pictures would cost minutes). The worker calls this only when its ladder pass left them out.

    Returns :class:`Images` with relative keys. Raises :class:`MediaRejected` as :func:`run_ffmpeg` does,
    or TRANSCODE_ERROR (retryable) when no poster or thumbnail was produced; ValueError when
    ``thumbnail_count`` < 1.
    """
    plan = plan_images(
        info, thumbnail_count, poster_max_width=poster_max_width, thumbnail_width=thumbnail_width, storyboard=False
    )
    src = str(Path(source).resolve())
    out = Path(out_dir).resolve()
    prepare_image_dirs(out, plan)

    # Poster: candidates one at a time, stopping at the first bright one (usually the first).
    candidates: list[Path] = []
    luma: float | None = None
    for k, window in enumerate(plan.poster_windows):
        target = out / POSTER_CANDIDATE.format(k=k)
        argv = _image_command(
            src,
            info,
            window.start_seconds,
            lambda v, w=window: _poster_pick(v, plan, w),
            target,
            **{"frames:v": 1, "q:v": POSTER_JPEG_QUALITY, "update": 1, "an": None, "sn": None},
        )
        run_ffmpeg(argv, 0.0, None, stall_timeout_seconds=60)
        candidates.append(target)
        if target.is_file() and target.stat().st_size > 0 and frame_mean_luma(target) >= POSTER_MIN_LUMA:
            break
    luma = _choose_poster(out, candidates)
    if luma is None:
        raise MediaRejected(FailReason.TRANSCODE_ERROR, "could not extract a poster frame", retryable=True)

    thumbs = out / THUMBS_DIR
    jpeg = {"q:v": THUMBNAIL_JPEG_QUALITY, "an": None, "sn": None}
    if info.duration_seconds <= full_decode_max_seconds:
        argv = _image_command(
            src,
            info,
            0.0,
            lambda v: _thumbnail_chain(v, plan),
            thumbs / THUMB_PATTERN,
            **{"frames:v": plan.thumbnail_count, "start_number": 1, **jpeg},
        )
        run_ffmpeg(argv, info.duration_seconds, None, stall_timeout_seconds=120)
    else:
        for k in range(plan.thumbnail_count):
            seek = min(k * plan.thumbnail_interval_seconds, max(0.0, info.duration_seconds - 0.5))
            argv = _image_command(
                src,
                info,
                seek,
                lambda v: v.filter("scale", plan.thumbnail_width, plan.thumbnail_height).filter("setsar", 1),
                thumbs / (THUMB_PATTERN % (k + 1)),
                **{"frames:v": 1, "update": 1, **jpeg},
            )
            run_ffmpeg(argv, 0.0, None, stall_timeout_seconds=60)
    names = _jpegs(thumbs)
    if not names:
        raise MediaRejected(FailReason.TRANSCODE_ERROR, "no thumbnail was produced", retryable=True)
    return Images(
        poster=POSTER,
        thumbnails=tuple(f"{THUMBS_DIR}/{name}" for name in names),
        thumbnail_interval_seconds=plan.thumbnail_interval_seconds,
        poster_width=plan.poster_width,
        poster_height=plan.poster_height,
        poster_mean_luma=luma,
    )


# --------------------------------------------------------------------------------------------------
# Storyboard (scrub previews)
# --------------------------------------------------------------------------------------------------


def _vtt_time(seconds: float) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def storyboard_vtt(duration_seconds: float, interval_seconds: float, tiles: int, tile_width: int, tile_height: int, columns: int, rows: int) -> str:
    """The WebVTT index of a storyboard (pure): cue k covers [k x interval, min((k+1) x interval,
    duration)) seconds and points at tile k (sheet k // (columns x rows), row-major inside the sheet)."""
    per_sheet = columns * rows
    lines = ["WEBVTT", ""]
    for k in range(tiles):
        start = k * interval_seconds
        end = min((k + 1) * interval_seconds, duration_seconds) if k == tiles - 1 else (k + 1) * interval_seconds
        if end <= start:
            end = start + 0.001
        sheet, index = divmod(k, per_sheet)
        x, y = (index % columns) * tile_width, (index // columns) * tile_height
        name = STORYBOARD_SPRITE_PATTERN % (sheet + 1)
        lines += [f"{_vtt_time(start)} --> {_vtt_time(end)}", f"{name}#xywh={x},{y},{tile_width},{tile_height}", ""]
    return "\n".join(lines)


def make_storyboard(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    info: MediaInfo,
    *,
    tile_width: int = 160,
    columns: int = 10,
    rows: int = 10,
    full_decode_max_seconds: float = 120.0,
) -> Storyboard:
    """Write ``out_dir/storyboard/sprite_001.jpg``... and ``storyboard.vtt`` with an ffmpeg run of its own.

    Geometry from :func:`plan_storyboard`; one ffmpeg pass (``fps`` + ``scale`` + ``tile``). Sources
    longer than ``full_decode_max_seconds`` are decoded keyframes only (``-skip_frame nokey``): tiles are
    then accurate to a GOP, decoding is many times faster (falling back to a full decode when that
    yields nothing). The worker calls this only when its ladder pass left the storyboard out.
    Returns :class:`Storyboard`; raises :class:`MediaRejected` as :func:`run_ffmpeg` does, or
    TRANSCODE_ERROR (retryable) when no sheet was written; ValueError for non-positive sizes.
    """
    board = plan_storyboard(info, tile_width=tile_width, columns=columns, rows=rows)
    src = str(Path(source).resolve())
    root = Path(out_dir).resolve()
    out = root / STORYBOARD_DIR
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    duration = info.duration_seconds

    def run(keyframes_only: bool) -> list[str]:
        input_args: dict[str, Any] = {"skip_frame": "nokey"} if keyframes_only else {}
        stream = ffmpeg.input(src, **input_args, **input_options(info.format_name))[str(info.video_stream_index)]
        argv = (
            _storyboard_chain(stream, board, keep_last=not keyframes_only)
            .output(
                str(out / STORYBOARD_SPRITE_PATTERN),
                **{"frames:v": board.sheets, "start_number": 1, "q:v": THUMBNAIL_JPEG_QUALITY, "an": None, "sn": None},
            )
            .global_args(*_IMAGE_GLOBAL_ARGS)
            .overwrite_output()
            .compile(cmd=FFMPEG)
        )
        run_ffmpeg(argv, duration, None, stall_timeout_seconds=120)
        return _jpegs(out)

    # keyframes only can yield nothing (ffmpeg 5.1's fps filter emits no frame from a single input
    # frame, e.g. a source with one keyframe): then decode everything
    sprites = run(keyframes_only=True) if duration > full_decode_max_seconds else []
    if not sprites:
        sprites = run(keyframes_only=False)
    if not sprites:
        raise MediaRejected(FailReason.TRANSCODE_ERROR, "no storyboard sheet was produced", retryable=True)
    return _storyboard_result(root, board, duration, sprites)
