"""Service tests: the upload service against real PostgreSQL, RabbitMQ and an S3 server (SeaweedFS,
signatures checked). Its video projection is fed by video.created / video.deleted events published to the real
exchange; bytes travel by real HTTP PUTs to the presigned part URLs; what it publishes is captured from
the exchange. docs/api.md, "Upload sessions" and "Upload session status"."""

import time
import uuid

import httpx
import pytest

from reelhouse.contracts.events import VideoCreatedV1, VideoDeletedV1
from reelhouse.platform.storage import ensure_buckets, s3_client
from reelhouse.testing import (
    EventCapture,
    auth_headers,
    footage_dir,
    publish_event,
    running_service,
    wait_until,
)
from reelhouse.upload.http import routes
from reelhouse.upload.main import build_service

pytestmark = pytest.mark.service

MiB = 1024 * 1024
PART = 5 * MiB
CLIP = footage_dir() / "bigbuckbunny.mp4"
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
"""The first box of an MP4 file: a part 1 that begins with it passes the container check at complete."""


def _mp4ish(fill: bytes, size: int) -> bytes:
    """``size`` bytes that begin like an MP4 file (:data:`MP4_HEAD`), then ``fill`` repeated."""
    return (MP4_HEAD + fill * size)[:size]


@pytest.fixture(scope="module")
def upload(platform_settings):
    """(client, capture of every event on the exchange, boto3 S3 client)."""
    ensure_buckets(platform_settings)
    with (
        EventCapture(platform_settings, ["#"]) as cap,
        running_service(build_service(platform_settings)) as client,
    ):
        yield client, cap, s3_client(platform_settings)


@pytest.fixture(scope="module")
def source() -> bytes:
    """~11 MB of the real clip's bytes (the clip repeated 11 times): 3 parts of 5 MiB, 5 MiB and the rest."""
    data = CLIP.read_bytes() * 11
    assert 2 * PART < len(data) < 3 * PART
    return data


class User:
    def __init__(self, settings, name):
        self.id = f"{name}-{uuid.uuid4().hex[:8]}"
        self.headers = auth_headers(settings, self.id)


@pytest.fixture
def alice(platform_settings):
    return User(platform_settings, "alice")


@pytest.fixture
def bob(platform_settings):
    return User(platform_settings, "bob")


# --- helpers -------------------------------------------------------------------------------------


def _video(settings, owner: User, size: int, mime: str = "video/mp4") -> str:
    """Announce a DRAFT video through the broker (the gallery's video.created); returns its id."""
    vid = uuid.uuid4()
    publish_event(
        settings,
        VideoCreatedV1(
            video_id=vid, owner_id=owner.id, title="Property tour", source_mime=mime, source_size_bytes=size
        ),
    )
    return str(vid)


def _problem(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["status"] == status, body
    return body


def _open(client, user: User, vid: str, **body) -> dict:
    r = client.post(f"/api/videos/{vid}/uploads", json=body or None, headers=user.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _url(client, user: User, sid: str, n: int) -> str:
    r = client.post(f"/api/uploads/{sid}/parts", json={"partNumber": n}, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["uploadUrl"]


def _put(url: str, data: bytes) -> str:
    """PUT bytes to a presigned part URL like a client does; returns the part's ETag (unquoted)."""
    r = httpx.put(url, content=data, timeout=30)
    assert r.status_code == 200, r.text
    return r.headers["etag"].strip('"')


def _interrupted_put(url: str, data: bytes) -> None:
    """Start a PUT announcing all of ``data`` but drop the connection after half of it."""

    def body():
        yield data[: len(data) // 2]
        raise ConnectionAbortedError("network dropped")

    with pytest.raises(ConnectionAbortedError):
        httpx.put(url, content=body(), headers={"Content-Length": str(len(data))}, timeout=30)


def _parts(data: bytes) -> list[bytes]:
    return [data[i : i + PART] for i in range(0, len(data), PART)]


def _upload_all(client, user: User, sid: str, data: bytes) -> list[dict]:
    return [
        {"partNumber": n, "etag": _put(_url(client, user, sid, n), chunk)}
        for n, chunk in enumerate(_parts(data), 1)
    ]


def _get(client, user: User, sid: str) -> dict:
    r = client.get(f"/api/uploads/{sid}", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _open_uploads(s3, bucket: str) -> set[str]:
    return {u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}


def _provider_upload_id(client, sid: str) -> str:
    from reelhouse.upload.adapters.db import UploadSession

    async def _read():
        async with client.app.state.db.session() as s:
            return (await s.get(UploadSession, uuid.UUID(sid))).provider_upload_id

    return client.portal.call(_read)


def _events(cap: EventCapture, kind: str, vid: str, count: int = 1) -> list[dict]:
    return cap.wait_for(
        lambda e: e["type"] == f"reelhouse.video.{kind}.v1" and e["data"].get("videoId") == vid, count=count
    )


# --- the happy path ------------------------------------------------------------------------------


def test_resumable_upload_of_a_real_file_end_to_end(upload, alice, source, platform_settings):
    client, cap, s3 = upload
    vid = _video(platform_settings, alice, len(source))

    # create (the projection arrives through the broker; the route waits for it)
    r = client.post(
        f"/api/videos/{vid}/uploads",
        json={"sourceMime": "video/mp4", "sourceSizeBytes": len(source)},
        headers=alice.headers,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert {k: created[k] for k in ("partSizeBytes", "status")} == {
        "partSizeBytes": 5_242_880,
        "status": "INITIATED",
    }
    sid = created["uploadSessionId"]
    assert uuid.UUID(sid) and created["totalParts"] == 3 and created["totalBytes"] == len(source)
    started = _events(cap, "upload_started", vid)[0]
    assert started["data"] == {"videoId": vid, "uploadSessionId": sid}

    # first part URL: INITIATED -> IN_PROGRESS
    r = client.post(f"/api/uploads/{sid}/parts", json={"partNumber": 1}, headers=alice.headers)
    assert r.status_code == 200, r.text
    part1 = r.json()
    assert part1["partNumber"] == 1 and part1["uploadUrl"].startswith(platform_settings.s3_endpoint_url)
    assert part1["sizeBytes"] == PART and part1["expiresAt"] > time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.gmtime()
    )
    assert _get(client, alice, sid)["status"] == "IN_PROGRESS"
    r = client.post(f"/api/uploads/{sid}/parts", json={"partNumbers": [2, 3]}, headers=alice.headers)
    assert r.status_code == 200, r.text
    urls = {p["partNumber"]: p for p in r.json()["parts"]}
    assert urls[3]["sizeBytes"] == len(source) - 2 * PART

    # parts 1 and 3 arrive; part 2's PUT is cut off by the network
    chunks = _parts(source)
    etag1 = _put(part1["uploadUrl"], chunks[0])
    _interrupted_put(urls[2]["uploadUrl"], chunks[1])
    etag3 = _put(urls[3]["uploadUrl"], chunks[2])

    # the client (after an app restart, say) asks what is stored: exactly parts 1 and 3
    state = _get(client, alice, sid)
    assert state["status"] == "IN_PROGRESS" and state["partSizeBytes"] == PART
    assert state["parts"] == [
        {"partNumber": 1, "etag": etag1, "sizeBytes": PART},
        {"partNumber": 3, "etag": etag3, "sizeBytes": len(chunks[2])},
    ]
    assert state["bytesUploaded"] == PART + len(chunks[2])

    # it uploads only the missing part and completes
    etag2 = _put(_url(client, alice, sid, 2), chunks[1])
    assert _get(client, alice, sid)["bytesUploaded"] == len(source)
    parts = [
        {"partNumber": 3, "etag": etag3},
        {"partNumber": 1, "etag": f'"{etag1}"'},
        {"partNumber": 2, "etag": etag2},
    ]
    r = client.post(f"/api/uploads/{sid}/complete", json={"parts": parts}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("uploadSessionId", "status")} == {
        "uploadSessionId": sid,
        "status": "COMPLETED",
    }

    uploaded = _events(cap, "uploaded", vid)[0]["data"]
    head = s3.head_object(Bucket=uploaded["bucket"], Key=uploaded["sourceFileKey"])
    assert uploaded["bucket"] == platform_settings.uploads_bucket
    assert uploaded["sourceFileKey"] == f"sources/{vid}/{sid}"
    assert uploaded["sourceSizeBytes"] == len(source) == head["ContentLength"]
    assert uploaded["checksum"] == head["ETag"].strip('"') and uploaded["checksum"].endswith("-3")
    assert (
        uploaded["ownerId"] == alice.id
        and uploaded["uploadSessionId"] == sid
        and uploaded["sourceMime"] == "video/mp4"
    )
    body = s3.get_object(Bucket=uploaded["bucket"], Key=uploaded["sourceFileKey"])["Body"].read()
    assert body == source

    done = _get(client, alice, sid)
    assert done["status"] == "COMPLETED" and done["bytesUploaded"] == len(source)
    # completing again is idempotent: same answer, no second video.uploaded
    again = client.post(f"/api/uploads/{sid}/complete", json={"parts": parts}, headers=alice.headers)
    assert again.status_code == 200 and again.json()["status"] == "COMPLETED"
    # a finished video takes no new session
    _problem(client.post(f"/api/videos/{vid}/uploads", headers=alice.headers), 409, "ALREADY_UPLOADED")
    time.sleep(0.5)
    assert (
        len(
            [
                e
                for e in cap.drain()
                if e["type"] == "reelhouse.video.uploaded.v1" and e["data"]["videoId"] == vid
            ]
        )
        == 1
    )


# --- bad input: nothing stored is lost -----------------------------------------------------------


def test_a_part_of_another_length_than_planned_is_refused_by_storage_and_loses_nothing(upload, alice, source, platform_settings):
    """Part URLs sign the planned part length (docs/security.md "Uploads"): a client that sends fewer
    bytes than the video declared gets 403 from storage for that part; the parts already stored stay,
    and the right bytes complete the session."""
    client, _, _ = upload
    declared = len(source) + 1000  # the video declared more bytes than the client has
    vid = _video(platform_settings, alice, declared)
    sid = _open(client, alice, vid)["uploadSessionId"]
    chunks = _parts(source)
    parts = [{"partNumber": n, "etag": _put(_url(client, alice, sid, n), chunk)} for n, chunk in enumerate(chunks[:2], 1)]
    refused = httpx.put(_url(client, alice, sid, 3), content=chunks[2], timeout=30)
    assert refused.status_code == 403, refused.text
    state = _get(client, alice, sid)
    assert state["status"] == "IN_PROGRESS"
    assert [(p["partNumber"], p["etag"]) for p in state["parts"]] == [(p["partNumber"], p["etag"]) for p in parts]
    assert state["bytesUploaded"] == 2 * PART
    _problem(client.post(f"/api/uploads/{sid}/complete", json={"parts": parts}, headers=alice.headers), 422, "PART_MISSING")
    # the client sends the last part with the planned length and completes
    parts.append({"partNumber": 3, "etag": _put(_url(client, alice, sid, 3), chunks[2] + b"\0" * 1000)})
    r = client.post(f"/api/uploads/{sid}/complete", json={"parts": parts}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["status"] == "COMPLETED"


def test_part_checks_at_complete(upload, alice, platform_settings):
    client, _, _ = upload
    size = PART + 1000  # two parts
    vid = _video(platform_settings, alice, size)
    sid = _open(client, alice, vid)["uploadSessionId"]
    # wrong part sizes that happen to add up to the declared size: storage refuses both (signed length)
    assert httpx.put(_url(client, alice, sid, 1), content=b"a" * 1000, timeout=30).status_code == 403
    assert httpx.put(_url(client, alice, sid, 2), content=b"b" * PART, timeout=30).status_code == 403
    e1 = _put(_url(client, alice, sid, 1), _mp4ish(b"a", PART))
    e2 = _put(_url(client, alice, sid, 2), b"b" * 1000)
    good = [{"partNumber": 1, "etag": e1}, {"partNumber": 2, "etag": e2}]

    def complete(parts):
        return client.post(f"/api/uploads/{sid}/complete", json={"parts": parts}, headers=alice.headers)

    _problem(complete([good[0], {"partNumber": 2, "etag": "0" * 32}]), 422, "PART_MISMATCH")
    missing = _problem(complete([good[0]]), 422, "PART_MISSING")
    assert missing["missingParts"] == [2]
    _problem(complete([*good, {"partNumber": 3, "etag": e2}]), 422, "PART_OUT_OF_RANGE")
    _problem(complete([{"partNumber": 0, "etag": e1}, *good]), 422, "PART_OUT_OF_RANGE")
    dup = _problem(complete([*good, good[1]]), 422, "PART_MISMATCH")
    assert dup["duplicateParts"] == [2]
    _problem(complete([]), 422, "VALIDATION_ERROR")
    for n in (0, 3):
        body = _problem(
            client.post(f"/api/uploads/{sid}/parts", json={"partNumber": n}, headers=alice.headers),
            422,
            "PART_OUT_OF_RANGE",
        )
        assert body["totalParts"] == 2
    _problem(
        client.post(f"/api/uploads/{sid}/parts", json={"partNumbers": [1, 3]}, headers=alice.headers),
        422,
        "PART_OUT_OF_RANGE",
    )
    _problem(
        client.post(
            f"/api/uploads/{sid}/parts", json={"partNumber": 1, "partNumbers": [1]}, headers=alice.headers
        ),
        422,
        "VALIDATION_ERROR",
    )
    assert _get(client, alice, sid)["status"] == "IN_PROGRESS"
    assert complete(good).json()["status"] == "COMPLETED"


def test_part_missing_in_storage(upload, alice, platform_settings):
    client, _, _ = upload
    vid = _video(platform_settings, alice, PART + 10)
    sid = _open(client, alice, vid)["uploadSessionId"]
    e1 = _put(_url(client, alice, sid, 1), b"x" * PART)
    _url(client, alice, sid, 2)  # URL fetched, never PUT
    body = _problem(
        client.post(
            f"/api/uploads/{sid}/complete",
            json={"parts": [{"partNumber": 1, "etag": e1}, {"partNumber": 2, "etag": e1}]},
            headers=alice.headers,
        ),
        422,
        "PART_MISSING",
    )
    assert body["missingParts"] == [2]


def test_declared_source_must_match_the_video(upload, alice, platform_settings):
    client, _, _ = upload
    vid = _video(platform_settings, alice, 1000)
    _problem(
        client.post(f"/api/videos/{vid}/uploads", json={"sourceSizeBytes": 999}, headers=alice.headers),
        422,
        "DECLARED_MISMATCH",
    )
    _problem(
        client.post(f"/api/videos/{vid}/uploads", json={"sourceMime": "video/webm"}, headers=alice.headers),
        422,
        "DECLARED_MISMATCH",
    )
    _problem(
        client.post(f"/api/videos/{vid}/uploads", json={"sourceSizeBytes": 0}, headers=alice.headers),
        422,
        "VALIDATION_ERROR",
    )
    assert (
        _open(client, alice, vid, sourceMime="Video/MP4; codecs=avc1", sourceSizeBytes=1000)["status"]
        == "INITIATED"
    )


# --- pause / resume / cancel and forbidden transitions -------------------------------------------


def test_cancel_aborts_the_multipart_upload_and_publishes_upload_failed(upload, alice, platform_settings):
    client, cap, s3 = upload
    vid = _video(platform_settings, alice, 2000)
    sid = _open(client, alice, vid)["uploadSessionId"]
    upload_id = _provider_upload_id(client, sid)
    assert upload_id in _open_uploads(s3, platform_settings.uploads_bucket)
    # an INITIATED session cannot be canceled (docs/api.md "Upload session status" has no INITIATED -> CANCELED)
    _problem(
        client.post(f"/api/uploads/{sid}/cancel", headers=alice.headers), 409, "ILLEGAL_SESSION_TRANSITION"
    )
    etag = _put(_url(client, alice, sid, 1), b"z" * 2000)
    r = client.post(f"/api/uploads/{sid}/cancel", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("uploadSessionId", "status")} == {
        "uploadSessionId": sid,
        "status": "CANCELED",
    }
    assert upload_id not in _open_uploads(s3, platform_settings.uploads_bucket)
    failed = _events(cap, "upload_failed", vid)[0]["data"]
    assert failed == {"videoId": vid, "uploadSessionId": sid, "reason": "CANCELED"}
    state = _get(client, alice, sid)
    assert state["status"] == "CANCELED" and state["failReason"] == "CANCELED"
    # a canceled session never comes back
    _problem(
        client.post(
            f"/api/uploads/{sid}/complete",
            json={"parts": [{"partNumber": 1, "etag": etag}]},
            headers=alice.headers,
        ),
        409,
        "SESSION_CANCELED",
    )
    _problem(client.post(f"/api/uploads/{sid}/resume", headers=alice.headers), 409, "SESSION_CANCELED")
    _problem(
        client.post(f"/api/uploads/{sid}/parts", json={"partNumber": 1}, headers=alice.headers),
        409,
        "SESSION_CANCELED",
    )
    _problem(client.post(f"/api/uploads/{sid}/cancel", headers=alice.headers), 409, "SESSION_CANCELED")
    # ... but the video can be uploaded in a new session
    assert _open(client, alice, vid)["uploadSessionId"] != sid


def test_pause_blocks_part_urls_until_resume(upload, alice, platform_settings):
    client, _, _ = upload
    vid = _video(platform_settings, alice, PART + 10)
    sid = _open(client, alice, vid)["uploadSessionId"]
    _problem(
        client.post(f"/api/uploads/{sid}/pause", headers=alice.headers), 409, "ILLEGAL_SESSION_TRANSITION"
    )
    _problem(
        client.post(f"/api/uploads/{sid}/resume", headers=alice.headers), 409, "ILLEGAL_SESSION_TRANSITION"
    )
    _problem(
        client.post(
            f"/api/uploads/{sid}/complete",
            json={"parts": [{"partNumber": 1, "etag": "x"}]},
            headers=alice.headers,
        ),
        409,
        "ILLEGAL_SESSION_TRANSITION",
    )
    e1 = _put(_url(client, alice, sid, 1), _mp4ish(b"p", PART))
    r = client.post(f"/api/uploads/{sid}/pause", headers=alice.headers)
    assert r.status_code == 200 and r.json()["status"] == "PAUSED"
    _problem(
        client.post(f"/api/uploads/{sid}/pause", headers=alice.headers), 409, "ILLEGAL_SESSION_TRANSITION"
    )
    _problem(
        client.post(f"/api/uploads/{sid}/parts", json={"partNumber": 2}, headers=alice.headers),
        409,
        "SESSION_PAUSED",
    )
    _problem(
        client.post(
            f"/api/uploads/{sid}/complete",
            json={"parts": [{"partNumber": 1, "etag": e1}]},
            headers=alice.headers,
        ),
        409,
        "ILLEGAL_SESSION_TRANSITION",
    )
    paused = _get(client, alice, sid)  # the stored part survives the pause
    assert paused["status"] == "PAUSED" and [p["partNumber"] for p in paused["parts"]] == [1]
    r = client.post(f"/api/uploads/{sid}/resume", headers=alice.headers)
    assert r.status_code == 200 and {k: r.json()[k] for k in ("uploadSessionId", "status")} == {
        "uploadSessionId": sid,
        "status": "IN_PROGRESS",
    }
    e2 = _put(_url(client, alice, sid, 2), b"q" * 10)
    parts = [{"partNumber": 1, "etag": e1}, {"partNumber": 2, "etag": e2}]
    assert (
        client.post(f"/api/uploads/{sid}/complete", json={"parts": parts}, headers=alice.headers).json()[
            "status"
        ]
        == "COMPLETED"
    )
    # COMPLETED never resumes, pauses, cancels or hands out part URLs
    for action in ("resume", "pause", "cancel"):
        _problem(client.post(f"/api/uploads/{sid}/{action}", headers=alice.headers), 409, "SESSION_COMPLETED")
    _problem(
        client.post(f"/api/uploads/{sid}/parts", json={"partNumber": 1}, headers=alice.headers),
        409,
        "SESSION_COMPLETED",
    )


def test_cancel_while_paused(upload, alice, platform_settings):
    client, _, s3 = upload
    vid = _video(platform_settings, alice, 10)
    sid = _open(client, alice, vid)["uploadSessionId"]
    _url(client, alice, sid, 1)
    assert client.post(f"/api/uploads/{sid}/pause", headers=alice.headers).json()["status"] == "PAUSED"
    assert client.post(f"/api/uploads/{sid}/cancel", headers=alice.headers).json()["status"] == "CANCELED"
    assert _provider_upload_id(client, sid) not in _open_uploads(s3, platform_settings.uploads_bucket)


def test_one_open_session_per_video(upload, alice, platform_settings):
    client, _, _ = upload
    vid = _video(platform_settings, alice, 10)
    sid = _open(client, alice, vid)["uploadSessionId"]
    body = _problem(
        client.post(f"/api/videos/{vid}/uploads", headers=alice.headers), 409, "UPLOAD_SESSION_EXISTS"
    )
    assert body["uploadSessionId"] == sid
    _url(client, alice, sid, 1)
    _problem(client.post(f"/api/videos/{vid}/uploads", headers=alice.headers), 409, "UPLOAD_SESSION_EXISTS")


# --- who may see what ----------------------------------------------------------------------------


def test_other_users_get_404_everywhere_and_anonymous_401(upload, alice, bob, platform_settings):
    client, _, _ = upload
    vid = _video(platform_settings, alice, 10)
    _problem(client.post(f"/api/videos/{vid}/uploads", headers=bob.headers), 404, "VIDEO_NOT_FOUND")
    sid = _open(client, alice, vid)["uploadSessionId"]
    etag = _put(_url(client, alice, sid, 1), b"0123456789")
    calls = [
        ("get", f"/api/uploads/{sid}", None),
        ("post", f"/api/uploads/{sid}/parts", {"partNumber": 1}),
        ("post", f"/api/uploads/{sid}/complete", {"parts": [{"partNumber": 1, "etag": etag}]}),
        ("post", f"/api/uploads/{sid}/pause", None),
        ("post", f"/api/uploads/{sid}/resume", None),
        ("post", f"/api/uploads/{sid}/cancel", None),
    ]
    for method, path, body in calls:
        kwargs = {"json": body} if body is not None else {}
        _problem(getattr(client, method)(path, headers=bob.headers, **kwargs), 404, "UPLOAD_NOT_FOUND")
        _problem(getattr(client, method)(path, **kwargs), 401, "UNAUTHENTICATED")
        _problem(
            getattr(client, method)(path, headers={"Authorization": "Bearer not-a-jwt"}, **kwargs),
            401,
            "UNAUTHENTICATED",
        )
    _problem(client.get(f"/api/uploads/{uuid.uuid4()}", headers=alice.headers), 404, "UPLOAD_NOT_FOUND")
    _problem(client.post(f"/api/videos/{vid}/uploads"), 401, "UNAUTHENTICATED")
    _problem(client.get("/api/uploads/not-a-uuid", headers=alice.headers), 422, "VALIDATION_ERROR")
    # bob touched nothing
    state = _get(client, alice, sid)
    assert state["status"] == "IN_PROGRESS" and state["parts"][0]["etag"] == etag


def test_unknown_video_is_404_after_the_projection_wait(upload, alice, monkeypatch):
    client, _, _ = upload
    monkeypatch.setattr(routes, "PROJECTION_WAIT_SECONDS", 1.0)
    t0 = time.monotonic()
    _problem(
        client.post(f"/api/videos/{uuid.uuid4()}/uploads", headers=alice.headers), 404, "VIDEO_NOT_FOUND"
    )
    assert 1.0 <= time.monotonic() - t0 < 5


# --- video.deleted --------------------------------------------------------------------------------


def test_video_deleted_aborts_open_uploads_and_deletes_completed_sources(upload, alice, platform_settings):
    client, cap, s3 = upload
    bucket = platform_settings.uploads_bucket
    # an open session with a stored part
    open_vid = _video(platform_settings, alice, PART + 10)
    open_sid = _open(client, alice, open_vid)["uploadSessionId"]
    _put(_url(client, alice, open_sid, 1), b"o" * PART)
    open_upload = _provider_upload_id(client, open_sid)
    # a completed upload
    done_vid = _video(platform_settings, alice, 100)
    done_sid = _open(client, alice, done_vid)["uploadSessionId"]
    etag = _put(_url(client, alice, done_sid, 1), _mp4ish(b"d", 100))
    assert (
        client.post(
            f"/api/uploads/{done_sid}/complete",
            json={"parts": [{"partNumber": 1, "etag": etag}]},
            headers=alice.headers,
        ).status_code
        == 200
    )
    key = _events(cap, "uploaded", done_vid)[0]["data"]["sourceFileKey"]
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == 100

    # a session opened but not started yet
    new_vid = _video(platform_settings, alice, 100)
    new_sid = _open(client, alice, new_vid)["uploadSessionId"]
    new_upload = _provider_upload_id(client, new_sid)

    for vid in (open_vid, done_vid, new_vid):
        publish_event(platform_settings, VideoDeletedV1(video_id=uuid.UUID(vid), owner_id=alice.id))

    wait_until(lambda: _get(client, alice, open_sid)["status"] == "CANCELED", message="open session canceled")
    assert _get(client, alice, open_sid)["failReason"] == "VIDEO_DELETED"
    assert open_upload not in _open_uploads(s3, bucket)
    wait_until(
        lambda: (
            key not in {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])}
        ),
        message="source deleted",
    )
    wait_until(
        lambda: _get(client, alice, new_sid)["status"] == "CANCELED", message="initiated session canceled"
    )
    assert new_upload not in _open_uploads(s3, bucket)
    # a deleted video takes no new session
    _problem(client.post(f"/api/videos/{open_vid}/uploads", headers=alice.headers), 404, "VIDEO_NOT_FOUND")
    _problem(client.post(f"/api/videos/{done_vid}/uploads", headers=alice.headers), 404, "VIDEO_NOT_FOUND")


# --- S3 lost the multipart upload -----------------------------------------------------------------


def test_upload_removed_by_storage_fails_the_session_instead_of_500(upload, alice, platform_settings):
    """The bucket's AbortIncompleteMultipartUpload rule (7 days) removes a stale upload; simulated by
    aborting it directly in S3."""
    client, cap, s3 = upload
    bucket = platform_settings.uploads_bucket
    vid = _video(platform_settings, alice, PART + 10)
    sid = _open(client, alice, vid)["uploadSessionId"]
    e1 = _put(_url(client, alice, sid, 1), b"s" * PART)
    e2 = _put(_url(client, alice, sid, 2), b"t" * 10)
    s3.abort_multipart_upload(
        Bucket=bucket, Key=f"sources/{vid}/{sid}", UploadId=_provider_upload_id(client, sid)
    )
    parts = [{"partNumber": 1, "etag": e1}, {"partNumber": 2, "etag": e2}]
    body = _problem(
        client.post(f"/api/uploads/{sid}/complete", json={"parts": parts}, headers=alice.headers),
        409,
        "SESSION_FAILED",
    )
    assert body["failReason"] == "UPLOAD_GONE"
    state = _get(client, alice, sid)
    assert state["status"] == "FAILED" and state["failReason"] == "UPLOAD_GONE"
    assert _events(cap, "upload_failed", vid)[0]["data"]["reason"] == "UPLOAD_GONE"
    _problem(client.post(f"/api/uploads/{sid}/resume", headers=alice.headers), 409, "SESSION_FAILED")
    # a FAILED session is replaced by a new one (docs/api.md "Upload session status")
    assert _open(client, alice, vid)["status"] == "INITIATED"

    # noticed by GET as well
    vid2 = _video(platform_settings, alice, 10)
    sid2 = _open(client, alice, vid2)["uploadSessionId"]
    _url(client, alice, sid2, 1)
    s3.abort_multipart_upload(
        Bucket=bucket, Key=f"sources/{vid2}/{sid2}", UploadId=_provider_upload_id(client, sid2)
    )
    r = client.get(f"/api/uploads/{sid2}", headers=alice.headers)
    assert r.status_code == 200 and r.json()["status"] == "FAILED" and r.json()["parts"] == []


def test_complete_that_reached_s3_but_not_the_database_is_finished_on_retry(upload, alice, platform_settings):
    """S3 completed the object, then the service died before its commit: the retried complete finishes."""
    client, cap, s3 = upload
    bucket = platform_settings.uploads_bucket
    vid = _video(platform_settings, alice, 1234)
    sid = _open(client, alice, vid)["uploadSessionId"]
    etag = _put(_url(client, alice, sid, 1), _mp4ish(b"c", 1234))
    key = f"sources/{vid}/{sid}"
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=_provider_upload_id(client, sid),
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": f'"{etag}"'}]},
    )
    r = client.post(
        f"/api/uploads/{sid}/complete",
        json={"parts": [{"partNumber": 1, "etag": etag}]},
        headers=alice.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "COMPLETED", r.text
    ev = _events(cap, "uploaded", vid)[0]["data"]
    assert ev["sourceSizeBytes"] == 1234 and ev["checksum"] == s3.head_object(Bucket=bucket, Key=key)[
        "ETag"
    ].strip('"')


def test_video_deleted_before_its_created_event_stays_deleted(upload, alice, platform_settings):
    """Out of order (video.created retried after video.deleted went through): the video must not come
    back, so no upload session can be opened for it."""
    from sqlalchemy import text

    client, _cap, _s3 = upload
    vid = uuid.uuid4()
    publish_event(platform_settings, VideoDeletedV1(video_id=vid, owner_id=alice.id))
    created = publish_event(
        platform_settings,
        VideoCreatedV1(video_id=vid, owner_id=alice.id, title="Late", source_mime="video/mp4", source_size_bytes=100),
    )

    def handled() -> bool:
        async def _read() -> bool:
            async with client.app.state.db.session() as s:
                row = await s.execute(text("SELECT 1 FROM inbox WHERE event_id = :id"), {"id": created})
                return row.first() is not None

        return client.portal.call(_read)

    wait_until(handled, message="video.created handled")
    _problem(client.post(f"/api/videos/{vid}/uploads", headers=alice.headers), 404, "VIDEO_NOT_FOUND")


# --- only video goes in (issue 10 item 4; docs/security.md) ---------------------------------------------

HLS_ATTACK = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:/var/lib/reelhouse/jobs/secret-recording.ts\n#EXT-X-ENDLIST\n"


@pytest.mark.parametrize(
    ("content", "detected"),
    [
        (HLS_ATTACK, "HLS playlist"),
        (b"ffconcat version 1.0\nfile '/etc/passwd'\n", "ffconcat list"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 600, "PNG image"),
        (b"these are meeting notes, not a video\n" * 30, "text"),
    ],
)
def test_complete_refuses_what_is_not_one_of_the_five_containers(upload, alice, platform_settings, content, detected):
    """The reported attack: a text playlist declared as video/mp4. complete answers 422 UNSUPPORTED_FORMAT,
    the session is FAILED, the object is gone and video.upload_failed (not video.uploaded) is published."""
    client, cap, s3 = upload
    vid = _video(platform_settings, alice, len(content))
    sid = _open(client, alice, vid)["uploadSessionId"]
    etag = _put(_url(client, alice, sid, 1), content)
    complete = {"parts": [{"partNumber": 1, "etag": etag}]}
    body = _problem(client.post(f"/api/uploads/{sid}/complete", json=complete, headers=alice.headers), 422, "UNSUPPORTED_FORMAT")
    assert detected in body["detected"]
    assert body["sessionStatus"] == "FAILED"
    assert _get(client, alice, sid)["status"] == "FAILED"
    failed = _events(cap, "upload_failed", vid)[0]["data"]
    assert failed["reason"] == "UNSUPPORTED_FORMAT"
    listed = s3.list_objects_v2(Bucket=platform_settings.uploads_bucket, Prefix=f"sources/{vid}/")
    assert listed.get("KeyCount", 0) == 0
    # a retried complete cannot turn it into an upload
    _problem(client.post(f"/api/uploads/{sid}/complete", json=complete, headers=alice.headers), 409, "SESSION_FAILED")
    time.sleep(0.5)
    assert not [e for e in cap.drain() if e["type"] == "reelhouse.video.uploaded.v1" and e["data"]["videoId"] == vid]


def _sigv4_query_signature_valid(url: str, method: str, headers: dict[str, str], secret: str) -> bool:
    """What S3 checks on a presigned (SigV4 query) request: recompute the signature from the request as
    sent (method, path, query, the signed headers' values) and compare it with ``X-Amz-Signature``."""
    import hashlib
    import hmac
    from urllib.parse import parse_qsl, quote, urlsplit

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = query.pop("X-Amz-Signature")
    signed = query["X-Amz-SignedHeaders"].split(";")
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    canonical = "\n".join(
        [
            method,
            parts.path,
            "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())),
            "".join(f"{h}:{lower[h]}\n" for h in signed),
            ";".join(signed),
            "UNSIGNED-PAYLOAD",
        ]
    )
    date, region, service, _ = query["X-Amz-Credential"].split("/")[1:]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", query["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature)


def test_part_url_signs_the_planned_part_length(upload, alice, platform_settings):
    """Issue 10 item 7: a part URL signs Content-Length = the part's planned size, so storage refuses a
    PUT of another length and a client cannot store more than planned. The local S3 server (moto) does
    not verify signatures, so the test checks the URL's signed headers and verifies the signature the
    way S3 does: it holds for the planned length only."""
    client, _, _ = upload
    size = 2 * PART + 1234
    vid = _video(platform_settings, alice, size)
    sid = _open(client, alice, vid)["uploadSessionId"]
    r = client.post(f"/api/uploads/{sid}/parts", json={"partNumbers": [1, 3]}, headers=alice.headers)
    assert r.status_code == 200, r.text
    for part in r.json()["parts"]:
        url, planned = part["uploadUrl"], part["sizeBytes"]
        assert planned == (PART if part["partNumber"] == 1 else 1234)
        query = dict(httpx.URL(url).params)
        assert "content-length" in query["X-Amz-SignedHeaders"].split(";")
        host = httpx.URL(url).netloc.decode()
        secret = platform_settings.s3_secret_key
        assert _sigv4_query_signature_valid(url, "PUT", {"host": host, "content-length": str(planned)}, secret)
        for other in (planned + 1, planned - 1, 50 * PART):
            assert not _sigv4_query_signature_valid(url, "PUT", {"host": host, "content-length": str(other)}, secret)
    # the planned length still stores the part
    last = r.json()["parts"][1]
    assert _put(last["uploadUrl"], b"z" * 1234)
