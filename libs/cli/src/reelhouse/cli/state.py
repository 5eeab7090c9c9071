"""Resume state of ``reelhouse upload`` (docs/cli.md, "Resuming an upload").

One small JSON file, ``uploads.json`` in the configuration directory, maps a file to the video and
upload session it is being uploaded into, so that running the same command again after Ctrl-C, a kill
or a lost connection continues that session: the upload service lists the parts S3 already holds
(``GET /api/uploads/{id}``, docs/api.md "Upload sessions") and only the missing ones are sent.

A file is identified by its resolved path, size (bytes) and modification time (ns): a file that was
changed since is a different file and starts a new upload. Entries are keyed by the API base URL too
(one file may go to two stacks). Writes are atomic (temporary file + rename, mode 0600) under an
exclusive ``fcntl`` lock, so two CLI processes uploading different files never lose each other's entry.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from reelhouse.cli.config import config_dir, write_private

STATE_FILE = "uploads.json"


@dataclass(frozen=True)
class FileIdentity:
    """What makes a local file "the same file": ``path`` (resolved), ``size`` (bytes), ``mtime_ns``."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        """Identity of an existing file (raises OSError when it cannot be read)."""
        st = path.stat()
        return cls(str(path.resolve()), st.st_size, st.st_mtime_ns)

    def key(self, api_url: str) -> str:
        """The state file's key for this file uploaded to ``api_url`` (a SHA-256 hex digest)."""
        return hashlib.sha256(f"{api_url.rstrip('/')}\n{self.path}\n{self.size}\n{self.mtime_ns}".encode()).hexdigest()


@dataclass
class UploadEntry:
    """One file's upload in progress: the ``video_id`` created for it, its ``session_id`` (None until the
    session exists), the file's ``path``/``size`` for people reading the file, ``updated_at`` (unix s)."""

    video_id: str
    session_id: str | None
    path: str
    size: int
    updated_at: float = 0.0


class UploadState:
    """The resume state file (default: ``uploads.json`` in :func:`config_dir`)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / STATE_FILE

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = self._read()
            before = json.dumps(data, sort_keys=True)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                write_private(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")
        finally:
            os.close(fd)

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, ident: FileIdentity, api_url: str) -> UploadEntry | None:
        """The entry of this file at this API, or None."""
        raw = self._read().get(ident.key(api_url))
        if not isinstance(raw, dict):
            return None
        try:
            return UploadEntry(**raw)
        except TypeError:
            return None

    def put(self, ident: FileIdentity, api_url: str, entry: UploadEntry) -> None:
        """Store (or replace) the entry of this file at this API."""
        entry.updated_at = time.time()
        with self._locked() as data:
            data[ident.key(api_url)] = asdict(entry)

    def remove(self, ident: FileIdentity, api_url: str) -> None:
        """Forget this file's entry (after the upload completed, or when its session cannot go on)."""
        with self._locked() as data:
            data.pop(ident.key(api_url), None)

    def entries(self) -> list[UploadEntry]:
        """Every entry (for ``reelhouse upload --list-pending`` and tests)."""
        out = []
        for raw in self._read().values():
            with contextlib.suppress(TypeError):
                out.append(UploadEntry(**raw))
        return out
