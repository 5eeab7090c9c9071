"""Pictures of a source: the poster, thumbnails and storyboard sprites with their WebVTT index.

The worker makes them inside the ladder pass: extra branches of the same decoded frames
(``build_hls_command(images=plan_images(...))``, plans in :mod:`reelhouse.transcoder.domain.pictures`),
so a job decodes its source exactly once; :func:`prepare_image_dirs` readies the directories and
:func:`collect_images` picks the poster and lists what the pass wrote. The stand-alone functions
(:func:`make_images`, :func:`make_storyboard`) make the same files with ffmpeg runs of their own; the
worker calls them when the ladder pass left a picture out (none is known to), and the tests use them.
Blocking; asyncio callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from reelhouse.transcoder.adapters.ffmpeg.command import (
    IMAGE_GLOBAL_ARGS,
    POSTER_JPEG_QUALITY,
    THUMBNAIL_JPEG_QUALITY,
    image_command,
    poster_pick,
    storyboard_chain,
    thumbnail_chain,
)
from reelhouse.transcoder.adapters.ffmpeg.layout import (
    FFMPEG,
    POSTER,
    POSTER_CANDIDATE,
    STORYBOARD_DIR,
    STORYBOARD_SPRITE_PATTERN,
    STORYBOARD_VTT,
    THUMB_PATTERN,
    THUMBS_DIR,
)
from reelhouse.transcoder.adapters.ffmpeg.probe import input_options
from reelhouse.transcoder.adapters.ffmpeg.process import run_ffmpeg, stderr_tail
from reelhouse.transcoder.domain.ladder import FailReason, MediaInfo, MediaRejected
from reelhouse.transcoder.domain.pictures import (
    ImagePlan,
    StoryboardPlan,
    plan_images,
    plan_storyboard,
    storyboard_vtt,
)

__all__ = [
    "POSTER_MIN_LUMA",
    "Images",
    "Storyboard",
    "collect_images",
    "frame_mean_luma",
    "make_images",
    "make_storyboard",
    "prepare_image_dirs",
]

#: Mean luma (0..255, full range) under which a poster candidate counts as black. Video black (Y=16) is
#: about 0 once JPEG full range; a dark but real scene is well above 20.
POSTER_MIN_LUMA = 20.0


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
            FailReason.TRANSCODE_ERROR, stderr_tail(result.stderr) or "cannot decode image", retryable=True
        )
    data = result.stdout
    return sum(data) / len(data)


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
        argv = image_command(
            src,
            info,
            window.start_seconds,
            lambda v, w=window: poster_pick(v, plan, w),
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
        argv = image_command(
            src,
            info,
            0.0,
            lambda v: thumbnail_chain(v, plan),
            thumbs / THUMB_PATTERN,
            **{"frames:v": plan.thumbnail_count, "start_number": 1, **jpeg},
        )
        run_ffmpeg(argv, info.duration_seconds, None, stall_timeout_seconds=120)
    else:
        for k in range(plan.thumbnail_count):
            seek = min(k * plan.thumbnail_interval_seconds, max(0.0, info.duration_seconds - 0.5))
            argv = image_command(
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
            storyboard_chain(stream, board, keep_last=not keyframes_only)
            .output(
                str(out / STORYBOARD_SPRITE_PATTERN),
                **{"frames:v": board.sheets, "start_number": 1, "q:v": THUMBNAIL_JPEG_QUALITY, "an": None, "sn": None},
            )
            .global_args(*IMAGE_GLOBAL_ARGS)
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
