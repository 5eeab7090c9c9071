"""Callbacks of the live ingest (nginx-rtmp ``on_publish`` & co.) under ``/internal/rtmp``.

Not routed by the edge (the service listens on loopback; in a cluster the NetworkPolicy
``streaming-ingress`` admits only the edge and the ingest), and every call must carry
``?t=<rtmp_callback_token>``; an empty configured token refuses every call. nginx-rtmp POSTs urlencoded
forms with ``call``, ``app``, ``name`` (the stream key for app ``live``), ``addr``, ``clientid`` ...

Each callback is checked against the stream it concerns, not only the token (docs/security.md, "Live
ingest"):

- ``publish`` (app live): 302 ``Location: <stream id>`` accepts and renames the stream to its id inside
  nginx-rtmp (HLS directory, recording file, control handle never carry the key); 403 refuses and the
  broadcaster is disconnected at once: unknown or rotated key, ENDED stream, a second broadcaster.
- ``relay_publish`` (app hls): the ingest's own relay of an accepted stream; 200 only for the id of a
  stream that has a broadcaster connected.
- ``publish_done``: the broadcaster left: the stream stays LIVE for the reconnect window. The open
  session is found by client id AND the hash of the key it published with (``name``): nginx-rtmp's
  client ids restart at 1 with the ingest, so a client id alone could close another stream's session.
- ``record_done``: a recording part (FLV path) is complete. Only a file directly inside the configured
  ``rtmp_record_dir``, named ``<stream id>-<unix time>.flv``, of a stream that has had a broadcaster, is
  taken: the service remuxes and uploads these files, so any other path is ignored.

The key is never logged: only its last 4 characters (:func:`~reelhouse.streaming.domain.live.redact`).
"""

from __future__ import annotations

import hmac
import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs

import structlog
from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from reelhouse.streaming.adapters.db import IngestSession, LiveStream, RecordingPart, utcnow
from reelhouse.streaming.domain.live import (
    Action,
    IllegalStreamTransition,
    StreamStatus,
    hash_key,
    looks_like_key,
    redact,
)
from reelhouse.streaming.handlers.live import apply_action

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/internal/rtmp", include_in_schema=False)
#: A recording part as nginx-rtmp names it (``record_unique on``): ``<stream id>-<unix time>.flv``.
_RECORDING_NAME = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-\d+\.flv$")


async def _form(request: Request) -> dict[str, str]:
    """The callback's form fields; 403 unless the ``t`` query parameter is the configured token."""
    expected = request.app.state.settings.rtmp_callback_token
    given = request.query_params.get("t", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise _Refused("bad callback token")
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


class _Refused(Exception):
    pass


def _refuse(reason: str, **fields: str) -> Response:
    log.info("live.publish_refused", reason=reason, **fields)
    return Response(status_code=403, content=reason, media_type="text/plain")


@router.post("/publish")
async def on_publish(request: Request) -> Response:
    """A broadcaster wants to publish ``name`` (the key) to ``app``."""
    try:
        form = await _form(request)
    except _Refused as exc:
        return _refuse(str(exc))
    key, app, client_id = form.get("name", ""), form.get("app", ""), form.get("clientid", "")
    if app != "live":
        return _refuse("UNKNOWN_APPLICATION", app=app[:40])
    if not looks_like_key(key):
        return _refuse("UNKNOWN_KEY", key=redact(key))
    settings = request.app.state.settings
    digest = hash_key(settings.stream_key_pepper, key)
    async with request.app.state.db.session() as session:
        stream = (
            await session.execute(select(LiveStream).where(LiveStream.key_hash == digest).with_for_update())
        ).scalar_one_or_none()
        if stream is None:
            return _refuse("UNKNOWN_KEY", key=redact(key))
        try:
            await apply_action(session, stream, Action.PUBLISH)
        except IllegalStreamTransition as exc:
            return _refuse(exc.code, stream_id=str(stream.id))
        now = utcnow()
        stream.publisher_client_id = client_id or "?"
        stream.publisher_connected_at = now
        stream.disconnected_at = None
        session.add(stream)
        session.add(IngestSession(stream_id=stream.id, client_id=client_id, key_hash=digest, addr=form.get("addr"), started_at=now))
        stream_id = stream.id
    log.info("live.publish_accepted", stream_id=str(stream_id), client_id=client_id, key=redact(key))
    return Response(status_code=302, headers={"Location": str(stream_id)})


@router.post("/relay_publish")
async def on_relay_publish(request: Request) -> Response:
    """The ingest relays an accepted stream (renamed to its id) to its HLS application."""
    try:
        form = await _form(request)
    except _Refused as exc:
        return _refuse(str(exc))
    try:
        stream_id = uuid.UUID(form.get("name", ""))
    except ValueError:
        return _refuse("NOT_A_STREAM_ID")
    async with request.app.state.db.session() as session:
        stream = await session.get(LiveStream, stream_id)
        if stream is None or stream.status != StreamStatus.LIVE.value or stream.publisher_client_id is None:
            return _refuse("NO_ACCEPTED_BROADCASTER", stream_id=str(stream_id))
    return Response(status_code=200)


@router.post("/publish_done")
async def on_publish_done(request: Request) -> Response:
    """The broadcaster ``clientid`` that published with key ``name`` left (or was dropped): close its
    session; the reconnect window of a LIVE stream starts now. A client id with another key (or none)
    closes nothing."""
    try:
        form = await _form(request)
    except _Refused as exc:
        return _refuse(str(exc))
    if form.get("app") != "live":
        return Response(status_code=200)
    client_id, key = form.get("clientid", ""), form.get("name", "")
    if not looks_like_key(key):
        log.info("live.publish_done_ignored", reason="UNKNOWN_KEY", client_id=client_id[:20], key=redact(key))
        return Response(status_code=200)
    digest = hash_key(request.app.state.settings.stream_key_pepper, key)
    now = utcnow()
    async with request.app.state.db.session() as session:
        ingest = (
            await session.execute(
                select(IngestSession)
                .where(IngestSession.client_id == client_id, IngestSession.key_hash == digest, IngestSession.ended_at.is_(None))
                .order_by(IngestSession.started_at.desc())
                .limit(1)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if ingest is None:
            return Response(status_code=200)
        ingest.ended_at = now
        session.add(ingest)
        stream = await session.get(LiveStream, ingest.stream_id, with_for_update=True)
        if stream is not None and stream.publisher_client_id == client_id:
            stream.publisher_client_id = None
            stream.disconnected_at = now
            if stream.status == StreamStatus.LIVE.value:
                await apply_action(session, stream, Action.DISCONNECT, now=now)
            session.add(stream)
    log.info("live.publisher_left", stream_id=str(ingest.stream_id), client_id=client_id)
    return Response(status_code=200)


@router.post("/record_done")
async def on_record_done(request: Request) -> Response:
    """A recording part is complete: ``path`` is ``<record_path>/<stream id>-<unix time>.flv``."""
    try:
        form = await _form(request)
    except _Refused as exc:
        return _refuse(str(exc))
    path = form.get("path", "")
    m = _RECORDING_NAME.match(Path(path).name)
    record_dir = request.app.state.settings.rtmp_record_dir
    if not path or m is None or not record_dir or Path(path).parent != Path(record_dir):
        log.warning("live.recording_part_ignored", reason="NOT_A_RECORDING", file=Path(path).name[:80])
        return Response(status_code=200)
    stream_id = uuid.UUID(m.group(1))
    async with request.app.state.db.session() as session:
        broadcast = (await session.execute(select(IngestSession.id).where(IngestSession.stream_id == stream_id).limit(1))).first()
        if await session.get(LiveStream, stream_id) is None or broadcast is None:
            log.warning("live.recording_part_ignored", reason="NO_BROADCAST", stream_id=str(stream_id))
            return Response(status_code=200)
        await session.execute(
            pg_insert(RecordingPart.__table__).values(path=path, stream_id=stream_id, done_at=utcnow()).on_conflict_do_nothing()
        )
    log.info("live.recording_part_done", stream_id=str(stream_id), file=Path(path).name)
    return Response(status_code=200)
