"""Streaming event handlers: keep the playback projection in step with the gallery and the transcoder.

Events come from different services, so they may arrive in any order and more than once:

- ``video.created`` and ``transcode.completed`` both upsert the ``playback_assets`` row, each filling
  only its own columns, so either may come first;
- a ``transcode.completed`` replaces the stored keys only when it is at least as new as the stored
  result (CloudEvents ``time``), see :func:`reelhouse.streaming.domain.playback.supersedes`;
- ``video.updated`` sets the visibility when its version is newer than the one stored (``video.created``
  counts as version 0 and never overrides an update), so a video made private stops being playable by
  others as soon as the event is handled (docs/security.md);
- ``video.deleted`` removes the projection and leaves a tombstone, so a late event cannot revive it;
  when the video is a live stream's recording, the recording object (uploads bucket) is deleted too;
- duplicates (same event id) are skipped by the platform inbox.

A ``transcode.completed`` whose keys lie outside ``videos/<videoId>/`` can never be played through the
edge: it is dead-lettered (:class:`PermanentError`) instead of being stored.
"""

from __future__ import annotations

import asyncio
import uuid

import structlog
from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.contracts.events import (
    ChatPresenceV1,
    StreamEndedV1,
    StreamRecordedV1,
    StreamStartedV1,
    TranscodeCompletedV1,
    VideoCreatedV1,
    VideoDeletedV1,
    VideoUpdatedV1,
)
from reelhouse.platform.messaging.consumer import HandlerContext, HandlerSpec, PermanentError
from reelhouse.streaming.adapters.db import DeletedVideo, LiveStream, PlaybackAsset, PlaybackRendition, utcnow
from reelhouse.streaming.adapters.ingest import delete_recording
from reelhouse.streaming.domain.playback import (
    KeyOutsideScope,
    check_keys,
    supersedes,
    visibility_from_created,
)
from reelhouse.streaming.handlers.live import on_chat_presence

log = structlog.get_logger(__name__)

_assets = PlaybackAsset.__table__
_deleted = DeletedVideo.__table__


async def _is_deleted(session: AsyncSession, video_id: uuid.UUID) -> bool:
    return (await session.execute(select(_deleted.c.video_id).where(_deleted.c.video_id == video_id))).first() is not None


async def on_video_created(ctx: HandlerContext, event: VideoCreatedV1) -> None:
    """Record the owner and visibility (creates the row, or completes one a transcode result created)."""
    session = ctx.session
    if await _is_deleted(session, event.video_id):
        log.info("streaming.event_for_deleted_video", video_id=str(event.video_id))
        return
    now = utcnow()
    visibility = visibility_from_created(ctx.envelope.data)
    stmt = pg_insert(_assets).values(
        video_id=event.video_id, owner_id=event.owner_id, visibility=visibility, created_at=now, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[_assets.c.video_id],
        set_={
            "owner_id": stmt.excluded.owner_id,
            # a video.updated handled first (visibility_version > 0) is newer than the creation
            "visibility": case((_assets.c.visibility_version > 0, _assets.c.visibility), else_=stmt.excluded.visibility),
            "updated_at": now,
        },
    )
    await session.execute(stmt)


async def on_video_updated(ctx: HandlerContext, event: VideoUpdatedV1) -> None:
    """Follow the owner's visibility change: the newest ``version`` wins, in whatever order updates come
    (creates the row when the update is the first event about the video)."""
    session = ctx.session
    if await _is_deleted(session, event.video_id):
        log.info("streaming.event_for_deleted_video", video_id=str(event.video_id))
        return
    visibility = visibility_from_created({"visibility": event.visibility})
    now = utcnow()
    stmt = pg_insert(_assets).values(
        video_id=event.video_id,
        owner_id=event.owner_id,
        visibility=visibility,
        visibility_version=event.version,
        created_at=now,
        updated_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[_assets.c.video_id],
        set_={
            "owner_id": stmt.excluded.owner_id,
            "visibility": stmt.excluded.visibility,
            "visibility_version": stmt.excluded.visibility_version,
            "updated_at": now,
        },
        where=_assets.c.visibility_version < stmt.excluded.visibility_version,
    )
    await session.execute(stmt)


async def on_transcode_completed(ctx: HandlerContext, event: TranscodeCompletedV1) -> None:
    """Store (or replace) the playable keys, dimensions and renditions of the video's newest transcode."""
    keys = [event.master_key, *(r.playlist_key for r in event.renditions), *event.thumbnail_keys]
    if event.poster_key:
        keys.append(event.poster_key)
    if event.storyboard_key:
        keys.append(event.storyboard_key)
    try:
        check_keys(event.video_id, keys)
    except KeyOutsideScope as exc:
        raise PermanentError(f"unplayable transcode result for video {event.video_id}: {exc}") from exc
    session = ctx.session
    if await _is_deleted(session, event.video_id):
        log.info("streaming.event_for_deleted_video", video_id=str(event.video_id))
        return
    now = utcnow()
    await session.execute(
        pg_insert(_assets).values(video_id=event.video_id, created_at=now, updated_at=now).on_conflict_do_nothing()
    )
    asset = (
        await session.execute(
            select(PlaybackAsset).where(PlaybackAsset.video_id == event.video_id).with_for_update().execution_options(populate_existing=True)
        )
    ).scalar_one()
    produced_at = ctx.envelope.time
    if not supersedes(asset.completed_at, produced_at):
        log.info(
            "streaming.stale_transcode_ignored",
            video_id=str(event.video_id),
            job_id=str(event.job_id),
            stored_job_id=str(asset.job_id),
        )
        return
    asset.job_id = event.job_id
    asset.completed_at = produced_at
    asset.master_key = event.master_key
    asset.duration_seconds = event.duration_seconds
    asset.width = event.width
    asset.height = event.height
    asset.poster_key = event.poster_key
    asset.thumbnail_keys = list(event.thumbnail_keys)
    asset.storyboard_key = event.storyboard_key
    asset.updated_at = now
    session.add(asset)
    await session.execute(delete(PlaybackRendition).where(PlaybackRendition.video_id == event.video_id))
    seen: set[str] = set()
    for r in event.renditions:
        if r.playlist_key in seen:
            continue
        seen.add(r.playlist_key)
        session.add(
            PlaybackRendition(
                video_id=event.video_id,
                playlist_key=r.playlist_key,
                quality=r.quality,
                width=r.width,
                height=r.height,
                bandwidth=r.bandwidth,
                codecs=r.codecs,
            )
        )


async def on_video_deleted(ctx: HandlerContext, event: VideoDeletedV1) -> None:
    """Remove the projection (renditions cascade) and leave a tombstone; when the video is a live
    stream's recording, delete the recording object from the uploads bucket and mark the stream's
    recording DELETED (issue 10 item 7: a deleted video leaves no copy of its recording behind).

    The object is deleted before the transaction commits: if S3 is unreachable the handler fails and the
    event is retried (docs/reliability.md); a repeat finds ``recording_key`` cleared and does nothing."""
    session = ctx.session
    streams = (
        await session.execute(
            select(LiveStream)
            .where(LiveStream.recording_video_id == event.video_id, LiveStream.recording_key.is_not(None))
            .with_for_update()
        )
    ).scalars().all()
    for stream in streams:
        await asyncio.to_thread(delete_recording, ctx.extras["app"].state.settings, stream.recording_key)
        log.info("streaming.recording_deleted", stream_id=str(stream.id), video_id=str(event.video_id))
        stream.recording_key = None
        stream.recording_state = "DELETED"
        stream.version += 1
        stream.updated_at = utcnow()
        session.add(stream)
    await session.execute(delete(PlaybackAsset).where(PlaybackAsset.video_id == event.video_id))
    await session.execute(pg_insert(_deleted).values(video_id=event.video_id, deleted_at=utcnow()).on_conflict_do_nothing())


HANDLERS: dict[str, HandlerSpec] = {
    VideoCreatedV1.event_type: HandlerSpec(on_video_created),
    VideoUpdatedV1.event_type: HandlerSpec(on_video_updated),
    TranscodeCompletedV1.event_type: HandlerSpec(on_transcode_completed),
    VideoDeletedV1.event_type: HandlerSpec(on_video_deleted),
    ChatPresenceV1.event_type: HandlerSpec(on_chat_presence),
}
"""Event type -> handler; the streaming queue is bound to exactly these types."""

PUBLISHES: tuple[str, ...] = (
    "reelhouse.playback.viewed.v1",
    StreamStartedV1.event_type,
    StreamEndedV1.event_type,
    StreamRecordedV1.event_type,
)
"""Event types the streaming service emits."""
