"""The ffmpeg adapter against the real ffmpeg/ffprobe and the real clips in media/ (media/README.md).

Edge-case inputs are derived from those clips with ffmpeg inside the tests (nothing generated is
committed). Encodes use the ``ultrafast`` preset and short inputs so the module runs in seconds.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import m3u8
import pytest

from reelhouse.testing import footage_dir
from reelhouse.transcoder.adapters.ffmpeg import (
    HlsOutput,
    TranscodeCancelled,
    build_hls_command,
    make_images,
    make_storyboard,
    plan_images,
    probe,
    run_ffmpeg,
    transcode_to_hls,
)
from reelhouse.transcoder.adapters.ffmpeg.hls import _complete_master
from reelhouse.transcoder.domain.ladder import FailReason, MediaInfo, MediaRejected, Rendition, plan_ladder

pytestmark = [
    pytest.mark.service,
    pytest.mark.skipif(
        shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None, reason="needs ffmpeg and ffprobe"
    ),
]

MEDIA = footage_dir()
BBB = MEDIA / "bigbuckbunny.mp4"
BIKES = MEDIA / "bikes.mp4"
CARPHONE = MEDIA / "carphone_pristine.mp4"
PRESET = "ultrafast"


def ffmpeg_run(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def ffprobe_json(path: Path, *args: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)], check=True, capture_output=True
    ).stdout
    return json.loads(out)


def mean_luma(image: Path) -> float:
    """Independent of the adapter: decode to 8-bit gray with ffmpeg, average the bytes in Python."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(image), "-vf", "format=gray", "-f", "rawvideo", "pipe:1"],
        check=True,
        capture_output=True,
    ).stdout
    assert raw
    return sum(raw) / len(raw)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Derived inputs, made once per module."""
    for clip in (BBB, BIKES, CARPHONE):
        if not clip.is_file():
            pytest.skip(f"missing bundled clip {clip}")
    d = tmp_path_factory.mktemp("media")
    made: dict[str, Path] = {}

    made["text"] = d / "notes.mp4"
    made["text"].write_text("This is a shopping list, not a video.\n" * 20)

    made["png"] = d / "picture.mp4"
    ffmpeg_run("-i", str(BIKES), "-frames:v", "1", "-f", "image2", "-c:v", "png", str(made["png"]))

    made["audio"] = d / "audio_only.mp4"
    ffmpeg_run("-i", str(BBB), "-vn", "-c:a", "copy", str(made["audio"]))

    # bigbuckbunny.mp4 keeps its index (moov) at the end: its first 30 % has no index at all.
    data = BBB.read_bytes()
    made["truncated"] = d / "truncated.mp4"
    made["truncated"].write_bytes(data[: len(data) * 30 // 100])

    # The same clip with the index moved to the front, then cut: it still probes, but the data ends early.
    faststart = d / "faststart.mp4"
    ffmpeg_run("-i", str(BBB), "-c", "copy", "-movflags", "+faststart", str(faststart))
    fs = faststart.read_bytes()
    made["truncated_faststart"] = d / "truncated_faststart.mp4"
    made["truncated_faststart"].write_bytes(fs[: len(fs) * 30 // 100])

    # A phone-style clip: 2 s of bigbuckbunny with a 90 degree display rotation (display matrix).
    made["rotated"] = d / "rotated.mp4"
    ffmpeg_run("-i", str(BBB), "-t", "2", "-c", "copy", "-metadata:s:v", "rotate=90", str(made["rotated"]))

    # 10-bit 4:4:4 (High 4:4:4 Predictive): must come out as 8-bit 4:2:0 for players.
    made["hi444"] = d / "hi444_10bit.mp4"
    ffmpeg_run(
        "-i", str(BBB), "-t", "2", "-vf", "scale=640:360", "-c:v", "libx264", "-preset", "ultrafast",
        "-pix_fmt", "yuv444p10le",
        "-c:a", "copy", str(made["hi444"]),
    )  # fmt: skip

    # Variable frame rate: 4 frames out of every 10 kept with their original timestamps (gaps of 0.28 s).
    made["vfr"] = d / "vfr.mp4"
    ffmpeg_run(
        "-i", str(BBB), "-t", "4", "-vf", "scale=640:360,select='lt(mod(n\\,10)\\,4)'", "-fps_mode", "vfr",
        "-c:v", "libx264", "-preset", "ultrafast", "-an", str(made["vfr"]),
    )  # fmt: skip

    # Black for the first 2.5 s (of 4): the poster must not be taken from the black part.
    # One frame only: too short for any poster window, and ffmpeg's fps filter rounds it away by default.
    made["one_frame"] = d / "one_frame.mp4"
    ffmpeg_run("-i", str(BIKES), "-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast", str(made["one_frame"]))

    made["black_start"] = d / "black_start.mp4"
    ffmpeg_run(
        "-i",
        str(BBB),
        "-t",
        "4",
        "-vf",
        "scale=640:360,drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='lt(t,2.5)'",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-an",
        str(made["black_start"]),
    )
    return made


# --- probe ----------------------------------------------------------------------------------------------


def test_probe_bigbuckbunny() -> None:
    info = probe(BBB)
    assert (info.width, info.height) == (1280, 720)
    assert (info.coded_width, info.coded_height) == (1280, 720)
    assert info.rotation == 0
    assert info.video_codec == "h264"
    assert info.pix_fmt == "yuv420p"
    assert info.frame_rate == pytest.approx(25.0)
    assert info.duration_seconds == pytest.approx(5.3, abs=0.05)
    assert info.has_audio and info.audio_codec == "aac"
    assert info.video_bitrate is not None and 1_000_000 < info.video_bitrate < 1_500_000
    assert info.size_bytes == BBB.stat().st_size
    assert "mp4" in info.format_name
    assert (info.video_stream_index, info.audio_stream_index) == (0, 1)


def test_probe_bikes_has_no_audio() -> None:
    info = probe(BIKES)
    assert (info.width, info.height) == (640, 272)
    assert info.has_audio is False
    assert info.audio_codec is None and info.audio_stream_index is None
    assert info.duration_seconds == pytest.approx(10.0, abs=0.05)


def test_probe_carphone() -> None:
    info = probe(CARPHONE)
    assert (info.width, info.height) == (176, 144)
    assert info.frame_rate == pytest.approx(29.97, abs=0.01)


def test_probe_rotated_reports_display_dimensions(media: dict[str, Path]) -> None:
    info = probe(media["rotated"])
    assert (info.coded_width, info.coded_height) == (1280, 720)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (720, 1280)


def test_text_file_named_mp4_is_unsupported_format(media: dict[str, Path]) -> None:
    # its first bytes are none of the five containers: refused before ffprobe sees it
    with pytest.raises(MediaRejected) as caught:
        probe(media["text"])
    assert caught.value.reason is FailReason.UNSUPPORTED_FORMAT
    assert caught.value.retryable is False
    assert "text" in caught.value.detail


def test_png_renamed_mp4_is_unsupported_format(media: dict[str, Path]) -> None:
    with pytest.raises(MediaRejected) as caught:
        probe(media["png"])
    assert caught.value.reason is FailReason.UNSUPPORTED_FORMAT
    assert caught.value.retryable is False
    assert "PNG image" in caught.value.detail


def test_audio_only_is_no_video_stream(media: dict[str, Path]) -> None:
    with pytest.raises(MediaRejected) as caught:
        probe(media["audio"])
    assert caught.value.reason is FailReason.NO_VIDEO_STREAM
    assert "audio only" in caught.value.detail


def test_truncated_mp4_without_index_is_corrupt_source(media: dict[str, Path]) -> None:
    # Deterministic: the first 30 % of bigbuckbunny.mp4 has no moov atom, so ffprobe cannot open it and
    # the job never reaches ffmpeg.
    with pytest.raises(MediaRejected) as caught:
        probe(media["truncated"])
    assert caught.value.reason is FailReason.CORRUPT_SOURCE
    assert caught.value.retryable is False


def test_truncated_faststart_mp4_fails_the_transcode(media: dict[str, Path], tmp_path: Path) -> None:
    # Documented behaviour: with the index at the front the file probes fine (full 5.3 s), ffmpeg decodes
    # the first ~1.2 s, logs "partial file" and exits 0. The adapter turns that into CORRUPT_SOURCE.
    source = media["truncated_faststart"]
    info = probe(source)
    assert info.duration_seconds == pytest.approx(5.3, abs=0.05)
    with pytest.raises(MediaRejected) as caught:
        transcode_to_hls(source, tmp_path / "out", plan_ladder(info), info, preset=PRESET)
    assert caught.value.reason is FailReason.CORRUPT_SOURCE
    assert caught.value.retryable is False
    assert "partial file" in caught.value.detail


def test_missing_and_empty_sources(tmp_path: Path) -> None:
    with pytest.raises(MediaRejected) as missing:
        probe(tmp_path / "nope.mp4")
    assert missing.value.reason is FailReason.SOURCE_MISSING
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(MediaRejected) as caught:
        probe(empty)
    assert caught.value.reason is FailReason.CORRUPT_SOURCE


# --- command ----------------------------------------------------------------------------------------------


def test_command_is_one_process_with_split_and_stream_map(tmp_path: Path) -> None:
    info = probe(BBB)
    ladder = plan_ladder(info)
    argv = build_hls_command(BBB, tmp_path, ladder, info, segment_seconds=4, preset="veryfast")
    assert argv[0] == "ffmpeg"
    assert argv.count("-i") == 1
    graph = argv[argv.index("-filter_complex") + 1]
    assert "split=3" in graph and graph.count("scale=") == 3 and graph.count("format=yuv420p") == 3
    assert argv[argv.index("-var_stream_map") + 1] == "v:0,a:0,name:720p v:1,a:1,name:480p v:2,a:2,name:360p"
    assert argv[argv.index("-force_key_frames") + 1] == "expr:gte(t,n_forced*4)"
    assert argv[argv.index("-sc_threshold") + 1] == "0"
    assert argv[argv.index("-hls_time") + 1] == "4"
    assert argv[argv.index("-hls_playlist_type") + 1] == "vod"
    assert argv[argv.index("-master_pl_name") + 1] == "master.m3u8"
    assert argv[argv.index("-hls_segment_filename") + 1] == str(tmp_path.resolve() / "%v" / "seg_%05d.ts")
    assert argv[-1] == "-y" and "-progress" in argv and argv[argv.index("-progress") + 1] == "pipe:1"
    for i, rendition in enumerate(ladder):
        assert argv[argv.index(f"-b:v:{i}") + 1] == str(rendition.video_bitrate)
        assert argv[argv.index(f"-maxrate:v:{i}") + 1] == str(rendition.maxrate)
        assert argv[argv.index(f"-bufsize:v:{i}") + 1] == str(rendition.bufsize)
        assert argv[argv.index(f"-b:a:{i}") + 1] == str(rendition.audio_bitrate)
    assert argv.count("-map") == 6 and argv.count("0:1") == 3


def test_command_without_audio_maps_no_audio(tmp_path: Path) -> None:
    info = probe(BIKES)
    argv = build_hls_command(BIKES, tmp_path, plan_ladder(info), info)
    assert argv[argv.index("-var_stream_map") + 1] == "v:0,name:272p"
    assert "-c:a" not in argv and not any(a.startswith("-b:a") for a in argv)
    assert "split" not in argv[argv.index("-filter_complex") + 1]


def test_command_rejects_unsafe_names(tmp_path: Path) -> None:
    info = probe(BIKES)
    bad = Rendition("a b", 640, 272, 400_000, 428_000, 600_000, 0, 30)
    with pytest.raises(ValueError):
        build_hls_command(BIKES, tmp_path, [bad], info)
    with pytest.raises(ValueError):
        build_hls_command(BIKES, tmp_path, [], info)


# --- full transcode ----------------------------------------------------------------------------------------


@dataclass
class Transcoded:
    info: MediaInfo
    ladder: list[Rendition]
    output: HlsOutput
    progress: list[float]
    seconds: float


@pytest.fixture(scope="module")
def bbb_hls(tmp_path_factory: pytest.TempPathFactory) -> Transcoded:
    info = probe(BBB)
    ladder = plan_ladder(info)
    progress: list[float] = []
    started = time.monotonic()
    output = transcode_to_hls(
        BBB, tmp_path_factory.mktemp("bbb") / "hls", ladder, info, on_progress=progress.append, preset=PRESET
    )
    return Transcoded(info, ladder, output, progress, time.monotonic() - started)


def test_bbb_ladder_is_720_480_360(bbb_hls: Transcoded) -> None:
    assert [(r.name, r.width, r.height) for r in bbb_hls.ladder] == [
        ("720p", 1280, 720),
        ("480p", 854, 480),
        ("360p", 640, 360),
    ]


def test_master_lists_three_variants_with_resolution_and_codecs(bbb_hls: Transcoded) -> None:
    master = m3u8.load(str(bbb_hls.output.master_path))
    assert master.is_variant
    by_uri = {p.uri: p.stream_info for p in master.playlists}
    assert list(by_uri) == ["720p/index.m3u8", "480p/index.m3u8", "360p/index.m3u8"]
    for rendition, variant in zip(bbb_hls.ladder, bbb_hls.output.variants, strict=True):
        stream_info = by_uri[variant.playlist]
        assert stream_info.resolution == (rendition.width, rendition.height)
        assert stream_info.codecs, "CODECS missing"
        video_codec, audio_codec = stream_info.codecs.split(",")
        assert video_codec.startswith("avc1.") and audio_codec == "mp4a.40.2"
        assert stream_info.bandwidth == rendition.bandwidth
        assert variant.codecs == stream_info.codecs


def test_missing_codecs_are_added_to_the_master_and_nothing_else_changes(
    bbb_hls: Transcoded, tmp_path: Path
) -> None:
    # ffmpeg 5.1 writes CODECS itself; older builds or other segment types may not. Simulate that.
    original = bbb_hls.output.master_path.read_text()
    stripped = re.sub(r',CODECS="[^"]*"', "", original)
    assert "CODECS" not in stripped
    master = tmp_path / "master.m3u8"
    master.write_text(stripped)
    _complete_master(master, bbb_hls.ladder)
    completed = m3u8.load(str(master))
    assert [p.stream_info.codecs for p in completed.playlists] == [r.codecs for r in bbb_hls.ladder]
    assert re.sub(r',CODECS="[^"]*"', "", master.read_text()) == stripped
    # Already complete: the file is left alone byte for byte.
    master.write_text(original)
    _complete_master(master, bbb_hls.ladder)
    assert master.read_text() == original


def test_every_segment_decodes_with_expected_streams(bbb_hls: Transcoded) -> None:
    out = bbb_hls.output.out_dir
    for variant in bbb_hls.output.variants:
        for segment in variant.segments:
            path = out / variant.rendition.name / segment
            streams = ffprobe_json(path, "-show_streams")["streams"]
            video = [s for s in streams if s["codec_type"] == "video"]
            audio = [s for s in streams if s["codec_type"] == "audio"]
            assert len(video) == 1 and len(audio) == 1
            assert video[0]["codec_name"] == "h264" and video[0]["pix_fmt"] == "yuv420p"
            assert (video[0]["width"], video[0]["height"]) == (
                variant.rendition.width,
                variant.rendition.height,
            )
            assert audio[0]["codec_name"] == "aac"
            decoded = subprocess.run(
                ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
                check=False,
                capture_output=True,
                text=True,
            )
            assert decoded.returncode == 0 and decoded.stderr.strip() == "", decoded.stderr


def test_keyframes_are_aligned_across_renditions(bbb_hls: Transcoded) -> None:
    variants = bbb_hls.output.variants
    assert len({v.segment_count for v in variants}) == 1
    durations = [
        [s.duration for s in m3u8.load(str(bbb_hls.output.out_dir / v.playlist)).segments] for v in variants
    ]
    for other in durations[1:]:
        assert other == pytest.approx(durations[0], abs=0.001)
    assert durations[0][0] == pytest.approx(4.0, abs=0.05)  # -hls_time 4 honoured
    for variant in variants:
        assert variant.duration_seconds == pytest.approx(bbb_hls.info.duration_seconds, abs=0.1)
        for segment in variant.segments:
            first = ffprobe_json(
                bbb_hls.output.out_dir / variant.rendition.name / segment,
                "-select_streams",
                "v",
                "-show_entries",
                "packet=flags",
                "-read_intervals",
                "%+#1",
            )["packets"][0]
            assert first["flags"].startswith("K"), (
                f"{variant.playlist} {segment} does not start on a keyframe"
            )


def test_declared_bandwidth_matches_what_was_written(bbb_hls: Transcoded) -> None:
    # RFC 8216 / Apple: the measured peak segment bit rate should be within 10 % of BANDWIDTH.
    for variant in bbb_hls.output.variants:
        assert 0 < variant.average_bitrate <= variant.peak_bitrate
        assert variant.peak_bitrate <= variant.bandwidth * 1.1, variant


def test_variant_playlists_are_vod(bbb_hls: Transcoded) -> None:
    for variant in bbb_hls.output.variants:
        playlist = m3u8.load(str(bbb_hls.output.out_dir / variant.playlist))
        assert playlist.playlist_type == "vod" and playlist.is_endlist
        assert playlist.target_duration == 4


def test_output_files_listing(bbb_hls: Transcoded) -> None:
    files = bbb_hls.output.files()
    assert files[0] == "master.m3u8"
    for key in files:
        assert (bbb_hls.output.out_dir / key).is_file()
    on_disk = sorted(
        str(p.relative_to(bbb_hls.output.out_dir)) for p in bbb_hls.output.out_dir.rglob("*") if p.is_file()
    )
    assert sorted(files) == on_disk


def test_progress_increases_to_100(bbb_hls: Transcoded) -> None:
    progress = bbb_hls.progress
    assert progress, "no progress reported"
    assert all(0.0 <= p <= 100.0 for p in progress)
    assert all(b > a for a, b in itertools.pairwise(progress))
    assert progress[-1] == 100.0


def test_no_audio_source_has_no_audio_in_outputs(tmp_path: Path) -> None:
    info = probe(BIKES)
    output = transcode_to_hls(BIKES, tmp_path / "hls", plan_ladder(info), info, preset=PRESET)
    master = m3u8.load(str(output.master_path))
    assert [p.stream_info.codecs for p in master.playlists] == [output.variants[0].codecs]
    assert "mp4a" not in output.variants[0].codecs
    for variant in output.variants:
        for segment in variant.segments:
            streams = ffprobe_json(tmp_path / "hls" / variant.rendition.name / segment, "-show_streams")[
                "streams"
            ]
            assert [s["codec_type"] for s in streams] == ["video"]


def test_tiny_source_single_rendition(tmp_path: Path) -> None:
    info = probe(CARPHONE)
    output = transcode_to_hls(CARPHONE, tmp_path / "hls", plan_ladder(info), info, preset=PRESET)
    assert [(v.rendition.width, v.rendition.height) for v in output.variants] == [(176, 144)]
    assert output.variants[0].duration_seconds == pytest.approx(4.0, abs=0.1)


def test_rotated_source_gives_portrait_renditions(media: dict[str, Path], tmp_path: Path) -> None:
    info = probe(media["rotated"])
    ladder = plan_ladder(info)
    assert [(r.name, r.width, r.height) for r in ladder] == [
        ("720p", 720, 1280),
        ("480p", 480, 854),
        ("360p", 360, 640),
    ]
    output = transcode_to_hls(media["rotated"], tmp_path / "hls", ladder, info, preset=PRESET)
    master = m3u8.load(str(output.master_path))
    assert [p.stream_info.resolution for p in master.playlists] == [(720, 1280), (480, 854), (360, 640)]
    first = output.out_dir / "720p" / output.variants[0].segments[0]
    video = ffprobe_json(first, "-select_streams", "v", "-show_streams")["streams"][0]
    assert (video["width"], video["height"]) == (720, 1280)
    assert not video.get("side_data_list"), "output must be upright pixels, not rotation metadata"


def test_10bit_444_source_becomes_8bit_420(media: dict[str, Path], tmp_path: Path) -> None:
    info = probe(media["hi444"])
    assert info.pix_fmt == "yuv444p10le"
    output = transcode_to_hls(media["hi444"], tmp_path / "hls", plan_ladder(info), info, preset=PRESET)
    for variant in output.variants:
        segment = output.out_dir / variant.rendition.name / variant.segments[0]
        video = ffprobe_json(segment, "-select_streams", "v", "-show_streams")["streams"][0]
        assert video["pix_fmt"] == "yuv420p"
        assert video["profile"] in ("High", "Main", "Constrained Baseline")  # 8-bit 4:2:0 profiles


def test_variable_frame_rate_source_keeps_renditions_aligned(media: dict[str, Path], tmp_path: Path) -> None:
    info = probe(media["vfr"])
    assert info.frame_rate < 24  # average of a gappy stream
    output = transcode_to_hls(
        media["vfr"], tmp_path / "hls", plan_ladder(info), info, segment_seconds=1, preset=PRESET
    )
    durations = [
        [s.duration for s in m3u8.load(str(output.out_dir / v.playlist)).segments] for v in output.variants
    ]
    assert len(durations[0]) >= 3
    for other in durations[1:]:
        assert other == pytest.approx(durations[0], abs=0.001)


def test_rerun_in_the_same_directory_replaces_stale_segments(tmp_path: Path) -> None:
    info = probe(CARPHONE)
    ladder = plan_ladder(info)
    stale = tmp_path / "hls" / ladder[0].name / "seg_00099.ts"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    keep = tmp_path / "hls" / "poster.jpg"
    keep.write_bytes(b"not ours")
    transcode_to_hls(CARPHONE, tmp_path / "hls", ladder, info, preset=PRESET)
    assert not stale.exists()
    assert keep.read_bytes() == b"not ours"


# --- run_ffmpeg failure modes -------------------------------------------------------------------------------


def test_nonzero_exit_is_transcode_error_with_stderr_tail(tmp_path: Path) -> None:
    argv = [
        "ffmpeg", "-hide_banner", "-nostdin", "-f", "lavfi", "-i", "testsrc=duration=1",
        "-c:v", "no_such_encoder", "-progress", "pipe:1", "-nostats", "-y", str(tmp_path / "x.ts"),
    ]  # fmt: skip
    with pytest.raises(MediaRejected) as caught:
        run_ffmpeg(argv, 1.0, None)
    assert caught.value.reason is FailReason.TRANSCODE_ERROR
    assert caught.value.retryable is True
    assert "no_such_encoder" in caught.value.detail
    assert len(caught.value.detail.splitlines()) <= 21


def test_corrupt_input_during_transcode_is_corrupt_source(media: dict[str, Path], tmp_path: Path) -> None:
    argv = [
        "ffmpeg", "-hide_banner", "-nostdin", "-i", str(media["text"]),
        "-progress", "pipe:1", "-nostats", "-y", str(tmp_path / "x.ts"),
    ]  # fmt: skip
    with pytest.raises(MediaRejected) as caught:
        run_ffmpeg(argv, 1.0, None)
    assert caught.value.reason is FailReason.CORRUPT_SOURCE
    assert caught.value.retryable is False


@pytest.fixture
def silent_fifo(tmp_path: Path) -> Iterator[Path]:
    """A named pipe nobody writes to: ffmpeg blocks opening it and never reports progress."""
    fifo = tmp_path / "stalled.ts"
    os.mkfifo(fifo)
    yield fifo


def test_watchdog_kills_a_stalled_ffmpeg(silent_fifo: Path, tmp_path: Path) -> None:
    argv = [
        "ffmpeg", "-hide_banner", "-nostdin", "-i", str(silent_fifo),
        "-progress", "pipe:1", "-nostats", "-y", str(tmp_path / "x.ts"),
    ]  # fmt: skip
    started = time.monotonic()
    with pytest.raises(MediaRejected) as caught:
        run_ffmpeg(argv, 10.0, None, stall_timeout_seconds=1.0)
    assert caught.value.reason is FailReason.TIMEOUT
    assert caught.value.retryable is True
    assert time.monotonic() - started < 10


def test_cancel_kills_ffmpeg(silent_fifo: Path, tmp_path: Path) -> None:
    argv = [
        "ffmpeg", "-hide_banner", "-nostdin", "-i", str(silent_fifo),
        "-progress", "pipe:1", "-nostats", "-y", str(tmp_path / "x.ts"),
    ]  # fmt: skip
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(TranscodeCancelled):
        run_ffmpeg(argv, 10.0, None, stall_timeout_seconds=60, cancel=cancel)
    assert time.monotonic() - started < 10


def test_a_pass_longer_than_the_stall_timeout_whose_pictures_open_late_finishes_with_progress_all_along(tmp_path: Path) -> None:
    """ffmpeg 5.1 prints no -progress report until every output is open, and the poster windows and the
    storyboard sprite open late (the sprite at the end): a watchdog fed by that report alone killed every
    pass longer than its timeout. 21 s of 720p through the full ladder + pictures takes several times the
    2 s timeout here; it must finish, and progress must move during the pass, not only at the end."""
    source = tmp_path / "bbb-x4.mp4"
    ffmpeg_run("-stream_loop", "3", "-i", str(BBB), "-c", "copy", str(source))
    info = probe(source)
    reports: list[tuple[float, float]] = []
    started = time.monotonic()
    hls = transcode_to_hls(
        source, tmp_path / "hls", plan_ladder(info), info,
        on_progress=lambda p: reports.append((time.monotonic() - started, p)), preset=PRESET,
        stall_timeout_seconds=2.0, images=plan_images(info, 5),
    )  # fmt: skip
    wall = time.monotonic() - started
    assert wall > 2.0  # otherwise this test proves nothing about the timeout
    percents = [p for _, p in reports]
    assert percents == sorted(set(percents)) and percents[-1] == 100.0
    during = [p for _, p in reports if p < 100.0]
    assert len(during) >= 3, reports  # several steps before the end, not 0 then 100
    assert during[0] < 50.0, reports
    assert hls.progress_reports == len(reports)
    assert hls.images is not None and hls.storyboard is not None  # the late outputs were written
    assert max(v.duration_seconds for v in hls.variants) == pytest.approx(info.duration_seconds, abs=0.5)
    assert hls.peak_rss_bytes and hls.peak_rss_bytes > 10 * 2**20 and hls.cpu_seconds and hls.cpu_seconds > 0


def test_an_ffmpeg_that_hangs_mid_pass_is_still_killed(tmp_path: Path) -> None:
    """A source on a pipe that delivers the first few hundred KB and then nothing (a dead mount, a stuck
    network volume): ffmpeg works for a while, then reads and writes nothing. The supervisor must stop it
    as a TIMEOUT once nothing has moved for the stall timeout."""
    ts = tmp_path / "bbb.ts"
    ffmpeg_run("-i", str(BBB), "-c", "copy", "-f", "mpegts", str(ts))
    fifo = tmp_path / "hangs.ts"
    os.mkfifo(fifo)
    release = threading.Event()

    def writer() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write(ts.read_bytes()[:400_000])
            pipe.flush()
            release.wait(60)  # keep the pipe open without writing: ffmpeg blocks in read()

    feeder = threading.Thread(target=writer, daemon=True)
    feeder.start()
    argv = [
        "ffmpeg", "-hide_banner", "-nostdin", "-probesize", "100000", "-analyzeduration", "500000", "-f", "mpegts",
        "-i", str(fifo), "-c:v", "libx264",
        "-preset", "ultrafast", "-progress", "pipe:1", "-nostats", "-y", str(tmp_path / "x.ts"),
    ]  # fmt: skip
    started = time.monotonic()
    try:
        with pytest.raises(MediaRejected) as caught:
            run_ffmpeg(argv, 5.3, None, stall_timeout_seconds=1.5)
    finally:
        release.set()
        feeder.join(5)
    assert caught.value.reason is FailReason.TIMEOUT and caught.value.retryable is True
    assert (tmp_path / "x.ts").stat().st_size > 0  # it did work before it hung
    assert time.monotonic() - started < 30


def test_progress_callback_errors_stop_ffmpeg(tmp_path: Path) -> None:
    info = probe(BIKES)

    def explode(_: float) -> None:
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        transcode_to_hls(BIKES, tmp_path / "hls", plan_ladder(info), info, on_progress=explode, preset=PRESET)


# --- images --------------------------------------------------------------------------------------------------


def test_images_for_bigbuckbunny(tmp_path: Path) -> None:
    info = probe(BBB)
    images = make_images(BBB, tmp_path, info)
    poster = tmp_path / images.poster
    assert images.poster == "poster.jpg" and poster.is_file()
    stream = ffprobe_json(poster, "-show_streams")["streams"][0]
    assert (stream["width"], stream["height"]) == (1280, 720) == (images.poster_width, images.poster_height)
    assert mean_luma(poster) > 40
    assert images.thumbnail_interval_seconds == pytest.approx(1.0)
    assert 5 <= len(images.thumbnails) <= 10
    assert images.thumbnails[0] == "thumbs/thumb_00001.jpg"
    for key in images.thumbnails:
        thumb = ffprobe_json(tmp_path / key, "-show_streams")["streams"][0]
        assert (thumb["width"], thumb["height"]) == (320, 180)
    assert not list(tmp_path.glob(".poster_candidate*"))


def test_poster_skips_a_black_opening(media: dict[str, Path], tmp_path: Path) -> None:
    info = probe(media["black_start"])
    images = make_images(media["black_start"], tmp_path, info, thumbnail_count=5)
    assert mean_luma(tmp_path / images.poster) > 40
    assert images.poster_mean_luma > 40


def test_thumbnails_by_seeking_for_long_sources(tmp_path: Path) -> None:
    info = probe(BIKES)
    images = make_images(BIKES, tmp_path, info, thumbnail_count=4, full_decode_max_seconds=0)
    assert images.thumbnails == tuple(f"thumbs/thumb_{k:05d}.jpg" for k in range(1, 5))
    assert images.thumbnail_interval_seconds == pytest.approx(2.5)
    sizes = {(tmp_path / key).stat().st_size for key in images.thumbnails}
    assert len(sizes) > 1, "thumbnails should show different moments"


def test_images_never_upscale_tiny_sources(tmp_path: Path) -> None:
    info = probe(CARPHONE)
    images = make_images(CARPHONE, tmp_path, info)
    assert (images.poster_width, images.poster_height) == (176, 144)
    thumb = ffprobe_json(tmp_path / images.thumbnails[0], "-show_streams")["streams"][0]
    assert (thumb["width"], thumb["height"]) == (176, 144)


def test_portrait_images(media: dict[str, Path], tmp_path: Path) -> None:
    info = probe(media["rotated"])
    images = make_images(media["rotated"], tmp_path, info)
    assert (images.poster_width, images.poster_height) == (720, 1280)
    thumb = ffprobe_json(tmp_path / images.thumbnails[0], "-show_streams")["streams"][0]
    assert (thumb["width"], thumb["height"]) == (320, 568)


# --- pictures made in the ladder pass ------------------------------------------------------------------


def test_one_pass_decodes_once_and_writes_ladder_and_pictures(tmp_path: Path) -> None:
    info = probe(BBB)
    plan = plan_images(info)
    argv = build_hls_command(BBB, tmp_path / "hls", plan_ladder(info), info, preset=PRESET, images=plan)
    assert argv.count("-i") == 1
    output = transcode_to_hls(BBB, tmp_path / "hls", plan_ladder(info), info, preset=PRESET, images=plan)
    out = tmp_path / "hls"
    images, board = output.images, output.storyboard
    assert images is not None and board is not None
    stream = ffprobe_json(out / images.poster, "-show_streams")["streams"][0]
    assert (stream["width"], stream["height"]) == (1280, 720)
    assert mean_luma(out / images.poster) > 40 and images.poster_mean_luma > 40
    assert images.thumbnails == tuple(f"thumbs/thumb_{k:05d}.jpg" for k in range(1, 7))  # 5.3 s, one per second
    sizes = set()
    for key in images.thumbnails:
        thumb = ffprobe_json(out / key, "-show_streams")["streams"][0]
        assert (thumb["width"], thumb["height"]) == (320, 180)
        sizes.add((out / key).stat().st_size)
    assert len(sizes) > 1, "thumbnails should show different moments"
    assert board.sprites == ("storyboard/sprite_001.jpg",) and board.tiles == 3
    sheet = ffprobe_json(out / board.sprites[0], "-show_streams")["streams"][0]
    assert (sheet["width"], sheet["height"]) == (3 * 160, 90)
    assert (out / board.vtt).read_text().startswith("WEBVTT")
    assert not list(out.glob(".poster_candidate*"))
    assert not any(key.endswith(".jpg") for key in output.files())  # the package lists only HLS files


def test_one_pass_poster_skips_a_black_opening(media: dict[str, Path], tmp_path: Path) -> None:
    info = probe(media["black_start"])
    output = transcode_to_hls(media["black_start"], tmp_path, plan_ladder(info), info, preset=PRESET, images=plan_images(info, 5))
    assert output.images is not None
    assert mean_luma(tmp_path / output.images.poster) > 40


def test_one_pass_pictures_of_a_portrait_phone_clip(media: dict[str, Path], tmp_path: Path) -> None:
    info = probe(media["rotated"])
    output = transcode_to_hls(media["rotated"], tmp_path, plan_ladder(info), info, preset=PRESET, images=plan_images(info))
    assert output.images is not None and output.storyboard is not None
    poster = ffprobe_json(tmp_path / output.images.poster, "-show_streams")["streams"][0]
    assert (poster["width"], poster["height"]) == (720, 1280)
    thumb = ffprobe_json(tmp_path / output.images.thumbnails[0], "-show_streams")["streams"][0]
    assert (thumb["width"], thumb["height"]) == (320, 568)


def test_one_pass_pictures_of_a_10bit_444_source(media: dict[str, Path], tmp_path: Path) -> None:
    info = probe(media["hi444"])
    output = transcode_to_hls(media["hi444"], tmp_path, plan_ladder(info), info, preset=PRESET, images=plan_images(info))
    assert output.images is not None and output.storyboard is not None
    assert mean_luma(tmp_path / output.images.poster) > 40


def test_a_single_frame_still_gets_every_picture(media: dict[str, Path], tmp_path: Path) -> None:
    info = probe(media["one_frame"])
    output = transcode_to_hls(media["one_frame"], tmp_path / "a", plan_ladder(info), info, preset=PRESET, images=plan_images(info))
    assert output.images is not None and output.storyboard is not None
    assert output.images.thumbnails == ("thumbs/thumb_00001.jpg",) and len(output.storyboard.sprites) == 1
    assert mean_luma(tmp_path / "a" / output.images.poster) > 40
    # the separate runs (the worker's fallback) manage it too
    images = make_images(media["one_frame"], tmp_path / "b", info)
    assert (tmp_path / "b" / images.poster).is_file() and len(images.thumbnails) == 1
    assert len(make_storyboard(media["one_frame"], tmp_path / "b", info).sprites) == 1


def test_fallback_images_leave_an_existing_storyboard_alone(tmp_path: Path) -> None:
    info = probe(BIKES)
    board = make_storyboard(BIKES, tmp_path, info)
    make_images(BIKES, tmp_path, info, thumbnail_count=3)
    assert all((tmp_path / key).is_file() for key in board.files())
