"""The nginx edge in front of the API: the API document it serves, CORS for browsers on other origins, and
the limits per client address (docs/security.md, "CORS" and "Edge limits"; deploy/k8s/base/nginx/
edge.conf.template and cors.js).

Each test starts nginx from the real template with its own settings, in front of small local servers
standing in for the services (no S3, no media: nothing here touches playback).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

pytestmark = pytest.mark.service

REPO = Path(__file__).resolve().parents[2]
NGINX_DIR = REPO / "deploy/k8s/base/nginx"
APP = "https://app.example.com"
DEV = "http://localhost:5173"
EVIL = "https://evil.example.net"
UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


class HoldingServer:
    """Answers every request only when released (API requests), or ``101 Switching Protocols`` at once and
    then keeps the connection open until the client goes (WebSocket upgrades): to fill connection slots."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.arrived = threading.Semaphore(0)
        holder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                holder.arrived.release()
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    self.send_response(101)
                    self.send_header("Upgrade", "websocket")
                    self.send_header("Connection", "Upgrade")
                    self.end_headers()
                    self.wfile.flush()
                    while self.rfile.read(1):  # until the edge closes the tunnel
                        pass
                    self.close_connection = True
                    return
                holder.release.wait(30)
                body = b'{"held": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.hostport = f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def holding() -> Iterator[HoldingServer]:
    server = HoldingServer()
    yield server
    server.close()


def _edge(start_edge, upstreams: dict, **settings: str):
    """An edge whose services are ``upstreams`` (name -> host:port); no S3 behind /play/ (port 9)."""
    return start_edge(s3_hostport="127.0.0.1:9", **upstreams, **settings)


@pytest.fixture
def recorders(api_upstreams) -> dict[str, str]:
    return {name: server.hostport for name, server in api_upstreams.items()}


@pytest.fixture
def cors_edge(start_edge, recorders):
    return _edge(start_edge, recorders, CORS_ALLOWED_ORIGINS=f"{APP},{DEV}/")


@pytest.fixture
def same_origin_edge(start_edge, recorders):
    return _edge(start_edge, recorders)


def _problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["code"] == code
    return body


def _websocket(base_url: str, origin: str | None, source: str = "127.0.0.1") -> tuple[socket.socket, int]:
    """Send a WebSocket upgrade for the chat path through the edge; returns (open socket, status)."""
    parts = urlsplit(base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10, source_address=(source, 0))
    headers = {"Host": parts.netloc, **UPGRADE}
    if origin:
        headers["Origin"] = origin
    request = "GET /ws/streams/s1/chat HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(request.encode())
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(1024)
        if not chunk:
            break
        head += chunk
    return sock, int(head.split(b" ", 2)[1])


# --------------------------------------------------------------------------- the API document


def test_the_edge_serves_the_committed_api_document_and_its_page(same_origin_edge, api_upstreams) -> None:
    seen_before = sum(len(s.requests) for s in api_upstreams.values())
    doc = httpx.get(f"{same_origin_edge.base_url}/api/openapi.json")
    assert doc.status_code == 200
    assert doc.headers["content-type"].startswith("application/json")
    assert doc.json() == json.loads((NGINX_DIR / "openapi.json").read_text())
    assert doc.json()["openapi"].startswith("3.1")

    page = httpx.get(f"{same_origin_edge.base_url}/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "openapi.json" in page.text
    # self-hosted: the page loads nothing from another host, and the browser is told so
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page.text)
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert sum(len(s.requests) for s in api_upstreams.values()) == seen_before  # no service was asked


# --------------------------------------------------------------------------- CORS


def test_an_allowed_origin_may_read_api_answers_and_errors(cors_edge, api_upstreams) -> None:
    for origin in (APP, DEV):
        response = httpx.get(f"{cors_edge.base_url}/api/videos", headers={"Origin": origin, "Authorization": "Bearer t"})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin  # echoed, never "*"
        exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
        assert {"etag", "location", "x-request-id", "retry-after"} <= exposed
        assert "origin" in response.headers["vary"].lower()
        assert "access-control-allow-credentials" not in response.headers  # bearer tokens, no cookies
    assert api_upstreams["gallery"].requests[-1].headers["authorization"] == "Bearer t"
    # the edge's own errors are readable too
    missing = httpx.get(f"{cors_edge.base_url}/api/nothing-here", headers={"Origin": APP})
    _problem(missing, 404, "NOT_FOUND")
    assert missing.headers["access-control-allow-origin"] == APP


def test_an_origin_not_on_the_list_gets_no_cors_headers(cors_edge, same_origin_edge) -> None:
    for edge, origin in ((cors_edge, EVIL), (cors_edge, APP + ".evil.net"), (same_origin_edge, APP)):
        response = httpx.get(f"{edge.base_url}/api/videos", headers={"Origin": origin})
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-expose-headers" not in response.headers


def test_a_preflight_is_answered_by_the_edge(cors_edge, api_upstreams) -> None:
    seen_before = len(api_upstreams["gallery"].requests)
    response = httpx.options(
        f"{cors_edge.base_url}/api/videos/abc",
        headers={"Origin": APP, "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization,content-type,if-match"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == APP
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "if-match"} <= allowed
    assert int(response.headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in response.headers
    assert len(api_upstreams["gallery"].requests) == seen_before  # never reached the service


def test_a_preflight_from_a_refused_origin_gets_403(cors_edge, same_origin_edge) -> None:
    for edge, origin in ((cors_edge, EVIL), (same_origin_edge, APP)):
        response = httpx.options(f"{edge.base_url}/api/videos", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        _problem(response, 403, "CORS_ORIGIN_REFUSED")
        assert "access-control-allow-origin" not in response.headers


def test_websocket_upgrades_from_a_foreign_origin_are_refused(cors_edge, same_origin_edge, api_upstreams) -> None:
    chat = api_upstreams["chat"]
    own = cors_edge.base_url  # the page the edge serves itself: same origin
    for edge, origin, allowed in (
        (cors_edge, APP, True),
        (cors_edge, own, True),
        (cors_edge, None, True),  # no Origin: not a browser
        (cors_edge, EVIL, False),
        (same_origin_edge, same_origin_edge.base_url, True),
        (same_origin_edge, APP, False),
    ):
        seen_before = len(chat.requests)
        headers = {**UPGRADE, **({"Origin": origin} if origin else {})}
        response = httpx.get(f"{edge.base_url}/ws/streams/s1/chat", headers=headers)
        if allowed:
            assert response.status_code == 200, (origin, response.text)  # the stand-in chat answered
            assert len(chat.requests) == seen_before + 1
        else:
            _problem(response, 403, "CORS_ORIGIN_REFUSED")
            assert len(chat.requests) == seen_before, origin


# --------------------------------------------------------------------------- limits per address


def test_past_the_request_rate_the_edge_answers_429_and_other_addresses_pass(start_edge, recorders) -> None:
    edge = _edge(start_edge, recorders, EDGE_API_RATE_PER_SECOND="1", EDGE_API_BURST="3", CORS_ALLOWED_ORIGINS=APP)
    with httpx.Client(base_url=edge.base_url) as client:
        statuses = [client.get("/api/videos", headers={"Origin": APP}) for _ in range(30)]
    assert statuses[0].status_code == 200  # normal traffic passes
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    body = _problem(limited[0], 429, "RATE_LIMITED")
    assert body["title"] == "Too Many Requests"
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].headers["access-control-allow-origin"] == APP  # a browser app can read why
    # the limit is per client address: another address is not affected
    with httpx.Client(base_url=edge.base_url, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
        assert other.get("/api/videos").status_code == 200
    # the web app and the health check are not API traffic
    with httpx.Client(base_url=edge.base_url) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/some/app/route").status_code == 200


def test_concurrent_api_requests_per_address_are_capped(start_edge, recorders, holding) -> None:
    edge = _edge(start_edge, {**recorders, "gallery": holding.hostport}, EDGE_API_CONNECTIONS_PER_ADDRESS="1")
    result: dict[str, httpx.Response] = {}
    first = threading.Thread(target=lambda: result.setdefault("first", httpx.get(f"{edge.base_url}/api/videos", timeout=30)))
    first.start()
    assert holding.arrived.acquire(timeout=10)  # the first request is inside the service now
    _problem(httpx.get(f"{edge.base_url}/api/videos/abc"), 429, "RATE_LIMITED")
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
        assert other.get(f"{edge.base_url}/api/streams").status_code == 200  # another address is not capped
    holding.release.set()
    first.join(30)
    assert result["first"].status_code == 200


def test_open_websockets_per_address_are_capped(start_edge, recorders, holding) -> None:
    edge = _edge(start_edge, {**recorders, "chat": holding.hostport}, EDGE_WS_CONNECTIONS_PER_ADDRESS="2")
    open_sockets = []
    try:
        for _ in range(2):
            sock, status = _websocket(edge.base_url, None)
            open_sockets.append(sock)
            assert status == 101
        sock, status = _websocket(edge.base_url, None)
        sock.close()
        assert status == 429
        # another address still connects
        sock, status = _websocket(edge.base_url, None, source="127.0.0.2")
        open_sockets.append(sock)
        assert status == 101
        # API requests are not WebSockets: they pass
        assert httpx.get(f"{edge.base_url}/api/videos").status_code == 200
        # a slot freed by a closed socket is given again
        open_sockets.pop(0).close()
        for _ in range(200):
            sock, status = _websocket(edge.base_url, None)
            open_sockets.append(sock)
            if status == 101:
                break
            time.sleep(0.05)  # the edge frees the slot once it has closed the tunnel
        assert status == 101
    finally:
        for sock in open_sockets:
            sock.close()
