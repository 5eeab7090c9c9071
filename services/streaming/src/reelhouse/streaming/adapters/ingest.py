"""The live ingest (nginx-rtmp) as the streaming service sees it: its control API and its recordings.

- :func:`drop_publisher` disconnects a stream's broadcaster through ``rtmp_control``
  (``GET <rtmp_control_url>/drop/publisher?app=live&name=<stream id>``; nginx-rtmp answers 200 with the
  number of dropped clients). The stream name inside nginx-rtmp is the stream id (the on_publish
  callback renames it), never the key.
- :func:`remux_recording` turns the FLV parts written by ``record all`` into one MP4 (``-c copy``, no
  re-encode; ``+faststart``) and :func:`upload_recording` puts it in the uploads bucket.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import structlog

from reelhouse.platform.settings import PlatformSettings
from reelhouse.platform.storage import s3_client

log = structlog.get_logger(__name__)


class IngestUnavailable(Exception):
    """The ingest's control API did not answer."""


def _get(url: str, timeout: float) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback control URL from settings
        return resp.status, resp.read().decode("utf-8", "replace")


async def drop_publisher(control_url: str, stream_id: str, timeout: float = 3.0) -> int:
    """Disconnect the broadcaster of ``stream_id``; returns how many clients nginx-rtmp dropped (0 when
    nobody was publishing). Raises :class:`IngestUnavailable` when the control API is unreachable."""
    query = urllib.parse.urlencode({"app": "live", "name": stream_id})
    url = f"{control_url.rstrip('/')}/drop/publisher?{query}"
    try:
        status, body = await asyncio.to_thread(_get, url, timeout)
    except OSError as exc:
        raise IngestUnavailable(f"rtmp control unreachable: {exc}") from exc
    try:
        dropped = int(body.strip() or 0)
    except ValueError:
        dropped = 0
    log.info("live.publisher_dropped", stream_id=stream_id, status=status, dropped=dropped)
    return dropped


async def _run(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, (out or b"").decode() + (err or b"").decode()


async def remux_recording(parts: list[str], out: Path) -> float | None:
    """Concatenate the FLV ``parts`` (in order) into the MP4 ``out`` without re-encoding; returns the
    duration in seconds (ffprobe) or None. Raises RuntimeError with ffmpeg's message on failure."""
    existing = [p for p in parts if os.path.exists(p) and os.path.getsize(p) > 0]
    if not existing:
        raise FileNotFoundError("no recording file left on disk")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        for p in existing:
            escaped = p.replace("'", "'\\''")
            listing.write(f"file '{escaped}'\n")
    try:
        rc, output = await _run(
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", listing.name,
            "-map", "0", "-c", "copy", "-movflags", "+faststart", str(out),
        )
    finally:
        os.unlink(listing.name)
    if rc != 0 or not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"ffmpeg remux failed ({rc}): {output[-500:]}")
    rc, probe = await _run("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(out))
    try:
        return float(json.loads(probe)["format"]["duration"])
    except (ValueError, KeyError, TypeError):
        return None


def upload_recording(settings: PlatformSettings, path: Path, key: str) -> tuple[int, str]:
    """Upload ``path`` to the uploads bucket under ``key``; returns (size in bytes, ETag without quotes)."""
    s3 = s3_client(settings)
    s3.upload_file(str(path), settings.uploads_bucket, key, ExtraArgs={"ContentType": "video/mp4"})
    head = s3.head_object(Bucket=settings.uploads_bucket, Key=key)
    return int(head["ContentLength"]), str(head.get("ETag", "")).strip('"')


def delete_recording(settings: PlatformSettings, key: str) -> None:
    """Delete the recording object ``key`` from the uploads bucket (S3 answers a missing key with
    success too, so a repeat is harmless)."""
    s3_client(settings).delete_object(Bucket=settings.uploads_bucket, Key=key)


def put_thumbnail(settings: PlatformSettings, key: str, data: bytes) -> None:
    """Store a stream thumbnail (JPEG bytes) in the media bucket under ``key``."""
    s3_client(settings).put_object(Bucket=settings.media_bucket, Key=key, Body=data, ContentType="image/jpeg")


def delete_thumbnail(settings: PlatformSettings, key: str) -> None:
    """Delete a stream thumbnail from the media bucket (a missing key is success too)."""
    s3_client(settings).delete_object(Bucket=settings.media_bucket, Key=key)
