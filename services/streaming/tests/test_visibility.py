"""Service tests: streaming's playback projection follows video.updated (issue 10 item 5; docs/security.md).
Against real PostgreSQL and RabbitMQ; events are published to the real exchange as the gallery would."""

import uuid

import pytest

from reelhouse.contracts.events import RenditionV1, TranscodeCompletedV1, VideoCreatedV1, VideoUpdatedV1
from reelhouse.testing import EventCapture, auth_headers, publish_event, running_service, wait_until
from reelhouse.streaming.main import build_service

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def streaming(platform_settings):
    with EventCapture(platform_settings, ["#"]), running_service(build_service(platform_settings)) as client:
        yield client


def _user(settings, name):
    uid = f"{name}-{uuid.uuid4().hex[:6]}"
    return uid, auth_headers(settings, uid)


def _ready(settings, vid, owner, visibility="public"):
    publish_event(settings, VideoCreatedV1(video_id=vid, owner_id=owner, title="Harbour", source_mime="video/mp4", source_size_bytes=1000, visibility=visibility))
    prefix = f"videos/{vid}/job1"
    publish_event(
        settings,
        TranscodeCompletedV1(
            video_id=vid, job_id=uuid.uuid4(), duration_seconds=5.3, width=640, height=360, master_key=f"{prefix}/master.m3u8",
            renditions=(RenditionV1(quality="360p", width=640, height=360, bandwidth=900_000, codecs="avc1.64001e", playlist_key=f"{prefix}/360p/index.m3u8"),),
        ),
    )  # fmt: skip


def _updated(vid, owner, version, visibility):
    return VideoUpdatedV1(video_id=vid, owner_id=owner, version=version, title="Harbour", visibility=visibility)


def _status(client, headers, vid) -> int:
    return client.get(f"/api/videos/{vid}/playback", headers=headers).status_code


def test_a_video_made_private_is_refused_to_others_and_still_plays_for_its_owner(streaming, platform_settings):
    (alice, alice_h), (_, bob_h) = _user(platform_settings, "alice"), _user(platform_settings, "bob")
    vid = uuid.uuid4()
    _ready(platform_settings, vid, alice, "public")
    wait_until(lambda: _status(streaming, bob_h, vid) == 200, message="public video playable by bob")
    publish_event(platform_settings, _updated(vid, alice, 2, "private"))
    wait_until(lambda: _status(streaming, bob_h, vid) == 404, message="bob refused after private")
    assert _status(streaming, alice_h, vid) == 200
    publish_event(platform_settings, _updated(vid, alice, 3, "public"))
    wait_until(lambda: _status(streaming, bob_h, vid) == 200, message="public again")


def test_an_older_update_arriving_late_does_not_undo_a_newer_one(streaming, platform_settings):
    (alice, _), (_, bob_h) = _user(platform_settings, "alice"), _user(platform_settings, "bob")
    vid = uuid.uuid4()
    _ready(platform_settings, vid, alice, "public")
    wait_until(lambda: _status(streaming, bob_h, vid) == 200, message="public video playable by bob")
    publish_event(platform_settings, _updated(vid, alice, 5, "private"))
    wait_until(lambda: _status(streaming, bob_h, vid) == 404, message="private at version 5")
    # version 4 (public) was delayed and comes after version 5: it must not make the video public again
    publish_event(platform_settings, _updated(vid, alice, 4, "public"))
    publish_event(platform_settings, _updated(vid, alice, 5, "private"))  # a repeat changes nothing either
    marker = uuid.uuid4()  # an event published after them, handled after them (one queue, in order)
    _ready(platform_settings, marker, alice, "public")
    wait_until(lambda: _status(streaming, bob_h, marker) == 200, message="later event handled")
    assert _status(streaming, bob_h, vid) == 404


def test_an_update_before_video_created_is_not_overridden_by_it(streaming, platform_settings):
    (alice, alice_h), (_, bob_h) = _user(platform_settings, "alice"), _user(platform_settings, "bob")
    vid = uuid.uuid4()
    publish_event(platform_settings, _updated(vid, alice, 2, "private"))
    _ready(platform_settings, vid, alice, "public")  # video.created (public) arrives after the update
    wait_until(lambda: _status(streaming, alice_h, vid) == 200, message="owner can play")
    assert _status(streaming, bob_h, vid) == 404
