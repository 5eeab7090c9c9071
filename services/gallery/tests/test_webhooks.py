"""Service tests: signed webhooks (docs/webhooks.md) from the gallery against real PostgreSQL and
RabbitMQ, delivered over real HTTP to receivers in this process, and verified with the Standard Webhooks
library exactly as an integrator's backend would."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from reelhouse.contracts.events import (
    RenditionV1,
    StreamEndedV1,
    StreamStartedV1,
    TranscodeCompletedV1,
    TranscodeFailedV1,
    TranscodeStartedV1,
    VideoUploadedV1,
    VideoUploadStartedV1,
)
from reelhouse.gallery.main import build_service
from reelhouse.gallery.settings import GallerySettings
from reelhouse.testing import EventCapture, auth_headers, free_port, publish_event, running_service, wait_until

pytestmark = pytest.mark.service


class Receiver:
    """An integrator's webhook receiver: records every request; ``status`` (and ``delay`` seconds)
    decide the answer per path."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status: dict[str, int] = {}
        self.delay: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                time.sleep(receiver.delay.get(self.path, 0.0))
                status = receiver.status.get(self.path, 204)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body.decode(), "arrived": arrived, "answered": time.monotonic(), "status": status})

            def log_message(self, *a) -> None:  # noqa: ANN002
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[dict]:
        return [r for r in list(self.requests) if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def gallery(platform_settings):
    settings = GallerySettings(
        **platform_settings.model_dump(exclude={"service_name", "http_port"}),
        webhook_retry_schedule_seconds=[0.2, 0.2, 0.2],
        webhook_poll_seconds=0.2,
        webhook_timeout_seconds=1.0,
    )
    with EventCapture(settings, ["#"]), running_service(build_service(settings)) as client:
        yield client, settings


def _user(settings, name):
    return auth_headers(settings, f"{name}-{uuid.uuid4().hex[:6]}")


def _endpoint(client, headers, url, **body):
    r = client.post("/api/webhooks", json={"url": url, **body}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _ready_video(client, settings, headers, title="Harbour at dawn") -> uuid.UUID:
    r = client.post("/api/videos", json={"title": title, "sourceMime": "video/mp4", "sourceSizeBytes": 1000}, headers=headers)
    assert r.status_code == 201, r.text
    vid, sid = uuid.UUID(r.json()["id"]), uuid.uuid4()
    publish_event(settings, VideoUploadStartedV1(video_id=vid, upload_session_id=sid))
    publish_event(settings, VideoUploadedV1(video_id=vid, owner_id="x", upload_session_id=sid, bucket="b", source_file_key=f"sources/{vid}/{sid}",
                                            source_size_bytes=1000, source_mime="video/mp4", checksum="c"))
    publish_event(settings, TranscodeStartedV1(video_id=vid, job_id=uuid.uuid4(), attempt=1))
    publish_event(settings, TranscodeCompletedV1(video_id=vid, job_id=uuid.uuid4(), duration_seconds=12.5, width=1280, height=720,
                                                 master_key=f"videos/{vid}/j/master.m3u8",
                                                 renditions=(RenditionV1(quality="720p", width=1280, height=720, bandwidth=3_000_000,
                                                                         codecs="avc1.64001f,mp4a.40.2", playlist_key=f"videos/{vid}/j/720p/index.m3u8"),)))
    wait_until(lambda: client.get(f"/api/videos/{vid}", headers=headers).json()["status"] == "READY", 15, 0.1, "READY")
    return vid


def _verified(request: dict, secret: str) -> dict:
    """The payload as a receiver accepts it: Standard Webhooks signature and timestamp checked."""
    return Webhook(secret).verify(request["body"], request["headers"])


def test_an_endpoint_gets_video_ready_signed_and_its_secret_is_shown_once(gallery, receiver):
    client, settings = gallery
    h = _user(settings, "ada")
    created = _endpoint(client, h, receiver.url("/ada"), description="CMS sync")
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    assert created["eventTypes"] == ["video.ready", "video.failed", "video.deleted", "stream.started", "stream.ended", "recording.ready"]
    only_failed = _endpoint(client, h, receiver.url("/ada-failed-only"), eventTypes=["video.failed"])
    listed = client.get("/api/webhooks", headers=h).json()["items"]
    assert {e["id"] for e in listed} == {created["id"], only_failed["id"]} and all("secret" not in e for e in listed)

    vid = _ready_video(client, settings, h)
    (request,) = wait_until(lambda: receiver.at("/ada"), 10, 0.05, "video.ready delivered")
    body = _verified(request, created["secret"])
    assert body["type"] == "video.ready"
    assert body["data"] == {"videoId": str(vid), "title": "Harbour at dawn", "status": "READY", "durationSeconds": 12.5, "width": 1280, "height": 720}
    assert request["headers"]["webhook-id"].startswith("msg_")
    with pytest.raises(Exception):  # noqa: B017, PT011 - any verification error: a forged body is refused
        Webhook(created["secret"]).verify(request["body"].replace("READY", "FAILED"), request["headers"])
    deliveries = client.get(f"/api/webhooks/{created['id']}/deliveries", headers=h).json()["items"]
    assert [(d["eventType"], d["status"], d["attempts"], d["lastStatusCode"]) for d in deliveries] == [("video.ready", "DELIVERED", 1, 204)]
    time.sleep(0.5)
    assert receiver.at("/ada-failed-only") == []  # not subscribed to video.ready

    # deleting the video: video.deleted
    assert client.delete(f"/api/videos/{vid}", headers=h).status_code == 204
    deleted = wait_until(lambda: [r for r in receiver.at("/ada") if json.loads(r["body"])["type"] == "video.deleted"], 10, 0.05, "video.deleted")
    assert _verified(deleted[0], created["secret"])["data"] == {"videoId": str(vid)}


def test_failures_and_live_streams_reach_the_owner_only(gallery, receiver):
    client, settings = gallery
    owner, other = _user(settings, "bo"), _user(settings, "cy")
    mine = _endpoint(client, owner, receiver.url("/bo"))
    _endpoint(client, other, receiver.url("/cy"))
    r = client.post("/api/videos", json={"title": "Broken", "sourceMime": "video/mp4", "sourceSizeBytes": 1000}, headers=owner)
    vid, sid = uuid.UUID(r.json()["id"]), uuid.uuid4()
    owner_id = client.get(f"/api/videos/{vid}", headers=owner).json()["ownerId"]
    publish_event(settings, VideoUploadStartedV1(video_id=vid, upload_session_id=sid))
    publish_event(settings, VideoUploadedV1(video_id=vid, owner_id=owner_id, upload_session_id=sid, bucket="b", source_file_key="k",
                                            source_size_bytes=1000, source_mime="video/mp4", checksum="c"))
    publish_event(settings, TranscodeStartedV1(video_id=vid, job_id=uuid.uuid4(), attempt=1))
    publish_event(settings, TranscodeFailedV1(video_id=vid, job_id=uuid.uuid4(), fail_reason="CORRUPT_SOURCE", detail="moov atom not found", attempt=1, retryable=False))
    stream_id = uuid.uuid4()
    publish_event(settings, StreamStartedV1(stream_id=stream_id, owner_id=owner_id, started_at=datetime.now(UTC)))
    publish_event(settings, StreamEndedV1(stream_id=stream_id, owner_id=owner_id, ended_at=datetime.now(UTC), reason="STOPPED"))
    got = wait_until(lambda: (rs := receiver.at("/bo")) and len(rs) >= 3 and rs, 10, 0.05, "three deliveries")
    bodies = {b["type"]: b["data"] for b in (_verified(x, mine["secret"]) for x in got)}
    assert bodies["video.failed"] == {"videoId": str(vid), "title": "Broken", "status": "FAILED", "failReason": "CORRUPT_SOURCE"}
    assert bodies["stream.started"]["streamId"] == str(stream_id)
    assert bodies["stream.ended"]["streamId"] == str(stream_id) and bodies["stream.ended"]["reason"] == "STOPPED"
    time.sleep(0.5)
    assert receiver.at("/cy") == []
    # another user's endpoint is invisible
    for method, path in (("get", ""), ("delete", ""), ("get", "/deliveries"), ("post", "/rotate-secret")):
        answer = getattr(client, method)(f"/api/webhooks/{mine['id']}{path}", headers=other)
        assert answer.status_code == 404 and answer.json()["code"] == "WEBHOOK_NOT_FOUND", (method, path)


def test_a_failing_endpoint_is_retried_then_disabled_and_never_holds_up_another(gallery, receiver):
    client, settings = gallery
    h = _user(settings, "di")
    receiver.status["/di-broken"] = 500
    receiver.delay["/di-slow"] = 0.8  # answers, slowly, within the 1 s timeout
    broken = _endpoint(client, h, receiver.url("/di-broken"))
    slow = _endpoint(client, h, receiver.url("/di-slow"))
    healthy = _endpoint(client, h, receiver.url("/di-ok"))
    _ready_video(client, settings, h)
    wait_until(lambda: receiver.at("/di-ok") and receiver.at("/di-slow"), 10, 0.05, "healthy and slow deliveries")
    # the healthy endpoint's delivery did not wait for the slow one's answer
    assert receiver.at("/di-ok")[0]["arrived"] < receiver.at("/di-slow")[0]["answered"]
    # 1 attempt + 3 retries, then FAILED, and the endpoint disabled with its reason
    wait_until(lambda: not client.get(f"/api/webhooks/{broken['id']}", headers=h).json()["enabled"], 15, 0.1, "endpoint disabled")
    assert len(receiver.at("/di-broken")) == 4
    state = client.get(f"/api/webhooks/{broken['id']}", headers=h).json()
    assert state["disabledReason"].startswith("ENDPOINT_FAILING") and "HTTP 500" in state["disabledReason"]
    (failed,) = client.get(f"/api/webhooks/{broken['id']}/deliveries", headers=h).json()["items"]
    assert (failed["status"], failed["attempts"], failed["lastStatusCode"]) == ("FAILED", 4, 500)
    assert client.get(f"/api/webhooks/{healthy['id']}", headers=h).json()["enabled"] is True
    assert client.get(f"/api/webhooks/{slow['id']}/deliveries", headers=h).json()["items"][0]["status"] == "DELIVERED"

    # the integrator fixes the receiver, re-enables the endpoint and redelivers: same webhook-id
    receiver.status["/di-broken"] = 200
    assert client.patch(f"/api/webhooks/{broken['id']}", json={"enabled": True}, headers=h).json()["enabled"] is True
    again = client.post(f"/api/webhooks/{broken['id']}/deliveries/{failed['id']}/redeliver", headers=h)
    assert again.status_code == 202 and again.json()["messageId"] == failed["messageId"]
    wait_until(lambda: receiver.at("/di-broken")[-1]["status"] == 200, 10, 0.05, "redelivered")
    last = receiver.at("/di-broken")[-1]
    assert last["headers"]["webhook-id"] == failed["messageId"] and _verified(last, broken["secret"])["type"] == "video.ready"


def test_a_rotated_secret_signs_alongside_the_old_one_during_the_grace_period(gallery, receiver):
    client, settings = gallery
    h = _user(settings, "ed")
    created = _endpoint(client, h, receiver.url("/ed"), eventTypes=["video.ready"])
    rotated = client.post(f"/api/webhooks/{created['id']}/rotate-secret", headers=h)
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != created["secret"] and new.startswith("whsec_")
    _ready_video(client, settings, h)
    (request,) = wait_until(lambda: receiver.at("/ed"), 10, 0.05, "delivery")
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    assert _verified(request, new)["type"] == "video.ready"
    assert _verified(request, created["secret"])["type"] == "video.ready"  # a receiver not yet switched


def test_private_loopback_and_metadata_addresses_are_refused_outside_dev_mode(gallery, monkeypatch):
    client, settings = gallery
    h = _user(settings, "fi")
    monkeypatch.setattr(client.app.state.settings, "webhook_allow_private", False)
    for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/hook",
                "http://[::1]/hook", "http://localhost/hook", "ftp://example.com/hook", "http://user:pw@example.com/"):
        r = client.post("/api/webhooks", json={"url": url}, headers=h)
        assert r.status_code == 422 and r.json()["code"] == "WEBHOOK_URL_REFUSED", (url, r.text)
    r = client.post("/api/webhooks", json={"url": "https://hooks.example.com/x", "eventTypes": ["video.exploded"]}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "INVALID_EVENT_TYPE"
    assert client.get("/api/webhooks", headers=h).json()["items"] == []
