"""e2e: live chat on the running stack (two chat replicas behind the nginx edge, real RabbitMQ and
PostgreSQL), driven with the ``websockets`` client library like a browser would.

The room is opened the way the streaming service opens it, by a ``stream.started`` event on the
stack's exchange (the chat service only learns about streams from the bus)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from reelhouse.contracts.events import StreamStartedV1
from reelhouse.platform.auth import issue_token
from reelhouse.testing import EventCapture, publish_event, wait_until

from .conftest import E2E_ENV

pytestmark = pytest.mark.e2e

BASE = int(E2E_ENV["REELHOUSE_STACK_PORT_BASE"])
REPLICA_1 = f"ws://127.0.0.1:{BASE + 5}"
REPLICA_2 = f"ws://127.0.0.1:{BASE + 15}"


def edge_ws(stack) -> str:
    return stack["edge"].replace("http://", "ws://")


class Chat:
    """One chat client: frames are read into a buffer by a background task."""

    def __init__(self, ws) -> None:  # noqa: ANN001
        self.ws = ws
        self.frames: list[dict] = []
        self.closed: ConnectionClosed | SimpleNamespace | None = None
        self.cond = asyncio.Condition()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                async with self.cond:
                    self.frames.append(json.loads(raw))
                    self.cond.notify_all()
        except ConnectionClosed as exc:
            self.closed = exc
        async with self.cond:
            if self.closed is None:  # clean close: the iterator just ends
                self.closed = SimpleNamespace(rcvd=self.ws.protocol.close_rcvd)
            self.cond.notify_all()

    async def wait(self, pred, timeout: float = 10.0) -> dict:
        async def _find():
            async with self.cond:
                while True:
                    for f in self.frames:
                        if pred(f):
                            return f
                    if self.closed is not None:
                        raise AssertionError(f"closed ({self.closed}) before the frame came; frames: {self.frames[-5:]}")
                    await self.cond.wait()

        return await asyncio.wait_for(_find(), timeout)

    def messages(self) -> list[dict]:
        hist = [m for f in self.frames if f["type"] == "history" for m in f["messages"]]
        return hist + [f for f in self.frames if f["type"] == "message"]

    async def post(self, text: str, nonce: str | None = None) -> dict:
        nonce = nonce or uuid.uuid4().hex[:12]
        await self.ws.send(json.dumps({"type": "post", "text": text, "nonce": nonce}))
        return await self.wait(lambda f: f.get("nonce") == nonce and f["type"] in ("ack", "error"))

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait_for(self.reader, 5)


async def ticket(base: str, sid: uuid.UUID, token: str) -> str:
    """A WebSocket ticket from the same host (``POST /api/streams/{id}/chat/ticket``): the JWT itself
    never goes into the WebSocket URL (docs/security.md)."""
    async with httpx.AsyncClient(base_url=base.replace("ws://", "http://"), timeout=10) as http:
        r = await http.post(f"/api/streams/{sid}/chat/ticket", headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        return r.json()["ticket"]


async def join(base: str, sid: uuid.UUID, token: str | None = None, last_seq: int | None = None) -> Chat:
    q = [f"ticket={await ticket(base, sid, token)}"] if token else []
    if last_seq is not None:
        q.append(f"lastSeq={last_seq}")
    ws = await connect(f"{base}/ws/streams/{sid}/chat" + ("?" + "&".join(q) if q else ""), open_timeout=10)
    c = Chat(ws)
    await c.wait(lambda f: f["type"] == "history")
    return c


@pytest.fixture
def tok(e2e_settings):
    return lambda user: issue_token(user, e2e_settings.jwt_secret, username=user.title())


@pytest.fixture
def live_stream(stack, e2e_settings):
    """Factory: a stream id whose chat room is open (``stream.started`` published, seen through the edge)."""

    async def _open(owner: str = "e2e-streamer") -> uuid.UUID:
        sid = uuid.uuid4()
        started = StreamStartedV1(stream_id=sid, owner_id=owner, started_at=datetime.now(UTC))
        await asyncio.to_thread(publish_event, e2e_settings, started)
        await asyncio.to_thread(
            wait_until, lambda: httpx.get(f"{stack['edge']}/api/streams/{sid}/chat").status_code == 200, 20, 0.1, "chat room open"
        )
        return sid

    return _open


async def test_the_edge_logs_neither_the_ticket_nor_a_token_of_a_chat_socket(stack, live_stream, tok):
    """docs/security.md: the JWT never goes in the WebSocket URL (a 30 s ticket does), and the edge's access
    log drops the query of /ws/ requests."""
    sid = await live_stream()
    jwt_token = tok("e2e-logged")
    tick = await ticket(edge_ws(stack), sid, jwt_token)
    c = await join(edge_ws(stack), sid, jwt_token)
    assert (await c.post("hello through the edge"))["type"] == "ack"
    await c.close()
    log_file = Path(stack["env"]["REELHOUSE_STACK_RUN_DIR"]) / "edge" / "access.log"

    def logged() -> str:
        text = log_file.read_text()
        return text if f"/ws/streams/{sid}/chat?-" in text else ""

    text = await asyncio.to_thread(wait_until, logged, 10, 0.1, "the socket's access log line")
    assert tick not in text and jwt_token not in text and "ticket=" not in text


async def test_unknown_stream_is_refused_through_the_edge(stack):
    async with connect(f"{edge_ws(stack)}/ws/streams/{uuid.uuid4()}/chat") as ws:
        frame = json.loads(await ws.recv())
        assert frame["type"] == "error" and frame["code"] == "STREAM_NOT_FOUND"
        with pytest.raises(ConnectionClosed) as e:
            await ws.recv()
        assert e.value.rcvd.code == 4404


async def test_two_replicas_see_each_others_messages_in_order_and_reconnect_loses_nothing(stack, live_stream, tok):
    sid = await live_stream()
    a = await join(REPLICA_1, sid, tok("e2e-ann"))
    b = await join(REPLICA_2, sid, tok("e2e-ben"))
    via_edge = await join(edge_ws(stack), sid)  # anonymous reader through nginx
    for i in range(5):
        assert (await a.post(f"ann {i}"))["type"] == "ack"
        assert (await b.post(f"ben {i}"))["type"] == "ack"
    for c in (a, b, via_edge):
        await c.wait(lambda f: f["type"] == "message" and f["seq"] == 10)
    expected = [f"{who} {i}" for i in range(5) for who in ("ann", "ben")]
    for c in (a, b, via_edge):
        got = c.messages()
        assert [m["seq"] for m in got] == list(range(1, 11))
        assert [m["text"] for m in got] == expected

    # the edge reader drops after seq 10; 4 more messages are posted on both replicas; it reconnects
    await via_edge.close()
    cat = await join(REPLICA_1, sid, tok("e2e-cat"))  # ann and ben used their burst
    dan = await join(REPLICA_2, sid, tok("e2e-dan"))
    for i in range(2):
        assert (await cat.post(f"cat late {i}"))["type"] == "ack"
        assert (await dan.post(f"dan late {i}"))["type"] == "ack"
    again = await join(edge_ws(stack), sid, last_seq=10)
    hist = next(f for f in again.frames if f["type"] == "history")
    assert [m["seq"] for m in hist["messages"]] == [11, 12, 13, 14] and hist["truncated"] is False
    assert (await cat.post("after reconnect"))["type"] == "ack"
    await again.wait(lambda f: f["type"] == "message" and f["seq"] == 15)
    assert [m["seq"] for m in again.messages()] == list(range(11, 16))
    for c in (a, b):
        await c.wait(lambda f: f["type"] == "message" and f["seq"] == 15)
        assert [m["seq"] for m in c.messages()] == list(range(1, 16))
    for c in (a, b, cat, dan, again):
        await c.close()


async def test_ban_and_delete_take_effect_on_both_replicas(stack, live_stream, tok):
    sid = await live_stream(owner="e2e-owner")
    owner_h = {"Authorization": f"Bearer {tok('e2e-owner')}"}
    troll1 = await join(REPLICA_1, sid, tok("e2e-troll"))
    troll2 = await join(REPLICA_2, sid, tok("e2e-troll"))
    watch1 = await join(REPLICA_1, sid)
    watch2 = await join(REPLICA_2, sid)
    ack = await troll1.post("buy followers")
    for w in (watch1, watch2):
        await w.wait(lambda f: f["type"] == "message" and f["id"] == ack["id"])

    async with httpx.AsyncClient(base_url=stack["edge"], headers=owner_h) as http:
        assert (await http.delete(f"/api/streams/{sid}/chat/messages/{ack['id']}")).status_code == 204
        for w in (watch1, watch2):
            await w.wait(lambda f: f["type"] == "deleted" and f["messageId"] == ack["id"])
        assert (await http.get(f"/api/streams/{sid}/chat/messages")).json()["items"] == []

        r = await http.post(f"/api/streams/{sid}/chat/bans", json={"userId": "e2e-troll", "reason": "spam"})
        assert r.status_code == 201, r.text
    for w in (watch1, watch2):
        await w.wait(lambda f: f["type"] == "moderation" and f["action"] == "BAN" and f["userId"] == "e2e-troll")
    assert (await troll1.post("still here"))["code"] == "BANNED"
    assert (await troll2.post("other replica"))["code"] == "BANNED"
    troll3 = await join(edge_ws(stack), sid, tok("e2e-troll"))
    assert (await troll3.post("new connection"))["code"] == "BANNED"
    for c in (troll1, troll2, troll3, watch1, watch2):
        await c.close()


async def test_rate_and_size_limits_answer_with_error_frames(stack, live_stream, tok):
    sid = await live_stream()
    c = await join(edge_ws(stack), sid, tok("e2e-flooder"))
    limits = next(f for f in c.frames if f["type"] == "welcome")["limits"]
    results = [await c.post(f"flood {i}") for i in range(limits["burst"] + 3)]
    codes = [r.get("code", "ok") for r in results]
    assert codes[: limits["burst"]] == ["ok"] * limits["burst"] and "RATE_LIMITED" in codes
    limited = next(r for r in results if r.get("code") == "RATE_LIMITED")
    assert limited["retryAfterMs"] > 0 and limited["message"]

    big = await c.post("x" * (limits["maxChars"] + 1))
    assert big["code"] == "MESSAGE_TOO_LONG" and big["maxChars"] == limits["maxChars"]
    await c.ws.send(b"\x00binary")
    assert (await c.wait(lambda f: f.get("code") == "BINARY_NOT_SUPPORTED"))["type"] == "error"
    await c.ws.send("{broken json")
    assert (await c.wait(lambda f: f.get("code") == "INVALID_JSON"))["type"] == "error"
    await c.ws.send("y" * (limits["maxFrameBytes"] + 1))
    assert (await c.wait(lambda f: f.get("code") == "FRAME_TOO_LARGE"))["type"] == "error"
    await asyncio.wait_for(c.reader, 5)
    assert c.closed.rcvd is not None and c.closed.rcvd.code == 1009


async def test_presence_is_summed_over_both_replicas(stack, live_stream, e2e_settings):
    sid = await live_stream()
    cap = EventCapture(e2e_settings, ["chat.presence.v1"])
    await asyncio.to_thread(cap.__enter__)
    try:
        clients = [await join(REPLICA_1, sid), await join(REPLICA_2, sid), await join(REPLICA_2, sid)]
        ev = await asyncio.to_thread(cap.wait_for, lambda e: e["data"]["streamId"] == str(sid) and e["data"]["viewers"] == 3, 20)
        assert ev[0]["type"] == "reelhouse.chat.presence.v1"
        await clients[0].wait(lambda f: f["type"] == "presence" and f["viewers"] == 3)
        await clients[2].close()
        await asyncio.to_thread(cap.wait_for, lambda e: e["data"]["streamId"] == str(sid) and e["data"]["viewers"] == 2, 20)
        for c in clients[:2]:
            await c.close()
    finally:
        await asyncio.to_thread(cap.__exit__, None, None, None)


async def test_retention_removes_rows_older_than_seven_days(stack, live_stream, tok, db_query):
    sid = await live_stream()
    c = await join(REPLICA_1, sid, tok("e2e-old-timer"))
    old = [await c.post(f"old {i}") for i in range(3)]
    fresh = await c.post("fresh")
    await c.close()
    aged = db_query(
        "chat",
        "UPDATE chat_messages SET sent_at = now() - interval '8 days' WHERE id = ANY(%s::uuid[]) RETURNING id",
        ([m["id"] for m in old],),
    )
    assert len(aged) == 3
    out = subprocess.run([sys.executable, "-m", "reelhouse.chat.retention"], env={**os.environ, **E2E_ENV}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[1]) >= 3
    left = db_query("chat", "SELECT id::text FROM chat_messages WHERE stream_id = %s", (str(sid),))
    assert [r[0] for r in left] == [fresh["id"]]
    items = httpx.get(f"{stack['edge']}/api/streams/{sid}/chat/messages").json()["items"]
    assert [m["text"] for m in items] == ["fresh"]
