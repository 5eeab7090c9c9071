"""Planning the pictures of a source (pure: no I/O): poster candidate windows, thumbnail spacing and
sizes, storyboard geometry, and the storyboard's WebVTT index.

The adapter (:mod:`reelhouse.transcoder.adapters.ffmpeg`) turns a plan into ffmpeg filter branches of
the ladder pass, or into runs of their own. Sizes in pixels (display orientation, even, never above the
source), times in seconds. docs/transcoding.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reelhouse.transcoder.domain.ladder import MediaInfo

__all__ = [
    "POSTER_POSITIONS",
    "POSTER_THUMBNAIL_FRAMES",
    "POSTER_WINDOW_MAX_SECONDS",
    "STORYBOARD_MAX_TILES",
    "STORYBOARD_MIN_INTERVAL_SECONDS",
    "STORYBOARD_SPRITE_PATTERN",
    "ImagePlan",
    "PosterWindow",
    "StoryboardPlan",
    "plan_images",
    "plan_storyboard",
    "storyboard_vtt",
]

#: Poster candidates, as shares of the duration: 10 % avoids fade-ins and studio cards in most videos;
#: later ones are tried only when a candidate is (nearly) black.
POSTER_POSITIONS = (0.10, 0.25, 0.50, 0.75)
#: Frames the ``thumbnail`` filter compares per candidate (it buffers them: kept small, after scaling).
POSTER_THUMBNAIL_FRAMES = 25
#: Longest poster window, seconds (the ``thumbnail`` filter picks the most representative frame in it).
POSTER_WINDOW_MAX_SECONDS = 2.0

#: File names of the storyboard's sprite sheets (``sprite_001.jpg``...), as its WebVTT cues name them.
STORYBOARD_SPRITE_PATTERN = "sprite_%03d.jpg"
#: Fewest seconds between storyboard tiles, and most tiles per video (our choices: a scrub bar shows at
#: most a few hundred distinct previews; 200 tiles of 160 px are ~1.5 MB of JPEG).
STORYBOARD_MIN_INTERVAL_SECONDS = 2.0
STORYBOARD_MAX_TILES = 200


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
