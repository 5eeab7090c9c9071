"""Authorization matrix (issue 10, "Drills"): for every route of the API document that takes an object
id, another user's object answers 404 or 403, never its data, and changes nothing (docs/api.md,
"Conventions": another user's private resource answers 404).

The routes come from the document the edge serves (``/api/openapi.json``), so a new route with an id is
checked as soon as it exists; a path parameter this test does not know fails it. Alice owns a private
video, an upload session, a live stream with its chat room and a webhook; Bob (signed in) and an anonymous client
try every route on them with a valid body, so only authorization can refuse them.
"""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pytest

pytestmark = pytest.mark.e2e

# Valid bodies (by operationId) so a refusal cannot come from request validation.
BODIES = {
    "updateVideo": {"title": "taken over"},
    "createUpload": {},
    "createUploadPartUrls": {"partNumber": 1},
    "completeUpload": {"parts": [{"partNumber": 1, "etag": "0123456789abcdef0123456789abcdef"}]},
    "updateStream": {"title": "taken over"},
    "replaceStream": {"title": "taken over"},
    "banChatUser": {"userId": "carol"},
    "updateChatSettings": {"slowModeSeconds": 30},
    "updateWebhook": {"description": "taken over"},
}
# A live stream's chat is public by design (docs/api.md, "Chat"): anyone signed in may read it and get a
# WebSocket ticket; moderating it stays with the owner and the moderators the owner names.
PUBLIC_CHAT = {"getChatRoom", "listChatMessages", "createChatTicket"}


@pytest.fixture(scope="module")
def alice_objects(stack, make_client) -> dict:
    """Alice's private video, upload session and started private stream (its chat room open to users
    who are signed in)."""
    alice = make_client(f"authz-alice-{uuid.uuid4().hex[:8]}")
    title = f"alice secret {uuid.uuid4().hex[:8]}"
    video = alice.create_video(title, mime="video/mp4", size=1_000_000, file_name="a.mp4")
    assert video["visibility"] == "private"
    session = alice.create_upload(video["id"])
    stream = alice.request("POST", "/api/streams", json={"title": title, "recordingEnabled": False})
    alice.request("POST", f"/api/streams/{stream['id']}/start")
    hook_url = f"http://127.0.0.1:9/alice-{uuid.uuid4().hex[:8]}"  # never called here
    webhook = alice.request("POST", "/api/webhooks", json={"url": hook_url, "description": title})
    deadline = time.monotonic() + 30
    while alice.http.get(f"/api/streams/{stream['id']}/chat").status_code != 200:  # stream.started reached chat
        assert time.monotonic() < deadline, "the chat room never opened"
        time.sleep(0.3)
    return {
        "client": alice,
        "title": title,
        "secrets": [title, stream["ingest"]["streamKey"], video["ownerId"], hook_url, webhook["secret"]],
        "ids": {
            "video_id": video["id"],
            "sid": session["uploadSessionId"],
            "stream_id": stream["id"],
            "message_id": str(uuid.uuid4()),
            "user_id": "carol",
            "endpoint_id": webhook["id"],
            "delivery_id": str(uuid.uuid4()),
        },
    }


def _id_operations(edge: str) -> list[tuple[str, str, dict]]:
    doc = httpx.get(f"{edge}/api/openapi.json", timeout=10).json()
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if "{" in path:
                ops.append((method.upper(), path, op))
    return ops


def _call(edge: str, token_header: str | None, method: str, path: str, op: dict, ids: dict) -> httpx.Response:
    names = re.findall(r"\{([a-z_]+)\}", path)
    unknown = [n for n in names if n not in ids]
    assert not unknown, f"{method} {path}: this test does not know the path parameter(s) {unknown}: add an object"
    url = edge + re.sub(r"\{([a-z_]+)\}", lambda m: ids[m.group(1)], path)
    headers = {"Authorization": token_header} if token_header else {}
    body = BODIES.get(op["operationId"])
    if "requestBody" in op and op["requestBody"].get("required") and body is None:
        pytest.fail(f"{op['operationId']} needs a valid body in BODIES")
    return httpx.request(method, url, headers=headers, json=body, timeout=30)


def test_another_user_gets_404_or_403_on_every_route_with_an_id_never_data(stack, make_client, alice_objects) -> None:
    edge = stack["edge"]
    bob = make_client(f"authz-bob-{uuid.uuid4().hex[:8]}")
    ops = _id_operations(edge)
    assert len(ops) >= 25  # the document really lists the routes
    checked = []
    for method, path, op in ops:
        response = _call(edge, bob.http.headers["authorization"], method, path, op, alice_objects["ids"])
        where = f"{op['operationId']} ({method} {path}) as another user"
        if op["operationId"] in PUBLIC_CHAT:
            assert response.status_code == 200, (where, response.text)
            continue
        assert response.status_code in (403, 404), (where, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), where
        for secret in alice_objects["secrets"]:
            assert secret not in response.text, (where, "leaks", secret)
        checked.append(op["operationId"])
    assert {"getVideo", "updateVideo", "deleteVideo", "getPlayback", "getUpload", "completeUpload", "getStream",
            "getStreamIngest", "rotateStreamKey", "stopStream", "banChatUser", "addChatModerator", "getWebhook",
            "rotateWebhookSecret", "listWebhookDeliveries"} <= set(checked)  # fmt: skip

    # ...and nothing of Alice's changed
    alice = alice_objects["client"]
    ids = alice_objects["ids"]
    assert alice.get_video(ids["video_id"])["title"] == alice_objects["title"]
    assert alice.get_upload(ids["sid"])["status"] == "INITIATED"
    stream = alice.request("GET", f"/api/streams/{ids['stream_id']}")
    assert stream["status"] == "LIVE" and stream["title"] == alice_objects["title"]
    assert alice.request("GET", f"/api/streams/{ids['stream_id']}/chat/bans")["items"] == []
    assert alice.request("GET", f"/api/streams/{ids['stream_id']}/chat/moderators")["items"] == []
    assert alice.request("GET", f"/api/streams/{ids['stream_id']}/chat")["slowModeSeconds"] == 0
    assert alice.request("GET", f"/api/webhooks/{ids['endpoint_id']}")["description"] == alice_objects["title"]


def test_without_a_token_every_route_with_an_id_is_refused(stack, alice_objects) -> None:
    edge = stack["edge"]
    for method, path, op in _id_operations(edge):
        response = _call(edge, None, method, path, op, alice_objects["ids"])
        where = f"{op['operationId']} ({method} {path}) anonymously"
        # Alice's stream is private (the default), so even its chat is for signed-in users only
        assert response.status_code in (401, 403, 404), (where, response.status_code, response.text)
        for secret in alice_objects["secrets"]:
            assert secret not in response.text, (where, "leaks", secret)
