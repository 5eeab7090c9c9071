"""e2e: crash safety and graceful stop of transcoder workers on the running stack.

Each test starts an EXTRA ``reelhouse-transcoder serve`` process of its own (same environment as the
stack's own workers, its own HTTP port and worker name), pauses the stack's two workers through
their admin endpoint (``POST /admin/consumer/pause``) so the extra worker is the only consumer, gives it
a job and then kills it (SIGKILL of its whole process group, ffmpeg included) or stops it (SIGTERM).
The stack's workers are resumed afterwards and must finish the job. The extra worker is not one of the
supervised processes, so the kill tests the job's takeover alone (the supervisor's restarts are covered
by tests/e2e/test_stack_restart.py and the drills).

The extra worker encodes with a slow x264 preset so ffmpeg is reliably caught mid-run; the stack's
workers finish the job with ``ultrafast``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from e2e_workers import ExtraWorker, extra_worker, stack_worker_ports, stack_workers_paused

from reelhouse.client import check_playback
from reelhouse.platform.storage import s3_client
from reelhouse.testing import footage_dir, queue_depth, wait_until

pytestmark = pytest.mark.e2e

MEDIA = footage_dir()



@pytest.fixture(scope="module")
def ten_second_clip(media_dir: Path) -> Path:
    """~10.6 s of bigbuckbunny at 640x360 with audio (the bundled 5.3 s clip played twice)."""
    out = media_dir / "bbb-640x360-10s.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "1", "-i", str(MEDIA / "bigbuckbunny.mp4"),
         "-vf", "scale=640:360", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(out)],
        check=True, capture_output=True, timeout=120,
    )
    return out


def _job(db_query, video_id: str) -> tuple | None:  # noqa: ANN001
    rows = db_query("transcoder", "SELECT attempt, worker, status, lease_owner FROM transcode_jobs WHERE video_id = %s", (uuid.UUID(video_id),))
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def _media_keys(e2e_settings, video_id: str) -> list[str]:  # noqa: ANN001
    s3 = s3_client(e2e_settings)
    page = s3.list_objects_v2(Bucket=e2e_settings.media_bucket, Prefix=f"videos/{video_id}/")
    return [o["Key"] for o in page.get("Contents", [])]


def _catch_ffmpeg(worker: ExtraWorker, db_query, video_id: str) -> list[int]:  # noqa: ANN001
    """Wait until ``worker`` owns the video's job and its ffmpeg HLS encode is running; returns its pids."""
    wait_until(lambda: (j := _job(db_query, video_id)) and j[1] == worker.name, 60, 0.2, f"{worker.name} claims the job")
    pids = wait_until(worker.ffmpeg_pids, 60, 0.1, f"ffmpeg under {worker.name}")
    time.sleep(1.0)  # well inside the encode: segments are being written
    assert worker.ffmpeg_pids(), "ffmpeg finished before it could be interrupted: make the clip longer"
    return pids


def _unacked(queue: str) -> int | None:
    """Unacknowledged deliveries of ``queue`` (``rabbitmqctl list_queues``), None when rabbitmqctl is
    not usable here (the AMQP passive declare only reports ready messages)."""
    if shutil.which("rabbitmqctl") is None:
        return None
    try:
        out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "name", "messages_unacknowledged"], capture_output=True, text=True, timeout=60, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == queue:
            return int(parts[1])
    return None


def _channels_holding_deliveries() -> str:
    """``rabbitmqctl list_channels`` rows with unacknowledged deliveries (diagnostics for a failure)."""
    try:
        out = subprocess.run(["rabbitmqctl", "-q", "list_channels", "name", "consumer_count", "messages_unacknowledged"], capture_output=True, text=True, timeout=60).stdout
    except (subprocess.SubprocessError, OSError) as exc:
        return repr(exc)
    return "\n".join(line for line in out.splitlines() if not line.rstrip().endswith("\t0"))


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def test_sigkill_mid_ffmpeg_leaves_nothing_visible_and_another_worker_finishes(stack, make_client, db_query, e2e_settings, media_dir, ten_second_clip):
    client = make_client("e2e-crash")
    stack_workers = {f"transcoder-{i + 1}" for i in range(len(stack_worker_ports(stack["env"])))}
    with stack_workers_paused(stack), extra_worker(stack, media_dir, "transcoder-victim", preset="veryslow", job_lease_seconds="4") as victim:
        video = client.create_video("killed mid-transcode", ten_second_clip)
        client.upload_file(video["id"], ten_second_clip)
        ffmpeg_pids = _catch_ffmpeg(victim, db_query, video["id"])
        # the delivery was acked when the job was claimed: RabbitMQ's consumer_timeout (which only
        # concerns unacked deliveries) cannot fire however long ffmpeg runs. rabbitmqctl's figures are
        # the queue's view, which may trail the ack of a busy machine by a moment: poll briefly.
        queue = f"{e2e_settings.queue_prefix}transcoder"
        deadline = time.monotonic() + 15
        while (unacked := _unacked(queue)) not in (0, None) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert unacked in (0, None), (unacked, _channels_holding_deliveries())
        os.killpg(victim.proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        victim.proc.wait(10)
        assert all(_gone(p) for p in ffmpeg_pids)
        # nothing of the job is visible
        v = client.get_video(video["id"])
        assert v["status"] != "READY" and v["playback"]["streamUrl"] is None, v
        assert not [k for k in _media_keys(e2e_settings, video["id"]) if k.endswith(".m3u8")]
        assert _job(db_query, video["id"])[:3] == (1, "transcoder-victim", "RUNNING")
    final = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=120)
    recovered_in = time.monotonic() - killed_at
    assert final["status"] == "READY", final
    attempt, worker, status, lease_owner = _job(db_query, video["id"])
    assert (attempt, status, lease_owner) == (2, "COMPLETED", None) and worker in stack_workers, (attempt, worker, status)
    checks = check_playback(final["playback"]["streamUrl"])
    assert [(c.width, c.height) for c in checks] == [(640, 360)] and all(c.decoded_frames > 0 for c in checks)
    masters = [k for k in _media_keys(e2e_settings, video["id"]) if k.endswith("master.m3u8")]
    assert len(masters) == 1, masters
    print(f"\nSIGKILL -> READY on another worker: {recovered_in:.1f} s (lease 4 s + reaper pass + transcode); unacked during the job: {unacked}")


def test_sigterm_hands_the_running_job_back_at_once(stack, make_client, db_query, e2e_settings, media_dir, ten_second_clip):
    client = make_client("e2e-sigterm")
    main_queue = f"{e2e_settings.queue_prefix}transcoder"
    with stack_workers_paused(stack), extra_worker(stack, media_dir, "transcoder-term", preset="veryslow", shutdown_grace_seconds="1") as leaving:
        video = client.create_video("handed back on SIGTERM", ten_second_clip)
        client.upload_file(video["id"], ten_second_clip)
        ffmpeg_pids = _catch_ffmpeg(leaving, db_query, video["id"])
        sent = time.monotonic()
        leaving.proc.send_signal(signal.SIGTERM)
        assert leaving.proc.wait(30) in (0, -signal.SIGTERM), leaving.log.read_text()[-3000:]
        stopped_in = time.monotonic() - sent
        assert all(_gone(p) for p in ffmpeg_pids)
        # handed back: released and republished (the paused stack workers leave it in the queue)
        assert _job(db_query, video["id"]) == (1, "transcoder-term", "RUNNING", None)
        assert queue_depth(e2e_settings, main_queue) >= 1
        assert client.get_video(video["id"])["status"] != "READY"
        resumed = time.monotonic()
    final = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=120)
    assert final["status"] == "READY", final
    attempt, worker, status, _ = _job(db_query, video["id"])
    assert (attempt, status) == (2, "COMPLETED") and worker != "transcoder-term"
    assert stopped_in < 1 + 10, f"SIGTERM took {stopped_in:.1f} s"
    print(f"\nSIGTERM -> exited in {stopped_in:.1f} s (grace 1 s); resume -> READY {time.monotonic() - resumed:.1f} s")


def test_sigterm_within_the_grace_period_finishes_the_job(stack, make_client, db_query, media_dir, ten_second_clip):
    client = make_client("e2e-drain")
    with stack_workers_paused(stack), extra_worker(stack, media_dir, "transcoder-drain", preset="fast", shutdown_grace_seconds="60") as draining:
        video = client.create_video("finished during shutdown", ten_second_clip)
        client.upload_file(video["id"], ten_second_clip)
        wait_until(lambda: (j := _job(db_query, video["id"])) and j[1] == draining.name, 60, 0.2, "claimed")
        wait_until(draining.ffmpeg_pids, 60, 0.05, "ffmpeg running")
        sent = time.monotonic()
        draining.proc.send_signal(signal.SIGTERM)
        assert draining.proc.wait(90) in (0, -signal.SIGTERM), draining.log.read_text()[-3000:]
        drained_in = time.monotonic() - sent
        assert _job(db_query, video["id"]) == (1, "transcoder-drain", "COMPLETED", None)
    final = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=60)
    assert final["status"] == "READY", final
    print(f"\nSIGTERM with a 60 s grace: the job finished and the worker exited after {drained_in:.1f} s")


def test_configured_limits_fail_fast_with_their_reason(stack, make_client, db_query, media_dir, ten_second_clip):
    """A worker configured with max duration 8 s and max 200,000 pixels refuses a 10.6 s clip as
    SOURCE_TOO_LONG and a 1280x720 (921,600 px) one as RESOLUTION_TOO_HIGH, once each, without retries."""
    client = make_client("e2e-limits")
    cases = {"SOURCE_TOO_LONG": ten_second_clip, "RESOLUTION_TOO_HIGH": MEDIA / "bigbuckbunny.mp4"}
    with stack_workers_paused(stack), extra_worker(stack, media_dir, "transcoder-strict", max_duration_seconds="8", max_pixels="200000"):
        for reason, clip in cases.items():
            video = client.create_video(f"limit {reason}", clip)
            client.upload_file(video["id"], clip)
            final = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=60)
            assert (final["status"], final["failReason"]) == ("FAILED", reason), final
            assert _job(db_query, video["id"]) == (1, "transcoder-strict", "FAILED", None)
