"""e2e: the ``reelhouse`` CLI (docs/cli.md) as a user runs it, a separate process against the running
stack: dev sign-in, an upload killed with SIGKILL mid-way and resumed without re-sending the parts S3
already holds, ``--wait`` to READY, the video commands, problem+json errors in words, live streams and
``chat tail``.

Part PUTs are counted by a forward proxy of this test (``HTTP_PROXY``; the CLI's HTTP client honours
it like curl does): it forwards every request unchanged to the stack and records the ``partNumber`` of
each part PUT that storage accepted, so the resumed run is checked by what reached storage, not by
what the CLI says of itself. While the first run is to be killed the proxy holds each part for a
moment, so that the kill lands with some parts stored and some not.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from reelhouse.client import ReelhouseClient

from .conftest import ffmpeg

pytestmark = pytest.mark.e2e

PART = 5 * 1024 * 1024  # docs/api.md "Upload sessions": 5 MiB parts


class CountingProxy:
    """A forward HTTP proxy on 127.0.0.1 that records the part numbers of accepted part PUTs and can
    hold each part PUT ``delay`` seconds before forwarding it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.put_parts: list[int] = []
        self.inflight = 0
        self.delay = 0.0
        upstream = httpx.Client(trust_env=False, timeout=60)
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                part = int(query["partNumber"][0]) if self.command == "PUT" and "partNumber" in query else None
                with owner.lock:
                    owner.inflight += 1
                try:
                    if part is not None and owner.delay:
                        time.sleep(owner.delay)
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection", "host", "keep-alive")}
                    r = upstream.request(self.command, self.path, headers=headers, content=body)
                    if part is not None and r.status_code == 200:
                        with owner.lock:
                            owner.put_parts.append(part)
                    self.send_response(r.status_code)
                    for k, v in r.headers.items():
                        if k.lower() not in ("transfer-encoding", "connection", "content-length", "content-encoding"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(r.content)))
                    self.end_headers()
                    self.wfile.write(r.content)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with owner.lock:
                        owner.inflight -= 1

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _relay

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def parts(self) -> list[int]:
        with self.lock:
            return sorted(self.put_parts)

    def idle(self) -> bool:
        with self.lock:
            return self.inflight == 0

    def reset(self) -> None:
        with self.lock:
            self.put_parts.clear()
        self.delay = 0.0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy():
    p = CountingProxy()
    yield p
    p.close()


@pytest.fixture
def cli_env(stack, tmp_path: Path) -> dict[str, str]:
    """Environment of a CLI user: their own config dir, the stack's API, no ambient token or proxy."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REELHOUSE_TOKEN")}
    env.update(REELHOUSE_CONFIG_DIR=str(tmp_path / "config"), REELHOUSE_API_URL=stack["edge"] + "/api", COLUMNS="200")
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``reelhouse ARGS`` to completion (the console script's module, same interpreter)."""
    return subprocess.run([sys.executable, "-m", "reelhouse.cli.main", *args], env=env, capture_output=True, text=True, timeout=timeout)


def signed_in(env: dict[str, str], user: str) -> str:
    """``reelhouse login --dev USER``; returns the stored token."""
    r = cli(env, "login", "--dev", user)
    assert r.returncode == 0, r.stderr
    cfg = Path(env["REELHOUSE_CONFIG_DIR"]) / "config.json"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    return json.loads(cfg.read_text())["token"]


@pytest.fixture(scope="module")
def multipart_clip(big_clip: Path, media_dir: Path) -> Path:
    """A real clip of at least 5 parts: the >= 12 MiB clip twice over (stream copy, no encode; about 30 s
    of video, so that the transcode to READY stays short)."""
    out = media_dir / "bbb-cli.mp4"
    if not out.exists():
        ffmpeg("-stream_loop", "1", "-i", str(big_clip), "-c", "copy", str(out))
    assert out.stat().st_size > 4 * PART, out.stat().st_size
    return out


def test_upload_killed_mid_way_resumes_without_resending_stored_parts(stack, cli_env, proxy: CountingProxy, multipart_clip: Path) -> None:
    token = signed_in(cli_env, "cli-uploader")
    size = multipart_clip.stat().st_size
    total = -(-size // PART)
    env = {**cli_env, "HTTP_PROXY": proxy.url, "NO_PROXY": ""}

    # 1. the first run, killed (SIGKILL: no chance to clean up) once some parts are stored
    proxy.delay = 1.0
    first = subprocess.Popen([sys.executable, "-m", "reelhouse.cli.main", "upload", str(multipart_clip), "--title", "cli resume", "--parallel", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(proxy.parts()) < 2:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "no part was stored"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    while not proxy.idle():  # parts already handed to storage may still land
        time.sleep(0.05)
    state = json.loads((Path(cli_env["REELHOUSE_CONFIG_DIR"]) / "uploads.json").read_text())
    (entry,) = state.values()
    with ReelhouseClient(stack["edge"], token) as api:
        stored = sorted(p["partNumber"] for p in api.get_upload(entry["session_id"])["parts"])
    assert 2 <= len(stored) < total, (stored, total)  # at most 2 more than the 2 seen were on their way

    # 2. the same command again: only the missing parts go to storage, then it waits for READY
    proxy.reset()
    r = cli(env, "upload", str(multipart_clip), "--title", "cli resume", "--parallel", "2", "--wait", "--json", "--timeout", "240")
    assert r.returncode == 0, r.stderr
    (result,) = json.loads(r.stdout)
    missing = sorted(set(range(1, total + 1)) - set(stored))
    assert proxy.parts() == missing  # what reached storage: no stored part sent again, each missing one once
    assert result["resumed"] is True and result["videoId"] == entry["video_id"]
    assert result["partsReused"] == stored and result["partsSent"] == missing
    assert result["video"]["status"] == "READY"
    assert result["video"]["playback"]["streamUrl"].startswith(stack["edge"] + "/play/")
    assert json.loads((Path(cli_env["REELHOUSE_CONFIG_DIR"]) / "uploads.json").read_text()) == {}  # forgotten once done

    # 3. the video commands
    vid = result["videoId"]
    listed = cli(cli_env, "videos", "ls", "--mine", "--json")
    assert listed.returncode == 0 and vid in [v["id"] for v in json.loads(listed.stdout)]
    shown = cli(cli_env, "videos", "show", vid)
    assert shown.returncode == 0 and "READY" in shown.stdout and "/play/" in shown.stdout
    watched = cli(cli_env, "watch", vid, "--json")
    assert watched.returncode == 0 and json.loads(watched.stdout.splitlines()[-1])["status"] == "READY"
    retry = cli(cli_env, "videos", "retry", vid)
    assert retry.returncode == 1 and "HTTP 409" in retry.stderr  # READY cannot be retried: the API's code, in words
    assert cli(cli_env, "videos", "rm", vid, "--yes").returncode == 0
    gone = cli(cli_env, "videos", "show", vid)
    assert gone.returncode == 1
    assert "VIDEO_NOT_FOUND" in gone.stderr and "HTTP 404" in gone.stderr and "Traceback" not in gone.stderr


def test_upload_public_with_wait_prints_the_playback_url(stack, cli_env) -> None:
    from reelhouse.testing import footage_dir

    signed_in(cli_env, "cli-small")
    r = cli(cli_env, "upload", str(footage_dir() / "bikes.mp4"), "--public", "--wait", "--timeout", "240")
    assert r.returncode == 0, r.stderr
    assert "READY" in r.stdout and stack["edge"] + "/play/" in r.stdout
    other = cli({**cli_env, "REELHOUSE_CONFIG_DIR": cli_env["REELHOUSE_CONFIG_DIR"] + "-other"}, "login", "--dev", "cli-viewer")
    assert other.returncode == 0
    seen = cli({**cli_env, "REELHOUSE_CONFIG_DIR": cli_env["REELHOUSE_CONFIG_DIR"] + "-other"}, "videos", "ls", "--json", "--limit", "100")
    assert "bikes" in [v["title"] for v in json.loads(seen.stdout)]  # public: another user lists it


def test_login_refuses_a_bad_token_and_stores_nothing(stack, cli_env) -> None:
    r = subprocess.run([sys.executable, "-m", "reelhouse.cli.main", "login"], env=cli_env, input="not-a-jwt\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "UNAUTHENTICATED" in r.stderr and "HTTP 401" in r.stderr
    assert not (Path(cli_env["REELHOUSE_CONFIG_DIR"]) / "config.json").exists()


def test_live_stream_and_chat_tail(stack, cli_env, tmp_path: Path) -> None:
    signed_in(cli_env, "cli-streamer")
    created = cli(cli_env, "live", "create", "CLI stream", "--no-record", "--json")
    assert created.returncode == 0, created.stderr
    stream = json.loads(created.stdout)
    sid = stream["id"]
    key = json.loads(cli(cli_env, "live", "key", sid, "--json").stdout)
    assert key["streamKey"] == stream["ingest"]["streamKey"]
    started = cli(cli_env, "live", "start", sid, "--json")
    assert started.returncode == 0 and json.loads(started.stdout)["status"] == "LIVE"

    viewer_env = {**cli_env, "REELHOUSE_CONFIG_DIR": str(tmp_path / "viewer")}
    viewer_token = signed_in(viewer_env, "cli-viewer")
    with httpx.Client(base_url=stack["edge"], headers={"Authorization": f"Bearer {viewer_token}"}) as http:
        deadline = time.monotonic() + 30  # the chat service opens the room on stream.started (the bus)
        while http.get(f"/api/streams/{sid}/chat").status_code != 200:
            assert time.monotonic() < deadline, "the chat room never opened"
            time.sleep(0.2)
        tail = subprocess.Popen([sys.executable, "-m", "reelhouse.cli.main", "chat", "tail", sid, "--count", "1"], env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            text = f"hello from the viewer {uuid.uuid4().hex[:6]}"
            deadline = time.monotonic() + 30
            while True:  # post until the tail has seen it (it may connect after the first post)
                ticket = http.post(f"/api/streams/{sid}/chat/ticket").json()
                with ws_connect(stack["edge"].replace("http://", "ws://") + ticket["webSocketPath"]) as ws:
                    ws.send(json.dumps({"type": "post", "text": text, "nonce": "n1"}))
                    while json.loads(ws.recv(10)).get("type") != "ack":
                        pass
                try:
                    out, errs = tail.communicate(timeout=2)
                    break
                except subprocess.TimeoutExpired:
                    assert time.monotonic() < deadline, "chat tail never printed the message"
        finally:
            if tail.poll() is None:
                tail.kill()
                tail.wait()
    assert tail.returncode == 0, errs
    assert f"cli-viewer: {text}" in out

    stopped = cli(cli_env, "live", "stop", sid, "--json")
    assert stopped.returncode == 0 and json.loads(stopped.stdout)["status"] == "ENDED"
    unknown = cli(cli_env, "chat", "tail", str(uuid.uuid4()))
    assert unknown.returncode == 1 and "Error" in unknown.stderr


def test_resume_rules_for_paused_canceled_and_sessionless_entries(stack, cli_env, tmp_path: Path) -> None:
    """docs/cli.md "Resuming an upload": a PAUSED session is resumed, a CANCELED one gives way to a new
    video, and a video remembered without a session (killed in between) gets its session opened."""
    from reelhouse.cli.state import FileIdentity, UploadEntry, UploadState
    from reelhouse.testing import footage_dir

    token = signed_in(cli_env, "cli-rules")
    state = UploadState(Path(cli_env["REELHOUSE_CONFIG_DIR"]) / "uploads.json")
    api_url = cli_env["REELHOUSE_API_URL"]
    clips = {}
    for name in ("paused", "canceled", "sessionless"):
        clips[name] = tmp_path / f"{name}.mp4"
        clips[name].write_bytes((footage_dir() / "bikes.mp4").read_bytes())
    with ReelhouseClient(stack["edge"], token) as api:
        remembered = {}
        for name, path in clips.items():
            video = api.create_video(name, path)
            sid = None
            if name != "sessionless":
                sid = api.create_upload(video["id"])["uploadSessionId"]
                api.part_url(sid, 1)  # INITIATED -> IN_PROGRESS
                api.request("POST", f"/api/uploads/{sid}/{'pause' if name == 'paused' else 'cancel'}")
            ident = FileIdentity.of(path)
            state.put(ident, api_url, UploadEntry(video["id"], sid, ident.path, ident.size))
            remembered[name] = video["id"]

        r = cli(cli_env, "upload", *(str(p) for p in clips.values()), "--json")
        assert r.returncode == 0, r.stderr
        results = {Path(x["path"]).stem: x for x in json.loads(r.stdout)}
        assert results["paused"]["videoId"] == remembered["paused"] and results["paused"]["resumed"] is True
        assert results["sessionless"]["videoId"] == remembered["sessionless"] and results["sessionless"]["resumed"] is True
        assert results["canceled"]["videoId"] != remembered["canceled"] and results["canceled"]["resumed"] is False
        for x in results.values():
            assert api.get_upload(x["uploadSessionId"])["status"] == "COMPLETED"
    assert state.entries() == []
