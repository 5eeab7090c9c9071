"""Service test: finished segments go up to the media bucket (a real S3 server: SeaweedFS)
while ffmpeg is still encoding, and only finished ones: every object uploaded during the pass holds the
same bytes as the final local segment. The upload after the pass sends the rest, the master last."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from reelhouse.platform.storage import ensure_buckets, s3_client
from reelhouse.platform.testing import footage_dir, requires_tools
from reelhouse.transcoder import handlers
from reelhouse.transcoder.adapters import ffmpeg as ff
from reelhouse.transcoder.adapters.storage import MediaStore
from reelhouse.transcoder.domain.ladder import plan_ladder

pytestmark = [pytest.mark.service, requires_tools("ffmpeg", "ffprobe")]

BIKES = footage_dir() / "bikes.mp4"


def test_completed_segments_skips_files_being_written(tmp_path: Path) -> None:
    info = ff.probe(BIKES)
    ladder = plan_ladder(info)
    (tmp_path / ladder[0].name).mkdir()
    for name in ("seg_00000.ts", "seg_00001.ts", "seg_00002.ts.tmp", "index.m3u8"):
        (tmp_path / ladder[0].name / name).write_bytes(b"x")
    assert ff.completed_segments(tmp_path, ladder) == [f"{ladder[0].name}/seg_00000.ts", f"{ladder[0].name}/seg_00001.ts"]


def test_segments_are_uploaded_during_the_pass_and_only_when_finished(platform_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "SEGMENT_UPLOAD_INTERVAL_SECONDS", 0.05)
    ensure_buckets(platform_settings)
    store = MediaStore(platform_settings)
    info = ff.probe(BIKES)
    ladder = plan_ladder(info)
    out = tmp_path / "hls"
    prefix = f"videos/{uuid.uuid4()}/{uuid.uuid4()}"
    seen_during_pass: list[int] = []

    async def scenario() -> tuple[set[str], ff.HlsOutput]:
        done = asyncio.Event()
        uploaded: set[str] = set()
        task = asyncio.create_task(handlers._upload_segments_while_encoding(store, out, prefix, ladder, uploaded, done, uuid.uuid4()))

        def progress(_percent: float) -> None:
            seen_during_pass.append(len(uploaded))

        # 1 s segments and the slow 'medium' preset: the pass lasts long enough for several sweeps
        hls = await asyncio.to_thread(ff.transcode_to_hls, BIKES, out, ladder, info, progress, 1, "medium")
        done.set()
        await task
        return uploaded, hls

    uploaded, hls = asyncio.run(scenario())
    assert uploaded, "no segment was uploaded while ffmpeg ran"
    assert any(count > 0 for count in seen_during_pass), "uploads only started after the pass"
    assert all(rel.endswith(".ts") for rel in uploaded)
    s3 = s3_client(platform_settings)
    for rel in uploaded:
        body = s3.get_object(Bucket=platform_settings.media_bucket, Key=f"{prefix}/{rel}")["Body"].read()
        assert body == (out / rel).read_bytes(), f"{rel} was uploaded before ffmpeg finished it"
    rest = [f for f in hls.files() if f not in uploaded]
    assert hls.master in rest and len(rest) < len(hls.files())
    keys = store.upload_package(out, prefix, rest, [hls.master])
    assert keys[-1] == f"{prefix}/{hls.master}"
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=platform_settings.media_bucket, Prefix=prefix + "/")["Contents"]}
    assert listed == {f"{prefix}/{f}" for f in hls.files()}
