"""The nginx edge against a private SeaweedFS bucket: signed playback, SigV4 to the origin, caching, routing.

Contract under test: libs/platform/src/reelhouse/platform/signing.py (HmacPathSigner) and
deploy/k8s/base/nginx/{edge.conf.template,playback.js}.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import re
import subprocess
import time
import uuid
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from reelhouse.platform.signing import HmacPathSigner, SignedUrl, token
from reelhouse.testing import wait_until

pytestmark = pytest.mark.service

# Same values as conftest.py (conftest is not importable as a module under --import-mode=importlib).
BUCKET_NAME = "reelhouse-media"
REGION_NAME = "us-east-1"
ACCESS_KEY_ID = "edge-test-access-key"
SECRET_ACCESS_KEY = "edge-test-secret-key"
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def signer_for(edge) -> HmacPathSigner:
    return HmacPathSigner(edge.base_url, edge.secret)


def playlist_uris(text: str) -> list[str]:
    """Every URI in an HLS playlist: URI lines and URI="..." attributes."""
    uris = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            uris.extend(re.findall(r'URI="([^"]+)"', line))
        else:
            uris.append(line)
    return uris


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body == {"type": "about:blank", "title": body["title"], "status": status, "code": code}
    assert b"#EXTM3U" not in response.content


def raw_get(base_url: str, raw_path: str) -> tuple[int, bytes]:
    """GET a path exactly as written (httpx would normalise dot segments and slashes)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------- basics


def test_healthz(edge) -> None:
    response = httpx.get(f"{edge.base_url}/healthz")
    assert response.status_code == 200
    assert response.text.strip() == "ok"


def test_token_matches_the_documented_rule() -> None:
    # base64url(HMAC-SHA256("secret", "videos/<uuid>:1700000000")) without padding, 43 chars.
    scope = "videos/3f0c2a4e-8a47-4c35-9a4b-0d6f1f2a9b10"
    value = token("secret", scope, 1_700_000_000)
    mac = hmac.new(b"secret", f"{scope}:1700000000".encode(), hashlib.sha256).digest()
    assert value == base64.urlsafe_b64encode(mac).decode().rstrip("=")
    assert len(value) == 43 and "=" not in value
    signer = HmacPathSigner("http://edge.test/", "secret")
    signed = signer.sign(scope, "job1/master.m3u8", 60, now=1_699_999_940.9)
    assert isinstance(signed, SignedUrl)
    assert signed.url == f"http://edge.test/play/1700000000/{value}/{scope}/job1/master.m3u8"
    assert signed.expires_at.timestamp() == 1_700_000_000 and signed.expires_at.tzinfo is not None
    assert signer.verify(scope, 1_700_000_000, value, now=1_699_999_999.5)
    assert not signer.verify(scope, 1_700_000_000, value, now=1_700_000_000)
    assert not signer.verify("videos/3f0c2a4e-8a47-4c35-9a4b-0d6f1f2a9b11", 1_700_000_000, value, now=0)
    for bad_path in ("", "a//b", "../x", "a/./b", "a b", "a/%2e%2e/b"):
        with pytest.raises(ValueError):
            signer.sign(scope, bad_path, 60)
    with pytest.raises(ValueError):
        signer.sign("videos/not-a-uuid", "x.m3u8", 60)
    with pytest.raises(ValueError):
        signer.sign(scope, "x.m3u8", 0)


# --------------------------------------------------------------------------- signed playback


def test_signed_master_renditions_and_segments_play_under_one_signature(edge, media) -> None:
    signed = signer_for(edge).sign(media.scope_a, f"{media.job}/master.m3u8", 300)
    with httpx.Client(timeout=10) as client:
        master = client.get(signed.url)
        assert master.status_code == 200, master.text
        assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert master.headers["access-control-allow-origin"] == "*"
        assert not any(name.lower().startswith("x-amz-") for name in master.headers)
        assert master.content == (media.ladder / "master.m3u8").read_bytes()

        renditions = playlist_uris(master.text)
        assert len(renditions) == 2
        signature_prefix = signed.url.rsplit(f"/{media.scope_a}/", 1)[0]
        segment_urls = []
        for uri in renditions:
            url = urljoin(signed.url, uri)
            assert url.startswith(signature_prefix)  # same /play/<expires>/<token>/ prefix
            playlist = client.get(url)
            assert playlist.status_code == 200, (url, playlist.text)
            assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
            segments = playlist_uris(playlist.text)
            assert segments
            segment_urls.extend(urljoin(url, s) for s in segments)

        for url in segment_urls:
            segment = client.get(url)
            assert segment.status_code == 200, (url, segment.text)
            assert segment.headers["content-type"] == "video/mp2t"
            assert not any(name.lower().startswith("x-amz-") for name in segment.headers)
            local = media.ladder / url.split(f"/{media.job}/", 1)[1]
            assert segment.content == local.read_bytes()

    # A real demuxer decodes a segment fetched through the edge...
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name", "-of", "json",
         segment_urls[0]],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    codecs = {s["codec_type"]: s["codec_name"] for s in json.loads(probe.stdout)["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    # ...and ffmpeg's HLS demuxer follows the master playlist's relative URIs through the edge.
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", signed.url, "-map", "0:v:0", "-frames:v", "30", "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert decoded.returncode == 0, decoded.stderr


def test_one_changed_character_in_the_signature_is_refused(edge, media) -> None:
    signed = signer_for(edge).sign(media.scope_a, f"{media.job}/master.m3u8", 300)
    expires, tok = urlsplit(signed.url).path.split("/")[2:4]
    for index in (0, 21, 42):
        replacement = next(c for c in TOKEN_ALPHABET if c != tok[index])
        bad = tok[:index] + replacement + tok[index + 1 :]
        url = signed.url.replace(f"/{expires}/{tok}/", f"/{expires}/{bad}/")
        assert_problem(httpx.get(url), 403, "PLAYBACK_SIGNATURE_INVALID")


def test_a_forged_later_expiry_is_refused(edge, media) -> None:
    signed = signer_for(edge).sign(media.scope_a, f"{media.job}/master.m3u8", 60)
    expires = urlsplit(signed.url).path.split("/")[2]
    url = signed.url.replace(f"/play/{expires}/", f"/play/{int(expires) + 3600}/")
    assert_problem(httpx.get(url), 403, "PLAYBACK_SIGNATURE_INVALID")


def test_an_expired_url_is_refused(edge, media) -> None:
    signed = signer_for(edge).sign(media.scope_a, f"{media.job}/master.m3u8", 60, now=time.time() - 3600)
    assert signed.expires_at.timestamp() < time.time()
    assert_problem(httpx.get(signed.url), 403, "PLAYBACK_URL_EXPIRED")


def test_a_signature_for_video_a_does_not_open_video_b(edge, media) -> None:
    signed = signer_for(edge).sign(media.scope_a, f"{media.job}/master.m3u8", 300)
    assert httpx.get(signed.url).status_code == 200
    url_b = signed.url.replace(media.video_a, media.video_b)
    assert_problem(httpx.get(url_b), 403, "PLAYBACK_SIGNATURE_INVALID")
    # Same for a segment of B.
    seg_b = url_b.replace("master.m3u8", "360p/seg_000.ts")
    assert_problem(httpx.get(seg_b), 403, "PLAYBACK_SIGNATURE_INVALID")


def test_paths_without_a_valid_token_never_return_the_object(edge, media) -> None:
    key = f"{media.scope_a}/{media.job}/master.m3u8"
    for path in (
        f"/play/{key}",  # no expiry, no token
        f"/play/{int(time.time()) + 60}/{key}",  # no token
        f"/play/{int(time.time()) + 60}//{key}",  # empty token
        f"/_playback_origin/{key}",  # the internal origin location
    ):
        response = httpx.get(f"{edge.base_url}{path}")
        assert response.status_code in (403, 404), (path, response.status_code)
        assert b"#EXTM3U" not in response.content, path
    assert_problem(httpx.get(f"{edge.base_url}/play/{key}"), 404, "PLAYBACK_PATH_INVALID")
    # Outside /play/ the web app's fallback page answers, never the bucket.
    for path in (f"/{key}", f"/{BUCKET_NAME}/{key}"):
        response = httpx.get(f"{edge.base_url}{path}")
        assert b"#EXTM3U" not in response.content, path
        assert response.headers["content-type"].startswith("text/html"), path


def test_dot_segments_and_double_slashes_are_refused(edge, media) -> None:
    signed = signer_for(edge).sign(media.scope_a, f"{media.job}/master.m3u8", 300)
    path = urlsplit(signed.url).path
    prefix = path.split(f"/{media.scope_a}/")[0]
    tricks = [
        f"{prefix}/{media.scope_a}/../{media.video_b}/{media.job}/master.m3u8",
        f"{prefix}/{media.scope_a}/{media.job}/../../{media.video_b}/{media.job}/master.m3u8",
        f"{prefix}/{media.scope_a}//{media.job}/master.m3u8",
        f"{prefix}/{media.scope_a}/{media.job}/./master.m3u8",
        f"{prefix}/{media.scope_a}/{media.job}/%2e%2e/{media.job}/master.m3u8",
        f"{prefix}/{media.scope_a}/{media.job}%2Fmaster.m3u8",
    ]
    for raw in tricks:
        status, body = raw_get(edge.base_url, raw)
        assert status in (400, 403, 404), (raw, status)
        assert b"#EXTM3U" not in body, raw
    # The untouched path still works on the same connection style.
    status, body = raw_get(edge.base_url, path)
    assert status == 200 and body.startswith(b"#EXTM3U")


def test_missing_object_under_a_valid_signature_is_a_404_problem(edge, media) -> None:
    signed = signer_for(edge).sign(media.scope_a, f"{media.job}/nope/index.m3u8", 300)
    assert_problem(httpx.get(signed.url), 404, "PLAYBACK_OBJECT_NOT_FOUND")


def test_only_get_and_head(edge, media) -> None:
    signed = signer_for(edge).sign(media.scope_a, f"{media.job}/master.m3u8", 300)
    assert httpx.head(signed.url).status_code == 200
    assert_problem(httpx.post(signed.url, content=b"x"), 405, "METHOD_NOT_ALLOWED")


# --------------------------------------------------------------------------- cache


def test_segments_are_served_from_the_edge_cache_for_every_viewer(edge, media, s3) -> None:
    # A dedicated object so the first fetch is certainly a MISS, whatever ran before.
    key_path = f"{media.job}/cache-probe/seg_000.ts"
    data = (media.ladder / "360p/seg_000.ts").read_bytes()
    s3.put_object(Bucket=BUCKET_NAME, Key=f"{media.scope_b}/{key_path}", Body=data)
    signer = signer_for(edge)
    first = httpx.get(signer.sign(media.scope_b, key_path, 300).url)
    assert first.status_code == 200 and first.headers["x-cache-status"] == "MISS"
    second = httpx.get(signer.sign(media.scope_b, key_path, 300).url)
    assert second.status_code == 200 and second.headers["x-cache-status"] == "HIT"
    # Another viewer's URL (other expiry, so other token) hits the same cache entry...
    other = httpx.get(signer.sign(media.scope_b, key_path, 900).url)
    assert other.headers["x-cache-status"] == "HIT"
    # ...and the bytes really come from the edge: the origin no longer has them.
    s3.delete_object(Bucket=BUCKET_NAME, Key=f"{media.scope_b}/{key_path}")
    cached = httpx.get(signer.sign(media.scope_b, key_path, 300).url)
    assert cached.status_code == 200 and cached.headers["x-cache-status"] == "HIT"
    assert cached.content == data
    assert cached.headers["content-type"] == "video/mp2t"


def test_playlists_are_cached_only_briefly(edge, s3) -> None:
    scope = f"live/{uuid.uuid4()}"
    s3.put_object(Bucket=BUCKET_NAME, Key=f"{scope}/index.m3u8", Body=b"#EXTM3U\n#v1\n")
    signer = signer_for(edge)
    assert httpx.get(signer.sign(scope, "index.m3u8", 60).url).text.endswith("#v1\n")
    s3.put_object(Bucket=BUCKET_NAME, Key=f"{scope}/index.m3u8", Body=b"#EXTM3U\n#v2\n")
    again = httpx.get(signer.sign(scope, "index.m3u8", 60).url)
    assert again.headers["x-cache-status"] == "HIT" and again.text.endswith("#v1\n")
    time.sleep(3.2)  # 2 s validity, counted in whole seconds by nginx
    fresh = httpx.get(signer.sign(scope, "index.m3u8", 60).url)
    assert fresh.text.endswith("#v2\n"), fresh.headers.get("x-cache-status")


# --------------------------------------------------------------------------- SigV4 to the origin

SIGV4_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[a-z0-9-]+)/s3/aws4_request, "
    r"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=(?P<sig>[0-9a-f]{64})"
)


def test_origin_requests_carry_a_sigv4_signature_botocore_agrees_with(start_edge, recording_server, media):
    playlist = (media.ladder / "master.m3u8").read_bytes()
    origin = recording_server("origin", body=playlist, content_type="binary/octet-stream")
    dead = "127.0.0.1:9"  # API upstreams are irrelevant here
    edge = start_edge(s3_hostport=origin.hostport, gallery=dead, upload=dead, streaming=dead, chat=dead)
    signed = signer_for(edge).sign(media.scope_a, f"{media.job}/master.m3u8", 300)

    response = httpx.get(signed.url, headers={"Cookie": "session=viewer", "Authorization": "Bearer viewer"})
    assert response.status_code == 200, response.text
    assert response.content == playlist
    assert response.headers["content-type"] == "application/vnd.apple.mpegurl"

    assert len(origin.requests) == 1
    sent = origin.requests[0]
    assert sent.method == "GET"
    assert sent.path == f"/{BUCKET_NAME}/{media.scope_a}/{media.job}/master.m3u8"  # path-style, no token
    assert sent.headers["host"] == origin.hostport
    assert "cookie" not in sent.headers  # client headers are not forwarded to the bucket
    match = SIGV4_RE.fullmatch(sent.headers["authorization"])
    assert match, sent.headers["authorization"]
    amz_date = sent.headers["x-amz-date"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", amz_date)
    assert match["key"] == ACCESS_KEY_ID and match["region"] == REGION_NAME and match["day"] == amz_date[:8]

    # Recompute the signature with botocore for exactly the request the origin received.
    request = AWSRequest(
        method="GET",
        url=f"http://{origin.hostport}{sent.path}",
        headers={
            "host": sent.headers["host"],
            "x-amz-content-sha256": sent.headers["x-amz-content-sha256"],
            "x-amz-date": amz_date,
        },
    )
    request.context["timestamp"] = amz_date
    auth = S3SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3", REGION_NAME)
    canonical = auth.canonical_request(request)
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    assert match["sig"] == expected

    # A second viewer is served from the cache: the origin sees nothing more.
    again = httpx.get(signer_for(edge).sign(media.scope_a, f"{media.job}/master.m3u8", 600).url)
    assert again.headers["x-cache-status"] == "HIT" and len(origin.requests) == 1


# --------------------------------------------------------------------------- API routing


@pytest.mark.parametrize(
    ("method", "path", "upstream"),
    [
        ("POST", "/api/videos/abc/uploads", "upload"),
        ("POST", "/api/videos/abc/uploads/u1/complete", "upload"),
        ("GET", "/api/uploads/u1", "upload"),
        ("GET", "/api/videos/abc/playback", "streaming"),
        ("GET", "/api/videos/abc/qualities", "streaming"),
        ("GET", "/api/videos", "gallery"),
        ("GET", "/api/videos?page=2", "gallery"),
        ("GET", "/api/videos/abc", "gallery"),
        ("GET", "/api/streams/s1/chat/messages", "chat"),
        ("GET", "/api/streams", "streaming"),
        ("GET", "/api/streams/s1", "streaming"),
        ("GET", "/ws/streams/s1", "chat"),
        ("POST", "/api/webhooks", "gallery"),
        ("GET", "/api/webhooks/w1/deliveries", "gallery"),
    ],
)
def test_api_routing(edge, api_upstreams, method, path, upstream) -> None:
    response = httpx.request(method, f"{edge.base_url}{path}", headers={"Authorization": "Bearer t0k"})
    assert response.status_code == 200, response.text
    assert response.json() == {"upstream": upstream, "path": path}
    seen = api_upstreams[upstream].requests[-1]
    assert seen.path == path and seen.method == method
    assert seen.headers["authorization"] == "Bearer t0k"
    assert seen.headers["host"] == urlsplit(edge.base_url).netloc
    assert seen.headers["x-forwarded-for"] == "127.0.0.1"
    assert re.fullmatch(r"[0-9a-f]{32}", seen.headers["x-request-id"])
    assert response.headers["x-request-id"] == seen.headers["x-request-id"]


def test_api_keeps_a_client_request_id_and_passes_websocket_upgrades(edge, api_upstreams) -> None:
    httpx.get(
        f"{edge.base_url}/ws/streams/s1",
        headers={"X-Request-Id": "req-123", "Upgrade": "websocket", "Connection": "Upgrade"},
    )
    seen = api_upstreams["chat"].requests[-1]
    assert seen.headers["x-request-id"] == "req-123"
    assert seen.headers["upgrade"] == "websocket"
    assert seen.headers["connection"].lower() == "upgrade"


def test_access_log_lines_are_json_with_the_request_and_trace_ids_and_no_token(edge, api_upstreams, media) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traced = httpx.get(f"{edge.base_url}/api/videos/logged", headers={"X-Request-Id": "req-log-1", "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    assert api_upstreams["gallery"].requests[-1].headers["traceparent"] == f"00-{trace_id}-00f067aa0ba902b7-01"  # passed on
    httpx.get(f"{edge.base_url}/api/videos/untraced", headers={"traceparent": "garbage"})
    signed = signer_for(edge).sign(media.scope_a, f"{media.job}/master.m3u8", 300)
    played = httpx.get(signed.url)
    assert traced.status_code == 200 and played.status_code == 200

    def lines() -> list[dict]:
        return [json.loads(line) for line in (edge.prefix / "access.log").read_text().splitlines() if line.strip()]

    wait_until(lambda: any(e["uri"].startswith("/play/") for e in lines()), 5, 0.05, "the playback line")
    by_uri = {e["uri"]: e for e in lines()}
    first = by_uri["/api/videos/logged"]
    assert (first["request_id"], first["trace_id"], first["status"], first["method"], first["service"]) == ("req-log-1", trace_id, 200, "GET", "edge")
    assert by_uri["/api/videos/untraced"]["trace_id"] == "" and re.fullmatch(r"[0-9a-f]{32}", by_uri["/api/videos/untraced"]["request_id"])
    token = urlsplit(signed.url).path.split("/")[3]
    assert not [e for e in lines() if token in e["uri"]]  # the playback token never reaches the log


def test_api_limits_and_unknown_routes(edge) -> None:
    too_big = httpx.post(f"{edge.base_url}/api/videos", content=b"x" * (1024 * 1024 + 1))
    assert too_big.status_code == 413
    unknown = httpx.get(f"{edge.base_url}/api/nothing-here")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "NOT_FOUND"


def test_web_root_is_served_at_slash(edge) -> None:
    response = httpx.get(f"{edge.base_url}/some/app/route")
    assert response.status_code == 200
    assert "Reelhouse" in response.text
