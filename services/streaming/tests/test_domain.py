"""Unit tests: playback rules and the response presenter (no I/O)."""

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from reelhouse.platform.signing import HmacPathSigner
from reelhouse.streaming.adapters.db import PlaybackAsset, PlaybackRendition
from reelhouse.streaming.domain.playback import (
    KeyOutsideScope,
    can_view,
    check_keys,
    effective_ttl,
    order_renditions,
    path_below_scope,
    scope_for,
    supersedes,
    visibility_from_created,
)
from reelhouse.streaming.http.routes import playback_out, qualities_out

pytestmark = pytest.mark.unit

VID = uuid.UUID("0b7f6c1e-2f0a-4c5e-9a51-3d7c2b8e9f10")
SCOPE = f"videos/{VID}"


def test_scope_and_path_below_scope():
    assert scope_for(VID) == SCOPE
    assert path_below_scope(SCOPE, f"{SCOPE}/job1/master.m3u8") == "job1/master.m3u8"
    assert path_below_scope(SCOPE, f"{SCOPE}/job1/720p/index.m3u8") == "job1/720p/index.m3u8"


@pytest.mark.parametrize(
    "key",
    [
        f"videos/{uuid.uuid4()}/job1/master.m3u8",  # another video's scope
        f"{SCOPE}master.m3u8",  # no separator
        f"{SCOPE}/",  # nothing below the scope
        f"{SCOPE}//master.m3u8",
        f"{SCOPE}/../x/master.m3u8",
        f"{SCOPE}/job 1/master.m3u8",
        "master.m3u8",
    ],
)
def test_keys_the_edge_cannot_serve_are_refused(key):
    with pytest.raises(KeyOutsideScope):
        path_below_scope(SCOPE, key)


def test_check_keys_names_every_bad_key():
    check_keys(VID, [f"{SCOPE}/a/master.m3u8", f"{SCOPE}/a/poster.jpg"])
    with pytest.raises(KeyOutsideScope) as info:
        check_keys(VID, [f"{SCOPE}/a/master.m3u8", "elsewhere/x.m3u8", "other/y.jpg"])
    assert "elsewhere/x.m3u8" in str(info.value) and "other/y.jpg" in str(info.value)


def test_effective_ttl_only_shortens_and_checks_bounds():
    assert effective_ttl(None, 21_600) == 21_600
    assert effective_ttl(120, 21_600) == 120
    assert effective_ttl(86_400, 21_600) == 21_600
    assert effective_ttl(60, 21_600) == 60
    for bad in (59, 86_401, 0, -5, True):
        with pytest.raises(ValueError):
            effective_ttl(bad, 21_600)


def test_visibility_rules():
    assert visibility_from_created({"videoId": str(VID)}) == "private"
    assert visibility_from_created({"visibility": "public"}) == "public"
    assert visibility_from_created({"visibility": "unlisted"}) == "private"
    assert can_view("alice", "private", "alice")
    assert not can_view("alice", "private", "bob")
    assert not can_view("alice", None, "bob")
    assert can_view("alice", "public", "bob")
    assert not can_view(None, None, "alice")  # owner not known yet: nobody
    assert not can_view(None, "public", "alice")


def test_newer_result_supersedes_older():
    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert supersedes(None, t)
    assert supersedes(t, t + timedelta(seconds=1))
    assert supersedes(t, t)  # tie: the later delivery wins
    assert not supersedes(t, t - timedelta(milliseconds=1))


def test_renditions_best_first():
    rs = [SimpleNamespace(quality=q, height=h, bandwidth=b) for q, h, b in [("360p", 360, 9), ("1080p", 1080, 5), ("720p", 720, 3), ("720p-hi", 720, 4)]]
    assert [r.quality for r in order_renditions(rs)] == ["1080p", "720p-hi", "720p", "360p"]


def _parse(url: str, base: str) -> tuple[int, str, str, str]:
    assert url.startswith(base + "/play/")
    expires, token, kind, vid, path = url[len(base) + len("/play/"):].split("/", 4)
    return int(expires), token, f"{kind}/{vid}", path


def test_playback_out_signs_every_key_with_one_expiry():
    base, secret = "http://edge.test:8080", "unit-secret"
    signer = HmacPathSigner(base, secret)
    asset = PlaybackAsset(
        video_id=VID, owner_id="alice", visibility="private", master_key=f"{SCOPE}/j/master.m3u8", duration_seconds=5.3,
        width=1280, height=720, poster_key=f"{SCOPE}/j/poster.jpg", thumbnail_keys=[f"{SCOPE}/j/thumbs/t1.jpg", f"{SCOPE}/j/thumbs/t2.jpg"],
        storyboard_key=f"{SCOPE}/j/storyboard/storyboard.vtt",
    )
    renditions = [
        PlaybackRendition(video_id=VID, quality="360p", width=640, height=360, bandwidth=900_000, codecs="avc1.64001e", playlist_key=f"{SCOPE}/j/360p/index.m3u8"),
        PlaybackRendition(video_id=VID, quality="720p", width=1280, height=720, bandwidth=3_000_000, codecs="avc1.64001f", playlist_key=f"{SCOPE}/j/720p/index.m3u8"),
    ]
    now = 1_800_000_000.7
    out = playback_out(signer, asset, renditions, 300, now)
    assert out.expires_at == datetime.fromtimestamp(1_800_000_300, tz=UTC)
    urls = {out.stream_url: f"{SCOPE}/j/master.m3u8", out.poster_url: f"{SCOPE}/j/poster.jpg", out.storyboard_url: f"{SCOPE}/j/storyboard/storyboard.vtt"}
    urls.update({u: k for u, k in zip(out.thumbnail_urls, asset.thumbnail_keys, strict=True)})
    assert [q.quality for q in out.qualities] == ["720p", "360p"]
    urls.update({out.qualities[0].url: f"{SCOPE}/j/720p/index.m3u8", out.qualities[1].url: f"{SCOPE}/j/360p/index.m3u8"})
    for url, key in urls.items():
        expires, token, scope, path = _parse(url, base)
        assert expires == 1_800_000_300 and scope == SCOPE and f"{scope}/{path}" == key
        assert signer.verify(scope, expires, token, now=now)
        assert not signer.verify(scope, expires, token, now=expires)
        assert not HmacPathSigner(base, "other-secret").verify(scope, expires, token, now=now)
    assert out.model_dump(by_alias=True, mode="json").keys() == {
        "videoId", "streamUrl", "expiresAt", "durationSeconds", "width", "height", "qualities", "posterUrl", "thumbnailUrls",
        "storyboardUrl",
    }
    q = qualities_out(signer, VID, renditions, 300, now)
    assert q == out.qualities


def test_playback_out_without_poster_or_thumbnails():
    signer = HmacPathSigner("http://edge.test", "s")
    asset = PlaybackAsset(video_id=VID, master_key=f"{SCOPE}/j/master.m3u8", duration_seconds=1.0, width=2, height=2)
    out = playback_out(signer, asset, [], 60, 0.0)
    assert out.poster_url is None and out.thumbnail_urls == [] and out.qualities == [] and out.storyboard_url is None
