"""Service test: a live stream's recording (stream.recorded) becomes a video of the streamer, announced
like a finished upload (video.created + video.uploaded) so the normal transcode pipeline picks it up."""

import time
import uuid

import pytest

from reelhouse.contracts.events import StreamRecordedV1
from reelhouse.gallery.main import build_service
from reelhouse.testing import EventCapture, auth_headers, publish_event, running_service, wait_until

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def gallery(platform_settings):
    defn = build_service(platform_settings)
    with EventCapture(platform_settings, ["#"]), running_service(defn) as client:
        yield client


def test_stream_recorded_creates_an_uploaded_video_once(gallery, platform_settings):
    client = gallery
    owner = f"streamer-{uuid.uuid4().hex[:6]}"
    stream_id, video_id = uuid.uuid4(), uuid.uuid4()
    event = StreamRecordedV1(
        stream_id=stream_id, owner_id=owner, bucket=platform_settings.uploads_bucket,
        source_file_key=f"recordings/{stream_id}/{video_id}.mp4", title="Harbour live", video_id=video_id,
        source_size_bytes=1_364_416, source_mime="video/mp4", checksum="abc123", duration_seconds=12.5,
    )
    with EventCapture(platform_settings, ["video.created.v1", "video.uploaded.v1"]) as cap:
        publish_event(platform_settings, event)
        publish_event(platform_settings, event)  # a second delivery under another event id
        events = cap.wait_for(lambda e: e["subject"] == str(video_id), count=2)
        time.sleep(1.0)
        created = [e for e in cap.drain() if e["type"] == "reelhouse.video.created.v1" and e["subject"] == str(video_id)]
    assert len(created) == 1
    headers = auth_headers(platform_settings, owner)
    video = wait_until(lambda: (r := client.get(f"/api/videos/{video_id}", headers=headers)).status_code == 200 and r.json())
    assert video["status"] == "UPLOADED" and video["ownerId"] == owner and video["title"] == "Harbour live"
    assert str(stream_id) in video["description"] and video["source"]["sizeBytes"] == 1_364_416
    uploaded = [e["data"] for e in events if e["type"] == "reelhouse.video.uploaded.v1"]
    assert uploaded and uploaded[0]["sourceFileKey"] == event.source_file_key and uploaded[0]["ownerId"] == owner
    assert client.get(f"/api/videos/{video_id}", headers=auth_headers(platform_settings, "someone-else")).status_code == 404
