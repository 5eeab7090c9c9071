"""Transcoder event handlers: video.uploaded / video.retry_requested run a job; video.redrive_requested
(the gallery's stuck-video sweeper) is answered from the job table; video.deleted cleans up.

A job delivery is acked early and the job runs in the background under a lease on its row (see
:mod:`reelhouse.transcoder.worker` for why: RabbitMQ's consumer_timeout, crash takeover, SIGTERM):
the handler cancels the worker's consumer, claims the row (job row + transcode.started commit
together) and returns; the job then runs with heartbeats, and transcode.completed / transcode.failed
commit with the job's final state, only while this worker still owns the lease.

Idempotency: the job key (``upload:<uploadSessionId>``, ``retry:<eventId>`` or ``redrive:<eventId>``) is
unique. A delivery that finds its job COMPLETED or FAILED, or RUNNING under a live lease of another
worker (a duplicate publish, or a redelivery while the owner is alive), does nothing. One job per video
at a time: a new key for a video that has a COMPLETED or a live job starts nothing.

Failures: deterministic media problems end in transcode.failed at once (attempt 1, no retry); transient
ones (storage, database, ffmpeg killed by the machine, watchdog) hand the job back through the retry
queue with exponential backoff until ``max_delivery_attempts`` claims, then transcode.failed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import threading
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
    VideoRedriveRequestedV1,
    VideoRetryRequestedV1,
    VideoUploadedV1,
)
from reelhouse.platform.messaging.consumer import HandlerContext, HandlerSpec, classify_failure
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.transcoder.adapters import ffmpeg as ff
from reelhouse.transcoder.adapters import metrics
from reelhouse.transcoder.adapters.db import DeletedVideo, TranscodeJob, utcnow
from reelhouse.transcoder.adapters.storage import MediaStore, SourceMissing
from reelhouse.transcoder.domain.job import FINISHED, JobStatus
from reelhouse.transcoder.domain.ladder import (
    FailReason,
    MediaInfo,
    MediaRejected,
    Rendition,
    check_limits,
    plan_ladder,
)
from reelhouse.transcoder.domain.pictures import plan_images
from reelhouse.transcoder.settings import TranscoderSettings
from reelhouse.transcoder.worker import JobControl

log = structlog.get_logger(__name__)
SOURCE = "/reelhouse/transcoder"
PROGRESS_MIN_INTERVAL_SECONDS = 1.0
"""transcode.progress is published at most this often per job (plus 100 % at the end)."""

DOWNLOAD_SHARE_PERCENT = 1.0
"""Share of a job's percent given to fetching the source (the pass gets the rest): a 1 GB source takes
seconds to fetch against minutes to encode, and the percent must move while it arrives too
(docs/transcoding.md, "Liveness and progress of the pass")."""
RETRY_BACKOFF_MAX_SECONDS = 60.0


def worker_name(settings: TranscoderSettings) -> str:
    """This worker's identity in job rows: ``REELHOUSE_WORKER_NAME`` or ``host:pid``."""
    return settings.worker_name or f"{socket.gethostname()}:{os.getpid()}"


async def _claim(ctx: HandlerContext, key: str, video_id: uuid.UUID, bucket: str, source_key: str, jobs: JobControl) -> TranscodeJob | None:
    """Create or take over the job row under this worker's lease; None when this delivery must not run it.

    Takes over a RUNNING row only when it is released (``lease_owner`` NULL: handed back, retried or
    orphaned) or its lease expired (its worker died); a live lease means a duplicate delivery.
    """
    message = ctx.envelope.model_dump_json()
    async with ctx.db.session() as session:
        job = (await session.execute(select(TranscodeJob).where(TranscodeJob.job_key == key).with_for_update())).scalar_one_or_none()
        if await session.get(DeletedVideo, video_id) is not None:
            log.info("transcode.skipped_deleted_video", video_id=str(video_id))
            if job is not None and job.status == JobStatus.RUNNING and (job.lease_owner is None or job.lease_expires_at is None or job.lease_expires_at <= utcnow()):
                _close_deleted(job)
                session.add(job)
            return None
        if job is not None:
            if job.status in FINISHED:
                log.info("transcode.duplicate_skipped", job_id=str(job.id), status=job.status)
                return None
            if job.lease_owner is not None and job.lease_expires_at is not None and job.lease_expires_at > utcnow():
                log.info("transcode.duplicate_while_running", job_id=str(job.id), owner=job.lease_owner)
                return None
            job.attempt += 1
            job.worker = jobs.name
            job.started_at = utcnow()
        else:
            other = await _settled_or_live_job(session, video_id)
            if other is not None:
                log.info("transcode.video_has_job", video_id=str(video_id), job_id=str(other.id), status=other.status, key=key)
                return None
            job = TranscodeJob(job_key=key, video_id=video_id, source_bucket=bucket, source_key=source_key, worker=jobs.name)
        job.lease_owner = jobs.name
        job.lease_expires_at = jobs.lease_deadline()
        job.message = message
        session.add(job)
        await session.flush()
        await add_event(session, TranscodeStartedV1(video_id=video_id, job_id=job.id, attempt=job.attempt, worker=job.worker), SOURCE, ctx.envelope.correlationid)
        return job


def _is_live(job: TranscodeJob) -> bool:
    """True for a RUNNING job that someone will finish: owned under a live lease, or handed back with its
    message on the way (released rows keep ``lease_expires_at`` in the future until the reaper's turn)."""
    return job.status == "RUNNING" and job.lease_expires_at is not None and job.lease_expires_at > utcnow()


async def _settled_or_live_job(session, video_id: uuid.UUID) -> TranscodeJob | None:  # noqa: ANN001
    """One job per video at a time: a COMPLETED job of the video (it is done: READY never rolls back) or
    a live one (:func:`_is_live`), else None. A new job key for such a video (a re-drive that overtook
    the video.uploaded still in a retry queue, or the other way round) starts nothing."""
    rows = (await session.execute(select(TranscodeJob).where(TranscodeJob.video_id == video_id))).scalars().all()
    return next((j for j in rows if j.status == "COMPLETED"), None) or next((j for j in rows if _is_live(j)), None)


VIDEO_DELETED = "VIDEO_DELETED"
"""fail_reason of a job row closed because its video was deleted meanwhile (no event is published)."""


def _close_deleted(row: TranscodeJob) -> None:
    """End a RUNNING row whose video was deleted: FAILED/VIDEO_DELETED, released (never reaped again)."""
    row.status = JobStatus.FAILED
    row.fail_reason = VIDEO_DELETED
    row.finished_at = utcnow()
    row.lease_owner = None


async def _finish_failed(ctx: HandlerContext, job: TranscodeJob, reason: str, detail: str, retryable: bool, owner: str) -> None:
    """FAILED + transcode.failed, only while ``owner`` still holds the job."""
    async with ctx.db.session() as session:
        row = await session.get(TranscodeJob, job.id, with_for_update=True)
        if row is None or row.status != JobStatus.RUNNING or row.lease_owner != owner:
            log.warning("transcode.not_owner_any_more", job_id=str(job.id), worker=owner)
            return
        row.status = JobStatus.FAILED
        row.fail_reason = reason
        row.detail = detail[:4000]
        row.finished_at = utcnow()
        row.lease_owner = None
        session.add(row)
        await add_event(
            session,
            TranscodeFailedV1(video_id=job.video_id, job_id=job.id, fail_reason=reason, detail=detail[:2000], attempt=row.attempt, retryable=retryable),
            SOURCE,
            ctx.envelope.correlationid,
        )
    log.warning("transcode.failed", job_id=str(job.id), reason=reason, detail=detail[:300])
    metrics.JOBS.labels("failed").inc()
    metrics.FAILURES.labels(metrics.bounded_reason(reason)).inc()


async def run_job(ctx: HandlerContext, key: str, video_id: uuid.UUID, bucket: str, source_key: str) -> None:
    """Handler part of a job: stop consuming, claim the row, start :func:`_execute` in the background.

    Returns within milliseconds, so the delivery is acked long before RabbitMQ's consumer_timeout.
    Raises (and consumes again) when the claim fails: the consumer retries the delivery with backoff.
    """
    app = ctx.extras["app"]
    jobs: JobControl = app.state.jobs
    await jobs.hold()
    try:
        job = await _claim(ctx, key, video_id, bucket, source_key, jobs)
    except BaseException:
        await jobs.unhold()
        raise
    if job is None:
        await jobs.unhold()
        return
    if jobs.stopping:  # SIGTERM arrived while claiming: hand the job straight back
        await jobs.release(job.id, job.message, attempt=job.attempt)
        await jobs.unhold()
        return
    if job.attempt == 1:  # a retried job's wait would count its earlier attempts too
        metrics.observe_claimed(ctx.envelope.time)
    jobs.run(job.id, lambda cancel: _execute(ctx, job, cancel))


async def _execute(ctx: HandlerContext, job: TranscodeJob, cancel: threading.Event) -> None:
    """Download, probe, check limits, plan the ladder, transcode and make the pictures in one ffmpeg pass,
    upload (master last) and publish transcode.completed; deterministic media problems end in
    transcode.failed.

    Transient errors hand the job back with backoff (``retry_backoff_seconds`` doubling, max 60 s) until
    the job's ``attempt`` reaches ``max_delivery_attempts``; then FAILED (TRANSCODE_ERROR or TIMEOUT).
    A cancel (graceful shutdown) hands it back at once; a lost lease drops it without a trace.
    """
    app = ctx.extras["app"]
    settings: TranscoderSettings = app.state.settings
    jobs: JobControl = app.state.jobs
    owner = jobs.name
    video_id, bucket, source_key = job.video_id, job.source_bucket, job.source_key
    store: MediaStore = app.state.media_store
    loop = asyncio.get_running_loop()
    base = Path(settings.work_dir or tempfile.gettempdir()) / "reelhouse-transcoder"
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{job.id}-", dir=base))
    last_progress = [0.0]
    started = time.monotonic()
    phases: dict[str, float] = {}  # seconds per step, logged with transcode.completed
    phase_start = [started]

    def mark(name: str) -> None:
        now = time.monotonic()
        phases[name], phase_start[0] = now - phase_start[0], now

    prefix = f"videos/{video_id}/{job.id}"
    uploaded: set[str] = set()  # package files already in the bucket (relative paths)
    encoding_done = asyncio.Event()
    lost = asyncio.Event()
    heartbeat = asyncio.create_task(jobs.heartbeat(job.id, lost), name=f"heartbeat-{job.id}")

    async def _progress(percent: float) -> None:
        async with ctx.db.session() as session:
            await add_event(session, TranscodeProgressV1(video_id=video_id, job_id=job.id, attempt=job.attempt, percent=min(100.0, max(0.0, percent))), SOURCE, ctx.envelope.correlationid)

    def report(overall: float) -> None:
        now = time.monotonic()
        if now - last_progress[0] >= PROGRESS_MIN_INTERVAL_SECONDS and overall < 100:
            last_progress[0] = now
            asyncio.run_coroutine_threadsafe(_progress(overall), loop)

    def on_download(fraction: float) -> None:  # from boto3's transfer threads
        report(DOWNLOAD_SHARE_PERCENT * fraction)

    def on_progress(percent: float) -> None:  # the ffmpeg pass's own percent (0..100)
        report(DOWNLOAD_SHARE_PERCENT + percent * (100.0 - DOWNLOAD_SHARE_PERCENT) / 100.0)

    def check_cancel() -> None:
        if cancel.is_set():
            raise ff.TranscodeCancelled("job cancelled")

    try:
        source = work / "source"
        await asyncio.to_thread(store.download, bucket, source_key, source, on_download)
        mark("download")
        check_cancel()
        info = await asyncio.to_thread(ff.probe, source)
        check_limits(info, settings.max_duration_seconds, settings.max_pixels)
        renditions = plan_ladder(info)
        mark("probe")
        out = work / "hls"
        # One ffmpeg pass decodes the source once and writes the ladder, the poster candidates, the
        # thumbnails and the storyboard sprites (bench/README.md has the figures). A picture the pass
        # did not write (none is known to be left out) is made by a separate ffmpeg run afterwards. Finished
        # segments go up to the bucket while the pass runs (nothing points at the job prefix yet).
        segments_up = asyncio.create_task(_upload_segments_while_encoding(store, out, prefix, renditions, uploaded, encoding_done, job.id))
        try:
            hls = await asyncio.to_thread(
                ff.transcode_to_hls, source, out, renditions, info, on_progress, settings.segment_seconds, settings.preset,
                stall_timeout_seconds=settings.stall_timeout_seconds, cancel=cancel,
                images=plan_images(info, settings.thumbnail_count),
            )
        finally:
            encoding_done.set()
            await segments_up
        mark("ffmpeg")
        check_cancel()
        images = hls.images or await asyncio.to_thread(ff.make_images, source, out, info, settings.thumbnail_count)
        storyboard = hls.storyboard or await _storyboard(source, out, info, job.id)
        check_cancel()
        files = hls.files() + [images.poster, *images.thumbnails] + (storyboard.files() if storyboard else [])
        mark("pictures_fallback")
        uploaded_early = len(uploaded)
        await asyncio.to_thread(store.upload_package, out, prefix, [f for f in files if f not in uploaded], [hls.master])
        mark("upload")
        elapsed = time.monotonic() - started
        async with ctx.db.session() as session:
            row = await session.get(TranscodeJob, job.id, with_for_update=True)
            if await session.get(DeletedVideo, video_id) is not None:
                if row is not None and row.status == JobStatus.RUNNING and row.lease_owner == owner:
                    _close_deleted(row)
                    session.add(row)
                await asyncio.to_thread(store.delete_prefix, f"videos/{video_id}")
                return
            if row is None or row.status != JobStatus.RUNNING or row.lease_owner != owner:
                log.warning("transcode.not_owner_any_more", job_id=str(job.id), worker=owner)
                await asyncio.to_thread(store.delete_prefix, prefix)
                return
            row.status = JobStatus.COMPLETED
            row.output_prefix = prefix
            row.duration_seconds = info.duration_seconds
            row.transcode_seconds = elapsed
            row.finished_at = utcnow()
            row.lease_owner = None
            completed = TranscodeCompletedV1(
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
                    storyboard_key=f"{prefix}/{storyboard.vtt}" if storyboard else None,
                )
            row.result = completed.model_dump_json(by_alias=True)
            session.add(row)
            await add_event(session, completed, SOURCE, ctx.envelope.correlationid)
        await asyncio.to_thread(store.delete_prefix, f"videos/{video_id}", prefix)
        metrics.observe_completed(elapsed, info.duration_seconds, len(renditions))
        log.info(
            "transcode.completed", job_id=str(job.id), video_id=str(video_id), seconds=round(elapsed, 2),
            phases={k: round(v, 2) for k, v in phases.items()}, ffmpeg_cpu_seconds=round(hls.cpu_seconds or 0.0, 1),
            ffmpeg_peak_rss_mib=round((hls.peak_rss_bytes or 0) / 2**20, 1), progress_reports=hls.progress_reports,
            files_uploaded_during_ffmpeg=uploaded_early, files=len(files), renditions=[r.name for r in renditions], worker=owner,
        )
    except (ff.TranscodeCancelled, asyncio.CancelledError):
        if lost.is_set():
            log.warning("transcode.abandoned_lost_lease", job_id=str(job.id))
        else:
            await jobs.release(job.id, job.message, attempt=job.attempt)
    except MediaRejected as exc:
        if await _transient_or_failed(ctx, jobs, job, str(exc.reason), exc.detail, exc.retryable, owner):
            await _drop_partial_upload(store, prefix, uploaded, job.id)
    except SourceMissing as exc:
        await _finish_failed(ctx, job, str(FailReason.SOURCE_MISSING), str(exc), False, owner)
    except Exception as exc:  # noqa: BLE001 - storage, database, broker: transient
        log.exception("transcode.error", job_id=str(job.id))
        if await _held_for_outage(ctx, jobs, job, exc):
            return
        if await _transient_or_failed(ctx, jobs, job, str(FailReason.TRANSCODE_ERROR), f"{type(exc).__name__}: {exc}", True, owner):
            await _drop_partial_upload(store, prefix, uploaded, job.id)
    finally:
        heartbeat.cancel()
        shutil.rmtree(work, ignore_errors=True)


SEGMENT_UPLOAD_INTERVAL_SECONDS = 1.0
"""How often finished segments are looked for (and uploaded) while ffmpeg runs."""


async def _upload_segments_while_encoding(
    store: MediaStore, out: Path, prefix: str, renditions: list[Rendition], uploaded: set[str], done: asyncio.Event, job_id: uuid.UUID
) -> None:
    """Upload each finished segment (:func:`ff.completed_segments`) under ``prefix`` while the pass runs,
    adding it to ``uploaded``, every :data:`SEGMENT_UPLOAD_INTERVAL_SECONDS`; returns when ``done`` is set
    (what is left goes up with the rest of the package).

    Best effort: an upload error stops this early (logged) and leaves the segment to the upload after the
    pass, which retries the job on failure like any storage error. Segments are not deleted locally: the
    package is checked on disk after ffmpeg.
    """
    while True:
        try:
            await asyncio.wait_for(done.wait(), SEGMENT_UPLOAD_INTERVAL_SECONDS)
        except TimeoutError:
            pass
        if done.is_set():
            return
        ready = [rel for rel in ff.completed_segments(out, renditions) if rel not in uploaded]
        if ready:
            try:
                await asyncio.to_thread(store.upload_package, out, prefix, ready, [])
            except Exception as exc:  # noqa: BLE001 - the upload after the pass takes over
                log.warning("transcode.early_upload_failed", job_id=str(job_id), error=str(exc)[:300])
                return
            uploaded.update(ready)


async def _storyboard(source: Path, out: Path, info: MediaInfo, job_id: uuid.UUID) -> ff.Storyboard | None:
    """Scrub-preview sprites + WebVTT index (``<prefix>/storyboard/storyboard.vtt``) made by a separate
    ffmpeg run, for when the ladder pass left them out; or None: optional, so a failure is logged and the
    job goes on without it (transcode.completed then has no ``storyboardKey``)."""
    try:
        return await asyncio.to_thread(ff.make_storyboard, source, out, info)
    except (MediaRejected, OSError, ValueError) as exc:
        log.warning("transcode.storyboard_failed", job_id=str(job_id), error=str(exc)[:300])
        return None


async def _drop_partial_upload(store: MediaStore, prefix: str, uploaded: set[str], job_id: uuid.UUID) -> None:
    """Delete the segments a FAILED job uploaded during its pass (best effort: nothing points at them)."""
    if not uploaded:
        return
    try:
        await asyncio.to_thread(store.delete_prefix, prefix)
    except Exception:  # noqa: BLE001 - an orphan prefix is garbage, not an error a user sees
        log.exception("transcode.partial_upload_not_deleted", job_id=str(job_id), prefix=prefix)


async def _held_for_outage(ctx: HandlerContext, jobs: JobControl, job: TranscodeJob, exc: Exception) -> bool:
    """An outage (S3, PostgreSQL or RabbitMQ unreachable: :func:`classify_failure`) costs time, not the
    job: hand it back with a capped backoff (``retry_backoff_seconds`` doubling, at most
    ``retry_backoff_max_seconds``) without counting the attempt, for ``retry_window_seconds`` after the
    first such failure (carried in the message headers); returns True when it did. After the window, or
    for any other error, returns False and the attempt-counted path (:func:`_transient_or_failed`) applies.
    Source: docs/reliability.md."""
    if classify_failure(exc) != "outage":
        return False
    settings: TranscoderSettings = jobs.settings
    now_ms = int(time.time() * 1000)
    first_ms = int(ctx.headers.get("x-first-failure-at-ms") or now_ms)
    if now_ms - first_ms >= settings.retry_window_seconds * 1000:
        return False
    held = int(ctx.headers.get("x-outage-retries") or 0) + 1
    delay = min(settings.retry_backoff_seconds * (2 ** min(held - 1, 30)), settings.retry_backoff_max_seconds)
    log.warning("transcode.held_for_outage", job_id=str(job.id), retries=held, delay_s=delay, error=f"{type(exc).__name__}: {exc}"[:300])
    try:
        await jobs.release(job.id, job.message, delay_seconds=delay, attempt=job.attempt, uncount=True,
                           headers={"x-first-failure-at-ms": first_ms, "x-outage-retries": held})
    except Exception:  # noqa: BLE001 - database or broker down too: the lease expires and the reaper retries
        log.exception("transcode.release_failed", job_id=str(job.id))
    return True


async def _transient_or_failed(ctx: HandlerContext, jobs: JobControl, job: TranscodeJob, reason: str, detail: str, retryable: bool, owner: str) -> bool:
    """Hand a retryable failure back with backoff while attempts remain (returns False), else FAILED
    with ``reason`` (returns True)."""
    settings: TranscoderSettings = jobs.settings
    if retryable and job.attempt < settings.max_delivery_attempts:
        delay = min(settings.retry_backoff_seconds * (2 ** (job.attempt - 1)), RETRY_BACKOFF_MAX_SECONDS)
        log.warning("transcode.retry_scheduled", job_id=str(job.id), attempt=job.attempt, delay_s=delay, reason=reason, detail=detail[:300])
        try:
            await jobs.release(job.id, job.message, delay_seconds=delay, attempt=job.attempt)
        except Exception:  # noqa: BLE001 - broker or database down: the lease expires and the reaper retries
            log.exception("transcode.release_failed", job_id=str(job.id))
        return False
    await _finish_failed(ctx, job, reason, detail, retryable, owner)
    return True


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


async def on_redrive_requested(ctx: HandlerContext, event: VideoRedriveRequestedV1) -> None:
    """Answer the gallery's stuck-video sweeper from the job table (docs/reliability.md, "Sweepers"):

    - the video was deleted: nothing;
    - its newest job is COMPLETED: re-publish that job's transcode.completed (stored in ``result``);
    - a job is live (:func:`_is_live`): re-publish transcode.started (same job, same attempt): it is
      alive, the gallery notes the sign of life;
    - a RUNNING job whose lease expired (its worker died; the reaper would take it): take it over now;
    - no job, or only FAILED ones: start a job (key ``redrive:<eventId>``) from the event's source;
      without a source, transcode.failed SOURCE_MISSING.

    Idempotent: a duplicate delivery answers the same (the gallery ignores what it already applied)."""
    async with ctx.db.session() as session:
        if await session.get(DeletedVideo, event.video_id) is not None:
            return
        jobs_ = (
            await session.execute(select(TranscodeJob).where(TranscodeJob.video_id == event.video_id).order_by(TranscodeJob.started_at.desc()))
        ).scalars().all()
        done = next((j for j in jobs_ if j.status == "COMPLETED" and j.result), None)
        if done is not None:
            await add_event(session, TranscodeCompletedV1.model_validate_json(done.result), SOURCE, ctx.envelope.correlationid)
            log.info("transcode.redrive_answered", video_id=str(event.video_id), job_id=str(done.id), answer="completed")
            return
        live = next((j for j in jobs_ if _is_live(j)), None)
        if live is not None:
            await add_event(session, TranscodeStartedV1(video_id=live.video_id, job_id=live.id, attempt=live.attempt, worker=live.worker), SOURCE, ctx.envelope.correlationid)
            log.info("transcode.redrive_answered", video_id=str(event.video_id), job_id=str(live.id), answer="alive")
            return
        orphan = next((j for j in jobs_ if j.status == "RUNNING"), None)
        if orphan is None and (not event.bucket or not event.source_file_key):
            await add_event(session, TranscodeFailedV1(video_id=event.video_id, fail_reason=str(FailReason.SOURCE_MISSING), detail="re-drive without a source", attempt=1, retryable=False), SOURCE, ctx.envelope.correlationid)
            return
    if orphan is not None:
        log.info("transcode.redrive_answered", video_id=str(event.video_id), job_id=str(orphan.id), answer="takeover")
        await run_job(ctx, orphan.job_key, orphan.video_id, orphan.source_bucket, orphan.source_key)
        return
    log.info("transcode.redrive_answered", video_id=str(event.video_id), answer="new_job")
    await run_job(ctx, f"redrive:{ctx.envelope.id}", event.video_id, event.bucket, event.source_file_key)


async def on_video_deleted(ctx: HandlerContext, event: VideoDeletedV1) -> None:
    """Tombstone the video and delete its media objects."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    await ctx.session.execute(pg_insert(DeletedVideo.__table__).values(video_id=event.video_id, deleted_at=utcnow()).on_conflict_do_nothing())
    store: MediaStore = ctx.extras["app"].state.media_store
    await asyncio.to_thread(store.delete_prefix, f"videos/{event.video_id}")


HANDLERS: dict[str, HandlerSpec] = {
    VideoUploadedV1.event_type: HandlerSpec(on_uploaded, mode="self"),
    VideoRetryRequestedV1.event_type: HandlerSpec(on_retry_requested, mode="self"),
    VideoRedriveRequestedV1.event_type: HandlerSpec(on_redrive_requested, mode="self"),
    VideoDeletedV1.event_type: HandlerSpec(on_video_deleted),
}
PUBLISHES: tuple[str, ...] = (
    "reelhouse.transcode.started.v1",
    "reelhouse.transcode.progress.v1",
    "reelhouse.transcode.completed.v1",
    "reelhouse.transcode.failed.v1",
)
