"""Unit tests for the rendition ladder rules (pure: no ffmpeg, no files)."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest

from reelhouse.transcoder.domain.ladder import (
    ADJACENT_RUNG_FACTOR,
    AUDIO_BITRATE,
    AUDIO_BITRATE_LOW,
    LADDER,
    MIN_VIDEO_BITRATE,
    SOURCE_BITRATE_HEADROOM,
    FailReason,
    MediaInfo,
    MediaRejected,
    Rendition,
    h264_level,
    plan_ladder,
)

pytestmark = pytest.mark.unit

CODECS_RE = re.compile(r"^avc1\.6400[0-9a-f]{2}(,mp4a\.40\.2)?$")


def info(
    width: int,
    height: int,
    *,
    bitrate: int | None = None,
    audio: bool = True,
    fps: float = 25.0,
    rotation: int = 0,
) -> MediaInfo:
    coded = (height, width) if rotation in (90, 270) else (width, height)
    return MediaInfo(
        duration_seconds=10.0,
        width=width,
        height=height,
        coded_width=coded[0],
        coded_height=coded[1],
        rotation=rotation,
        video_codec="h264",
        pix_fmt="yuv420p",
        frame_rate=fps,
        video_bitrate=bitrate,
        has_audio=audio,
        audio_codec="aac" if audio else None,
        format_name="mov,mp4,m4a,3gp,3g2,mj2",
        size_bytes=1_000_000,
        video_stream_index=0,
        audio_stream_index=1 if audio else None,
    )


def dims(renditions: list[Rendition]) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in renditions]


# --- which rungs --------------------------------------------------------------------------------------


def test_full_hd_source_gets_the_whole_ladder_highest_first() -> None:
    plan = plan_ladder(info(1920, 1080))
    assert dims(plan) == [("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]
    assert [r.video_bitrate for r in plan] == [rung.video_bitrate for rung in LADDER[1:]]


def test_only_4k_sources_get_the_2160p_rung() -> None:
    plan = plan_ladder(info(3840, 2160))
    assert plan[0].name == "2160p"
    assert (plan[0].width, plan[0].height) == (3840, 2160)
    assert [r.name for r in plan] == ["2160p", "1080p", "720p", "480p", "360p"]
    assert plan[0].video_bitrate == LADDER[0].video_bitrate
    assert plan[0].level_string in ("5.1", "5.2")  # H.264 Table A-1: 3840x2160 at 25-30 fps
    assert plan_ladder(info(2560, 1440))[0].name == "1080p"  # 1440p is not 4K: tops out at 1080p


@pytest.mark.parametrize(
    ("height", "expected"),
    [
        (2160, ["2160p", "1080p", "720p", "480p", "360p"]),
        (2159, ["1080p", "720p", "480p", "360p"]),
        (1080, ["1080p", "720p", "480p", "360p"]),
        (1079, ["720p", "480p", "360p"]),
        (720, ["720p", "480p", "360p"]),
        (719, ["480p", "360p"]),
        (540, ["480p", "360p"]),
        (480, ["480p", "360p"]),
        (360, ["360p"]),
    ],
)
def test_never_above_the_source(height: int, expected: list[str]) -> None:
    width = round(height * 16 / 9)
    plan = plan_ladder(info(width, height))
    assert [r.name for r in plan] == expected
    for rendition in plan:
        assert rendition.height <= height
        assert rendition.width <= width + 1  # +1: rounding a 16:9 width to even may add a pixel


def test_portrait_source_compares_the_short_side() -> None:
    plan = plan_ladder(info(1080, 1920))
    assert dims(plan) == [("1080p", 1080, 1920), ("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)]
    assert all(r.height > r.width for r in plan)


def test_rotated_phone_video_uses_display_dimensions() -> None:
    # Coded 1920x1080 with a 90 degree display rotation: MediaInfo carries the display size 1080x1920.
    plan = plan_ladder(info(1080, 1920, rotation=90))
    assert plan[0].name == "1080p"
    assert (plan[0].width, plan[0].height) == (1080, 1920)


def test_portrait_smaller_than_1080_wide_never_upscales() -> None:
    plan = plan_ladder(info(720, 1280))
    assert dims(plan) == [("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)]


def test_4_3_and_scope_aspect_ratios() -> None:
    assert dims(plan_ladder(info(1440, 1080))) == [
        ("1080p", 1440, 1080),
        ("720p", 960, 720),
        ("480p", 640, 480),
        ("360p", 480, 360),
    ]
    scope = plan_ladder(info(1920, 804))  # 2.39:1, short side 804
    assert dims(scope) == [("720p", 1720, 720), ("480p", 1146, 480), ("360p", 860, 360)]


def test_square_source() -> None:
    assert dims(plan_ladder(info(1080, 1080))) == [
        ("1080p", 1080, 1080),
        ("720p", 720, 720),
        ("480p", 480, 480),
        ("360p", 360, 360),
    ]


# --- tiny and odd sources ---------------------------------------------------------------------------


def test_tiny_source_gets_one_rendition_at_its_own_size() -> None:
    plan = plan_ladder(info(176, 144))
    assert dims(plan) == [("144p", 176, 144)]
    assert plan[0].video_bitrate >= MIN_VIDEO_BITRATE
    assert plan[0].audio_bitrate == AUDIO_BITRATE_LOW


def test_tiny_odd_source_is_rounded_down_to_even() -> None:
    plan = plan_ladder(info(175, 143))
    assert dims(plan) == [("142p", 174, 142)]


def test_wide_source_below_360p_keeps_its_size() -> None:
    # bikes.mp4: 640x272 is wide but its short side is under 360: one rung, never upscaled.
    assert dims(plan_ladder(info(640, 272, audio=False))) == [("272p", 640, 272)]


@pytest.mark.parametrize(("width", "height"), [(1, 1), (2, 2), (3, 5), (100, 7), (359, 359)])
def test_degenerate_sizes_still_give_one_even_rendition(width: int, height: int) -> None:
    plan = plan_ladder(info(width, height))
    assert len(plan) == 1
    rendition = plan[0]
    assert rendition.width % 2 == 0 and rendition.height % 2 == 0
    assert 2 <= rendition.width <= max(width, 2) and 2 <= rendition.height <= max(height, 2)


@pytest.mark.parametrize(
    ("width", "height"), [(1279, 719), (1281, 721), (1921, 1081), (853, 481), (1079, 1919)]
)
def test_odd_dimensions_give_even_outputs(width: int, height: int) -> None:
    plan = plan_ladder(info(width, height))
    assert plan
    for rendition in plan:
        assert rendition.width % 2 == 0, rendition
        assert rendition.height % 2 == 0, rendition
        assert min(rendition.width, rendition.height) <= min(width, height)


def test_aspect_ratio_is_kept_within_rounding() -> None:
    source = info(1279, 719)
    for rendition in plan_ladder(source):
        assert abs(rendition.width / rendition.height - 1279 / 719) < 2.5 / rendition.height


@pytest.mark.parametrize("width", [2, 64, 176, 320, 640, 1280, 1920, 3840, 7680])
@pytest.mark.parametrize("height", [2, 64, 144, 272, 360, 480, 720, 1080, 2160])
def test_always_at_least_one_rendition_ordered_highest_first(width: int, height: int) -> None:
    plan = plan_ladder(info(width, height, bitrate=500_000))
    assert len(plan) >= 1
    pixels = [r.width * r.height for r in plan]
    assert pixels == sorted(pixels, reverse=True)
    rates = [r.video_bitrate for r in plan]
    assert rates == sorted(rates, reverse=True)
    assert len({r.name for r in plan}) == len(plan)


def test_no_positive_dimensions_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        plan_ladder(info(0, 720))


# --- bit rates ----------------------------------------------------------------------------------------


def test_unknown_or_rich_source_bitrate_keeps_the_nominal_ladder() -> None:
    nominal = [rung.video_bitrate for rung in LADDER[1:]]
    assert [r.video_bitrate for r in plan_ladder(info(1920, 1080, bitrate=None))] == nominal
    assert [r.video_bitrate for r in plan_ladder(info(1920, 1080, bitrate=20_000_000))] == nominal


def test_lean_source_caps_the_top_rung_near_the_source_bitrate() -> None:
    plan = plan_ladder(info(1920, 1080, bitrate=3_000_000))
    top = plan[0]
    assert top.video_bitrate == int(3_000_000 * SOURCE_BITRATE_HEADROOM) // 1000 * 1000  # 3.3 Mb/s
    for rendition, rung in zip(plan, LADDER[1:], strict=True):
        assert rendition.video_bitrate <= rung.video_bitrate
        assert rendition.video_bitrate <= 3_000_000 * SOURCE_BITRATE_HEADROOM


def test_bigbuckbunny_like_source_ladder() -> None:
    # 1280x720 at 1.206 Mb/s: 720p capped to 1.1 x source; lower rungs kept 1.5 x apart.
    plan = plan_ladder(info(1280, 720, bitrate=1_205_959))
    assert [(r.name, r.video_bitrate) for r in plan] == [
        ("720p", 1_326_000),
        ("480p", 884_000),
        ("360p", 589_000),
    ]


def test_capped_rungs_stay_apart() -> None:
    plan = plan_ladder(info(1920, 1080, bitrate=2_000_000))
    for upper, lower in itertools.pairwise(plan):
        if lower.video_bitrate > MIN_VIDEO_BITRATE:
            assert upper.video_bitrate >= lower.video_bitrate * ADJACENT_RUNG_FACTOR * 0.99


def test_starved_source_never_goes_below_the_floor() -> None:
    plan = plan_ladder(info(1920, 1080, bitrate=50_000))
    assert all(r.video_bitrate == MIN_VIDEO_BITRATE for r in plan)
    assert len(plan) == 4  # resolution rungs are still offered


def test_rates_are_whole_kbits_and_vbv_follows_the_target() -> None:
    for rendition in plan_ladder(info(1920, 1080, bitrate=3_333_333)):
        for value in (rendition.video_bitrate, rendition.maxrate, rendition.bufsize):
            assert value % 1000 == 0
        assert rendition.video_bitrate < rendition.maxrate <= rendition.video_bitrate * 1.1
        assert rendition.bufsize >= rendition.maxrate


# --- audio, bandwidth, codecs -------------------------------------------------------------------------


def test_audio_bitrates() -> None:
    plan = plan_ladder(info(1920, 1080))
    assert [r.audio_bitrate for r in plan] == [AUDIO_BITRATE, AUDIO_BITRATE, AUDIO_BITRATE, AUDIO_BITRATE_LOW]
    assert all(r.has_audio for r in plan)


def test_no_audio_source_has_no_audio_in_the_plan() -> None:
    plan = plan_ladder(info(1920, 1080, audio=False))
    assert all(r.audio_bitrate == 0 and not r.has_audio for r in plan)
    assert all("mp4a" not in r.codecs for r in plan)


def test_bandwidth_matches_ffmpeg_formula_and_bounds_the_peak() -> None:
    for rendition in plan_ladder(info(1920, 1080)) + plan_ladder(info(1280, 720, audio=False)):
        total = rendition.video_bitrate + rendition.audio_bitrate
        assert rendition.bandwidth == total + total // 10
        assert rendition.bandwidth >= rendition.maxrate + rendition.audio_bitrate


def test_codecs_strings() -> None:
    plan = plan_ladder(info(1920, 1080, fps=30))
    assert [r.codecs for r in plan] == [
        "avc1.640028,mp4a.40.2",  # High, level 4.0
        "avc1.64001f,mp4a.40.2",  # High, level 3.1
        "avc1.64001f,mp4a.40.2",  # 854x480 at 30 fps needs 3.1 (48,600 MB/s > 40,500 for 3.0)
        "avc1.64001e,mp4a.40.2",  # level 3.0
    ]
    for rendition in plan_ladder(info(1080, 1920, audio=False)):
        assert CODECS_RE.match(rendition.codecs), rendition.codecs
    assert plan[0].level_string == "4.0"
    assert plan[1].level_string == "3.1"


@pytest.mark.parametrize(
    ("width", "height", "fps", "expected"),
    [
        (1920, 1080, 30, 40),
        (1920, 1080, 60, 42),
        (1280, 720, 30, 31),
        (1280, 720, 60, 32),
        (640, 360, 30, 30),
        (176, 144, 15, 30),  # never below 3.0
        (3840, 2160, 30, 51),
        (1920, 1080, 0, 40),  # unknown frame rate: 30 assumed
    ],
)
def test_h264_level(width: int, height: int, fps: float, expected: int) -> None:
    assert h264_level(width, height, fps, maxrate=2_000_000, bufsize=3_000_000) == expected


def test_h264_level_rises_with_bitrate() -> None:
    # Level 4.0 allows 25 Mb/s for High (20,000 kbit/s x 1.25); 30 Mb/s needs 4.1.
    assert h264_level(1920, 1080, 30, maxrate=30_000_000, bufsize=30_000_000) == 41


# --- failures -----------------------------------------------------------------------------------------


def test_fail_reasons_are_stable_codes() -> None:
    assert {reason.value for reason in FailReason} == {
        "UNSUPPORTED_MEDIA",
        "UNSUPPORTED_FORMAT",
        "NO_VIDEO_STREAM",
        "CORRUPT_SOURCE",
        "UNSUPPORTED_CODEC",
        "TRANSCODE_ERROR",
        "TIMEOUT",
        "SOURCE_MISSING",
        "SOURCE_TOO_LONG",
        "RESOLUTION_TOO_HIGH",
        "WORKER_LOST",
    }
    assert all(reason.value == reason.name for reason in FailReason)
    assert str(FailReason.TIMEOUT) == "TIMEOUT"


@pytest.mark.parametrize(
    ("reason", "retryable"),
    [
        (FailReason.UNSUPPORTED_MEDIA, False),
        (FailReason.UNSUPPORTED_FORMAT, False),
        (FailReason.NO_VIDEO_STREAM, False),
        (FailReason.CORRUPT_SOURCE, False),
        (FailReason.UNSUPPORTED_CODEC, False),
        (FailReason.SOURCE_MISSING, False),
        (FailReason.SOURCE_TOO_LONG, False),
        (FailReason.RESOLUTION_TOO_HIGH, False),
        (FailReason.WORKER_LOST, True),
        (FailReason.TRANSCODE_ERROR, True),
        (FailReason.TIMEOUT, True),
    ],
)
def test_media_rejected_default_retryability(reason: FailReason, retryable: bool) -> None:
    error = MediaRejected(reason, "detail")
    assert error.reason is reason
    assert error.detail == "detail"
    assert error.retryable is retryable
    assert str(reason) in str(error)


def test_media_rejected_explicit_retryable_wins() -> None:
    assert MediaRejected(FailReason.TRANSCODE_ERROR, "bad flag", retryable=False).retryable is False
    assert MediaRejected("CORRUPT_SOURCE").reason is FailReason.CORRUPT_SOURCE


def test_value_objects_are_frozen() -> None:
    source = info(1280, 720)
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.width = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan_ladder(source)[0].video_bitrate = 1  # type: ignore[misc]
