"""Drill: order-independent gallery consumer. Every pair of dependent events is delivered in both orders,
each event twice (same event id), through the real broker; the video ends in the state the events
describe. An event that overtakes the one it depends on (e.g. transcode.completed before video.uploaded)
must be retried later, not acked and dropped (which left the video UPLOADED for good)."""

from __future__ import annotations

import uuid

import pytest

from reelhouse.contracts.events import (
    RenditionV1,
    TranscodeCompletedV1,
    TranscodeFailedV1,
    TranscodeStartedV1,
    VideoUploadedV1,
    VideoUploadFailedV1,
    VideoUploadStartedV1,
)
from reelhouse.gallery.main import build_service
from reelhouse.testing import (
    EventCapture,
    auth_headers,
    publish_event,
    queue_depth,
    running_service,
    wait_until,
)

pytestmark = [pytest.mark.service, pytest.mark.drill]


@pytest.fixture(scope="module")
def gallery(platform_settings):
    defn = build_service(platform_settings)
    with EventCapture(platform_settings, ["#"]), running_service(defn) as client:
        yield client, defn


def _events(vid: uuid.UUID) -> dict[str, object]:
    sid, job = uuid.uuid4(), uuid.uuid4()
    return {
        "upload_started": VideoUploadStartedV1(video_id=vid, upload_session_id=sid),
        "uploaded": VideoUploadedV1(video_id=vid, owner_id="o", upload_session_id=sid, bucket="b", source_file_key=f"sources/{vid}", source_size_bytes=10, source_mime="video/mp4", checksum="c"),
        "upload_failed": VideoUploadFailedV1(video_id=vid, upload_session_id=sid, reason="EXPIRED"),
        "started": TranscodeStartedV1(video_id=vid, job_id=job, attempt=1),
        "completed": TranscodeCompletedV1(
            video_id=vid, job_id=job, duration_seconds=5.0, width=640, height=360, master_key=f"videos/{vid}/{job}/master.m3u8",
            renditions=(RenditionV1(quality="360p", width=640, height=360, bandwidth=900_000, codecs="avc1.64001e,mp4a.40.2", playlist_key=f"videos/{vid}/{job}/360p/index.m3u8"),),
            poster_key=f"videos/{vid}/{job}/poster.jpg",
        ),
        "failed": TranscodeFailedV1(video_id=vid, job_id=job, fail_reason="NO_VIDEO_STREAM", detail="not a video", attempt=1, retryable=False),
    }


# (events in delivery order, final status); each list is also delivered reversed
CASES = [
    (["upload_started", "uploaded"], "UPLOADED"),
    (["uploaded", "started"], "TRANSCODING"),
    (["uploaded", "completed"], "READY"),
    (["uploaded", "failed"], "FAILED"),
    (["upload_started", "upload_failed"], "FAILED"),
    (["started", "completed"], "READY"),  # with video.uploaded delivered last
    (["started", "failed"], "FAILED"),  # with video.uploaded delivered last
    (["upload_started", "uploaded", "started", "completed"], "READY"),
]


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
@pytest.mark.parametrize("names,final", CASES, ids=["+".join(c[0]) for c in CASES])
def test_dependent_events_in_any_order_and_twice_reach_the_same_state(gallery, platform_settings, names, final, reverse):
    client, defn = gallery
    owner = auth_headers(platform_settings, f"order-{uuid.uuid4().hex[:6]}")
    r = client.post("/api/videos", json={"title": "order", "sourceMime": "video/mp4", "sourceSizeBytes": 10}, headers=owner)
    assert r.status_code == 201, r.text
    vid = uuid.UUID(r.json()["id"])
    events = _events(vid)
    order = list(reversed(names)) if reverse else list(names)
    if names[0] == "started":
        order.append("uploaded")  # the transcode pair comes before the upload it depends on
    ids = {name: str(uuid.uuid4()) for name in order}
    for name in order + order:  # every event twice (a redelivery keeps the event id)
        publish_event(platform_settings, events[name], event_id=ids[name])
    video = wait_until(lambda: (v := client.get(f"/api/videos/{vid}", headers=owner).json())["status"] == final and v,
                       30, 0.2, f"{final} after {order}")
    # nothing is left waiting, and the state holds once every retry came back
    wait_until(lambda: queue_depth(platform_settings, defn.queues.retry) == 0, 30, 0.2, "retry queue drained")
    video = client.get(f"/api/videos/{vid}", headers=owner).json()
    assert video["status"] == final
    if final == "READY":
        assert [q["quality"] for q in video["renditions"]] == ["360p"]
    if final == "FAILED":
        assert video["failReason"] == ("UPLOAD_EXPIRED" if "upload_failed" in names else "NO_VIDEO_STREAM")
    assert queue_depth(platform_settings, defn.queues.dlq) == 0
