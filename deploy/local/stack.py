"""The local stack (docs/architecture.md, "Local stack"): every Reelhouse process on one machine, no cluster.

    python deploy/local/stack.py up      # foreground; one "stack: ready" line once every process answers; Ctrl-C stops
    python deploy/local/stack.py start   # the same in the background (reuses a running stack); prints the URLs
    python deploy/local/stack.py down    # stop it (data kept)            -- make down
    python deploy/local/stack.py clean   # stop it and wipe its data      -- make clean
    python deploy/local/stack.py wait    # block until every process answers (used by e2e)

``up`` prepares (creates the five databases and runs their Alembic migrations, renders the nginx edge
config) and hands the process list to the supervisor (``supervisor.py``: restarts a process that exits,
with backoff, as Kubernetes would; current pids in ``<run dir>/pids.json``), which runs: the S3-compatible
store (SeaweedFS, data in ``<run dir>/s3``, kept across restarts; ports S3 port .. S3 port + 7), gallery, upload, streaming, chat (each with its outbox relay and consumer), N
transcoder workers (competing consumers, default 2), chat replicas (default 2), the nginx edge and the
nginx-rtmp live ingest (rtmp://127.0.0.1:1935/live/<stream key>; its HLS is written into the edge's
``live-hls`` directory, its control API listens on 127.0.0.1:<port base + 6>). PostgreSQL and RabbitMQ are
used where the settings point (defaults: the local servers).

Configuration (environment): the services' ``REELHOUSE_*`` settings, plus
``REELHOUSE_STACK_PORT_BASE`` (default 8100: gallery +1, upload +2, transcoders +3, +13.., streaming +4,
chat replicas +5, +15), ``REELHOUSE_STACK_EDGE_PORT`` (8080), ``REELHOUSE_STACK_S3_PORT`` (9000),
``REELHOUSE_STACK_WORKERS`` (2), ``REELHOUSE_STACK_CHAT_REPLICAS`` (2), ``REELHOUSE_STACK_RUN_DIR`` (``.run`` in the repository),
``REELHOUSE_STACK_RTMP_PORT`` (1935; the ingest's control port is the port base + 6),
``REELHOUSE_STACK_WEB_ROOT`` (the web app the edge serves at ``/``; default ``frontend/dist``),
``REELHOUSE_STACK_PROMETHEUS=1`` (also run Prometheus on the port base + 90, scraping every service and
loading the alert rules; docs/observability.md).
The stack runs in dev mode: ``REELHOUSE_DEV_TOKEN_ENDPOINT`` defaults to true (dev sign-in).
The edge's CORS allowlist and limits per client address are ``REELHOUSE_EDGE_*`` (``EdgeSettings``;
docs/settings.md, "The edge"); the limits default to :data:`LAPTOP_EDGE_LIMITS` here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from render import render_template  # noqa: E402

#: The nginx templates of the edge and the ingest, shared with the Kubernetes base (one copy).
NGINX_DIR = ROOT / "deploy" / "k8s" / "base" / "nginx"
NJS_CANDIDATES = ("/usr/lib/nginx/modules/ngx_http_js_module.so", "/usr/share/nginx/modules/ngx_http_js_module.so")
RTMP_CANDIDATES = ("/usr/lib/nginx/modules/ngx_rtmp_module.so", "/usr/share/nginx/modules/ngx_rtmp_module.so")


#: The laptop stack's edge limits (EdgeSettings' defaults are the Kubernetes base's).
LAPTOP_EDGE_LIMITS = {
    "REELHOUSE_EDGE_API_RATE_PER_SECOND": "500",
    "REELHOUSE_EDGE_API_BURST": "1000",
    "REELHOUSE_EDGE_API_CONNECTIONS_PER_ADDRESS": "512",
    "REELHOUSE_EDGE_WS_CONNECTIONS_PER_ADDRESS": "4096",
}


@dataclass(frozen=True)
class StackConfig:
    """Ports and paths of one local stack."""

    run_dir: Path
    edge_port: int
    s3_port: int
    port_base: int
    workers: int
    chat_replicas: int = 2
    rtmp_port: int = 1935

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
            rtmp_port=int(env.get("REELHOUSE_STACK_RTMP_PORT", 1935)),
        )

    @property
    def prometheus_port(self) -> int:
        """Loopback port of the opt-in Prometheus (``REELHOUSE_STACK_PROMETHEUS=1``): the port base + 90."""
        return self.port_base + 90

    @property
    def edge_metrics_port(self) -> int:
        """Loopback port of the opt-in edge exporter (with Prometheus): the port base + 91."""
        return self.port_base + 91

    @property
    def rtmp_control_port(self) -> int:
        """Loopback HTTP port of the ingest's rtmp_control (and /healthz)."""
        return self.port_base + 6

    def service_ports(self) -> dict[str, int]:
        """HTTP port of every service process (transcoder workers: ``transcoder-1``, ``transcoder-2``...)."""
        ports = {"gallery": self.port_base + 1, "upload": self.port_base + 2, "streaming": self.port_base + 4}
        for i in range(self.chat_replicas):
            ports["chat" if i == 0 else f"chat-{i + 1}"] = self.port_base + 5 + 10 * i
        for i in range(self.workers):
            ports[f"transcoder-{i + 1}"] = self.port_base + 3 + 10 * i
        return ports

    @property
    def pid_file(self) -> Path:
        """Where the running ``stack.py up`` records its pid."""
        return self.run_dir / "stack.pid"

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.edge_port}"


def base_env(cfg: StackConfig) -> dict[str, str]:
    """Environment every process gets: S3 endpoint and edge URL of this stack, unless already set."""
    env = dict(os.environ)
    env.setdefault("REELHOUSE_ENV", "dev")  # the laptop stack runs on the published development secrets
    env.setdefault("REELHOUSE_S3_ENDPOINT_URL", cfg.s3_url)
    env.setdefault("REELHOUSE_EDGE_BASE_URL", cfg.edge_url)
    env.setdefault("REELHOUSE_RTMP_INGEST_URL", f"rtmp://127.0.0.1:{cfg.rtmp_port}/live")
    env.setdefault("REELHOUSE_RTMP_CONTROL_URL", f"http://127.0.0.1:{cfg.rtmp_control_port}/control")
    env.setdefault("REELHOUSE_RTMP_RECORD_DIR", str(cfg.run_dir / "ingest" / "recordings"))  # render_ingest's
    # The local stack is a dev stack: the gallery mounts the dev sign-in endpoint (POST /api/dev/token)
    # the web app's sign-in page uses. Nothing else sets this (it defaults to off).
    env.setdefault("REELHOUSE_DEV_TOKEN_ENDPOINT", "true")
    # Edge limits per client address (docs/security.md, "Edge limits"): on a laptop every browser tab,
    # test and benchmark comes from 127.0.0.1, so the stack allows far more than the Kubernetes base.
    for name, value in LAPTOP_EDGE_LIMITS.items():
        env.setdefault(name, value)
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


def web_root_dir() -> Path:
    """The static web app the edge serves at ``/``: ``REELHOUSE_STACK_WEB_ROOT`` if set, else the built
    app in ``frontend/dist`` (``make web``; created empty when not built yet, so the edge still starts)."""
    root = Path(os.environ.get("REELHOUSE_STACK_WEB_ROOT") or ROOT / "frontend" / "dist")
    root.mkdir(parents=True, exist_ok=True)
    return root


def render_edge(cfg: StackConfig, env: dict[str, str]) -> tuple[Path, Path]:
    """Render the nginx edge config into ``<run_dir>/edge``; returns (prefix, conf path)."""
    from reelhouse.platform.settings import EdgeSettings, PlatformSettings

    settings = PlatformSettings(**{})  # reads REELHOUSE_* from os.environ (set by prepare_databases)
    # CORS allowlist and limits from this stack's environment (unknown REELHOUSE_EDGE_* names are ignored)
    edge = EdgeSettings(**{k.removeprefix("REELHOUSE_EDGE_").lower(): v for k, v in env.items() if k.startswith("REELHOUSE_EDGE_")})
    njs = next((p for p in NJS_CANDIDATES if Path(p).exists()), None)
    if njs is None:
        raise SystemExit("nginx njs module not found: install libnginx-mod-http-js (make setup)")
    prefix = cfg.run_dir / "edge"
    prefix.mkdir(parents=True, exist_ok=True)
    web_root = web_root_dir()
    ports = cfg.service_ports()
    s3_hostport = env["REELHOUSE_S3_ENDPOINT_URL"].split("://", 1)[1].rstrip("/")
    conf = prefix / "nginx.conf"
    render_template(
        ROOT / "deploy" / "k8s" / "base" / "nginx" / "edge.conf.template",
        conf,
        {
            "NJS_MODULE_PATH": njs,
            "PREFIX": str(prefix),
            "EDGE_PORT": str(cfg.edge_port),
            "PLAYBACK_JS_PATH": str(ROOT / "deploy" / "k8s" / "base" / "nginx" / "playback.js"),
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
            "EDGE_FILES_DIR": str(NGINX_DIR),
            **edge.template_values(),
        },
    )
    return prefix, conf


def render_ingest(cfg: StackConfig, edge_prefix: Path) -> tuple[Path, Path]:
    """Render the nginx-rtmp ingest config into ``<run_dir>/ingest``; returns (prefix, conf path).

    HLS goes to ``<edge prefix>/live-hls`` (the edge serves it under signed ``live/<id>`` URLs),
    recordings to ``<run_dir>/ingest/recordings`` (the streaming service remuxes and uploads them)."""
    from reelhouse.streaming.settings import StreamingSettings

    settings = StreamingSettings()
    module = next((p for p in RTMP_CANDIDATES if Path(p).exists()), None)
    if module is None:
        raise SystemExit("nginx rtmp module not found: install libnginx-mod-rtmp (make setup)")
    prefix = cfg.run_dir / "ingest"
    hls = edge_prefix / "live-hls"
    recordings = Path(os.environ.get("REELHOUSE_RTMP_RECORD_DIR") or prefix / "recordings")
    for d in (prefix, hls, recordings):
        d.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    render_template(
        ROOT / "deploy" / "k8s" / "base" / "nginx" / "rtmp.conf.template",
        conf,
        {
            "RTMP_MODULE_PATH": module,
            "PREFIX": str(prefix),
            "RTMP_BIND": "127.0.0.1",
            "RTMP_PORT": str(cfg.rtmp_port),
            "CONTROL_PORT": str(cfg.rtmp_control_port),
            "HLS_PATH": str(hls),
            "RECORD_PATH": str(recordings),
            "HLS_FRAGMENT": "1s",
            "HLS_PLAYLIST_LENGTH": "6s",
            "CALLBACK_BASE": f"http://127.0.0.1:{cfg.service_ports()['streaming']}/internal/rtmp",
            "CALLBACK_QUERY": f"?t={settings.rtmp_callback_token}",
        },
    )
    return prefix, conf


def object_store_command(cfg: StackConfig) -> list[str]:
    """argv of the stack's S3-compatible store: SeaweedFS (``reelhouse.platform.seaweed``) on
    ``cfg.s3_port`` (and the seven ports after it), its data in ``<run_dir>/s3`` so objects survive
    restarts, accepting the S3 keys the services are configured with."""
    from reelhouse.platform import seaweed
    from reelhouse.platform.settings import PlatformSettings

    settings = PlatformSettings()
    identities = seaweed.write_identities(cfg.run_dir / "s3.json", settings.s3_access_key, settings.s3_secret_key)
    return seaweed.server_command(cfg.run_dir / "s3", cfg.s3_port, identities)


def prometheus_wanted() -> bool:
    """Whether the stack also runs Prometheus (``REELHOUSE_STACK_PROMETHEUS=1``; off by default)."""
    return os.environ.get("REELHOUSE_STACK_PROMETHEUS", "").strip().lower() in ("1", "true", "yes", "on")


def render_prometheus(cfg: StackConfig) -> Path:
    """Write ``<run_dir>/prometheus/prometheus.yml``: scrape every service process's ``/metrics`` every
    5 s (label ``process`` = its name in the stack) and the edge exporter (``reelhouse-admin
    edge-metrics`` on the edge's access log, process ``edge``), and load the alert rules of
    ``deploy/observability/rules.yml`` (docs/observability.md). Returns the file's path."""
    import yaml

    folder = cfg.run_dir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": "5s", "evaluation_interval": "15s"},
        "rule_files": [str(ROOT / "deploy" / "observability" / "rules.yml")],
        "scrape_configs": [
            {
                "job_name": "reelhouse",
                "metrics_path": "/metrics/",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"], "labels": {"process": name}} for name, port in cfg.service_ports().items()
                ],
            },
            {
                "job_name": "reelhouse-edge",
                "static_configs": [{"targets": [f"127.0.0.1:{cfg.edge_metrics_port}"], "labels": {"process": "edge"}}],
            },
        ],
    }
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def programs(cfg: StackConfig, prefix: Path, conf: Path, ingest: tuple[Path, Path] | None = None) -> list[tuple[str, list[str], dict[str, str]]]:
    """The processes of the stack: ``(name, argv, extra environment)`` each, in start order (Prometheus
    last, only when :func:`prometheus_wanted`)."""
    bin_dir = Path(sys.executable).parent
    nginx_globals = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    out: list[tuple[str, list[str], dict[str, str]]] = [("s3", object_store_command(cfg), {})]
    for name, port in cfg.service_ports().items():
        service = name.split("-")[0]
        extra = {"REELHOUSE_HTTP_PORT": str(port)}
        if service == "transcoder":
            extra["REELHOUSE_WORKER_NAME"] = name
        out.append((name, [str(bin_dir / f"reelhouse-{service}"), "serve"], extra))
    out.append(("edge", ["nginx", "-p", str(prefix), "-c", str(conf), "-g", nginx_globals], {}))
    if ingest is not None:
        out.append(("ingest", ["nginx", "-p", str(ingest[0]), "-c", str(ingest[1]), "-g", nginx_globals], {}))
    if prometheus_wanted():
        config = render_prometheus(cfg)
        out.append((
            "edge-metrics",
            [str(bin_dir / "reelhouse-admin"), "edge-metrics", "--log", str(prefix / "access.log"),
             "--port", str(cfg.edge_metrics_port), "--host", "127.0.0.1"],
            {},
        ))  # fmt: skip
        out.append((
            "prometheus",
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={config.parent / 'data'}",
             f"--web.listen-address=127.0.0.1:{cfg.prometheus_port}", "--storage.tsdb.retention.time=2d"],
            {},
        ))  # fmt: skip
    return out


def up(cfg: StackConfig) -> int:
    """Prepare and run the stack in the foreground until SIGINT/SIGTERM (Ctrl-C).

    The supervisor (``deploy/local/supervisor.py``) runs the processes and restarts one that exits,
    with backoff, as Kubernetes would (docs/reliability.md); it records every process's pid in
    ``<run_dir>/pids.json``. This process waits until every one answers its readiness check
    (:func:`wait`) and only then prints one ``stack: ready`` line with the URLs. It records its own pid
    in ``<run_dir>/stack.pid`` (so ``stack.py down`` finds it); SIGINT/SIGTERM stop every process.
    Returns 0 once stopped."""
    import signal
    import threading

    from supervisor import Program, Supervisor

    if shutil.which("nginx") is None:
        raise SystemExit("nginx not found: run 'make setup' (installs nginx, libnginx-mod-http-js, ffmpeg)")
    env = base_env(cfg)
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    prepare_databases(env)
    prefix, conf = render_edge(cfg, env)
    ingest = render_ingest(cfg, prefix)
    print(f"stack: starting; edge {cfg.edge_url}, S3 {cfg.s3_url}, RTMP rtmp://127.0.0.1:{cfg.rtmp_port}/live", flush=True)
    sup = Supervisor(
        [Program(name, argv, {**env, **extra}) for name, argv, extra in programs(cfg, prefix, conf, ingest)],
        cwd=ROOT,
        pid_file=cfg.run_dir / "pids.json",
        backoff_base=float(os.environ.get("REELHOUSE_STACK_RESTART_BACKOFF_SECONDS", 1.0)),
        backoff_max=float(os.environ.get("REELHOUSE_STACK_RESTART_BACKOFF_MAX_SECONDS", 30.0)),
        # below the 30 s that `down` and IsolatedStack wait before killing the supervisor itself
        stop_grace=float(os.environ.get("REELHOUSE_STACK_STOP_GRACE_SECONDS", 20.0)),
    )

    def on_signal(signum: int, frame: object) -> None:  # noqa: ARG001
        sup.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    cfg.pid_file.write_text(f"{os.getpid()}\n")
    runner = threading.Thread(target=sup.run, name="supervisor")
    runner.start()
    try:
        if wait(cfg, float(os.environ.get("REELHOUSE_STACK_READY_TIMEOUT", 300)), alive=runner.is_alive):
            sup.log(f"ready: {ready_summary(cfg, foreground=True)}")
        while runner.is_alive():
            runner.join(0.5)
        return 0
    finally:
        sup.stop()
        runner.join()
        if cfg.pid_file.exists() and cfg.pid_file.read_text().strip() == str(os.getpid()):
            cfg.pid_file.unlink()


def ready_summary(cfg: StackConfig, foreground: bool = False) -> str:
    """The URLs a user needs, on one line: web app, API, S3, RTMP ingest, and how to stop."""
    how = "Ctrl-C or 'make down' stops it" if foreground else "'make down' stops it"
    prometheus = f" | Prometheus http://127.0.0.1:{cfg.prometheus_port}/" if prometheus_wanted() else ""
    return f"web {cfg.edge_url}/ | API {cfg.edge_url}/api/ | S3 {cfg.s3_url} | RTMP rtmp://127.0.0.1:{cfg.rtmp_port}/live{prometheus} | {how}"


def readiness_targets(cfg: StackConfig) -> dict[str, str]:
    """Readiness URL of every process: the services' ``/readyz`` (database and broker reachable), the
    edge's and the ingest's ``/healthz``, and the S3 server's health endpoint."""
    targets = {
        "edge": f"{cfg.edge_url}/healthz",
        "ingest": f"http://127.0.0.1:{cfg.rtmp_control_port}/healthz",
        "s3": f"{cfg.s3_url}/healthz",
    }
    targets.update({name: f"http://127.0.0.1:{port}/readyz" for name, port in cfg.service_ports().items()})
    if prometheus_wanted():
        targets["prometheus"] = f"http://127.0.0.1:{cfg.prometheus_port}/-/ready"
        targets["edge-metrics"] = f"http://127.0.0.1:{cfg.edge_metrics_port}/metrics"
    return targets


def wait(cfg: StackConfig, timeout: float, alive: Callable[[], bool] | None = None, quiet: bool = False) -> bool:
    """Wait until every process answers its readiness check (:func:`readiness_targets`) with 200.

    Returns False (printing what is missing unless ``quiet``) after ``timeout`` seconds, or as soon as
    ``alive()`` says the stack's supervisor has exited."""
    deadline = time.monotonic() + timeout
    pending = readiness_targets(cfg)
    while pending and time.monotonic() < deadline:
        if alive is not None and not alive():
            if not quiet:
                print("stack: a process exited before the stack was ready", file=sys.stderr)
            return False
        for name, url in list(pending.items()):
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        if pending:
            time.sleep(0.5)
    if pending:
        if not quiet:
            print(f"stack: not ready after {timeout:.0f}s: {', '.join(sorted(pending))}", file=sys.stderr)
        return False
    return True


def running_pid(cfg: StackConfig) -> int | None:
    """Pid of the ``stack.py up`` process of this run folder, or None when none is running."""
    try:
        pid = int(cfg.pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()  # empty for a zombie
    except (OSError, ValueError):
        return None
    return pid if b"stack.py" in cmdline else None


def process_alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie that nobody has reaped yet counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def start(cfg: StackConfig, timeout: float = 300) -> int:
    """Start the stack in the background (log in ``<run_dir>/stack.log``) unless it already runs, wait
    until ready and print the URLs. A running stack (this run folder's, or any stack answering on the
    edge port) is reused. Returns 0 when ready, 1 otherwise (the log tail is printed)."""
    import subprocess

    pid = running_pid(cfg)
    if pid is not None or _answers(f"{cfg.edge_url}/healthz"):
        if wait(cfg, timeout, alive=(lambda: running_pid(cfg) is not None) if pid else None):
            print(f"stack: already running{f' (pid {pid})' if pid else ''}, reused: {ready_summary(cfg)}", flush=True)
            return 0
        return 1
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = cfg.run_dir / "stack.log"
    print(f"stack: starting in the background (log: {log_path})", flush=True)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "up"], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    if not wait(cfg, timeout, alive=lambda: proc.poll() is None):
        print(failure_excerpt(log_path.read_text(errors="replace")), file=sys.stderr)
        stop(cfg)
        return 1
    print(f"stack: ready (pid {proc.pid}): {ready_summary(cfg)}", flush=True)
    return 0


def failure_excerpt(log: str, before: int = 40) -> str:
    """The part of a stack log that explains a failed start: the lines before the first process that
    exited on its own (the supervisor's "<name> exited (rc=N ..."), else the log's tail."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if "stack: " in line and " exited (rc=" in line:
            return "\n".join(lines[max(0, i - before): i + 1])
    return "\n".join(lines[-before:])


def stop(cfg: StackConfig, timeout: float = 40) -> bool:
    """Stop this run folder's stack (SIGINT to ``stack.py up``, which stops every process; SIGKILL to
    its process group after ``timeout`` seconds). Prints what it did; returns False if none was running."""
    import signal

    pid = running_pid(cfg)
    if pid is None:
        print(f"stack: not running ({cfg.run_dir})", flush=True)
        return False
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if process_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        cfg.pid_file.unlink(missing_ok=True)
    print(f"stack: stopped (pid {pid}); data kept in {cfg.run_dir} ('make clean' wipes it)", flush=True)
    return True


def clean(cfg: StackConfig) -> None:
    """Stop the stack, then wipe its data: the object store's files and logs (the run folder) and the
    services' databases and queues. Prints each step."""
    stop(cfg)
    os.environ.update({k: v for k, v in base_env(cfg).items() if k.startswith("REELHOUSE_")})
    from reelhouse.platform.settings import PlatformSettings

    settings = PlatformSettings()
    try:
        wipe_databases_and_queues(settings)
        print(f"stack: dropped databases {settings.database_prefix}* and queues {settings.queue_prefix}*", flush=True)
    except Exception as exc:  # noqa: BLE001 - PostgreSQL or RabbitMQ down: still wipe the files
        print(f"stack: could not drop databases and queues ({exc.__class__.__name__}: {exc})", file=sys.stderr)
    if cfg.run_dir.exists():
        shutil.rmtree(cfg.run_dir)
    print(f"stack: removed {cfg.run_dir} (object store data, logs)", flush=True)


def wipe_databases_and_queues(settings) -> None:  # noqa: ANN001 - PlatformSettings
    """Drop every service database and queue (main, retry, dead-letter) that ``settings`` names."""
    import asyncio

    import aio_pika

    from reelhouse.platform.db import drop_database

    for svc in IsolatedStack.SERVICES:
        drop_database(settings.database_url_for(svc))

    async def _queues() -> None:
        conn = await aio_pika.connect(settings.amqp_url)
        async with conn:
            for svc in IsolatedStack.SERVICES:
                for suffix in ("", ".retry", ".dlq"):
                    ch = await conn.channel()
                    await ch.queue_delete(f"{settings.queue_prefix}{svc}{suffix}")

    asyncio.run(_queues())


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: ``up`` (foreground), ``start`` (background, reuses a running stack), ``down``,
    ``clean``, ``wait``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up", help="run the whole stack in the foreground (Ctrl-C stops it)")
    st = sub.add_parser("start", help="start the stack in the background unless it runs; wait until ready")
    st.add_argument("--timeout", type=float, default=300)
    sub.add_parser("down", help="stop the stack started by up or start")
    sub.add_parser("clean", help="stop the stack and wipe its data (object store, databases, queues)")
    w = sub.add_parser("wait", help="wait until every process is ready")
    w.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    cfg = StackConfig.from_env()
    if args.cmd == "up":
        return up(cfg)
    if args.cmd == "start":
        return start(cfg, args.timeout)
    if args.cmd == "down":
        stop(cfg)
        return 0
    if args.cmd == "clean":
        clean(cfg)
        return 0
    return 0 if wait(cfg, args.timeout) else 1


class IsolatedStack:
    """A whole local stack with its own ports, databases, queues, exchange and buckets, for tests and
    benchmarks that must not touch a developer's running stack (nor each other).

    ``slot`` (1..5; 6 would need ports above 65535) picks the ports: edge ``<slot>8080``, S3 ``<slot>9000``, services ``<slot>8101..``,
    RTMP ``<slot>1935``. ``name`` names everything else: databases ``reelhouse_<name>_*``, queues
    ``reelhouse.<name>.*``, exchange ``reelhouse.<name>.events``, buckets ``<name>-uploads`` /
    ``<name>-media``, run dir ``.run/<name>``. ``extra_env`` adds or overrides settings.

    Use as a context manager: it resets leftovers of an earlier run, starts ``stack.py up`` in its own
    process group, waits until every process is ready (raises RuntimeError with the log tail if not)
    and stops the stack with SIGINT (SIGKILL after 30 s) on exit.
    """

    SERVICES = ("gallery", "upload", "transcoder", "streaming", "chat")

    def __init__(self, name: str, slot: int, extra_env: dict[str, str] | None = None) -> None:
        if not 1 <= slot <= 5:
            raise ValueError(f"slot must be 1..5 (ports <slot>8080.. must stay below 65536), got {slot}")
        self.name = name
        self.env_overrides = {
            "REELHOUSE_STACK_EDGE_PORT": f"{slot}8080",
            "REELHOUSE_STACK_S3_PORT": f"{slot}9000",
            "REELHOUSE_STACK_PORT_BASE": f"{slot}8100",
            "REELHOUSE_STACK_RTMP_PORT": f"{slot}1935",
            "REELHOUSE_STACK_RUN_DIR": str(ROOT / ".run" / name),
            "REELHOUSE_DATABASE_PREFIX": f"reelhouse_{name}_",
            "REELHOUSE_QUEUE_PREFIX": f"reelhouse.{name}.",
            "REELHOUSE_EVENTS_EXCHANGE": f"reelhouse.{name}.events",
            "REELHOUSE_UPLOADS_BUCKET": f"{name}-uploads",
            "REELHOUSE_MEDIA_BUCKET": f"{name}-media",
            "REELHOUSE_S3_ENDPOINT_URL": f"http://127.0.0.1:{slot}9000",
            "REELHOUSE_EDGE_BASE_URL": f"http://127.0.0.1:{slot}8080",
            **(extra_env or {}),
        }
        self.env = {**os.environ, **self.env_overrides}
        self.run_dir = Path(self.env_overrides["REELHOUSE_STACK_RUN_DIR"])
        self.log_path = self.run_dir / "stack.log"
        self.proc = None

    @property
    def edge_url(self) -> str:
        """Base URL of this stack's edge."""
        return self.env_overrides["REELHOUSE_EDGE_BASE_URL"]

    def settings(self):  # noqa: ANN201 - PlatformSettings
        """PlatformSettings as this stack's processes see them."""
        from reelhouse.platform.settings import PlatformSettings

        keys = {k[len("REELHOUSE_"):].lower(): v for k, v in self.env_overrides.items() if not k.startswith("REELHOUSE_STACK_")}
        fields = PlatformSettings.model_fields
        return PlatformSettings(**{k: v for k, v in keys.items() if k in fields})

    def reset(self) -> None:
        """Drop this stack's databases and queues left by an earlier run."""
        wipe_databases_and_queues(self.settings())

    def start(self, timeout: float = 180) -> None:
        """Reset, start and wait until ready (RuntimeError with the log tail otherwise)."""
        import subprocess

        self.reset()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "up"], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        ready = subprocess.run([sys.executable, str(Path(__file__).resolve()), "wait", "--timeout", str(timeout)], env=self.env)
        if ready.returncode != 0:
            self.stop(kill=True)
            raise RuntimeError(f"the {self.name} stack did not start; log tail:\n{self.log_path.read_text()[-4000:]}")

    def stop(self, kill: bool = False) -> None:
        """Stop the stack (SIGINT like Ctrl-C; SIGKILL when asked or after 30 s)."""
        import signal
        import subprocess

        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL if kill else signal.SIGINT)
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass
        self.proc = None

    def __enter__(self) -> IsolatedStack:
        self.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.stop()


if __name__ == "__main__":
    raise SystemExit(main())
