"""The five source containers Reelhouse accepts, recognised from their first bytes (magic numbers).

The API allows MOV, MP4, 3GP, AVI and WMV only (docs/api.md "Upload validation"; docs/security.md, "Only video goes in"). They belong
to three container families, each read by one FFmpeg demuxer:

* ISO base media / QuickTime (MOV, MP4, 3GP): a box header at offset 0 whose type (bytes 4..8) is
  ``ftyp`` (ISO/IEC 14496-12 section 4.3; 3GPP TS 26.244) or, in QuickTime files written without
  ``ftyp``, one of the top-level atoms ``moov``, ``mdat``, ``wide``, ``free``, ``skip``, ``pnot``
  (Apple QuickTime File Format, "Atoms") -> demuxer ``mov``;
* AVI: ``RIFF`` <size> ``AVI `` (Microsoft RIFF/AVI reference) -> demuxer ``avi``;
* WMV: the ASF Header Object GUID ``75B22630-668E-11CF-A6D9-00AA0062CE6C`` (ASF specification
  section 3.1) -> demuxer ``asf``.

Everything else (an HLS or DASH playlist, an ffconcat list, text, an image, another container) is not
one of them. Both the upload service (at upload completion) and the transcoder (before ffprobe) use
:func:`sniff_container`; the transcoder then forces the demuxer it names, so FFmpeg never chooses one
from the content. Pure functions, no I/O.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ALLOWED_DEMUXERS", "SNIFF_BYTES", "Container", "describe_content", "sniff_container"]

SNIFF_BYTES = 64
"""How many leading bytes :func:`sniff_container` and :func:`describe_content` look at."""


class Container(StrEnum):
    """An accepted container family; the value is the FFmpeg demuxer that reads it (``-f <value>``)."""

    ISO_BMFF = "mov"  # MOV, MP4, 3GP (ffprobe format_name "mov,mp4,m4a,3gp,3g2,mj2")
    AVI = "avi"  # AVI
    ASF = "asf"  # WMV


ALLOWED_DEMUXERS: frozenset[str] = frozenset(c.value for c in Container)
"""FFmpeg demuxer names of the accepted containers (the first name of ffprobe's ``format_name``)."""

_QUICKTIME_ATOMS = frozenset({b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_ASF_HEADER_GUID = bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C")


def sniff_container(head: bytes) -> Container | None:
    """The container family of a file from its first bytes (at least 16; :data:`SNIFF_BYTES` is plenty),
    or None when it is none of the accepted ones.

    For ISO BMFF/QuickTime the first box must also have a plausible size (0 = "to the end of file", 1 =
    64-bit size follows, else at least the 8-byte header), so text that happens to contain ``ftyp`` at
    offset 4 is still refused.
    """
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Container.AVI
    if head[:16] == _ASF_HEADER_GUID:
        return Container.ASF
    if len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS:
        size = int.from_bytes(head[:4], "big")
        if head[4:8] == b"ftyp":  # major brand + minor version at least; brand lists are short
            plausible = 16 <= size <= 4096
        else:
            plausible = size in (0, 1) or size >= 8
        if plausible:
            return Container.ISO_BMFF
    return None


def describe_content(head: bytes) -> str:
    """A short human description of what the first bytes look like, for error details: ``"HLS playlist"``,
    ``"ffconcat list"``, ``"PNG image"``, ``"JPEG image"``, ``"text"``, ``"MOV/MP4/3GP"``... or
    ``"unknown binary data"``. Never used to decide anything but the message."""
    found = sniff_container(head)
    if found is not None:
        return {Container.ISO_BMFF: "MOV/MP4/3GP", Container.AVI: "AVI", Container.ASF: "WMV"}[found]
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    signatures: tuple[tuple[bytes, str], ...] = (
        (b"#EXTM3U", "HLS playlist"),
        (b"ffconcat", "ffconcat list"),
        (b"\x89PNG", "PNG image"),
        (b"\xff\xd8\xff", "JPEG image"),
        (b"GIF8", "GIF image"),
        (b"<?xml", "XML document (a DASH manifest, SVG...)"),
        (b"<MPD", "DASH manifest"),
        (b"\x1a\x45\xdf\xa3", "Matroska/WebM video (not an accepted format)"),
        (b"FLV", "FLV video (not an accepted format)"),
    )
    for magic, what in signatures:
        if stripped.startswith(magic):
            return what
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP image"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown binary data"
    return "text"
