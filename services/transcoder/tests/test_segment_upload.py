"""Service test: finished segments go up to the media bucket (a real S3 server: SeaweedFS)
while ffmpeg is still encoding, and only finished ones: every object uploaded during the pass holds the
same bytes as the final local segment. The upload after the pass sends the rest, the master last."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from reelhouse.platform.storage import ensure_buckets, s3_client
from reelhouse.testing import footage_dir, requires_tools
from reelhouse.transcoder import handlers
from reelhouse.transcoder.adapters import ffmpeg as ff
from reelhouse.transcoder.adapters.storage import MediaStore
from reelhouse.transcoder.domain.ladder import Rendition, plan_ladder

pytestmark = [pytest.mark.service, requires_tools("ffmpeg", "ffprobe")]

BIKES = footage_dir() / "bikes.mp4"


def test_completed_segments_skips_files_being_written(tmp_path: Path) -> None:
    info = ff.probe(BIKES)
    ladder = plan_ladder(info)
    (tmp_path / ladder[0].name).mkdir()
    for name in ("seg_00000.ts", "seg_00001.ts", "seg_00002.ts.tmp", "index.m3u8"):
        (tmp_path / ladder[0].name / name).write_bytes(b"x")
    assert ff.completed_segments(tmp_path, ladder) == [f"{ladder[0].name}/seg_00000.ts", f"{ladder[0].name}/seg_00001.ts"]


def test_written_media_counts_the_segment_being_written_as_a_share_of_the_slowest_rendition(tmp_path: Path) -> None:
    ladder = [
        Rendition(name="720p", width=1280, height=720, video_bitrate=2_800_000, maxrate=3_000_000, bufsize=4_200_000, audio_bitrate=128_000),
        Rendition(name="480p", width=854, height=480, video_bitrate=1_400_000, maxrate=1_500_000, bufsize=2_100_000, audio_bitrate=128_000),
        Rendition(name="360p", width=640, height=360, video_bitrate=800_000, maxrate=856_000, bufsize=1_200_000, audio_bitrate=96_000),
    ]
    fast, slow = ladder[-1], ladder[0]
    for rendition in ladder:
        (tmp_path / rendition.name).mkdir()
    # the fast rendition: 3 segments of 1000 bytes done, a fourth half written
    for i in range(3):
        (tmp_path / fast.name / f"seg_{i:05d}.ts").write_bytes(b"x" * 1000)
    (tmp_path / fast.name / "seg_00003.ts.tmp").write_bytes(b"x" * 500)
    # every other rendition: 1 segment of 2000 bytes done, the second a quarter written
    for rendition in ladder[:-1]:
        (tmp_path / rendition.name / "seg_00000.ts").write_bytes(b"x" * 2000)
        (tmp_path / rendition.name / "seg_00001.ts.tmp").write_bytes(b"x" * 500)
    assert ff.written_media_seconds(tmp_path, ladder, 4.0) == pytest.approx(4.0 + 0.25 * 4.0)
    assert ff.completed_media_seconds(tmp_path, ladder, 4.0) == 4.0
    # a segment being written never counts as whole, however large it grows
    (tmp_path / slow.name / "seg_00001.ts.tmp").write_bytes(b"x" * 50_000)
    for rendition in ladder[1:-1]:
        (tmp_path / rendition.name / "seg_00001.ts.tmp").write_bytes(b"x" * 50_000)
    assert ff.written_media_seconds(tmp_path, ladder, 4.0) == pytest.approx(4.0 + ff.PARTIAL_SEGMENT_CEILING * 4.0)
    # before any segment is done the target bit rate sizes the first one
    empty = tmp_path / "empty"
    (empty / slow.name).mkdir(parents=True)
    expected = (slow.video_bitrate + slow.audio_bitrate) / 8 * 4.0
    (empty / slow.name / "seg_00000.ts.tmp").write_bytes(b"x" * int(expected / 2))
    assert ff.written_media_seconds(empty, [slow], 4.0) == pytest.approx(2.0, rel=1e-3)
    assert ff.written_media_seconds(tmp_path / "missing", ladder, 4.0) == 0.0


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
