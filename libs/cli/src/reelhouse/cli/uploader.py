"""Parallel, resumable uploads of local files (docs/cli.md, "upload"; docs/api.md, "Upload sessions").

For each file: find or create its video and upload session (:mod:`reelhouse.cli.state` remembers them
per file), ask the upload service which parts S3 already holds, then PUT only the missing parts to
presigned URLs from a pool of threads (bytes go straight to storage, never through a Reelhouse
service) and complete the session with every part's ETag. Progress is reported in bytes as they are
written to the socket (a part that fails is taken back), so a progress bar shows real speed.

Rules relied on (docs/api.md, "Upload sessions"): parts are ``partSizeBytes`` each (5 MiB unless the
file needs bigger ones), the last part the rest; a presigned URL signs ``Content-Length`` and expires
(``expiresAt``); ``POST /api/uploads/{id}/parts`` takes up to 100 ``partNumbers`` at once; a PAUSED
session is resumed with ``POST /api/uploads/{id}/resume``; COMPLETED, CANCELED and FAILED sessions do
not go on (a FAILED or CANCELED one makes the CLI start a new video).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from reelhouse.cli.state import FileIdentity, UploadEntry, UploadState
from reelhouse.client import ApiError, ReelhouseClient

CHUNK_BYTES = 1024 * 1024
"""Granularity of progress reports while a part is written (bytes)."""

MAX_URLS_PER_CALL = 100
"""``POST /api/uploads/{id}/parts`` accepts at most 100 ``partNumbers`` (upload service, PartRequest)."""

URL_SAFETY_SECONDS = 60
"""A presigned URL is fetched again when it expires within this many seconds."""

PART_ATTEMPTS = 6
"""Tries per part on transient failures (connection errors, storage 5xx/429, an expired URL)."""

OPEN = ("INITIATED", "IN_PROGRESS")


class Interrupted(Exception):
    """The upload was stopped (Ctrl-C, SIGTERM); what was stored is kept for the next run."""


class StorageError(Exception):
    """Storage refused a part PUT: ``status`` (HTTP) and the start of its answer in ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"storage answered HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass
class FileUpload:
    """One file being uploaded: its ``video_id``, ``session`` (the upload service's answer), the parts
    already stored (``stored``: number -> ETag) and whether this run ``resumed`` an earlier one."""

    path: Path
    ident: FileIdentity
    video_id: str
    session: dict
    stored: dict[int, str] = field(default_factory=dict)
    resumed: bool = False
    already_complete: bool = False

    @property
    def session_id(self) -> str:
        return self.session["uploadSessionId"]

    @property
    def part_size(self) -> int:
        return int(self.session["partSizeBytes"])

    @property
    def total_parts(self) -> int:
        return max(1, -(-self.ident.size // self.part_size))

    @property
    def stored_bytes(self) -> int:
        """Bytes S3 already holds for this file."""
        return sum(self.part_bytes(n) for n in self.stored)

    def part_bytes(self, n: int) -> int:
        """Size of part ``n`` (1-based) in bytes: ``partSizeBytes``, the last part the rest."""
        return min(self.part_size, self.ident.size - (n - 1) * self.part_size)

    def missing(self) -> list[int]:
        """Part numbers still to send, ascending."""
        return [n for n in range(1, self.total_parts + 1) if n not in self.stored]


@dataclass
class UploadOutcome:
    """What one file's upload did: ``parts_sent`` by this run, ``parts_reused`` (stored before it)."""

    path: str
    video_id: str
    session_id: str
    size_bytes: int
    total_parts: int
    parts_sent: list[int]
    parts_reused: list[int]
    resumed: bool
    seconds: float

    def as_json(self) -> dict:
        """camelCase, like the API."""
        return {
            "path": self.path,
            "videoId": self.video_id,
            "uploadSessionId": self.session_id,
            "sizeBytes": self.size_bytes,
            "totalParts": self.total_parts,
            "partsSent": self.parts_sent,
            "partsReused": self.parts_reused,
            "resumed": self.resumed,
            "seconds": round(self.seconds, 3),
        }


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, ApiError | StorageError):
        return exc.status >= 500 or exc.status in (403, 408, 429)  # 403: the presigned URL expired
    return False


class Uploader:
    """Uploads files through ``client`` with ``parallel`` part PUTs at once (threads).

    ``state`` remembers each file's video and session; ``api_url`` keys that state. ``stop`` (an Event)
    interrupts running uploads: parts being written are abandoned, stored ones stay for the next run.
    """

    def __init__(self, client: ReelhouseClient, api_url: str, state: UploadState, parallel: int = 4, stop: threading.Event | None = None) -> None:
        if parallel < 1:
            raise ValueError("parallel must be at least 1")
        self.client = client
        self.api_url = api_url
        self.state = state
        self.parallel = parallel
        self.stop = stop or threading.Event()
        self.storage = httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0), limits=httpx.Limits(max_connections=parallel * 2, max_keepalive_connections=parallel * 2))

    def close(self) -> None:
        """Close the storage connections."""
        self.storage.close()

    # --- finding or creating the session ----------------------------------------------------------

    def prepare(self, path: Path, title: str | None = None, public: bool = False) -> FileUpload:
        """The video and session for ``path``: the remembered ones when they can go on, else new ones.

        Raises :class:`ApiError` (problem+json) when the API refuses, OSError when the file is unreadable."""
        ident = FileIdentity.of(path)
        entry = self.state.get(ident, self.api_url)
        if entry is not None:
            found = self._continue(path, ident, entry)
            if found is not None:
                return found
            self.state.remove(ident, self.api_url)
        video = self.client.create_video(title or path.stem, path, visibility="public" if public else "private")
        entry = UploadEntry(video_id=video["id"], session_id=None, path=ident.path, size=ident.size)
        self.state.put(ident, self.api_url, entry)
        session = self.client.create_upload(video["id"])
        entry.session_id = session["uploadSessionId"]
        self.state.put(ident, self.api_url, entry)
        return FileUpload(path, ident, video["id"], session)

    def _continue(self, path: Path, ident: FileIdentity, entry: UploadEntry) -> FileUpload | None:
        """The remembered upload when it can go on (None: start anew)."""
        sid = entry.session_id
        try:
            if sid is None:  # killed between creating the video and its session
                try:
                    sid = self.client.create_upload(entry.video_id)["uploadSessionId"]
                except ApiError as exc:
                    if exc.code in ("UPLOAD_SESSION_EXISTS", "ALREADY_UPLOADED") and exc.body.get("uploadSessionId"):
                        sid = exc.body["uploadSessionId"]
                    else:
                        raise
                entry.session_id = sid
                self.state.put(ident, self.api_url, entry)
            session = self.client.get_upload(sid)
            if session["status"] == "PAUSED":
                self.client.request("POST", f"/api/uploads/{sid}/resume")
                session = self.client.get_upload(sid)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        if session["status"] == "COMPLETED":
            return FileUpload(path, ident, entry.video_id, session, resumed=True, already_complete=True)
        if session["status"] not in OPEN:
            return None  # FAILED or CANCELED: a new video and session
        up = FileUpload(path, ident, entry.video_id, session, resumed=True)
        up.stored = {int(p["partNumber"]): p["etag"] for p in session.get("parts", []) if int(p.get("sizeBytes", -1)) == up.part_bytes(int(p["partNumber"]))}
        return up

    # --- sending the parts ------------------------------------------------------------------------

    def send(self, up: FileUpload, on_bytes: Callable[[int], None] | None = None) -> UploadOutcome:
        """PUT the missing parts (``parallel`` at once), complete the session, forget the state entry.

        ``on_bytes(n)`` is called with bytes written (negative when a failed part is taken back); it
        may be called from several threads. Raises :class:`Interrupted` when ``stop`` is set,
        :class:`ApiError` / :class:`StorageError` when a part fails for good (after
        :data:`PART_ATTEMPTS` tries of transient failures)."""
        started = time.monotonic()
        reused = sorted(up.stored)
        if up.already_complete:
            self.state.remove(up.ident, self.api_url)
            return UploadOutcome(str(up.path), up.video_id, up.session_id, up.ident.size, up.total_parts, [], reused, up.resumed, 0.0)
        missing = up.missing()
        urls = _UrlBook(self.client, up.session_id, missing, batch=MAX_URLS_PER_CALL)
        sent: dict[int, str] = {}
        lock = threading.Lock()
        fd = os.open(up.path, os.O_RDONLY)
        try:
            pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="part")
            try:
                futures: dict[Future, int] = {pool.submit(self._send_part, up, fd, n, urls, on_bytes): n for n in missing}
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
                    for fut in done:
                        etag = fut.result()  # raises the part's final error
                        with lock:
                            sent[futures[fut]] = etag
                    if self.stop.is_set():
                        raise Interrupted(f"stopped with {len(up.stored) + len(sent)} of {up.total_parts} parts stored")
            except BaseException:
                self.stop.set()  # abandon parts being written; the pool's threads end at their next chunk
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
        finally:
            os.close(fd)
        parts = {**up.stored, **sent}
        self.client.complete_upload(up.session_id, parts)
        self.state.remove(up.ident, self.api_url)
        return UploadOutcome(str(up.path), up.video_id, up.session_id, up.ident.size, up.total_parts, sorted(sent), reused, up.resumed, time.monotonic() - started)

    def _send_part(self, up: FileUpload, fd: int, n: int, urls: _UrlBook, on_bytes: Callable[[int], None] | None) -> str:
        size = up.part_bytes(n)
        data = os.pread(fd, size, (n - 1) * up.part_size)
        if len(data) != size:
            raise OSError(f"{up.path} changed while uploading: part {n} has {len(data)} of {size} bytes")
        delay = 0.2
        for attempt in range(1, PART_ATTEMPTS + 1):
            if self.stop.is_set():
                raise Interrupted("stopped")
            written = [0]
            try:
                url = urls.url(n, fresh=attempt > 1)
                return self._put(url, data, written, on_bytes)
            except Exception as exc:
                if on_bytes and written[0]:
                    on_bytes(-written[0])
                if self.stop.is_set():
                    raise Interrupted("stopped") from exc
                if attempt == PART_ATTEMPTS or not _transient(exc):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def _put(self, url: str, data: bytes, written: list[int], on_bytes: Callable[[int], None] | None) -> str:
        stop = self.stop

        def body() -> Iterator[bytes]:
            view = memoryview(data)
            for start in range(0, len(data), CHUNK_BYTES):
                if stop.is_set():
                    raise Interrupted("stopped")
                chunk = view[start : start + CHUNK_BYTES]
                yield bytes(chunk)
                written[0] += len(chunk)
                if on_bytes:
                    on_bytes(len(chunk))

        r = self.storage.put(url, content=body(), headers={"Content-Length": str(len(data))})
        if r.status_code >= 400:
            raise StorageError(r.status_code, r.text[:300])
        return r.headers["etag"].strip('"')


class _UrlBook:
    """Presigned part URLs fetched ahead in batches (one API call for up to ``batch`` parts) and again
    when they are about to expire or a PUT failed with them."""

    def __init__(self, client: ReelhouseClient, session_id: str, order: list[int], batch: int) -> None:
        self.client = client
        self.session_id = session_id
        self.order = order
        self.index = {n: i for i, n in enumerate(order)}
        self.batch = max(1, batch)
        self.urls: dict[int, tuple[str, float]] = {}
        self.lock = threading.Lock()

    def url(self, n: int, fresh: bool = False) -> str:
        with self.lock:
            got = self.urls.get(n)
            if fresh or got is None or got[1] - URL_SAFETY_SECONDS < time.time():
                i = self.index[n]
                wanted = [n] + [m for m in self.order[i + 1 : i + self.batch * 2] if m not in self.urls][: self.batch - 1]
                answer = self.client.request("POST", f"/api/uploads/{self.session_id}/parts", json={"partNumbers": wanted})
                for p in answer["parts"]:
                    self.urls[int(p["partNumber"])] = (p["uploadUrl"], _unix(p.get("expiresAt")))
            return self.urls.pop(n)[0]


def _unix(iso: str | None) -> float:
    if not iso:
        return time.time() + 300
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
