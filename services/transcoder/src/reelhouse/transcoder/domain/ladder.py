"""Rendition ladder planning and failure reasons for the transcoder. Pure: no I/O.

Units used everywhere in this module: bit rates in bits per second, dimensions in pixels, durations in
seconds, sizes in bytes.

Where the numbers come from
---------------------------
* Ladder bit rates (``LADDER``): 2160p 16 Mb/s (only 4K sources reach it), 1080p 5.0 Mb/s, 720p 2.8 Mb/s, 480p 1.4 Mb/s, 360p 0.8 Mb/s of H.264
  video, AAC audio at 128 kb/s (96 kb/s on 360p and smaller). These are picked inside the ranges of the
  example H.264 ladder in Apple's "HLS Authoring Specification for Apple Devices" and of the common
  public ladders of VOD platforms for these resolutions; they are engineering choices, not values
  mandated by any standard.
* Adjacent rungs at least 1.5 x apart in bit rate: our rule, in line with the usual guidance of ~1.5-2 x
  steps between ladder rungs (the nominal ladder's own steps are 1.75-2 x); a step smaller than that
  gives the player a rung that costs bandwidth without visible gain.
* ``maxrate = 1.07 x bitrate`` and ``bufsize = 1.5 x bitrate``: the usual "capped VBR" settings for
  x264 in HLS ladders (common practice, not a standard).
* ``Rendition.bandwidth`` uses the same formula ffmpeg's HLS muxer (libavformat/hlsenc.c, 5.x) writes
  into ``BANDWIDTH``: (video bit rate + audio bit rate) plus 10 %, so the event and the master playlist
  carry the same number.
* H.264 levels: Table A-1 of ITU-T H.264 (MaxMBPS, MaxFS, MaxBR, MaxCPB); for the High profile the
  bit rate and CPB limits are multiplied by 1.25 (cpbBrVclFactor 1250, Table A-2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ADJACENT_RUNG_FACTOR",
    "AUDIO_BITRATE",
    "AUDIO_BITRATE_LOW",
    "LADDER",
    "MIN_VIDEO_BITRATE",
    "SOURCE_BITRATE_HEADROOM",
    "FailReason",
    "LadderRung",
    "MediaInfo",
    "MediaRejected",
    "check_limits",
    "Rendition",
    "h264_level",
    "plan_ladder",
]


# --------------------------------------------------------------------------------------------------
# Failures
# --------------------------------------------------------------------------------------------------


class FailReason(StrEnum):
    """Stable failure codes carried by ``transcode.failed.v1`` as ``failReason``."""

    UNSUPPORTED_MEDIA = "UNSUPPORTED_MEDIA"  # recognised, but not something we turn into video (text...)
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"  # not one of the five containers (a playlist, an image...)
    NO_VIDEO_STREAM = "NO_VIDEO_STREAM"  # audio only, a still image, a cover picture only
    CORRUPT_SOURCE = "CORRUPT_SOURCE"  # unreadable, truncated, no duration, no dimensions
    UNSUPPORTED_CODEC = "UNSUPPORTED_CODEC"  # a video stream this ffmpeg build cannot decode
    TRANSCODE_ERROR = "TRANSCODE_ERROR"  # ffmpeg failed for another reason (disk, memory, bug)
    TIMEOUT = "TIMEOUT"  # ffmpeg made no progress for too long and was killed
    SOURCE_MISSING = "SOURCE_MISSING"  # the source object/file does not exist
    SOURCE_TOO_LONG = "SOURCE_TOO_LONG"  # longer than the configured maximum duration
    RESOLUTION_TOO_HIGH = "RESOLUTION_TOO_HIGH"  # more pixels per frame than the configured maximum
    WORKER_LOST = "WORKER_LOST"  # the workers running the job died too many times (OOM, node loss...)


#: Whether a retry of the same job may succeed, per reason, when the raiser does not say otherwise.
#: Deterministic properties of the file are never retryable; environmental problems are.
_DEFAULT_RETRYABLE: dict[FailReason, bool] = {
    FailReason.UNSUPPORTED_MEDIA: False,
    FailReason.UNSUPPORTED_FORMAT: False,
    FailReason.NO_VIDEO_STREAM: False,
    FailReason.CORRUPT_SOURCE: False,
    FailReason.UNSUPPORTED_CODEC: False,
    FailReason.TRANSCODE_ERROR: True,
    FailReason.TIMEOUT: True,
    FailReason.SOURCE_MISSING: False,
    FailReason.SOURCE_TOO_LONG: False,
    FailReason.RESOLUTION_TOO_HIGH: False,
    FailReason.WORKER_LOST: True,
}


class MediaRejected(Exception):
    """The source cannot be turned into HLS (now, or ever).

    Attributes:
        reason: the stable :class:`FailReason` code.
        detail: human-readable explanation (e.g. the tail of ffmpeg's stderr), bounded by the raiser.
        retryable: False for deterministic problems of the file itself (a retry gives the same result);
            defaults per reason (True only for TRANSCODE_ERROR and TIMEOUT).
    """

    def __init__(self, reason: FailReason, detail: str = "", retryable: bool | None = None) -> None:
        self.reason = FailReason(reason)
        self.detail = detail
        self.retryable = _DEFAULT_RETRYABLE[self.reason] if retryable is None else retryable
        super().__init__(f"{self.reason}: {detail}" if detail else str(self.reason))


# --------------------------------------------------------------------------------------------------
# Source description
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaInfo:
    """What probing a source found out.

    ``width``/``height`` are the *display* dimensions: the coded size with the sample aspect ratio
    applied to the width, then swapped when the display rotation is 90 or 270 degrees, i.e. what a viewer
    sees and what ffmpeg's filters see (ffmpeg auto-rotates). ``coded_width``/``coded_height`` are the
    dimensions stored in the bitstream. ``rotation`` is the clockwise rotation in degrees (0/90/180/270)
    a player applies to the coded picture. ``frame_rate`` is in frames/s (average; 0.0 when unknown),
    ``video_bitrate`` in bits/s (None when neither the stream nor the container says),
    ``duration_seconds`` in seconds, ``size_bytes`` in bytes.

    ``video_stream_index``/``audio_stream_index`` are absolute stream indexes in the source (what
    ``-map 0:<index>`` takes), so a cover picture or an undecodable track is never picked by accident.
    """

    duration_seconds: float
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int
    video_codec: str
    pix_fmt: str
    frame_rate: float
    video_bitrate: int | None
    has_audio: bool
    audio_codec: str | None
    format_name: str
    size_bytes: int | None
    video_stream_index: int = 0
    audio_stream_index: int | None = None

    @property
    def is_portrait(self) -> bool:
        """True when the displayed picture is taller than wide."""
        return self.height > self.width

    @property
    def short_side(self) -> int:
        """The smaller display dimension: what "1080p" etc. refers to, whatever the orientation."""
        return min(self.width, self.height)


def check_limits(info: MediaInfo, max_duration_seconds: float | None, max_pixels: int | None) -> None:
    """Refuse a probed source beyond the configured limits (None = no limit).

    ``max_duration_seconds`` in seconds, compared with ``info.duration_seconds``; ``max_pixels`` compared
    with the display ``width x height`` (rotation does not change the product). Equal to the limit is
    allowed. Raises :class:`MediaRejected` SOURCE_TOO_LONG or RESOLUTION_TOO_HIGH (not retryable: the
    same file fails the same way until the operator raises the limit, after which a retry succeeds).
    """
    if max_duration_seconds is not None and info.duration_seconds > max_duration_seconds:
        raise MediaRejected(
            FailReason.SOURCE_TOO_LONG,
            f"source lasts {info.duration_seconds:.1f} s; the limit is {max_duration_seconds:g} s",
        )
    pixels = info.width * info.height
    if max_pixels is not None and pixels > max_pixels:
        raise MediaRejected(
            FailReason.RESOLUTION_TOO_HIGH,
            f"source is {info.width}x{info.height} ({pixels} pixels); the limit is {max_pixels} pixels",
        )


# --------------------------------------------------------------------------------------------------
# H.264 levels
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Level:
    idc: int  # level_idc: 10 x the level number (3.1 -> 31)
    max_mbps: int  # macroblocks per second
    max_fs: int  # macroblocks per frame
    max_br: int  # kbit/s, Baseline/Main (x 1.25 for High)
    max_cpb: int  # kbit, Baseline/Main (x 1.25 for High)


# ITU-T H.264 Table A-1 (level 1b omitted: it has no place in an HLS ladder).
_LEVELS: tuple[_Level, ...] = (
    _Level(10, 1_485, 99, 64, 175),
    _Level(11, 3_000, 396, 192, 500),
    _Level(12, 6_000, 396, 384, 1_000),
    _Level(13, 11_880, 396, 768, 2_000),
    _Level(20, 11_880, 396, 2_000, 2_000),
    _Level(21, 19_800, 792, 4_000, 4_000),
    _Level(22, 20_250, 1_620, 4_000, 4_000),
    _Level(30, 40_500, 1_620, 10_000, 10_000),
    _Level(31, 108_000, 3_600, 14_000, 14_000),
    _Level(32, 216_000, 5_120, 20_000, 20_000),
    _Level(40, 245_760, 8_192, 20_000, 25_000),
    _Level(41, 245_760, 8_192, 50_000, 62_500),
    _Level(42, 522_240, 8_704, 50_000, 62_500),
    _Level(50, 589_824, 22_080, 135_000, 135_000),
    _Level(51, 983_040, 36_864, 240_000, 240_000),
    _Level(52, 2_073_600, 36_864, 240_000, 240_000),
    _Level(60, 4_177_920, 139_264, 240_000, 240_000),
    _Level(61, 8_355_840, 139_264, 480_000, 480_000),
    _Level(62, 16_711_680, 139_264, 800_000, 800_000),
)

_HIGH_PROFILE_FACTOR = 1.25
#: Lowest level we declare. Apple's ladders start at 3.0, and every HLS player decodes it; declaring a
#: level above what the stream needs is allowed (a level is an upper bound).
_MIN_LEVEL_IDC = 30
#: Frame rate assumed for the level when the source does not say (frames/s).
_DEFAULT_FRAME_RATE = 30.0


def h264_level(width: int, height: int, frame_rate: float, maxrate: int, bufsize: int) -> int:
    """Smallest H.264 High-profile level_idc (e.g. 31 for level 3.1) that fits a stream.

    Args:
        width, height: coded picture size in pixels.
        frame_rate: frames/s (<= 0 means unknown: 30 is assumed).
        maxrate: peak video bit rate in bits/s (VBV max rate).
        bufsize: VBV buffer size in bits.

    Returns the level_idc (10 x level), never below 30 (level 3.0); 62 when nothing fits (beyond H.264).
    Source: ITU-T H.264 Table A-1, High-profile factor 1.25 for MaxBR/MaxCPB (Table A-2).
    """
    fps = frame_rate if frame_rate > 0 else _DEFAULT_FRAME_RATE
    mbs_w = math.ceil(width / 16)
    mbs_h = math.ceil(height / 16)
    frame_mbs = mbs_w * mbs_h
    for level in _LEVELS:
        if level.idc < _MIN_LEVEL_IDC:
            continue
        side_limit = math.sqrt(level.max_fs * 8)  # A.3.1: width and height in MBs <= sqrt(8 * MaxFS)
        if (
            frame_mbs <= level.max_fs
            and mbs_w <= side_limit
            and mbs_h <= side_limit
            and frame_mbs * fps <= level.max_mbps
            and maxrate <= level.max_br * 1000 * _HIGH_PROFILE_FACTOR
            and bufsize <= level.max_cpb * 1000 * _HIGH_PROFILE_FACTOR
        ):
            return level.idc
    return _LEVELS[-1].idc


# --------------------------------------------------------------------------------------------------
# Renditions and the ladder
# --------------------------------------------------------------------------------------------------

_H264_HIGH_PROFILE_IDC = 100  # 0x64
_AAC_LC_CODECS = "mp4a.40.2"  # RFC 6381: MPEG-4 audio, object type 2 = AAC-LC


@dataclass(frozen=True)
class Rendition:
    """One rung of the HLS ladder, as planned (what we ask the encoder for).

    ``width``/``height`` are the output display size in pixels (both even, square pixels).
    ``video_bitrate`` is the x264 target (-b:v), ``maxrate`` the VBV peak (-maxrate), both bits/s;
    ``bufsize`` the VBV buffer in bits (-bufsize). ``audio_bitrate`` is the AAC bit rate in bits/s, 0 when
    the rendition carries no audio. ``level`` is the H.264 level_idc declared to the encoder (31 = 3.1).
    """

    name: str
    width: int
    height: int
    video_bitrate: int
    maxrate: int
    bufsize: int
    audio_bitrate: int
    level: int = 40

    @property
    def has_audio(self) -> bool:
        return self.audio_bitrate > 0

    @property
    def bandwidth(self) -> int:
        """BANDWIDTH for the master playlist, bits/s.

        Same formula as ffmpeg's HLS muxer: (video bit rate + audio bit rate) + 10 %. The 10 % covers the
        MPEG-TS/PES overhead and the VBV peak (maxrate is 1.07 x the average), so it bounds the segment
        peak the way RFC 8216 section 4.3.4.2 asks for BANDWIDTH.
        """
        total = self.video_bitrate + self.audio_bitrate
        return total + total // 10

    @property
    def level_string(self) -> str:
        """The level as ffmpeg's ``-level`` takes it: ``"3.1"``, ``"4.0"``."""
        return f"{self.level // 10}.{self.level % 10}"

    @property
    def codecs(self) -> str:
        """RFC 6381 CODECS value: H.264 High profile at :attr:`level`, plus AAC-LC when there is audio.

        E.g. ``"avc1.640028,mp4a.40.2"`` (High, level 4.0, AAC-LC). This is what we ask x264 for;
        the profile x264 actually writes can be lower (a faster preset without CABAC gives Constrained
        Baseline, ``avc1.42c0..``), so after encoding trust the CODECS ffmpeg wrote from the bitstream.
        """
        video = f"avc1.{_H264_HIGH_PROFILE_IDC:02x}00{self.level:02x}"
        return f"{video},{_AAC_LC_CODECS}" if self.has_audio else video


@dataclass(frozen=True)
class LadderRung:
    """A nominal rung: ``short_side`` in pixels (the "p" number), bit rates in bits/s."""

    name: str
    short_side: int
    video_bitrate: int
    audio_bitrate: int


#: Audio bit rates, bits/s (see the module docstring for the source of the numbers).
AUDIO_BITRATE = 128_000
AUDIO_BITRATE_LOW = 96_000

#: The full ladder, highest first (bits/s; see the module docstring for where the numbers come from).
LADDER: tuple[LadderRung, ...] = (
    LadderRung("2160p", 2160, 16_000_000, AUDIO_BITRATE),
    LadderRung("1080p", 1080, 5_000_000, AUDIO_BITRATE),
    LadderRung("720p", 720, 2_800_000, AUDIO_BITRATE),
    LadderRung("480p", 480, 1_400_000, AUDIO_BITRATE),
    LadderRung("360p", 360, 800_000, AUDIO_BITRATE_LOW),
)

#: Never plan a video bit rate below this, bits/s (our choice, not a standard: roughly what QCIF-to-360p
#: H.264 needs to stay watchable); capping a rung to a starved source's bit rate never goes lower, so at
#: the floor adjacent rungs may share a rate.
MIN_VIDEO_BITRATE = 200_000
#: A rung is capped at (source video bit rate x this) when the source is leaner than the rung: re-encoding
#: a lean source at a much higher bit rate only wastes storage and bandwidth (it cannot add quality);
#: 10 % headroom compensates for generation loss.
SOURCE_BITRATE_HEADROOM = 1.1
#: Adjacent rungs differ by at least this factor in bit rate (usual ladder guidance is 1.5-2 x steps; the
#: nominal ladder is 1.75-2 x apart, so this only bites once the source bit rate capped the top rungs).
ADJACENT_RUNG_FACTOR = 1.5
#: VBV settings relative to the target bit rate (common capped-VBR practice for HLS, not a standard).
MAXRATE_FACTOR = 1.07
BUFSIZE_FACTOR = 1.5


def _even_round(value: float) -> int:
    """Nearest even integer, at least 2 (H.264 4:2:0 needs even dimensions)."""
    return max(2, round(value / 2.0) * 2)


def _even_floor(value: int) -> int:
    """Largest even integer <= value, at least 2."""
    return max(2, (value // 2) * 2)


def _dimensions(info: MediaInfo, short_side: int) -> tuple[int, int]:
    """Output (width, height) with the given short side, keeping the display aspect ratio."""
    long_side = max(info.width, info.height)
    short_src = info.short_side
    scaled_long = _even_round(long_side * short_side / short_src)
    if info.is_portrait:
        return short_side, scaled_long
    return scaled_long, short_side


def _kbit(value: float) -> int:
    """Round down to whole kbit/s: x264 takes rates in kbit/s, so that is what ends up in the stream."""
    return int(value) // 1000 * 1000


def _video_bitrate(nominal: int, source_bitrate: int | None, upper: int | None) -> int:
    """Target video bit rate of a rung, bits/s.

    ``nominal`` is the rung's ladder value; capped at ``max(source x 1.1, MIN_VIDEO_BITRATE)`` when the
    source is leaner; then kept at least ``ADJACENT_RUNG_FACTOR`` below the rung above (``upper``) so a
    capped top rung does not leave two rungs at the same rate; never below ``MIN_VIDEO_BITRATE``.
    """
    video = nominal
    if source_bitrate is not None and 0 < source_bitrate < nominal:
        video = min(nominal, max(int(source_bitrate * SOURCE_BITRATE_HEADROOM), MIN_VIDEO_BITRATE))
    if upper is not None:
        video = min(video, int(upper / ADJACENT_RUNG_FACTOR))
    return _kbit(max(video, MIN_VIDEO_BITRATE))


def _make_rendition(
    name: str,
    width: int,
    height: int,
    nominal_video: int,
    audio: int,
    info: MediaInfo,
    upper: Rendition | None,
) -> Rendition:
    video = _video_bitrate(nominal_video, info.video_bitrate, upper.video_bitrate if upper else None)
    maxrate = _kbit(video * MAXRATE_FACTOR)
    bufsize = _kbit(video * BUFSIZE_FACTOR)
    return Rendition(
        name=name,
        width=width,
        height=height,
        video_bitrate=video,
        maxrate=maxrate,
        bufsize=bufsize,
        audio_bitrate=audio if info.has_audio else 0,
        level=h264_level(width, height, info.frame_rate, maxrate, bufsize),
    )


def plan_ladder(info: MediaInfo) -> list[Rendition]:
    """Plan the HLS renditions for a source, highest first; always at least one.

    Rules:
    * a rung is used only when its short side (the "p" number: the height of a landscape picture, the
      width of a portrait one) is <= the source's display short side: never upscale;
      a 1080x1920 portrait source gets a "1080p" rung of 1080x1920;
    * the other side follows the display aspect ratio, rounded to the nearest even number;
    * a source smaller than the lowest rung (short side < 360) gets exactly one rendition at its own
      display size rounded down to even, named after its short side (e.g. "144p"), with a bit rate
      scaled from the 360p rung by pixel count (at least ``MIN_VIDEO_BITRATE``);
    * when the source video bit rate is known and lower than a rung's, the rung gets
      ``min(rung, max(source x 1.1, MIN_VIDEO_BITRATE))`` bits/s;
    * each rung is at least 1.5 x below the rung above (usual 1.5-2 x ladder steps), which only bites
      when capping squeezed the top of the ladder; never below ``MIN_VIDEO_BITRATE``; all rates are
      whole kbit/s (what x264 encodes);
    * audio (AAC) only when the source has audio: 128 kb/s, 96 kb/s for 360p and below;
    * each rendition declares the smallest H.264 level (>= 3.0) that fits its size, frame rate and VBV.

    Raises ValueError when the display dimensions are not positive (probe rejects such files first).
    """
    if info.width <= 0 or info.height <= 0:
        raise ValueError(f"source has no usable dimensions: {info.width}x{info.height}")
    renditions: list[Rendition] = []
    for rung in LADDER:
        if rung.short_side > info.short_side:
            continue
        width, height = _dimensions(info, rung.short_side)
        renditions.append(
            _make_rendition(
                rung.name,
                width,
                height,
                rung.video_bitrate,
                rung.audio_bitrate,
                info,
                renditions[-1] if renditions else None,
            )
        )
    if not renditions:
        lowest = LADDER[-1]
        width, height = _even_floor(info.width), _even_floor(info.height)
        reference_pixels = _dimensions(info, lowest.short_side)
        pixel_ratio = (width * height) / (reference_pixels[0] * reference_pixels[1])
        nominal = max(MIN_VIDEO_BITRATE, int(lowest.video_bitrate * pixel_ratio))
        renditions.append(
            _make_rendition(f"{min(width, height)}p", width, height, nominal, AUDIO_BITRATE_LOW, info, None)
        )
    return renditions
