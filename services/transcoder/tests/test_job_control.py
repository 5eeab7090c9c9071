"""Service test: the transcoder's job control (worker module) against real PostgreSQL, RabbitMQ and an
S3 server: a job whose lease expired (its worker died) is released and republished by the reaper and
taken over by a live worker (attempt 2); after ``max_delivery_attempts`` dead workers it is FAILED with
WORKER_LOST; the admin endpoint pauses and resumes consumption; the stall watchdog kills a real ffmpeg
reading a FIFO that never gets data, and the job is retried with backoff, then FAILED with TIMEOUT."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from reelhouse.contracts.events import VideoUploadedV1
from reelhouse.platform.messaging.outbox import make_envelope
from reelhouse.platform.storage import s3_client
from reelhouse.testing import footage_dir, publish_event, requires_tools, running_service, wait_until
from reelhouse.transcoder.adapters import ffmpeg as ff
from reelhouse.transcoder.adapters.db import TranscodeJob, utcnow
from reelhouse.transcoder.main import build_service
from reelhouse.transcoder.settings import TranscoderSettings

pytestmark = [pytest.mark.service, requires_tools("ffmpeg", "ffprobe")]


@pytest.fixture(scope="module")
def transcoder(platform_settings):
    settings = TranscoderSettings(**platform_settings.model_dump(), worker_name="svc-test-worker", reaper_interval_seconds=3600, stall_timeout_seconds=1.0)
    defn = build_service(settings)
    with running_service(defn) as client:
        yield client


def _query(client, sql: str, params: dict | None = None) -> list[tuple]:  # noqa: ANN001
    async def _go():  # noqa: ANN202
        async with client.app.state.db.session() as s:
            return [tuple(r) for r in (await s.execute(text(sql), params or {})).all()]

    return client.portal.call(_go)


def _orphan(client, attempt: int) -> uuid.UUID:  # noqa: ANN001
    """Insert a RUNNING job of a dead worker (lease expired a minute ago) for a source that does not exist."""
    video_id, session_id = uuid.uuid4(), uuid.uuid4()
    payload = VideoUploadedV1(video_id=video_id, owner_id="u1", upload_session_id=session_id, bucket=client.app.state.settings.uploads_bucket, source_file_key=f"missing/{video_id}", source_size_bytes=10, source_mime="video/mp4", checksum="0" * 64)
    envelope = make_envelope(payload, source="/reelhouse/tests")

    async def _go() -> uuid.UUID:
        async with client.app.state.db.session() as s:
            job = TranscodeJob(
                job_key=f"upload:{session_id}", video_id=video_id, source_bucket=payload.bucket, source_key=payload.source_file_key,
                worker="dead-worker", attempt=attempt, lease_owner="dead-worker", lease_expires_at=utcnow() - timedelta(minutes=1),
                message=envelope.model_dump_json(),
            )
            s.add(job)
            await s.flush()
            return job.id

    return client.portal.call(_go)


def test_reaper_republishes_an_orphaned_job_and_a_live_worker_takes_it_over(transcoder):
    job_id = _orphan(transcoder, attempt=1)
    assert transcoder.portal.call(transcoder.app.state.jobs.reap_once) >= 1
    row = wait_until(
        lambda: (r := _query(transcoder, "SELECT attempt, worker, status, fail_reason, lease_owner FROM transcode_jobs WHERE id = :id", {"id": job_id})[0])[2] != "RUNNING" and r,
        30, 0.2, "takeover",
    )
    # taken over by this worker (attempt 2), which then finds the source missing: a deterministic failure
    assert row == (2, "svc-test-worker", "FAILED", "SOURCE_MISSING", None)


def test_a_job_whose_workers_keep_dying_fails_as_worker_lost(transcoder, platform_settings):
    job_id = _orphan(transcoder, attempt=platform_settings.max_delivery_attempts)
    transcoder.portal.call(transcoder.app.state.jobs.reap_once)
    assert _query(transcoder, "SELECT status, fail_reason FROM transcode_jobs WHERE id = :id", {"id": job_id}) == [("FAILED", "WORKER_LOST")]
    events = _query(transcoder, "SELECT envelope->'data'->>'failReason' FROM outbox WHERE envelope->'data'->>'jobId' = :id", {"id": str(job_id)})
    assert events == [("WORKER_LOST",)]


def test_admin_pause_and_resume(transcoder):
    assert transcoder.get("/admin/consumer").json()["consuming"] is True
    paused = transcoder.post("/admin/consumer/pause").json()
    assert paused["paused"] is True and paused["consuming"] is False
    resumed = transcoder.post("/admin/consumer/resume").json()
    assert resumed["paused"] is False and resumed["consuming"] is True


def _ffmpeg_reading(path: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"ffmpeg") and str(path).encode() in cmd:
            pids.append(int(entry.name))
    return pids


def test_watchdog_kills_a_stalled_ffmpeg_and_the_job_fails_as_timeout_after_retries(transcoder, platform_settings, tmp_path, monkeypatch):
    """The real pipeline with the real ffmpeg, except that the HLS encode reads a FIFO nobody writes to:
    each attempt's ffmpeg is killed by the watchdog after 1 s without progress (TIMEOUT, retryable),
    the job is handed back with backoff (0.2 s, 0.4 s) and FAILED with TIMEOUT on attempt 3."""
    fifo = tmp_path / "never-written.ts"
    os.mkfifo(fifo)
    real = ff.transcode_to_hls
    monkeypatch.setattr(ff, "transcode_to_hls", lambda source, out, *a, **kw: real(fifo, out, *a, **kw))
    video_id, session_id = uuid.uuid4(), uuid.uuid4()
    clip = footage_dir() / "carphone_pristine.mp4"
    key = f"sources/{video_id}.mp4"
    s3_client(platform_settings).upload_file(str(clip), platform_settings.uploads_bucket, key)
    publish_event(platform_settings, VideoUploadedV1(video_id=video_id, owner_id="u1", upload_session_id=session_id, bucket=platform_settings.uploads_bucket, source_file_key=key, source_size_bytes=clip.stat().st_size, source_mime="video/mp4", checksum="0" * 64))
    sql = "SELECT attempt, status, fail_reason, extract(epoch FROM finished_at - started_at) FROM transcode_jobs WHERE video_id = :v"
    row = wait_until(lambda: (r := _query(transcoder, sql, {"v": video_id})) and r[0][1] != "RUNNING" and r[0], 60, 0.2, "job FAILED")
    attempt, status, reason, last_attempt_seconds = row
    assert (attempt, status, reason) == (platform_settings.max_delivery_attempts, "FAILED", "TIMEOUT")
    assert 1.0 <= float(last_attempt_seconds) < 10, last_attempt_seconds  # killed after ~1 s of silence
    failed = _query(transcoder, "SELECT envelope->'data'->>'retryable' FROM outbox WHERE event_type = 'reelhouse.transcode.failed.v1' AND envelope->'data'->>'videoId' = :v", {"v": str(video_id)})
    started = _query(transcoder, "SELECT count(*) FROM outbox WHERE event_type = 'reelhouse.transcode.started.v1' AND envelope->'data'->>'videoId' = :v", {"v": str(video_id)})
    assert failed == [("true",)] and started == [(platform_settings.max_delivery_attempts,)]
    assert _ffmpeg_reading(fifo) == []  # every stalled ffmpeg was killed
