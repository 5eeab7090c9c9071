"""Where the CLI keeps its sign-in and which API it talks to (docs/cli.md, "Sign-in and configuration").

The configuration directory is ``REELHOUSE_CONFIG_DIR`` when set, otherwise the user's configuration
directory for ``reelhouse`` as Click computes it (``$XDG_CONFIG_HOME/reelhouse``, else
``~/.config/reelhouse`` on Linux; ``~/Library/Application Support/reelhouse`` on macOS; ``%APPDATA%``
on Windows). It holds ``config.json`` (``{"apiUrl", "token", "userId"}``), written with 0600 permissions
in a 0700 directory because the token is a bearer credential (docs/security.md), and ``uploads.json``
(the resume state of :mod:`reelhouse.cli.state`).

API base URL, first found wins: the ``--api`` option, ``REELHOUSE_API_URL``, the stored ``apiUrl``,
:data:`DEFAULT_API_URL`. The token: ``REELHOUSE_TOKEN``, then the stored one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import typer

DEFAULT_API_URL = "http://127.0.0.1:8080/api"
"""The local stack's edge (README, "make up")."""

CONFIG_FILE = "config.json"


def config_dir() -> Path:
    """The CLI's configuration directory (not created here)."""
    override = os.environ.get("REELHOUSE_CONFIG_DIR")
    return Path(override) if override else Path(typer.get_app_dir("reelhouse"))


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600 (its directory created with 0700).

    The file is created under a temporary name with 0600 from the start (never readable by others, not
    even briefly) and renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)  # an existing file keeps its mode through O_CREAT: make sure
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass
class Config:
    """The stored sign-in: ``api_url`` (base URL ending in ``/api``), ``token`` (bearer JWT), ``user_id``."""

    api_url: str | None = None
    token: str | None = None
    user_id: str | None = None

    @classmethod
    def load(cls) -> Config:
        """The stored configuration (empty when there is none or it is unreadable)."""
        try:
            raw = json.loads((config_dir() / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        return cls(api_url=raw.get("apiUrl"), token=raw.get("token"), user_id=raw.get("userId"))

    def save(self) -> Path:
        """Write it (mode 0600); returns the file's path."""
        path = config_dir() / CONFIG_FILE
        body = {"apiUrl": self.api_url, "token": self.token, "userId": self.user_id}
        write_private(path, json.dumps({k: v for k, v in body.items() if v is not None}, indent=2) + "\n")
        return path


def resolve_api_url(option: str | None, config: Config) -> str:
    """The API base URL (``.../api``, no trailing slash): ``--api``, ``REELHOUSE_API_URL``, stored, default."""
    url = option or os.environ.get("REELHOUSE_API_URL") or config.api_url or DEFAULT_API_URL
    return url.rstrip("/")


def edge_url(api_url: str) -> str:
    """The edge root for an API base URL: ``http://h:8080/api`` -> ``http://h:8080`` (the REST paths of
    docs/api.md start with ``/api``, the chat WebSocket with ``/ws``, both under the same edge)."""
    api_url = api_url.rstrip("/")
    return api_url[: -len("/api")] if api_url.endswith("/api") else api_url


def resolve_token(config: Config) -> str | None:
    """``REELHOUSE_TOKEN``, else the stored token, else None."""
    return os.environ.get("REELHOUSE_TOKEN") or config.token
