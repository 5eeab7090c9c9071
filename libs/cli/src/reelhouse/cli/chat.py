"""``reelhouse chat tail``: a live stream's chat over its WebSocket (docs/cli.md, "chat tail").

Each connection first asks ``POST /api/streams/{id}/chat/ticket`` for a 30-second ticket (the bearer
token never goes in a URL: the chat service refuses ``token``/``access_token`` parameters, docs/security.md)
and connects to the ``webSocketPath`` it answers, under the edge. After a dropped connection it takes a
new ticket and reconnects with ``lastSeq`` = the last message seen, so the server replays exactly what
was missed (``services/chat/.../http/ws.py``: ``history`` after ``lastSeq``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from reelhouse.client import ReelhouseClient

CLOSE_NOT_FOUND = 4404
CLOSE_POLICY = 1008
FINAL_CLOSE_CODES = (CLOSE_NOT_FOUND, CLOSE_POLICY, 1009)
"""Close codes after which reconnecting cannot help (no such stream, refused, frame too large)."""

MAX_RECONNECTS = 20


class ChatClosed(Exception):
    """The server closed the chat for good: ``code`` (WebSocket close code) and ``reason``."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"chat closed ({code}): {reason}")
        self.code = code
        self.reason = reason


class ChatTail:
    """Follows one stream's chat through the edge at ``edge`` (``http(s)://host[:port]``)."""

    def __init__(self, client: ReelhouseClient, edge: str, stream_id: str) -> None:
        self.client = client
        self.ws_base = "ws" + edge[len("http"):] if edge.startswith("http") else edge
        self.stream_id = stream_id
        self.last_seq: int | None = None

    def socket_url(self) -> str:
        """A fresh ticket's WebSocket URL (with ``lastSeq`` when reconnecting)."""
        ticket = self.client.request("POST", f"/api/streams/{self.stream_id}/chat/ticket")
        url = self.ws_base.rstrip("/") + ticket["webSocketPath"]
        return url + (f"&lastSeq={self.last_seq}" if self.last_seq is not None else "")

    def run(self, on_frame: Callable[[dict, bool], None], reconnect_delay: float = 1.0) -> None:
        """Call ``on_frame(frame, replay)`` for every server frame until the room ends or ``on_frame``
        raises; ``replay`` is True for the ``welcome``/``history`` frames of a reconnection. Raises
        :class:`ChatClosed` when the server refuses the connection for good (unknown stream, refused
        ticket) and :class:`reelhouse.client.ApiError` when the ticket is refused."""
        attempts = 0
        reconnecting = False
        while True:
            try:
                with connect(self.socket_url(), open_timeout=10, close_timeout=2) as ws:
                    attempts = 0
                    for raw in ws:
                        frame = json.loads(raw)
                        kind = frame.get("type")
                        if kind == "message" and isinstance(frame.get("seq"), int):
                            self.last_seq = max(self.last_seq or 0, frame["seq"])
                        elif kind == "history":
                            seqs = [m["seq"] for m in frame.get("messages", []) if isinstance(m.get("seq"), int)]
                            if seqs:
                                self.last_seq = max(self.last_seq or 0, *seqs)
                        on_frame(frame, reconnecting and kind in ("welcome", "history"))
                        if kind == "room" and frame.get("status") == "ENDED":
                            return
                    code, reason = ws.close_code, ws.close_reason or ""
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                reason = exc.rcvd.reason if exc.rcvd else str(exc)
            except (OSError, InvalidStatus, TimeoutError) as exc:
                code, reason = None, str(exc)
            if code in FINAL_CLOSE_CODES:
                raise ChatClosed(code, reason)
            attempts += 1
            if attempts > MAX_RECONNECTS:
                raise ChatClosed(code, f"gave up after {MAX_RECONNECTS} reconnections: {reason}")
            reconnecting = True
            time.sleep(min(reconnect_delay * attempts, 10))
