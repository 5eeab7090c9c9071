"""e2e: live streaming on the running stack: real ffmpeg publishing a looped real clip over RTMP to the
nginx-rtmp ingest, the streaming service's callbacks, live HLS through the signed edge URL, stop from
the API disconnecting the broadcaster, and the recording becoming a READY video of the streamer."""

from __future__ import annotations

import subprocess
import time
import uuid

import httpx
import m3u8
import pytest

from reelhouse.client.playback import decode_segment
from reelhouse.platform.auth import issue_token
from reelhouse.testing import EventCapture, footage_dir, wait_until

from .conftest import E2E_ENV

pytestmark = pytest.mark.e2e

CLIP = footage_dir() / "bigbuckbunny.mp4"
RTMP = f"rtmp://127.0.0.1:{E2E_ENV['REELHOUSE_STACK_RTMP_PORT']}/live"


def _publisher(url: str, *, loop: bool = True, seconds: float | None = None) -> subprocess.Popen:
    """ffmpeg pushing the real clip in real time (``-re``), looped, without re-encoding."""
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re"]
    if loop:
        args += ["-stream_loop", "-1"]
    args += ["-i", str(CLIP)]
    if seconds:
        args += ["-t", str(seconds)]
    args += ["-c", "copy", "-f", "flv", url]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module")
def api(stack, e2e_settings):
    user = f"e2e-streamer-{uuid.uuid4().hex[:6]}"
    client = httpx.Client(base_url=stack["edge"], headers={"Authorization": f"Bearer {issue_token(user, e2e_settings.jwt_secret)}"}, timeout=30)
    yield client, user
    client.close()


@pytest.fixture(scope="module")
def broadcast(api, e2e_settings):
    """A stream created through the edge and broadcast by ffmpeg; yields what the tests check."""
    client, user = api
    created = client.post("/api/streams", json={"title": "Big Buck Bunny live", "recordingEnabled": True})
    assert created.status_code == 201, created.text
    stream = created.json()
    with EventCapture(e2e_settings, ["stream.#"]) as capture:
        t0 = time.monotonic()
        ffmpeg = _publisher(stream["ingest"]["publishUrl"])
        try:
            live = wait_until(lambda: (s := client.get(f"/api/streams/{stream['id']}").json())["status"] == "LIVE" and s,
                              timeout=15, interval=0.1, message="LIVE")
            went_live = time.monotonic() - t0
            yield {"client": client, "user": user, "stream": stream, "live": live, "ffmpeg": ffmpeg,
                   "capture": capture, "went_live_s": went_live, "t0": t0}
        finally:
            _stop(ffmpeg)


def test_publishing_goes_live_within_seconds_and_announces_it(broadcast):
    b = broadcast
    assert b["went_live_s"] < 5, b["went_live_s"]
    assert b["live"]["broadcasting"] is True and b["live"]["playbackUrl"].endswith(f"/live/{b['stream']['id']}/index.m3u8")
    started = b["capture"].wait_for(lambda e: e["type"] == "reelhouse.stream.started.v1" and e["data"]["streamId"] == b["stream"]["id"])
    assert started[0]["data"]["ownerId"] == b["user"]


def test_the_live_playlist_plays_through_the_signed_url(broadcast):
    b = broadcast
    url = b["live"]["playbackUrl"]

    def playable():
        r = httpx.get(url, timeout=5)
        if r.status_code != 200:
            return None
        pl = m3u8.loads(r.text, uri=url)
        return pl if pl.segments else None

    playlist = wait_until(playable, timeout=30, interval=0.3, message="first live playlist")
    print(f"\nlive: LIVE after {b['went_live_s']:.2f}s, first playable playlist after {time.monotonic() - b['t0']:.2f}s")
    assert playlist.target_duration and not playlist.is_endlist
    seg = httpx.get(httpx.URL(url).join(playlist.segments[0].uri), timeout=10)
    assert seg.status_code == 200 and seg.headers["content-type"] == "video/mp2t"
    info = decode_segment(seg.content)
    assert (info["codec_name"], info["width"], info["height"]) == ("h264", 1280, 720)
    assert "no-cache" in httpx.get(url).headers.get("cache-control", "")
    # the token is checked for live scopes too, and the key never appears in a playback URL
    parts = url.split("/")
    i = parts.index("play") + 2
    parts[i] = parts[i][:5] + ("x" if parts[i][5] != "x" else "y") + parts[i][6:]
    bad = httpx.get("/".join(parts))
    assert bad.status_code == 403 and bad.json()["code"] == "PLAYBACK_SIGNATURE_INVALID"
    assert b["stream"]["ingest"]["streamKey"] not in url


def test_wrong_key_second_publisher_and_other_application_are_refused(broadcast):
    b = broadcast
    key = b["stream"]["ingest"]["streamKey"]
    for target in (f"{RTMP}/rhlive_{'x' * 43}", f"{RTMP}/{key}", f"{RTMP.rsplit('/', 1)[0]}/other/{key}"):
        t = time.monotonic()
        proc = _publisher(target, loop=False, seconds=4)
        try:
            rc = proc.wait(15)
        finally:
            _stop(proc)
        assert rc != 0, target
        assert time.monotonic() - t < 4, "refused at once, not after pushing the whole clip"
    assert b["ffmpeg"].poll() is None  # the real broadcaster is unaffected
    assert b["client"].get(f"/api/streams/{b['stream']['id']}").json()["status"] == "LIVE"


def test_stop_ends_the_stream_and_disconnects_the_broadcaster(broadcast):
    b = broadcast
    time.sleep(max(0.0, 8 - (time.monotonic() - b["t0"])))  # a recording of a few seconds
    r = b["client"].post(f"/api/streams/{b['stream']['id']}/stop")
    assert r.status_code == 200 and r.json()["status"] == "ENDED" and r.json()["playbackUrl"] is None
    rc = b["ffmpeg"].wait(10)
    assert rc != 0  # ffmpeg: Broken pipe when the ingest drops it
    ended = b["capture"].wait_for(lambda e: e["type"] == "reelhouse.stream.ended.v1" and e["data"]["streamId"] == b["stream"]["id"])
    assert ended[0]["data"]["reason"] == "STOPPED"
    again = _publisher(b["stream"]["ingest"]["publishUrl"], loop=False, seconds=3)
    assert again.wait(15) != 0  # the key of an ENDED stream is refused


def test_the_recording_becomes_a_ready_video_of_the_streamer(broadcast):
    b = broadcast
    client, sid = b["client"], b["stream"]["id"]
    rec = b["capture"].wait_for(lambda e: e["type"] == "reelhouse.stream.recorded.v1" and e["data"]["streamId"] == sid, timeout=60)
    data = rec[0]["data"]
    assert data["ownerId"] == b["user"] and data["sourceMime"] == "video/mp4" and data["durationSeconds"] >= 4
    stream = client.get(f"/api/streams/{sid}").json()
    assert stream["recordingStatus"] == "UPLOADED" and stream["recordingVideoId"] == data["videoId"]
    video = wait_until(lambda: (v := client.get(f"/api/videos/{data['videoId']}")).status_code == 200
                       and v.json()["status"] in ("READY", "FAILED") and v.json(), timeout=120, interval=1, message="READY video")
    assert video["status"] == "READY", video
    assert video["ownerId"] == b["user"] and video["title"] == "Big Buck Bunny live" and sid in video["description"]
    playlist = httpx.get(video["playback"]["streamUrl"])
    assert playlist.status_code == 200 and "#EXT-X-STREAM-INF" in playlist.text
