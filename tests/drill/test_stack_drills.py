"""Whole-stack fault drills (issue 10, "Drills"; docs/reliability.md): the local stack, started as an
:class:`IsolatedStack` on a PRIVATE RabbitMQ node and a PRIVATE PostgreSQL cluster (the shared servers
are never stopped), with 8 real clips in flight, survives each fault:

- the broker's application stopped for 20 s (``rabbitmqctl stop_app`` / ``start_app``);
- PostgreSQL stopped (fast shutdown: every connection dropped) for 10 s and started again;
- SIGKILL of each service process once (the stack's supervisor restarts it, as Kubernetes would);
- every event delivered twice (a tap on the broker re-publishes each event with the same id).

After each, every video is READY within a bound, and the gallery's history (``video_transitions``)
holds each transition of each video exactly once: DRAFT -> UPLOADING -> UPLOADED -> TRANSCODING ->
READY. Each drill prints: videos in flight, videos READY, time to recover.

The clips are cut from the bundled footage (media/) at run time: 8 different 2-second 320x180 clips,
so a transcode takes about a second of CPU and the drills stay short (about a minute each).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from reelhouse.client import ReelhouseClient
from reelhouse.platform.auth import issue_token
from reelhouse.platform.db import _libpq_conninfo
from reelhouse.testing import PrivatePostgres, footage_dir, postgres_bin_dir, skip_without_tools

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from stack import IsolatedStack  # noqa: E402
from supervisor import read_pids  # noqa: E402

pytestmark = pytest.mark.drill

CLIPS = 8
RECOVERY_BOUND_SECONDS = 240.0
"""Every video READY within this long after the fault ended (a bound, not a speed goal)."""
SLOT = int(os.environ.get("REELHOUSE_E2E_SLOT", "0") or 0) or 1
SERVICE_PROCESSES = ("gallery", "upload", "transcoder-1", "transcoder-2", "streaming", "chat")
FULL_PATH = [("DRAFT", "UPLOADING"), ("UPLOADING", "UPLOADED"), ("UPLOADED", "TRANSCODING"), ("TRANSCODING", "READY")]


def _ports(slot: int) -> dict[str, str]:
    """Ports beside the e2e stack of the same slot (which may run in the same session): edge <slot>8050,
    S3 <slot>9050.., services <slot>8151.., RTMP <slot>1950."""
    return {
        "REELHOUSE_STACK_EDGE_PORT": f"{slot}8050",
        "REELHOUSE_STACK_S3_PORT": f"{slot}9050",
        "REELHOUSE_STACK_PORT_BASE": f"{slot}8150",
        "REELHOUSE_STACK_RTMP_PORT": f"{slot}1950",
        "REELHOUSE_S3_ENDPOINT_URL": f"http://127.0.0.1:{slot}9050",
        "REELHOUSE_EDGE_BASE_URL": f"http://127.0.0.1:{slot}8050",
    }


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of the drill's own (initdb + pg_ctl in a temporary folder)."""
    import tempfile

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed: set REELHOUSE_PG_BIN")
    with tempfile.TemporaryDirectory(prefix="reelhouse-drill-") as tmp:
        pg = PrivatePostgres(bin_dir, Path(tmp))
        pg.init()
        try:
            yield pg
        finally:
            pg.destroy()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    """8 different real clips (2 s, 320x180, H.264 + AAC) cut from the bundled footage."""
    skip_without_tools("ffmpeg", "ffprobe")
    media = footage_dir()
    out_dir = tmp_path_factory.mktemp("drill-clips")
    # (file, start s): every cut inside its file (bigbuckbunny 5.3 s, bikes 10 s, carphone 4 s)
    sources = [("bigbuckbunny.mp4", 0), ("bigbuckbunny.mp4", 1.5), ("bigbuckbunny.mp4", 3), ("bikes.mp4", 0),
               ("bikes.mp4", 2), ("bikes.mp4", 4), ("bikes.mp4", 6), ("carphone_pristine.mp4", 1)]
    out = []
    for i, (name, start) in enumerate(sources[:CLIPS]):
        clip = out_dir / f"clip-{i}.mp4"
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-ss", str(start), "-t", "2", "-i", str(media / name),
             "-vf", "scale=320:180,setsar=1", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-ac", "2", str(clip)],
            check=True, capture_output=True, timeout=120,
        )
        out.append(clip)
    return out


@pytest.fixture(scope="module")
def drill_stack(private_rabbitmq, private_postgres) -> Iterator[IsolatedStack]:
    """The whole stack on the private broker and database, with short sweeper and lease timings."""
    skip_without_tools("nginx", "ffmpeg", "ffprobe")
    stack = IsolatedStack(
        f"drill{SLOT}",
        SLOT,
        {
            **_ports(SLOT),
            "REELHOUSE_POSTGRES_URL": private_postgres.url,
            "REELHOUSE_AMQP_URL": private_rabbitmq.url,
            "REELHOUSE_STACK_WORKERS": "2",
            "REELHOUSE_STACK_CHAT_REPLICAS": "1",
            "REELHOUSE_PRESET": "ultrafast",
            "REELHOUSE_RETRY_BACKOFF_SECONDS": "0.5",
            "REELHOUSE_RETRY_BACKOFF_MAX_SECONDS": "4",
            "REELHOUSE_JOB_LEASE_SECONDS": "6",
            "REELHOUSE_REAPER_INTERVAL_SECONDS": "1",
            "REELHOUSE_STUCK_VIDEO_SECONDS": "15",
            "REELHOUSE_STUCK_SWEEPER_INTERVAL_SECONDS": "2",
            "REELHOUSE_STACK_RESTART_BACKOFF_SECONDS": "0.5",
            "REELHOUSE_STACK_RESTART_BACKOFF_MAX_SECONDS": "4",
        },
    )
    try:
        stack.start(timeout=240)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def client(drill_stack) -> Iterator[ReelhouseClient]:
    c = ReelhouseClient(drill_stack.edge_url, issue_token("drill-user", drill_stack.settings().jwt_secret), timeout=60)
    yield c
    c.close()


def _gallery_rows(stack: IsolatedStack, sql: str, params: tuple) -> list[tuple]:
    with psycopg.connect(_libpq_conninfo(stack.settings().database_url_for("gallery"))) as conn:
        return conn.execute(sql, params).fetchall()


def _upload_all(client: ReelhouseClient, clips: list[Path], label: str) -> list[str]:
    ids = []
    for i, clip in enumerate(clips):
        video = client.create_video(f"{label} {i}", clip)
        client.upload_file(video["id"], clip)
        ids.append(video["id"])
    return ids


def _statuses(client: ReelhouseClient, ids: list[str]) -> dict[str, str]:
    out = {}
    for vid in ids:
        try:
            out[vid] = client.get_video(vid)["status"]
        except Exception:  # noqa: BLE001 - the edge answers 502 while a gallery process restarts
            out[vid] = "UNKNOWN"
    return out


def _wait_stack_ready(stack: IsolatedStack, timeout: float = 120) -> None:
    """Block until every process of ``stack`` answers its readiness check (``stack.py wait``)."""
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "local" / "stack.py"), "wait", "--timeout", str(timeout)],
                          env=stack.env, capture_output=True, text=True, timeout=timeout + 30)
    assert done.returncode == 0, done.stdout + done.stderr


def _run_drill(name: str, stack: IsolatedStack, client: ReelhouseClient, clips: list[Path], fault: Callable[[], None]) -> None:
    """Upload the clips, inject ``fault`` while they are in flight, then check the outcome and print
    the figures."""
    ids = _upload_all(client, clips, name)
    in_flight = sum(s != "READY" for s in _statuses(client, ids).values())
    began = time.monotonic()
    fault()
    ended = time.monotonic()
    deadline = ended + RECOVERY_BOUND_SECONDS
    statuses = _statuses(client, ids)
    while time.monotonic() < deadline and any(s not in ("READY", "FAILED") for s in statuses.values()):
        time.sleep(1)
        statuses = _statuses(client, ids)
    _wait_stack_ready(stack)  # recovered = every video done AND every process answering its readiness check
    recovered = time.monotonic()
    ready = sum(s == "READY" for s in statuses.values())
    print(f"\ndrill {name}: videos in flight {in_flight}/{len(ids)}, videos READY {ready}/{len(ids)}, "
          f"time to recover {recovered - ended:.1f} s after the fault ended ({recovered - began:.1f} s after it began)")
    assert statuses == {vid: "READY" for vid in ids}, statuses
    history = _gallery_rows(stack, "SELECT video_id::text, from_status, to_status FROM video_transitions "
                                   "WHERE video_id = ANY(%s::uuid[]) ORDER BY id", (ids,))
    for vid in ids:
        assert [(f, t) for v, f, t in history if v == vid] == FULL_PATH, f"{vid}: {[(f, t) for v, f, t in history if v == vid]}"


def test_broker_stopped_for_20_seconds(drill_stack, client, clips, private_rabbitmq):
    def fault() -> None:
        with private_rabbitmq.outage():
            time.sleep(20)

    _run_drill("broker-outage-20s", drill_stack, client, clips, fault)


def test_postgres_restarted(drill_stack, client, clips, private_postgres):
    def fault() -> None:
        private_postgres.stop("fast")
        try:
            time.sleep(10)
        finally:
            private_postgres.start()

    _run_drill("postgres-restart-10s", drill_stack, client, clips, fault)


def test_each_service_process_sigkilled_once(drill_stack, client, clips):
    pids_file = drill_stack.run_dir / "pids.json"

    def fault() -> None:
        for name in SERVICE_PROCESSES:
            pid = read_pids(pids_file)[name]
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while read_pids(pids_file).get(name) in (None, pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert read_pids(pids_file).get(name) not in (None, pid), f"{name} was not restarted"
            time.sleep(1)

    _run_drill("sigkill-each-service", drill_stack, client, clips, fault)
    log = drill_stack.log_path.read_text(errors="replace")
    for name in SERVICE_PROCESSES:
        assert f"stack: {name} exited (rc=-9" in log


class _Duplicator:
    """A tap on the events exchange: every event published by a service is published once more, same
    id and body (a duplicate delivery to every consumer). Copies carry ``x-drill-copy`` and are not
    copied again. Runs its own event loop in a thread."""

    def __init__(self, amqp_url: str, exchange: str) -> None:
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.copied = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True, name="duplicator")

    async def _run(self) -> None:
        import aio_pika

        conn = await aio_pika.connect(self.amqp_url)
        async with conn:
            ch = await conn.channel(publisher_confirms=True)
            ex = await ch.declare_exchange(self.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
            q = await ch.declare_queue(f"drill.duplicator.{uuid.uuid4().hex[:6]}", exclusive=True)
            await q.bind(ex, routing_key="#")

            async def copy(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
                async with msg.process():
                    if (msg.headers or {}).get("x-drill-copy"):
                        return
                    await ex.publish(
                        aio_pika.Message(msg.body, message_id=msg.message_id, content_type=msg.content_type,
                                         headers={**(msg.headers or {}), "x-drill-copy": 1},
                                         delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=msg.routing_key or "",
                    )
                    self.copied += 1

            await q.consume(copy)
            self._ready.set()
            while not self._stop.is_set():
                await asyncio.sleep(0.2)

    def __enter__(self) -> _Duplicator:
        self._thread.start()
        assert self._ready.wait(30), "duplicator did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def test_every_event_delivered_twice(drill_stack, client, clips):
    settings = drill_stack.settings()
    with _Duplicator(settings.amqp_url, settings.events_exchange) as dup:
        _run_drill("every-event-twice", drill_stack, client, clips, lambda: None)
    print(f"drill every-event-twice: {dup.copied} events delivered a second time")
    assert dup.copied >= CLIPS * 5  # at least created, upload_started, uploaded, started, completed per video


def _queue_purge(amqp_url: str, queue: str, at_least: int, timeout: float = 60) -> int:
    """Wait until ``queue`` holds ``at_least`` ready messages, then purge it; returns how many went."""
    import aio_pika

    async def _go() -> int:
        conn = await aio_pika.connect(amqp_url)
        async with conn:
            ch = await conn.channel()
            deadline = time.monotonic() + timeout
            while True:
                q = await ch.declare_queue(queue, passive=True)
                if (q.declaration_result.message_count or 0) >= at_least or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            result = await q.purge()
            return result.message_count

    return asyncio.run(_go())


def test_a_lost_transcode_request_is_redriven_by_the_sweeper(drill_stack, client, clips):
    import httpx

    settings = drill_stack.settings()
    base = int(drill_stack.env_overrides["REELHOUSE_STACK_PORT_BASE"])
    workers = [f"http://127.0.0.1:{base + 3 + 10 * i}/admin/consumer" for i in range(2)]
    _wait_stack_ready(drill_stack)
    for w in workers:
        httpx.post(f"{w}/pause", timeout=10).raise_for_status()
    try:
        ids = _upload_all(client, clips[:2], "lost-request")
        lost = _queue_purge(settings.amqp_url, f"{settings.queue_prefix}transcoder", at_least=2)
    finally:
        for w in workers:
            httpx.post(f"{w}/resume", timeout=10).raise_for_status()
    began = time.monotonic()
    deadline = began + RECOVERY_BOUND_SECONDS
    statuses = _statuses(client, ids)
    while time.monotonic() < deadline and any(s not in ("READY", "FAILED") for s in statuses.values()):
        time.sleep(1)
        statuses = _statuses(client, ids)
    print(f"\ndrill lost-transcode-request: videos in flight {len(ids)}/{len(ids)} ({lost} requests purged), "
          f"videos READY {sum(s == 'READY' for s in statuses.values())}/{len(ids)}, "
          f"time to recover {time.monotonic() - began:.1f} s (the sweeper waits "
          f"{drill_stack.env_overrides['REELHOUSE_STUCK_VIDEO_SECONDS']} s of silence)")
    assert lost >= 2
    assert statuses == {vid: "READY" for vid in ids}, statuses
    history = _gallery_rows(drill_stack, "SELECT video_id::text, from_status, to_status, cause FROM video_transitions "
                                         "WHERE video_id = ANY(%s::uuid[]) ORDER BY id", (ids,))
    for vid in ids:
        assert [(f, t) for v, f, t, _ in history if v == vid] == FULL_PATH
    redriven = _gallery_rows(drill_stack, "SELECT count(*) FROM outbox WHERE envelope->>'type' = 'reelhouse.video.redrive_requested.v1' "
                                          "AND envelope->>'subject' = ANY(%s)", (ids,))[0][0]
    assert redriven >= len(ids)
