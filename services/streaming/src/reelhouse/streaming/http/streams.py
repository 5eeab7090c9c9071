"""Live streams REST API under ``/api/streams`` (docs/api.md, "Live streams").

Every route needs a bearer JWT. Streams are private to their owner: another user's stream is a 404
``STREAM_NOT_FOUND`` for every route, indistinguishable from a missing one. Errors are problem+json:
``STREAM_NOT_FOUND`` (404), ``INVALID_CURSOR`` (400), ``ETAG_MISMATCH`` (412, ``If-Match``),
``STREAM_ENDED`` / ``STREAM_LIVE`` / ``STREAM_NOT_LIVE`` (409, see the status machine),
``INGEST_UNAVAILABLE`` (503: the broadcaster could not be disconnected; nothing changed);
``UNSUPPORTED_IMAGE`` (415), ``IMAGE_TOO_LARGE`` (413), ``EMPTY_IMAGE`` (422) for a thumbnail upload.

The stream key appears in exactly two answers: ``POST /api/streams`` (once) and the owner's
``GET /api/streams/{id}/ingest`` (and ``POST .../rotate-key``, which returns the new one).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
import uuid
from datetime import datetime
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.platform.auth import CurrentUser
from reelhouse.platform.messaging.outbox import add_event  # noqa: F401 - re-exported for tests
from reelhouse.platform.openapi import problems
from reelhouse.platform.problems import ProblemError
from reelhouse.platform.signing import HmacPathSigner
from reelhouse.streaming.adapters.db import LiveStream, utcnow
from reelhouse.streaming.adapters.ingest import (
    IngestUnavailable,
    delete_thumbnail,
    drop_publisher,
    put_thumbnail,
)
from reelhouse.streaming.domain.live import (
    LIVE_PLAYLIST,
    MAX_THUMBNAIL_BYTES,
    Action,
    IllegalStreamTransition,
    StreamStatus,
    derive_key,
    hash_key,
    initial_status,
    live_scope,
    new_key_nonce,
    thumbnail_key,
    thumbnail_refusal,
    transition,
)
from reelhouse.streaming.handlers.live import apply_action
from reelhouse.streaming.http.schemas import (
    IngestOut,
    StreamCreatedOut,
    StreamIn,
    StreamOut,
    StreamPage,
    StreamPatch,
)

router = APIRouter(prefix="/api/streams", tags=["live streams"])
_UPDATE_PROBLEMS = problems(
    (404, "STREAM_NOT_FOUND"), (412, "ETAG_MISMATCH"), (409, "STREAM_ENDED"), (409, "STREAM_LIVE"), (409, "ILLEGAL_TRANSITION")
)  # fmt: skip
log = structlog.get_logger(__name__)

_CONFLICT_TITLES = {
    "STREAM_ENDED": "Stream has ended",
    "STREAM_LIVE": "Stream is live",
    "STREAM_NOT_LIVE": "Stream is not live",
    "PUBLISHER_ALREADY_CONNECTED": "A broadcaster is already connected",
    "ILLEGAL_TRANSITION": "Illegal status transition",
}


def _conflict(exc: IllegalStreamTransition) -> ProblemError:
    return ProblemError(409, exc.code, _CONFLICT_TITLES.get(exc.code, "Conflict"), str(exc), streamStatus=str(exc.current))


def _etag(stream: LiveStream) -> str:
    return f'"{stream.id.hex[:8]}-{stream.version}"'


def _check_if_match(stream: LiveStream, if_match: str | None) -> None:
    if if_match and if_match.strip() != "*" and _etag(stream) not in [t.strip() for t in if_match.split(",")]:
        raise ProblemError(412, "ETAG_MISMATCH", "Precondition failed", "the stream changed since you read it")


def stream_out(request: Request, stream: LiveStream, now: float | None = None) -> StreamOut:
    """Serialize ``stream``; a signed live playlist URL only while LIVE; a signed thumbnail URL
    (``playback_url_ttl_seconds``) when the owner set one."""
    settings = request.app.state.settings
    signer = HmacPathSigner(settings.edge_base_url, settings.playback_signing_secret)
    url = expires = thumb = None
    if stream.status == StreamStatus.LIVE.value:
        signed = signer.sign(live_scope(stream.id), LIVE_PLAYLIST, settings.live_playback_url_ttl_seconds, now=now)
        url, expires = signed.url, signed.expires_at
    if stream.thumbnail_key:
        scope = live_scope(stream.id)
        thumb = signer.sign(scope, stream.thumbnail_key.removeprefix(scope + "/"), settings.playback_url_ttl_seconds, now=now).url
    return StreamOut(
        id=stream.id,
        owner_id=stream.owner_id,
        title=stream.title,
        description=stream.description,
        status=stream.status,
        recording_enabled=stream.recording_enabled,
        scheduled_at=stream.scheduled_at,
        started_at=stream.started_at,
        ended_at=stream.ended_at,
        end_reason=stream.end_reason,
        broadcasting=stream.publisher_client_id is not None,
        viewer_count=stream.viewer_count if stream.status == StreamStatus.LIVE.value else 0,
        playback_url=url,
        playback_expires_at=expires,
        recording_status=stream.recording_state,
        recording_video_id=stream.recording_video_id,
        thumbnail_url=thumb,
        visibility=stream.visibility,
        created_at=stream.created_at,
        updated_at=stream.updated_at,
    )


def ingest_out(request: Request, stream: LiveStream) -> IngestOut:
    """The owner's ingest info, with the key derived from the stored nonce and the server secret."""
    settings = request.app.state.settings
    key = derive_key(settings.stream_key_secret, stream.id, stream.key_nonce)
    rtmp = settings.rtmp_ingest_url.rstrip("/")
    return IngestOut(stream_id=stream.id, rtmp_url=rtmp, stream_key=key, publish_url=f"{rtmp}/{key}", key_rotated_at=stream.key_rotated_at)


async def _visible(session: AsyncSession, stream_id: uuid.UUID, user_id: str) -> LiveStream:
    """The stream when ``user_id`` owns it or it is public; 404 STREAM_NOT_FOUND otherwise (a private
    stream of another user does not exist for the caller)."""
    stream = await session.get(LiveStream, stream_id)
    if stream is None or (stream.owner_id != user_id and stream.visibility != "public"):
        raise ProblemError(404, "STREAM_NOT_FOUND", "Stream not found", f"no stream {stream_id}")
    return stream


async def _owned(session: AsyncSession, stream_id: uuid.UUID, user_id: str, lock: bool = False) -> LiveStream:
    stmt = select(LiveStream).where(LiveStream.id == stream_id)
    if lock:
        stmt = stmt.with_for_update()
    stream = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()
    if stream is None or stream.owner_id != user_id:
        raise ProblemError(404, "STREAM_NOT_FOUND", "Stream not found", f"no stream {stream_id}")
    return stream


def _new_key(request: Request, stream: LiveStream) -> None:
    settings = request.app.state.settings
    stream.key_nonce = new_key_nonce()
    stream.key_hash = hash_key(settings.stream_key_pepper, derive_key(settings.stream_key_secret, stream.id, stream.key_nonce))


async def _disconnect(request: Request, stream: LiveStream) -> None:
    """Drop the stream's broadcaster at the ingest (503 INGEST_UNAVAILABLE when it cannot be reached)."""
    try:
        await drop_publisher(request.app.state.settings.rtmp_control_url, str(stream.id))
    except IngestUnavailable as exc:
        raise ProblemError(503, "INGEST_UNAVAILABLE", "Live ingest unavailable", str(exc)) from exc


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(data["c"]), uuid.UUID(data["i"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ProblemError(400, "INVALID_CURSOR", "Invalid cursor", "the cursor is not one this API returned") from exc


def _encode_cursor(stream: LiveStream) -> str:
    raw = json.dumps({"c": stream.created_at.isoformat(), "i": str(stream.id)}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@router.get("", response_model=StreamPage, operation_id="listStreams", responses=problems((400, "INVALID_CURSOR")))
async def list_streams(
    request: Request,
    user: CurrentUser,
    status: Annotated[StreamStatus | None, Query(description="only streams in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    scope: Annotated[Literal["mine", "public"], Query(description="mine: the caller's streams; public: everyone's public streams")] = "mine",
) -> StreamPage:
    """The caller's streams (``scope=mine``, the default) or every user's public ones (``scope=public``:
    what viewers browse), newest first, ``limit`` per page; ``nextCursor`` continues."""
    if scope == "public":
        stmt = select(LiveStream).where(LiveStream.visibility == "public")
    else:
        stmt = select(LiveStream).where(LiveStream.owner_id == user.user_id)
    if status is not None:
        stmt = stmt.where(LiveStream.status == status.value)
    if cursor:
        created, sid = _decode_cursor(cursor)
        stmt = stmt.where(or_(LiveStream.created_at < created, and_(LiveStream.created_at == created, LiveStream.id < sid)))
    stmt = stmt.order_by(LiveStream.created_at.desc(), LiveStream.id.desc()).limit(limit + 1)
    async with request.app.state.db.session() as session:
        rows = list((await session.execute(stmt)).scalars())
    page, more = rows[:limit], len(rows) > limit
    now = time.time()
    return StreamPage(items=[stream_out(request, s, now) for s in page], next_cursor=_encode_cursor(page[-1]) if more and page else None)


@router.post("", status_code=201, response_model=StreamCreatedOut, operation_id="createStream")
async def create_stream(body: StreamIn, request: Request, response: Response, user: CurrentUser) -> StreamCreatedOut:
    """Create a stream (OFFLINE, or SCHEDULED with ``scheduledAt``). The answer carries the stream key
    once; later only ``GET /api/streams/{id}/ingest`` shows it."""
    stream = LiveStream(
        owner_id=user.user_id,
        title=body.title,
        description=body.description,
        scheduled_at=body.scheduled_at,
        status=initial_status(body.scheduled_at).value,
        recording_enabled=body.recording_enabled,
        visibility=body.visibility,
        key_nonce="",
        key_hash="",
    )
    _new_key(request, stream)
    async with request.app.state.db.session() as session:
        session.add(stream)
        await session.flush()
    response.headers["ETag"] = _etag(stream)
    response.headers["Location"] = f"/api/streams/{stream.id}"
    return StreamCreatedOut(**stream_out(request, stream).model_dump(), ingest=ingest_out(request, stream))


@router.get("/{stream_id}", response_model=StreamOut, operation_id="getStream", responses=problems((404, "STREAM_NOT_FOUND")))
async def get_stream(stream_id: uuid.UUID, request: Request, response: Response, user: CurrentUser) -> StreamOut:
    """One of the caller's streams, or another user's public one (``playbackUrl`` only while LIVE)."""
    async with request.app.state.db.session() as session:
        stream = await _visible(session, stream_id, user.user_id)
    response.headers["ETag"] = _etag(stream)
    return stream_out(request, stream)


async def _update(stream_id: uuid.UUID, body: StreamPatch, request: Request, response: Response, user_id: str, if_match: str | None) -> StreamOut:
    fields = body.model_fields_set
    async with request.app.state.db.session() as session:
        stream = await _owned(session, stream_id, user_id, lock=True)
        _check_if_match(stream, if_match)
        if "scheduled_at" in fields:
            action = Action.SCHEDULE if body.scheduled_at is not None else Action.UNSCHEDULE
            try:
                result = transition(stream.status, action)
            except IllegalStreamTransition as exc:
                raise _conflict(exc) from exc
            stream.status = result.target.value
            stream.scheduled_at = body.scheduled_at
        if "recording_enabled" in fields and body.recording_enabled is not None:
            if stream.status == StreamStatus.ENDED.value and body.recording_enabled != stream.recording_enabled:
                raise ProblemError(409, "STREAM_ENDED", "Stream has ended", "recording can no longer change", streamStatus=stream.status)
            stream.recording_enabled = body.recording_enabled
        if "title" in fields and body.title is not None:
            stream.title = body.title
        if "description" in fields and body.description is not None:
            stream.description = body.description
        if "visibility" in fields and body.visibility is not None and body.visibility != stream.visibility:
            # the chat room takes the visibility when the stream starts (stream.started): no change mid-stream
            if stream.status == StreamStatus.LIVE.value:
                raise ProblemError(409, "STREAM_LIVE", "Stream is live", "visibility changes while the stream is not live", streamStatus=stream.status)
            stream.visibility = body.visibility
        stream.version += 1
        stream.updated_at = utcnow()
        session.add(stream)
    response.headers["ETag"] = _etag(stream)
    return stream_out(request, stream)


@router.patch("/{stream_id}", response_model=StreamOut, operation_id="updateStream", responses=_UPDATE_PROBLEMS)
async def patch_stream(
    stream_id: uuid.UUID, body: StreamPatch, request: Request, response: Response, user: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> StreamOut:
    """Change title, description, ``scheduledAt`` (OFFLINE <-> SCHEDULED; 409 once LIVE or ENDED) or
    ``recordingEnabled`` (409 once ENDED). Honours ``If-Match``."""
    return await _update(stream_id, body, request, response, user.user_id, if_match)


@router.put("/{stream_id}", response_model=StreamOut, operation_id="replaceStream", responses=_UPDATE_PROBLEMS)
async def put_stream(
    stream_id: uuid.UUID, body: StreamPatch, request: Request, response: Response, user: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> StreamOut:
    """``PUT /api/streams/{id}`` (docs/api.md, "Live streams"): same rules as PATCH."""
    return await _update(stream_id, body, request, response, user.user_id, if_match)


@router.delete("/{stream_id}", status_code=204, operation_id="deleteStream", responses=problems((404, "STREAM_NOT_FOUND")))
async def delete_stream(stream_id: uuid.UUID, request: Request, user: CurrentUser) -> Response:
    """Delete a stream. A LIVE stream is ended first (stream.ended, broadcaster disconnected); its
    recording is discarded. The key stops working at once."""
    async with request.app.state.db.session() as session:
        stream = await _owned(session, stream_id, user.user_id, lock=True)
        if stream.status == StreamStatus.LIVE.value:
            await apply_action(session, stream, Action.STOP, reason="DELETED", correlation_id=request.headers.get("x-request-id"))
            await session.flush()
        connected = stream.publisher_client_id is not None
        thumb = stream.thumbnail_key
        await session.delete(stream)
    if thumb:
        await _drop_thumbnail(request, thumb)
    if connected:
        try:
            await drop_publisher(request.app.state.settings.rtmp_control_url, str(stream_id))
        except IngestUnavailable:
            pass  # the key no longer resolves: the next callback or reconnect is refused anyway
    return Response(status_code=204)


async def _drop_thumbnail(request: Request, key: str) -> None:
    try:
        await asyncio.to_thread(delete_thumbnail, request.app.state.settings, key)
    except Exception:  # noqa: BLE001 - an orphaned image is harmless; the stream no longer names it
        log.warning("stream.thumbnail_delete_failed", key=key, exc_info=True)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, reading at most ``limit + 1`` bytes (enough to tell that it is too large)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


@router.put(
    "/{stream_id}/thumbnail",
    response_model=StreamOut,
    operation_id="setStreamThumbnail",
    responses=problems((404, "STREAM_NOT_FOUND"), (415, "UNSUPPORTED_IMAGE"), (413, "IMAGE_TOO_LARGE"), (422, "EMPTY_IMAGE")),
)
async def put_stream_thumbnail(stream_id: uuid.UUID, request: Request, response: Response, user: CurrentUser) -> StreamOut:
    """Owner only: set the stream's thumbnail image. The body is the JPEG itself (``Content-Type:
    image/jpeg``, at most :data:`MAX_THUMBNAIL_BYTES`); it goes to the media bucket under the stream's
    live scope and replaces the previous one. Answers the stream with its new ``thumbnailUrl``.
    415 UNSUPPORTED_IMAGE, 413 IMAGE_TOO_LARGE, 422 EMPTY_IMAGE (:func:`thumbnail_refusal`)."""
    async with request.app.state.db.session() as session:
        await _owned(session, stream_id, user.user_id)
    data = await _read_limited(request, MAX_THUMBNAIL_BYTES)
    refusal = thumbnail_refusal(request.headers.get("content-type"), data)
    if refusal is not None:
        status, code, detail = refusal
        raise ProblemError(status, code, "Thumbnail refused", detail)
    key = thumbnail_key(stream_id, secrets.token_hex(6))
    await asyncio.to_thread(put_thumbnail, request.app.state.settings, key, data)
    async with request.app.state.db.session() as session:
        stream = await _owned(session, stream_id, user.user_id, lock=True)
        old = stream.thumbnail_key
        stream.thumbnail_key = key
        stream.version += 1
        stream.updated_at = utcnow()
        session.add(stream)
    if old and old != key:
        await _drop_thumbnail(request, old)
    response.headers["ETag"] = _etag(stream)
    return stream_out(request, stream)


@router.delete("/{stream_id}/thumbnail", status_code=204, operation_id="deleteStreamThumbnail", responses=problems((404, "STREAM_NOT_FOUND")))
async def delete_stream_thumbnail(stream_id: uuid.UUID, request: Request, user: CurrentUser) -> Response:
    """Owner only: remove the stream's thumbnail (204 also when there was none)."""
    async with request.app.state.db.session() as session:
        stream = await _owned(session, stream_id, user.user_id, lock=True)
        old = stream.thumbnail_key
        if old:
            stream.thumbnail_key = None
            stream.version += 1
            stream.updated_at = utcnow()
            session.add(stream)
    if old:
        await _drop_thumbnail(request, old)
    return Response(status_code=204)


@router.get("/{stream_id}/ingest", response_model=IngestOut, operation_id="getStreamIngest", responses=problems((404, "STREAM_NOT_FOUND")))
async def get_ingest(stream_id: uuid.UUID, request: Request, user: CurrentUser, response: Response) -> IngestOut:
    """Owner only: the RTMP URL and stream key. ``Cache-Control: no-store``."""
    async with request.app.state.db.session() as session:
        stream = await _owned(session, stream_id, user.user_id)
    response.headers["Cache-Control"] = "no-store"
    return ingest_out(request, stream)


@router.post(
    "/{stream_id}/rotate-key", response_model=IngestOut, operation_id="rotateStreamKey",
    responses=problems((404, "STREAM_NOT_FOUND"), (409, "STREAM_ENDED")),
)  # fmt: skip
async def rotate_key(stream_id: uuid.UUID, request: Request, user: CurrentUser, response: Response) -> IngestOut:
    """Replace the stream key (409 STREAM_ENDED once ended). The old key is refused from now on; a
    connected broadcaster is disconnected and may come back with the new key within the reconnect
    window (the stream stays LIVE)."""
    async with request.app.state.db.session() as session:
        stream = await _owned(session, stream_id, user.user_id, lock=True)
        if stream.status == StreamStatus.ENDED.value:
            raise ProblemError(409, "STREAM_ENDED", "Stream has ended", "an ended stream has no key to rotate", streamStatus=stream.status)
        _new_key(request, stream)
        stream.key_rotated_at = utcnow()
        stream.version += 1
        stream.updated_at = stream.key_rotated_at
        session.add(stream)
        connected = stream.publisher_client_id is not None
    if connected:
        try:
            await drop_publisher(request.app.state.settings.rtmp_control_url, str(stream_id))
        except IngestUnavailable:
            pass
    response.headers["Cache-Control"] = "no-store"
    return ingest_out(request, stream)


@router.post(
    "/{stream_id}/start", response_model=StreamOut, operation_id="startStream",
    responses=problems((404, "STREAM_NOT_FOUND"), (409, "STREAM_ENDED")),
)  # fmt: skip
async def start_stream(stream_id: uuid.UUID, request: Request, response: Response, user: CurrentUser) -> StreamOut:
    """Go LIVE now (OFFLINE/SCHEDULED -> LIVE, stream.started) without waiting for the broadcaster;
    idempotent while LIVE; 409 STREAM_ENDED. A stream that never gets a broadcaster ends after the
    idle timeout (30 min). Publishing with the key also makes a stream LIVE on its own."""
    async with request.app.state.db.session() as session:
        stream = await _owned(session, stream_id, user.user_id, lock=True)
        try:
            await apply_action(session, stream, Action.START, correlation_id=request.headers.get("x-request-id"))
        except IllegalStreamTransition as exc:
            raise _conflict(exc) from exc
    response.headers["ETag"] = _etag(stream)
    return stream_out(request, stream)


@router.post(
    "/{stream_id}/stop", response_model=StreamOut, operation_id="stopStream",
    responses=problems((404, "STREAM_NOT_FOUND"), (409, "STREAM_NOT_LIVE"), (503, "INGEST_UNAVAILABLE")),
)  # fmt: skip
async def stop_stream(stream_id: uuid.UUID, request: Request, response: Response, user: CurrentUser) -> StreamOut:
    """End the stream (LIVE -> ENDED, stream.ended) and disconnect the broadcaster; idempotent once
    ENDED; 409 STREAM_NOT_LIVE for a stream that never went live. If the ingest cannot be reached the
    answer is 503 and the stream stays LIVE (so it never looks ended while still broadcasting)."""
    async with request.app.state.db.session() as session:
        stream = await _owned(session, stream_id, user.user_id, lock=True)
        try:
            result = transition(stream.status, Action.STOP)
        except IllegalStreamTransition as exc:
            raise _conflict(exc) from exc
        if result.ended and stream.publisher_client_id is not None:
            await _disconnect(request, stream)
        await apply_action(session, stream, Action.STOP, reason="STOPPED", correlation_id=request.headers.get("x-request-id"))
    response.headers["ETag"] = _etag(stream)
    return stream_out(request, stream)
