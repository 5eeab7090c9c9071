"""Service test: the transcoder answers the gallery's stuck-video re-drive (video.redrive_requested,
docs/reliability.md "Sweepers") from its job table, against real PostgreSQL, RabbitMQ and an S3 server:
a COMPLETED job re-publishes its transcode.completed, a live job is announced again (transcode.started,
same job and attempt) and not run twice, a video without a job gets one (here its source is missing, so
the job ends FAILED SOURCE_MISSING without any encode), and a new upload key for a video that already has
a live job starts nothing (one job per video)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from reelhouse.contracts.events import (
    RenditionV1,
    TranscodeCompletedV1,
    VideoRedriveRequestedV1,
    VideoUploadedV1,
)
from reelhouse.testing import EventCapture, publish_event, running_service
from reelhouse.transcoder.adapters.db import TranscodeJob, utcnow
from reelhouse.transcoder.main import build_service
from reelhouse.transcoder.settings import TranscoderSettings

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def transcoder(platform_settings):
    settings = TranscoderSettings(**platform_settings.model_dump(), worker_name="redrive-worker", reaper_interval_seconds=3600)
    with EventCapture(settings, ["#"]), running_service(build_service(settings)) as client:
        yield client, settings


def _query(client, sql: str, params: dict | None = None) -> list[tuple]:  # noqa: ANN001
    async def _go():  # noqa: ANN202
        async with client.app.state.db.session() as s:
            return [tuple(r) for r in (await s.execute(text(sql), params or {})).all()]

    return client.portal.call(_go)


def _insert(client, **fields) -> uuid.UUID:  # noqa: ANN001, ANN003
    async def _go() -> uuid.UUID:
        async with client.app.state.db.session() as s:
            job = TranscodeJob(source_bucket="b", source_key="k", worker="other-worker", **fields)
            s.add(job)
            await s.flush()
            return job.id

    return client.portal.call(_go)


def _redrive(settings, video_id: uuid.UUID, source_key: str | None = "k") -> None:  # noqa: ANN001
    publish_event(settings, VideoRedriveRequestedV1(video_id=video_id, owner_id="o", bucket=settings.uploads_bucket, source_file_key=source_key, redrive=1))


def test_a_completed_job_answers_with_its_transcode_completed(transcoder):
    client, settings = transcoder
    vid = uuid.uuid4()
    completed = TranscodeCompletedV1(
        video_id=vid, job_id=uuid.uuid4(), duration_seconds=3.0, width=640, height=360, master_key=f"videos/{vid}/j/master.m3u8",
        renditions=(RenditionV1(quality="360p", width=640, height=360, bandwidth=800_000, codecs="avc1", playlist_key=f"videos/{vid}/j/360p/index.m3u8"),),
    )
    _insert(client, job_key=f"upload:{uuid.uuid4()}", video_id=vid, status="COMPLETED", result=completed.model_dump_json(by_alias=True))
    with EventCapture(settings, ["transcode.*.v1"]) as cap:
        _redrive(settings, vid)
        answer = cap.wait_for(lambda e: e["data"]["videoId"] == str(vid))
    assert answer[0]["type"] == "reelhouse.transcode.completed.v1"
    assert answer[0]["data"]["masterKey"] == completed.master_key
    assert len(_query(client, "SELECT 1 FROM transcode_jobs WHERE video_id = :v", {"v": vid})) == 1  # nothing re-run


def test_a_live_job_is_announced_again_and_not_run_twice(transcoder):
    client, settings = transcoder
    vid, sid = uuid.uuid4(), uuid.uuid4()
    job_id = _insert(client, job_key=f"upload:{sid}", video_id=vid, status="RUNNING", attempt=2,
                     lease_owner="other-worker", lease_expires_at=utcnow() + timedelta(minutes=5))
    with EventCapture(settings, ["transcode.*.v1"]) as cap:
        _redrive(settings, vid)
        answer = cap.wait_for(lambda e: e["data"]["videoId"] == str(vid))
        # a second upload key for the same video (e.g. a stray video.uploaded) starts nothing either
        publish_event(settings, VideoUploadedV1(video_id=vid, owner_id="o", upload_session_id=uuid.uuid4(), bucket="b",
                                                source_file_key="k", source_size_bytes=10, source_mime="video/mp4", checksum="c"))
        _redrive(settings, vid)
        cap.wait_for(lambda e: e["data"]["videoId"] == str(vid), count=2)
    assert (answer[0]["type"], answer[0]["data"]["jobId"], answer[0]["data"]["attempt"]) == ("reelhouse.transcode.started.v1", str(job_id), 2)
    assert {e["type"] for e in cap.seen if e["data"]["videoId"] == str(vid)} == {"reelhouse.transcode.started.v1"}
    assert _query(client, "SELECT id, status, attempt, lease_owner FROM transcode_jobs WHERE video_id = :v", {"v": vid}) == [
        (job_id, "RUNNING", 2, "other-worker")
    ]


def test_a_video_without_a_job_gets_one(transcoder):
    client, settings = transcoder
    vid = uuid.uuid4()
    with EventCapture(settings, ["transcode.*.v1"]) as cap:
        _redrive(settings, vid, source_key=f"missing/{vid}")
        failed = cap.wait_for(lambda e: e["type"] == "reelhouse.transcode.failed.v1" and e["data"]["videoId"] == str(vid))
    assert failed[0]["data"]["failReason"] == "SOURCE_MISSING"
    rows = _query(client, "SELECT job_key, status, fail_reason FROM transcode_jobs WHERE video_id = :v", {"v": vid})
    assert len(rows) == 1 and rows[0][0].startswith("redrive:") and rows[0][1:] == ("FAILED", "SOURCE_MISSING")
    started = [e for e in cap.seen if e["type"] == "reelhouse.transcode.started.v1" and e["data"]["videoId"] == str(vid)]
    assert len(started) == 1
