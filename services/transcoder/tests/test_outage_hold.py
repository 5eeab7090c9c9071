"""Service test: an S3 outage costs a transcode time, not its attempts. The real pipeline (PostgreSQL,
RabbitMQ, S3 server, ffmpeg) runs a real clip while the source download fails with botocore's
EndpointConnectionError (what boto3 raises when S3 is unreachable) more times than
``max_delivery_attempts``; the job is handed back with a capped backoff without counting those tries and
completes on attempt 1 once S3 answers, instead of ending FAILED/TRANSCODE_ERROR after 3 quick tries."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import EndpointConnectionError
from sqlalchemy import text

from reelhouse.contracts.events import VideoUploadedV1
from reelhouse.platform.storage import s3_client
from reelhouse.testing import footage_dir, publish_event, running_service, wait_until
from reelhouse.transcoder.adapters.storage import MediaStore
from reelhouse.transcoder.main import build_service
from reelhouse.transcoder.settings import TranscoderSettings

pytestmark = [pytest.mark.service, pytest.mark.drill]


def test_a_job_is_held_through_a_storage_outage_and_completes(platform_settings, monkeypatch):
    settings = TranscoderSettings(**{**platform_settings.model_dump(), "retry_backoff_max_seconds": 0.5,
                                     "database_prefix": f"{platform_settings.database_prefix}hold_"}, worker_name="hold-worker")
    outage_calls = settings.max_delivery_attempts + 3
    calls = []
    real_download = MediaStore.download

    def flaky_download(self, bucket, key, dest, on_fraction=None):  # noqa: ANN001, ANN202
        calls.append(key)
        if len(calls) <= outage_calls:
            raise EndpointConnectionError(endpoint_url=settings.s3_endpoint_url)
        return real_download(self, bucket, key, dest, on_fraction)

    monkeypatch.setattr(MediaStore, "download", flaky_download)
    clip = footage_dir() / "carphone_pristine.mp4"
    vid = uuid.uuid4()
    with running_service(build_service(settings)) as client:
        s3_client(settings).upload_file(str(clip), settings.uploads_bucket, f"sources/{vid}.mp4")
        publish_event(settings, VideoUploadedV1(
            video_id=vid, owner_id="o", upload_session_id=uuid.uuid4(), bucket=settings.uploads_bucket,
            source_file_key=f"sources/{vid}.mp4", source_size_bytes=clip.stat().st_size, source_mime="video/mp4", checksum="0" * 64,
        ))

        def _job():  # noqa: ANN202
            async def _go():  # noqa: ANN202
                async with client.app.state.db.session() as s:
                    return (await s.execute(text("SELECT status, attempt, fail_reason FROM transcode_jobs WHERE video_id = :v"), {"v": vid})).first()

            return client.portal.call(_go)

        row = wait_until(lambda: (r := _job()) and r[0] != "RUNNING" and r, 120, 0.2, "job finished")
        assert tuple(row) == ("COMPLETED", 1, None)
        assert len(calls) == outage_calls + 1

        async def _failed() -> int:
            async with client.app.state.db.session() as s:
                return (await s.execute(text("SELECT count(*) FROM outbox WHERE event_type = 'reelhouse.transcode.failed.v1'"))).scalar_one()

        assert client.portal.call(_failed) == 0
