"""Service tests: the streaming service against real PostgreSQL and RabbitMQ (its lifespan runs the
consumer and the outbox relay). video.created / transcode.completed / video.deleted are published to the
real exchange; what the service publishes (playback.viewed) is captured from it."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from reelhouse.contracts.events import RenditionV1, TranscodeCompletedV1, VideoCreatedV1, VideoDeletedV1
from reelhouse.platform.messaging.outbox import make_envelope
from reelhouse.platform.signing import HmacPathSigner
from reelhouse.testing import (
    EventCapture,
    auth_headers,
    publish_event,
    publish_raw,
    queue_depth,
    running_service,
    wait_until,
)
from reelhouse.streaming.main import build_service

pytestmark = pytest.mark.service

PLAYBACK_KEYS = {"videoId", "streamUrl", "expiresAt", "durationSeconds", "width", "height", "qualities", "posterUrl", "thumbnailUrls", "storyboardUrl"}
QUALITY_KEYS = {"quality", "width", "height", "bandwidth", "codecs", "url"}


@pytest.fixture(scope="module")
def streaming(platform_settings):
    defn = build_service(platform_settings)
    # stands in for the other services' queues: every event the service publishes is routable
    with EventCapture(platform_settings, ["#"]), running_service(defn) as client:
        yield client, defn


@pytest.fixture
def alice(platform_settings):
    uid = f"alice-{uuid.uuid4().hex[:6]}"
    return uid, auth_headers(platform_settings, uid)


@pytest.fixture
def bob(platform_settings):
    uid = f"bob-{uuid.uuid4().hex[:6]}"
    return uid, auth_headers(platform_settings, uid)


# --- helpers ---------------------------------------------------------------------------------------


def _publish(settings, payload, *, at: datetime | None = None, extra_data: dict | None = None, event_id: str | None = None) -> str:
    """Publish ``payload`` in an envelope whose ``time`` / extra data fields can be set (raw publish)."""
    env = make_envelope(payload, source="/reelhouse/tests")
    update: dict = {}
    if at is not None:
        update["time"] = at
    if extra_data:
        update["data"] = {**env.data, **extra_data}
    if event_id:
        update["id"] = event_id
    env = env.model_copy(update=update)
    publish_raw(settings, env.routing_key, env.model_dump_json().encode(), message_id=env.id)
    return env.id


def _created(vid: uuid.UUID, owner: str) -> VideoCreatedV1:
    return VideoCreatedV1(video_id=vid, owner_id=owner, title="Harbour at dusk", source_mime="video/mp4", source_size_bytes=734003200)


def _completed(vid: uuid.UUID, job: str = "job1", renditions: tuple[str, ...] = ("720p", "360p"), storyboard: bool = True) -> TranscodeCompletedV1:
    ladder = {"720p": (1280, 720, 3_000_000), "480p": (854, 480, 1_400_000), "360p": (640, 360, 900_000)}
    prefix = f"videos/{vid}/{job}"
    return TranscodeCompletedV1(
        video_id=vid,
        job_id=uuid.uuid4(),
        duration_seconds=5.3,
        width=1280,
        height=720,
        master_key=f"{prefix}/master.m3u8",
        renditions=tuple(
            RenditionV1(quality=q, width=ladder[q][0], height=ladder[q][1], bandwidth=ladder[q][2], codecs="avc1.64001f,mp4a.40.2", playlist_key=f"{prefix}/{q}/index.m3u8")
            for q in renditions
        ),
        poster_key=f"{prefix}/poster.jpg",
        thumbnail_keys=(f"{prefix}/thumbs/thumb_00001.jpg", f"{prefix}/thumbs/thumb_00002.jpg"),
        storyboard_key=f"{prefix}/storyboard/storyboard.vtt" if storyboard else None,
    )


def _get(client, headers, vid, what="playback", **params):
    return client.get(f"/api/videos/{vid}/{what}", headers=headers, params=params)


def _wait_ready(client, headers, vid, predicate=lambda body: True, **params) -> dict:
    def _ok():
        r = _get(client, headers, vid, **params)
        return r.status_code == 200 and predicate(r.json()) and r.json()

    return wait_until(_ok, message=f"playback of {vid}")


def _handled(client) -> int:
    """Deliveries the consumer has finished so far (processed, duplicates skipped, or dead-lettered)."""
    c = client.app.state.consumer
    return c.processed + c.dead_lettered


def _wait_handled(client, target: int) -> None:
    wait_until(lambda: _handled(client) >= target, message=f"{target} deliveries handled")


def _query(client, sql: str, **params) -> list[tuple]:
    async def _go():
        async with client.app.state.db.session() as s:
            return [tuple(r) for r in (await s.execute(text(sql), params)).all()]

    return client.portal.call(_go)


def _split(url: str, base: str) -> tuple[int, str, str, str]:
    """``{base}/play/{expires}/{token}/{scope}/{path}`` -> (expires, token, scope, path)."""
    assert url.startswith(base + "/play/"), url
    expires, token, kind, vid, path = url[len(base) + len("/play/"):].split("/", 4)
    return int(expires), token, f"{kind}/{vid}", path


def _assert_signed(settings, url: str, key: str, expires_at: str) -> int:
    """``url`` verifies with the playback secret, maps to object ``key`` and expires at ``expires_at``."""
    signer = HmacPathSigner(settings.edge_base_url, settings.playback_signing_secret)
    expires, token, scope, path = _split(url, settings.edge_base_url)
    assert signer.verify(scope, expires, token), url
    assert not HmacPathSigner(settings.edge_base_url, "wrong-secret").verify(scope, expires, token)
    assert f"{scope}/{path}" == key
    assert datetime.fromtimestamp(expires, tz=UTC) == datetime.fromisoformat(expires_at)
    return expires


def _ready_video(client, settings, owner: str, headers, **completed) -> tuple[uuid.UUID, TranscodeCompletedV1, dict]:
    vid = uuid.uuid4()
    publish_event(settings, _created(vid, owner))
    done = _completed(vid, **completed)
    publish_event(settings, done)
    return vid, done, _wait_ready(client, headers, vid)


# --- tests -----------------------------------------------------------------------------------------


def test_playback_urls_are_signed_and_map_to_the_transcoded_keys(streaming, alice, platform_settings):
    client, _ = streaming
    owner, headers = alice
    before = time.time()
    vid, done, body = _ready_video(client, platform_settings, owner, headers)
    assert body.keys() == PLAYBACK_KEYS
    assert body["videoId"] == str(vid)
    assert body["durationSeconds"] == 5.3 and (body["width"], body["height"]) == (1280, 720)
    expires = _assert_signed(platform_settings, body["streamUrl"], done.master_key, body["expiresAt"])
    assert before + platform_settings.playback_url_ttl_seconds - 1 <= expires <= time.time() + platform_settings.playback_url_ttl_seconds
    assert [q["quality"] for q in body["qualities"]] == ["720p", "360p"]
    for q, r in zip(body["qualities"], done.renditions, strict=True):
        assert q.keys() == QUALITY_KEYS
        assert (q["width"], q["height"], q["bandwidth"], q["codecs"]) == (r.width, r.height, r.bandwidth, r.codecs)
        assert _assert_signed(platform_settings, q["url"], r.playlist_key, body["expiresAt"]) == expires
    _assert_signed(platform_settings, body["posterUrl"], done.poster_key, body["expiresAt"])
    assert len(body["thumbnailUrls"]) == 2
    for url, key in zip(body["thumbnailUrls"], done.thumbnail_keys, strict=True):
        _assert_signed(platform_settings, url, key, body["expiresAt"])
    assert done.storyboard_key is not None
    assert _assert_signed(platform_settings, body["storyboardUrl"], done.storyboard_key, body["expiresAt"]) == expires
    # the index names its sprites relative to itself: a sibling name keeps the signed prefix
    expires_sb, token_sb, scope_sb, path_sb = _split(body["storyboardUrl"], platform_settings.edge_base_url)
    sprite = body["storyboardUrl"].rsplit("/", 1)[0] + "/sprite_001.jpg"
    assert _split(sprite, platform_settings.edge_base_url) == (expires_sb, token_sb, scope_sb, path_sb.rsplit("/", 1)[0] + "/sprite_001.jpg")

    qualities = _get(client, headers, vid, "qualities").json()
    assert qualities.keys() == {"videoId", "qualities"} and qualities["videoId"] == str(vid)
    assert [(q["quality"], q["bandwidth"]) for q in qualities["qualities"]] == [(q["quality"], q["bandwidth"]) for q in body["qualities"]]
    for q, r in zip(qualities["qualities"], done.renditions, strict=True):
        assert _split(q["url"], platform_settings.edge_base_url)[3] == r.playlist_key.removeprefix(f"videos/{vid}/")


def test_ttl_asks_for_a_shorter_expiry(streaming, alice, platform_settings):
    client, _ = streaming
    owner, headers = alice
    vid, done, _ = _ready_video(client, platform_settings, owner, headers)
    before = int(time.time())
    short = _get(client, headers, vid, ttl=120).json()
    expires = _assert_signed(platform_settings, short["streamUrl"], done.master_key, short["expiresAt"])
    assert before + 120 <= expires <= int(time.time()) + 120
    assert all(_split(q["url"], platform_settings.edge_base_url)[0] == expires for q in short["qualities"])
    q_short = _get(client, headers, vid, "qualities", ttl=60).json()["qualities"][0]["url"]
    assert _split(q_short, platform_settings.edge_base_url)[0] <= int(time.time()) + 60
    # longer than the configured lifetime: capped, never extended
    capped = _get(client, headers, vid, ttl=86_400).json()
    assert _split(capped["streamUrl"], platform_settings.edge_base_url)[0] <= int(time.time()) + platform_settings.playback_url_ttl_seconds
    for bad in (59, 86_401, "soon"):
        r = _get(client, headers, vid, ttl=bad)
        assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR"
        assert r.headers["content-type"].startswith("application/problem+json")


def test_private_video_is_404_for_others_and_auth_is_required(streaming, alice, bob, platform_settings):
    client, _ = streaming
    owner, headers = alice
    vid, _, _ = _ready_video(client, platform_settings, owner, headers)
    for what in ("playback", "qualities"):
        r = _get(client, bob[1], vid, what)
        assert r.status_code == 404 and r.json()["code"] == "VIDEO_NOT_FOUND"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert client.get(f"/api/videos/{vid}/{what}").json()["code"] == "UNAUTHENTICATED"
        assert _get(client, headers, uuid.uuid4(), what).json()["code"] == "VIDEO_NOT_FOUND"
        assert _get(client, headers, "not-a-uuid", what).status_code == 422


def test_public_video_is_playable_by_others(streaming, alice, bob, platform_settings):
    client, _ = streaming
    owner, headers = alice
    vid = uuid.uuid4()
    # VideoCreatedV1 has no visibility field yet; a producer may add it as an optional field
    _publish(platform_settings, _created(vid, owner), extra_data={"visibility": "public"})
    done = _completed(vid)
    publish_event(platform_settings, done)
    body = _wait_ready(client, bob[1], vid)
    _assert_signed(platform_settings, body["streamUrl"], done.master_key, body["expiresAt"])
    assert _get(client, bob[1], vid, "qualities").status_code == 200
    assert _get(client, headers, vid).status_code == 200


def test_video_not_transcoded_yet_is_playback_not_ready_for_the_owner_only(streaming, alice, bob, platform_settings):
    client, _ = streaming
    owner, headers = alice
    vid = uuid.uuid4()
    mark = _handled(client)
    publish_event(platform_settings, _created(vid, owner))
    _wait_handled(client, mark + 1)
    for what in ("playback", "qualities"):
        r = _get(client, headers, vid, what)
        assert r.status_code == 404 and r.json()["code"] == "PLAYBACK_NOT_READY"
        assert _get(client, bob[1], vid, what).json()["code"] == "VIDEO_NOT_FOUND"


def test_transcode_completed_before_video_created_ends_with_the_right_owner(streaming, alice, bob, platform_settings):
    client, _ = streaming
    owner, headers = alice
    vid = uuid.uuid4()
    done = _completed(vid)
    mark = _handled(client)
    publish_event(platform_settings, done)
    _wait_handled(client, mark + 1)
    assert _query(client, "SELECT owner_id, master_key FROM playback_assets WHERE video_id = :v", v=vid) == [(None, done.master_key)]
    # owner unknown: private to everybody until video.created arrives
    assert _get(client, headers, vid).json()["code"] == "VIDEO_NOT_FOUND"
    publish_event(platform_settings, _created(vid, owner))
    body = _wait_ready(client, headers, vid)
    _assert_signed(platform_settings, body["streamUrl"], done.master_key, body["expiresAt"])
    assert [q["quality"] for q in body["qualities"]] == ["720p", "360p"]
    assert _get(client, bob[1], vid).json()["code"] == "VIDEO_NOT_FOUND"
    assert _query(client, "SELECT owner_id, visibility FROM playback_assets WHERE video_id = :v", v=vid) == [(owner, "private")]


def test_deleted_video_is_404_and_late_events_do_not_revive_it(streaming, alice, platform_settings):
    client, _ = streaming
    owner, headers = alice
    vid, _, _ = _ready_video(client, platform_settings, owner, headers)
    publish_event(platform_settings, VideoDeletedV1(video_id=vid, owner_id=owner))
    wait_until(lambda: _get(client, headers, vid).json().get("code") == "VIDEO_NOT_FOUND", message="deleted")
    assert _get(client, headers, vid, "qualities").json()["code"] == "VIDEO_NOT_FOUND"
    mark = _handled(client)
    publish_event(platform_settings, _completed(vid, job="late"))
    publish_event(platform_settings, _created(vid, owner))
    _wait_handled(client, mark + 2)
    assert _get(client, headers, vid).json()["code"] == "VIDEO_NOT_FOUND"
    assert _query(client, "SELECT count(*) FROM playback_assets WHERE video_id = :v", v=vid) == [(0,)]
    assert _query(client, "SELECT count(*) FROM playback_renditions WHERE video_id = :v", v=vid) == [(0,)]


def test_duplicate_delivery_is_idempotent(streaming, alice, platform_settings):
    client, _ = streaming
    owner, headers = alice
    vid = uuid.uuid4()
    created_id, completed_id = str(uuid.uuid4()), str(uuid.uuid4())
    done = _completed(vid)
    mark = _handled(client)
    for _ in range(2):
        publish_event(platform_settings, _created(vid, owner), event_id=created_id)
        publish_event(platform_settings, done, event_id=completed_id)
    _wait_handled(client, mark + 4)
    body = _wait_ready(client, headers, vid)
    assert [q["quality"] for q in body["qualities"]] == ["720p", "360p"]
    assert _query(client, "SELECT count(*) FROM inbox WHERE event_id IN (:a, :b)", a=created_id, b=completed_id) == [(2,)]
    assert _query(client, "SELECT count(*) FROM playback_renditions WHERE video_id = :v", v=vid) == [(2,)]
    # the same result again under a new event id (a transcoder re-publish) changes nothing either
    mark = _handled(client)
    publish_event(platform_settings, done)
    _wait_handled(client, mark + 1)
    again = _get(client, headers, vid).json()
    assert [q["url"].rsplit("/", 3)[1:] for q in again["qualities"]] == [q["url"].rsplit("/", 3)[1:] for q in body["qualities"]]
    assert _query(client, "SELECT count(*) FROM playback_renditions WHERE video_id = :v", v=vid) == [(2,)]


def test_newer_transcode_replaces_the_older_and_a_stale_one_is_ignored(streaming, alice, platform_settings):
    client, _ = streaming
    owner, headers = alice
    vid = uuid.uuid4()
    t0 = datetime.now(UTC)
    publish_event(platform_settings, _created(vid, owner))
    _publish(platform_settings, _completed(vid, job="job1"), at=t0)
    _wait_ready(client, headers, vid, lambda b: "/job1/" in b["streamUrl"])
    newer = _completed(vid, job="job2", renditions=("480p",))
    _publish(platform_settings, newer, at=t0 + timedelta(seconds=30))
    body = _wait_ready(client, headers, vid, lambda b: "/job2/" in b["streamUrl"])
    assert [q["quality"] for q in body["qualities"]] == ["480p"]
    _assert_signed(platform_settings, body["qualities"][0]["url"], newer.renditions[0].playlist_key, body["expiresAt"])
    _assert_signed(platform_settings, body["posterUrl"], newer.poster_key, body["expiresAt"])
    assert all("/job2/" in u for u in body["thumbnailUrls"])
    _assert_signed(platform_settings, body["storyboardUrl"], newer.storyboard_key, body["expiresAt"])
    # a result produced before job2 that arrives late (delayed behind a retry) does not win
    mark = _handled(client)
    _publish(platform_settings, _completed(vid, job="job0"), at=t0 - timedelta(seconds=30))
    _wait_handled(client, mark + 1)
    stale = _get(client, headers, vid).json()
    assert "/job2/" in stale["streamUrl"] and [q["quality"] for q in stale["qualities"]] == ["480p"]


def test_storyboard_url_is_null_without_a_storyboard_and_a_newer_result_clears_it(streaming, alice, platform_settings):
    client, _ = streaming
    owner, headers = alice
    vid = uuid.uuid4()
    t0 = datetime.now(UTC)
    publish_event(platform_settings, _created(vid, owner))
    _publish(platform_settings, _completed(vid, job="job1"), at=t0)
    first = _wait_ready(client, headers, vid, lambda b: "/job1/" in b["streamUrl"])
    assert first["storyboardUrl"] is not None and "/job1/storyboard/" in first["storyboardUrl"]
    _publish(platform_settings, _completed(vid, job="job2", storyboard=False), at=t0 + timedelta(seconds=30))
    body = _wait_ready(client, headers, vid, lambda b: "/job2/" in b["streamUrl"])
    assert body["storyboardUrl"] is None
    assert _query(client, "SELECT storyboard_key FROM playback_assets WHERE video_id = :v", v=vid) == [(None,)]


def test_storyboard_key_outside_the_video_is_dead_lettered(streaming, alice, platform_settings):
    client, defn = streaming
    owner, headers = alice
    vid = uuid.uuid4()
    publish_event(platform_settings, _created(vid, owner))
    bad = _completed(vid).model_copy(update={"storyboard_key": f"videos/{uuid.uuid4()}/job1/storyboard/storyboard.vtt"})
    before = queue_depth(platform_settings, defn.queues.dlq)
    publish_event(platform_settings, bad)
    wait_until(lambda: queue_depth(platform_settings, defn.queues.dlq) >= before + 1, message="dead-lettered")
    assert _get(client, headers, vid).json()["code"] == "PLAYBACK_NOT_READY"


def test_unplayable_keys_are_dead_lettered_not_stored(streaming, alice, platform_settings):
    client, defn = streaming
    owner, headers = alice
    vid = uuid.uuid4()
    publish_event(platform_settings, _created(vid, owner))
    bad = _completed(vid).model_copy(update={"master_key": f"videos/{uuid.uuid4()}/job1/master.m3u8"})
    before = queue_depth(platform_settings, defn.queues.dlq)
    publish_event(platform_settings, bad)
    wait_until(lambda: queue_depth(platform_settings, defn.queues.dlq) >= before + 1, message="dead-lettered")
    assert _get(client, headers, vid).json()["code"] == "PLAYBACK_NOT_READY"


def test_each_playback_get_publishes_one_playback_viewed(streaming, alice, bob, platform_settings):
    client, _ = streaming
    owner, headers = alice
    vid, _, _ = _ready_video(client, platform_settings, owner, headers)
    with EventCapture(platform_settings, ["playback.viewed.v1"]) as cap:
        assert _get(client, headers, vid).status_code == 200
        assert _get(client, headers, vid, ttl=300).status_code == 200
        assert _get(client, headers, vid, "qualities").status_code == 200  # not a view
        assert _get(client, bob[1], vid).status_code == 404  # not a view
        assert _get(client, headers, vid).status_code == 200
        events = cap.wait_for(lambda e: e["data"]["videoId"] == str(vid), count=3)
        time.sleep(0.5)
        events = [e for e in cap.drain() if e["data"]["videoId"] == str(vid)]
    assert len(events) == 3
    for ev in events:
        assert ev["type"] == "reelhouse.playback.viewed.v1" and ev["source"] == "/reelhouse/streaming"
        assert ev["subject"] == str(vid) and ev["data"]["viewerId"] == owner
        assert abs(datetime.fromisoformat(ev["data"]["at"]) - datetime.now(UTC)) < timedelta(minutes=1)


def test_health_ready_metrics(streaming):
    client, defn = streaming
    assert client.get("/healthz").json() == {"status": "ok", "service": "streaming"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert "python_info" in client.get("/metrics/").text
    assert set(defn.handlers) == {"reelhouse.video.created.v1", "reelhouse.transcode.completed.v1", "reelhouse.video.deleted.v1", "reelhouse.video.updated.v1",
                                  "reelhouse.chat.presence.v1"}
    assert set(defn.publishes) == {"reelhouse.playback.viewed.v1", "reelhouse.stream.started.v1", "reelhouse.stream.ended.v1",
                                   "reelhouse.stream.recorded.v1"}
