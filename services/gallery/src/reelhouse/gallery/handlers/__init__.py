"""Gallery event handlers: the lifecycle driven by upload and transcode events.

Events may arrive out of order (they come from different services) and more than once: each handler
walks the shortest allowed path of the state machine to its target, ignores events the lifecycle
makes moot (READY never rolls back) and relies on the inbox for duplicates.

An event that depends on one not applied yet is retried later, never dropped: a transcode.started,
transcode.completed or transcode.failed for a video still DRAFT or UPLOADING (its video.uploaded, which
records the source, is still on its way) raises :class:`RetryLater`; the platform consumer rolls the
transaction back and delivers it again with backoff (docs/reliability.md). transcode.progress is not
retried: a later progress, started or completed supersedes it. An upload failure that overtakes its
upload.started moves DRAFT to FAILED directly (the late upload.started is then moot).
"""

from __future__ import annotations

import structlog
from sqlalchemy import delete

from reelhouse.contracts.events import (
    PlaybackViewedV1,
    StreamEndedV1,
    StreamRecordedV1,
    StreamStartedV1,
    TranscodeCompletedV1,
    TranscodeFailedV1,
    TranscodeProgressV1,
    TranscodeStartedV1,
    VideoCreatedV1,
    VideoUploadedV1,
    VideoUploadFailedV1,
    VideoUploadStartedV1,
)
from reelhouse.gallery.adapters import metrics, webhooks
from reelhouse.gallery.adapters.db import Video, VideoAsset, VideoTransition, touch, utcnow
from reelhouse.gallery.domain.lifecycle import IllegalTransition, VideoStatus, check_transition, path_to
from reelhouse.platform.messaging.consumer import HandlerContext, HandlerSpec, RetryLater

log = structlog.get_logger(__name__)


async def _locked_video(ctx: HandlerContext, video_id) -> Video | None:  # noqa: ANN001
    video = await ctx.session.get(Video, video_id, with_for_update=True)
    if video is None:
        log.info("gallery.event_for_unknown_video", video_id=str(video_id))
    return video


def _advance(video: Video, target: VideoStatus, *, has_assets: bool = False, session=None, cause: str = "") -> bool:  # noqa: ANN001
    """Move ``video`` to ``target`` through allowed steps; False (and unchanged) when not possible.

    Each step is written to the history (:class:`VideoTransition`, with ``cause``) when ``session`` is
    given, and any step counts as a sign of life for the stuck-video sweeper (``activity_at``)."""
    try:
        steps = path_to(VideoStatus(video.status), target)
        current = VideoStatus(video.status)
        for step in steps:
            check_transition(
                current,
                step,
                source_exists=bool(video.source_file_key),
                has_assets=has_assets,
            )
            current = step
    except IllegalTransition as exc:
        log.info("gallery.transition_ignored", video_id=str(video.id), current=video.status, target=target, why=str(exc))
        return False
    if steps:
        now = utcnow()
        if session is not None:
            previous = VideoStatus(video.status)
            for step in steps:
                session.add(VideoTransition(video_id=video.id, from_status=str(previous), to_status=str(step), cause=cause, at=now))
                previous = step
        video.status = target
        video.version += 1
        video.updated_at = now
        touch(video, now)
    return True


WAITING_FOR_UPLOAD = (VideoStatus.DRAFT, VideoStatus.UPLOADING)
"""States in which a transcode event has overtaken the video.uploaded it depends on."""


def _require_uploaded(video: Video, event_type: str) -> None:
    """Raise :class:`RetryLater` while ``video`` has not applied its video.uploaded yet."""
    if video.status in WAITING_FOR_UPLOAD:
        raise RetryLater(f"{event_type} for video {video.id} in {video.status}: waiting for video.uploaded")


async def on_upload_started(ctx: HandlerContext, event: VideoUploadStartedV1) -> None:
    """DRAFT -> UPLOADING."""
    video = await _locked_video(ctx, event.video_id)
    if video and video.status == VideoStatus.DRAFT:
        _advance(video, VideoStatus.UPLOADING, session=ctx.session, cause=ctx.envelope.type)
        ctx.session.add(video)


async def on_uploaded(ctx: HandlerContext, event: VideoUploadedV1) -> None:
    """UPLOADING -> UPLOADED; records where the source is (needed for retries)."""
    video = await _locked_video(ctx, event.video_id)
    if video is None:
        return
    if video.status in (VideoStatus.DRAFT, VideoStatus.UPLOADING):
        video.source_bucket = event.bucket
        video.source_file_key = event.source_file_key
        video.source_checksum = event.checksum
        video.source_size_bytes = event.source_size_bytes
        _advance(video, VideoStatus.UPLOADED, session=ctx.session, cause=ctx.envelope.type)
        ctx.session.add(video)


async def on_upload_failed(ctx: HandlerContext, event: VideoUploadFailedV1) -> None:
    """UPLOADING (or DRAFT, when the failure overtook video.upload_started) -> FAILED for provider
    failures. A user cancel (reason CANCELED) leaves the video in UPLOADING so a new session can be opened
    (docs/api.md "Upload session status": a failed session is replaced, not resumed)."""
    if event.reason == "CANCELED":
        return
    video = await _locked_video(ctx, event.video_id)
    if video and video.status in WAITING_FOR_UPLOAD and _advance(video, VideoStatus.FAILED, session=ctx.session, cause=ctx.envelope.type):
        video.fail_reason = f"UPLOAD_{event.reason}"
        ctx.session.add(video)
        await webhooks.enqueue(ctx.session, video.owner_id, "video.failed", video_failed_data(video))
        metrics.video_failed(video.fail_reason)


async def on_transcode_started(ctx: HandlerContext, event: TranscodeStartedV1) -> None:
    """UPLOADED (or FAILED, on retry) -> TRANSCODING; retried later while DRAFT or UPLOADING."""
    video = await _locked_video(ctx, event.video_id)
    if video is None or video.status == VideoStatus.READY:
        return
    _require_uploaded(video, "transcode.started")
    if video.status == VideoStatus.FAILED and event.attempt <= video.transcode_attempt:
        return  # a stale start from before the failure
    if video.status == VideoStatus.TRANSCODING and event.attempt <= video.transcode_attempt:
        touch(video)  # the same job announced again (an answer to a re-drive): alive, progress kept
        ctx.session.add(video)
        return
    if _advance(video, VideoStatus.TRANSCODING, session=ctx.session, cause=ctx.envelope.type):
        touch(video)
        video.transcode_attempt = max(video.transcode_attempt, event.attempt)
        video.transcode_progress = 0.0
        video.fail_reason = None
        video.fail_detail = None
        ctx.session.add(video)


async def on_transcode_progress(ctx: HandlerContext, event: TranscodeProgressV1) -> None:
    """Store the percent while TRANSCODING (shown on GET /api/videos/{id})."""
    video = await _locked_video(ctx, event.video_id)
    if video and video.status == VideoStatus.TRANSCODING:
        touch(video)
        video.transcode_progress = max(video.transcode_progress or 0.0, round(event.percent, 1))
        ctx.session.add(video)


async def on_transcode_completed(ctx: HandlerContext, event: TranscodeCompletedV1) -> None:
    """-> READY with the asset rows (master, renditions, poster, thumbnails) written in the same transaction;
    retried later while the video is DRAFT or UPLOADING."""
    video = await _locked_video(ctx, event.video_id)
    if video is None or video.status == VideoStatus.READY:
        return
    _require_uploaded(video, "transcode.completed")
    if not _advance(video, VideoStatus.READY, has_assets=True, session=ctx.session, cause=ctx.envelope.type):
        return
    await ctx.session.execute(delete(VideoAsset).where(VideoAsset.video_id == video.id))
    assets = [VideoAsset(video_id=video.id, type="HLS_MASTER", container="m3u8", file_key=event.master_key,
                         width=event.width, height=event.height)]
    for r in event.renditions:
        assets.append(VideoAsset(video_id=video.id, type="HLS_RENDITION", quality_label=r.quality, bandwidth=r.bandwidth,
                                 width=r.width, height=r.height, codec=r.codecs, container="m3u8", file_key=r.playlist_key))
    if event.poster_key:
        assets.append(VideoAsset(video_id=video.id, type="POSTER", container="jpg", file_key=event.poster_key))
    for key in event.thumbnail_keys:
        assets.append(VideoAsset(video_id=video.id, type="THUMBNAIL", container="jpg", file_key=key))
    ctx.session.add_all(assets)
    video.master_key = event.master_key
    video.poster_key = event.poster_key
    video.duration_seconds = event.duration_seconds
    video.width = event.width
    video.height = event.height
    video.transcode_progress = 100.0
    video.fail_reason = None
    video.fail_detail = None
    ctx.session.add(video)
    metrics.VIDEOS_READY.inc()
    await webhooks.enqueue(
        ctx.session,
        video.owner_id,
        "video.ready",
        {"videoId": str(video.id), "title": video.title, "status": "READY", "durationSeconds": video.duration_seconds,
         "width": video.width, "height": video.height},
    )


async def on_transcode_failed(ctx: HandlerContext, event: TranscodeFailedV1) -> None:
    """TRANSCODING -> FAILED with the stable failReason (a READY video ignores late failures); retried
    later while the video is DRAFT or UPLOADING."""
    video = await _locked_video(ctx, event.video_id)
    if video is None or video.status == VideoStatus.READY:
        return
    _require_uploaded(video, "transcode.failed")
    if _advance(video, VideoStatus.FAILED, session=ctx.session, cause=ctx.envelope.type):
        video.fail_reason = event.fail_reason
        video.fail_detail = event.detail[:2000]
        video.transcode_attempt = max(video.transcode_attempt, event.attempt)
        ctx.session.add(video)
        await webhooks.enqueue(ctx.session, video.owner_id, "video.failed", video_failed_data(video))
        metrics.video_failed(video.fail_reason)


def video_failed_data(video: Video) -> dict:
    """The ``data`` of a video.failed webhook: ``videoId``, ``title``, ``status``, ``failReason``."""
    return {"videoId": str(video.id), "title": video.title, "status": "FAILED", "failReason": video.fail_reason}


async def on_playback_viewed(ctx: HandlerContext, event: PlaybackViewedV1) -> None:
    """Count a view (each playback.viewed event once, thanks to the inbox)."""
    video = await _locked_video(ctx, event.video_id)
    if video is not None:
        video.view_count += 1
        ctx.session.add(video)


async def on_stream_recorded(ctx: HandlerContext, event: StreamRecordedV1) -> None:
    """A live stream's recording (an MP4 in the uploads bucket) becomes a video of the streamer.

    The video gets the id the streaming service chose (``videoId``; derived from the stream id when
    absent) so a redelivery never makes two. It is created already UPLOADED (its source exists), and
    the gallery announces it exactly like a finished upload: video.created (owner for the playback
    projection) and video.uploaded (the transcoder's normal input), so it goes through the normal
    pipeline to READY. Private to the owner like any new video.
    """
    import uuid

    video_id = event.video_id or uuid.uuid5(uuid.NAMESPACE_URL, f"reelhouse:stream-recording:{event.stream_id}")
    if await ctx.session.get(Video, video_id) is not None:
        return
    size = event.source_size_bytes or 1
    mime = event.source_mime or "video/mp4"
    video = Video(
        id=video_id,
        owner_id=event.owner_id,
        title=event.title[:200],
        description=event.description or f"Recording of live stream {event.stream_id}",
        source_mime=mime,
        source_size_bytes=size,
        source_file_name=f"live-{event.stream_id}.mp4",
        source_bucket=event.bucket,
        source_file_key=event.source_file_key,
        source_checksum=event.checksum,
        duration_seconds=event.duration_seconds,
        status=VideoStatus.UPLOADED,
    )
    ctx.session.add(video)
    await ctx.session.flush()
    await ctx.publish(VideoCreatedV1(video_id=video_id, owner_id=event.owner_id, title=video.title, source_mime=mime,
                                     source_size_bytes=size, source_extension="mp4", visibility=video.visibility))
    await ctx.publish(VideoUploadedV1(video_id=video_id, owner_id=event.owner_id,
                                      upload_session_id=uuid.uuid5(uuid.NAMESPACE_URL, f"reelhouse:stream-recording-upload:{event.stream_id}"),
                                      bucket=event.bucket, source_file_key=event.source_file_key, source_size_bytes=size,
                                      source_mime=mime, checksum=event.checksum or ""))
    await webhooks.enqueue(
        ctx.session,
        event.owner_id,
        "recording.ready",
        {"streamId": str(event.stream_id), "videoId": str(video_id), "title": video.title, "durationSeconds": event.duration_seconds},
    )
    log.info("gallery.stream_recording_created", video_id=str(video_id), stream_id=str(event.stream_id))


async def on_stream_started(ctx: HandlerContext, event: StreamStartedV1) -> None:
    """Webhooks only: the owner's ``stream.started`` endpoints get ``streamId`` and ``startedAt``."""
    await webhooks.enqueue(ctx.session, event.owner_id, "stream.started", {"streamId": str(event.stream_id), "startedAt": event.started_at.isoformat()})


async def on_stream_ended(ctx: HandlerContext, event: StreamEndedV1) -> None:
    """Webhooks only: ``stream.ended`` with ``streamId``, ``endedAt`` and ``reason``."""
    await webhooks.enqueue(
        ctx.session, event.owner_id, "stream.ended", {"streamId": str(event.stream_id), "endedAt": event.ended_at.isoformat(), "reason": event.reason}
    )


HANDLERS: dict[str, HandlerSpec] = {
    StreamRecordedV1.event_type: HandlerSpec(on_stream_recorded),
    StreamStartedV1.event_type: HandlerSpec(on_stream_started),
    StreamEndedV1.event_type: HandlerSpec(on_stream_ended),
    PlaybackViewedV1.event_type: HandlerSpec(on_playback_viewed),
    VideoUploadStartedV1.event_type: HandlerSpec(on_upload_started),
    VideoUploadedV1.event_type: HandlerSpec(on_uploaded),
    VideoUploadFailedV1.event_type: HandlerSpec(on_upload_failed),
    TranscodeStartedV1.event_type: HandlerSpec(on_transcode_started),
    TranscodeProgressV1.event_type: HandlerSpec(on_transcode_progress),
    TranscodeCompletedV1.event_type: HandlerSpec(on_transcode_completed),
    TranscodeFailedV1.event_type: HandlerSpec(on_transcode_failed),
}
"""Event type -> handler; the gallery queue is bound to exactly these types."""

PUBLISHES: tuple[str, ...] = (
    "reelhouse.video.created.v1",
    "reelhouse.video.deleted.v1",
    "reelhouse.video.retry_requested.v1",
    "reelhouse.video.redrive_requested.v1",  # the stuck-video sweeper (reelhouse.gallery.sweeper)
    "reelhouse.video.updated.v1",
    "reelhouse.video.uploaded.v1",  # for live recordings (on_stream_recorded), like the upload service
)
