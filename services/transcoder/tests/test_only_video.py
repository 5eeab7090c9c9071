"""Only video goes in (issue 10 item 4; docs/security.md): the transcoder reads a source only with the
demuxer of one of the five containers (docs/api.md "Upload validation"), local files only; a playlist, a concat list, an image
sequence or any other container fails as UNSUPPORTED_FORMAT (not retryable) and never reaches ffmpeg.

Against the real ffmpeg/ffprobe; the inputs are made in the test (a few KB, a second of testsrc)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reelhouse.transcoder.adapters.ffmpeg import (
    build_hls_command,
    input_options,
    media_info_from_probe,
    probe,
    transcode_to_hls,
)
from reelhouse.transcoder.domain.ladder import FailReason, MediaRejected, plan_ladder

HAS_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
needs_ffmpeg = pytest.mark.skipif(not HAS_FFMPEG, reason="needs ffmpeg and ffprobe")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def _secret_ts(directory: Path) -> Path:
    """A real MPEG-TS file "on the worker's disk" that an attacker would like to get transcoded."""
    secret = directory / "secret.ts"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", str(secret))
    return secret


def _hls_attack(directory: Path, target: Path) -> Path:
    """The reported attack: a ~115-byte HLS text playlist, uploaded as video/mp4, naming a local .ts file."""
    playlist = directory / "source.mp4"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:{target}\n#EXT-X-ENDLIST\n")
    return playlist


# --- the allow-list (pure) -------------------------------------------------------------------------------


def _probe_json(format_name: str) -> dict:
    return {
        "format": {"format_name": format_name, "duration": "10.0", "size": "1000"},
        "streams": [{"index": 0, "codec_type": "video", "codec_name": "h264", "width": 320, "height": 240, "avg_frame_rate": "25/1"}],
    }


@pytest.mark.unit
@pytest.mark.parametrize("format_name", ["mov,mp4,m4a,3gp,3g2,mj2", "avi", "asf"])
def test_the_five_containers_pass_the_allow_list(format_name: str) -> None:
    info = media_info_from_probe(_probe_json(format_name))
    assert info.format_name == format_name
    assert input_options(format_name)["f"] == format_name.split(",")[0]


@pytest.mark.unit
@pytest.mark.parametrize(
    "format_name", ["hls", "concat", "image2", "matroska,webm", "mpegts", "flv", "tty", "dash", "lavfi", ""]
)
def test_any_other_container_is_unsupported_format(format_name: str) -> None:
    with pytest.raises(MediaRejected) as caught:
        media_info_from_probe(_probe_json(format_name))
    assert caught.value.reason is FailReason.UNSUPPORTED_FORMAT
    assert caught.value.retryable is False
    with pytest.raises(MediaRejected) as forced:
        input_options(format_name)
    assert forced.value.reason is FailReason.UNSUPPORTED_FORMAT


@pytest.mark.unit
def test_input_options_force_the_demuxer_and_local_files_only() -> None:
    assert input_options("mov,mp4,m4a,3gp,3g2,mj2") == {
        "f": "mov",
        "format_whitelist": "asf,avi,mov",
        "protocol_whitelist": "file",
    }


# --- real ffmpeg ------------------------------------------------------------------------------------------


@pytest.mark.service
@needs_ffmpeg
def test_the_reported_hls_playlist_attack_is_unsupported_format(tmp_path: Path) -> None:
    secret = _secret_ts(tmp_path)
    attack = _hls_attack(tmp_path, secret)
    assert attack.stat().st_size < 200
    # the attack is real: ffprobe left to itself picks the hls demuxer and reads the local file
    found = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0", str(attack)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert found.stdout.strip() == "hls"
    with pytest.raises(MediaRejected) as caught:
        probe(attack)
    assert caught.value.reason is FailReason.UNSUPPORTED_FORMAT
    assert caught.value.retryable is False
    assert "HLS playlist" in caught.value.detail


@pytest.mark.service
@needs_ffmpeg
def test_concat_list_and_image_sequence_pattern_are_unsupported_format(tmp_path: Path) -> None:
    secret = _secret_ts(tmp_path)
    concat = tmp_path / "list.mp4"
    concat.write_text(f"ffconcat version 1.0\nfile '{secret}'\n")
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=1", "-frames:v", "3", str(tmp_path / "img_%03d.png"))
    pattern = tmp_path / "img_%03d.png"  # an image2 pattern as a file name: the literal file must exist
    shutil.copyfile(tmp_path / "img_001.png", pattern)
    for source, looks_like in ((concat, "ffconcat list"), (pattern, "PNG image")):
        with pytest.raises(MediaRejected) as caught:
            probe(source)
        assert caught.value.reason is FailReason.UNSUPPORTED_FORMAT, source
        assert looks_like in caught.value.detail


@pytest.mark.service
@needs_ffmpeg
def test_a_playlist_behind_a_quicktime_header_is_read_as_quicktime_only(tmp_path: Path) -> None:
    # First bytes that pass the sniff ("free" atom) followed by a playlist: the forced mov demuxer reads
    # it as QuickTime and fails; ffmpeg never interprets the playlist.
    secret = _secret_ts(tmp_path)
    disguised = tmp_path / "disguised.mp4"
    disguised.write_bytes(b"\x00\x00\x00\x08free" + f"#EXTM3U\n#EXTINF:10.0,\nfile:{secret}\n#EXT-X-ENDLIST\n".encode())
    with pytest.raises(MediaRejected) as caught:
        probe(disguised)
    assert caught.value.reason is FailReason.CORRUPT_SOURCE
    assert caught.value.retryable is False


@pytest.mark.service
@needs_ffmpeg
@pytest.mark.parametrize(
    ("name", "codec", "demuxer"),
    [("clip.mov", "libx264", "mov"), ("clip.3gp", "h263", "mov"), ("clip.avi", "mpeg4", "avi"), ("clip.wmv", "wmv2", "asf")],
)
def test_each_allowed_container_probes_and_transcodes_with_its_forced_demuxer(
    tmp_path: Path, name: str, codec: str, demuxer: str
) -> None:
    source = tmp_path / name
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=352x288:rate=25", "-t", "1", "-c:v", codec, str(source))
    info = probe(source)
    assert info.format_name.split(",")[0] == demuxer
    ladder = plan_ladder(info)[:1]
    argv = build_hls_command(source, tmp_path / "out", ladder, info, preset="ultrafast")
    i = argv.index("-i")
    assert argv[i + 1] == str(source.resolve())
    assert argv[argv.index("-f") + 1] == demuxer and argv.index("-f") < i
    assert argv[argv.index("-protocol_whitelist") + 1] == "file" and argv.index("-protocol_whitelist") < i
    out = transcode_to_hls(source, tmp_path / "out", ladder, info, preset="ultrafast")
    assert out.master_path.is_file()
