"""Unit tests of the container sniffer shared by upload (completion check) and transcoder (demuxer choice)."""

from __future__ import annotations

import pytest

from reelhouse.platform.containers import Container, describe_content, sniff_container

pytestmark = pytest.mark.unit

ASF_GUID = bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41", Container.ISO_BMFF),  # MP4
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", Container.ISO_BMFF),  # MOV
        (b"\x00\x00\x00\x1cftyp3gp4\x00\x00\x02\x003gp4isom3gp4", Container.ISO_BMFF),  # 3GP
        (b"\x00\x00\x00\x08wide\x00\x10\x00\x00mdat", Container.ISO_BMFF),  # old QuickTime, no ftyp
        (b"\x00\x00\x12\x34moov\x00\x00\x00\x6cmvhd", Container.ISO_BMFF),
        (b"RIFF\x8a\r\x01\x00AVI LIST", Container.AVI),
        (ASF_GUID + b"\x00" * 16, Container.ASF),  # WMV
    ],
)
def test_the_five_containers_are_recognised(head: bytes, expected: Container) -> None:
    assert sniff_container(head) is expected


@pytest.mark.parametrize(
    ("head", "looks_like"),
    [
        (b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n/var/x.ts\n", "HLS playlist"),
        (b"\xef\xbb\xbf#EXTM3U\n", "HLS playlist"),
        (b"ffconcat version 1.0\nfile '/etc/x.ts'\n", "ffconcat list"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
        (b"GIF89a\x01\x00", "GIF image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WebP image"),
        (b"<?xml version='1.0'?><MPD>", "XML document"),
        (b"\x1a\x45\xdf\xa3\x01\x00\x00\x00", "Matroska"),
        (b"abcdftyp text that mentions ftyp at offset 4", "text"),
        (b"these are meeting notes, not a video\n", "text"),
        (b"", "text"),
        (bytes(range(200, 256)), "unknown binary data"),
    ],
)
def test_anything_else_is_refused_and_described(head: bytes, looks_like: str) -> None:
    assert sniff_container(head) is None
    assert looks_like in describe_content(head)
