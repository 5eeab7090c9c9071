"""Service tests: the chat WebSocket and REST API through the TestClient against real PostgreSQL and
RabbitMQ (stream events published on the real broker, messages fanned out through the real outbox
relay and this replica's fan-out queue)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import anyio
import pytest
from sqlalchemy import text
from starlette.websockets import WebSocketDisconnect

from reelhouse.chat.http.ws import TICKET_PURPOSE
from reelhouse.chat.main import build_service
from reelhouse.contracts.events import StreamEndedV1, StreamStartedV1
from reelhouse.platform.auth import Principal, issue_ticket, issue_token, ticket_key
from reelhouse.testing import EventCapture, auth_headers, publish_event, running_service, wait_until

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def svc(platform_settings):
    defn = build_service(platform_settings)
    defn.settings.chat_rate_burst = 4
    defn.settings.chat_rate_per_second = 0.5
    defn.settings.chat_max_message_chars = 100
    defn.settings.chat_presence_interval_seconds = 3600  # ticks are driven by the tests
    with running_service(defn) as client:
        try:
            yield client, defn.settings
        finally:
            while _OPEN:  # a failed test must not leave sessions that block the portal's shutdown
                ws = _OPEN.pop()
                try:
                    ws.__exit__(None, None, None)
                except Exception:  # noqa: BLE001
                    pass


_OPEN: list = []


def _token(settings, user: str, name: str | None = None) -> str:
    return issue_token(user, settings.jwt_secret, username=name)


def recv(ws, timeout: float = 10.0) -> dict:
    """Next frame as JSON (fails after ``timeout`` seconds instead of hanging)."""

    async def _r():
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    msg = ws.portal.call(_r)
    if msg["type"] == "websocket.close":
        raise WebSocketDisconnect(msg.get("code", 1000), msg.get("reason", ""))
    return json.loads(msg["text"])


def recv_until(ws, pred, timeout: float = 10.0, skip=("presence",)) -> dict:
    """The first frame (buffered or new) matching ``pred``; frames that do not match stay buffered
    for later calls, except ``skip`` types which are dropped."""
    buf = _BUF.setdefault(id(ws), [])
    for i, f in enumerate(buf):
        if pred(f):
            return buf.pop(i)
    while True:
        f = recv(ws, timeout)
        if f.get("type") in skip:
            continue
        if pred(f):
            return f
        buf.append(f)


_BUF: dict[int, list] = {}


def ticket(client, sid, token) -> str:
    r = client.post(f"/api/streams/{sid}/chat/ticket", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()["ticket"]


def connect(client, sid, token=None, last_seq=None):
    q = []
    if token:
        q.append(f"ticket={ticket(client, sid, token)}")
    if last_seq is not None:
        q.append(f"lastSeq={last_seq}")
    ws = client.websocket_connect(f"/ws/streams/{sid}/chat" + ("?" + "&".join(q) if q else ""))
    ws.__enter__()
    _OPEN.append(ws)
    welcome = recv(ws)
    assert welcome["type"] == "welcome", welcome
    history = recv(ws)
    assert history["type"] == "history", history
    return ws, welcome, history


def start_stream(client, settings, owner="owner-1") -> uuid.UUID:
    sid = uuid.uuid4()
    publish_event(settings, StreamStartedV1(stream_id=sid, owner_id=owner, started_at=datetime.now(UTC)))
    wait_until(lambda: client.get(f"/api/streams/{sid}/chat").status_code == 200, message="room opened")
    return sid


def post(ws, text_, nonce=None) -> dict:
    ws.send_text(json.dumps({"type": "post", "text": text_, **({"nonce": nonce} if nonce else {})}))
    return recv_until(ws, lambda f: f["type"] in ("ack", "error"))


def test_unknown_stream_is_refused_with_a_clear_frame(svc):
    client, _ = svc
    sid = uuid.uuid4()
    with client.websocket_connect(f"/ws/streams/{sid}/chat") as ws:
        f = recv(ws)
        assert f == {"type": "error", "code": "STREAM_NOT_FOUND", "message": f["message"]}
        with pytest.raises(WebSocketDisconnect) as e:
            recv(ws)
        assert e.value.code == 4404
    r = client.get(f"/api/streams/{sid}/chat/messages")
    assert r.status_code == 404 and r.json()["code"] == "STREAM_NOT_FOUND"


def test_bad_token_is_refused(svc):
    client, settings = svc
    sid = start_stream(client, settings)
    with client.websocket_connect(f"/ws/streams/{sid}/chat?ticket=nope") as ws:
        assert recv(ws)["code"] == "UNAUTHENTICATED"
        with pytest.raises(WebSocketDisconnect) as e:
            recv(ws)
        assert e.value.code == 1008


def _refused(client, path) -> dict:
    with client.websocket_connect(path) as ws:
        frame = recv(ws)
        with pytest.raises(WebSocketDisconnect) as e:
            recv(ws)
    assert frame["code"] == "UNAUTHENTICATED" and e.value.code == 1008, frame
    return frame


def test_a_jwt_never_goes_in_the_url_only_a_short_ticket_for_one_stream(svc):
    """docs/security.md: the WebSocket URL (logged by proxies) carries a 30 s ticket for one stream, never
    the bearer token."""
    client, settings = svc
    sid, other = start_stream(client, settings), start_stream(client, settings)
    token = issue_token("ticket-user", settings.jwt_secret)
    assert "never goes in a URL" in _refused(client, f"/ws/streams/{sid}/chat?access_token={token}")["message"]
    r = client.post(f"/api/streams/{sid}/chat/ticket", headers={"Authorization": f"Bearer {token}"})
    body = r.json()
    assert body["webSocketPath"] == f"/ws/streams/{sid}/chat?ticket={body['ticket']}"
    assert token not in body["webSocketPath"]
    _refused(client, f"/ws/streams/{other}/chat?ticket={body['ticket']}")  # another stream's socket
    expired, _ = issue_ticket(Principal("ticket-user"), f"chat:{sid}", ticket_key(settings.playback_signing_secret, TICKET_PURPOSE), ttl_seconds=-1)
    _refused(client, f"/ws/streams/{sid}/chat?ticket={expired}")
    ws, welcome, _ = connect(client, sid, token)
    assert post(ws, "hello with a ticket")["type"] == "ack"
    assert client.post(f"/api/streams/{sid}/chat/ticket").status_code == 401


def test_post_receive_history_and_reconnect_with_last_seq(svc):
    client, settings = svc
    sid = start_stream(client, settings)
    alice, welcome, history = connect(client, sid, _token(settings, "alice", "Alice"))
    assert welcome["canPost"] is True and welcome["status"] == "LIVE" and history["messages"] == []
    viewer, vw, _ = connect(client, sid)  # anonymous reader
    assert vw["canPost"] is False and vw["userId"] is None

    acks = [post(alice, f"hello {i} <b>not html</b>", nonce=f"n{i}") for i in range(3)]
    assert [a["type"] for a in acks] == ["ack"] * 3 and [a["nonce"] for a in acks] == ["n0", "n1", "n2"]
    assert [a["seq"] for a in acks] == [1, 2, 3]
    got = [recv_until(viewer, lambda f: f["type"] == "message") for _ in range(3)]
    assert [m["seq"] for m in got] == [1, 2, 3]
    assert got[0]["text"] == "hello 0 <b>not html</b>" and got[0]["username"] == "Alice" and got[0]["userId"] == "alice"
    mine = [recv_until(alice, lambda f: f["type"] == "message") for _ in range(3)]
    assert [m["id"] for m in mine] == [a["id"] for a in acks]

    # a new client gets the recent history
    late, _, hist = connect(client, sid)
    assert [m["seq"] for m in hist["messages"]] == [1, 2, 3]
    late.__exit__(None, None, None)

    # reconnect: the viewer saw seq 1 only, misses 2..5
    viewer.__exit__(None, None, None)
    bob, _, _ = connect(client, sid, _token(settings, "bob"))  # alice used her burst of 4
    assert post(bob, "four")["seq"] == 4 and post(bob, "five")["seq"] == 5
    again, w2, hist2 = connect(client, sid, last_seq=1)
    assert [m["seq"] for m in hist2["messages"]] == [2, 3, 4, 5] and hist2["truncated"] is False
    assert w2["lastSeq"] == 5
    post(bob, "six")
    assert recv_until(again, lambda f: f["type"] == "message")["seq"] == 6  # live continues, no duplicates
    again.__exit__(None, None, None)

    page1 = client.get(f"/api/streams/{sid}/chat/messages?limit=4").json()
    assert [m["seq"] for m in page1["items"]] == [6, 5, 4, 3] and page1["nextCursor"] == "3"
    page2 = client.get(f"/api/streams/{sid}/chat/messages?limit=4&cursor={page1['nextCursor']}").json()
    assert [m["seq"] for m in page2["items"]] == [2, 1] and page2["nextCursor"] is None
    alice.__exit__(None, None, None)


def test_error_frames_have_stable_codes(svc):
    client, settings = svc
    sid = start_stream(client, settings)
    anon, _, _ = connect(client, sid)
    assert post(anon, "hi")["code"] == "UNAUTHENTICATED"
    anon.__exit__(None, None, None)

    ws, _, _ = connect(client, sid, _token(settings, "bob-errors"))
    ws.send_text("{not json")
    assert recv(ws)["code"] == "INVALID_JSON"
    ws.send_bytes(b"\x00\x01")
    assert recv(ws)["code"] == "BINARY_NOT_SUPPORTED"
    ws.send_text(json.dumps({"type": "shout"}))
    assert recv(ws)["code"] == "INVALID_FRAME"
    long = post(ws, "x" * 101)
    assert long["code"] == "MESSAGE_TOO_LONG" and long["maxChars"] == 100
    assert post(ws, " \n\t ")["code"] == "EMPTY_MESSAGE"
    ws.send_text(json.dumps({"type": "ping"}))
    assert recv(ws) == {"type": "pong"}
    codes = [post(ws, f"m{i}").get("code", "ok") for i in range(6)]
    assert codes[:4] == ["ok"] * 4 and "RATE_LIMITED" in codes[4:]
    rl = post(ws, "again")
    assert rl["code"] == "RATE_LIMITED" and rl["retryAfterMs"] > 0
    ws.send_text("x" * 9000)
    assert recv_until(ws, lambda f: f["type"] == "error")["code"] == "FRAME_TOO_LARGE"
    with pytest.raises(WebSocketDisconnect) as e:
        while True:
            recv(ws)
    assert e.value.code == 1009


def test_moderation_delete_ban_timeout_slow_mode_and_moderators(svc):
    client, settings = svc
    sid = start_stream(client, settings, owner="streamer")
    owner_h, mod_h, carol_h = (auth_headers(settings, u) for u in ("streamer", "mod-1", "carol"))
    carol, _, _ = connect(client, sid, _token(settings, "carol"))
    watcher, _, _ = connect(client, sid)
    ack = post(carol, "spam")
    recv_until(watcher, lambda f: f["type"] == "message")

    assert client.delete(f"/api/streams/{sid}/chat/messages/{ack['id']}", headers=carol_h).json()["code"] == "NOT_MODERATOR"
    assert client.put(f"/api/streams/{sid}/chat/moderators/mod-1", headers=carol_h).status_code == 403
    assert client.put(f"/api/streams/{sid}/chat/moderators/mod-1", headers=owner_h).status_code == 204
    assert client.delete(f"/api/streams/{sid}/chat/messages/{ack['id']}", headers=mod_h).status_code == 204
    assert recv_until(watcher, lambda f: f["type"] == "deleted") == {"type": "deleted", "messageId": ack["id"], "seq": ack["seq"]}
    assert client.get(f"/api/streams/{sid}/chat/messages").json()["items"] == []
    assert client.delete(f"/api/streams/{sid}/chat/messages/{uuid.uuid4()}", headers=mod_h).json()["code"] == "MESSAGE_NOT_FOUND"

    # issue 10 item 7: a moderator cannot delete the owner's (nor another moderator's) messages; the owner can
    assert client.put(f"/api/streams/{sid}/chat/moderators/mod-2", headers=owner_h).status_code == 204
    owner_ws, _, _ = connect(client, sid, _token(settings, "streamer"))
    mod2_ws, _, _ = connect(client, sid, _token(settings, "mod-2"))
    owner_msg, mod2_msg = post(owner_ws, "welcome everyone"), post(mod2_ws, "be nice")
    for target in (owner_msg, mod2_msg):
        r = client.delete(f"/api/streams/{sid}/chat/messages/{target['id']}", headers=mod_h)
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "CANNOT_MODERATE"
    texts = [m["text"] for m in client.get(f"/api/streams/{sid}/chat/messages").json()["items"]]
    assert "welcome everyone" in texts and "be nice" in texts
    assert client.delete(f"/api/streams/{sid}/chat/messages/{mod2_msg['id']}", headers=owner_h).status_code == 204
    own = post(mod2_ws, "typo")
    assert client.delete(f"/api/streams/{sid}/chat/messages/{own['id']}", headers=auth_headers(settings, "mod-2")).status_code == 204
    assert [m["text"] for m in client.get(f"/api/streams/{sid}/chat/messages").json()["items"]] == ["welcome everyone"]
    for ws in (owner_ws, mod2_ws):
        ws.__exit__(None, None, None)

    # timeout, then ban; the moderator cannot ban the owner
    assert client.post(f"/api/streams/{sid}/chat/bans", json={"userId": "streamer"}, headers=mod_h).json()["code"] == "CANNOT_MODERATE"
    r = client.post(f"/api/streams/{sid}/chat/bans", json={"userId": "carol", "durationSeconds": 60}, headers=mod_h)
    assert r.status_code == 201 and r.json()["until"]
    assert recv_until(watcher, lambda f: f["type"] == "moderation" and f["action"] == "TIMEOUT")["userId"] == "carol"
    assert post(carol, "let me talk")["code"] == "TIMED_OUT"
    client.post(f"/api/streams/{sid}/chat/bans", json={"userId": "carol", "reason": "spam"}, headers=owner_h)
    assert post(carol, "please")["code"] == "BANNED"
    assert [b["userId"] for b in client.get(f"/api/streams/{sid}/chat/bans", headers=owner_h).json()["items"]] == ["carol"]
    assert client.delete(f"/api/streams/{sid}/chat/bans/carol", headers=owner_h).status_code == 204
    assert post(carol, "thanks")["type"] == "ack"

    # slow mode applies to viewers, not to the owner
    client.app.state.chat.limiter._buckets.clear()  # carol spent her burst on the refused posts above
    r = client.put(f"/api/streams/{sid}/chat/settings", json={"slowModeSeconds": 30}, headers=owner_h)
    assert r.status_code == 200 and r.json()["slowModeSeconds"] == 30
    slow = post(carol, "again")
    assert slow["code"] == "SLOW_MODE" and slow["retryAfterMs"] > 0
    owner, _, _ = connect(client, sid, _token(settings, "streamer"))
    assert post(owner, "one")["type"] == "ack" and post(owner, "two")["type"] == "ack"
    for ws in (carol, watcher, owner):
        ws.__exit__(None, None, None)


def test_room_closes_when_stream_ends_and_history_stays(svc):
    client, settings = svc
    sid = start_stream(client, settings, owner="o2")
    ws, _, _ = connect(client, sid, _token(settings, "dave"))
    assert post(ws, "before the end")["type"] == "ack"
    publish_event(settings, StreamEndedV1(stream_id=sid, owner_id="o2", ended_at=datetime.now(UTC)))
    assert recv_until(ws, lambda f: f["type"] == "room") == {"type": "room", "status": "ENDED"}
    wait_until(lambda: client.get(f"/api/streams/{sid}/chat").json()["status"] == "ENDED")
    assert post(ws, "after")["code"] == "ROOM_CLOSED"
    ws.__exit__(None, None, None)
    _, w, hist = connect(client, sid)
    assert w["status"] == "ENDED" and w["canPost"] is False and [m["text"] for m in hist["messages"]] == ["before the end"]


def test_presence_is_published_and_sent_to_clients(svc):
    client, settings = svc
    sid = start_stream(client, settings)
    rt = client.app.state.chat
    with EventCapture(settings, ["chat.presence.v1"]) as cap:
        a, _, _ = connect(client, sid)
        b, _, _ = connect(client, sid, _token(settings, "erin"))
        assert (sid, 2) in client.portal.call(rt.presence_tick)
        ev = cap.wait_for(lambda e: e["data"]["streamId"] == str(sid) and e["data"]["viewers"] == 2)
        assert ev[0]["type"] == "reelhouse.chat.presence.v1"
        assert recv_until(a, lambda f: f["type"] == "presence", skip=()) == {"type": "presence", "viewers": 2}
        b.__exit__(None, None, None)
        wait_until(lambda: rt.hub.counts().get(sid) == 1)
        assert (sid, 1) in client.portal.call(rt.presence_tick)
        assert client.portal.call(rt.presence_tick) == []  # unchanged: nothing published
        a.__exit__(None, None, None)
    assert client.get(f"/api/streams/{sid}/chat").json()["viewers"] == 1


def test_retention_deletes_rows_older_than_seven_days(svc):
    client, settings = svc
    sid = start_stream(client, settings)
    ws, _, _ = connect(client, sid, _token(settings, "frank"))
    old, new = post(ws, "old"), post(ws, "new")
    ws.__exit__(None, None, None)
    rt = client.app.state.chat

    async def _age():
        async with rt.db.session() as s:
            await s.execute(text("UPDATE chat_messages SET sent_at = now() - interval '8 days' WHERE id = :i"), {"i": uuid.UUID(old["id"])})

    client.portal.call(_age)
    assert client.portal.call(rt.retention_run) >= 1
    items = client.get(f"/api/streams/{sid}/chat/messages").json()["items"]
    assert [m["id"] for m in items] == [new["id"]]
