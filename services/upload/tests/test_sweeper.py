"""Service test of the abandoned-session sweeper against real PostgreSQL, RabbitMQ and an S3 server:
an open session with no activity for ``upload_session_idle_seconds`` ends FAILED (SESSION_EXPIRED), its
multipart upload is aborted in S3 and video.upload_failed tells the gallery; a session whose client is
still sending parts is left alone, however old its last transition."""

import time
import uuid

import httpx
import pytest

from reelhouse.contracts.events import VideoCreatedV1
from reelhouse.platform.storage import ensure_buckets, s3_client
from reelhouse.testing import EventCapture, auth_headers, publish_event, running_service, wait_until
from reelhouse.upload.main import build_service
from reelhouse.upload.settings import UploadSettings
from reelhouse.upload.sweeper import sweep_once

pytestmark = pytest.mark.service

IDLE = 2.0


@pytest.fixture(scope="module")
def upload(platform_settings):
    settings = UploadSettings(**{**platform_settings.model_dump(), "upload_session_idle_seconds": IDLE, "upload_sweeper_interval_seconds": 3600})
    ensure_buckets(settings)
    with EventCapture(settings, ["#"]), running_service(build_service(settings)) as client:
        yield client, settings


def _session(client, settings, owner: dict) -> tuple[str, str]:
    vid = uuid.uuid4()
    publish_event(settings, VideoCreatedV1(video_id=vid, owner_id=owner["id"], title="t", source_mime="video/mp4", source_size_bytes=1000))
    r = wait_until(lambda: (r := client.post(f"/api/videos/{vid}/uploads", headers=owner["headers"])).status_code == 201 and r, message="session opened")
    return str(vid), r.json()["uploadSessionId"]


def _put_part(client, owner: dict, sid: str) -> None:
    url = client.post(f"/api/uploads/{sid}/parts", json={"partNumber": 1}, headers=owner["headers"]).json()["uploadUrl"]
    assert httpx.put(url, content=b"x" * 1000, timeout=30).status_code == 200


def _sweep(client) -> int:
    return client.portal.call(sweep_once, client.app)


def test_abandoned_session_expires_and_a_live_one_does_not(upload):
    client, settings = upload
    user = f"u-{uuid.uuid4().hex[:6]}"
    owner = {"id": user, "headers": auth_headers(settings, user)}
    abandoned_vid, abandoned = _session(client, settings, owner)
    _put_part(client, owner, abandoned)
    live_vid, live = _session(client, settings, owner)
    time.sleep(IDLE + 1.5)
    _put_part(client, owner, live)  # the client of this one is still sending parts
    with EventCapture(settings, ["video.upload_failed.v1"]) as cap:
        assert _sweep(client) == 1
        failed = cap.wait_for(lambda e: e["data"]["videoId"] == abandoned_vid)
    assert failed[0]["data"]["reason"] == "SESSION_EXPIRED"
    gone = client.get(f"/api/uploads/{abandoned}", headers=owner["headers"]).json()
    assert (gone["status"], gone["failReason"]) == ("FAILED", "SESSION_EXPIRED")
    open_uploads = s3_client(settings).list_multipart_uploads(Bucket=settings.uploads_bucket).get("Uploads", [])
    assert all(u["Key"].find(abandoned_vid) < 0 for u in open_uploads)  # its parts are freed
    assert client.get(f"/api/uploads/{live}", headers=owner["headers"]).json()["status"] == "IN_PROGRESS"
    # once its client stops too, the live session expires the same way
    time.sleep(IDLE + 1.0)
    assert _sweep(client) == 1
    assert client.get(f"/api/uploads/{live}", headers=owner["headers"]).json()["status"] == "FAILED"
    assert _sweep(client) == 0  # nothing twice
