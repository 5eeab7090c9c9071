"""REST calls of a client app (docs/api.md, "Videos" and "Upload sessions")."""

from __future__ import annotations

import mimetypes
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

MIME_BY_EXT = {".mp4": "video/mp4", ".mov": "video/quicktime", ".3gp": "video/3gpp", ".avi": "video/x-msvideo", ".wmv": "video/x-ms-wmv"}


class ApiError(Exception):
    """A problem+json answer: ``status`` (HTTP), ``code`` (stable), ``body`` (the decoded JSON)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.code = body.get("code")
        super().__init__(f"HTTP {status} {self.code}: {body.get('detail') or body.get('title')}")


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, ApiError) and (exc.status >= 500 or exc.status == 429)


@dataclass
class UploadResult:
    """What an upload did: the session, the parts sent (number -> ETag) and the retries it needed."""

    session_id: str
    parts: dict[int, str] = field(default_factory=dict)
    retried_parts: list[int] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)


class ReelhouseClient:
    """Talks to the edge at ``base_url`` as the user of ``token`` (a bearer JWT)."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
        self.storage = httpx.Client(timeout=timeout)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()
        self.storage.close()

    def __enter__(self) -> ReelhouseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:  # noqa: ANN401
        """One API call; returns the decoded JSON (None for 204); raises :class:`ApiError` otherwise."""
        r = self.http.request(method, path, **kwargs)
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {"title": r.text[:200]}
            raise ApiError(r.status_code, body)
        return None if r.status_code == 204 else r.json()

    # --- videos -------------------------------------------------------------------------------------

    def create_video(self, title: str, path: Path | None = None, *, mime: str | None = None, size: int | None = None, file_name: str | None = None, **extra: Any) -> dict:  # noqa: ANN401
        """POST /api/videos for a local file (MIME type from the extension, size from the file)."""
        if path is not None:
            mime = mime or MIME_BY_EXT.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            size = size if size is not None else path.stat().st_size
            file_name = file_name or path.name
        body = {"title": title, "sourceMime": mime, "sourceSizeBytes": size, **({"fileName": file_name} if file_name else {}), **extra}
        return self.request("POST", "/api/videos", json=body)

    def get_video(self, video_id: str) -> dict:
        """GET /api/videos/{id}."""
        return self.request("GET", f"/api/videos/{video_id}")

    def wait_for_status(self, video_id: str, statuses: set[str], timeout: float = 120.0, on_poll: Callable[[dict], None] | None = None) -> dict:
        """Poll until the video's status is in ``statuses``; raises TimeoutError with the last state."""
        deadline = time.monotonic() + timeout
        video: dict = {}
        while time.monotonic() < deadline:
            video = self.get_video(video_id)
            if on_poll:
                on_poll(video)
            if video["status"] in statuses:
                return video
            time.sleep(0.3)
        raise TimeoutError(f"video {video_id} still {video.get('status')} after {timeout}s (wanted {sorted(statuses)})")

    # --- uploads ------------------------------------------------------------------------------------

    def create_upload(self, video_id: str) -> dict:
        """POST /api/videos/{id}/uploads (retries while the upload service has not yet seen the video)."""
        deadline = time.monotonic() + 15
        while True:
            try:
                return self.request("POST", f"/api/videos/{video_id}/uploads", json={})
            except ApiError as exc:
                if exc.code != "VIDEO_NOT_FOUND" or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def get_upload(self, session_id: str) -> dict:
        """GET /api/uploads/{id}: status, bytesUploaded and the parts already stored."""
        return self.request("GET", f"/api/uploads/{session_id}")

    def part_url(self, session_id: str, part_number: int) -> dict:
        """POST /api/uploads/{id}/parts for one part."""
        return self.request("POST", f"/api/uploads/{session_id}/parts", json={"partNumber": part_number})

    def put_part(self, url: str, data: bytes) -> str:
        """PUT one part's bytes to its presigned URL; returns the ETag (unquoted)."""
        r = self.storage.put(url, content=data)
        if r.status_code >= 400:
            raise ApiError(r.status_code, {"title": "storage refused the part", "detail": r.text[:300]})
        return r.headers["etag"].strip('"')

    def complete_upload(self, session_id: str, parts: dict[int, str]) -> dict:
        """POST /api/uploads/{id}/complete with every part's number and ETag."""
        body = {"parts": [{"partNumber": n, "etag": e} for n, e in sorted(parts.items())]}
        return self.request("POST", f"/api/uploads/{session_id}/complete", json=body)

    def upload_file(
        self,
        video_id: str,
        path: Path,
        *,
        session_id: str | None = None,
        interrupt_part: int | None = None,
        on_part: Callable[[int, int], None] | None = None,
    ) -> UploadResult:
        """Upload ``path`` as the video's source and complete the session.

        Resumable: with ``session_id`` (or after an interruption) it asks ``GET /api/uploads/{id}`` which
        parts S3 already holds and sends only the missing ones. Each part PUT is retried with
        exponential backoff on transport errors. ``interrupt_part`` simulates a network failure: that
        part's first PUT is cut off after half its bytes, the client then resumes from the server's
        view of the session. ``on_part(part_number, total_parts)`` reports progress.
        """
        session = self.get_upload(session_id) if session_id else self.create_upload(video_id)
        sid = session["uploadSessionId"]
        part_size = int(session["partSizeBytes"])
        size = path.stat().st_size
        total = max(1, -(-size // part_size))
        result = UploadResult(session_id=sid)
        stored = {p["partNumber"]: p["etag"] for p in self.get_upload(sid).get("parts", [])}
        result.parts.update(stored)

        @retry(retry=retry_if_exception(_transient), wait=wait_exponential(multiplier=0.2, max=5), stop=stop_after_attempt(6), reraise=True)
        def send(n: int, data: bytes) -> str:
            return self.put_part(self.part_url(sid, n)["uploadUrl"], data)

        with path.open("rb") as fh:
            for n in range(1, total + 1):
                if n in result.parts:
                    continue
                fh.seek((n - 1) * part_size)
                data = fh.read(part_size)
                if interrupt_part == n:
                    self._interrupted_put(self.part_url(sid, n)["uploadUrl"], data)
                    result.retried_parts.append(n)
                    # resume from what the server says is stored (the cut-off part is not there)
                    stored = {p["partNumber"]: p["etag"] for p in self.get_upload(sid).get("parts", [])}
                    assert n not in stored, "an interrupted part must not be listed as stored"
                    result.parts.update(stored)
                result.parts[n] = send(n, data)
                if on_part:
                    on_part(n, total)
        result.final = self.complete_upload(sid, result.parts)
        return result

    def _interrupted_put(self, url: str, data: bytes) -> None:
        """Send a PUT whose connection drops after half the declared bytes (a network failure)."""
        half = len(data) // 2

        def body():  # noqa: ANN202
            yield data[:half]
            raise ConnectionResetError("simulated network interruption")

        try:
            self.storage.put(url, content=body(), headers={"Content-Length": str(len(data))})
        except (httpx.HTTPError, ConnectionResetError, RuntimeError):
            return
        raise RuntimeError("the interrupted PUT unexpectedly succeeded")

    # --- playback -----------------------------------------------------------------------------------

    def playback(self, video_id: str, ttl: int | None = None) -> dict:
        """GET /api/videos/{id}/playback (signed master, per-quality URLs, poster, thumbnails)."""
        return self.request("GET", f"/api/videos/{video_id}/playback", params={"ttl": ttl} if ttl else None)


def env_base_url() -> str:
    """The edge URL from ``REELHOUSE_EDGE_BASE_URL`` (default http://127.0.0.1:8080)."""
    return os.environ.get("REELHOUSE_EDGE_BASE_URL", "http://127.0.0.1:8080")
