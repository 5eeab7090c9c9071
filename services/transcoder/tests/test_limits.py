"""Source limits (max duration, max pixels) as a pure function of the probe."""

from __future__ import annotations

import dataclasses

import pytest

from reelhouse.transcoder.domain.ladder import FailReason, MediaInfo, MediaRejected, check_limits
from reelhouse.transcoder.settings import TranscoderSettings

pytestmark = pytest.mark.unit

INFO = MediaInfo(
    duration_seconds=120.0, width=1920, height=1080, coded_width=1920, coded_height=1080, rotation=0,
    video_codec="h264", pix_fmt="yuv420p", frame_rate=25.0, video_bitrate=5_000_000, has_audio=True,
    audio_codec="aac", format_name="mov,mp4,m4a,3gp,3g2,mj2", size_bytes=10_000_000,
)


def test_within_limits_and_exactly_at_them_passes() -> None:
    check_limits(INFO, None, None)
    check_limits(INFO, 120.0, 1920 * 1080)


def test_too_long_is_source_too_long_and_not_retryable() -> None:
    with pytest.raises(MediaRejected) as err:
        check_limits(INFO, 119.9, None)
    assert err.value.reason is FailReason.SOURCE_TOO_LONG and not err.value.retryable
    assert "120.0 s" in err.value.detail and "119.9 s" in err.value.detail


def test_too_many_pixels_is_resolution_too_high_whatever_the_rotation() -> None:
    portrait = dataclasses.replace(INFO, width=1080, height=1920, rotation=90)
    for media in (INFO, portrait):
        with pytest.raises(MediaRejected) as err:
            check_limits(media, None, 1920 * 1080 - 1)
        assert err.value.reason is FailReason.RESOLUTION_TOO_HIGH and not err.value.retryable


def test_duration_is_checked_before_resolution() -> None:
    with pytest.raises(MediaRejected) as err:
        check_limits(INFO, 10.0, 100)
    assert err.value.reason is FailReason.SOURCE_TOO_LONG


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert TranscoderSettings().max_pixels == 4096 * 2160 and TranscoderSettings().max_duration_seconds == 6 * 3600
    monkeypatch.setenv("REELHOUSE_MAX_DURATION_SECONDS", "8")
    monkeypatch.setenv("REELHOUSE_MAX_PIXELS", "200000")
    s = TranscoderSettings()
    assert (s.max_duration_seconds, s.max_pixels) == (8.0, 200000)
