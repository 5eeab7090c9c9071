"""The abandoned-session sweeper: no upload stays open for ever (issue 10, "a sweeper per state").

Every ``upload_sweeper_interval_seconds`` each upload process looks for sessions still INITIATED,
IN_PROGRESS or PAUSED whose last activity is older than ``upload_session_idle_seconds``. Activity is the
later of the session's last transition (``updated_at``) and the newest part S3 holds (``LastModified``
from ListParts): a client still sending parts keeps its session, however long the whole upload takes.

An abandoned session ends FAILED with ``failReason`` SESSION_EXPIRED and its S3 multipart upload is
aborted (its parts freed). Like the VIDEO_DELETED end in :mod:`reelhouse.upload.handlers`, this
system-driven end bypasses the user-facing table of docs/api.md "Upload session status" (which has no INITIATED ->
FAILED): nothing may stay open. Unless the video has another session that is still open or completed,
``video.upload_failed`` (reason SESSION_EXPIRED) is published in the same transaction, and the gallery
moves the video from UPLOADING to FAILED (``failReason`` UPLOAD_SESSION_EXPIRED), a defined end state
instead of UPLOADING for ever.

Several processes may sweep at once: rows are claimed with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog
from fastapi import FastAPI
from sqlalchemy import select

from reelhouse.contracts.events import VideoUploadFailedV1
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.upload.adapters.db import UploadSession, utcnow
from reelhouse.upload.adapters.s3 import MultipartStore, UploadGone
from reelhouse.upload.domain.sessions import ACTIVE, UploadStatus

log = structlog.get_logger(__name__)
SOURCE = "/reelhouse/upload"
EXPIRED = "SESSION_EXPIRED"
"""``failReason`` of a session the sweeper ended, and ``reason`` of its video.upload_failed."""


async def sweep_once(app: FastAPI, batch: int = 50) -> int:
    """Expire up to ``batch`` abandoned sessions; returns how many were expired.

    Raises what the database or S3 raise (the loop logs and tries again on its next pass; a failed
    abort leaves the row untouched)."""
    settings = app.state.settings
    idle = timedelta(seconds=settings.upload_session_idle_seconds)
    store = MultipartStore(settings)
    expired = 0
    async with app.state.db.session() as session:
        rows = (
            await session.execute(
                select(UploadSession)
                .where(UploadSession.status.in_([str(s) for s in ACTIVE]), UploadSession.updated_at < utcnow() - idle)
                .order_by(UploadSession.updated_at)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).scalars().all()
        for s in rows:
            try:
                parts = await asyncio.to_thread(store.list_parts, s.object_key, s.provider_upload_id)
            except UploadGone:
                parts = []
            stamps = [p.last_modified for p in parts if p.last_modified is not None]
            if stamps and max(stamps) > utcnow() - idle:
                continue  # parts are still arriving
            await asyncio.to_thread(store.abort, s.object_key, s.provider_upload_id)
            s.status = UploadStatus.FAILED
            s.fail_reason = EXPIRED
            s.updated_at = utcnow()
            session.add(s)
            others = (
                await session.execute(
                    select(UploadSession.id).where(
                        UploadSession.video_id == s.video_id,
                        UploadSession.id != s.id,
                        UploadSession.status.in_([*(str(x) for x in ACTIVE), str(UploadStatus.COMPLETED)]),
                    )
                )
            ).first()
            if others is None:
                await add_event(session, VideoUploadFailedV1(video_id=s.video_id, upload_session_id=s.id, reason=EXPIRED), SOURCE, None)
            expired += 1
            log.warning("upload.session_expired", session_id=str(s.id), video_id=str(s.video_id), announced=others is None)
    return expired


async def _sweep_forever(app: FastAPI) -> None:
    while True:
        await asyncio.sleep(app.state.settings.upload_sweeper_interval_seconds)
        try:
            await sweep_once(app)
        except Exception as exc:  # noqa: BLE001 - database or S3 down: next pass
            log.warning("upload.sweep_failed", error=f"{type(exc).__name__}: {exc}")


async def start_sweeper(app: FastAPI) -> None:
    """Lifespan hook: run the sweeper in the background."""
    app.state.sweeper = asyncio.create_task(_sweep_forever(app), name="upload-sweeper")


async def stop_sweeper(app: FastAPI) -> None:
    """Lifespan hook: stop the sweeper."""
    task = getattr(app.state, "sweeper", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
