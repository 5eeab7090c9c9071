"""The stuck-video sweeper: no video stays UPLOADED or TRANSCODING for ever (docs/reliability.md,
"Sweepers"; issue 10, "a sweeper per state").

Who knows what. The transcoder owns the jobs; the gallery only sees their events. So the gallery
measures *silence*: ``videos.activity_at`` is the last sign of life of a video's pipeline (its last
transition, any transcode.started / progress / completed / failed). A video UPLOADED or TRANSCODING
silent for ``stuck_video_seconds`` (T) is re-driven: the sweeper publishes ``video.redrive_requested``
(through the outbox, in the transaction that counts it), and the transcoder answers from its job table,
idempotently (``reelhouse.transcoder.handlers.on_redrive_requested``):

- a live job (running, or handed back and waiting in its retry queue) is announced again
  (transcode.started with the same job and attempt: the gallery notes the sign of life, nothing moves);
- a COMPLETED job re-publishes its transcode.completed (the gallery had lost it: a dead letter);
- no job, or only FAILED ones, starts a job from the stored source (the video.uploaded or retry never
  reached a worker).

Any answer resets the count (:func:`reelhouse.gallery.adapters.db.touch`). The n-th re-drive without an
answer waits ``T * 2**n`` (a long transcode queue answers late, not never); after
``stuck_video_max_redrives`` unanswered re-drives the video ends FAILED with failReason
``NO_TRANSCODE_JOB``, along the allowed transitions (an UPLOADED video passes TRANSCODING, as for a
transcode.failed that overtook transcode.started: docs/api.md "Video status"). With the defaults
(T = 5 min, 3 re-drives): re-drives after 5, 15 and 35 min of silence, FAILED after 75 min.

Several gallery processes may sweep at once: rows are claimed with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

import structlog
from fastapi import FastAPI
from sqlalchemy import select

from reelhouse.contracts.events import VideoRedriveRequestedV1
from reelhouse.gallery.adapters import metrics, webhooks
from reelhouse.gallery.adapters.db import Video, utcnow
from reelhouse.gallery.domain.lifecycle import VideoStatus
from reelhouse.platform.messaging.outbox import add_event

log = structlog.get_logger(__name__)
SOURCE = "/reelhouse/gallery"
NO_TRANSCODE_JOB = "NO_TRANSCODE_JOB"
"""``failReason`` of a video the sweeper gave up on: no transcode job answered its re-drives."""
WAITING = (VideoStatus.UPLOADED, VideoStatus.TRANSCODING)
"""The states that wait for the transcoder."""


def next_action_at(video: Video, stuck_seconds: float) -> datetime:
    """When the sweeper acts on ``video`` next: ``T`` after its last sign of life, then ``T * 2**n``
    after its n-th re-drive (``redriven_at``). Pure; times tz-aware UTC."""
    if video.redrive_count <= 0 or video.redriven_at is None:
        return video.activity_at + timedelta(seconds=stuck_seconds)
    return video.redriven_at + timedelta(seconds=stuck_seconds * (2 ** video.redrive_count))


async def sweep_once(app: FastAPI, batch: int = 100, now: datetime | None = None) -> dict[str, int]:
    """Re-drive or fail up to ``batch`` silent videos; returns ``{"redriven": n, "failed": m}``.

    Raises what the database raises (the loop logs it and tries again on its next pass)."""
    from reelhouse.gallery.handlers import _advance, video_failed_data

    settings = app.state.settings
    stuck = float(settings.stuck_video_seconds)
    now = now or utcnow()
    counts = {"redriven": 0, "failed": 0}
    async with app.state.db.session() as session:
        rows = (
            await session.execute(
                select(Video)
                .where(Video.status.in_([str(s) for s in WAITING]), Video.activity_at < now - timedelta(seconds=stuck))
                .order_by(Video.activity_at)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).scalars().all()
        for video in rows:
            if next_action_at(video, stuck) > now:
                continue
            silent = (now - video.activity_at).total_seconds()
            if video.redrive_count >= settings.stuck_video_max_redrives:
                if _advance(video, VideoStatus.FAILED, session=session, cause="sweeper"):
                    video.fail_reason = NO_TRANSCODE_JOB
                    video.fail_detail = (
                        f"no transcode job answered {video.redrive_count} re-drive(s); "
                        f"no sign of a job for {silent:.0f} s"
                    )
                    session.add(video)
                    await webhooks.enqueue(session, video.owner_id, "video.failed", video_failed_data(video))
                    metrics.video_failed(video.fail_reason)
                    counts["failed"] += 1
                    log.error("gallery.stuck_video_failed", video_id=str(video.id), redrives=video.redrive_count, silent_s=round(silent))
                continue
            video.redrive_count += 1
            video.redriven_at = now
            session.add(video)
            await add_event(
                session,
                VideoRedriveRequestedV1(
                    video_id=video.id,
                    owner_id=video.owner_id,
                    bucket=video.source_bucket,
                    source_file_key=video.source_file_key,
                    source_mime=video.source_mime,
                    redrive=video.redrive_count,
                ),
                SOURCE,
                None,
            )
            counts["redriven"] += 1
            log.warning("gallery.stuck_video_redriven", video_id=str(video.id), status=video.status, redrive=video.redrive_count, silent_s=round(silent))
    return counts


async def _sweep_forever(app: FastAPI) -> None:
    while True:
        await asyncio.sleep(app.state.settings.stuck_sweeper_interval_seconds)
        try:
            await sweep_once(app)
        except Exception as exc:  # noqa: BLE001 - database down: next pass
            log.warning("gallery.sweep_failed", error=f"{type(exc).__name__}: {exc}")


async def start_sweeper(app: FastAPI) -> None:
    """Lifespan hook: run the stuck-video sweeper in the background."""
    app.state.sweeper = asyncio.create_task(_sweep_forever(app), name="gallery-stuck-video-sweeper")


async def stop_sweeper(app: FastAPI) -> None:
    """Lifespan hook: stop the sweeper."""
    task = getattr(app.state, "sweeper", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
