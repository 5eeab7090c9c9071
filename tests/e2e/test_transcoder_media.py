"""e2e: awkward but valid media, and files that are not video, through the edge on the running stack
(real ffmpeg, RabbitMQ, PostgreSQL, S3 server, nginx).

Every clip is derived from the bundled footage (``footage_dir()``) with ffmpeg, 2-3 s long and at
most 640x360 so the whole module costs a few transcodes of tiny clips. All clips are uploaded first and
waited for afterwards, so the stack's two workers transcode them in parallel.

What "plays" means here: the signed master playlist from the gallery is fetched through the edge and
the first segment of every rendition is decoded with ffprobe (codec, size, pixel format, profile).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx
import m3u8
import pytest

from reelhouse.client import check_playback
from reelhouse.testing import footage_dir

pytestmark = pytest.mark.e2e

MEDIA = footage_dir()
BBB = MEDIA / "bigbuckbunny.mp4"
HAS_X265 = shutil.which("ffmpeg") is not None and "libx265" in subprocess.run(
    ["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True
).stdout


def _ff(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, capture_output=True, timeout=120)


# Each builder writes one clip from the bundled footage (2 s unless said otherwise).
_IN = ("-t", "2", "-i", str(BBB))
#: A landscape picture, left half white and right half black, stored with a display rotation: a phone
#: held upright. Upright playback shows the white half at the top or at the bottom (ffmpeg's own
#: autorotation decides which: it is the reference a player follows), never on the left or right.
_HALVES = "scale=640:360,drawbox=x=0:y=0:w=320:h=360:color=white:t=fill,drawbox=x=320:y=0:w=320:h=360:color=black:t=fill"


def _portrait(out: Path) -> None:
    landscape = out.with_suffix(".landscape.mp4")
    _ff(*_IN, "-vf", _HALVES, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(landscape))
    _ff("-i", str(landscape), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(out))


BUILDERS = {
    "portrait_rotated.mp4": _portrait,
    "odd_427x241.mp4": lambda o: _ff(*_IN, "-vf", "scale=427:241", "-c:v", "mpeg4", "-q:v", "4", "-c:a", "aac", str(o)),
    "vfr.mp4": lambda o: _ff("-t", "3", "-i", str(BBB), "-vf", r"scale=640:360,select='lt(t\,1)+not(mod(n\,4))'", "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(o)),
    "h264_10bit.mp4": lambda o: _ff(*_IN, "-vf", "scale=640:360", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-c:a", "aac", str(o)),
    "h264_444.mp4": lambda o: _ff(*_IN, "-vf", "scale=640:360", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", "-c:a", "aac", str(o)),
    "hevc.mp4": lambda o: _ff(*_IN, "-vf", "scale=640:360", "-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1", "-x265-params", "log-level=error", "-c:a", "aac", str(o)),
    "quicktime.mov": lambda o: _ff(*_IN, "-vf", "scale=640:360", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", str(o)),
    "xvid.avi": lambda o: _ff(*_IN, "-vf", "scale=640:360", "-c:v", "mpeg4", "-q:v", "4", "-c:a", "libmp3lame", str(o)),
    "phone.3gp": lambda o: _ff(*_IN, "-vf", "scale=352:288", "-c:v", "h263", "-c:a", "aac", "-ar", "16000", "-ac", "1", "-b:a", "32k", str(o)),
    "windows.wmv": lambda o: _ff(*_IN, "-vf", "scale=640:360", "-c:v", "wmv2", "-b:v", "1M", "-c:a", "wmav2", "-ac", "2", str(o)),
    # a "live photo"-length clip: shorter than any poster window and than half a thumbnail interval
    "short_0.3s.mp4": lambda o: _ff("-t", "0.3", "-i", str(BBB), "-vf", "scale=640:360", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(o)),
}

NOT_VIDEO = {
    "audio_only.mp4": "NO_VIDEO_STREAM",
    "random_bytes.mp4": "CORRUPT_SOURCE",
}
"""Files that pass the container check at upload (they begin like MP4) but are not video. A PNG, text or
a playlist is refused earlier, when the upload completes (tests/e2e/test_only_video.py)."""


def _build_not_video(name: str, out: Path) -> None:
    if name == "audio_only.mp4":
        _ff(*_IN, "-vn", "-c:a", "aac", str(out))
    else:  # an MP4 file type box, then random bytes (fixed seed: the same bytes every run)
        ftyp = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
        out.write_bytes(ftyp + random.Random(20261121).randbytes(256 * 1024))


@dataclass
class Uploaded:
    name: str
    video_id: str
    uploaded_at: float
    final: dict | None = None


def _upload(client, path: Path) -> Uploaded:  # noqa: ANN001
    v = client.create_video(path.name, path)
    client.upload_file(v["id"], path)
    return Uploaded(path.name, v["id"], time.monotonic())


@pytest.fixture(scope="module")
def awkward(make_client, media_dir):
    """Every awkward clip and not-video file uploaded at once, then waited for: name -> Uploaded."""
    client = make_client("e2e-awkward")
    paths = {}
    for name, build in {**BUILDERS, **{n: (lambda o, n=n: _build_not_video(n, o)) for n in NOT_VIDEO}}.items():
        if name == "hevc.mp4" and not HAS_X265:
            continue
        path = media_dir / name
        build(path)
        paths[name] = path
    # not-video first: they must fail within seconds, not after the queue of real transcodes
    order = [n for n in paths if n in NOT_VIDEO] + [n for n in paths if n not in NOT_VIDEO]
    uploads = {name: _upload(client, paths[name]) for name in order}
    for up in uploads.values():
        up.final = client.wait_for_status(up.video_id, {"READY", "FAILED"}, timeout=180)
    return client, uploads


def _segments(master_url: str) -> list[tuple[m3u8.Playlist, m3u8.M3U8, bytes]]:
    """(variant, media playlist, first segment bytes) for every rendition of a signed master URL."""
    out = []
    with httpx.Client(timeout=30) as http:
        master = m3u8.loads(http.get(master_url).raise_for_status().text, uri=master_url)
        for variant in master.playlists:
            url = urljoin(master_url, variant.uri)
            media = m3u8.loads(http.get(url).raise_for_status().text, uri=url)
            seg = http.get(urljoin(url, media.segments[0].uri)).raise_for_status().content
            out.append((variant, media, seg))
    return out


def _ffprobe_bytes(data: bytes, *args: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".ts") as f:
        f.write(data)
        f.flush()
        r = subprocess.run(["ffprobe", "-v", "error", *args, "-of", "json", f.name], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(r.stdout)


def _streams(segment: bytes) -> dict[str, dict]:
    """codec_type -> stream of the first segment (video: codec, profile, pix_fmt, size)."""
    data = _ffprobe_bytes(segment, "-show_entries", "stream=codec_type,codec_name,profile,pix_fmt,width,height,bits_per_raw_sample")
    return {s["codec_type"]: s for s in data["streams"]}


def _halves_luma(path_or_bytes: Path | bytes, width: int, height: int) -> tuple[float, float]:
    """Mean luma (0..255) of the top and bottom halves of the first frame, decoded with autorotation."""
    with tempfile.NamedTemporaryFile(suffix=".ts") as f:
        if isinstance(path_or_bytes, bytes):
            f.write(path_or_bytes)
            f.flush()
            src = f.name
        else:
            src = str(path_or_bytes)
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", src, "-frames:v", "1", "-vf", f"scale={width}:{height},format=gray", "-f", "rawvideo", "pipe:1"],
            capture_output=True, timeout=60, check=True,
        ).stdout
    half = len(raw) // 2
    return sum(raw[:half]) / half, sum(raw[half:]) / (len(raw) - half)


def _ready(awkward, name: str) -> dict:  # noqa: ANN001
    if name not in awkward[1]:
        pytest.skip(f"{name}: not built on this machine (libx265 missing from ffmpeg)")
    final = awkward[1][name].final
    assert final["status"] == "READY", final
    return final


def _assert_plays_as_h264_420(final: dict) -> list:
    checks = check_playback(final["playback"]["streamUrl"])
    assert checks and all(c.codec == "h264" and c.decoded_frames > 0 for c in checks), checks
    for c in checks:
        assert c.width % 2 == 0 and c.height % 2 == 0 and (c.width, c.height) == c.resolution
    for _, _, seg in _segments(final["playback"]["streamUrl"]):
        video = _streams(seg)["video"]
        assert video["pix_fmt"] == "yuv420p" and video["profile"] in ("High", "Main", "Constrained Baseline", "Baseline"), video
    return checks


def test_portrait_phone_video_plays_upright_with_portrait_dimensions(awkward, media_dir):
    final = _ready(awkward, "portrait_rotated.mp4")
    assert (final["width"], final["height"]) == (360, 640)
    checks = _assert_plays_as_h264_420(final)
    assert [(c.width, c.height) for c in checks] == [(360, 640)]
    assert all(c.width < c.height for c in checks)
    # upright: the same half is bright as when ffmpeg itself applies the display matrix to the source
    ref_top, ref_bottom = _halves_luma(media_dir / "portrait_rotated.mp4", 36, 64)
    assert abs(ref_top - ref_bottom) > 150, (ref_top, ref_bottom)  # the reference really is split top/bottom
    (_, _, seg), = _segments(final["playback"]["streamUrl"])
    top, bottom = _halves_luma(seg, 36, 64)
    assert (top > bottom) == (ref_top > ref_bottom) and abs(top - bottom) > 150, (top, bottom, ref_top, ref_bottom)


def test_odd_dimensions_become_even_with_the_aspect_kept(awkward):
    final = _ready(awkward, "odd_427x241.mp4")
    checks = _assert_plays_as_h264_420(final)
    assert [(c.width, c.height) for c in checks] == [(426, 240)]


def test_variable_frame_rate_keeps_its_duration_and_plays(awkward):
    final = _ready(awkward, "vfr.mp4")
    _assert_plays_as_h264_420(final)
    (_, media, _), = _segments(final["playback"]["streamUrl"])
    total = sum(s.duration for s in media.segments)
    assert abs(total - 3.0) < 0.3, [s.duration for s in media.segments]
    assert abs(float(final["durationSeconds"]) - 3.0) < 0.3, final


@pytest.mark.parametrize("name", ["h264_10bit.mp4", "h264_444.mp4"])
def test_10bit_and_444_sources_become_8bit_420(awkward, name):
    final = _ready(awkward, name)
    checks = _assert_plays_as_h264_420(final)
    assert [(c.width, c.height) for c in checks] == [(640, 360)]


def test_hevc_source_becomes_h264(awkward):
    final = _ready(awkward, "hevc.mp4")
    checks = _assert_plays_as_h264_420(final)
    assert [(c.width, c.height) for c in checks] == [(640, 360)]


@pytest.mark.parametrize(
    "name,size",
    [("quicktime.mov", (640, 360)), ("xvid.avi", (640, 360)), ("phone.3gp", (352, 288)), ("windows.wmv", (640, 360))],
)
def test_accepted_containers_play_with_audio(awkward, name, size):
    final = _ready(awkward, name)
    checks = _assert_plays_as_h264_420(final)
    assert [(c.width, c.height) for c in checks] == [size]
    for _, _, seg in _segments(final["playback"]["streamUrl"]):
        assert _streams(seg)["audio"]["codec_name"] == "aac"


@pytest.mark.parametrize("name,reason", sorted(NOT_VIDEO.items()))
def test_not_video_fails_fast_with_a_stable_reason_and_no_retry(awkward, db_query, name, reason):
    client, uploads = awkward
    up = uploads[name]
    assert up.final["status"] == "FAILED" and up.final["failReason"] == reason, up.final
    assert up.final["playback"]["streamUrl"] is None
    rows = db_query("transcoder", "SELECT attempt, status, fail_reason, extract(epoch FROM finished_at - started_at) FROM transcode_jobs WHERE video_id = %s", (uuid.UUID(up.video_id),))
    assert len(rows) == 1, rows
    attempt, status, fail_reason, seconds = rows[0]
    assert (attempt, status, fail_reason) == (1, "FAILED", reason)
    assert float(seconds) < 10, f"{name} took {seconds} s to fail"


def test_storyboard_sprite_and_webvtt_index_are_served_through_the_edge(awkward, db_query):
    """The 3 s VFR clip gets one sheet of 2 tiles (one every 2 s, 160x90) and a WebVTT index under the
    job's prefix; playback lists the index as ``storyboardUrl`` (signed like the poster) and the sprites it
    names, resolved relative to it, are readable through the edge under the same signed prefix."""
    client, _ = awkward
    final = _ready(awkward, "vfr.mp4")
    (prefix,) = db_query("transcoder", "SELECT output_prefix FROM transcode_jobs WHERE video_id = %s AND status = 'COMPLETED'", (uuid.UUID(final["id"]),))[0]
    playback = client.playback(final["id"])
    vtt_url = playback["storyboardUrl"]
    assert vtt_url and vtt_url.endswith(f"/{prefix}/storyboard/storyboard.vtt"), (vtt_url, prefix)
    vtt = httpx.get(vtt_url, timeout=30)
    assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt"), vtt.text[:200]
    lines = vtt.text.splitlines()
    assert lines[0] == "WEBVTT"
    cues = [line for line in lines if "#xywh=" in line]
    assert cues == ["sprite_001.jpg#xywh=0,0,160,90", "sprite_001.jpg#xywh=160,0,160,90"]
    assert "00:00:02.000 --> 00:00:03.000" in lines
    sprite_url = urljoin(vtt_url, cues[0].split("#", 1)[0])
    assert sprite_url == vtt_url.rsplit("/", 1)[0] + "/sprite_001.jpg"
    sprite = httpx.get(sprite_url, timeout=30)
    assert sprite.status_code == 200 and sprite.headers["content-type"] == "image/jpeg"
    assert _ffprobe_bytes(sprite.content, "-show_entries", "stream=width,height")["streams"][0] == {"width": 320, "height": 90}


def test_a_clip_of_a_third_of_a_second_gets_its_poster_thumbnail_and_storyboard(awkward, db_query):
    """ffmpeg's thumbnail filter refuses a one-frame window and its fps filter rounds a 0.3 s clip away:
    the job must still end READY on its first attempt, with every picture readable through the edge."""
    client, _ = awkward
    final = _ready(awkward, "short_0.3s.mp4")
    _assert_plays_as_h264_420(final)
    (attempt,) = db_query("transcoder", "SELECT attempt FROM transcode_jobs WHERE video_id = %s AND status = 'COMPLETED'", (uuid.UUID(final["id"]),))[0]
    assert attempt == 1
    playback = client.playback(final["id"])
    poster = httpx.get(playback["posterUrl"], timeout=30)
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert _ffprobe_bytes(poster.content, "-show_entries", "stream=width,height")["streams"][0] == {"width": 640, "height": 360}
    vtt = httpx.get(playback["storyboardUrl"], timeout=30)
    assert vtt.status_code == 200 and [line for line in vtt.text.splitlines() if "#xywh=" in line] == ["sprite_001.jpg#xywh=0,0,160,90"]
    thumbs = db_query("gallery", "SELECT count(*) FROM video_assets WHERE video_id = %s AND type = 'THUMBNAIL'", (uuid.UUID(final["id"]),))
    assert thumbs[0][0] == 1
