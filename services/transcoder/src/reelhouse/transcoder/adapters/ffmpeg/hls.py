"""The HLS ladder pass end to end: prepare the output directory, run the one ffmpeg pass
(:func:`.command.build_hls_command` under :func:`.process.run_ffmpeg`), then check the package it wrote
(every playlist and segment there, the master listing every rendition), measure the written bit rates
and collect the pictures the same pass made. docs/transcoding.md.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import m3u8

from reelhouse.transcoder.adapters.ffmpeg.command import build_hls_command, validate_renditions
from reelhouse.transcoder.adapters.ffmpeg.layout import MASTER_PLAYLIST, VARIANT_PLAYLIST
from reelhouse.transcoder.adapters.ffmpeg.pictures import (
    Images,
    Storyboard,
    collect_images,
    prepare_image_dirs,
)
from reelhouse.transcoder.adapters.ffmpeg.process import run_ffmpeg, written_media_seconds
from reelhouse.transcoder.domain.ladder import FailReason, MediaInfo, MediaRejected, Rendition
from reelhouse.transcoder.domain.pictures import ImagePlan

__all__ = ["HlsOutput", "HlsVariant", "transcode_to_hls"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HlsVariant:
    """One rendition as written: ``playlist`` is relative to the output directory (POSIX, e.g.
    ``"720p/index.m3u8"``); ``codecs``/``bandwidth`` (bits/s) are what the master playlist declares;
    ``duration_seconds`` is the sum of the segment durations. ``average_bitrate``/``peak_bitrate`` (bits/s)
    are measured on the written segments as RFC 8216 section 4.3.4.2 defines AVERAGE-BANDWIDTH and
    BANDWIDTH (peak: the highest rate of any run of consecutive segments lasting 0.5-1.5 x the target
    duration), for comparison with the declared ``bandwidth``; the master is not rewritten with them."""

    rendition: Rendition
    playlist: str
    codecs: str
    bandwidth: int
    segment_count: int
    duration_seconds: float
    segments: tuple[str, ...]
    average_bitrate: int
    peak_bitrate: int


@dataclass(frozen=True)
class HlsOutput:
    """A finished HLS package in ``out_dir``: ``master`` is the master playlist's path relative to it.

    ``images``/``storyboard``: the pictures the same pass made (None when none were asked for, or the pass
    could not make them; :func:`make_images`/:func:`make_storyboard` make them separately). They are not
    part of :meth:`files`. ``cpu_seconds``: user + system CPU seconds of the ffmpeg process;
    ``peak_rss_bytes``: its largest resident set (bytes); ``progress_reports``: progress callbacks made
    during the pass.
    """

    out_dir: Path
    master: str
    variants: tuple[HlsVariant, ...]
    images: Images | None = None
    storyboard: Storyboard | None = None
    cpu_seconds: float | None = None
    peak_rss_bytes: int | None = None
    progress_reports: int | None = None

    @property
    def master_path(self) -> Path:
        return self.out_dir / self.master

    def files(self) -> list[str]:
        """Every file of the package, relative POSIX paths (master, playlists, segments)."""
        keys = [self.master]
        for variant in self.variants:
            base = variant.playlist.rsplit("/", 1)[0]
            keys.append(variant.playlist)
            keys.extend(f"{base}/{segment}" for segment in variant.segments)
        return keys


#: A transcode whose output covers less than this share of the source (and over a second less) means
#: ffmpeg stopped reading early: the source is damaged.
_MIN_OUTPUT_COVERAGE = 0.8


def _measured_bitrates(sizes: Sequence[int], durations: Sequence[float], target: float) -> tuple[int, int]:
    """(average, peak) segment bit rates in bits/s per RFC 8216 section 4.3.4.2; sizes in bytes."""
    total_duration = sum(durations)
    if total_duration <= 0:
        return 0, 0
    average = int(sum(sizes) * 8 / total_duration)
    peak = 0.0
    for start in range(len(sizes)):
        bits = 0
        seconds = 0.0
        for index in range(start, len(sizes)):
            bits += sizes[index] * 8
            seconds += durations[index]
            if seconds > 1.5 * target:
                break
            if seconds >= 0.5 * target:
                peak = max(peak, bits / seconds)
    if peak == 0.0:  # no run of the right length (a very short video): the fastest single segment
        peak = max(size * 8 / d for size, d in zip(sizes, durations, strict=True) if d > 0)
    return average, int(peak)


def _attribute_missing(stream_inf: str, name: str) -> bool:
    return re.search(rf"[:,]{name}=", stream_inf) is None


def _complete_master(master_path: Path, renditions: Sequence[Rendition]) -> None:
    """Add CODECS (and RESOLUTION) to variants of ffmpeg's master playlist that lack them. Only those
    attributes are appended; every other byte of the file is kept."""
    by_uri = {f"{r.name}/{VARIANT_PLAYLIST}": r for r in renditions}
    lines = master_path.read_text().splitlines()
    changed = False
    for i, line in enumerate(lines):
        if not line.startswith("#EXT-X-STREAM-INF:"):
            continue
        uri = next(
            (later.strip() for later in lines[i + 1 :] if later.strip() and not later.startswith("#")), ""
        )
        rendition = by_uri.get(uri)
        if rendition is None:
            continue
        if _attribute_missing(line, "RESOLUTION"):
            line += f",RESOLUTION={rendition.width}x{rendition.height}"
        if _attribute_missing(line, "CODECS"):
            line += f',CODECS="{rendition.codecs}"'
        if line != lines[i]:
            lines[i] = line
            changed = True
    if changed:
        tmp = master_path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, master_path)


def transcode_to_hls(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    renditions: Sequence[Rendition],
    info: MediaInfo,
    on_progress: Callable[[float], None] | None = None,
    segment_seconds: float = 4,
    preset: str = "veryfast",
    *,
    stall_timeout_seconds: float = 120,
    cancel: threading.Event | None = None,
    images: ImagePlan | None = None,
) -> HlsOutput:
    """Transcode ``source`` into an HLS package in ``out_dir`` with one ffmpeg process, then verify it;
    given ``images`` (:func:`plan_images`), the same process writes the poster, thumbnails and storyboard.

    Layout: ``out_dir/master.m3u8``, ``out_dir/<rendition.name>/index.m3u8`` and ``seg_00000.ts``...
    Stale ``<rendition.name>/`` directories and master from an earlier attempt are removed first; nothing
    else in ``out_dir`` is touched (images can live there too).

    After ffmpeg: every variant playlist must exist with >= 1 segment, every segment file must exist and be
    non-empty, and the master must list every rendition. CODECS/RESOLUTION are appended to the master only
    where ffmpeg left them out (ffmpeg 5.1 writes both, with CODECS read from the encoded bitstream).

    Returns :class:`HlsOutput`. Raises :class:`MediaRejected` as :func:`run_ffmpeg` does, plus
    CORRUPT_SOURCE when the output covers under 80 % of the source duration (ffmpeg stopped reading early)
    and TRANSCODE_ERROR (retryable) when the package is incomplete; :class:`TranscodeCancelled` on cancel.
    Missing pictures are no error: ``images``/``storyboard`` of the result are then None
    (:func:`collect_images`).
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    validate_renditions(renditions)
    for rendition in renditions:
        stale = out / rendition.name
        if stale.exists():
            shutil.rmtree(stale)
        stale.mkdir()
    (out / MASTER_PLAYLIST).unlink(missing_ok=True)
    if images is not None:
        prepare_image_dirs(out, images)

    argv = build_hls_command(source, out, renditions, info, segment_seconds=segment_seconds, preset=preset, images=images)
    log.info("ffmpeg hls: %s", " ".join(argv))
    run = run_ffmpeg(
        argv, info.duration_seconds, on_progress, stall_timeout_seconds, cancel=cancel,
        produced_seconds=functools.partial(written_media_seconds, out, renditions, segment_seconds),
        lead_seconds=segment_seconds,
    )

    master_path = out / MASTER_PLAYLIST
    if not master_path.is_file():
        raise MediaRejected(FailReason.TRANSCODE_ERROR, "ffmpeg wrote no master playlist", retryable=True)
    _complete_master(master_path, renditions)
    master = m3u8.load(str(master_path))
    declared = {p.uri: p.stream_info for p in master.playlists}

    variants: list[HlsVariant] = []
    for rendition in renditions:
        relative = f"{rendition.name}/{VARIANT_PLAYLIST}"
        playlist_path = out / rendition.name / VARIANT_PLAYLIST
        if not playlist_path.is_file():
            raise MediaRejected(FailReason.TRANSCODE_ERROR, f"missing playlist {relative}", retryable=True)
        playlist = m3u8.load(str(playlist_path))
        segments = [s.uri for s in playlist.segments]
        if not segments:
            raise MediaRejected(
                FailReason.TRANSCODE_ERROR, f"playlist {relative} has no segment", retryable=True
            )
        sizes: list[int] = []
        for uri in segments:
            segment_path = playlist_path.parent / uri
            size = segment_path.stat().st_size if segment_path.is_file() else 0
            if size == 0:
                raise MediaRejected(
                    FailReason.TRANSCODE_ERROR,
                    f"segment {rendition.name}/{uri} missing or empty",
                    retryable=True,
                )
            sizes.append(size)
        durations = [float(s.duration or 0.0) for s in playlist.segments]
        target = float(playlist.target_duration or segment_seconds)
        average, peak = _measured_bitrates(sizes, durations, target)
        stream_info = declared.get(relative)
        if stream_info is None:
            raise MediaRejected(
                FailReason.TRANSCODE_ERROR, f"master playlist does not list {relative}", retryable=True
            )
        variants.append(
            HlsVariant(
                rendition=rendition,
                playlist=relative,
                codecs=stream_info.codecs or rendition.codecs,
                bandwidth=int(stream_info.bandwidth or rendition.bandwidth),
                segment_count=len(segments),
                duration_seconds=sum(durations),
                segments=tuple(segments),
                average_bitrate=average,
                peak_bitrate=peak,
            )
        )

    covered = max(v.duration_seconds for v in variants)
    expected = info.duration_seconds
    if covered < expected * _MIN_OUTPUT_COVERAGE and expected - covered > 1.0:
        raise MediaRejected(
            FailReason.CORRUPT_SOURCE,
            f"output covers {covered:.2f} s of a {expected:.2f} s source: the source is damaged or truncated",
        )
    counts = {v.segment_count for v in variants}
    if len(counts) > 1:
        log.warning("renditions have different segment counts %s: keyframes are not aligned", counts)
    pictures, storyboard = collect_images(out, images) if images is not None else (None, None)
    return HlsOutput(out_dir=out, master=MASTER_PLAYLIST, variants=tuple(variants), images=pictures, storyboard=storyboard,
        cpu_seconds=run.cpu_seconds, peak_rss_bytes=run.peak_rss_bytes, progress_reports=run.progress_reports,
    )
