"""Live stream use cases shared by the API, the ingest callbacks and the supervisor.

- :func:`apply_action` runs one action of the status machine on a locked stream row and adds the
  event it implies (stream.started / stream.ended) to the outbox in the same transaction.
- :func:`expire_streams` ends LIVE streams whose broadcaster did not come back within the reconnect
  window, or that never got one within the idle timeout.
- :func:`finalize_recordings` turns the FLV parts of an ENDED stream into an MP4 in the uploads bucket
  and announces it (stream.recorded). The gallery makes it a video (id chosen here, so the stream links
  to it and a redelivery cannot make two); the normal transcode pipeline makes it READY.
- :func:`sweep_stuck_recordings` puts a recording left PROCESSING by a dead process back to PENDING,
  or fails it after ``live_recording_max_attempts``.
- :func:`supervise` runs them every ``live_supervisor_interval_seconds`` (a lifespan task). Rows are
  claimed with ``FOR UPDATE SKIP LOCKED``, so several replicas can run it.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.contracts.events import ChatPresenceV1, StreamEndedV1, StreamRecordedV1, StreamStartedV1
from reelhouse.platform.messaging.consumer import HandlerContext
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.streaming.adapters.db import IngestSession, LiveStream, RecordingPart, utcnow
from reelhouse.streaming.adapters.ingest import remux_recording, upload_recording
from reelhouse.streaming.domain.live import (
    LIVE_PLAYLIST,
    Action,
    StreamStatus,
    Transition,
    expiry_reason,
    live_scope,
    transition,
)
from reelhouse.streaming.settings import StreamingSettings

log = structlog.get_logger(__name__)
SOURCE = "/reelhouse/streaming"


def playback_path(stream_id: uuid.UUID) -> str:
    """Object path of the live playlist below the signing scope: ``live/<id>/index.m3u8``."""
    return f"{live_scope(stream_id)}/{LIVE_PLAYLIST}"


async def apply_action(
    session: AsyncSession,
    stream: LiveStream,
    action: Action,
    *,
    now: datetime | None = None,
    reason: str | None = None,
    correlation_id: str | None = None,
) -> Transition:
    """Apply ``action`` to ``stream`` (locked by the caller) and add its event to the outbox.

    Raises :class:`~reelhouse.streaming.domain.live.IllegalStreamTransition` unchanged.
    """
    now = now or utcnow()
    result = transition(stream.status, action, publisher_connected=stream.publisher_client_id is not None)
    changed = result.target != stream.status or result.started or result.ended
    stream.status = result.target.value
    if result.started:
        stream.started_at = now
        stream.ended_at = None
        await add_event(
            session,
            StreamStartedV1(stream_id=stream.id, owner_id=stream.owner_id, started_at=now, playback_path=playback_path(stream.id), visibility=stream.visibility),
            SOURCE,
            correlation_id,
        )
    if result.ended:
        stream.ended_at = now
        stream.end_reason = reason or action.value
        stream.recording_state = "PENDING" if stream.recording_enabled else "NONE"
        stream.viewer_count = 0
        await add_event(
            session,
            StreamEndedV1(
                stream_id=stream.id, owner_id=stream.owner_id, ended_at=now, playback_path=playback_path(stream.id),
                reason=stream.end_reason,
            ),
            SOURCE,
            correlation_id,
        )
    if changed:
        stream.version += 1
        stream.updated_at = now
    session.add(stream)
    log.info("live.transition", stream_id=str(stream.id), action=action.value, status=stream.status, reason=reason)
    return result


async def expire_streams(db, settings: StreamingSettings, now: datetime | None = None) -> int:  # noqa: ANN001
    """End every LIVE stream without a broadcaster whose reconnect window or idle timeout is over."""
    now = now or utcnow()
    window = timedelta(seconds=settings.live_reconnect_window_seconds)
    idle = timedelta(seconds=settings.live_idle_timeout_seconds)
    ended = 0
    async with db.session() as session:
        rows = (
            await session.execute(
                select(LiveStream)
                .where(LiveStream.status == StreamStatus.LIVE.value, LiveStream.publisher_client_id.is_(None))
                .with_for_update(skip_locked=True)
                .limit(100)
            )
        ).scalars().all()
        for stream in rows:
            why = expiry_reason(
                status=stream.status,
                publisher_connected=False,
                started_at=stream.started_at,
                disconnected_at=stream.disconnected_at,
                now=now,
                reconnect_window=window,
                idle_timeout=idle,
            )
            if why:
                await apply_action(session, stream, Action.EXPIRE, now=now, reason=why)
                ended += 1
    return ended


async def _recording_ready(session: AsyncSession, stream: LiveStream, now: datetime, grace: timedelta) -> bool:
    """True once every ingest session of the stream is closed and has its record_done (or the grace
    period after the end is over: the recorder's callback may be lost)."""
    open_sessions = (
        await session.execute(
            select(func.count()).select_from(IngestSession).where(IngestSession.stream_id == stream.id, IngestSession.ended_at.is_(None))
        )
    ).scalar_one()
    sessions = (
        await session.execute(select(func.count()).select_from(IngestSession).where(IngestSession.stream_id == stream.id))
    ).scalar_one()
    parts = (
        await session.execute(select(func.count()).select_from(RecordingPart).where(RecordingPart.stream_id == stream.id))
    ).scalar_one()
    overdue = stream.ended_at is not None and now - stream.ended_at >= grace
    if open_sessions and not (stream.ended_at is not None and now - stream.ended_at >= grace * 6):
        return False
    return parts >= sessions or overdue


async def finalize_recordings(db, settings: StreamingSettings, now: datetime | None = None) -> int:  # noqa: ANN001
    """Remux, upload and announce the recording of ENDED streams whose recording is complete."""
    now = now or utcnow()
    grace = timedelta(seconds=settings.live_recording_grace_seconds)
    done = 0
    while True:
        async with db.session() as session:
            candidates = (
                await session.execute(
                    select(LiveStream)
                    .where(LiveStream.status == StreamStatus.ENDED.value, LiveStream.recording_state == "PENDING")
                    .order_by(LiveStream.ended_at)
                    .with_for_update(skip_locked=True)
                    .limit(10)
                )
            ).scalars().all()
            claimed = None
            for stream in candidates:
                if await _recording_ready(session, stream, now, grace):
                    claimed = stream
                    break
            if claimed is None:
                return done
            parts = [
                p for p in (
                    await session.execute(select(RecordingPart.path).where(RecordingPart.stream_id == claimed.id).order_by(RecordingPart.path))
                ).scalars()
            ]
            if not parts:
                claimed.recording_state = "EMPTY"
                session.add(claimed)
                continue
            claimed.recording_state = "PROCESSING"
            claimed.recording_started_at = utcnow()
            claimed.recording_attempts += 1
            session.add(claimed)
            stream_id, owner_id, title, description = claimed.id, claimed.owner_id, claimed.title, claimed.description
        await _process_recording(db, settings, stream_id, owner_id, title, description, parts)
        done += 1


PROCESSING_TIMEOUT = "PROCESSING_TIMEOUT"
"""Start of ``recording_error`` of a recording the sweeper gave up on."""


async def sweep_stuck_recordings(db, settings: StreamingSettings, now: datetime | None = None) -> dict[str, int]:  # noqa: ANN001
    """No recording stays PROCESSING for ever (docs/reliability.md, "Sweepers"): a recording PROCESSING
    for ``live_recording_processing_timeout_seconds`` (the process that claimed it died: the remux and
    upload run in that process) goes back to PENDING, so :func:`finalize_recordings` processes it again
    from its parts (the video id is derived from the stream id, so a second attempt never makes a
    second video); after ``live_recording_max_attempts`` attempts it ends FAILED with
    ``recording_error`` ``PROCESSING_TIMEOUT: ...``. Returns ``{"requeued": n, "failed": m}``."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=settings.live_recording_processing_timeout_seconds)
    counts = {"requeued": 0, "failed": 0}
    async with db.session() as session:
        rows = (
            await session.execute(
                select(LiveStream)
                .where(
                    LiveStream.recording_state == "PROCESSING",
                    (LiveStream.recording_started_at.is_(None)) | (LiveStream.recording_started_at < cutoff),
                )
                .with_for_update(skip_locked=True)
                .limit(100)
            )
        ).scalars().all()
        for stream in rows:
            if stream.recording_attempts >= settings.live_recording_max_attempts:
                stream.recording_state = "FAILED"
                stream.recording_error = (
                    f"{PROCESSING_TIMEOUT}: {stream.recording_attempts} attempt(s) did not finish within "
                    f"{settings.live_recording_processing_timeout_seconds:.0f} s"
                )
                stream.version += 1
                stream.updated_at = now
                counts["failed"] += 1
                log.error("live.recording_stuck_failed", stream_id=str(stream.id), attempts=stream.recording_attempts)
            else:
                stream.recording_state = "PENDING"
                counts["requeued"] += 1
                log.warning("live.recording_stuck_requeued", stream_id=str(stream.id), attempts=stream.recording_attempts)
            session.add(stream)
    return counts


async def _process_recording(db, settings: StreamingSettings, stream_id, owner_id, title, description, parts) -> None:  # noqa: ANN001
    video_id = uuid.uuid5(uuid.NAMESPACE_URL, f"reelhouse:stream-recording:{stream_id}")
    key = f"{settings.recordings_prefix}/{stream_id}/{video_id}.mp4"
    try:
        with tempfile.TemporaryDirectory(prefix="reelhouse-rec-") as tmp:
            out = Path(tmp) / "recording.mp4"
            duration = await remux_recording(parts, out)
            size, etag = await asyncio.to_thread(upload_recording, settings, out, key)
    except Exception as exc:  # noqa: BLE001 - recorded on the stream; the live part is unaffected
        log.exception("live.recording_failed", stream_id=str(stream_id))
        async with db.session() as session:
            stream = await session.get(LiveStream, stream_id, with_for_update=True)
            if stream is not None:
                stream.recording_state = "FAILED"
                stream.recording_error = f"{type(exc).__name__}: {exc}"[:1000]
                session.add(stream)
        return
    async with db.session() as session:
        stream = await session.get(LiveStream, stream_id, with_for_update=True)
        if stream is None:  # deleted meanwhile: the file stays unannounced (uploads lifecycle cleans it)
            return
        stream.recording_state = "UPLOADED"
        stream.recording_video_id = video_id
        stream.recording_key = key
        stream.version += 1
        stream.updated_at = utcnow()
        session.add(stream)
        await add_event(
            session,
            StreamRecordedV1(
                stream_id=stream_id,
                owner_id=owner_id,
                bucket=settings.uploads_bucket,
                source_file_key=key,
                title=title,
                video_id=video_id,
                source_size_bytes=size,
                source_mime="video/mp4",
                checksum=etag,
                duration_seconds=duration,
                description=description or f"Recording of live stream {stream_id}",
            ),
            SOURCE,
        )
    log.info("live.recording_uploaded", stream_id=str(stream_id), video_id=str(video_id), size=size, parts=len(parts))
    for p in parts:  # the MP4 is safe in the bucket: free the ingest's disk
        try:
            Path(p).unlink(missing_ok=True)
        except OSError:
            pass


async def supervise(app) -> None:  # noqa: ANN001
    """Background loop (lifespan task): expiry and recordings, every ``live_supervisor_interval_seconds``."""
    settings: StreamingSettings = app.state.settings
    db = app.state.db
    while True:
        try:
            await expire_streams(db, settings)
            await sweep_stuck_recordings(db, settings)
            await finalize_recordings(db, settings)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - keep supervising
            log.exception("live.supervisor_failed")
        await asyncio.sleep(settings.live_supervisor_interval_seconds)


async def start_supervisor(app) -> None:  # noqa: ANN001
    """Lifespan hook: start :func:`supervise` as a task."""
    app.state.live_supervisor = asyncio.create_task(supervise(app), name="streaming-live-supervisor")


async def stop_supervisor(app) -> None:  # noqa: ANN001
    """Lifespan hook: cancel the supervisor task."""
    task = getattr(app.state, "live_supervisor", None)
    if task is not None:
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):  # noqa: BLE001
            pass


async def on_chat_presence(ctx: HandlerContext, event: ChatPresenceV1) -> None:
    """Viewer count of a LIVE stream = connected chat clients (summed over the chat replicas), the
    newest ``at`` wins (presence events of different replicas may cross)."""
    stream = await ctx.session.get(LiveStream, event.stream_id, with_for_update=True)
    if stream is None or stream.status != StreamStatus.LIVE.value:
        return
    if stream.viewer_count_at is not None and event.at < stream.viewer_count_at:
        return
    stream.viewer_count = event.viewers
    stream.viewer_count_at = event.at
    ctx.session.add(stream)
