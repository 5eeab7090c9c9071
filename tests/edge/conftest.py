"""Fixtures for the nginx edge tests: SeaweedFS S3, a real HLS ladder, recording upstreams, nginx itself.

Everything runs as local processes on free ports (no docker): SeaweedFS's ``weed`` from the venv as
the private media bucket (it checks the edge's SigV4 signatures), ``ffmpeg`` for the ladder, and nginx rendered from
``deploy/k8s/base/nginx/edge.conf.template`` into a temporary prefix. The tests skip only when the
nginx binary is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import httpx
import pytest

from reelhouse.testing import footage_dir, skip_without_tools

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy/k8s/base/nginx/edge.conf.template"
PLAYBACK_JS = REPO / "deploy/k8s/base/nginx/playback.js"
SOURCE_VIDEO = footage_dir() / "bigbuckbunny.mp4"
NJS_MODULE = Path(os.environ.get("NJS_MODULE_PATH", "/usr/lib/nginx/modules/ngx_http_js_module.so"))

BUCKET = "reelhouse-media"
REGION = "us-east-1"
ACCESS_KEY = "edge-test-access-key"
SECRET_KEY = "edge-test-secret-key"

# The signer lives in libs/platform; make it importable even when the workspace package is not
# installed in editable mode yet.
try:
    import reelhouse.platform.signing  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the venv was synced
    sys.path.insert(0, str(REPO / "libs/platform/src"))


def _load_render():
    spec = importlib.util.spec_from_file_location("reelhouse_deploy_render", REPO / "deploy/local/render.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.render_template


render_template = _load_render()


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    """Poll ``url`` until it answers (any status); fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    """Terminate a process we started, killing it if it does not exit."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --------------------------------------------------------------------------- recording servers


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class RecordingServer:
    """A tiny HTTP/1.1 server in a thread that records every request and answers 200 with
    ``body`` (default: JSON naming the server and the path)."""

    name: str
    body: bytes | None = None
    content_type: str = "application/json"
    requests: list[Recorded] = field(default_factory=list)

    def start(self) -> RecordingServer:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(
                    Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                payload = recorder.body
                if payload is None:
                    payload = json.dumps({"upstream": recorder.name, "path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", recorder.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="session")
def recording_server() -> Iterator[Callable[..., RecordingServer]]:
    """Factory: ``recording_server(name, body=None, content_type=...)`` -> a started server."""
    servers: list[RecordingServer] = []

    def make(name: str, body: bytes | None = None, content_type: str = "application/json") -> RecordingServer:
        server = RecordingServer(name, body, content_type).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


# --------------------------------------------------------------------------- nginx


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    path = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if path is None:
        pytest.skip("nginx binary not found (install nginx + libnginx-mod-http-js to run the edge tests)")
    return path


@dataclass
class Edge:
    """A running nginx edge."""

    base_url: str
    prefix: Path
    secret: str
    values: dict[str, str]
    proc: subprocess.Popen

    def log(self) -> str:
        return (self.prefix / "nginx.log").read_text(errors="replace")


@pytest.fixture(scope="session")
def start_edge(nginx_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Edge]]:
    """Factory: render the template with the given upstreams and start nginx in the foreground."""
    edges: list[Edge] = []
    web_root = tmp_path_factory.mktemp("web")
    (web_root / "index.html").write_text("<!doctype html><title>Reelhouse</title>")

    def start(*, s3_hostport: str, gallery: str, upload: str, streaming: str, chat: str, **settings: str) -> Edge:
        """``settings``: more template values (``CORS_ALLOWED_ORIGINS``, ``EDGE_API_BURST``...);
        by default no CORS origin and limits no test reaches."""
        prefix = tmp_path_factory.mktemp("edge")
        port = free_port()
        secret = secrets.token_urlsafe(32)
        values = {
            "NJS_MODULE_PATH": str(NJS_MODULE),
            "PREFIX": str(prefix),
            "EDGE_PORT": f"127.0.0.1:{port}",
            "PLAYBACK_JS_PATH": str(PLAYBACK_JS),
            "PLAYBACK_SIGNING_SECRET": secret,
            "S3_ENDPOINT_HOSTPORT": s3_hostport,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY": ACCESS_KEY,
            "S3_SECRET_KEY": SECRET_KEY,
            "MEDIA_BUCKET": BUCKET,
            "GALLERY_UPSTREAM": gallery,
            "UPLOAD_UPSTREAM": upload,
            "STREAMING_UPSTREAM": streaming,
            "CHAT_UPSTREAM": chat,
            "CHAT_UPSTREAM_2": chat,
            "WEB_ROOT": str(web_root),
            "EDGE_FILES_DIR": str(TEMPLATE.parent),
            "CORS_ALLOWED_ORIGINS": "",
            "EDGE_API_RATE_PER_SECOND": "1000",
            "EDGE_API_BURST": "1000",
            "EDGE_API_CONNECTIONS_PER_ADDRESS": "1000",
            "EDGE_WS_CONNECTIONS_PER_ADDRESS": "1000",
            **settings,
        }
        conf = prefix / "nginx.conf"
        render_template(TEMPLATE, conf, values)
        log = open(prefix / "nginx.log", "wb")  # noqa: SIM115 - closed with the process
        # As a normal user the workers run as that user. As root (CI containers) nginx would drop
        # the workers to "nobody", which cannot enter pytest's private temp dirs: keep them as the
        # current user there too, which is what the non-root launcher gets anyway.
        global_directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
        proc = subprocess.Popen(
            [nginx_bin, "-p", str(prefix), "-c", str(conf), "-g", global_directives],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        edge = Edge(f"http://127.0.0.1:{port}", prefix, secret, values, proc)
        edges.append(edge)
        try:
            wait_http(f"{edge.base_url}/healthz", proc)
        except Exception as exc:
            raise RuntimeError(f"nginx did not start: {exc}\n{edge.log()}") from exc
        return edge

    yield start
    for edge in edges:
        stop(edge.proc)


# --------------------------------------------------------------------------- S3 (SeaweedFS) + media


@pytest.fixture(scope="session")
def s3_hostport(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a SeaweedFS S3 gateway started for this session; it checks SigV4 signatures
    against the edge's keys and refuses anonymous reads, so the bucket is really private."""
    from reelhouse.platform.settings import PlatformSettings
    from reelhouse.testing import start_object_store, stop_process

    keys = PlatformSettings(s3_access_key=ACCESS_KEY, s3_secret_key=SECRET_KEY, s3_region=REGION)
    proc, url = start_object_store(tmp_path_factory.mktemp("seaweedfs"), keys)
    try:
        yield url.split("://", 1)[1]
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def s3(s3_hostport: str):
    return boto3.client(
        "s3",
        endpoint_url=f"http://{s3_hostport}",
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture(scope="session")
def hls_ladder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 2-rendition HLS VOD ladder (360p, 180p; MPEG-TS, 1 s segments) made by ffmpeg.

    Layout: ``master.m3u8``, ``360p/index.m3u8``, ``360p/seg_000.ts``..., same for ``180p``.
    """
    skip_without_tools("ffmpeg")
    out = tmp_path_factory.mktemp("hls")
    cmd = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-i", str(SOURCE_VIDEO), "-t", "3",
        "-filter_complex", "[0:v]split=2[a][b];[a]scale=-2:360[v360];[b]scale=-2:180[v180]",
        "-map", "[v360]", "-map", "0:a:0", "-map", "[v180]", "-map", "0:a:0",
        "-c:v", "libx264", "-preset", "veryfast", "-g", "24", "-keyint_min", "24", "-sc_threshold", "0",
        "-b:v:0", "600k", "-b:v:1", "200k",
        "-c:a", "aac", "-ac", "2", "-b:a", "64k",
        "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
        "-hls_segment_filename", "%v/seg_%03d.ts",
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", "v:0,a:0,name:360p v:1,a:1,name:180p",
        "%v/index.m3u8",
    ]  # fmt: skip
    subprocess.run(cmd, cwd=out, check=True, timeout=120)
    assert (out / "master.m3u8").is_file()
    return out


@dataclass(frozen=True)
class Media:
    """Two videos uploaded to the private bucket: ``videos/<uuid>/<job>/master.m3u8`` + renditions."""

    video_a: str
    video_b: str
    job: str
    ladder: Path

    @property
    def scope_a(self) -> str:
        return f"videos/{self.video_a}"

    @property
    def scope_b(self) -> str:
        return f"videos/{self.video_b}"


@pytest.fixture(scope="session")
def media(s3, hls_ladder: Path) -> Media:
    s3.create_bucket(Bucket=BUCKET)  # private: no ACL, no policy
    media = Media(str(uuid.uuid4()), str(uuid.uuid4()), uuid.uuid4().hex, hls_ladder)
    for video in (media.video_a, media.video_b):
        for file in sorted(hls_ladder.rglob("*")):
            if file.is_file():
                key = f"videos/{video}/{media.job}/{file.relative_to(hls_ladder).as_posix()}"
                # S3 uploads without a ContentType get binary/octet-stream: the edge must fix it.
                s3.put_object(Bucket=BUCKET, Key=key, Body=file.read_bytes())
    anonymous = httpx.get(f"{s3.meta.endpoint_url}/{BUCKET}/videos/{media.video_a}/{media.job}/master.m3u8", timeout=5)
    assert anonymous.status_code == 403, "the media bucket must refuse unsigned reads"
    return media


@pytest.fixture(scope="session")
def api_upstreams(recording_server) -> dict[str, RecordingServer]:
    return {name: recording_server(name) for name in ("gallery", "upload", "streaming", "chat")}


@pytest.fixture(scope="session")
def edge(start_edge, s3_hostport: str, media: Media, api_upstreams: dict[str, RecordingServer]) -> Edge:
    """The edge in front of SeaweedFS (playback) and recording servers (API)."""
    return start_edge(
        s3_hostport=s3_hostport,
        gallery=api_upstreams["gallery"].hostport,
        upload=api_upstreams["upload"].hostport,
        streaming=api_upstreams["streaming"].hostport,
        chat=api_upstreams["chat"].hostport,
    )
