"""FFmpeg adapter: probe a source; in one ffmpeg pass, transcode it to an HLS ladder and make its poster,
thumbnails and storyboard.

Modules, one job each:

* :mod:`.probe`: container checks, ffprobe, :class:`~reelhouse.transcoder.domain.ladder.MediaInfo`;
* :mod:`.command`: the ffmpeg argv of the ladder pass and of the picture runs (pure);
* :mod:`.process`: the supervisor (:func:`run_ffmpeg`: progress, liveness, stall and cancel kills) and
  what it samples (source read offset, :func:`written_media_seconds`, :func:`completed_segments`);
* :mod:`.hls`: the pass end to end and the checks of the package it wrote (:func:`transcode_to_hls`);
* :mod:`.pictures`: poster, thumbnails and storyboard (collected from the pass, or made separately);
* :mod:`.layout`: the binaries and the names of the files written.

Pure planning of the pictures lives in :mod:`reelhouse.transcoder.domain.pictures` (re-exported here).

Everything here is synchronous and blocking (it runs child processes); asyncio callers use
``asyncio.to_thread``. Failures that the service reports are raised as
:class:`~reelhouse.transcoder.domain.ladder.MediaRejected` with a stable
:class:`~reelhouse.transcoder.domain.ladder.FailReason`.

Paths: sources and output directories are resolved to absolute paths before they reach ffmpeg, so a file
name can never be read as an option (leading ``-``) or a protocol (``name:...``).

The binaries are ``ffmpeg``/``ffprobe`` from PATH unless ``REELHOUSE_FFMPEG``/``REELHOUSE_FFPROBE`` name
others. Written and measured against ffmpeg 5.1 (Debian bookworm).

Callers import the package (``from reelhouse.transcoder.adapters import ffmpeg as ff``) and use the names
of ``__all__``.
"""

from __future__ import annotations

from reelhouse.transcoder.adapters.ffmpeg.command import (
    POSTER_JPEG_QUALITY,
    THUMBNAIL_JPEG_QUALITY,
    build_hls_command,
    image_outputs,
)
from reelhouse.transcoder.adapters.ffmpeg.hls import HlsOutput, HlsVariant, transcode_to_hls
from reelhouse.transcoder.adapters.ffmpeg.layout import (
    FFMPEG,
    FFPROBE,
    MASTER_PLAYLIST,
    POSTER,
    POSTER_CANDIDATE,
    SEGMENT_PATTERN,
    STORYBOARD_DIR,
    STORYBOARD_VTT,
    THUMB_PATTERN,
    THUMBS_DIR,
    VARIANT_PLAYLIST,
)
from reelhouse.transcoder.adapters.ffmpeg.pictures import (
    POSTER_MIN_LUMA,
    Images,
    Storyboard,
    collect_images,
    frame_mean_luma,
    make_images,
    make_storyboard,
    prepare_image_dirs,
)
from reelhouse.transcoder.adapters.ffmpeg.probe import input_options, media_info_from_probe, probe
from reelhouse.transcoder.adapters.ffmpeg.process import (
    PARTIAL_SEGMENT_CEILING,
    STDERR_TAIL_LINES,
    SUPERVISOR_POLL_SECONDS,
    FfmpegRun,
    TranscodeCancelled,
    completed_media_seconds,
    completed_segments,
    run_ffmpeg,
    written_media_seconds,
)
from reelhouse.transcoder.domain.pictures import (
    POSTER_POSITIONS,
    POSTER_THUMBNAIL_FRAMES,
    POSTER_WINDOW_MAX_SECONDS,
    STORYBOARD_MAX_TILES,
    STORYBOARD_MIN_INTERVAL_SECONDS,
    STORYBOARD_SPRITE_PATTERN,
    ImagePlan,
    PosterWindow,
    StoryboardPlan,
    plan_images,
    plan_storyboard,
    storyboard_vtt,
)

__all__ = [
    "FFMPEG",
    "FFPROBE",
    "MASTER_PLAYLIST",
    "PARTIAL_SEGMENT_CEILING",
    "POSTER",
    "POSTER_CANDIDATE",
    "POSTER_JPEG_QUALITY",
    "POSTER_MIN_LUMA",
    "POSTER_POSITIONS",
    "POSTER_THUMBNAIL_FRAMES",
    "POSTER_WINDOW_MAX_SECONDS",
    "SEGMENT_PATTERN",
    "STDERR_TAIL_LINES",
    "STORYBOARD_DIR",
    "STORYBOARD_MAX_TILES",
    "STORYBOARD_MIN_INTERVAL_SECONDS",
    "STORYBOARD_SPRITE_PATTERN",
    "STORYBOARD_VTT",
    "SUPERVISOR_POLL_SECONDS",
    "THUMBNAIL_JPEG_QUALITY",
    "THUMBS_DIR",
    "THUMB_PATTERN",
    "VARIANT_PLAYLIST",
    "FfmpegRun",
    "HlsOutput",
    "HlsVariant",
    "ImagePlan",
    "Images",
    "PosterWindow",
    "Storyboard",
    "StoryboardPlan",
    "TranscodeCancelled",
    "build_hls_command",
    "collect_images",
    "completed_media_seconds",
    "completed_segments",
    "frame_mean_luma",
    "image_outputs",
    "input_options",
    "make_images",
    "make_storyboard",
    "media_info_from_probe",
    "plan_images",
    "plan_storyboard",
    "prepare_image_dirs",
    "probe",
    "run_ffmpeg",
    "storyboard_vtt",
    "transcode_to_hls",
    "written_media_seconds",
]
