"""WebSocket ``/ws/streams/{streamId}/chat`` (FastAPI/Starlette WebSocket on uvicorn's sans-I/O
websockets protocol).

Connect: ``?ticket=<ticket>`` from ``POST /api/streams/{streamId}/chat/ticket`` (a 30-second ticket for
this stream only; browsers cannot set headers on a WebSocket, and a bearer token in a URL ends up in
proxy logs, so ``access_token``/``token`` parameters are refused: docs/security.md) or an
``Authorization: Bearer`` header; optional ``lastSeq=<n>`` = the ``seq`` of the last message the client
saw. Without either the client may read a public stream's chat but not post.

Server frames (JSON text): ``welcome`` (room state, the caller's rights, limits), then ``history``
(``messages`` ascending by ``seq``; after ``lastSeq`` exactly what was missed, ``truncated`` when more
than 500 were and older ones must be paged over REST, ``deleted`` = ids deleted meanwhile), then live:
``message``, ``deleted``, ``moderation``, ``presence``, ``room``; ``ack`` answers an accepted ``post``
(with its ``nonce``), ``pong`` a ``ping``, and every refusal is ``{"type": "error", "code", "message"}``
with a stable code (see :mod:`reelhouse.chat.domain.rules`).

Client frames: ``{"type": "post", "text": "...", "nonce": "..."}``, ``{"type": "ping"}``.

Close codes: 4404 stream not found, 1008 bad token / private stream without a user / flooding,
1009 frame too large, 1013 too slow (send queue full), 1012 replica restarting.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketState

from reelhouse.chat.adapters import store
from reelhouse.chat.adapters.hub import Connection
from reelhouse.chat.domain import rules
from reelhouse.chat.domain.rules import ChatError, RateLimiter
from reelhouse.platform.auth import Principal, issue_ticket, ticket_key, verify_ticket, verify_token
from reelhouse.platform.problems import ProblemError
from reelhouse.platform.settings import PlatformSettings

log = structlog.get_logger(__name__)

#: Frame types the service sends, and those it accepts (the protocol: docs/chat.asyncapi.yaml).
SERVER_FRAME_TYPES = ("welcome", "history", "message", "deleted", "moderation", "presence", "room", "ack", "pong", "error")
CLIENT_FRAME_TYPES = ("post", "ping")
router = APIRouter(tags=["chat"])

CLOSE_NOT_FOUND = 4404
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
RECONNECT_CAP = 500


TICKET_PURPOSE = "reelhouse chat websocket ticket v1"


def _ticket_key(settings: PlatformSettings) -> bytes:
    return ticket_key(settings.playback_signing_secret, TICKET_PURPOSE)


def issue_ws_ticket(settings: PlatformSettings, stream_id: uuid.UUID, principal: Principal) -> tuple[str, int]:
    """(ticket, expiry unix s) for ``principal`` at ``stream_id``'s chat socket; lifetime
    ``chat_ticket_ttl_seconds``. The key is derived from ``playback_signing_secret`` (every replica has it)."""
    ttl = int(getattr(settings, "chat_ticket_ttl_seconds", 30))
    return issue_ticket(principal, f"chat:{stream_id}", _ticket_key(settings), ttl)


def _principal(ws: WebSocket, stream_id: uuid.UUID, settings: PlatformSettings) -> Principal | None:
    """The caller from ``?ticket=`` or ``Authorization: Bearer``; None when anonymous. Raises ProblemError
    401 for a bad ticket or token, and for a bearer token passed in the URL."""
    if ws.query_params.get("access_token") or ws.query_params.get("token"):
        raise ProblemError(401, rules.UNAUTHENTICATED, "Token in URL refused", "a bearer token never goes in a URL: get a ticket from POST /api/streams/{id}/chat/ticket")
    ticket = ws.query_params.get("ticket")
    if ticket:
        return verify_ticket(ticket, f"chat:{stream_id}", _ticket_key(settings))
    auth = ws.headers.get("authorization")
    if auth and auth.lower().startswith("bearer "):
        return verify_token(auth[7:].strip(), settings)
    return None


def _aborter(ws: WebSocket):  # noqa: ANN202
    """Best effort: the transport of uvicorn's protocol behind ``ws`` (to drop a client that never reads)."""
    proto = getattr(getattr(ws, "_send", None), "__self__", None)
    transport = getattr(proto, "transport", None)
    return transport.abort if transport is not None and hasattr(transport, "abort") else None


async def _refuse(ws: WebSocket, code: str, message: str, close_code: int) -> None:
    await ws.send_json({"type": "error", "code": code, "message": message})
    await ws.close(close_code, code)


@router.websocket("/ws/streams/{stream_id}/chat")
async def chat_socket(ws: WebSocket, stream_id: str) -> None:
    rt = ws.app.state.chat
    settings = rt.settings
    await ws.accept()
    try:
        sid = uuid.UUID(stream_id)
    except ValueError:
        await _refuse(ws, rules.STREAM_NOT_FOUND, "no such stream", CLOSE_NOT_FOUND)
        return
    try:
        principal = _principal(ws, sid, settings)
    except ProblemError as exc:
        await _refuse(ws, rules.UNAUTHENTICATED, exc.detail or "invalid token", CLOSE_POLICY)
        return
    raw_last = ws.query_params.get("lastSeq")
    last_seq: int | None = None
    if raw_last is not None:
        try:
            last_seq = int(raw_last)
            if last_seq < 0:
                raise ValueError
        except ValueError:
            await _refuse(ws, rules.INVALID_FRAME, "lastSeq must be a non-negative integer", CLOSE_POLICY)
            return

    user_id = principal.user_id if principal else None
    username = (principal.username or principal.user_id) if principal else None

    async def close(code: int, reason: str) -> None:
        if ws.application_state == WebSocketState.CONNECTED:
            await ws.close(code, reason)

    conn = Connection(ws.send_text, close, user_id, settings.chat_send_queue_frames, abort=_aborter(ws))
    # Join the room BEFORE reading the history (live frames meanwhile are parked), then read room,
    # moderators and history in ONE transaction: one pooled connection per connect, even in a storm.
    try:
        await rt.hub.join(sid, conn)
        cap = RECONNECT_CAP if last_seq is not None else settings.chat_history_messages
        async with rt.db.session() as s:
            room, msgs, truncated, deleted = await store.history_in(s, sid, last_seq, cap)
            mods = await store.list_moderators(s, sid) if room is not None and principal else []
    except Exception:  # noqa: BLE001 - database unavailable: say so instead of dropping the socket
        rt.hub.leave(conn)
        log.exception("chat.room_lookup_failed", stream_id=str(sid))
        await _refuse(ws, rules.INTERNAL_ERROR, "chat is unavailable; reconnect shortly", 1011)
        return
    if room is None or (not room.public and principal is None):
        rt.hub.leave(conn)
        if room is None:
            await _refuse(ws, rules.STREAM_NOT_FOUND, "no such live stream (chat opens when the stream starts)", CLOSE_NOT_FOUND)
        else:
            await _refuse(ws, rules.FORBIDDEN, "sign in to read this stream's chat", CLOSE_POLICY)
        return
    try:
        conn.push_obj(
            {
                "type": "welcome",
                "streamId": str(sid),
                "status": room.status,
                "userId": user_id,
                "username": username,
                "canPost": bool(principal) and room.live,
                "canModerate": rules.can_moderate(user_id, room.owner_id, mods),
                "slowModeSeconds": room.slow_mode_seconds,
                "viewers": room.viewers,
                "lastSeq": room.last_seq,
                "limits": {
                    "maxChars": settings.chat_max_message_chars,
                    "maxFrameBytes": settings.chat_max_frame_bytes,
                    "burst": settings.chat_rate_burst,
                    "perSecond": settings.chat_rate_per_second,
                },
            }
        )
        conn.push_obj({"type": "history", "messages": msgs, "truncated": truncated, "deleted": deleted})
        conn.go_live(room.last_seq)
        await _receive_loop(ws, rt, conn, sid, principal, username)
    except Exception:  # noqa: BLE001
        log.exception("chat.socket_failed", stream_id=str(sid))
    finally:
        rt.hub.leave(conn)
        if conn.closing and not conn.dead:
            await conn.drained(2.0)  # let the sender flush the explaining error frame, then close
        if not conn.dead:
            conn.dead = True
            if conn.task:
                conn.task.cancel()
        conn.queue.clear()


async def _receive_loop(ws: WebSocket, rt: Any, conn: Connection, sid: uuid.UUID, principal: Principal | None, username: str | None) -> None:  # noqa: ANN401
    settings = rt.settings
    frames: RateLimiter | None = None  # per connection, made on the first frame (idle clients cost nothing)
    floods = 0
    while True:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect" or conn.dead:
            return
        if frames is None:
            frames = RateLimiter(burst=settings.chat_frame_burst, rate=settings.chat_frames_per_second)
        if frames.take("f") > 0:
            floods += 1
            if floods > 20:
                conn.push_obj(ChatError(rules.RATE_LIMITED, "flooding: too many frames").frame())
                conn.finish(CLOSE_POLICY, "flooding")
                return
            conn.push_obj(ChatError(rules.RATE_LIMITED, "too many frames; slow down", retryAfterMs=100).frame())
            continue
        if msg.get("text") is None:
            data = msg.get("bytes") or b""
            if len(data) > settings.chat_max_frame_bytes:
                conn.push_obj(ChatError(rules.FRAME_TOO_LARGE, f"frame larger than {settings.chat_max_frame_bytes} bytes").frame())
                conn.finish(CLOSE_TOO_BIG, "frame too large")
                return
            conn.push_obj(ChatError(rules.BINARY_NOT_SUPPORTED, "binary frames are not supported; send JSON text").frame())
            continue
        try:
            frame = rules.parse_client_frame(msg["text"], settings.chat_max_frame_bytes)
        except ChatError as exc:
            conn.push_obj(exc.frame())
            if exc.code == rules.FRAME_TOO_LARGE:
                conn.finish(CLOSE_TOO_BIG, "frame too large")
                return
            continue
        if frame.type == "ping":
            conn.push_obj({"type": "pong"})
            continue
        await _post(rt, conn, sid, principal, username, frame)


async def _post(rt: Any, conn: Connection, sid: uuid.UUID, principal: Principal | None, username: str | None, frame: rules.ClientFrame) -> None:  # noqa: ANN401
    extra = {"nonce": frame.nonce} if frame.nonce else {}
    try:
        if principal is None:
            raise ChatError(rules.UNAUTHENTICATED, "sign in to post")
        body = rules.clean_text(frame.text, rt.settings.chat_max_message_chars)
        rules.check_rate(rt.limiter, principal.user_id)
        msg = await store.post_message(rt.db, sid, principal.user_id, username or principal.user_id, body, datetime.now(UTC))
    except ChatError as exc:
        conn.push_obj({**exc.frame(), **extra})
        return
    except Exception:  # noqa: BLE001
        log.exception("chat.post_failed", stream_id=str(sid))
        conn.push_obj({"type": "error", "code": rules.INTERNAL_ERROR, "message": "could not store the message; try again", **extra})
        return
    conn.push_obj({"type": "ack", "id": msg["id"], "seq": msg["seq"], **extra})
