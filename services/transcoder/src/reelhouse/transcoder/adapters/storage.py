"""Object storage for the transcoder: download sources, publish HLS packages to the media bucket.

Nothing half-written is ever playable: every job writes below its own prefix
``videos/<videoId>/<jobId>/``, uploads segments and rendition playlists first, images next and the
master playlist last; only transcode.completed (sent after the master exists) makes the prefix known
to the gallery and the streaming service. A crashed job leaves an orphan prefix that no URL points to;
the next attempt uses a new job prefix and removes older ones of the same video on success.
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from reelhouse.platform.settings import PlatformSettings
from reelhouse.platform.storage import s3_client

CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".m4s": "video/iso.segment", ".mp4": "video/mp4", ".jpg": "image/jpeg", ".vtt": "text/vtt"}


#: Uploads in flight at once per package (boto3 clients are thread-safe; botocore's default connection
#: pool holds 10 connections).
UPLOAD_CONCURRENCY = 8


class SourceMissing(Exception):
    """The source object does not exist (deleted or never completed)."""


class MediaStore:
    """Blocking boto3 operations (call through ``asyncio.to_thread``)."""

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self.media_bucket = settings.media_bucket
        self._s3 = s3_client(settings)

    def download(self, bucket: str, key: str, dest: Path, on_fraction: Callable[[float], None] | None = None) -> int:
        """Download ``bucket/key`` to ``dest``; returns its size in bytes. ``on_fraction(done)`` gets the
        share downloaded so far (0..1, from boto3's transfer callbacks, called from its worker threads).
        Raises SourceMissing."""
        try:
            callback = None
            if on_fraction is not None:
                total = int(self._s3.head_object(Bucket=bucket, Key=key)["ContentLength"]) or 1
                done = [0]
                lock = threading.Lock()

                def callback(chunk: int) -> None:
                    with lock:
                        done[0] += chunk
                        fraction = min(1.0, done[0] / total)
                    on_fraction(fraction)

            self._s3.download_file(bucket, key, str(dest), Callback=callback)
        except self._s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket"):
                raise SourceMissing(f"s3://{bucket}/{key} does not exist") from exc
            raise
        return dest.stat().st_size

    def upload_package(self, local_dir: Path, prefix: str, files: list[str], last: list[str], concurrency: int = UPLOAD_CONCURRENCY) -> list[str]:
        """Upload ``files`` (relative to ``local_dir``) under ``prefix``, up to ``concurrency`` at a time;
        the ``last`` ones after all others are done, one by one in order (the master playlist goes last).
        Returns the object keys written. Raises the first upload error (botocore ClientError,
        EndpointConnectionError...) after the uploads already started have finished."""
        later = [f for f in last if f in files or (local_dir / f).exists()]
        first = [f for f in files if f not in later]
        if first:
            with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="s3-upload") as pool:
                keys = list(pool.map(lambda rel: self._upload(local_dir, prefix, rel), first))
        else:
            keys = []
        keys += [self._upload(local_dir, prefix, rel) for rel in later]
        return keys

    def _upload(self, local_dir: Path, prefix: str, rel: str) -> str:
        key = f"{prefix}/{rel}"
        path = local_dir / rel
        ctype = CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        cache = "public, max-age=31536000, immutable" if path.suffix != ".m3u8" else "public, max-age=60"
        self._s3.upload_file(str(path), self.media_bucket, key, ExtraArgs={"ContentType": ctype, "CacheControl": cache})
        return key

    def delete_prefix(self, prefix: str, keep: str | None = None) -> int:
        """Delete every object under ``prefix`` except those under ``keep``; returns how many."""
        deleted = 0
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.media_bucket, Prefix=prefix.rstrip("/") + "/"):
            batch = [{"Key": o["Key"]} for o in page.get("Contents", []) if not (keep and o["Key"].startswith(keep.rstrip("/") + "/"))]
            for i in range(0, len(batch), 1000):
                self._s3.delete_objects(Bucket=self.media_bucket, Delete={"Objects": batch[i : i + 1000], "Quiet": True})
                deleted += len(batch[i : i + 1000])
        return deleted
