"""The liveness and progress rule of an ffmpeg pass (domain/liveness.py): pure, no ffmpeg."""

from __future__ import annotations

import math

import pytest

from reelhouse.transcoder.domain.liveness import RUNNING_PERCENT_CEILING, PassLiveness

pytestmark = pytest.mark.unit


def test_a_pass_that_keeps_reading_its_source_is_alive_without_any_ffmpeg_report() -> None:
    # ffmpeg 5.1 says nothing until every output is open; the source offset still moves.
    live = PassLiveness(duration_seconds=600, stall_timeout_seconds=10, started_at=0.0, lead_seconds=4)
    for second in range(1, 300):
        live.observe(float(second), input_bytes=second * 1000, input_size_bytes=600_000)
        assert not live.stalled(float(second))
    assert live.idle_seconds(299.0) == 0.0


def test_nothing_read_and_nothing_written_for_longer_than_the_timeout_is_a_stall() -> None:
    live = PassLiveness(duration_seconds=60, stall_timeout_seconds=10, started_at=100.0)
    live.observe(101.0, input_bytes=5000, input_size_bytes=10_000_000)
    for now in (102.0, 105.0, 111.0):  # a hung ffmpeg: the same offset, no segment, no report
        live.observe(now, input_bytes=5000, input_size_bytes=10_000_000, produced_seconds=0.0)
    assert not live.stalled(111.0)
    assert live.stalled(111.5)


def test_a_process_that_never_opens_its_input_stalls_after_the_timeout_from_its_start() -> None:
    live = PassLiveness(duration_seconds=60, stall_timeout_seconds=1.0, started_at=0.0)
    live.observe(0.9)
    assert not live.stalled(0.9)
    live.observe(1.2)
    assert live.stalled(1.2)


@pytest.mark.parametrize("signal", ["output_seconds", "frames", "produced_seconds", "input_bytes"])
def test_any_signal_that_increases_counts_as_activity(signal: str) -> None:
    live = PassLiveness(duration_seconds=60, stall_timeout_seconds=5, started_at=0.0)
    live.observe(1.0, **{signal: 1})
    live.observe(5.5, **{signal: 2})
    assert not live.stalled(10.0)
    live.observe(10.6, **{signal: 2})  # the same value is no activity
    assert live.stalled(10.6)


def test_a_signal_going_down_is_neither_activity_nor_a_step_back() -> None:
    live = PassLiveness(duration_seconds=100, stall_timeout_seconds=5, started_at=0.0, lead_seconds=4)
    assert live.observe(1.0, produced_seconds=40.0) == pytest.approx(40.0)
    assert live.observe(4.0, produced_seconds=8.0, input_bytes=1, input_size_bytes=100) == pytest.approx(40.0)
    assert live.last_activity == 4.0  # only the read offset moved (from nothing to 1 byte)
    assert live.observe(9.5, produced_seconds=8.0, input_bytes=1, input_size_bytes=100) == pytest.approx(40.0)
    assert live.stalled(9.5)


def test_the_read_offset_estimate_never_runs_more_than_one_segment_ahead_of_what_is_written() -> None:
    live = PassLiveness(duration_seconds=100, stall_timeout_seconds=30, started_at=0.0, lead_seconds=4)
    # 8 s written while the reader stands at 10 s: the reading lead is 2 s, the estimate is what is written.
    assert live.observe(1.0, produced_seconds=8.0, input_bytes=10, input_size_bytes=100) == pytest.approx(8.0)
    assert live.reading_lead_seconds == pytest.approx(2.0)
    # A sparse stretch: the offset jumps to 50 s; nothing new written: at most 8 + 4 s.
    assert live.observe(2.0, input_bytes=50, input_size_bytes=100) == pytest.approx(12.0)
    # 28 s written: the confirmed figure wins; the offset moving back (30 %) never takes the percent back.
    assert live.observe(3.0, produced_seconds=28.0, input_bytes=60, input_size_bytes=100) == pytest.approx(28.0)
    assert live.observe(4.0, input_bytes=30, input_size_bytes=100) == pytest.approx(28.0)


def _slow_pass(live: PassLiveness, *, partial_segments: bool) -> tuple[list[float], float]:
    """Feed ``live`` a 1080p ladder at 0.27x realtime with 4 s segments, one sample a second; the reader
    runs 3 s of media ahead of the slowest encoder (demuxer buffers, x264 look-ahead). Returns the percents
    and the true media seconds encoded at the end; checks the percent never runs a segment ahead."""
    speed, reader_ahead, segment, size = 0.27, 3.0, 4.0, 600_000_000
    percents: list[float] = []
    encoded = 0.0
    for second in range(1, 1200):
        encoded = speed * second
        whole = (encoded // segment) * segment
        written = whole + min(0.95, (encoded - whole) / segment) * segment if partial_segments else whole
        read = min(600.0, encoded + reader_ahead)
        percent = live.observe(float(second), produced_seconds=written, input_bytes=int(read / 600 * size), input_size_bytes=size)
        assert percent / 100 * 600 <= encoded + segment + 1e-6
        percents.append(percent)
    assert percents == sorted(percents)
    return percents, encoded


def _longest_freeze(percents: list[float]) -> int:
    longest = frozen = 0
    for before, after in zip(percents, percents[1:], strict=False):
        frozen = frozen + 1 if after == before else 0
        longest = max(longest, frozen)
    return longest


def test_a_slow_pass_moves_its_percent_every_sample_with_the_segment_being_written_counted() -> None:
    live = PassLiveness(duration_seconds=600, stall_timeout_seconds=120, started_at=0.0, lead_seconds=4)
    percents, encoded = _slow_pass(live, partial_segments=True)
    assert _longest_freeze(percents) == 0
    assert percents[-1] == pytest.approx(encoded / 6, abs=4 / 6)


def test_with_whole_segments_only_the_reading_lead_correction_keeps_the_percent_moving() -> None:
    # Segments land every ~15 s. The raw offset capped at one segment froze the percent for ~10 s after
    # each one; corrected by the reading lead it moves every sample once the first segment has calibrated it.
    live = PassLiveness(duration_seconds=600, stall_timeout_seconds=120, started_at=0.0, lead_seconds=4)
    percents, _ = _slow_pass(live, partial_segments=False)
    first_segment_at = 15  # 4 s / 0.27
    assert _longest_freeze(percents[first_segment_at:]) <= 1
    assert live.reading_lead_seconds == pytest.approx(3.0, abs=0.3)


def test_an_mp4_read_first_at_its_end_then_from_its_start_stays_alive_and_overshoots_by_one_segment_at_most() -> None:
    # The index (moov) of a camera MP4 sits at the end: ffmpeg reads it first, then the media from the start.
    live = PassLiveness(duration_seconds=600, stall_timeout_seconds=10, started_at=0.0, lead_seconds=4)
    assert live.observe(1.0, input_bytes=999_000, input_size_bytes=1_000_000) == pytest.approx(4 / 6)
    percents = []
    for second in range(2, 120):
        percents.append(live.observe(float(second), input_bytes=second * 1000, input_size_bytes=1_000_000, produced_seconds=(second // 5) * 4.0))
        assert not live.stalled(float(second))
    assert percents == sorted(percents) and percents[-1] > 10.0


def test_without_segments_the_read_offset_is_the_estimate() -> None:
    live = PassLiveness(duration_seconds=50, stall_timeout_seconds=30, started_at=0.0, lead_seconds=math.inf)
    assert live.observe(1.0, input_bytes=25, input_size_bytes=100) == pytest.approx(25.0)


def test_ffmpeg_report_when_it_comes_is_exact() -> None:
    live = PassLiveness(duration_seconds=200, stall_timeout_seconds=30, started_at=0.0, lead_seconds=4)
    assert live.observe(1.0, output_seconds=150.0, produced_seconds=140.0) == pytest.approx(75.0)


def test_progress_never_reaches_100_while_running_and_never_goes_backwards() -> None:
    live = PassLiveness(duration_seconds=10, stall_timeout_seconds=30, started_at=0.0, lead_seconds=4)
    seen = [
        live.observe(t, output_seconds=o, input_bytes=b, input_size_bytes=100)
        for t, o, b in [(1, 2.0, 10), (2, 1.0, 5), (3, 9.0, 95), (4, 12.0, 100), (5, 11.0, 100)]
    ]
    assert seen == sorted(seen)
    assert seen[-1] == RUNNING_PERCENT_CEILING
    assert live.percent == RUNNING_PERCENT_CEILING


def test_unknown_duration_gives_no_percentage_but_still_watches_liveness() -> None:
    live = PassLiveness(duration_seconds=0, stall_timeout_seconds=2, started_at=0.0)
    assert live.observe(1.0, output_seconds=5.0, input_bytes=10, input_size_bytes=100) == 0.0
    assert not live.stalled(2.5)
    assert live.stalled(3.5)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        PassLiveness(duration_seconds=10, stall_timeout_seconds=0, started_at=0.0)
    with pytest.raises(ValueError):
        PassLiveness(duration_seconds=10, stall_timeout_seconds=1, started_at=0.0, lead_seconds=-1)
