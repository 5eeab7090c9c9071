"""Drill: a transcoder worker survives a broker restart in the middle of a job.

A PRIVATE RabbitMQ node (fixture ``private_rabbitmq``; the shared broker is never touched) carries two
real clips' video.uploaded events. The worker takes the first (prefetch 1: it cancels its consumer while
the job runs); the broker's application is stopped while that job is in progress and the job finishes
during the outage, so the worker tries to consume again on a closed channel (the failure seen on the
local stack: ``ChannelInvalidStateError``, then 0 consumers for good). After ``start_app`` the worker
must consume again by itself: the second clip is transcoded, and both transcode.completed events,
written to the outbox during or after the outage, reach the exchange.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text

from reelhouse.contracts.events import VideoUploadedV1
from reelhouse.platform.storage import s3_client
from reelhouse.testing import (
    EventCapture,
    footage_dir,
    publish_event,
    running_service,
    wait_until,
)
from reelhouse.transcoder.adapters import ffmpeg as ff
from reelhouse.transcoder.main import build_service
from reelhouse.transcoder.settings import TranscoderSettings

pytestmark = [pytest.mark.service, pytest.mark.drill]


def _status(client, video_id: uuid.UUID) -> str | None:  # noqa: ANN001
    async def _go():  # noqa: ANN202
        async with client.app.state.db.session() as s:
            return (await s.execute(text("SELECT status FROM transcode_jobs WHERE video_id = :v"), {"v": video_id})).scalar_one_or_none()

    return client.portal.call(_go)


def test_worker_consumes_again_after_a_broker_restart_mid_job(platform_settings, private_rabbitmq, monkeypatch):
    settings = TranscoderSettings(
        **{
            **platform_settings.model_dump(),
            "amqp_url": private_rabbitmq.url,
            "database_prefix": f"{platform_settings.database_prefix}drill_",
        },
        worker_name="drill-worker",
    )
    gate, entered = threading.Event(), threading.Event()
    real_probe = ff.probe

    def gated_probe(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - hold the first job until the outage began
        entered.set()
        gate.wait(120)
        return real_probe(*args, **kwargs)

    monkeypatch.setattr(ff, "probe", gated_probe)
    clip = footage_dir() / "carphone_pristine.mp4"
    videos = [uuid.uuid4(), uuid.uuid4()]
    s3 = s3_client(settings)
    with running_service(build_service(settings)) as client:
        for v in videos:
            s3.upload_file(str(clip), settings.uploads_bucket, f"sources/{v}.mp4")
            publish_event(settings, VideoUploadedV1(
                video_id=v, owner_id="drill", upload_session_id=uuid.uuid4(), bucket=settings.uploads_bucket,
                source_file_key=f"sources/{v}.mp4", source_size_bytes=clip.stat().st_size, source_mime="video/mp4", checksum="0" * 64,
            ))
        assert entered.wait(60), "the first job never started"
        first = next(v for v in videos if _status(client, v) == "RUNNING")
        second = next(v for v in videos if v != first)
        assert _status(client, second) is None  # waits in the queue: one job at a time
        with private_rabbitmq.outage():
            gate.set()  # the running job goes on and finishes while the broker is down
            wait_until(lambda: _status(client, first) == "COMPLETED", 120, 0.2, "first job COMPLETED during the outage")
            # the job is over (its task's last step): the worker now tries to consume on the closed channel
            wait_until(lambda: client.app.state.jobs.status()["busy"] is False, 30, 0.1, "worker idle")
        with EventCapture(settings, ["transcode.#"]) as cap:  # every transcode event: the relay keeps per-video order
            wait_until(lambda: _status(client, second) == "COMPLETED", 120, 0.2, "second job COMPLETED after the restart")
            done = cap.wait_for(lambda e: e["type"].endswith("transcode.completed.v1") and e["data"]["videoId"] in {str(v) for v in videos}, timeout=60, count=2)
        assert {e["data"]["videoId"] for e in done} == {str(v) for v in videos}
        assert client.get("/admin/consumer").json()["consuming"] is True
