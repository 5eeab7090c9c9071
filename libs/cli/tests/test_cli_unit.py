"""Unit tests of the ``reelhouse`` CLI: argument handling (Typer's CliRunner), the sign-in file and the
resume state file (docs/cli.md). The commands against a real stack are in tests/e2e/test_cli.py."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reelhouse.cli.config import DEFAULT_API_URL, Config, edge_url, resolve_api_url, write_private
from reelhouse.cli.main import app, describe_problem
from reelhouse.cli.state import FileIdentity, UploadEntry, UploadState
from reelhouse.cli.uploader import FileUpload
from reelhouse.client import ApiError

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config dir and no ambient API URL or token."""
    home = tmp_path / "cfg"
    monkeypatch.setenv("REELHOUSE_CONFIG_DIR", str(home))
    monkeypatch.delenv("REELHOUSE_API_URL", raising=False)
    monkeypatch.delenv("REELHOUSE_TOKEN", raising=False)
    return home


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- configuration -----------------------------------------------------------------------------------


def test_config_file_is_private_even_when_it_existed_readable(config_home: Path) -> None:
    config_home.mkdir()
    (config_home / "config.json").write_text("{}")
    os.chmod(config_home / "config.json", 0o644)
    path = Config(api_url="http://h/api", token="secret", user_id="alice").save()
    assert _mode(path) == 0o600
    assert json.loads(path.read_text()) == {"apiUrl": "http://h/api", "token": "secret", "userId": "alice"}
    assert Config.load().token == "secret"


def test_new_config_dir_is_private(config_home: Path) -> None:
    write_private(config_home / "x.json", "{}")
    assert _mode(config_home) == 0o700
    assert _mode(config_home / "x.json") == 0o600


def test_api_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = Config(api_url="http://stored:1/api")
    assert resolve_api_url(None, Config()) == DEFAULT_API_URL
    assert resolve_api_url(None, stored) == "http://stored:1/api"
    monkeypatch.setenv("REELHOUSE_API_URL", "http://env:2/api/")
    assert resolve_api_url(None, stored) == "http://env:2/api"
    assert resolve_api_url("http://opt:3/api", stored) == "http://opt:3/api"


def test_edge_url_strips_only_the_api_suffix() -> None:
    assert edge_url("http://127.0.0.1:8080/api") == "http://127.0.0.1:8080"
    assert edge_url("https://example.org/reelhouse/api/") == "https://example.org/reelhouse"
    assert edge_url("http://h:1") == "http://h:1"


# --- argument handling -------------------------------------------------------------------------------


def test_commands_need_a_sign_in(runner: CliRunner) -> None:
    result = runner.invoke(app, ["videos", "ls"])
    assert result.exit_code == 1
    assert "not signed in" in result.output and "reelhouse login" in result.output


def test_upload_refuses_a_missing_file_and_bad_parallelism(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["upload"]).exit_code == 2
    missing = runner.invoke(app, ["upload", str(tmp_path / "nope.mp4")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"x")
    assert runner.invoke(app, ["upload", str(clip), "--parallel", "0"]).exit_code == 2
    assert runner.invoke(app, ["upload", str(tmp_path)]).exit_code == 2  # a directory


def test_login_refuses_token_and_dev_together(runner: CliRunner) -> None:
    result = runner.invoke(app, ["login", "--token", "t", "--dev", "alice"])
    assert result.exit_code == 2
    assert "not both" in result.output


def test_login_with_an_unreachable_api_stores_nothing(runner: CliRunner, config_home: Path) -> None:
    api = f"http://127.0.0.1:{_closed_port()}/api"
    result = runner.invoke(app, ["login", "--api", api], input="some.jwt.token\n")
    assert result.exit_code == 1
    assert "cannot reach" in result.output
    assert not (config_home / "config.json").exists()


def test_an_unreachable_api_is_an_error_in_words(runner: CliRunner) -> None:
    api = f"http://127.0.0.1:{_closed_port()}/api"
    result = runner.invoke(app, ["videos", "show", "x", "--api", api], env={"REELHOUSE_TOKEN": "t"})
    assert result.exit_code == 1
    assert "cannot reach" in result.output and "Traceback" not in result.output


def test_problem_json_is_described_with_its_code() -> None:
    exc = ApiError(404, {"type": "about:blank", "title": "Video not found", "status": 404, "code": "VIDEO_NOT_FOUND", "detail": "no video 42"})
    assert describe_problem(exc) == "Video not found: no video 42 (VIDEO_NOT_FOUND, HTTP 404)"
    assert describe_problem(ApiError(502, {"title": "Bad Gateway"})) == "Bad Gateway (NO_CODE, HTTP 502)"


def test_every_listing_and_show_command_takes_json(runner: CliRunner) -> None:
    for cmd in (["videos", "ls"], ["videos", "show"], ["videos", "retry"], ["watch"], ["upload"], ["live", "ls"], ["live", "show"], ["live", "create"], ["live", "key"], ["live", "start"], ["live", "stop"], ["chat", "tail"]):
        result = runner.invoke(app, [*cmd, "--help"])
        assert result.exit_code == 0, cmd
        assert "--json" in result.output, cmd


# --- resume state ------------------------------------------------------------------------------------


def test_a_changed_file_is_a_different_upload(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"a" * 10)
    state = UploadState(tmp_path / "uploads.json")
    ident = FileIdentity.of(clip)
    state.put(ident, "http://h/api", UploadEntry("v1", "s1", ident.path, ident.size))
    assert state.get(FileIdentity.of(clip), "http://h/api").session_id == "s1"
    assert state.get(ident, "http://other/api") is None  # keyed by API too
    os.utime(clip, ns=(ident.mtime_ns + 10**9, ident.mtime_ns + 10**9))
    assert state.get(FileIdentity.of(clip), "http://h/api") is None  # touched: new upload
    clip.write_bytes(b"a" * 11)
    assert state.get(FileIdentity.of(clip), "http://h/api") is None  # grew: new upload
    assert _mode(tmp_path / "uploads.json") == 0o600


def test_removing_an_entry_keeps_the_others(tmp_path: Path) -> None:
    state = UploadState(tmp_path / "uploads.json")
    a, b = FileIdentity("/a", 1, 1), FileIdentity("/b", 2, 2)
    state.put(a, "u", UploadEntry("va", "sa", "/a", 1))
    state.put(b, "u", UploadEntry("vb", "sb", "/b", 2))
    state.remove(a, "u")
    assert state.get(a, "u") is None
    assert state.get(b, "u").video_id == "vb"


def test_a_corrupt_state_file_is_read_as_empty(tmp_path: Path) -> None:
    (tmp_path / "uploads.json").write_text("{not json")
    state = UploadState(tmp_path / "uploads.json")
    assert state.get(FileIdentity("/a", 1, 1), "u") is None
    state.put(FileIdentity("/a", 1, 1), "u", UploadEntry("v", "s", "/a", 1))
    assert state.get(FileIdentity("/a", 1, 1), "u").session_id == "s"


def _put_many(path: str, worker: int) -> None:
    state = UploadState(Path(path))
    for i in range(20):
        ident = FileIdentity(f"/w{worker}/{i}", i, i)
        state.put(ident, "u", UploadEntry(f"v{worker}-{i}", None, ident.path, i))


def test_concurrent_cli_processes_lose_no_entry(tmp_path: Path) -> None:
    path = str(tmp_path / "uploads.json")
    procs = [multiprocessing.get_context("fork").Process(target=_put_many, args=(path, w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert len(UploadState(Path(path)).entries()) == 60


def test_part_plan_of_a_resumed_file(tmp_path: Path) -> None:
    ident = FileIdentity("/f", 12 * 1024 * 1024 + 5, 0)
    up = FileUpload(Path("/f"), ident, "v", {"uploadSessionId": "s", "partSizeBytes": 5 * 1024 * 1024}, stored={1: "e1", 3: "e3"})
    assert up.total_parts == 3
    assert up.missing() == [2]
    assert up.part_bytes(3) == 2 * 1024 * 1024 + 5
    assert up.stored_bytes == 5 * 1024 * 1024 + 2 * 1024 * 1024 + 5
