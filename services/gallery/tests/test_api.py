"""Service tests: the gallery against real PostgreSQL and RabbitMQ (its lifespan runs the consumer and
the outbox relay). Events are published to the real exchange; what the gallery publishes is captured
from it."""

import json
import uuid

import pytest

from reelhouse.contracts.events import (
    RenditionV1,
    TranscodeCompletedV1,
    TranscodeFailedV1,
    TranscodeStartedV1,
    VideoUploadedV1,
    VideoUploadStartedV1,
)
from reelhouse.gallery.main import build_service
from reelhouse.testing import (
    EventCapture,
    auth_headers,
    publish_event,
    publish_raw,
    queue_depth,
    running_service,
    wait_until,
)

pytestmark = pytest.mark.service

MP4 = {"title": "Property tour", "description": "Short tour", "sourceMime": "video/mp4", "sourceSizeBytes": 734003200}


@pytest.fixture(scope="module")
def gallery(platform_settings):
    defn = build_service(platform_settings)
    # stands in for the other services' queues: every event the gallery publishes is routable
    with EventCapture(platform_settings, ["#"]), running_service(defn) as client:
        yield client, defn


@pytest.fixture
def alice(platform_settings):
    return auth_headers(platform_settings, f"alice-{uuid.uuid4().hex[:6]}")


def _create(client, headers, **over):
    r = client.post("/api/videos", json={**MP4, **over}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _status(client, headers, vid):
    return client.get(f"/api/videos/{vid}", headers=headers).json()


def test_create_returns_draft_in_documented_shape_and_publishes_video_created(gallery, alice, platform_settings):
    client, _ = gallery
    with EventCapture(platform_settings, ["video.created.v1"]) as cap:
        body = _create(client, alice, fileName="tour.mp4")
        assert body["status"] == "DRAFT"
        assert body["source"] == {"mime": "video/mp4", "sizeBytes": 734003200, "fileName": "tour.mp4"}
        assert body["playback"]["ready"] is False and body["playback"]["streamUrl"] is None
        events = cap.wait_for(lambda e: e["data"]["videoId"] == body["id"])
    ev = events[0]
    assert ev["type"] == "reelhouse.video.created.v1" and ev["specversion"] == "1.0"
    assert ev["data"]["sourceSizeBytes"] == 734003200 and ev["subject"] == body["id"]


@pytest.mark.parametrize(
    "over,status,code",
    [
        ({"sourceMime": "video/webm"}, 422, "UNSUPPORTED_FORMAT"),
        ({"fileName": "movie.mkv"}, 422, "UNSUPPORTED_FORMAT"),
        ({"sourceSizeBytes": 1_610_612_737}, 413, "FILE_TOO_LARGE"),
        ({"sourceSizeBytes": 0}, 422, "INVALID_SIZE"),
        ({"title": ""}, 422, "VALIDATION_ERROR"),
    ],
)
def test_bad_input_is_problem_json(gallery, alice, over, status, code):
    client, _ = gallery
    r = client.post("/api/videos", json={**MP4, **over}, headers=alice)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


def test_auth_required_and_other_users_get_404(gallery, alice, platform_settings):
    client, _ = gallery
    assert client.post("/api/videos", json=MP4).json()["code"] == "UNAUTHENTICATED"
    vid = _create(client, alice)["id"]
    bob = auth_headers(platform_settings, "bob")
    for method, path in [("get", f"/api/videos/{vid}"), ("delete", f"/api/videos/{vid}"), ("post", f"/api/videos/{vid}/retry")]:
        r = getattr(client, method)(path, headers=bob)
        assert r.status_code == 404 and r.json()["code"] == "VIDEO_NOT_FOUND"
    assert client.patch(f"/api/videos/{vid}", json={"title": "x"}, headers=bob).status_code == 404


def test_list_pagination_status_filter_and_search(gallery, platform_settings):
    client, _ = gallery
    me = auth_headers(platform_settings, f"lister-{uuid.uuid4().hex[:6]}")
    ids = [_create(client, me, title=f"clip number {i}")["id"] for i in range(5)]
    _create(client, me, title="sunset over harbour")
    seen, cursor = [], None
    while True:
        page = client.get("/api/videos", params={"limit": 2, "owner": "me", **({"cursor": cursor} if cursor else {})}, headers=me).json()
        seen += [v["id"] for v in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert len(seen) == 6 and len(set(seen)) == 6 and set(ids) <= set(seen)
    drafts = client.get("/api/videos", params={"status": "DRAFT", "owner": "me", "limit": 100}, headers=me).json()["items"]
    assert len(drafts) == 6
    assert client.get("/api/videos", params={"status": "READY", "owner": "me"}, headers=me).json()["items"] == []
    found = client.get("/api/videos", params={"q": "harbour", "owner": "me"}, headers=me).json()["items"]
    assert [v["title"] for v in found] == ["sunset over harbour"]
    assert client.get("/api/videos", params={"cursor": "garbage!"}, headers=me).json()["code"] == "INVALID_CURSOR"


def test_patch_honours_if_match(gallery, alice):
    client, _ = gallery
    created = client.post("/api/videos", json=MP4, headers=alice)
    vid, etag = created.json()["id"], created.headers["etag"]
    r = client.patch(f"/api/videos/{vid}", json={"title": "Updated title"}, headers={**alice, "If-Match": etag})
    assert r.status_code == 200 and r.json()["title"] == "Updated title"
    stale = client.patch(f"/api/videos/{vid}", json={"title": "lost update"}, headers={**alice, "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "ETAG_MISMATCH"
    assert _status(client, alice, vid)["title"] == "Updated title"


def _completed(vid):
    return TranscodeCompletedV1(
        video_id=vid,
        job_id=uuid.uuid4(),
        duration_seconds=5.3,
        width=1280,
        height=720,
        master_key=f"videos/{vid}/job1/master.m3u8",
        renditions=(
            RenditionV1(quality="720p", width=1280, height=720, bandwidth=3_000_000, codecs="avc1.64001f,mp4a.40.2", playlist_key=f"videos/{vid}/job1/720p/index.m3u8"),
            RenditionV1(quality="360p", width=640, height=360, bandwidth=900_000, codecs="avc1.64001e,mp4a.40.2", playlist_key=f"videos/{vid}/job1/360p/index.m3u8"),
        ),
        poster_key=f"videos/{vid}/job1/poster.jpg",
        thumbnail_keys=(f"videos/{vid}/job1/thumbs/thumb_00001.jpg",),
    )


def test_lifecycle_from_events_to_ready_with_signed_stream_url(gallery, alice, platform_settings):
    client, _ = gallery
    body = _create(client, alice)
    vid = uuid.UUID(body["id"])
    sid = uuid.uuid4()
    publish_event(platform_settings, VideoUploadStartedV1(video_id=vid, upload_session_id=sid))
    wait_until(lambda: _status(client, alice, vid)["status"] == "UPLOADING", message="UPLOADING")
    publish_event(platform_settings, VideoUploadedV1(video_id=vid, owner_id="x", upload_session_id=sid, bucket="b", source_file_key=f"sources/{vid}/{sid}", source_size_bytes=10, source_mime="video/mp4", checksum="abc-2"))
    wait_until(lambda: _status(client, alice, vid)["status"] == "UPLOADED", message="UPLOADED")
    assert _status(client, alice, vid)["playback"]["streamUrl"] is None
    publish_event(platform_settings, TranscodeStartedV1(video_id=vid, job_id=uuid.uuid4(), attempt=1))
    wait_until(lambda: _status(client, alice, vid)["status"] == "TRANSCODING", message="TRANSCODING")
    publish_event(platform_settings, _completed(vid))
    ready = wait_until(lambda: (v := _status(client, alice, vid))["status"] == "READY" and v, message="READY")
    url = ready["playback"]["streamUrl"]
    assert url.startswith(platform_settings.edge_base_url + "/play/") and url.endswith(f"/videos/{vid}/job1/master.m3u8")
    assert [r["quality"] for r in ready["renditions"]] == ["720p", "360p"]
    assert ready["durationSeconds"] == 5.3 and (ready["width"], ready["height"]) == (1280, 720)
    # READY never rolls back: a late failure is ignored
    publish_event(platform_settings, TranscodeFailedV1(video_id=vid, fail_reason="TRANSCODE_ERROR", attempt=1, retryable=False))
    publish_event(platform_settings, TranscodeStartedV1(video_id=vid, job_id=uuid.uuid4(), attempt=2))
    marker = _create(client, alice)["id"]  # the consumer handles events in order; wait past them
    publish_event(platform_settings, VideoUploadStartedV1(video_id=uuid.UUID(marker), upload_session_id=uuid.uuid4()))
    wait_until(lambda: _status(client, alice, marker)["status"] == "UPLOADING")
    assert _status(client, alice, vid)["status"] == "READY"


def test_failed_video_has_reason_no_stream_url_and_can_be_retried(gallery, alice, platform_settings):
    client, _ = gallery
    vid = uuid.UUID(_create(client, alice)["id"])
    sid = uuid.uuid4()
    assert client.post(f"/api/videos/{vid}/retry", headers=alice).json()["code"] == "ILLEGAL_TRANSITION"
    publish_event(platform_settings, VideoUploadedV1(video_id=vid, owner_id="x", upload_session_id=sid, bucket="b", source_file_key="k", source_size_bytes=10, source_mime="video/mp4", checksum="c"))
    publish_event(platform_settings, TranscodeFailedV1(video_id=vid, fail_reason="NO_VIDEO_STREAM", detail="not a video", attempt=1, retryable=False))
    failed = wait_until(lambda: (v := _status(client, alice, vid))["status"] == "FAILED" and v, message="FAILED")
    assert failed["failReason"] == "NO_VIDEO_STREAM" and failed["playback"]["streamUrl"] is None
    with EventCapture(platform_settings, ["video.retry_requested.v1"]) as cap:
        r = client.post(f"/api/videos/{vid}/retry", headers=alice)
        assert r.status_code == 202 and r.json()["status"] == "TRANSCODING"
        ev = cap.wait_for(lambda e: e["data"]["videoId"] == str(vid))[0]
    assert ev["data"]["sourceFileKey"] == "k"


def test_duplicate_delivery_is_processed_once(gallery, alice, platform_settings):
    client, defn = gallery
    vid = uuid.UUID(_create(client, alice)["id"])
    consumer = client.app.state.consumer
    before = consumer.processed
    ev = VideoUploadStartedV1(video_id=vid, upload_session_id=uuid.uuid4())
    event_id = str(uuid.uuid4())
    publish_event(platform_settings, ev, event_id=event_id)
    publish_event(platform_settings, ev, event_id=event_id)
    wait_until(lambda: consumer.processed >= before + 2, message="both deliveries handled")
    v = _status(client, alice, vid)
    assert v["status"] == "UPLOADING"
    import asyncio

    from sqlalchemy import text

    async def _count():
        async with client.app.state.db.session() as s:
            return (await s.execute(text("SELECT count(*) FROM inbox WHERE event_id = :e"), {"e": event_id})).scalar_one()

    assert client.portal.call(_count) == 1 if hasattr(client, "portal") and client.portal else asyncio.run(_count()) == 1


def test_malformed_event_is_dead_lettered_and_consumer_keeps_running(gallery, alice, platform_settings):
    client, defn = gallery
    dlq = defn.queues.dlq
    before = queue_depth(platform_settings, dlq)
    publish_raw(platform_settings, "video.upload_started.v1", b"{not json")
    publish_raw(platform_settings, "video.upload_started.v1", json.dumps({"specversion": "1.0", "id": "x", "source": "t", "type": "reelhouse.video.upload_started.v1", "data": {"videoId": "nope"}}).encode())
    wait_until(lambda: queue_depth(platform_settings, dlq) >= before + 2, message="two messages in the DLQ")
    vid = uuid.UUID(_create(client, alice)["id"])
    publish_event(platform_settings, VideoUploadStartedV1(video_id=vid, upload_session_id=uuid.uuid4()))
    wait_until(lambda: _status(client, alice, vid)["status"] == "UPLOADING", message="consumer still alive")


def test_patch_publishes_video_updated_with_the_new_version(gallery, alice, platform_settings):
    """Every copy of the visibility (streaming's playback projection) learns of the change (docs/security.md)."""
    client, _ = gallery
    vid = _create(client, alice, visibility="public")["id"]
    with EventCapture(platform_settings, ["video.updated.v1"]) as cap:
        r = client.patch(f"/api/videos/{vid}", json={"visibility": "private"}, headers=alice)
        assert r.status_code == 200 and r.json()["visibility"] == "private"
        first = cap.wait_for(lambda e: e["data"]["videoId"] == vid)[0]["data"]
        client.patch(f"/api/videos/{vid}", json={"title": "Renamed"}, headers=alice)
        events = cap.wait_for(lambda e: e["data"]["videoId"] == vid, count=2)
    assert first["visibility"] == "private" and first["ownerId"]
    second = max((e["data"] for e in events), key=lambda d: d["version"])
    assert second["version"] > first["version"]
    assert (second["title"], second["visibility"]) == ("Renamed", "private")


def test_nul_bytes_in_json_strings_or_the_query_are_422_not_500(gallery, alice):
    """PostgreSQL text cannot hold NUL: the platform refuses it up front (docs/security.md)."""
    client, _ = gallery
    nul_title = client.post("/api/videos", json={**MP4, "title": "Harbour\x00at dusk"}, headers=alice)
    vid = _create(client, alice)["id"]
    nul_patch = client.patch(f"/api/videos/{vid}", json={"description": "\x00"}, headers=alice)
    nul_query = client.get("/api/videos", params={"q": "a\x00"}, headers=alice)
    for r in (nul_title, nul_patch, nul_query):
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "VALIDATION_ERROR"
    assert "\x00" not in _status(client, alice, vid)["description"]


def test_delete_publishes_video_deleted(gallery, alice, platform_settings):
    client, _ = gallery
    vid = _create(client, alice)["id"]
    with EventCapture(platform_settings, ["video.deleted.v1"]) as cap:
        assert client.delete(f"/api/videos/{vid}", headers=alice).status_code == 204
        cap.wait_for(lambda e: e["data"]["videoId"] == vid)
    assert client.get(f"/api/videos/{vid}", headers=alice).status_code == 404


def test_health_ready_metrics(gallery):
    client, _ = gallery
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert "python_info" in client.get("/metrics/").text
