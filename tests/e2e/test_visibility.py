"""e2e: making a video private stops playback by others (issue 10 item 5; docs/security.md).

Before: after PATCH visibility public -> private another user got 404 from the gallery but still a signed
stream URL from ``/api/videos/{id}/playback`` (no event told the streaming service). Now the gallery
publishes ``video.updated`` and streaming's playback projection follows it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from reelhouse.client import ApiError
from reelhouse.testing import footage_dir

pytestmark = pytest.mark.e2e

CLIP = footage_dir() / "carphone_pristine.mp4"


def _playback_status(client, video_id: str) -> int:
    try:
        client.playback(video_id)
    except ApiError as err:
        return err.status
    return 200


def test_a_video_made_private_is_refused_to_others_by_the_playback_endpoint(make_client):
    alice, bob = make_client("e2e-alice"), make_client("e2e-bob")
    video = alice.create_video("public, then private", CLIP, visibility="public")
    alice.upload_file(video["id"], CLIP)
    assert alice.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=120)["status"] == "READY"
    granted = bob.playback(video["id"])  # public: another user gets signed URLs
    assert httpx.get(granted["streamUrl"], timeout=10).status_code == 200
    # a URL lives at most the VOD lifetime (15 min): the bound on how long a URL issued before the video
    # was made private or deleted keeps playing it, edge cache included
    expires = datetime.fromisoformat(granted["expiresAt"].replace("Z", "+00:00"))
    assert expires <= datetime.now(UTC) + timedelta(seconds=905)

    alice.request("PATCH", f"/api/videos/{video['id']}", json={"visibility": "private"})
    changed = time.monotonic()
    while _playback_status(bob, video["id"]) != 404 and time.monotonic() - changed < 10:
        time.sleep(0.02)
    refused_after = time.monotonic() - changed
    print(f"\nplayback refused to another user {refused_after * 1000:.0f} ms after the PATCH")
    assert _playback_status(bob, video["id"]) == 404, f"still playable {refused_after:.1f} s after the PATCH"
    with pytest.raises(ApiError) as gallery:
        bob.get_video(video["id"])
    assert gallery.value.status == 404
    owner = alice.playback(video["id"])  # the owner still plays it
    assert httpx.get(owner["streamUrl"], timeout=10).status_code == 200
