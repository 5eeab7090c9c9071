"""Service test of the stuck-video sweeper (docs/reliability.md, "Sweepers") against real PostgreSQL and
RabbitMQ: a video left UPLOADED or TRANSCODING with no sign of a transcode job is re-driven
(video.redrive_requested, with its source), each re-drive waiting twice as long; an answer from the
transcoder (a transcode event) resets the count and moves nothing; after the last unanswered re-drive
the video ends FAILED with failReason NO_TRANSCODE_JOB, each transition written once to the history.
Without the sweeper the video stays UPLOADED for ever."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from reelhouse.contracts.events import TranscodeStartedV1, VideoUploadedV1, VideoUploadStartedV1
from reelhouse.gallery.adapters.db import utcnow
from reelhouse.gallery.main import build_service
from reelhouse.gallery.settings import GallerySettings
from reelhouse.gallery.sweeper import sweep_once
from reelhouse.testing import EventCapture, auth_headers, publish_event, running_service, wait_until

pytestmark = pytest.mark.service

T = 60.0  # stuck_video_seconds; the test moves the sweeper's clock instead of sleeping


@pytest.fixture(scope="module")
def gallery(platform_settings):
    settings = GallerySettings(**{**platform_settings.model_dump(exclude={"service_name", "http_port"}),
                                  "stuck_video_seconds": T, "stuck_video_max_redrives": 2, "stuck_sweeper_interval_seconds": 3600})
    with EventCapture(settings, ["#"]), running_service(build_service(settings)) as client:  # every event routable
        yield client, settings


def _uploaded_video(client, settings) -> tuple[str, dict]:  # noqa: ANN001
    owner = auth_headers(settings, f"stuck-{uuid.uuid4().hex[:6]}")
    r = client.post("/api/videos", json={"title": "stuck", "sourceMime": "video/mp4", "sourceSizeBytes": 10}, headers=owner)
    assert r.status_code == 201, r.text
    vid = uuid.UUID(r.json()["id"])
    sid = uuid.uuid4()
    publish_event(settings, VideoUploadStartedV1(video_id=vid, upload_session_id=sid))
    publish_event(settings, VideoUploadedV1(video_id=vid, owner_id="o", upload_session_id=sid, bucket="uploads-b",
                                            source_file_key=f"sources/{vid}", source_size_bytes=10, source_mime="video/mp4", checksum="c"))
    wait_until(lambda: client.get(f"/api/videos/{vid}", headers=owner).json()["status"] == "UPLOADED", 20, 0.1, "UPLOADED")
    return str(vid), owner


def _sweep(client, after_seconds: float) -> dict:  # noqa: ANN001
    """One sweeper pass as if ``after_seconds`` had passed."""
    return client.portal.call(lambda: sweep_once(client.app, now=utcnow() + timedelta(seconds=after_seconds)))


def _history(client, vid: str) -> list[tuple[str, str, str]]:  # noqa: ANN001
    async def _go():  # noqa: ANN202
        async with client.app.state.db.session() as s:
            rows = await s.execute(text("SELECT from_status, to_status, cause FROM video_transitions WHERE video_id = :v ORDER BY id"), {"v": vid})
            return [tuple(r) for r in rows.all()]

    return client.portal.call(_go)


def _redrives(cap: EventCapture, vid: str) -> list[dict]:
    return [e["data"] for e in cap.drain() if e["type"] == "reelhouse.video.redrive_requested.v1" and e["data"]["videoId"] == vid]


def test_a_silent_uploaded_video_is_redriven_with_backoff_then_failed(gallery):
    client, settings = gallery
    vid, owner = _uploaded_video(client, settings)
    with EventCapture(settings, ["video.redrive_requested.v1"]) as cap:
        assert _sweep(client, T / 2)["redriven"] == 0  # not silent long enough
        _sweep(client, T + 1)
        first = cap.wait_for(lambda e: e["data"]["videoId"] == vid)[0]["data"]
        assert (first["redrive"], first["bucket"], first["sourceFileKey"]) == (1, "uploads-b", f"sources/{vid}")
        _sweep(client, T + 2 * T - 5)  # the second re-drive waits 2T after the first
        assert len(_redrives(cap, vid)) == 1
        _sweep(client, T + 2 * T + 1)
        cap.wait_for(lambda e: e["data"]["videoId"] == vid and e["data"]["redrive"] == 2)
        _sweep(client, T + 2 * T + 4 * T - 5)
        assert client.get(f"/api/videos/{vid}", headers=owner).json()["status"] == "UPLOADED"
        _sweep(client, T + 2 * T + 4 * T + 1)  # no answer to 2 re-drives (the maximum): FAILED
    video = client.get(f"/api/videos/{vid}", headers=owner).json()
    assert (video["status"], video["failReason"]) == ("FAILED", "NO_TRANSCODE_JOB")
    assert _history(client, vid) == [
        ("DRAFT", "UPLOADING", "reelhouse.video.upload_started.v1"),
        ("UPLOADING", "UPLOADED", "reelhouse.video.uploaded.v1"),
        ("UPLOADED", "TRANSCODING", "sweeper"),
        ("TRANSCODING", "FAILED", "sweeper"),
    ]
    assert _sweep(client, 100 * T) == {"redriven": 0, "failed": 0}  # FAILED is an end state


def test_an_answer_from_the_transcoder_resets_the_count_and_moves_nothing(gallery):
    client, settings = gallery
    vid, owner = _uploaded_video(client, settings)
    job = uuid.uuid4()
    publish_event(settings, TranscodeStartedV1(video_id=uuid.UUID(vid), job_id=job, attempt=1))
    wait_until(lambda: client.get(f"/api/videos/{vid}", headers=owner).json()["status"] == "TRANSCODING", 20, 0.1, "TRANSCODING")
    with EventCapture(settings, ["video.redrive_requested.v1"]) as cap:
        _sweep(client, T + 1)
        cap.wait_for(lambda e: e["data"]["videoId"] == vid)
        # the transcoder answers: the job is alive (the same transcode.started again)
        publish_event(settings, TranscodeStartedV1(video_id=uuid.UUID(vid), job_id=job, attempt=1))

        def _reset() -> bool:
            return client.portal.call(lambda: _count(client, vid)) == 0

        wait_until(_reset, 20, 0.1, "re-drive count reset by the answer")
        assert _sweep(client, T - 5)["redriven"] == 0  # silence counts from the answer again
        assert _sweep(client, 7 * T + 1)["failed"] == 0  # only one re-drive since the answer: no FAILED
    assert client.get(f"/api/videos/{vid}", headers=owner).json()["status"] == "TRANSCODING"
    assert [h[:2] for h in _history(client, vid)] == [("DRAFT", "UPLOADING"), ("UPLOADING", "UPLOADED"), ("UPLOADED", "TRANSCODING")]


async def _count(client, vid: str) -> int:  # noqa: ANN001
    async with client.app.state.db.session() as s:
        return (await s.execute(text("SELECT redrive_count FROM videos WHERE id = :v"), {"v": vid})).scalar_one()
