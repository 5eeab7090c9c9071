"""Chat REST API under ``/api/streams/{streamId}/chat`` (docs/api.md). JSON, camelCase, errors
as RFC 9457 problem+json with stable codes:

- 404 ``STREAM_NOT_FOUND``: chat never heard of the stream (no ``stream.started`` / ``stream.ended``);
- 404 ``MESSAGE_NOT_FOUND``; 401 ``UNAUTHENTICATED``; 403 ``NOT_MODERATOR`` (moderation needs the stream
  owner or a moderator the owner named), 403 ``NOT_OWNER`` (naming moderators), 403 ``CANNOT_MODERATE``
  (a moderator acting on the owner or another moderator); 422 ``VALIDATION_ERROR``.

Routes: ``GET /chat`` room state; ``GET /chat/messages?limit&cursor`` history newest first with
``{items, nextCursor}``; ``DELETE /chat/messages/{id}``; ``GET|POST /chat/bans``,
``DELETE /chat/bans/{userId}`` (``durationSeconds`` makes a timeout, none a ban);
``PUT /chat/settings`` (``slowModeSeconds``); ``GET /chat/moderators``, ``PUT|DELETE
/chat/moderators/{userId}`` (owner only); ``POST /chat/ticket``: a short-lived ticket for the WebSocket
URL (the bearer token never goes into a URL; docs/security.md).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reelhouse.chat.adapters import store
from reelhouse.chat.domain import rules
from reelhouse.chat.http.schemas import (
    BanIn,
    BanOut,
    BanPage,
    ChatMessagePage,
    ModeratorPage,
    RoomOut,
    SettingsIn,
    TicketOut,
)
from reelhouse.chat.http.ws import issue_ws_ticket
from reelhouse.platform.auth import CurrentUser, Principal, verify_token
from reelhouse.platform.openapi import problems
from reelhouse.platform.problems import ProblemError

router = APIRouter(prefix="/api/streams/{stream_id}/chat", tags=["chat"])
_bearer = HTTPBearer(auto_error=False)


def optional_principal(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal | None:
    if creds is None:
        return None
    return verify_token(creds.credentials, request.app.state.settings)


MaybeUser = Annotated[Principal | None, Depends(optional_principal)]


def _room_out(room: store.Room) -> dict:
    return {
        "streamId": str(room.stream_id),
        "ownerId": room.owner_id,
        "status": room.status,
        "visibility": room.visibility,
        "slowModeSeconds": room.slow_mode_seconds,
        "viewers": room.viewers,
        "lastSeq": room.last_seq,
    }


async def _room(session, stream_id: uuid.UUID, principal: Principal | None) -> store.Room:  # noqa: ANN001
    room = await store.get_room(session, stream_id)
    if room is None:
        raise ProblemError(404, rules.STREAM_NOT_FOUND, "Stream not found", "chat knows no such stream")
    if not room.public and principal is None:
        raise ProblemError(401, rules.UNAUTHENTICATED, "Sign in to read this chat")
    return room


async def _moderated_room(session, stream_id: uuid.UUID, user: Principal) -> tuple[store.Room, list[str]]:  # noqa: ANN001
    room = await _room(session, stream_id, user)
    mods = await store.list_moderators(session, stream_id)
    if not rules.can_moderate(user.user_id, room.owner_id, mods):
        raise ProblemError(403, "NOT_MODERATOR", "Only the stream owner or a moderator may do this")
    return room, mods


@router.get("", response_model=RoomOut, operation_id="getChatRoom", responses=problems((404, "STREAM_NOT_FOUND")))
async def get_room(stream_id: uuid.UUID, request: Request, user: MaybeUser) -> dict:
    async with request.app.state.db.session() as s:
        return _room_out(await _room(s, stream_id, user))


@router.post("/ticket", response_model=TicketOut, operation_id="createChatTicket", responses=problems((404, "STREAM_NOT_FOUND")))
async def ws_ticket(stream_id: uuid.UUID, request: Request, user: CurrentUser) -> dict:
    """A ticket standing for the caller at this stream's chat WebSocket for ``chat_ticket_ttl_seconds``
    (30 s): ``{ticket, expiresAt, webSocketPath}``; connect to ``webSocketPath`` (``?ticket=...``).
    404 STREAM_NOT_FOUND when chat knows no such stream; 401 without a valid bearer token."""
    async with request.app.state.db.session() as s:
        await _room(s, stream_id, user)
    ticket, expires = issue_ws_ticket(request.app.state.chat.settings, stream_id, user)
    return {
        "ticket": ticket,
        "expiresAt": datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z"),
        "webSocketPath": f"/ws/streams/{stream_id}/chat?ticket={ticket}",
    }


@router.get("/messages", response_model=ChatMessagePage, operation_id="listChatMessages", responses=problems((404, "STREAM_NOT_FOUND")))
async def list_messages(
    stream_id: uuid.UUID,
    request: Request,
    user: MaybeUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="nextCursor of the previous page")] = None,
) -> dict:
    before = None
    if cursor is not None:
        try:
            before = int(cursor)
        except ValueError:
            raise ProblemError(422, "VALIDATION_ERROR", "Invalid cursor", "cursor must be a nextCursor value") from None
    async with request.app.state.db.session() as s:
        await _room(s, stream_id, user)
    items, nxt = await store.page(request.app.state.db, stream_id, before, limit)
    return {"items": items, "nextCursor": str(nxt) if nxt is not None else None}


@router.delete(
    "/messages/{message_id}", status_code=204, operation_id="deleteChatMessage",
    responses=problems((404, "STREAM_NOT_FOUND"), (404, "MESSAGE_NOT_FOUND"), (403, "NOT_MODERATOR"), (403, "CANNOT_MODERATE")),
)  # fmt: skip
async def delete_message(stream_id: uuid.UUID, message_id: uuid.UUID, request: Request, user: CurrentUser) -> Response:
    """Delete a message (owner or moderator). 403 NOT_MODERATOR for anyone else; 403 CANNOT_MODERATE when
    a moderator targets the owner's or another moderator's message (:func:`rules.can_delete_message`);
    404 MESSAGE_NOT_FOUND."""
    async with request.app.state.db.session() as s:
        room, mods = await _moderated_room(s, stream_id, user)
        author = await store.message_author(s, stream_id, message_id)
        if author is None:
            raise ProblemError(404, "MESSAGE_NOT_FOUND", "Message not found")
        if not rules.can_delete_message(user.user_id, author, room.owner_id, mods):
            raise ProblemError(
                403,
                "CANNOT_MODERATE",
                "You may not delete this message",
                "a moderator cannot delete the owner's or another moderator's messages",
            )
        if not await store.delete_message(s, stream_id, message_id, user.user_id):
            raise ProblemError(404, "MESSAGE_NOT_FOUND", "Message not found")
    return Response(status_code=204)


@router.get("/bans", response_model=BanPage, operation_id="listChatBans", responses=problems((404, "STREAM_NOT_FOUND"), (403, "NOT_MODERATOR")))
async def list_bans(stream_id: uuid.UUID, request: Request, user: CurrentUser) -> dict:
    async with request.app.state.db.session() as s:
        await _moderated_room(s, stream_id, user)
        return {"items": await store.list_bans(s, stream_id), "nextCursor": None}


@router.post(
    "/bans", status_code=201, response_model=BanOut, operation_id="banChatUser",
    responses=problems((404, "STREAM_NOT_FOUND"), (403, "NOT_MODERATOR"), (403, "CANNOT_MODERATE")),
)  # fmt: skip
async def ban_user(stream_id: uuid.UUID, body: BanIn, request: Request, user: CurrentUser) -> dict:
    async with request.app.state.db.session() as s:
        room, mods = await _moderated_room(s, stream_id, user)
        if not rules.can_act_on(user.user_id, body.user_id, room.owner_id, mods):
            raise ProblemError(403, "CANNOT_MODERATE", "You may not ban this user", "the owner cannot be banned; only the owner bans moderators")
        until = datetime.now(UTC) + timedelta(seconds=body.duration_seconds) if body.duration_seconds else None
        await store.ban(s, stream_id, body.user_id, until, body.reason, user.user_id)
    return {"userId": body.user_id, "until": until.isoformat() if until else None, "reason": body.reason}


@router.delete("/bans/{user_id}", status_code=204, operation_id="unbanChatUser", responses=problems((404, "STREAM_NOT_FOUND"), (403, "NOT_MODERATOR")))
async def unban_user(stream_id: uuid.UUID, user_id: str, request: Request, user: CurrentUser) -> Response:
    async with request.app.state.db.session() as s:
        await _moderated_room(s, stream_id, user)
        await store.unban(s, stream_id, user_id, user.user_id)
    return Response(status_code=204)


@router.put("/settings", response_model=RoomOut, operation_id="updateChatSettings", responses=problems((404, "STREAM_NOT_FOUND"), (403, "NOT_MODERATOR")))
async def put_settings(stream_id: uuid.UUID, body: SettingsIn, request: Request, user: CurrentUser) -> dict:
    async with request.app.state.db.session() as s:
        await _moderated_room(s, stream_id, user)
        await store.set_slow_mode(s, stream_id, body.slow_mode_seconds, user.user_id)
        return _room_out(await store.get_room(s, stream_id))


@router.get("/moderators", response_model=ModeratorPage, operation_id="listChatModerators", responses=problems((404, "STREAM_NOT_FOUND"), (403, "NOT_MODERATOR")))
async def list_mods(stream_id: uuid.UUID, request: Request, user: CurrentUser) -> dict:
    async with request.app.state.db.session() as s:
        _, mods = await _moderated_room(s, stream_id, user)
    return {"items": [{"userId": m} for m in mods], "nextCursor": None}


@router.put(
    "/moderators/{user_id}", status_code=204, operation_id="addChatModerator",
    responses=problems((404, "STREAM_NOT_FOUND"), (403, "NOT_OWNER")),
)  # fmt: skip
async def add_mod(stream_id: uuid.UUID, user_id: str, request: Request, user: CurrentUser) -> Response:
    async with request.app.state.db.session() as s:
        room = await _room(s, stream_id, user)
        if user.user_id != room.owner_id:
            raise ProblemError(403, "NOT_OWNER", "Only the stream owner names moderators")
        await store.set_moderator(s, stream_id, user_id, user.user_id, True)
    return Response(status_code=204)


@router.delete(
    "/moderators/{user_id}", status_code=204, operation_id="removeChatModerator",
    responses=problems((404, "STREAM_NOT_FOUND"), (403, "NOT_OWNER")),
)  # fmt: skip
async def remove_mod(stream_id: uuid.UUID, user_id: str, request: Request, user: CurrentUser) -> Response:
    async with request.app.state.db.session() as s:
        room = await _room(s, stream_id, user)
        if user.user_id != room.owner_id:
            raise ProblemError(403, "NOT_OWNER", "Only the stream owner names moderators")
        await store.set_moderator(s, stream_id, user_id, user.user_id, False)
    return Response(status_code=204)
