"""Job control of one transcoder worker process: one job at a time, ack early, job-row leases with
heartbeats, a reaper for orphaned jobs, pause/resume, and graceful stop on SIGTERM.

Why ack early (RabbitMQ ``consumer_timeout``)
---------------------------------------------
RabbitMQ closes the channel of a consumer that keeps a delivery unacked longer than ``consumer_timeout``
(30 min by default) and requeues the message, so a long transcode holding its message would be killed
and duplicated. The per-queue ``x-consumer-timeout`` argument and policy key only exist from RabbitMQ
3.12; the local server is 3.10.8, where the limit can only be raised for the whole broker in
rabbitmq.conf. So the transcoder does not hold deliveries during a job:

1. a delivery arrives (prefetch 1); the worker first cancels its consumer (``basic.cancel``), so no
   other message is pushed to it while it is busy;
2. it claims the job row in PostgreSQL: ``lease_owner`` = this worker, ``lease_expires_at`` = now +
   ``job_lease_seconds``, the message itself stored in ``message``; the handler returns and the
   delivery is acked (milliseconds after it arrived: ``consumer_timeout`` never comes into play);
3. the job runs in a background task; a heartbeat extends the lease every ``job_lease_seconds / 3``;
   when done the worker consumes again.

Crash (SIGKILL, OOM, node loss): the heartbeats stop, the lease expires, and the reaper of any worker
(every ``reaper_interval_seconds``) releases the row (``lease_owner`` NULL) and republishes the stored
message to the transcoder queue; the worker that gets it takes the job over (``attempt`` + 1). A job
whose workers died ``max_delivery_attempts`` times is FAILED with WORKER_LOST instead (a file that
kills ffmpeg every time must not loop forever). Nothing of a crashed attempt is visible: outputs are
uploaded under a per-job prefix and only transcode.completed (after the master playlist) makes them known.

Graceful stop (SIGTERM, via the lifespan shutdown): the consumer is cancelled at once, the running job
gets ``shutdown_grace_seconds`` to finish; after that ffmpeg is killed and the job is handed back:
released and republished to the queue immediately, so another worker restarts it without waiting for
a lease to expire. Set the pod's ``terminationGracePeriodSeconds`` above the grace period.

Broker restart (``rabbitmqctl stop_app``/``start_app``, a failover): FastStream's robust channel
reconnects and restores the consumers it knows of. The consumer this module cancels and starts itself
must follow: a cancel on a closed channel also drops the consumer from aio-pika's restore list (else
the restore would bring back a consumer while a job runs), and a resume that meets a closed channel
(``ChannelInvalidStateError``) is not an error but a deferred resume: a watchdog re-applies the wanted
state every ``CONSUMER_WATCH_SECONDS`` until the consumer is back, so a worker never sits idle with
messages in its queue.

Duplicates: a delivery for a RUNNING job whose lease is live is dropped (the owner is alive); the owner
only finishes the job while it still holds the lease (``lease_owner`` = itself), so two workers never
both complete one job.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog
from aiormq.exceptions import AMQPError, ChannelInvalidStateError
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import select, update

from reelhouse.contracts.events import TranscodeFailedV1
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.transcoder.adapters.db import TranscodeJob, utcnow
from reelhouse.transcoder.domain.job import JobStatus
from reelhouse.transcoder.domain.ladder import FailReason
from reelhouse.transcoder.settings import TranscoderSettings

log = structlog.get_logger(__name__)
SOURCE = "/reelhouse/transcoder"
ORPHAN_REQUEUE_SECONDS = 600.0
"""After republishing an orphaned or handed-back job, the reaper leaves it alone this long (s): time for
a free worker to take the message (a duplicate republish is harmless but wasteful)."""
CONSUMER_WATCH_SECONDS = 1.0
"""How often the watchdog re-applies the wanted consumer state (s): the longest a worker stays without a
consumer after the broker came back."""


class JobControl:
    """Per-process state: whether the consumer runs, the current job, the reaper.

    The consumer consumes iff not paused (admin), not busy (a job runs) and not stopping (SIGTERM).
    ``cancel`` is the running job's cancel event (set on shutdown after the grace period: ffmpeg is killed).
    """

    def __init__(self, app: FastAPI, settings: TranscoderSettings, name: str) -> None:
        self.app = app
        self.settings = settings
        self.name = name
        self.paused = False
        self.busy = False
        self.stopping = False
        self.task: asyncio.Task[None] | None = None
        self.job_id: uuid.UUID | None = None
        self.cancel = threading.Event()
        self._lock = asyncio.Lock()
        self._reaper: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._resume_pending = False
        self.reaped = 0

    # --- consumption ----------------------------------------------------------------------------

    @property
    def _subscriber(self) -> Any:  # noqa: ANN401 - FastStream's RabbitSubscriber
        consumer = getattr(self.app.state, "consumer", None)
        return consumer.subscriber if consumer is not None else None

    @property
    def consuming(self) -> bool:
        sub = self._subscriber
        return sub is not None and sub._consumer_tag is not None

    async def apply(self) -> bool:
        """Start or cancel the AMQP consumer to match the state (idempotent). Returns True when the
        consumer now matches, False when the broker connection is down (the watchdog tries again).

        Uses the FastStream 0.7 subscriber's queue object and consumer tag (the same calls its own
        start()/stop() make), so FastStream's stop() at shutdown stays consistent. A cancel while the
        channel is closed removes the consumer from aio-pika's ``RobustQueue`` restore list too, so the
        reconnect does not bring it back while a job runs.
        """
        async with self._lock:
            sub = self._subscriber
            queue = getattr(sub, "_queue_obj", None)
            if queue is None:
                return True
            want = not (self.paused or self.busy or self.stopping)
            if want and sub._consumer_tag is None:
                if queue.channel.is_closed:
                    self._deferred("channel closed")
                    return False
                try:
                    sub._consumer_tag = await queue.consume(sub.consume, no_ack=False, arguments=sub.consume_args)
                except (ChannelInvalidStateError, AMQPError, ConnectionError, RuntimeError) as exc:
                    self._deferred(f"{type(exc).__name__}: {exc}")
                    return False
                self._resume_pending = False
                log.info("consumer.resumed", worker=self.name)
            elif not want and sub._consumer_tag is not None:
                tag, sub._consumer_tag = sub._consumer_tag, None
                consumers = getattr(queue, "_consumers", None)
                if isinstance(consumers, dict):
                    consumers.pop(tag, None)  # never restored on reconnect (RobustQueue.restore)
                if not queue.channel.is_closed:
                    with contextlib.suppress(ChannelInvalidStateError, AMQPError, ConnectionError, RuntimeError):
                        await queue.cancel(tag)
                log.info("consumer.cancelled", worker=self.name, paused=self.paused, busy=self.busy, stopping=self.stopping)
            return True

    def _deferred(self, why: str) -> None:
        if not self._resume_pending:
            log.warning("consumer.resume_deferred", worker=self.name, why=why)
        self._resume_pending = True

    async def _watch_forever(self) -> None:
        """Re-apply the wanted consumer state every ``CONSUMER_WATCH_SECONDS`` (a resume deferred by a
        broker outage happens as soon as the channel is back)."""
        while True:
            await asyncio.sleep(CONSUMER_WATCH_SECONDS)
            try:
                await self.apply()
            except Exception as exc:  # noqa: BLE001 - never let the watchdog die
                log.warning("consumer.watch_failed", worker=self.name, error=f"{type(exc).__name__}: {exc}")

    async def hold(self) -> None:
        """Mark busy and stop consuming (called while the triggering delivery is still unacked)."""
        self.busy = True
        await self.apply()

    async def unhold(self) -> None:
        """Not busy any more: consume again unless paused or stopping."""
        self.busy = False
        self.task = None
        self.job_id = None
        await self.apply()

    def run(self, job_id: uuid.UUID, body: Callable[[threading.Event], Awaitable[None]]) -> None:
        """Run ``body(cancel_event)`` as this worker's job in the background; consume again after it."""
        self.cancel = threading.Event()
        self.job_id = job_id
        cancel = self.cancel

        async def _run() -> None:
            try:
                await body(cancel)
            except Exception:  # noqa: BLE001 - the body reports its own failures; never kill the worker
                log.exception("transcode.job_crashed", job_id=str(job_id))
            finally:
                await self.unhold()

        self.task = asyncio.create_task(_run(), name=f"transcode-{job_id}")

    # --- leases -------------------------------------------------------------------------------------

    def lease_deadline(self):  # noqa: ANN201
        return utcnow() + timedelta(seconds=self.settings.job_lease_seconds)

    async def heartbeat(self, job_id: uuid.UUID, lost: asyncio.Event) -> None:
        """Extend the lease every third of it until cancelled; sets ``lost`` (and the job's cancel event)
        when the row is no longer ours (another worker took it over after a stall)."""
        db = self.app.state.db
        period = self.settings.job_lease_seconds / 3
        while True:
            await asyncio.sleep(period)
            try:
                async with db.session() as session:
                    result = await session.execute(
                        update(TranscodeJob)
                        .where(TranscodeJob.id == job_id, TranscodeJob.lease_owner == self.name, TranscodeJob.status == JobStatus.RUNNING)
                        .values(lease_expires_at=self.lease_deadline())
                    )
                    if result.rowcount == 0:
                        log.warning("transcode.lease_lost", job_id=str(job_id), worker=self.name)
                        lost.set()
                        self.cancel.set()
                        return
            except Exception as exc:  # noqa: BLE001 - a missed beat is fine; the lease has slack
                log.warning("transcode.heartbeat_failed", job_id=str(job_id), error=str(exc))

    async def requeue(self, body: str, *, delay_seconds: float = 0.0, attempt: int = 1, headers: dict[str, Any] | None = None) -> None:
        """Publish a job's stored CloudEvent back to the transcoder queue (persistent, confirmed); with
        ``delay_seconds`` > 0 through the retry queue (it dead-letters into the main queue on expiry).
        ``headers`` are added to the message (e.g. the outage bookkeeping of the job handler)."""
        consumer = self.app.state.consumer
        queue = consumer.queues.retry if delay_seconds > 0 else consumer.queues.main
        # aio-pika reads a number as SECONDS (it converts to the AMQP milliseconds string itself);
        # a timedelta says what it means
        extra: dict[str, Any] = {"expiration": timedelta(seconds=delay_seconds)} if delay_seconds > 0 else {}
        await self.app.state.broker.publish(
            body.encode(),
            queue=queue,
            headers={**(headers or {}), "x-attempt": attempt + 1, "x-requeued-by": self.name},
            persist=True,
            content_type="application/cloudevents+json",
            mandatory=True,
            **extra,
        )

    async def release(
        self,
        job_id: uuid.UUID,
        body: str | None,
        *,
        delay_seconds: float = 0.0,
        attempt: int = 1,
        uncount: bool = False,
        headers: dict[str, Any] | None = None,
    ) -> bool:
        """Give a job we own back to the queue: clear ``lease_owner`` and republish its message (after
        ``delay_seconds``). ``uncount`` gives the attempt back (the next claim counts it again): for an
        infrastructure outage, which says nothing about the source. Returns False when the row was no
        longer ours (nothing is published)."""
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_expires_at": utcnow() + timedelta(seconds=delay_seconds + ORPHAN_REQUEUE_SECONDS),
        }
        if uncount:
            values["attempt"] = TranscodeJob.attempt - 1
        async with self.app.state.db.session() as session:
            result = await session.execute(
                update(TranscodeJob)
                .where(TranscodeJob.id == job_id, TranscodeJob.lease_owner == self.name, TranscodeJob.status == JobStatus.RUNNING)
                .values(**values)
            )
            if result.rowcount == 0 or body is None:
                return False
            await self.requeue(body, delay_seconds=delay_seconds, attempt=attempt, headers=headers)  # commit follows the publish
        log.info("transcode.handed_back", job_id=str(job_id), delay_s=delay_seconds, worker=self.name, uncounted=uncount)
        return True

    async def reap_once(self) -> int:
        """Release and republish RUNNING jobs whose lease expired (their worker died), or fail them with
        WORKER_LOST after ``max_delivery_attempts`` claims. Returns how many rows were handled.

        Rows are locked with SKIP LOCKED so several workers' reapers never handle one job twice; the
        publish happens before the commit, so a failed publish leaves the row to the next pass.
        """
        handled = 0
        async with self.app.state.db.session() as session:
            rows = (
                await session.execute(
                    select(TranscodeJob)
                    .where(TranscodeJob.status == JobStatus.RUNNING, TranscodeJob.lease_expires_at < utcnow(), TranscodeJob.message.is_not(None))
                    .order_by(TranscodeJob.lease_expires_at)
                    .limit(10)
                    .with_for_update(skip_locked=True)
                )
            ).scalars().all()
            for job in rows:
                handled += 1
                if job.attempt >= self.settings.max_delivery_attempts:
                    job.status = JobStatus.FAILED
                    job.fail_reason = str(FailReason.WORKER_LOST)
                    job.detail = f"the worker running the job died {job.attempt} times (last: {job.worker})"
                    job.finished_at = utcnow()
                    job.lease_owner = None
                    session.add(job)
                    await add_event(
                        session,
                        TranscodeFailedV1(video_id=job.video_id, job_id=job.id, fail_reason=job.fail_reason, detail=job.detail, attempt=job.attempt, retryable=True),
                        SOURCE,
                        None,
                    )
                    log.error("transcode.worker_lost", job_id=str(job.id), attempts=job.attempt)
                    continue
                log.warning("transcode.orphan_requeued", job_id=str(job.id), dead_worker=job.lease_owner or job.worker, attempt=job.attempt)
                job.lease_owner = None
                job.lease_expires_at = utcnow() + timedelta(seconds=ORPHAN_REQUEUE_SECONDS)
                session.add(job)
                await self.requeue(job.message, attempt=job.attempt)
        self.reaped += handled
        return handled

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reaper_interval_seconds)
            try:
                await self.reap_once()
            except Exception as exc:  # noqa: BLE001 - database or broker down: try again next pass
                log.warning("transcode.reaper_failed", error=str(exc))

    # --- lifecycle ----------------------------------------------------------------------------------

    def start_reaper(self) -> None:
        """Start the orphan reaper and the consumer watchdog (background tasks of this process)."""
        self._reaper = asyncio.create_task(self._reap_forever(), name="transcode-reaper")
        self._watch = asyncio.create_task(self._watch_forever(), name="transcode-consumer-watch")

    async def shutdown(self) -> None:
        """Graceful stop: stop consuming, give the running job ``shutdown_grace_seconds``, then cancel it
        (ffmpeg killed; the job body hands it back), and stop the reaper."""
        self.stopping = True
        await self.apply()
        task = self.task
        if task is not None and not task.done():
            log.info("transcode.shutdown_waiting", job_id=str(self.job_id), grace_s=self.settings.shutdown_grace_seconds)
            done, _ = await asyncio.wait({task}, timeout=self.settings.shutdown_grace_seconds)
            if not done:
                log.warning("transcode.shutdown_handing_back", job_id=str(self.job_id))
                self.cancel.set()
                done, _ = await asyncio.wait({task}, timeout=15)
                if not done:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
        for bg in (self._reaper, self._watch):
            if bg is not None:
                bg.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await bg

    def status(self) -> dict[str, Any]:
        return {
            "worker": self.name,
            "consuming": self.consuming,
            "paused": self.paused,
            "busy": self.busy,
            "stopping": self.stopping,
            "jobId": str(self.job_id) if self.job_id else None,
        }


def admin_router() -> APIRouter:
    """``/admin/consumer`` on the worker's health port (cluster-internal, never routed by the edge):
    GET the state; POST ``pause`` stops taking new jobs (the running one finishes), ``resume`` undoes it.
    Used by operators draining a worker and by the e2e crash tests."""
    router = APIRouter(prefix="/admin/consumer", include_in_schema=False)

    @router.get("")
    async def state(request: Request) -> dict[str, Any]:
        return request.app.state.jobs.status()

    @router.post("/pause")
    async def pause(request: Request) -> dict[str, Any]:
        jobs: JobControl = request.app.state.jobs
        jobs.paused = True
        await jobs.apply()
        return jobs.status()

    @router.post("/resume")
    async def resume(request: Request) -> dict[str, Any]:
        jobs: JobControl = request.app.state.jobs
        jobs.paused = False
        await jobs.apply()
        return jobs.status()

    return router
