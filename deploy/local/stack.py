"""The local stack (DESIGN.md section 6): every Reelhouse process on one machine, no cluster.

    python deploy/local/stack.py up      # foreground; Ctrl-C stops everything
    python deploy/local/stack.py wait    # block until every process answers (used by demo and e2e)

``up`` prepares (creates the five databases and runs their Alembic migrations, renders the nginx edge
config), writes a Procfile and hands it to honcho, which runs and supervises: the S3-compatible
server (moto), gallery, upload, streaming, chat (each with its outbox relay and consumer), N
transcoder workers (competing consumers, default 2), chat replicas (default 2) and the nginx edge. PostgreSQL and RabbitMQ are
used where the settings point (defaults: the local servers).

Configuration (environment): the services' ``REELHOUSE_*`` settings, plus
``REELHOUSE_STACK_PORT_BASE`` (default 8100: gallery +1, upload +2, transcoders +3, +13.., streaming +4,
chat replicas +5, +15), ``REELHOUSE_STACK_EDGE_PORT`` (8080), ``REELHOUSE_STACK_S3_PORT`` (9000),
``REELHOUSE_STACK_WORKERS`` (2), ``REELHOUSE_STACK_CHAT_REPLICAS`` (2), ``REELHOUSE_STACK_RUN_DIR`` (``.run`` in the repository).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from render import render_template  # noqa: E402

NJS_CANDIDATES = ("/usr/lib/nginx/modules/ngx_http_js_module.so", "/usr/share/nginx/modules/ngx_http_js_module.so")


@dataclass(frozen=True)
class StackConfig:
    """Ports and paths of one local stack."""

    run_dir: Path
    edge_port: int
    s3_port: int
    port_base: int
    workers: int
    chat_replicas: int = 2

    @classmethod
    def from_env(cls) -> StackConfig:
        env = os.environ
        return cls(
            run_dir=Path(env.get("REELHOUSE_STACK_RUN_DIR", ROOT / ".run")).resolve(),
            edge_port=int(env.get("REELHOUSE_STACK_EDGE_PORT", 8080)),
            s3_port=int(env.get("REELHOUSE_STACK_S3_PORT", 9000)),
            port_base=int(env.get("REELHOUSE_STACK_PORT_BASE", 8100)),
            workers=int(env.get("REELHOUSE_STACK_WORKERS", 2)),
            chat_replicas=max(1, int(env.get("REELHOUSE_STACK_CHAT_REPLICAS", 2))),
        )

    def service_ports(self) -> dict[str, int]:
        """HTTP port of every service process (transcoder workers: ``transcoder-1``, ``transcoder-2``...)."""
        ports = {"gallery": self.port_base + 1, "upload": self.port_base + 2, "streaming": self.port_base + 4}
        for i in range(self.chat_replicas):
            ports["chat" if i == 0 else f"chat-{i + 1}"] = self.port_base + 5 + 10 * i
        for i in range(self.workers):
            ports[f"transcoder-{i + 1}"] = self.port_base + 3 + 10 * i
        return ports

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.edge_port}"


def base_env(cfg: StackConfig) -> dict[str, str]:
    """Environment every process gets: S3 endpoint and edge URL of this stack, unless already set."""
    env = dict(os.environ)
    env.setdefault("REELHOUSE_S3_ENDPOINT_URL", cfg.s3_url)
    env.setdefault("REELHOUSE_EDGE_BASE_URL", cfg.edge_url)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def prepare_databases(env: dict[str, str]) -> None:
    """Create each service database if needed and run its migrations (sequentially, before anything
    starts, so parallel workers never race on a migration)."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("REELHOUSE_")})
    from reelhouse.chat.main import build_service as chat
    from reelhouse.gallery.main import build_service as gallery
    from reelhouse.streaming.main import build_service as streaming
    from reelhouse.transcoder.main import build_service as transcoder
    from reelhouse.upload.main import build_service as upload

    for build in (gallery, upload, transcoder, streaming, chat):
        defn = build(None)
        defn.prepare_database()
        print(f"stack: database {defn.database_url.rsplit('/', 1)[-1]} migrated", flush=True)


def render_edge(cfg: StackConfig, env: dict[str, str]) -> tuple[Path, Path]:
    """Render the nginx edge config into ``<run_dir>/edge``; returns (prefix, conf path)."""
    from reelhouse.platform.settings import PlatformSettings

    settings = PlatformSettings(**{})  # reads REELHOUSE_* from os.environ (set by prepare_databases)
    njs = next((p for p in NJS_CANDIDATES if Path(p).exists()), None)
    if njs is None:
        raise SystemExit("nginx njs module not found: install libnginx-mod-http-js (make setup)")
    prefix = cfg.run_dir / "edge"
    prefix.mkdir(parents=True, exist_ok=True)
    web_root = ROOT / "deploy" / "local" / "web"
    web_root.mkdir(exist_ok=True)
    ports = cfg.service_ports()
    s3_hostport = env["REELHOUSE_S3_ENDPOINT_URL"].split("://", 1)[1].rstrip("/")
    conf = prefix / "nginx.conf"
    render_template(
        ROOT / "deploy" / "local" / "nginx" / "edge.conf.template",
        conf,
        {
            "NJS_MODULE_PATH": njs,
            "PREFIX": str(prefix),
            "EDGE_PORT": str(cfg.edge_port),
            "PLAYBACK_JS_PATH": str(ROOT / "deploy" / "local" / "nginx" / "playback.js"),
            "PLAYBACK_SIGNING_SECRET": settings.playback_signing_secret,
            "S3_ENDPOINT_HOSTPORT": s3_hostport,
            "S3_REGION": settings.s3_region,
            "S3_ACCESS_KEY": settings.s3_access_key,
            "S3_SECRET_KEY": settings.s3_secret_key,
            "MEDIA_BUCKET": settings.media_bucket,
            "GALLERY_UPSTREAM": f"127.0.0.1:{ports['gallery']}",
            "UPLOAD_UPSTREAM": f"127.0.0.1:{ports['upload']}",
            "STREAMING_UPSTREAM": f"127.0.0.1:{ports['streaming']}",
            "CHAT_UPSTREAM": f"127.0.0.1:{ports['chat']}",
            "CHAT_UPSTREAM_2": f"127.0.0.1:{ports.get('chat-2', ports['chat'])}",
            "WEB_ROOT": str(web_root),
        },
    )
    return prefix, conf


def procfile(cfg: StackConfig, prefix: Path, conf: Path) -> str:
    """The process list honcho runs (one line per process)."""
    bin_dir = Path(sys.executable).parent
    nginx_globals = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    lines = [f"s3: {shlex.quote(sys.executable)} -m moto.server -H 127.0.0.1 -p {cfg.s3_port}"]
    for name, port in cfg.service_ports().items():
        service = name.split("-")[0]
        worker = f" REELHOUSE_WORKER_NAME={name}" if service == "transcoder" else ""
        lines.append(f"{name}: env REELHOUSE_HTTP_PORT={port}{worker} {bin_dir / ('reelhouse-' + service)} serve")
    lines.append(f"edge: nginx -p {prefix} -c {conf} -g {shlex.quote(nginx_globals)}")
    return "\n".join(lines) + "\n"


def up(cfg: StackConfig) -> None:
    """Prepare and run the stack in the foreground (replaces this process with honcho)."""
    if shutil.which("nginx") is None:
        raise SystemExit("nginx not found: run 'make setup' (installs nginx, libnginx-mod-http-js, ffmpeg)")
    env = base_env(cfg)
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    prepare_databases(env)
    prefix, conf = render_edge(cfg, env)
    proc = cfg.run_dir / "Procfile"
    proc.write_text(procfile(cfg, prefix, conf))
    print(f"stack: edge on {cfg.edge_url}, S3 on {cfg.s3_url}; Ctrl-C stops everything", flush=True)
    honcho = Path(sys.executable).parent / "honcho"
    os.execve(str(honcho), [str(honcho), "-f", str(proc), "-d", str(ROOT), "start"], env)


def wait(cfg: StackConfig, timeout: float) -> bool:
    """Wait until the edge and every service report ready; prints what is missing on timeout."""
    targets = {"edge": f"{cfg.edge_url}/healthz"}
    targets.update({name: f"http://127.0.0.1:{port}/readyz" for name, port in cfg.service_ports().items()})
    deadline = time.monotonic() + timeout
    pending = dict(targets)
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        if pending:
            time.sleep(0.5)
    if pending:
        print(f"stack: not ready after {timeout:.0f}s: {', '.join(sorted(pending))}", file=sys.stderr)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up", help="run the whole stack in the foreground")
    w = sub.add_parser("wait", help="wait until every process is ready")
    w.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    cfg = StackConfig.from_env()
    if args.cmd == "up":
        up(cfg)
        return 0
    return 0 if wait(cfg, args.timeout) else 1


if __name__ == "__main__":
    raise SystemExit(main())
