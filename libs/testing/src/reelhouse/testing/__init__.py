"""pytest fixtures for service tests against REAL components (docs/architecture.md, "Test tiers").

- PostgreSQL and RabbitMQ: the live servers named by ``REELHOUSE_TEST_POSTGRES_URL`` /
  ``REELHOUSE_TEST_AMQP_URL`` (defaults: the local servers) when reachable; otherwise testcontainers
  when a Docker engine answers; otherwise the test is skipped with the reason.
- S3: a SeaweedFS server (a real S3-compatible store that checks signatures) on free ports for
  the session, its data in a temporary folder.

Every session gets its own database names, queue prefix and exchange so tests never touch a running
local stack. Registered as a plugin by the repository's root ``conftest.py``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from reelhouse.platform.settings import PlatformSettings


def _reachable(url: str, default_port: int) -> bool:
    u = urlparse(url.replace("postgresql+psycopg", "postgresql"))
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a PostgreSQL server (any database) for tests."""
    url = os.environ.get("REELHOUSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    if _reachable(url, 5432):
        yield url
        return
    try:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16.4-alpine", driver="psycopg") as pg:
            yield pg.get_connection_url()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL: {url} unreachable and no container engine ({exc})")


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """AMQP URL of a RabbitMQ broker for tests."""
    url = os.environ.get("REELHOUSE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    if _reachable(url, 5672):
        yield url
        return
    try:
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management-alpine") as rmq:
            p = rmq.get_connection_params()
            yield f"amqp://guest:guest@{p.host}:{p.port}/"
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no RabbitMQ: {url} unreachable and no container engine ({exc})")


def free_port_block(count: int, start: int = 20000, stop: int = 60000) -> int:
    """The first port of ``count`` consecutive unused TCP ports on 127.0.0.1 (a random block between
    ``start`` and ``stop``). Raises RuntimeError when 50 tries found none."""
    import random

    for _ in range(50):
        base = random.randrange(start, stop - count)
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {count} consecutive free ports")


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds (SeaweedFS's filer lingers 15 s in a graceful stop;
    its data is on disk by then)."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def start_object_store(data_dir: Path, settings: PlatformSettings | None = None, timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """Start a SeaweedFS server (reelhouse.platform.seaweed) with its data in ``data_dir`` on free
    ports, accepting the S3 keys of ``settings`` (default: the dev keys); wait until its S3 gateway
    answers and its volume server has registered (:func:`reelhouse.platform.seaweed.is_ready`). Returns (process, S3 endpoint URL). Raises RuntimeError with the log tail if it does not start."""

    from reelhouse.platform import seaweed

    settings = settings or PlatformSettings()
    port = free_port_block(seaweed.PORTS_PER_SERVER)
    identities = seaweed.write_identities(data_dir / "s3.json", settings.s3_access_key, settings.s3_secret_key)
    log_path = data_dir / "weed.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(seaweed.server_command(data_dir / "data", port, identities), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if seaweed.is_ready(url):  # gateway up and a volume server registered (reads work)
            return proc, url
        time.sleep(0.2)
    stop_process(proc, grace=1)
    raise RuntimeError(f"SeaweedFS did not start on {url}; log tail:\n{log_path.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real S3-compatible server (SeaweedFS, signatures and expiry checked, dev keys) started
    for the test session, its data in a temporary folder."""
    try:
        proc, url = start_object_store(tmp_path_factory.mktemp("seaweedfs"))
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield url
    stop_process(proc)


@pytest.fixture(scope="session")
def test_run_id() -> str:
    """A short random id that namespaces databases, queues and buckets of this test session."""
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
def platform_settings(postgres_url: str, amqp_url: str, s3_endpoint: str, test_run_id: str) -> PlatformSettings:
    """Settings pointing at the test infrastructure with names unique to this session."""
    return PlatformSettings(
        postgres_url=postgres_url,
        amqp_url=amqp_url,
        database_prefix=f"reelhouse_t{test_run_id}_",
        queue_prefix=f"reelhouse.t{test_run_id}.",
        events_exchange=f"reelhouse.t{test_run_id}.events",
        s3_endpoint_url=s3_endpoint,
        uploads_bucket=f"t{test_run_id}-uploads",
        media_bucket=f"t{test_run_id}-media",
        retry_backoff_seconds=0.2,
        max_delivery_attempts=3,
    )


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.1, message: str = "condition"):  # noqa: ANN001, ANN201
    """Poll ``predicate()`` until it returns a truthy value (returned) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value: {last!r}")


def auth_headers(settings: PlatformSettings, user_id: str) -> dict[str, str]:
    """``Authorization`` header with a dev JWT for ``user_id``."""
    from reelhouse.platform.auth import issue_token

    return {"Authorization": f"Bearer {issue_token(user_id, settings.jwt_secret)}"}


class running_service:  # noqa: N801 - used as a context manager like a function
    """Context manager: create + migrate the service database, run the app (lifespan included: consumer
    and relay) in a Starlette TestClient, and drop the database and queues afterwards.

    ``defn`` is a :class:`reelhouse.platform.runtime.ServiceDefinition`; yields the TestClient.
    """

    def __init__(self, defn) -> None:  # noqa: ANN001
        self.defn = defn

    def __enter__(self):  # noqa: ANN204
        from fastapi.testclient import TestClient

        from reelhouse.platform.runtime import create_app

        self.defn.prepare_database()
        self.client = TestClient(create_app(self.defn))
        self.client.__enter__()
        return self.client

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        import asyncio

        import aio_pika

        from reelhouse.platform.db import drop_database

        self.client.__exit__(*exc)

        async def _delete_queues() -> None:
            conn = await aio_pika.connect(self.defn.settings.amqp_url)
            async with conn:
                ch = await conn.channel()
                q = self.defn.queues
                for name in (q.main, q.retry, q.dlq):
                    try:
                        await ch.queue_delete(name)
                    except Exception:  # noqa: BLE001
                        ch = await conn.channel()

        if self.defn.handlers:
            asyncio.run(_delete_queues())
        drop_database(self.defn.database_url)


def publish_raw(settings: PlatformSettings, routing_key: str, body: bytes, message_id: str | None = None, headers: dict | None = None) -> None:
    """Publish raw bytes to the events exchange (persistent, mandatory) — for malformed-message tests."""
    import asyncio

    import aio_pika

    async def _go() -> None:
        conn = await aio_pika.connect(settings.amqp_url)
        async with conn:
            ch = await conn.channel(publisher_confirms=True, on_return_raises=True)
            ex = await ch.declare_exchange(settings.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
            await ex.publish(
                aio_pika.Message(body, message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, headers=headers or {}),
                routing_key=routing_key,
                mandatory=True,
            )

    asyncio.run(_go())


def publish_event(settings: PlatformSettings, payload, event_id: str | None = None) -> str:  # noqa: ANN001
    """Publish ``payload`` (an EventPayload) in a CloudEvents envelope; returns the event id.

    Passing the same ``event_id`` twice simulates a duplicate delivery.
    """
    from reelhouse.platform.messaging.outbox import make_envelope

    env = make_envelope(payload, source="/reelhouse/tests")
    if event_id:
        env = env.model_copy(update={"id": event_id})
    publish_raw(settings, env.routing_key, env.model_dump_json().encode(), message_id=env.id)
    return env.id


class EventCapture:
    """A temporary queue bound to the events exchange that records what services publish.

    ``routing_keys`` like ``video.created.v1`` or ``#``. Use as a context manager; :meth:`wait_for`
    returns the decoded envelopes (dicts) matching a predicate.
    """

    def __init__(self, settings: PlatformSettings, routing_keys: list[str]) -> None:
        self.settings = settings
        self.routing_keys = routing_keys
        self.name = f"{settings.queue_prefix}capture.{secrets.token_hex(3)}"
        self.seen: list[dict] = []

    def _run(self, coro_fn):  # noqa: ANN001, ANN202
        import asyncio

        import aio_pika

        async def _go():  # noqa: ANN202
            conn = await aio_pika.connect(self.settings.amqp_url)
            async with conn:
                ch = await conn.channel()
                return await coro_fn(ch, aio_pika)

        return asyncio.run(_go())

    def __enter__(self) -> EventCapture:
        async def _declare(ch, aio_pika):  # noqa: ANN001, ANN202
            ex = await ch.declare_exchange(self.settings.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
            q = await ch.declare_queue(self.name, durable=False, arguments={"x-expires": 120_000})
            for key in self.routing_keys:
                await q.bind(ex, routing_key=key)

        self._run(_declare)
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        async def _delete(ch, aio_pika):  # noqa: ANN001, ANN202, ARG001
            await ch.queue_delete(self.name)

        self._run(_delete)

    def drain(self) -> list[dict]:
        """Fetch everything currently in the queue into :attr:`seen`; returns :attr:`seen`."""
        import json

        async def _get(ch, aio_pika):  # noqa: ANN001, ANN202, ARG001
            q = await ch.get_queue(self.name)
            out = []
            while True:
                msg = await q.get(no_ack=True, fail=False)
                if msg is None:
                    return out
                out.append(json.loads(msg.body))

        self.seen.extend(self._run(_get))
        return self.seen

    def wait_for(self, predicate, timeout: float = 15.0, count: int = 1) -> list[dict]:  # noqa: ANN001
        """Wait until at least ``count`` captured envelopes satisfy ``predicate``; returns them."""
        return wait_until(lambda: (m := [e for e in self.drain() if predicate(e)]) and len(m) >= count and m, timeout, 0.2, "captured events")


def queue_depth(settings: PlatformSettings, queue: str) -> int:
    """Number of ready messages in ``queue`` (passive declare)."""
    import asyncio

    import aio_pika

    async def _go() -> int:
        conn = await aio_pika.connect(settings.amqp_url)
        async with conn:
            ch = await conn.channel()
            q = await ch.declare_queue(queue, passive=True)
            return q.declaration_result.message_count or 0

    return asyncio.run(_go())


def footage_dir() -> Path:
    """Directory of the bundled real footage (bigbuckbunny.mp4, bikes.mp4, carphone_pristine.mp4).

    The clips live in the repository's ``media/`` folder (licence and source in ``media/README.md``).
    Looked up in order: ``REELHOUSE_MEDIA_DIR``; a ``media/`` folder holding ``bigbuckbunny.mp4`` in the
    current directory, this file's folder or any of their parents (the checkout's root). Raises
    FileNotFoundError if none exists.
    """
    if os.environ.get("REELHOUSE_MEDIA_DIR"):
        candidates = [Path(os.environ["REELHOUSE_MEDIA_DIR"])]
    else:
        candidates = []
        for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
            candidates += [p / "media" for p in (start, *start.parents)]
    for c in candidates:
        if (c / "bigbuckbunny.mp4").is_file():
            return c
    raise FileNotFoundError("bundled footage not found: run from the checkout or set REELHOUSE_MEDIA_DIR")


def missing_tools(*tools: str) -> list[str]:
    """The names among ``tools`` (executables such as ``ffmpeg``, ``nginx``) not found on PATH."""
    return [t for t in tools if shutil.which(t) is None]


def requires_tools(*tools: str) -> pytest.MarkDecorator:
    """A skip marker for tests that need optional executables: the test is skipped, with the missing
    names as the reason, when any of ``tools`` is not on PATH (``make setup`` installs them). Evaluated
    at collection, so it never runs the tool and never errors there."""
    missing = missing_tools(*tools)
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} on PATH (make setup installs it)")


def skip_without_tools(*tools: str) -> None:
    """Skip the running test or fixture (``pytest.skip``) when any of ``tools`` is not on PATH."""
    missing = missing_tools(*tools)
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH (make setup installs it)")


#: Former name of :func:`footage_dir`, kept so older test modules still import.
shared_media_dir = footage_dir


class PrivateRabbitMQ:
    """A RabbitMQ node of its own for outage drills (never the shared broker): its own node name,
    AMQP and distribution ports, Erlang cookie, data and log directories under ``base_dir``.

    ``url`` is its AMQP URL (guest/guest on 127.0.0.1). :meth:`stop_app` / :meth:`start_app` stop and
    start the RabbitMQ application while the Erlang node keeps running, exactly like
    ``rabbitmqctl stop_app`` / ``start_app`` on a production node (durable queues and persistent
    messages survive; every client connection is closed). :meth:`start` / :meth:`stop` start and halt
    the node. Raises ``RuntimeError`` when a command fails.
    """

    def __init__(self, sbin: Path, base_dir: Path) -> None:
        self.sbin = sbin
        self.base_dir = base_dir
        self.node = f"rh-drill-{secrets.token_hex(3)}@localhost"
        self.port = free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        (base_dir / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n")
        (base_dir / "rabbitmq-env.conf").write_text("")
        (base_dir / "enabled_plugins").write_text("[].\n")
        self.env = {
            **os.environ,
            "HOME": str(base_dir),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(base_dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base_dir / "log"),
            "RABBITMQ_CONFIG_FILE": str(base_dir / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(base_dir / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base_dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(base_dir / "rabbitmq.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def _ctl(self, *args: str, timeout: float = 90) -> None:
        result = subprocess.run(
            [str(self.sbin / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stdout[-500:]} {result.stderr[-500:]}")

    def start(self) -> None:
        """Start the node (detached) and wait until RabbitMQ accepts connections."""
        subprocess.run([str(self.sbin / "rabbitmq-server"), "-detached"], env=self.env, check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._ctl("wait", self.env["RABBITMQ_PID_FILE"], "--timeout", "90", timeout=120)

    def stop_app(self) -> None:
        """Stop the RabbitMQ application (the outage begins: connections drop, the port closes)."""
        self._ctl("stop_app")

    def start_app(self) -> None:
        """Start the RabbitMQ application again (the outage ends)."""
        self._ctl("start_app")

    def outage(self):  # noqa: ANN201
        """Context manager: the application is stopped inside the block and started again on exit,
        whatever happens in the block."""
        import contextlib

        @contextlib.contextmanager
        def _outage():  # noqa: ANN202
            self.stop_app()
            try:
                yield self
            finally:
                self.start_app()

        return _outage()

    def stop(self) -> None:
        """Halt the node (best effort)."""
        try:
            self._ctl("stop", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            pid_file = Path(self.env["RABBITMQ_PID_FILE"])
            if pid_file.exists():
                import signal

                try:
                    os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass


def _rabbitmq_sbin() -> Path | None:
    """Directory holding ``rabbitmq-server`` and ``rabbitmqctl`` that run as the current user:
    ``REELHOUSE_RABBITMQ_SBIN``, the Debian package's ``/usr/lib/rabbitmq/bin`` (the ``/usr/sbin``
    wrappers switch to the ``rabbitmq`` user and drop the environment), else the ones on PATH."""
    import shutil

    candidates = [os.environ.get("REELHOUSE_RABBITMQ_SBIN"), "/usr/lib/rabbitmq/bin"]
    found = shutil.which("rabbitmq-server")
    if found:
        candidates.append(str(Path(found).parent))
    for c in candidates:
        if c and (Path(c) / "rabbitmq-server").exists() and (Path(c) / "rabbitmqctl").exists():
            return Path(c)
    return None


@pytest.fixture(scope="session")
def private_rabbitmq(tmp_path_factory) -> Iterator[PrivateRabbitMQ]:  # noqa: ANN001
    """A private RabbitMQ node for broker-outage drills, started once per test session (~6 s) and
    halted at the end. Tests may stop and start its application; the shared broker is never touched.
    Skipped (with the reason) when the RabbitMQ server is not installed."""
    sbin = _rabbitmq_sbin()
    if sbin is None:
        pytest.skip("RabbitMQ server not installed (set REELHOUSE_RABBITMQ_SBIN): cannot run a private node")
    node = PrivateRabbitMQ(sbin, tmp_path_factory.mktemp("rabbitmq-drill"))
    try:
        node.start()
        yield node
    finally:
        node.stop()


class PrivatePostgres:
    """A PostgreSQL cluster of its own for outage drills (never the shared server): ``initdb`` into
    ``base_dir`` (trust auth, user ``postgres``), ``pg_ctl`` on a free port of 127.0.0.1 with its socket
    directory in ``base_dir``. ``bin_dir`` holds initdb/pg_ctl (``REELHOUSE_PG_BIN``, else the newest
    ``/usr/lib/postgresql/<version>/bin``: :func:`postgres_bin_dir`).

    ``url`` is its SQLAlchemy URL. :meth:`stop` (fast shutdown: every connection is closed) and
    :meth:`start` make an outage; the data survives. As root (initdb refuses root) the cluster runs as
    the ``postgres`` user (else ``nobody``; ``REELHOUSE_PG_DRILL_USER`` names another) in a folder of its
    own under the temp directory,
    removed by :meth:`destroy`. Raises ``RuntimeError`` when a command fails.
    """

    def __init__(self, bin_dir: Path, base_dir: Path) -> None:
        import tempfile

        self.bin_dir = bin_dir
        self._as: list[str] = []
        self._own_dir: Path | None = None
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the unprivileged "postgres" user
            import pwd

            names = [os.environ["REELHOUSE_PG_DRILL_USER"]] if os.environ.get("REELHOUSE_PG_DRILL_USER") else ["postgres", "nobody"]
            user = next(u for u in (_user_or_none(pwd, n) for n in names) if u is not None)
            base_dir = self._own_dir = Path(tempfile.mkdtemp(prefix="reelhouse-drill-pg-"))  # a folder that user can reach
            os.chown(base_dir, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", user.pw_name, "--"]
        self.data = base_dir / "data"
        self.socket_dir = base_dir
        self.log = base_dir / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, timeout: float = 120) -> None:
        result = subprocess.run([*self._as, *argv], capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {result.stdout[-800:]} {result.stderr[-800:]}")

    def init(self) -> None:
        """Create the cluster (``initdb``; about a second) and start it."""
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        opts = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back and close every connection, like a restart or failover)."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        """Stop (immediate, best effort); the caller removes ``base_dir``."""
        try:
            self.stop("immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)


def _user_or_none(pwd, name: str):  # noqa: ANN001, ANN202
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def postgres_bin_dir() -> Path | None:
    """Directory of ``initdb`` and ``pg_ctl``: ``REELHOUSE_PG_BIN``, else the newest
    ``/usr/lib/postgresql/<version>/bin`` (Debian's layout), else the one on PATH; None when absent."""
    candidates: list[Path] = []
    if os.environ.get("REELHOUSE_PG_BIN"):
        candidates.append(Path(os.environ["REELHOUSE_PG_BIN"]))
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True)
        candidates += [v / "bin" for v in versions]
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).parent)
    return next((c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None)


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 in front of a real server (e.g. PostgreSQL) for outage drills:
    :meth:`cut` closes every connection and stops listening (clients see the server vanish, as when
    it restarts or the network drops); :meth:`restore` listens again on the same port.

    ``target`` is ``(host, port)``; ``port`` is the proxy's port. Use as a context manager.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        import threading

        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def __enter__(self) -> TcpProxy:
        self.restore()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.cut()

    def restore(self) -> None:
        """Listen (again) and forward new connections to the target."""
        import threading

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and reset every open connection."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        for s in ([listener] if listener else []) + sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self, listener: socket.socket) -> None:
        import threading

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
