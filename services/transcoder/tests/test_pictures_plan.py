"""Planning a source's pictures (domain/pictures.py): poster windows, thumbnails, storyboard geometry.
Pure: no ffmpeg."""

from __future__ import annotations

import pytest

from reelhouse.transcoder.domain.ladder import MediaInfo
from reelhouse.transcoder.domain.pictures import (
    POSTER_POSITIONS,
    STORYBOARD_MAX_TILES,
    plan_images,
    plan_storyboard,
)

pytestmark = pytest.mark.unit


def _info(width: int = 1920, height: int = 1080, duration: float = 20.0, fps: float = 25.0) -> MediaInfo:
    return MediaInfo(
        duration_seconds=duration, width=width, height=height, coded_width=width, coded_height=height,
        rotation=0, video_codec="h264", pix_fmt="yuv420p", frame_rate=fps, video_bitrate=5_000_000,
        has_audio=True, audio_codec="aac", format_name="mov,mp4", size_bytes=1,
    )  # fmt: skip


def test_plan_images_windows_sizes_and_counts() -> None:
    plan = plan_images(_info(), thumbnail_count=10)
    starts = [w.start_seconds for w in plan.poster_windows]
    assert starts == [20.0 * share for share in POSTER_POSITIONS] + [0.0]
    assert [w.end_seconds for w in plan.poster_windows[:-1]] == [s + 2.0 for s in starts[:-1]]
    assert all(w.frames == 25 for w in plan.poster_windows[:-1])
    assert plan.poster_windows[-1].end_seconds is None and plan.poster_windows[-1].frames == 1
    assert (plan.poster_width, plan.poster_height) == (1280, 720)
    assert (plan.thumbnail_width, plan.thumbnail_height) == (320, 180)
    assert plan.thumbnail_interval_seconds == 2.0 and plan.thumbnail_count == 10
    board = plan.storyboard
    assert board is not None and (board.interval_seconds, board.tiles, board.columns, board.rows) == (2.0, 10, 10, 1)
    assert board.sheets == 1
    assert plan.branch_count == len(POSTER_POSITIONS) + 1 + 1 + 1


def test_plan_images_short_portrait_and_no_storyboard() -> None:
    plan = plan_images(_info(width=720, height=1280, duration=0.5, fps=30.0), thumbnail_count=10, storyboard=False)
    assert plan.storyboard is None and plan.branch_count == len(POSTER_POSITIONS) + 1 + 1
    assert (plan.poster_width, plan.poster_height) == (720, 1280)  # never upscaled
    assert (plan.thumbnail_width, plan.thumbnail_height) == (320, 568)
    assert all(w.frames == 1 for w in plan.poster_windows)  # 0.05 s windows at 30 frames/s
    assert plan.thumbnail_interval_seconds == 1.0 and plan.thumbnail_count == 1
    with pytest.raises(ValueError):
        plan_images(_info(), thumbnail_count=0)


def test_storyboard_of_a_long_video_keeps_at_most_200_tiles_on_full_sheets() -> None:
    board = plan_storyboard(_info(width=3840, height=2160, duration=7200.0))
    assert board.interval_seconds == 36.0 and board.tiles == STORYBOARD_MAX_TILES
    assert (board.columns, board.rows, board.sheets) == (10, 10, 2)
    assert (board.tile_width, board.tile_height) == (160, 90)


def test_storyboard_of_a_short_clip_has_one_partial_sheet_and_never_upscales() -> None:
    board = plan_storyboard(_info(width=120, height=68, duration=5.0))
    assert board.interval_seconds == 2.0 and board.tiles == 3
    assert (board.columns, board.rows, board.sheets) == (3, 1, 1)
    assert (board.tile_width, board.tile_height) == (120, 68)
    with pytest.raises(ValueError):
        plan_storyboard(_info(), tile_width=0)
