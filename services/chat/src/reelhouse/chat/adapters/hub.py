"""In-memory rooms of one replica: which WebSocket connections watch which stream, and delivery to them.

Delivery path: the replica's fan-out queue (see :mod:`reelhouse.chat.adapters.fanout`) hands every
``chat.*`` event to :meth:`Hub.on_posted` / :meth:`Hub.broadcast`. Each message is encoded to JSON once
and the same string is appended to every connection's bounded send queue (no awaiting per client); one
small sender task per connection writes its queue to the socket, so a slow socket only delays itself.
A connection whose queue is full is dropped with close code 1013 (try again later): its queue is freed
at once and the socket is aborted if it cannot even take the close frame.

Order: RabbitMQ may hand a replica a stream's messages out of ``seq`` order (two outbox relays run, one
per replica). Every room keeps the highest ``seq`` it delivered; a message with ``seq`` beyond the next
one makes the room fetch the missing ``seq`` range from PostgreSQL first (all smaller ``seq`` are
committed by then, see :mod:`reelhouse.chat.adapters.store`), and a message at or below it is a
duplicate and dropped. Each connection also keeps its own last ``seq`` so what it got in its
history frame is never sent twice.
"""

from __future__ import annotations

import asyncio
import collections
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from prometheus_client import Counter, Gauge

log = structlog.get_logger(__name__)

CONNECTIONS = Gauge("reelhouse_chat_connections", "Open chat WebSocket connections on this replica.")
DELIVERIES = Counter("reelhouse_chat_deliveries_total", "Frames queued to chat clients on this replica.")
SLOW_DROPS = Counter("reelhouse_chat_slow_client_drops_total", "Clients disconnected because their send queue was full.")
GAP_FILLS = Counter("reelhouse_chat_gap_fills_total", "Fan-out gaps filled from the database.")

CLOSE_SLOW = 1013


class Connection:
    """One client socket with a bounded send queue.

    ``send`` is the coroutine that writes one text frame; ``close(code, reason)`` closes; ``abort``
    (optional) drops the transport. A sender task exists only while the queue has frames (an idle
    connection costs no task). ``last_seq`` is the newest message ``seq`` the client has been given;
    while ``ready`` is False (history being loaded) room frames are parked in ``pending``.
    """

    __slots__ = ("send", "close", "abort", "user_id", "limit", "queue", "dead", "last_seq", "ready", "pending", "task", "stream_id", "closing")

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        user_id: str | None,
        limit: int,
        abort: Callable[[], None] | None = None,
    ) -> None:
        self.send = send
        self.close = close
        self.abort = abort
        self.user_id = user_id
        self.limit = limit
        self.queue: collections.deque[str] = collections.deque()
        self.dead = False
        self.last_seq = 0
        self.ready = False
        self.pending: list[tuple[int | None, str]] | None = []
        self.task: asyncio.Task | None = None
        self.stream_id: uuid.UUID | None = None
        self.closing: tuple[int, str] | None = None

    def push(self, frame: str) -> bool:
        """Queue a frame; a full queue kills the connection (1013). Returns False when dropped."""
        if self.dead or self.closing:
            return False
        q = self.queue
        if len(q) >= self.limit:
            self.kill(CLOSE_SLOW, "too slow: send queue full")
            SLOW_DROPS.inc()
            return False
        q.append(frame)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._sender())
        return True

    def push_obj(self, obj: dict[str, Any]) -> bool:
        return self.push(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))

    def kill(self, code: int, reason: str) -> None:
        """Stop sending, free the queue and close (abort the transport if the close cannot be sent)."""
        if self.dead:
            return
        self.dead = True
        self.queue.clear()
        self.pending = None
        if self.task is not None:
            self.task.cancel()
        asyncio.get_running_loop().create_task(self._close(code, reason))

    def finish(self, code: int, reason: str) -> None:
        """Send what is queued (e.g. the error frame explaining why), then close with ``code``."""
        if self.dead or self.closing:
            return
        self.closing = (code, reason)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._sender())

    async def _close(self, code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(self.close(code, reason), 1.0)
        except Exception:  # noqa: BLE001 - stuck or already gone: drop the transport
            if self.abort is not None:
                self.abort()

    async def _sender(self) -> None:
        q = self.queue
        try:
            while q and not self.dead:
                await self.send(q.popleft())
            if self.closing and not self.dead:
                self.dead = True
                await self._close(*self.closing)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the socket went away; the receive loop notices
            self.dead = True
            q.clear()
        finally:
            self.task = None

    async def drained(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) until the sender has written everything queued."""
        task = self.task
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except (TimeoutError, asyncio.CancelledError, Exception):  # noqa: BLE001
                pass

    def deliver(self, seq: int | None, frame: str) -> None:
        """A room frame (``seq`` None for non-message frames): parked while loading history, skipped
        when the client already has that ``seq``."""
        if self.pending is not None and not self.ready:
            self.pending.append((seq, frame))
            return
        if seq is not None:
            if seq <= self.last_seq:
                return
            self.last_seq = seq
        self.push(frame)

    def go_live(self, last_seq: int) -> None:
        """History sent up to ``last_seq``: flush the parked frames after it and deliver directly from now."""
        self.last_seq = max(self.last_seq, last_seq)
        parked, self.pending = self.pending or [], None
        self.ready = True
        for seq, frame in parked:
            self.deliver(seq, frame)


class Room:
    """The connections of one stream on this replica and the highest ``seq`` delivered to them."""

    __slots__ = ("stream_id", "conns", "last_seq", "lock", "deleted")

    def __init__(self, stream_id: uuid.UUID) -> None:
        self.stream_id = stream_id
        self.conns: set[Connection] = set()
        self.last_seq: int | None = None
        self.lock = asyncio.Lock()
        self.deleted: collections.OrderedDict[str, None] = collections.OrderedDict()

    def fan(self, seq: int | None, frame: str) -> int:
        n = 0
        for c in tuple(self.conns):
            c.deliver(seq, frame)
            n += 1
        DELIVERIES.inc(n)
        return n


def encode(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Hub:
    """All rooms of this replica. ``room_last_seq(stream_id)`` reads a room's newest committed ``seq``;
    ``fetch_between(stream_id, after, before)`` reads committed messages in ``(after, before)``."""

    def __init__(
        self,
        room_last_seq: Callable[[uuid.UUID], Awaitable[int]],
        fetch_between: Callable[[uuid.UUID, int, int], Awaitable[list[dict]]],
    ) -> None:
        self.rooms: dict[uuid.UUID, Room] = {}
        self.room_last_seq = room_last_seq
        self.fetch_between = fetch_between
        self.connections = 0

    def counts(self) -> dict[uuid.UUID, int]:
        """Connected clients per stream on this replica."""
        return {sid: len(r.conns) for sid, r in self.rooms.items()}

    async def join(self, stream_id: uuid.UUID, conn: Connection) -> Room:
        """Add ``conn`` to the stream's room (created and initialised from the database if new)."""
        room = self.rooms.get(stream_id)
        if room is None:
            room = self.rooms[stream_id] = Room(stream_id)
            async with room.lock:
                room.last_seq = await self.room_last_seq(stream_id)
        room.conns.add(conn)
        conn.stream_id = stream_id
        self.connections += 1
        CONNECTIONS.inc()
        return room

    def leave(self, conn: Connection) -> None:
        sid = conn.stream_id
        room = self.rooms.get(sid) if sid else None
        if room is None or conn not in room.conns:
            return
        room.conns.discard(conn)
        self.connections -= 1
        CONNECTIONS.dec()
        if not room.conns:
            del self.rooms[sid]

    async def on_posted(self, msg: dict[str, Any]) -> None:
        """Deliver a ``chat.posted`` (wire dict with ``seq``) in ``seq`` order, filling gaps from the db."""
        room = self.rooms.get(uuid.UUID(msg["streamId"]))
        if room is None:
            return
        seq = msg.get("seq")
        async with room.lock:
            if seq is None:  # an event from a producer without seq: deliver as is
                room.fan(None, encode({"type": "message", **msg}))
                return
            if room.last_seq is not None and seq <= room.last_seq:
                return  # duplicate or already filled from the database
            if room.last_seq is not None and seq > room.last_seq + 1:
                GAP_FILLS.inc()
                for m in await self.fetch_between(room.stream_id, room.last_seq, seq):
                    if not m.pop("deleted", False) and m["id"] not in room.deleted:
                        room.fan(m["seq"], encode({"type": "message", **m}))
                    room.last_seq = m["seq"]
            room.last_seq = seq
            if msg["id"] in room.deleted:
                return
            room.fan(seq, encode({"type": "message", **msg}))

    def on_deleted(self, stream_id: uuid.UUID, message_id: str, seq: int | None) -> None:
        room = self.rooms.get(stream_id)
        if room is None:
            return
        room.deleted[message_id] = None
        while len(room.deleted) > 1000:
            room.deleted.popitem(last=False)
        room.fan(None, encode({"type": "deleted", "messageId": message_id, "seq": seq}))

    def broadcast(self, stream_id: uuid.UUID, obj: dict[str, Any]) -> None:
        """A non-message frame (moderation, presence, room state) to every client of the stream."""
        room = self.rooms.get(stream_id)
        if room is not None:
            room.fan(None, encode(obj))

    def close_all(self, code: int = 1012, reason: str = "service restarting") -> None:
        for room in list(self.rooms.values()):
            for c in list(room.conns):
                c.kill(code, reason)
