"""e2e: ``POST /api/videos/{id}/retry`` through the edge on the running stack.

A video is made FAILED for a reason a retry can fix while its source is fine: the stack's two workers
are paused (``POST /admin/consumer/pause``) and an EXTRA worker configured with a pixel limit below
1280x720 refuses the upload as RESOLUTION_TOO_HIGH; that worker is stopped and the stack's workers
(default limits) resumed. The retry then re-runs the transcode from the stored source.
"""

from __future__ import annotations

import uuid

import pytest
from e2e_workers import extra_worker, stack_workers_paused

from reelhouse.client import check_playback
from reelhouse.testing import footage_dir

pytestmark = pytest.mark.e2e

MEDIA = footage_dir()


def test_retry_of_a_failed_video_transcodes_it_again_and_ready_is_final(stack, make_client, db_query, media_dir):
    client = make_client("e2e-retry")
    clip = MEDIA / "bigbuckbunny.mp4"  # 1280x720 = 921,600 px
    with stack_workers_paused(stack), extra_worker(stack, media_dir, "transcoder-retry-strict", max_pixels="200000"):
        video = client.create_video("retry after a limit", clip)
        client.upload_file(video["id"], clip)
        failed = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=60)
        assert (failed["status"], failed["failReason"]) == ("FAILED", "RESOLUTION_TOO_HIGH"), failed
    # the strict worker is gone and the stack's workers consume again

    r = client.http.post(f"/api/videos/{video['id']}/retry")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["id"] == video["id"] and body["status"] == "TRANSCODING" and body["failReason"] is None, body

    final = client.wait_for_status(video["id"], {"READY", "FAILED"}, timeout=180)
    assert final["status"] == "READY", final
    jobs = db_query("transcoder", "SELECT job_key, worker, status, fail_reason FROM transcode_jobs WHERE video_id = %s ORDER BY started_at", (uuid.UUID(video["id"]),))
    assert [(key.split(":", 1)[0], worker, status, reason) for key, worker, status, reason in jobs][0] == ("upload", "transcoder-retry-strict", "FAILED", "RESOLUTION_TOO_HIGH"), jobs
    assert [(key.split(":", 1)[0], status) for key, _, status, _ in jobs[1:]] == [("retry", "COMPLETED")], jobs
    playback = client.playback(video["id"])
    checks = check_playback(playback["streamUrl"])
    assert checks and all(c.decoded_frames > 0 for c in checks), checks

    again = client.http.post(f"/api/videos/{video['id']}/retry")
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    problem = again.json()
    assert problem["code"] == "READY_IS_FINAL" and problem["videoStatus"] == "READY", problem
    assert client.get_video(video["id"])["status"] == "READY"
