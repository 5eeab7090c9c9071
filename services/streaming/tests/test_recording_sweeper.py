"""Service test of the stuck-recording sweeper (docs/reliability.md, "Sweepers") against real PostgreSQL,
RabbitMQ and an S3 server: a recording left PROCESSING by a process that died mid-remux is processed
again by the running supervisor (it ends UPLOADED and is announced once, as stream.recorded); one that
already used its last attempt ends FAILED with PROCESSING_TIMEOUT. Without the sweeper both stay
PROCESSING for ever."""

from __future__ import annotations

import subprocess
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from reelhouse.platform.storage import ensure_buckets
from reelhouse.testing import (
    EventCapture,
    auth_headers,
    footage_dir,
    requires_tools,
    running_service,
    wait_until,
)
from reelhouse.streaming.adapters.db import LiveStream, RecordingPart, utcnow
from reelhouse.streaming.main import build_service
from reelhouse.streaming.settings import StreamingSettings

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def streaming(platform_settings):
    settings = StreamingSettings(
        **platform_settings.model_dump(exclude={"service_name", "http_port"}),
        live_supervisor_interval_seconds=0.2,
        live_recording_processing_timeout_seconds=2.0,
        live_recording_max_attempts=2,
    )
    ensure_buckets(settings)
    with EventCapture(settings, ["#"]) as capture, running_service(build_service(settings)) as client:
        yield client, settings, capture


def _stuck_recording(client, settings, attempts: int, parts: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    """A stream whose recording a dead process left PROCESSING an hour ago after ``attempts`` attempts."""
    headers = auth_headers(settings, f"rec-{uuid.uuid4().hex[:6]}")
    r = client.post("/api/streams", json={"title": "Crashed remux", "recordingEnabled": True}, headers=headers)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]

    async def _go() -> None:
        async with client.app.state.db.session() as s:
            await s.execute(
                update(LiveStream).where(LiveStream.id == uuid.UUID(sid)).values(
                    status="ENDED", ended_at=utcnow() - timedelta(hours=1), recording_state="PROCESSING",
                    recording_started_at=utcnow() - timedelta(hours=1), recording_attempts=attempts,
                )
            )
            for p in parts:
                s.add(RecordingPart(path=p, stream_id=uuid.UUID(sid)))

    client.portal.call(_go)
    return sid, headers


@requires_tools("ffmpeg")
def test_a_recording_left_processing_is_processed_again(streaming, tmp_path):
    client, settings, capture = streaming
    part = tmp_path / "part-0.flv"  # a remux of real footage (stream copy, no encode)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-t", "2", "-i", str(footage_dir() / "bigbuckbunny.mp4"),
                    "-c", "copy", "-f", "flv", str(part)], check=True)
    sid, headers = _stuck_recording(client, settings, attempts=1, parts=[str(part)])
    wait_until(lambda: client.get(f"/api/streams/{sid}", headers=headers).json()["recordingStatus"] == "UPLOADED", 30, 0.2, "re-processed")
    recorded = capture.wait_for(lambda e: e["type"] == "reelhouse.stream.recorded.v1" and e["data"]["streamId"] == sid)
    assert len(recorded) == 1 and recorded[0]["data"]["sourceSizeBytes"] > 10_000


def test_a_recording_out_of_attempts_fails_with_a_clear_reason(streaming):
    client, settings, _ = streaming
    sid, headers = _stuck_recording(client, settings, attempts=2, parts=[])
    wait_until(lambda: client.get(f"/api/streams/{sid}", headers=headers).json()["recordingStatus"] == "FAILED", 30, 0.2, "failed")

    async def _error() -> str:
        async with client.app.state.db.session() as s:
            return (await s.get(LiveStream, uuid.UUID(sid))).recording_error

    assert client.portal.call(_error).startswith("PROCESSING_TIMEOUT: 2 attempt(s)")
