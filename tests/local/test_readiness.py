"""`make up` says "ready" only when every process answers its readiness check (issue 11, item 3).

Small HTTP servers stand in for the stack's processes on the ports a StackConfig names, so the rule of
``stack.wait`` is checked in a second, without starting the stack (tests/e2e/test_stack_lifecycle.py
starts the real one)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from stack import StackConfig, object_store_command, readiness_targets, wait  # noqa: E402

pytestmark = pytest.mark.unit


class _Process(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _bind_all(ports: list[int]) -> list[ThreadingHTTPServer] | None:
    servers: list[ThreadingHTTPServer] = []
    try:
        for port in ports:
            srv = ThreadingHTTPServer(("127.0.0.1", port), _Process)
            srv.status = 200  # type: ignore[attr-defined]
            servers.append(srv)
    except OSError:
        for srv in servers:
            srv.server_close()
        return None
    return servers


@pytest.fixture
def fake_stack(tmp_path: Path) -> Iterator[tuple[StackConfig, dict[str, ThreadingHTTPServer]]]:
    """A StackConfig (1 worker, 1 chat replica) whose every readiness port is served by a fake process."""
    for base in range(47100, 47900, 40):
        cfg = StackConfig(run_dir=tmp_path, edge_port=base + 30, s3_port=base + 31, port_base=base, workers=1, chat_replicas=1)
        ports = {name: int(url.split(":")[2].split("/")[0]) for name, url in readiness_targets(cfg).items()}
        servers = _bind_all(list(ports.values()))
        if servers is not None:
            break
    else:
        pytest.skip("no free block of ports for the fake processes")
    by_name = dict(zip(ports, servers, strict=True))
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield cfg, by_name
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def test_every_process_has_a_readiness_check():
    cfg = StackConfig(run_dir=Path("/tmp"), edge_port=8080, s3_port=9000, port_base=8100, workers=2, chat_replicas=2)
    assert set(readiness_targets(cfg)) == {
        "edge", "ingest", "s3", "gallery", "upload", "streaming", "chat", "chat-2", "transcoder-1", "transcoder-2",
    }


def test_not_ready_while_one_process_does_not_answer_ready(fake_stack, capsys):
    cfg, processes = fake_stack
    processes["upload"].status = 503  # type: ignore[attr-defined]
    assert wait(cfg, timeout=1.5) is False
    assert "not ready after 2s: upload" in capsys.readouterr().err
    processes["upload"].status = 200  # type: ignore[attr-defined]
    assert wait(cfg, timeout=5) is True


def test_a_supervisor_that_exited_ends_the_wait_at_once(fake_stack):
    cfg, processes = fake_stack
    processes["s3"].status = 500  # type: ignore[attr-defined]
    assert wait(cfg, timeout=60, alive=lambda: False, quiet=True) is False


def test_the_object_store_keeps_its_data_in_the_run_folder(tmp_path):
    cfg = StackConfig(run_dir=tmp_path, edge_port=8080, s3_port=9000, port_base=8100, workers=1)
    argv = object_store_command(cfg)
    assert argv[1] == "server" and f"-dir={tmp_path / 's3'}" in argv and "-s3.port=9000" in argv
    config = next(a.split("=", 1)[1] for a in argv if a.startswith("-s3.config="))
    assert Path(config).parent == tmp_path
