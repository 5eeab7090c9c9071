"""Service tests of what the web app (frontend/, issue 12) needs from the gallery: the dev sign-in
endpoint (present only in dev mode) and list items that carry a grid card's fields (poster URL,
duration, progress, failure reason) so the grid needs no request per video."""

import uuid

import pytest
from fastapi.testclient import TestClient

from reelhouse.contracts.events import (
    RenditionV1,
    TranscodeCompletedV1,
    TranscodeFailedV1,
    TranscodeProgressV1,
    TranscodeStartedV1,
    VideoUploadedV1,
)
from reelhouse.gallery.main import build_service
from reelhouse.gallery.settings import GallerySettings
from reelhouse.platform.runtime import create_app
from reelhouse.testing import EventCapture, auth_headers, publish_event, running_service, wait_until

pytestmark = pytest.mark.service

MP4 = {"title": "Harbour walk", "sourceMime": "video/mp4", "sourceSizeBytes": 10_000_000, "fileName": "walk.mp4"}


def _dev_settings(platform_settings, enabled: bool) -> GallerySettings:
    fields = platform_settings.model_dump()
    fields.update(database_prefix=platform_settings.database_prefix + "web_", queue_prefix=platform_settings.queue_prefix + "web.")
    return GallerySettings(**fields, dev_token_endpoint=enabled)


@pytest.fixture(scope="module")
def dev_gallery(platform_settings):
    defn = build_service(_dev_settings(platform_settings, True))
    with EventCapture(defn.settings, ["#"]), running_service(defn) as client:
        yield client, defn.settings


def test_dev_token_signs_in_a_user_whose_token_the_api_accepts(dev_gallery):
    client, _ = dev_gallery
    r = client.post("/api/dev/token", json={"userId": "dana"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tokenType"] == "Bearer" and body["userId"] == "dana" and body["expiresIn"] > 3600
    bearer = {"Authorization": f"Bearer {body['accessToken']}"}
    created = client.post("/api/videos", json=MP4, headers=bearer)
    assert created.status_code == 201 and created.json()["ownerId"] == "dana"
    bad = client.post("/api/dev/token", json={"userId": "no spaces/or slashes"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def test_dev_token_endpoint_is_absent_unless_dev_mode(platform_settings):
    app = create_app(build_service(_dev_settings(platform_settings, False)))
    r = TestClient(app).post("/api/dev/token", json={"userId": "mallory"})
    assert r.status_code == 404
    assert "accessToken" not in r.text
    # and the default settings (what every deployment but the local stack gets) leave it off
    assert GallerySettings().dev_token_endpoint is False


def _item(client, headers, vid):
    items = client.get("/api/videos", params={"owner": "me", "limit": 100}, headers=headers).json()["items"]
    return next(v for v in items if v["id"] == str(vid))


def test_list_items_carry_poster_duration_progress_and_fail_reason(dev_gallery):
    client, settings = dev_gallery
    me = auth_headers(settings, f"grid-{uuid.uuid4().hex[:6]}")
    ready_id = uuid.UUID(client.post("/api/videos", json=MP4, headers=me).json()["id"])
    failed_id = uuid.UUID(client.post("/api/videos", json=MP4, headers=me).json()["id"])
    draft = _item(client, me, ready_id)
    assert draft["status"] == "DRAFT" and draft["posterUrl"] is None and draft["transcodeProgress"] is None
    for vid in (ready_id, failed_id):
        sid = uuid.uuid4()
        publish_event(settings, VideoUploadedV1(video_id=vid, owner_id="x", upload_session_id=sid, bucket="b", source_file_key=f"sources/{vid}/{sid}", source_size_bytes=10, source_mime="video/mp4", checksum="c-1"))
        publish_event(settings, TranscodeStartedV1(video_id=vid, job_id=uuid.uuid4(), attempt=1))
    publish_event(settings, TranscodeProgressV1(video_id=ready_id, job_id=uuid.uuid4(), attempt=1, percent=42.0))
    busy = wait_until(lambda: (v := _item(client, me, ready_id))["transcodeProgress"] == 42.0 and v, message="42 % in the list")
    assert busy["status"] == "TRANSCODING" and busy["posterUrl"] is None
    publish_event(
        settings,
        TranscodeCompletedV1(
            video_id=ready_id,
            job_id=uuid.uuid4(),
            duration_seconds=12.5,
            width=640,
            height=360,
            master_key=f"videos/{ready_id}/j/master.m3u8",
            renditions=(RenditionV1(quality="360p", width=640, height=360, bandwidth=900_000, codecs="avc1.64001e", playlist_key=f"videos/{ready_id}/j/360p/index.m3u8"),),
            poster_key=f"videos/{ready_id}/j/poster.jpg",
            thumbnail_keys=(),
        ),
    )
    publish_event(settings, TranscodeFailedV1(video_id=failed_id, fail_reason="NO_VIDEO_STREAM", detail="audio only", attempt=1, retryable=False))
    ready = wait_until(lambda: (v := _item(client, me, ready_id))["status"] == "READY" and v, message="READY in the list")
    assert ready["durationSeconds"] == 12.5 and ready["transcodeProgress"] is None
    assert ready["posterUrl"].startswith(settings.edge_base_url + "/play/") and ready["posterUrl"].endswith(f"/videos/{ready_id}/j/poster.jpg")
    # the list's poster URL is the same signed object the detail response names
    assert ready["posterUrl"].split("/videos/")[1] == client.get(f"/api/videos/{ready_id}", headers=me).json()["playback"]["posterUrl"].split("/videos/")[1]
    failed = wait_until(lambda: (v := _item(client, me, failed_id))["status"] == "FAILED" and v, message="FAILED in the list")
    assert failed["failReason"] == "NO_VIDEO_STREAM" and failed["posterUrl"] is None
