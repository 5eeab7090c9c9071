"""Service tests: /api/streams and the ingest callbacks against real PostgreSQL, RabbitMQ and an S3
server (SeaweedFS). The callbacks are POSTed exactly as nginx-rtmp sends them (urlencoded forms; verified
against the real module, see tests/e2e/test_live.py); the ingest's control API is a recording HTTP
server here (the real nginx-rtmp drop is covered end to end)."""

from __future__ import annotations

import logging
import subprocess
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reelhouse.contracts.events import ChatPresenceV1, VideoDeletedV1
from reelhouse.platform.storage import ensure_buckets, s3_client
from reelhouse.testing import (
    EventCapture,
    auth_headers,
    footage_dir,
    free_port,
    publish_event,
    requires_tools,
    running_service,
    wait_until,
)
from reelhouse.streaming.domain.live import redact
from reelhouse.streaming.main import build_service
from reelhouse.streaming.settings import StreamingSettings

pytestmark = pytest.mark.service

TOKEN = "test-callback-token"


class ControlServer:
    """Stands in for nginx-rtmp's rtmp_control: records drop requests, answers "1"."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                recorder.requests.append(self.path)
                body = b"1"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a) -> None:  # noqa: ANN002
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def control():
    c = ControlServer()
    yield c
    c.close()


@pytest.fixture(scope="module")
def live(platform_settings, control, tmp_path_factory):
    settings = StreamingSettings(
        **platform_settings.model_dump(exclude={"service_name", "http_port"}),
        rtmp_control_url=f"http://127.0.0.1:{control.port}/control",
        rtmp_ingest_url="rtmp://127.0.0.1:1935/live",
        rtmp_callback_token=TOKEN,
        rtmp_record_dir=str(tmp_path_factory.mktemp("recordings")),
        live_reconnect_window_seconds=1.5,
        live_recording_grace_seconds=1.0,
        live_supervisor_interval_seconds=0.2,
    )
    ensure_buckets(settings)
    defn = build_service(settings)
    with EventCapture(settings, ["stream.#"]) as capture, running_service(defn) as client:
        yield client, settings, capture


def _user(settings, name):
    uid = f"{name}-{uuid.uuid4().hex[:6]}"
    return uid, auth_headers(settings, uid)


def _cb(client, endpoint, **form):
    return client.post(f"/internal/rtmp/{endpoint}?t={TOKEN}", data=form, follow_redirects=False)


def _create(client, headers, **body):
    r = client.post("/api/streams", json={"title": "Harbour live", **body}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_shows_the_key_once_and_stores_only_a_hash(live):
    client, settings, _ = live
    uid, h = _user(settings, "alice")
    created = _create(client, h, description="dusk", recordingEnabled=False)
    key = created["ingest"]["streamKey"]
    assert created["status"] == "OFFLINE" and created["playbackUrl"] is None and created["recordingEnabled"] is False
    assert key.startswith("rhlive_") and len(key) == 50
    assert created["ingest"]["publishUrl"] == f"rtmp://127.0.0.1:1935/live/{key}"
    got = client.get(f"/api/streams/{created['id']}", headers=h)
    assert got.status_code == 200 and key not in got.text and "ingest" not in got.json()
    listed = client.get("/api/streams", headers=h)
    assert key not in listed.text
    ingest = client.get(f"/api/streams/{created['id']}/ingest", headers=h)
    assert ingest.json()["streamKey"] == key and ingest.headers["cache-control"] == "no-store"

    from sqlalchemy import create_engine, text

    engine = create_engine(settings.database_url_for("streaming"))
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM live_streams WHERE id = :i"), {"i": created["id"]}).mappings().one()
    engine.dispose()
    assert key not in " ".join(str(v) for v in row.values())
    assert key[7:] not in " ".join(str(v) for v in row.values())


def test_another_users_stream_is_404_everywhere(live):
    client, settings, _ = live
    _, alice = _user(settings, "alice")
    _, bob = _user(settings, "bob")
    sid = _create(client, alice)["id"]
    calls = [
        ("get", f"/api/streams/{sid}", None), ("patch", f"/api/streams/{sid}", {"title": "x"}),
        ("put", f"/api/streams/{sid}", {"title": "x"}), ("delete", f"/api/streams/{sid}", None),
        ("get", f"/api/streams/{sid}/ingest", None), ("post", f"/api/streams/{sid}/start", None),
        ("post", f"/api/streams/{sid}/stop", None), ("post", f"/api/streams/{sid}/rotate-key", None),
    ]
    for method, url, body in calls:
        r = client.request(method, url, json=body, headers=bob)
        assert r.status_code == 404, (method, url, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json") and r.json()["code"] == "STREAM_NOT_FOUND"
    assert client.get("/api/streams", headers=bob).json()["items"] == []
    assert client.get(f"/api/streams/{sid}").status_code == 401


def test_list_filters_by_status_and_paginates(live):
    client, settings, _ = live
    _, h = _user(settings, "carol")
    ids = [_create(client, h, title=f"s{i}")["id"] for i in range(5)]
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    sched = _create(client, h, title="later", scheduledAt=later)
    assert sched["status"] == "SCHEDULED"
    seen, cursor = [], None
    while True:
        r = client.get("/api/streams", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=h).json()
        seen += [s["id"] for s in r["items"]]
        cursor = r["nextCursor"]
        if not cursor:
            break
    assert seen == [sched["id"], *reversed(ids)]
    only = client.get("/api/streams", params={"status": "SCHEDULED"}, headers=h).json()["items"]
    assert [s["id"] for s in only] == [sched["id"]]
    assert client.get("/api/streams", params={"status": "NOPE"}, headers=h).status_code == 422
    bad = client.get("/api/streams", params={"cursor": "garbage"}, headers=h)
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_CURSOR"


def test_update_schedule_and_if_match(live):
    client, settings, _ = live
    _, h = _user(settings, "dave")
    created = client.post("/api/streams", json={"title": "a"}, headers=h)
    sid, etag = created.json()["id"], created.headers["etag"]
    when = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = client.patch(f"/api/streams/{sid}", json={"scheduledAt": when, "title": "b"}, headers={**h, "If-Match": etag})
    assert r.status_code == 200 and r.json()["status"] == "SCHEDULED" and r.json()["title"] == "b"
    stale = client.put(f"/api/streams/{sid}", json={"title": "c"}, headers={**h, "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "ETAG_MISMATCH"
    r = client.put(f"/api/streams/{sid}", json={"scheduledAt": None}, headers=h)
    assert r.json()["status"] == "OFFLINE" and r.json()["scheduledAt"] is None
    assert client.patch(f"/api/streams/{sid}", json={"bogus": 1}, headers=h).status_code == 422
    stop = client.post(f"/api/streams/{sid}/stop", headers=h)
    assert stop.status_code == 409 and stop.json()["code"] == "STREAM_NOT_LIVE"


def test_publish_goes_live_renames_to_the_id_and_stop_drops_the_broadcaster(live, control, caplog, capsys):
    client, settings, capture = live
    uid, h = _user(settings, "erin")
    created = _create(client, h, recordingEnabled=False)
    sid, key = created["id"], created["ingest"]["streamKey"]
    caplog.set_level(logging.DEBUG)

    # wrong key, wrong app, bad callback token: refused (nginx-rtmp drops the broadcaster on non-2xx/3xx)
    assert _cb(client, "publish", app="live", name="rhlive_" + "x" * 43, clientid="1", addr="127.0.0.1").status_code == 403
    assert _cb(client, "publish", app="other", name=key, clientid="1").status_code == 403
    assert client.post("/internal/rtmp/publish?t=wrong", data={"app": "live", "name": key}).status_code == 403

    r = _cb(client, "publish", app="live", name=key, clientid="7", addr="127.0.0.1", call="publish", type="live")
    assert r.status_code == 302 and r.headers["location"] == sid
    got = client.get(f"/api/streams/{sid}", headers=h).json()
    assert got["status"] == "LIVE" and got["broadcasting"] is True
    assert "/play/" in got["playbackUrl"] and got["playbackUrl"].endswith(f"/live/{sid}/index.m3u8")
    started = capture.wait_for(lambda e: e["type"] == "reelhouse.stream.started.v1" and e["data"]["streamId"] == sid)
    assert started[0]["data"]["ownerId"] == uid and started[0]["data"]["playbackPath"] == f"live/{sid}/index.m3u8"

    # the relay into the HLS application is accepted only for a stream with a broadcaster
    assert _cb(client, "relay_publish", app="hls", name=sid, clientid="8").status_code == 200
    assert _cb(client, "relay_publish", app="hls", name=str(uuid.uuid4()), clientid="9").status_code == 403
    # a second broadcaster on the same key is refused
    second = _cb(client, "publish", app="live", name=key, clientid="10", addr="127.0.0.1")
    assert second.status_code == 403

    stopped = client.post(f"/api/streams/{sid}/stop", headers=h)
    assert stopped.status_code == 200 and stopped.json()["status"] == "ENDED" and stopped.json()["playbackUrl"] is None
    assert f"/control/drop/publisher?app=live&name={sid}" in control.requests
    ended = capture.wait_for(lambda e: e["type"] == "reelhouse.stream.ended.v1" and e["data"]["streamId"] == sid)
    assert ended[0]["data"]["reason"] == "STOPPED"
    assert _cb(client, "publish_done", app="live", name=key, clientid="7").status_code == 200
    # the key of an ENDED stream is refused; stop is idempotent; start is refused
    assert _cb(client, "publish", app="live", name=key, clientid="11").status_code == 403
    assert client.post(f"/api/streams/{sid}/stop", headers=h).status_code == 200
    assert client.post(f"/api/streams/{sid}/start", headers=h).json()["code"] == "STREAM_ENDED"
    assert len([e for e in capture.drain() if e["type"] == "reelhouse.stream.ended.v1" and e["data"]["streamId"] == sid]) == 1
    logged = caplog.text + "".join(capsys.readouterr())
    assert "live.publish_accepted" in logged and redact(key) in logged
    assert key not in logged and key[7:-4] not in logged


def test_reconnect_within_the_window_continues_then_the_window_ends_it(live):
    client, settings, capture = live
    _, h = _user(settings, "fay")
    created = _create(client, h, recordingEnabled=False)
    sid, key = created["id"], created["ingest"]["streamKey"]
    assert _cb(client, "publish", app="live", name=key, clientid="21").status_code == 302
    assert _cb(client, "publish_done", app="live", name=key, clientid="21").status_code == 200
    got = client.get(f"/api/streams/{sid}", headers=h).json()
    assert got["status"] == "LIVE" and got["broadcasting"] is False
    assert _cb(client, "publish", app="live", name=key, clientid="22").status_code == 302  # back in time
    assert _cb(client, "publish_done", app="live", name=key, clientid="22").status_code == 200
    wait_until(lambda: client.get(f"/api/streams/{sid}", headers=h).json()["status"] == "ENDED", 10, 0.2, "window expiry")
    events = [e for e in capture.wait_for(lambda e: e["data"].get("streamId") == sid and e["type"].endswith("ended.v1"))]
    assert events[0]["data"]["reason"] == "RECONNECT_WINDOW_EXPIRED"
    starts = [e for e in capture.drain() if e["type"] == "reelhouse.stream.started.v1" and e["data"]["streamId"] == sid]
    assert len(starts) == 1  # the reconnect did not start the stream again


def test_rotate_key_refuses_the_old_key(live, control):
    client, settings, _ = live
    _, h = _user(settings, "gus")
    created = _create(client, h)
    sid, old = created["id"], created["ingest"]["streamKey"]
    rotated = client.post(f"/api/streams/{sid}/rotate-key", headers=h)
    assert rotated.status_code == 200
    new = rotated.json()["streamKey"]
    assert new != old and client.get(f"/api/streams/{sid}/ingest", headers=h).json()["streamKey"] == new
    assert _cb(client, "publish", app="live", name=old, clientid="31").status_code == 403
    assert _cb(client, "publish", app="live", name=new, clientid="32").status_code == 302


def test_start_from_the_api_and_delete_while_live(live, control):
    client, settings, capture = live
    _, h = _user(settings, "hal")
    created = _create(client, h)
    sid, key = created["id"], created["ingest"]["streamKey"]
    r = client.post(f"/api/streams/{sid}/start", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "LIVE" and r.json()["broadcasting"] is False
    assert client.post(f"/api/streams/{sid}/start", headers=h).status_code == 200  # idempotent
    assert _cb(client, "publish", app="live", name=key, clientid="41").status_code == 302  # no second start
    control.requests.clear()
    assert client.delete(f"/api/streams/{sid}", headers=h).status_code == 204
    assert client.get(f"/api/streams/{sid}", headers=h).status_code == 404
    assert f"/control/drop/publisher?app=live&name={sid}" in control.requests
    ended = capture.wait_for(lambda e: e["type"] == "reelhouse.stream.ended.v1" and e["data"]["streamId"] == sid)
    assert ended[0]["data"]["reason"] == "DELETED"
    starts = [e for e in capture.drain() if e["type"] == "reelhouse.stream.started.v1" and e["data"]["streamId"] == sid]
    assert len(starts) == 1
    assert _cb(client, "publish", app="live", name=key, clientid="42").status_code == 403
    assert _cb(client, "publish_done", app="live", name=key, clientid="41").status_code == 200


def test_viewer_count_from_chat_presence(live):
    client, settings, _ = live
    _, h = _user(settings, "ivy")
    created = _create(client, h, recordingEnabled=False)
    sid = created["id"]
    client.post(f"/api/streams/{sid}/start", headers=h)
    now = datetime.now(UTC)
    publish_event(settings, ChatPresenceV1(stream_id=uuid.UUID(sid), viewers=7, at=now))
    wait_until(lambda: client.get(f"/api/streams/{sid}", headers=h).json()["viewerCount"] == 7, 10, 0.2, "viewer count")
    publish_event(settings, ChatPresenceV1(stream_id=uuid.UUID(sid), viewers=2, at=now - timedelta(seconds=5)))  # stale
    publish_event(settings, ChatPresenceV1(stream_id=uuid.UUID(sid), viewers=3, at=now + timedelta(seconds=1)))
    wait_until(lambda: client.get(f"/api/streams/{sid}", headers=h).json()["viewerCount"] == 3, 10, 0.2, "newer count")


@requires_tools("ffmpeg", "ffprobe")
def test_recording_is_remuxed_uploaded_and_announced(live):
    client, settings, capture = live
    tmp_path = Path(settings.rtmp_record_dir)
    uid, h = _user(settings, "jo")
    created = _create(client, h, title="Recorded show")
    sid, key = created["id"], created["ingest"]["streamKey"]
    assert _cb(client, "publish", app="live", name=key, clientid="51").status_code == 302
    parts = []
    for i, start in enumerate(("0", "2")):  # two parts, as after a reconnect
        part = tmp_path / f"{sid}-17953045{i}0.flv"
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-ss", start, "-t", "2",
                        "-i", str(footage_dir() / "bigbuckbunny.mp4"), "-c", "copy", "-f", "flv", str(part)], check=True)
        parts.append(part)
    assert _cb(client, "record_done", app="live", name=key, clientid="51", path=str(parts[0])).status_code == 200
    assert _cb(client, "publish_done", app="live", name=key, clientid="51").status_code == 200
    assert _cb(client, "publish", app="live", name=key, clientid="52").status_code == 302
    client.post(f"/api/streams/{sid}/stop", headers=h)
    assert _cb(client, "publish_done", app="live", name=key, clientid="52").status_code == 200
    assert _cb(client, "record_done", app="live", name=key, clientid="52", path=str(parts[1])).status_code == 200
    rec = capture.wait_for(lambda e: e["type"] == "reelhouse.stream.recorded.v1" and e["data"]["streamId"] == sid, timeout=30)[0]["data"]
    assert rec["ownerId"] == uid and rec["bucket"] == settings.uploads_bucket and rec["title"] == "Recorded show"
    assert rec["sourceMime"] == "video/mp4" and rec["sourceSizeBytes"] > 10_000
    assert 3.0 <= rec["durationSeconds"] <= 8.0  # -c copy cuts snap to the one keyframe of the clip
    got = client.get(f"/api/streams/{sid}", headers=h).json()
    assert got["recordingStatus"] == "UPLOADED" and got["recordingVideoId"] == rec["videoId"]
    obj = s3_client(settings).get_object(Bucket=rec["bucket"], Key=rec["sourceFileKey"])
    data = obj["Body"].read()
    assert len(data) == rec["sourceSizeBytes"] and data[4:8] == b"ftyp"
    assert not parts[0].exists() and not parts[1].exists()  # the ingest's disk is freed

    # issue 10 item 7: deleting the recording's video deletes the recording object too (once, even when
    # the event comes twice), and another object of the bucket stays
    s3 = s3_client(settings)
    other_key = f"{settings.recordings_prefix}/{uuid.uuid4()}/other.mp4"
    s3.put_object(Bucket=rec["bucket"], Key=other_key, Body=b"other recording")
    deleted = VideoDeletedV1(video_id=uuid.UUID(rec["videoId"]), owner_id=uid)
    publish_event(settings, deleted)
    publish_event(settings, deleted)
    wait_until(lambda: client.get(f"/api/streams/{sid}", headers=h).json()["recordingStatus"] == "DELETED", 15, 0.2, "recording deleted")
    listed = s3.list_objects_v2(Bucket=rec["bucket"], Prefix=f"{settings.recordings_prefix}/").get("Contents", [])
    keys = {o["Key"] for o in listed}
    assert rec["sourceFileKey"] not in keys and other_key in keys


def test_an_empty_callback_token_refuses_every_callback(live, monkeypatch):
    client, settings, _ = live
    _, h = _user(settings, "kim")
    key = _create(client, h)["ingest"]["streamKey"]
    monkeypatch.setattr(client.app.state.settings, "rtmp_callback_token", "")
    for query in ("", "?t=", f"?t={TOKEN}"):
        r = client.post(f"/internal/rtmp/publish{query}", data={"app": "live", "name": key, "clientid": "71"}, follow_redirects=False)
        assert r.status_code == 403, (query, r.status_code)


def test_publish_done_closes_the_session_of_its_own_key_only(live):
    client, settings, _ = live
    _, h = _user(settings, "lee")
    a, b = _create(client, h, recordingEnabled=False), _create(client, h, recordingEnabled=False)
    key_a, key_b = a["ingest"]["streamKey"], b["ingest"]["streamKey"]
    # nginx-rtmp's client ids restart with the ingest: two live broadcasters can carry the same one
    assert _cb(client, "publish", app="live", name=key_a, clientid="81").status_code == 302
    assert _cb(client, "publish", app="live", name=key_b, clientid="81").status_code == 302

    def broadcasting(stream):
        return client.get(f"/api/streams/{stream['id']}", headers=h).json()["broadcasting"]

    # a publish_done with a key nobody published with, or no key at all, closes nothing
    assert _cb(client, "publish_done", app="live", name="rhlive_" + "y" * 43, clientid="81").status_code == 200
    assert _cb(client, "publish_done", app="live", clientid="81").status_code == 200
    assert broadcasting(a) and broadcasting(b)
    # A's broadcaster leaves: A's session closes, B keeps broadcasting
    assert _cb(client, "publish_done", app="live", name=key_a, clientid="81").status_code == 200
    assert not broadcasting(a) and broadcasting(b)
    # B's key is rotated while live: the broadcaster's publish_done still carries the old key and closes its session
    assert client.post(f"/api/streams/{b['id']}/rotate-key", headers=h).status_code == 200
    assert _cb(client, "publish_done", app="live", name=key_b, clientid="81").status_code == 200
    assert not broadcasting(b)


def test_record_done_takes_only_the_ingests_own_recordings(live, tmp_path):
    client, settings, capture = live
    _, h = _user(settings, "max")
    created = _create(client, h, title="Not yours")
    sid, key = created["id"], created["ingest"]["streamKey"]
    never = _create(client, h, title="Never broadcast")
    foreign = tmp_path / f"{sid}-1795304500.flv"  # a well-named file outside the record directory
    foreign.write_bytes(b"FLV")
    inside_unbroadcast = Path(settings.rtmp_record_dir) / f"{never['id']}-1795304501.flv"
    inside_unbroadcast.write_bytes(b"FLV")
    climbing = Path(settings.rtmp_record_dir) / ".." / foreign.parent.name / foreign.name
    assert _cb(client, "publish", app="live", name=key, clientid="91").status_code == 302
    for path in (foreign, climbing):
        assert _cb(client, "record_done", app="live", name=key, clientid="91", path=str(path)).status_code == 200
    assert _cb(client, "record_done", app="live", name=never["ingest"]["streamKey"], clientid="92", path=str(inside_unbroadcast)).status_code == 200
    client.post(f"/api/streams/{sid}/stop", headers=h)
    client.post(f"/api/streams/{never['id']}/stop", headers=h)
    wait_until(lambda: client.get(f"/api/streams/{sid}", headers=h).json()["recordingStatus"] not in ("PENDING", "PROCESSING"), 15, 0.2, "recording settled")
    assert client.get(f"/api/streams/{sid}", headers=h).json()["recordingStatus"] == "EMPTY"
    assert foreign.read_bytes() == b"FLV" and inside_unbroadcast.read_bytes() == b"FLV"  # nothing taken, nothing deleted
    assert not [e for e in capture.drain() if e["type"] == "reelhouse.stream.recorded.v1" and e["data"]["streamId"] in (sid, never["id"])]

def test_thumbnail_upload_is_signed_in_the_answer_replaced_and_refused_for_non_jpeg(live):
    client, settings, _ = live
    uid, h = _user(settings, "thumbs")
    created = _create(client, h)
    sid = created["id"]
    assert created["thumbnailUrl"] is None
    # the service checks the JPEG markers and stores the bytes as they came (the browser made them)
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"

    put = client.put(f"/api/streams/{sid}/thumbnail", content=jpeg, headers={**h, "Content-Type": "image/jpeg"})
    assert put.status_code == 200, put.text
    url = put.json()["thumbnailUrl"]
    assert url and f"/live/{sid}/thumbnail-" in url and url.endswith(".jpg")
    key = url.split("/play/", 1)[1].split("/", 2)[2]
    s3 = s3_client(settings)
    assert s3.get_object(Bucket=settings.media_bucket, Key=key)["Body"].read() == jpeg
    assert client.get(f"/api/streams/{sid}", headers=h).json()["thumbnailUrl"].split("/", 5)[5] == url.split("/", 5)[5]
    listed = client.get("/api/streams", headers=h).json()["items"]
    assert [s["thumbnailUrl"] is not None for s in listed if s["id"] == sid] == [True]

    # a new image replaces the old one (new key, old object gone)
    again = client.put(f"/api/streams/{sid}/thumbnail", content=jpeg, headers={**h, "Content-Type": "image/jpeg"}).json()["thumbnailUrl"]
    key2 = again.split("/play/", 1)[1].split("/", 2)[2]
    assert key2 != key
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=settings.media_bucket, Key=key)

    png = client.put(f"/api/streams/{sid}/thumbnail", content=b"\x89PNG\r\n\x1a\n" + b"0" * 64, headers={**h, "Content-Type": "image/png"})
    assert png.status_code == 415 and png.json()["code"] == "UNSUPPORTED_IMAGE"
    fake = client.put(f"/api/streams/{sid}/thumbnail", content=b"not a jpeg", headers={**h, "Content-Type": "image/jpeg"})
    assert fake.status_code == 415 and fake.json()["code"] == "UNSUPPORTED_IMAGE"
    big = client.put(f"/api/streams/{sid}/thumbnail", content=b"\xff\xd8\xff" + b"0" * 1_000_000, headers={**h, "Content-Type": "image/jpeg"})
    assert big.status_code == 413 and big.json()["code"] == "IMAGE_TOO_LARGE"
    _, other = _user(settings, "mallory")
    theirs = client.put(f"/api/streams/{sid}/thumbnail", content=jpeg, headers={**other, "Content-Type": "image/jpeg"})
    assert theirs.status_code == 404 and theirs.json()["code"] == "STREAM_NOT_FOUND"

    # removing it clears the URL and the object; deleting the stream would too
    assert client.delete(f"/api/streams/{sid}/thumbnail", headers=h).status_code == 204
    assert client.get(f"/api/streams/{sid}", headers=h).json()["thumbnailUrl"] is None
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=settings.media_bucket, Key=key2)
    client.put(f"/api/streams/{sid}/thumbnail", content=jpeg, headers={**h, "Content-Type": "image/jpeg"})
    key3 = client.get(f"/api/streams/{sid}", headers=h).json()["thumbnailUrl"].split("/play/", 1)[1].split("/", 2)[2]
    assert client.delete(f"/api/streams/{sid}", headers=h).status_code == 204
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=settings.media_bucket, Key=key3)


def test_a_public_stream_is_watchable_and_listed_for_others_a_private_one_is_not(live):
    client, settings, capture = live
    _, owner = _user(settings, "pub")
    _, viewer = _user(settings, "view")
    public = _create(client, owner, title="Open harbour", visibility="public", recordingEnabled=False)
    private = _create(client, owner, title="Closed harbour", recordingEnabled=False)
    assert (public["visibility"], private["visibility"]) == ("public", "private")
    # another signed-in user gets the public stream (never its key) and 404 for the private one
    got = client.get(f"/api/streams/{public['id']}", headers=viewer)
    assert got.status_code == 200 and got.json()["title"] == "Open harbour" and "ingest" not in got.json()
    assert client.get(f"/api/streams/{private['id']}", headers=viewer).status_code == 404
    for path in ("/ingest", "/rotate-key", "/start", "/stop"):
        method = client.get if path == "/ingest" else client.post
        assert method(f"/api/streams/{public['id']}{path}", headers=viewer).status_code == 404, path
    assert client.patch(f"/api/streams/{public['id']}", json={"title": "mine now"}, headers=viewer).status_code == 404
    listed = {s["id"] for s in client.get("/api/streams?scope=public&limit=100", headers=viewer).json()["items"]}
    assert public["id"] in listed and private["id"] not in listed
    assert {s["id"] for s in client.get("/api/streams", headers=viewer).json()["items"]} == set()  # mine: none
    # live: the viewer gets the signed playlist; the chat room takes the visibility from stream.started
    assert _cb(client, "publish", app="live", name=public["ingest"]["streamKey"], clientid="101").status_code == 302
    watching = client.get(f"/api/streams/{public['id']}", headers=viewer).json()
    assert watching["status"] == "LIVE" and watching["playbackUrl"].endswith(f"/live/{public['id']}/index.m3u8")
    started = capture.wait_for(lambda e: e["type"] == "reelhouse.stream.started.v1" and e["data"]["streamId"] == public["id"])
    assert started[0]["data"]["visibility"] == "public"
    # no visibility change while live (the chat room could not follow); fine once ended
    refused = client.patch(f"/api/streams/{public['id']}", json={"visibility": "private"}, headers=owner)
    assert refused.status_code == 409 and refused.json()["code"] == "STREAM_LIVE"
    assert client.patch(f"/api/streams/{private['id']}", json={"visibility": "public"}, headers=owner).json()["visibility"] == "public"
    assert client.get(f"/api/streams/{private['id']}", headers=viewer).status_code == 200
