"""Probing a source: which container it is (first bytes, then a forced demuxer), then ffprobe's view of
it as a :class:`~reelhouse.transcoder.domain.ladder.MediaInfo`, or :class:`MediaRejected` with the reason.

Blocking (runs ffprobe; the first call also lists the codecs ffmpeg decodes, cached per process).
Rules of accepted containers: docs/api.md "Upload validation" and docs/security.md.
"""

from __future__ import annotations

import functools
import math
import os
import subprocess
from pathlib import Path
from typing import Any

import ffmpeg

from reelhouse.platform.containers import ALLOWED_DEMUXERS, SNIFF_BYTES, describe_content, sniff_container
from reelhouse.transcoder.adapters.ffmpeg.layout import FFMPEG, FFPROBE
from reelhouse.transcoder.adapters.ffmpeg.process import stderr_tail
from reelhouse.transcoder.domain.ladder import FailReason, MediaInfo, MediaRejected

__all__ = ["input_options", "media_info_from_probe", "probe"]


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
        raise MediaRejected(FailReason.CORRUPT_SOURCE, stderr_tail(exc.stderr, 5) or "ffprobe failed") from exc
    except ValueError as exc:  # ffprobe exited 0 but printed no JSON
        raise MediaRejected(FailReason.CORRUPT_SOURCE, f"unreadable ffprobe output: {exc}") from exc
    return media_info_from_probe(data, size)
