"""Where the ffmpeg adapter finds its binaries and what it names the files it writes.

The binaries are ``ffmpeg``/``ffprobe`` from PATH unless ``REELHOUSE_FFMPEG``/``REELHOUSE_FFPROBE`` name
others (read once, when this module is imported). Package layout under an output directory (relative
POSIX paths; docs/transcoding.md): ``master.m3u8``, ``<rendition>/index.m3u8``,
``<rendition>/seg_00000.ts``..., ``poster.jpg``, ``thumbs/thumb_00001.jpg``...,
``storyboard/sprite_001.jpg``... and ``storyboard/storyboard.vtt``.
"""

from __future__ import annotations

import os
import re

from reelhouse.transcoder.domain.pictures import STORYBOARD_SPRITE_PATTERN

__all__ = [
    "FFMPEG",
    "FFPROBE",
    "MASTER_PLAYLIST",
    "POSTER",
    "POSTER_CANDIDATE",
    "SEGMENT_NAME_RE",
    "SEGMENT_PATTERN",
    "STORYBOARD_DIR",
    "STORYBOARD_SPRITE_PATTERN",
    "STORYBOARD_VTT",
    "THUMBS_DIR",
    "THUMB_PATTERN",
    "VARIANT_PLAYLIST",
]

FFMPEG = os.environ.get("REELHOUSE_FFMPEG", "ffmpeg")
FFPROBE = os.environ.get("REELHOUSE_FFPROBE", "ffprobe")

MASTER_PLAYLIST = "master.m3u8"
VARIANT_PLAYLIST = "index.m3u8"
SEGMENT_PATTERN = "seg_%05d.ts"
#: A finished segment's file name (ffmpeg writes ``<name>.tmp`` first and renames it when complete).
SEGMENT_NAME_RE = re.compile(r"^seg_\d{5}\.ts$")
POSTER = "poster.jpg"
#: Poster candidates of the ladder pass, ``k`` = index of the window; one is kept as :data:`POSTER`.
POSTER_CANDIDATE = ".poster_candidate_{k}.jpg"
THUMBS_DIR = "thumbs"
THUMB_PATTERN = "thumb_%05d.jpg"
STORYBOARD_DIR = "storyboard"
STORYBOARD_VTT = "storyboard.vtt"
