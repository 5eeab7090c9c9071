"""e2e: an integrator's backend gets signed webhooks from the running stack (docs/webhooks.md).

A receiver in this test registers through the edge, a real clip is uploaded and transcoded, and the
receiver gets ``video.ready`` soon after the gallery commits READY, signed per Standard Webhooks (checked
with the ``standardwebhooks`` library, as an integrator would). A receiver answering 500 is retried on
the stack's default schedule (the first retry 5 s later)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from reelhouse.testing import footage_dir, free_port, wait_until

pytestmark = pytest.mark.e2e

CLIP = footage_dir() / "bigbuckbunny.mp4"


class _Receiver:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = {"/ok": 200, "/broken": 500}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append({"path": self.path, "at": time.time(), "body": body.decode(),
                                          "headers": {k.lower(): v for k, v in self.headers.items()}})
                self.send_response(receiver.status.get(self.path, 404))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a) -> None:  # noqa: ANN002
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def at(self, path: str) -> list[dict]:
        return [r for r in list(self.requests) if r["path"] == path]


@pytest.fixture(scope="module")
def receiver():
    r = _Receiver()
    yield r
    r.server.shutdown()


def test_video_ready_reaches_the_receiver_signed_and_a_failing_receiver_is_retried(make_client, receiver, db_query):
    client = make_client(f"e2e-hooks-{uuid.uuid4().hex[:6]}")
    ok = client.request("POST", "/api/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/ok", "eventTypes": ["video.ready"]})
    broken = client.request("POST", "/api/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/broken", "eventTypes": ["video.ready"]})
    video = client.create_video("Webhook e2e", CLIP)
    client.upload_file(video["id"], CLIP)
    final = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=180)
    assert final["status"] == "READY", final

    (request,) = wait_until(lambda: receiver.at("/ok"), 30, 0.05, "video.ready at the receiver")
    body = Webhook(ok["secret"]).verify(request["body"], request["headers"])
    assert body["type"] == "video.ready" and body["data"]["videoId"] == video["id"] and body["data"]["status"] == "READY"
    # latency from the gallery's READY commit to the receiver (same machine, same clock)
    (ready_at,) = db_query("gallery", "SELECT extract(epoch FROM updated_at) FROM videos WHERE id = %s", (uuid.UUID(video["id"]),))[0]
    latency = request["at"] - float(ready_at)
    print(f"\nREADY committed -> video.ready received: {latency:.3f} s")
    assert latency < 5.0, latency

    # the 500 receiver: first attempt at once, the retry 5 s later (the default schedule's first step)
    attempts = wait_until(lambda: (rs := receiver.at("/broken")) and len(rs) >= 2 and rs, 30, 0.2, "a retry")
    assert attempts[1]["at"] - attempts[0]["at"] >= 4.5
    assert attempts[0]["headers"]["webhook-id"] == attempts[1]["headers"]["webhook-id"]
    deliveries = client.request("GET", f"/api/webhooks/{broken['id']}/deliveries")["items"]
    assert deliveries[0]["status"] == "PENDING" and deliveries[0]["attempts"] >= 2 and deliveries[0]["lastStatusCode"] == 500
    assert json.loads(attempts[1]["body"])["data"]["videoId"] == video["id"]
    client.request("DELETE", f"/api/webhooks/{broken['id']}")  # stop retrying a receiver that will never answer
