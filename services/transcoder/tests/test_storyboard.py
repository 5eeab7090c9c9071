"""Storyboard sprite sheets + WebVTT index, with the real ffmpeg on the bundled clips (media/)."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path

import pytest

from reelhouse.testing import footage_dir, requires_tools
from reelhouse.transcoder.adapters.ffmpeg import make_storyboard, probe
from reelhouse.transcoder.domain.pictures import storyboard_vtt

pytestmark = [pytest.mark.unit, requires_tools("ffmpeg", "ffprobe")]

MEDIA = footage_dir()
CUE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$")


def _size(path: Path) -> tuple[int, int]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "json", str(path)], capture_output=True, text=True, check=True).stdout
    s = json.loads(out)["streams"][0]
    return s["width"], s["height"]


def _cues(vtt: str) -> list[tuple[float, float, str]]:
    lines = vtt.splitlines()
    assert lines[0] == "WEBVTT"
    cues = []
    for i, line in enumerate(lines):
        m = CUE.match(line)
        if m:
            g = [int(x) for x in m.groups()]
            start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
            end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
            cues.append((start, end, lines[i + 1]))
    return cues


def test_vtt_cues_tile_the_timeline_and_walk_the_sheets_row_by_row() -> None:
    vtt = storyboard_vtt(duration_seconds=9.5, interval_seconds=2.0, tiles=5, tile_width=160, tile_height=90, columns=2, rows=2)
    cues = _cues(vtt)
    assert [(s, e) for s, e, _ in cues] == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 9.5)]
    assert [t for _, _, t in cues] == [
        "sprite_001.jpg#xywh=0,0,160,90", "sprite_001.jpg#xywh=160,0,160,90",
        "sprite_001.jpg#xywh=0,90,160,90", "sprite_001.jpg#xywh=160,90,160,90",
        "sprite_002.jpg#xywh=0,0,160,90",
    ]
    assert storyboard_vtt(3661.5, 10, 367, 160, 90, 10, 10).splitlines()[-2].endswith("--> 01:01:01.500")


def test_storyboard_of_bikes(tmp_path: Path) -> None:
    info = probe(MEDIA / "bikes.mp4")  # 640x272, 10 s
    sb = make_storyboard(MEDIA / "bikes.mp4", tmp_path, info)
    assert sb.interval_seconds == 2.0 and sb.tiles == 5 and (sb.columns, sb.rows) == (5, 1)
    assert (sb.tile_width, sb.tile_height) == (160, 68)
    assert sb.sprites == ("storyboard/sprite_001.jpg",) and sb.files()[-1] == "storyboard/storyboard.vtt"
    assert _size(tmp_path / sb.sprites[0]) == (5 * 160, 68)
    cues = _cues((tmp_path / sb.vtt).read_text())
    assert len(cues) == 5 and cues[-1][1] == pytest.approx(10.0) and cues[-1][2] == "sprite_001.jpg#xywh=640,0,160,68"


def test_long_sources_use_several_sheets_and_fall_back_from_keyframe_decoding(tmp_path: Path) -> None:
    info = probe(MEDIA / "bigbuckbunny.mp4")  # 1280x720, 5.3 s, one keyframe: "long" takes the keyframe path, which yields nothing, then falls back
    sb = make_storyboard(MEDIA / "bigbuckbunny.mp4", tmp_path, info, columns=2, rows=1, full_decode_max_seconds=1.0)
    assert sb.tiles == 3 and len(sb.sprites) == 2 and (sb.tile_width, sb.tile_height) == (160, 90)
    assert _size(tmp_path / sb.sprites[0]) == (320, 90)
    assert [t for _, _, t in _cues((tmp_path / sb.vtt).read_text())][-1] == "sprite_002.jpg#xywh=0,0,160,90"


def test_tiny_sources_are_not_upscaled(tmp_path: Path) -> None:
    info = probe(MEDIA / "carphone_pristine.mp4")  # 176x144
    sb = make_storyboard(MEDIA / "carphone_pristine.mp4", tmp_path, dataclasses.replace(info), tile_width=320)
    assert (sb.tile_width, sb.tile_height) == (176, 144)


def test_keyframe_decoding_of_a_source_with_regular_keyframes(tmp_path: Path) -> None:
    src = tmp_path / "gop1s.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(MEDIA / "bikes.mp4"), "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", str(src)], check=True)
    sb = make_storyboard(src, tmp_path / "out", probe(src), full_decode_max_seconds=1.0)
    assert sb.tiles == 5 and sb.sprites == ("storyboard/sprite_001.jpg",)
    assert _size(tmp_path / "out" / sb.sprites[0]) == (5 * 160, 68)
