"""e2e: the main job through the edge on the running stack, with real footage, real ffmpeg, real
RabbitMQ, PostgreSQL, S3 server and nginx: upload in parts with an interrupted part resumed from
``GET /api/uploads/{id}`` -> READY -> every rendition of the ladder plays under the signed URL."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import m3u8
import pytest

from reelhouse.client import ApiError, check_playback
from reelhouse.contracts.events import VideoUploadedV1
from reelhouse.platform.signing import HmacPathSigner
from reelhouse.testing import footage_dir, publish_event, publish_raw, queue_depth, wait_until

pytestmark = pytest.mark.e2e

MEDIA = footage_dir()


def _tamper(url: str) -> str:
    parts = url.split("/")
    i = parts.index("play") + 2
    tok = parts[i]
    parts[i] = tok[:5] + ("x" if tok[5] != "x" else "y") + tok[6:]
    return "/".join(parts)


@pytest.fixture(scope="module")
def ready_video(make_client, big_clip):
    """The 12+ MB clip uploaded in 3+ parts, part 2 interrupted and resumed, transcoded to READY."""
    client = make_client("e2e-alice")
    video = client.create_video("Big Buck Bunny, looped", big_clip)
    result = client.upload_file(video["id"], big_clip, interrupt_part=2)
    final = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=240)
    return client, video, result, final


def test_large_upload_in_parts_with_resume_becomes_ready(ready_video, big_clip, db_query):
    client, video, result, final = ready_video
    assert final["status"] == "READY", final
    assert len(result.parts) >= 3 and result.retried_parts == [2]
    assert result.final["status"] == "COMPLETED"
    session = client.get_upload(result.session_id)
    assert session["bytesUploaded"] == big_clip.stat().st_size
    assert final["playback"]["ready"] is True and "/play/" in final["playback"]["streamUrl"]
    assert (final["width"], final["height"]) == (1280, 720)
    rows = db_query("gallery", "SELECT type, quality_label, width, height FROM video_assets WHERE video_id = %s", (uuid.UUID(video["id"]),))
    types = {r[0] for r in rows}
    assert {"HLS_MASTER", "HLS_RENDITION", "POSTER", "THUMBNAIL"} <= types
    assert sorted(r[1] for r in rows if r[0] == "HLS_RENDITION") == ["360p", "480p", "720p"]


def test_every_rendition_plays_through_the_edge(ready_video):
    _, _, _, final = ready_video
    checks = check_playback(final["playback"]["streamUrl"])
    assert sorted((c.width, c.height) for c in checks) == [(640, 360), (854, 480), (1280, 720)]
    for c in checks:
        assert c.codec == "h264" and c.decoded_frames > 0 and c.segments >= 3
        assert (c.width, c.height) == c.resolution


def test_keyframes_are_aligned_across_the_ladder(ready_video):
    _, _, _, final = ready_video
    url = final["playback"]["streamUrl"]
    master = m3u8.loads(httpx.get(url).text, uri=url)
    durations = []
    for v in master.playlists:
        media = m3u8.loads(httpx.get(httpx.URL(url).join(v.uri)).text)
        durations.append([round(s.duration, 2) for s in media.segments])
    assert all(d == durations[0] for d in durations), durations


def test_signature_is_checked_at_the_edge(ready_video, e2e_settings):
    client, video, _, final = ready_video
    url = final["playback"]["streamUrl"]
    assert httpx.get(url).status_code == 200
    tampered = httpx.get(_tamper(url))
    assert tampered.status_code == 403 and tampered.json()["code"] == "PLAYBACK_SIGNATURE_INVALID"
    scope = f"videos/{video['id']}"
    path = url.split(scope + "/", 1)[1]
    expired = HmacPathSigner(e2e_settings.edge_base_url, e2e_settings.playback_signing_secret).sign(scope, path, 60, now=time.time() - 3600)
    r = httpx.get(expired.url)
    assert r.status_code == 403 and r.json()["code"] == "PLAYBACK_URL_EXPIRED"
    other = f"videos/{uuid.uuid4()}"
    assert httpx.get(url.replace(scope, other)).status_code == 403


def test_streaming_playback_endpoint_signs_every_rendition_and_the_poster(ready_video, make_client):
    client, video, _, _ = ready_video
    pb = client.playback(video["id"])
    assert len(pb["qualities"]) == 3
    for q in pb["qualities"]:
        assert httpx.get(q["url"]).status_code == 200
    poster = httpx.get(pb["posterUrl"])
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg" and len(poster.content) > 1000
    with pytest.raises(ApiError) as err:
        make_client("e2e-mallory").playback(video["id"])
    assert err.value.status == 404


def test_duplicate_video_uploaded_does_not_transcode_twice(ready_video, e2e_settings, db_query, make_client, media_dir):
    client, video, result, _ = ready_video
    vid = uuid.UUID(video["id"])
    before = db_query("transcoder", "SELECT count(*) FROM transcode_jobs WHERE video_id = %s", (vid,))[0][0]
    key = db_query("upload", "SELECT object_key, checksum, bytes_uploaded FROM upload_sessions WHERE id = %s", (uuid.UUID(result.session_id),))[0]
    publish_event(e2e_settings, VideoUploadedV1(video_id=vid, owner_id="e2e-alice", upload_session_id=uuid.UUID(result.session_id), bucket=e2e_settings.uploads_bucket, source_file_key=key[0], source_size_bytes=key[2], source_mime="video/mp4", checksum=key[1]))
    # a later, unrelated upload completes: the duplicate (queued before it) has been handled by then
    small = make_client("e2e-carol")
    v2 = small.create_video("carphone", MEDIA / "carphone_pristine.mp4")
    small.upload_file(v2["id"], MEDIA / "carphone_pristine.mp4")
    assert small.wait_for_status(v2["id"], {"READY", "FAILED"}, timeout=120)["status"] == "READY"
    time.sleep(1)
    assert db_query("transcoder", "SELECT count(*) FROM transcode_jobs WHERE video_id = %s", (vid,))[0][0] == before == 1
    assert client.get_video(video["id"])["status"] == "READY"


def test_a_file_named_mp4_that_is_not_video_fails_with_a_reason(make_client, media_dir):
    client = make_client("e2e-bob")
    fake = media_dir / "notes.mp4"
    fake.write_bytes(b"these are meeting notes, not a video\n" * 2000)
    v = client.create_video("not a video", fake)
    with pytest.raises(ApiError) as refused:  # its first bytes are none of the five containers
        client.upload_file(v["id"], fake)
    assert refused.value.status == 422 and refused.value.code == "UNSUPPORTED_FORMAT"
    failed = client.wait_for_status(v["id"], {"READY", "FAILED"}, timeout=60)
    assert failed["status"] == "FAILED"
    assert failed["failReason"] == "UPLOAD_UNSUPPORTED_FORMAT"
    assert failed["playback"]["streamUrl"] is None
    with pytest.raises(ApiError) as err:
        client.playback(v["id"])
    assert err.value.status == 404


def test_a_truncated_video_fails_as_corrupt(make_client, media_dir):
    client = make_client("e2e-bob")
    data = (MEDIA / "bigbuckbunny.mp4").read_bytes()
    cut = media_dir / "truncated.mp4"
    cut.write_bytes(data[: len(data) * 4 // 10])
    v = client.create_video("truncated", cut)
    client.upload_file(v["id"], cut)
    failed = client.wait_for_status(v["id"], {"READY", "FAILED"}, timeout=90)
    assert failed["status"] == "FAILED" and failed["failReason"] == "CORRUPT_SOURCE", failed
    assert failed["playback"]["streamUrl"] is None


def test_video_without_audio_plays(make_client):
    client = make_client("e2e-dave")
    v = client.create_video("bikes", MEDIA / "bikes.mp4")
    client.upload_file(v["id"], MEDIA / "bikes.mp4")
    ready = client.wait_for_status(v["id"], {"READY", "FAILED"}, timeout=120)
    assert ready["status"] == "READY", ready
    checks = check_playback(ready["playback"]["streamUrl"])
    assert [(c.width, c.height) for c in checks] == [(640, 272)]


def test_malformed_event_is_dead_lettered_and_workers_keep_going(stack, e2e_settings, make_client):
    dlq = f"{e2e_settings.queue_prefix}transcoder.dlq"
    before = queue_depth(e2e_settings, dlq)
    publish_raw(e2e_settings, "video.uploaded.v1", b"\x00\x01 definitely not json")
    publish_raw(e2e_settings, "video.uploaded.v1", json.dumps({"specversion": "1.0", "id": "1", "source": "x", "type": "reelhouse.video.uploaded.v1", "data": {"videoId": 42}}).encode())
    wait_until(lambda: queue_depth(e2e_settings, dlq) >= before + 2, timeout=30, message="DLQ depth")
    client = make_client("e2e-erin")
    v = client.create_video("after poison", MEDIA / "carphone_pristine.mp4")
    client.upload_file(v["id"], MEDIA / "carphone_pristine.mp4")
    assert client.wait_for_status(v["id"], {"READY", "FAILED"}, timeout=120)["status"] == "READY"


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"title": "x", "sourceMime": "video/webm", "sourceSizeBytes": 10}, 422, "UNSUPPORTED_FORMAT"),
        ({"title": "x", "sourceMime": "video/mp4", "sourceSizeBytes": 10, "fileName": "a.mkv"}, 422, "UNSUPPORTED_FORMAT"),
        ({"title": "x", "sourceMime": "video/mp4", "sourceSizeBytes": 1_610_612_737}, 413, "FILE_TOO_LARGE"),
    ],
)
def test_bad_create_requests_get_problem_json_through_the_edge(make_client, body, status, code):
    client = make_client("e2e-frank")
    r = client.http.post("/api/videos", json=body)
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


def test_upload_bad_input_through_the_edge(make_client, media_dir):
    owner, other = make_client("e2e-gina"), make_client("e2e-hank")
    clip = MEDIA / "bikes.mp4"
    v = owner.create_video("bikes, declared too big", clip, size=clip.stat().st_size + 1000)
    with pytest.raises(ApiError) as err:
        other.create_upload(v["id"])
    assert err.value.status == 404 and err.value.code == "VIDEO_NOT_FOUND"
    session = owner.create_upload(v["id"])
    sid = session["uploadSessionId"]
    with pytest.raises(ApiError) as err:
        other.get_upload(sid)
    assert err.value.status == 404
    with pytest.raises(ApiError) as err:
        owner.part_url(sid, 99)
    assert err.value.code == "PART_OUT_OF_RANGE"
    # fewer bytes than declared: the part URL signs the planned length, so storage refuses the PUT
    with pytest.raises(ApiError) as err:
        owner.put_part(owner.part_url(sid, 1)["uploadUrl"], clip.read_bytes())
    assert err.value.status == 403
    with pytest.raises(ApiError) as err:
        owner.complete_upload(sid, {})
    assert err.value.status == 422
    assert owner.get_upload(sid)["status"] == "IN_PROGRESS"  # the session stays open for the right bytes
    etag = owner.put_part(owner.part_url(sid, 1)["uploadUrl"], clip.read_bytes() + b"\0" * 1000)
    assert [p["partNumber"] for p in owner.get_upload(sid)["parts"]] == [1]
    owner.request("POST", f"/api/uploads/{sid}/cancel")
    with pytest.raises(ApiError) as err:
        owner.complete_upload(sid, {1: etag})
    assert err.value.status == 409 and err.value.code == "SESSION_CANCELED"
