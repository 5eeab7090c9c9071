"""Upload event handlers: the video projection (video.created / video.deleted)."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from reelhouse.contracts.events import VideoCreatedV1, VideoDeletedV1
from reelhouse.platform.messaging.consumer import HandlerContext, HandlerSpec
from reelhouse.upload.adapters.db import UploadSession, VideoProjection, utcnow
from reelhouse.upload.adapters.s3 import MultipartStore
from reelhouse.upload.domain.sessions import ACTIVE, UploadStatus

log = structlog.get_logger(__name__)


async def on_video_created(ctx: HandlerContext, event: VideoCreatedV1) -> None:
    """Remember the video (owner, declared MIME type and size) so sessions can be opened for it. A row
    that already exists (a duplicate, or the tombstone of a video deleted first) is left as it is."""
    await ctx.session.execute(
        pg_insert(VideoProjection.__table__)
        .values(
            video_id=event.video_id,
            owner_id=event.owner_id,
            source_mime=event.source_mime,
            source_size_bytes=event.source_size_bytes,
            deleted=False,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )


async def on_video_deleted(ctx: HandlerContext, event: VideoDeletedV1) -> None:
    """Forget the video: abort open multipart uploads, delete the stored source, cancel sessions.

    Every open session (INITIATED, IN_PROGRESS or PAUSED) ends CANCELED with ``failReason``
    VIDEO_DELETED. This system-driven end deliberately bypasses the user-facing table of docs/api.md ("Upload session status")
    section 1.5 (which has no INITIATED -> CANCELED): the video is gone, so no status may stay open.
    A COMPLETED session keeps its status; its source object is deleted. Idempotent (S3 abort and delete
    ignore what is already gone).

    The projection row is marked deleted, or written as a tombstone when video.created has not arrived
    yet (it can come later: a failed first delivery goes round the retry queue while video.deleted does
    not), so a late video.created can never bring the video back."""
    await ctx.session.execute(
        pg_insert(VideoProjection.__table__)
        .values(
            video_id=event.video_id,
            owner_id=event.owner_id or "",
            source_mime="",
            source_size_bytes=0,
            deleted=True,
            created_at=utcnow(),
        )
        .on_conflict_do_update(index_elements=["video_id"], set_={"deleted": True})
    )
    store = MultipartStore(ctx.extras["app"].state.settings)
    sessions = (await ctx.session.execute(select(UploadSession).where(UploadSession.video_id == event.video_id).with_for_update())).scalars()
    for s in sessions:
        if s.status in ACTIVE:
            await asyncio.to_thread(store.abort, s.object_key, s.provider_upload_id)
            s.status = UploadStatus.CANCELED
            s.fail_reason = "VIDEO_DELETED"
            s.updated_at = utcnow()
        elif s.status == UploadStatus.COMPLETED:
            await asyncio.to_thread(store.delete_object, s.object_key)
        ctx.session.add(s)


HANDLERS: dict[str, HandlerSpec] = {
    VideoCreatedV1.event_type: HandlerSpec(on_video_created),
    VideoDeletedV1.event_type: HandlerSpec(on_video_deleted),
}
PUBLISHES: tuple[str, ...] = (
    "reelhouse.video.upload_started.v1",
    "reelhouse.video.uploaded.v1",
    "reelhouse.video.upload_failed.v1",
)
