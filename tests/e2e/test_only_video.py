"""e2e: only video goes in (issue 10 item 4; docs/security.md). The reported attack: a ~115-byte HLS text
playlist, declared as video/mp4, naming a .ts file on the worker's disk, became a READY video of that file.

Through the edge it is now refused when the upload completes (422 UNSUPPORTED_FORMAT, the video FAILED);
put straight into the uploads bucket with a forged video.uploaded (as if the upload check were bypassed),
the transcoder refuses it before ffmpeg sees it: FAILED with UNSUPPORTED_FORMAT on the first attempt,
never retried, never READY."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from reelhouse.client import ApiError
from reelhouse.contracts.events import VideoUploadedV1
from reelhouse.platform.storage import s3_client
from reelhouse.testing import publish_event

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def attack(media_dir: Path) -> Path:
    """A real 1 s MPEG-TS file on this machine's disk (where the workers run) and the playlist naming it."""
    secret = media_dir / "worker-secret.ts"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
         "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", str(secret)],
        check=True,
    )  # fmt: skip
    playlist = media_dir / "holiday.mp4"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile:{secret}\n#EXT-X-ENDLIST\n")
    assert playlist.stat().st_size < 200
    return playlist


def test_the_playlist_attack_is_refused_when_the_upload_completes(make_client, attack):
    client = make_client("e2e-mallory")
    video = client.create_video("holiday", attack)  # declared video/mp4 from the .mp4 name
    with pytest.raises(ApiError) as err:
        client.upload_file(video["id"], attack)
    assert err.value.status == 422 and err.value.code == "UNSUPPORTED_FORMAT", err.value.body
    assert err.value.body["detected"] == "HLS playlist"
    failed = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=30)
    assert failed["status"] == "FAILED" and failed["failReason"] == "UPLOAD_UNSUPPORTED_FORMAT", failed
    assert failed["playback"]["streamUrl"] is None


def test_an_image_named_mp4_is_refused_when_the_upload_completes(make_client, media_dir):
    picture = media_dir / "picture.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240",
         "-frames:v", "1", "-f", "image2", "-c:v", "png", str(picture)],
        check=True,
    )  # fmt: skip
    client = make_client("e2e-mallory")
    video = client.create_video("picture", picture)
    with pytest.raises(ApiError) as err:
        client.upload_file(video["id"], picture)
    assert err.value.status == 422 and err.value.code == "UNSUPPORTED_FORMAT"
    assert err.value.body["detected"] == "PNG image"


def test_the_playlist_attack_never_reaches_ffmpeg_even_past_the_upload_check(make_client, attack, e2e_settings, db_query):
    client = make_client("e2e-mallory")
    video = client.create_video("holiday, forged", attack)
    vid = uuid.UUID(video["id"])
    key = f"sources/{vid}/forged"
    s3_client(e2e_settings).put_object(Bucket=e2e_settings.uploads_bucket, Key=key, Body=attack.read_bytes())
    publish_event(
        e2e_settings,
        VideoUploadedV1(
            video_id=vid, owner_id="e2e-mallory", upload_session_id=uuid.uuid4(), bucket=e2e_settings.uploads_bucket,
            source_file_key=key, source_size_bytes=attack.stat().st_size, source_mime="video/mp4", checksum="forged",
        ),
    )  # fmt: skip
    failed = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=60)
    assert failed["status"] == "FAILED" and failed["failReason"] == "UNSUPPORTED_FORMAT", failed
    assert failed["playback"]["streamUrl"] is None
    rows = db_query("transcoder", "SELECT attempt, status, fail_reason FROM transcode_jobs WHERE video_id = %s", (vid,))
    assert rows == [(1, "FAILED", "UNSUPPORTED_FORMAT")]
    with pytest.raises(ApiError) as err:
        client.playback(video["id"])
    assert err.value.status == 404
