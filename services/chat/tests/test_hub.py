"""Unit tests of the in-memory hub (no network, no database): ordered delivery with gap filling,
duplicates, history/live hand-over and the slow-client rule."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from reelhouse.chat.adapters.hub import Connection, Hub

pytestmark = pytest.mark.unit

SID = uuid.uuid4()


def _msg(seq: int) -> dict:
    return {"id": f"m{seq}", "seq": seq, "streamId": str(SID), "userId": "u", "username": "u", "text": f"t{seq}", "sentAt": "2026-11-22T00:00:00Z"}


class Sink:
    """A fake socket: records frames; ``block`` makes sends hang like a client that never reads."""

    def __init__(self, block: bool = False) -> None:
        self.frames: list[dict] = []
        self.block = block
        self.closed: int | None = None
        self.aborted = False

    async def send(self, frame: str) -> None:
        if self.block:
            await asyncio.Event().wait()
        self.frames.append(json.loads(frame))

    async def close(self, code: int, reason: str) -> None:
        if self.block:
            await asyncio.Event().wait()
        self.closed = code

    def abort(self) -> None:
        self.aborted = True


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def _hub(db_last: int = 0, stored: dict[int, dict] | None = None) -> tuple[Hub, list]:
    calls = []

    async def last(_sid):
        return db_last

    async def between(_sid, a, b):
        calls.append((a, b))
        return [dict(stored[s]) for s in range(a + 1, b) if s in (stored or {})]

    return Hub(last, between), calls


async def _live(hub: Hub, sink: Sink, limit: int = 100, last: int = 0) -> Connection:
    c = Connection(sink.send, sink.close, None, limit, abort=sink.abort)
    await hub.join(SID, c)
    c.go_live(last)
    return c


async def test_out_of_order_fanout_is_delivered_in_seq_order_with_gap_filled_from_db():
    stored = {s: _msg(s) for s in range(1, 6)}
    stored[3]["deleted"] = True  # deleted meanwhile: skipped, still counts
    hub, calls = _hub(db_last=0, stored=stored)
    sink = Sink()
    await _live(hub, sink)
    await hub.on_posted(_msg(1))
    await hub.on_posted(_msg(5))  # 2..4 still in flight
    await hub.on_posted(_msg(2))  # late duplicates are dropped
    await hub.on_posted(_msg(4))
    await hub.on_posted(_msg(6))
    await _settle()
    assert [f["seq"] for f in sink.frames] == [1, 2, 4, 5, 6]
    assert calls == [(1, 5)]


async def test_history_then_live_without_duplicates_or_loss():
    hub, _ = _hub(db_last=3)
    sink = Sink()
    c = Connection(sink.send, sink.close, None, 100)
    await hub.join(SID, c)
    await hub.on_posted(_msg(4))  # arrives while the history is loading: parked
    await hub.on_posted(_msg(5))
    c.push_obj({"type": "history", "messages": [_msg(3), _msg(4)]})  # history read up to seq 4
    c.go_live(4)
    await hub.on_posted(_msg(6))
    await _settle()
    assert [f.get("seq") for f in sink.frames if f["type"] == "message"] == [5, 6]


async def test_deleted_before_posted_is_never_shown():
    hub, _ = _hub()
    sink = Sink()
    await _live(hub, sink)
    hub.on_deleted(SID, "m1", 1)
    await hub.on_posted(_msg(1))
    await hub.on_posted(_msg(2))
    await _settle()
    assert [f["type"] for f in sink.frames] == ["deleted", "message"] and sink.frames[1]["seq"] == 2


async def test_slow_client_is_dropped_and_does_not_hold_back_the_room():
    hub, _ = _hub()
    fast, slow = Sink(), Sink(block=True)
    await _live(hub, fast)
    s = await _live(hub, slow, limit=10)
    for i in range(1, 51):
        await hub.on_posted(_msg(i))
        await asyncio.sleep(0)
    await _settle()
    assert [f["seq"] for f in fast.frames] == list(range(1, 51))
    assert s.dead and len(s.queue) == 0
    await asyncio.sleep(1.2)  # the close frame cannot be written either: the transport is aborted
    assert slow.aborted
    hub.leave(s)
    assert hub.counts() == {SID: 1}
