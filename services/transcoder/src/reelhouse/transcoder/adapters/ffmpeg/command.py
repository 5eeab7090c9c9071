"""Building ffmpeg argv (pure: nothing runs here): the one ladder pass that writes every rendition as
HLS and, from the same decoded frames, the poster candidates, thumbnails and storyboard sprites; and the
filter chains and commands of the stand-alone picture runs (:mod:`.pictures`).

Built with ffmpeg-python (the design's driver); ``.compile()`` gives the argv. Sources and output
directories are resolved to absolute paths, so a file name can never be read as an option (leading
``-``) or a protocol (``name:...``); the input's demuxer is forced (:func:`.probe.input_options`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ffmpeg

from reelhouse.transcoder.adapters.ffmpeg.layout import (
    FFMPEG,
    MASTER_PLAYLIST,
    POSTER_CANDIDATE,
    SEGMENT_PATTERN,
    STORYBOARD_DIR,
    STORYBOARD_SPRITE_PATTERN,
    THUMB_PATTERN,
    THUMBS_DIR,
    VARIANT_PLAYLIST,
)
from reelhouse.transcoder.adapters.ffmpeg.probe import input_options
from reelhouse.transcoder.domain.ladder import MediaInfo, Rendition
from reelhouse.transcoder.domain.pictures import ImagePlan, PosterWindow, StoryboardPlan

__all__ = [
    "IMAGE_GLOBAL_ARGS",
    "POSTER_JPEG_QUALITY",
    "THUMBNAIL_JPEG_QUALITY",
    "build_hls_command",
    "image_command",
    "image_outputs",
    "poster_chain",
    "poster_pick",
    "storyboard_chain",
    "thumbnail_chain",
    "validate_renditions",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")

#: JPEG quality (ffmpeg ``-q:v``, 2 best .. 31 worst) of the poster, and of thumbnails and sprites.
POSTER_JPEG_QUALITY = 3
THUMBNAIL_JPEG_QUALITY = 5
#: Global options of the picture runs: quiet stderr, progress on stdout for :func:`.process.run_ffmpeg`.
IMAGE_GLOBAL_ARGS = ("-hide_banner", "-nostdin", "-loglevel", "warning", "-progress", "pipe:1", "-nostats")


def validate_renditions(renditions: Sequence[Rendition]) -> None:
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
    validate_renditions(renditions)
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


def poster_chain(video: Any, plan: ImagePlan, window: PosterWindow) -> Any:
    """``trim`` to the window (it ends the branch early), then :func:`poster_pick`."""
    if window.end_seconds is None:
        trimmed = video.filter("trim", start=f"{window.start_seconds:.3f}", end_frame=1)
    else:
        trimmed = video.filter("trim", start=f"{window.start_seconds:.3f}", end=f"{window.end_seconds:.3f}")
    return poster_pick(trimmed, plan, window)


def poster_pick(video: Any, plan: ImagePlan, window: PosterWindow) -> Any:
    """Scale to the poster size, then the ``thumbnail`` filter: the frame closest to the window's average
    colour histogram (it flushes its best frame when its input ends). The filter needs at least 2 frames
    per batch; a window of one frame keeps that frame."""
    scaled = video.filter("scale", plan.poster_width, plan.poster_height).filter("setsar", 1)
    return scaled.filter("thumbnail", window.frames) if window.frames >= 2 else scaled


def thumbnail_chain(video: Any, plan: ImagePlan) -> Any:
    """One frame every interval; ``eof_action=pass`` makes a clip shorter than half an interval still
    give its frame (ffmpeg's default rounds it away)."""
    return (
        video.filter("fps", f"1/{plan.thumbnail_interval_seconds:g}", eof_action="pass")
        .filter("scale", plan.thumbnail_width, plan.thumbnail_height)
        .filter("setsar", 1)
    )


def storyboard_chain(video: Any, board: StoryboardPlan, *, keep_last: bool = True) -> Any:
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
        poster_chain(next(taken), plan, window).output(
            str(out / POSTER_CANDIDATE.format(k=k)), **{"frames:v": 1, "update": 1, "q:v": POSTER_JPEG_QUALITY}
        )
        for k, window in enumerate(plan.poster_windows)
    ]
    outputs.append(
        thumbnail_chain(next(taken), plan).output(
            str(out / THUMBS_DIR / THUMB_PATTERN),
            **{"frames:v": plan.thumbnail_count, "start_number": 1, "q:v": THUMBNAIL_JPEG_QUALITY},
        )
    )
    if plan.storyboard is not None:
        board = plan.storyboard
        outputs.append(
            storyboard_chain(next(taken), board).output(
                str(out / STORYBOARD_DIR / STORYBOARD_SPRITE_PATTERN),
                **{"frames:v": board.sheets, "start_number": 1, "q:v": THUMBNAIL_JPEG_QUALITY},
            )
        )
    return outputs


def image_command(source: str, info: MediaInfo, seek: float, graph: Callable[[Any], Any], target: Path, **out: Any) -> list[str]:
    stream = ffmpeg.input(source, **({"ss": f"{seek:.3f}"} if seek > 0 else {}), **input_options(info.format_name))
    video = graph(stream[str(info.video_stream_index)])
    return video.output(str(target), **out).global_args(*IMAGE_GLOBAL_ARGS).overwrite_output().compile(cmd=FFMPEG)
