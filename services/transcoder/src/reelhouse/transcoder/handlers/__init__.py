"""Transcoder event handlers: video.uploaded / video.retry_requested run a job; video.deleted cleans up.

A job runs in its own transactions (handler mode ``self``): the job row and transcode.started commit
before the long ffmpeg run, transcode.completed / transcode.failed commit with the job's final state.
The message is acked only after that, so a worker that dies mid-job leaves the message unacked and
RabbitMQ redelivers it (``redelivered`` flag) to another worker, which takes the job over.

Idempotency: the job key (``upload:<uploadSessionId>`` or ``retry:<eventId>``) is unique. A delivery
that finds its job COMPLETED or FAILED, or RUNNING while the message is not a redelivery (a duplicate
publish), does nothing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path

import structlog
from sqlalchemy import select

from reelhouse.contracts.events import (
    RenditionV1,
    TranscodeCompletedV1,
    TranscodeFailedV1,
    TranscodeProgressV1,
    TranscodeStartedV1,
    VideoDeletedV1,
    VideoRetryRequestedV1,
    VideoUploadedV1,
)
from reelhouse.platform.messaging.consumer import HandlerContext, HandlerSpec
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.transcoder.adapters import ffmpeg as ff
from reelhouse.transcoder.adapters.db import DeletedVideo, TranscodeJob, utcnow
from reelhouse.transcoder.adapters.storage import MediaStore, SourceMissing
from reelhouse.transcoder.domain.ladder import FailReason, MediaRejected, plan_ladder
from reelhouse.transcoder.settings import TranscoderSettings

log = structlog.get_logger(__name__)
SOURCE = "/reelhouse/transcoder"
PROGRESS_MIN_INTERVAL_SECONDS = 2.0
"""transcode.progress is published at most this often per job (plus 100 % at the end)."""


def worker_name(settings: TranscoderSettings) -> str:
    """This worker's identity in job rows: ``REELHOUSE_WORKER_NAME`` or ``host:pid``."""
    return settings.worker_name or f"{socket.gethostname()}:{os.getpid()}"


async def _claim(ctx: HandlerContext, key: str, video_id: uuid.UUID, bucket: str, source_key: str, settings: TranscoderSettings) -> TranscodeJob | None:
    """Create or take over the job row; None when this delivery must not run it."""
    async with ctx.db.session() as session:
        if await session.get(DeletedVideo, video_id) is not None:
            log.info("transcode.skipped_deleted_video", video_id=str(video_id))
            return None
        job = (await session.execute(select(TranscodeJob).where(TranscodeJob.job_key == key).with_for_update())).scalar_one_or_none()
        if job is not None:
            if job.status in ("COMPLETED", "FAILED"):
                log.info("transcode.duplicate_skipped", job_id=str(job.id), status=job.status)
                return None
            if not ctx.redelivered and ctx.attempt == 1:
                log.info("transcode.duplicate_while_running", job_id=str(job.id), worker=job.worker)
                return None
            job.attempt += 1
            job.worker = worker_name(settings)
            job.started_at = utcnow()
        else:
            job = TranscodeJob(job_key=key, video_id=video_id, source_bucket=bucket, source_key=source_key, worker=worker_name(settings))
        session.add(job)
        await session.flush()
        await add_event(session, TranscodeStartedV1(video_id=video_id, job_id=job.id, attempt=job.attempt, worker=job.worker), SOURCE, ctx.envelope.correlationid)
        return job


async def _finish_failed(ctx: HandlerContext, job: TranscodeJob, reason: str, detail: str, retryable: bool) -> None:
    async with ctx.db.session() as session:
        row = await session.get(TranscodeJob, job.id, with_for_update=True)
        row.status = "FAILED"
        row.fail_reason = reason
        row.detail = detail[:4000]
        row.finished_at = utcnow()
        session.add(row)
        await add_event(
            session,
            TranscodeFailedV1(video_id=job.video_id, job_id=job.id, fail_reason=reason, detail=detail[:2000], attempt=row.attempt, retryable=retryable),
            SOURCE,
            ctx.envelope.correlationid,
        )
    log.warning("transcode.failed", job_id=str(job.id), reason=reason, detail=detail[:300])


async def run_job(ctx: HandlerContext, key: str, video_id: uuid.UUID, bucket: str, source_key: str) -> None:
    """Claim, download, probe, plan the ladder, transcode in one ffmpeg pass, make images, upload (master
    last) and publish transcode.completed; deterministic media problems end in transcode.failed.

    Raises on transient errors (storage, database) so the consumer retries with backoff; on the last
    allowed attempt the job is failed with TRANSCODE_ERROR instead, so nothing stays TRANSCODING.
    """
    app = ctx.extras["app"]
    settings: TranscoderSettings = app.state.settings
    job = await _claim(ctx, key, video_id, bucket, source_key, settings)
    if job is None:
        return
    store: MediaStore = app.state.media_store
    loop = asyncio.get_running_loop()
    base = Path(settings.work_dir or tempfile.gettempdir()) / "reelhouse-transcoder"
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{job.id}-", dir=base))
    last_progress = [0.0]
    started = time.monotonic()

    async def _progress(percent: float) -> None:
        async with ctx.db.session() as session:
            await add_event(session, TranscodeProgressV1(video_id=video_id, job_id=job.id, attempt=job.attempt, percent=min(100.0, max(0.0, percent))), SOURCE, ctx.envelope.correlationid)

    def on_progress(percent: float) -> None:
        now = time.monotonic()
        if now - last_progress[0] >= PROGRESS_MIN_INTERVAL_SECONDS and percent < 100:
            last_progress[0] = now
            asyncio.run_coroutine_threadsafe(_progress(percent), loop)

    try:
        source = work / "source"
        await asyncio.to_thread(store.download, bucket, source_key, source)
        info = await asyncio.to_thread(ff.probe, source)
        renditions = plan_ladder(info)
        out = work / "hls"
        hls = await asyncio.to_thread(
            ff.transcode_to_hls, source, out, renditions, info, on_progress, settings.segment_seconds, settings.preset,
            stall_timeout_seconds=settings.stall_timeout_seconds,
        )
        images = await asyncio.to_thread(ff.make_images, source, out, info, settings.thumbnail_count)
        prefix = f"videos/{video_id}/{job.id}"
        files = hls.files() + [images.poster, *images.thumbnails]
        await asyncio.to_thread(store.upload_package, out, prefix, files, [hls.master])
        elapsed = time.monotonic() - started
        async with ctx.db.session() as session:
            if await session.get(DeletedVideo, video_id) is not None:
                await asyncio.to_thread(store.delete_prefix, f"videos/{video_id}")
                return
            row = await session.get(TranscodeJob, job.id, with_for_update=True)
            row.status = "COMPLETED"
            row.output_prefix = prefix
            row.duration_seconds = info.duration_seconds
            row.transcode_seconds = elapsed
            row.finished_at = utcnow()
            session.add(row)
            await add_event(
                session,
                TranscodeCompletedV1(
                    video_id=video_id,
                    job_id=job.id,
                    bucket=store.media_bucket,
                    duration_seconds=round(info.duration_seconds, 3),
                    width=info.width,
                    height=info.height,
                    master_key=f"{prefix}/{hls.master}",
                    renditions=tuple(
                        RenditionV1(quality=v.rendition.name, width=v.rendition.width, height=v.rendition.height, bandwidth=v.bandwidth, codecs=v.codecs, playlist_key=f"{prefix}/{v.playlist}")
                        for v in hls.variants
                    ),
                    poster_key=f"{prefix}/{images.poster}",
                    thumbnail_keys=tuple(f"{prefix}/{t}" for t in images.thumbnails),
                ),
                SOURCE,
                ctx.envelope.correlationid,
            )
        await asyncio.to_thread(store.delete_prefix, f"videos/{video_id}", prefix)
        log.info("transcode.completed", job_id=str(job.id), video_id=str(video_id), seconds=round(elapsed, 2), renditions=[r.name for r in renditions])
    except MediaRejected as exc:
        if exc.retryable and ctx.attempt < settings.max_delivery_attempts:
            raise
        await _finish_failed(ctx, job, str(exc.reason), exc.detail, exc.retryable)
    except SourceMissing as exc:
        await _finish_failed(ctx, job, str(FailReason.SOURCE_MISSING), str(exc), False)
    except Exception as exc:
        if ctx.attempt < settings.max_delivery_attempts:
            raise
        await _finish_failed(ctx, job, str(FailReason.TRANSCODE_ERROR), f"{type(exc).__name__}: {exc}", True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def on_uploaded(ctx: HandlerContext, event: VideoUploadedV1) -> None:
    """Transcode a freshly uploaded source (job key ``upload:<uploadSessionId>``)."""
    await run_job(ctx, f"upload:{event.upload_session_id}", event.video_id, event.bucket, event.source_file_key)


async def on_retry_requested(ctx: HandlerContext, event: VideoRetryRequestedV1) -> None:
    """Re-run the transcode of a FAILED video from its stored source (job key ``retry:<eventId>``)."""
    if not event.bucket or not event.source_file_key:
        async with ctx.db.session() as session:
            await add_event(session, TranscodeFailedV1(video_id=event.video_id, fail_reason=str(FailReason.SOURCE_MISSING), detail="retry without a source", attempt=1, retryable=False), SOURCE, ctx.envelope.correlationid)
        return
    await run_job(ctx, f"retry:{ctx.envelope.id}", event.video_id, event.bucket, event.source_file_key)


async def on_video_deleted(ctx: HandlerContext, event: VideoDeletedV1) -> None:
    """Tombstone the video and delete its media objects."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    await ctx.session.execute(pg_insert(DeletedVideo.__table__).values(video_id=event.video_id, deleted_at=utcnow()).on_conflict_do_nothing())
    store: MediaStore = ctx.extras["app"].state.media_store
    await asyncio.to_thread(store.delete_prefix, f"videos/{event.video_id}")


HANDLERS: dict[str, HandlerSpec] = {
    VideoUploadedV1.event_type: HandlerSpec(on_uploaded, mode="self"),
    VideoRetryRequestedV1.event_type: HandlerSpec(on_retry_requested, mode="self"),
    VideoDeletedV1.event_type: HandlerSpec(on_video_deleted),
}
PUBLISHES: tuple[str, ...] = (
    "reelhouse.transcode.started.v1",
    "reelhouse.transcode.progress.v1",
    "reelhouse.transcode.completed.v1",
    "reelhouse.transcode.failed.v1",
)
