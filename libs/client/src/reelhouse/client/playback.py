"""Playback checks through the edge: parse the master playlist (m3u8 library), fetch every rendition
playlist and one segment of each, and decode the segment with ffprobe (a real decoder, not a header
check)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
import m3u8


@dataclass(frozen=True)
class RenditionCheck:
    """One rendition as played: declared RESOLUTION/BANDWIDTH (bits/s), its playlist URL, number of
    segments, and what ffprobe decoded from the first segment (codec, width, height, frames)."""

    resolution: tuple[int, int] | None
    bandwidth: int
    playlist_url: str
    segments: int
    codec: str
    width: int
    height: int
    decoded_frames: int


def decode_segment(data: bytes) -> dict:
    """Decode an MPEG-TS/fMP4 segment with ffprobe (counting frames); returns its first video stream.

    Raises RuntimeError when ffprobe cannot decode a video frame from it.
    """
    with tempfile.NamedTemporaryFile(suffix=".ts") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
             "stream=codec_name,width,height,nb_read_frames", "-of", "json", f.name],
            capture_output=True, text=True, timeout=60,
        )
    streams = json.loads(out.stdout or "{}").get("streams", [])
    if out.returncode != 0 or not streams or int(streams[0].get("nb_read_frames") or 0) < 1:
        raise RuntimeError(f"segment does not decode: {out.stderr.strip()[:300]}")
    return streams[0]


def check_playback(master_url: str, client: httpx.Client | None = None) -> list[RenditionCheck]:
    """Fetch ``master_url`` and prove every rendition plays; raises RuntimeError / httpx errors if not."""
    http = client or httpx.Client(timeout=30)
    r = http.get(master_url)
    r.raise_for_status()
    master = m3u8.loads(r.text, uri=master_url)
    if not master.is_variant or not master.playlists:
        raise RuntimeError("not a master playlist")
    checks = []
    for variant in master.playlists:
        url = urljoin(master_url, variant.uri)
        pr = http.get(url)
        pr.raise_for_status()
        media = m3u8.loads(pr.text, uri=url)
        if not media.segments:
            raise RuntimeError(f"rendition {url} has no segments")
        seg = http.get(urljoin(url, media.segments[0].uri))
        seg.raise_for_status()
        stream = decode_segment(seg.content)
        checks.append(
            RenditionCheck(
                resolution=tuple(variant.stream_info.resolution) if variant.stream_info.resolution else None,
                bandwidth=int(variant.stream_info.bandwidth),
                playlist_url=url,
                segments=len(media.segments),
                codec=stream["codec_name"],
                width=int(stream["width"]),
                height=int(stream["height"]),
                decoded_frames=int(stream["nb_read_frames"]),
            )
        )
    return checks


