"""``make bench-chat``: what one chat replica costs per connection and how fast it fans messages out.

A benchmark, not a test: it prints figures and exits 0 whether or not a goal is met (a missed goal is
printed as ``MISSED``); it exits 1 only when something failed (the replica did not start...).

It starts ONE chat replica (``reelhouse-chat serve``, the same process the stack runs, outbox relay
and RabbitMQ fan-out included) against the configured PostgreSQL and RabbitMQ with its own database,
queues and exchange (``reelhouse_benchchat_chat``, ``reelhouse.benchchat.*``), opens a room with a
``stream.started`` event, and measures:

1. **latency at low load**: one poster, one reader, 20 posts: post -> ack (the database transaction:
   room lock, insert, outbox row) and post -> delivery (outbox relay -> RabbitMQ -> this replica's
   fan-out queue -> the socket). This is the price of the outbox path.
2. **memory per idle connection**: the replica's RSS before and after ``--idle`` anonymous clients
   connected and received their welcome + history (goal <= 25 KiB at 10,000 connections). Measured
   with clients that do not negotiate permessage-deflate (``--deflate`` to offer it like browsers do).
3. **deliveries**: ``--receivers`` clients in one room spread over ``--procs`` client processes, one
   poster at each rate of ``--rates`` messages/s for ``--seconds`` s; deliveries/s and p50/p99 of
   post -> delivery latency (every message carries its send time). Goal: 50,000 deliveries/s with
   p99 <= 200 ms on 2 cores with 5,000 clients. On a 2-core machine the client processes share the
   cores with the replica, PostgreSQL and RabbitMQ, so the figures are a floor, not the replica's ceiling;
   the scaled-down defaults are printed with the results.

Usage::

    .venv/bin/python bench/chat_bench.py [--idle 10000] [--receivers 2000] [--procs 2] [--rates 5,10,20] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def log(msg: str) -> None:
    print(f"bench-chat: {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


# --- client side -------------------------------------------------------------------------------------


async def _reader(url: str, lat: list[float] | None, counter: list[int], compression, stop: asyncio.Event) -> None:  # noqa: ANN001
    from websockets.asyncio.client import connect

    async with connect(url, compression=compression, max_queue=None, open_timeout=60, ping_interval=None) as ws:
        counter[1] += 1
        async for raw in ws:
            if raw.startswith('{"type":"message"'):
                counter[0] += 1
                now = time.time()
                if len(counter) > 2:
                    counter[2] = min(counter[2], now)
                    counter[3] = max(counter[3], now)
                if lat is not None:
                    f = json.loads(raw)
                    lat.append(time.time() - float(f["text"]))
            if stop.is_set():
                return


def _receiver_proc(url: str, n: int, ready, go_stop, out, compression) -> None:  # noqa: ANN001
    async def main() -> None:
        lat: list[float] = []
        counter = [0, 0, float("inf"), 0.0]  # delivered, connected, first and last delivery (epoch s)
        stop = asyncio.Event()
        tasks = []
        for i in range(n):
            tasks.append(asyncio.create_task(_reader(url, lat if i % 4 == 0 else None, counter, compression, stop)))
            if i % 100 == 99:
                await asyncio.sleep(0.05)
        while counter[1] < n:
            await asyncio.sleep(0.1)
        ready.put(n)
        await asyncio.get_running_loop().run_in_executor(None, go_stop.wait)
        stop.set()
        out.put((counter[0], lat, counter[2], counter[3]))
        for t in tasks:
            t.cancel()

    asyncio.run(main())


async def _connect_idle(url: str, n: int, compression) -> list:  # noqa: ANN001
    from websockets.asyncio.client import connect

    conns = []
    sem = asyncio.Semaphore(200)

    failures = 0

    async def one() -> None:
        nonlocal failures
        async with sem:
            for _attempt in range(3):
                try:
                    ws = await connect(url, compression=compression, open_timeout=60, ping_interval=None, max_queue=None)
                    await asyncio.wait_for(ws.recv(), 60)  # welcome
                    await asyncio.wait_for(ws.recv(), 60)  # history
                    conns.append(ws)
                    return
                except Exception:  # noqa: BLE001 - count and retry: one refused socket must not end the run
                    failures += 1
                    await asyncio.sleep(0.5)

    await asyncio.gather(*(one() for _ in range(n)))
    if failures:
        log(f"{failures} connection attempts failed and were retried; {len(conns)} connected")
    return conns


async def _post_at(url: str, rate: float, seconds: float) -> tuple[int, list[float]]:
    from websockets.asyncio.client import connect

    acks: list[float] = []
    sent = 0
    async with connect(url, compression=None) as ws:
        await ws.recv()
        await ws.recv()
        pending: dict[str, float] = {}

        async def read_acks() -> None:
            async for raw in ws:
                f = json.loads(raw)
                if f["type"] == "ack" and f.get("nonce") in pending:
                    acks.append(time.time() - pending.pop(f["nonce"]))
                elif f["type"] == "error":
                    log(f"post refused: {f}")

        reader = asyncio.create_task(read_acks())
        start = time.monotonic()
        interval = 1.0 / rate
        while time.monotonic() - start < seconds:
            target = start + sent * interval
            await asyncio.sleep(max(0.0, target - time.monotonic()))
            nonce = str(sent)
            pending[nonce] = time.time()
            await ws.send(json.dumps({"type": "post", "text": repr(time.time()), "nonce": nonce}))
            sent += 1
        await asyncio.sleep(1.0)
        reader.cancel()
    return sent, acks


# --- server side -------------------------------------------------------------------------------------


def start_replica(env: dict[str, str]) -> subprocess.Popen:
    subprocess.run([str(BIN / "reelhouse-chat"), "migrate"], env=env, check=True, capture_output=True)
    log_path = ROOT / ".run" / "bench-chat-replica.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([str(BIN / "reelhouse-chat"), "serve"], env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{env['REELHOUSE_HTTP_PORT']}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"chat replica exited: {log_path.read_text()[-2000:]}")
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("chat replica not ready after 60 s")


def open_room(env: dict[str, str]) -> uuid.UUID:
    import httpx

    from reelhouse.contracts.events import StreamStartedV1
    from reelhouse.platform.settings import PlatformSettings
    from reelhouse.testing import publish_event

    settings = PlatformSettings(events_exchange=env["REELHOUSE_EVENTS_EXCHANGE"], queue_prefix=env["REELHOUSE_QUEUE_PREFIX"])
    sid = uuid.uuid4()
    publish_event(settings, StreamStartedV1(stream_id=sid, owner_id="bench-owner", started_at=datetime.now(UTC)))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if httpx.get(f"http://127.0.0.1:{env['REELHOUSE_HTTP_PORT']}/api/streams/{sid}/chat").status_code == 200:
            return sid
        time.sleep(0.1)
    raise SystemExit("room did not open")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="chat replica memory and fan-out benchmark")
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--receivers", type=int, default=2000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--rates", default="5,10,20")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--deflate", action="store_true", help="clients offer permessage-deflate (browser default)")
    args = ap.parse_args(argv)
    compression = "deflate" if args.deflate else None

    import httpx

    from reelhouse.platform.db import drop_database
    from reelhouse.platform.settings import PlatformSettings

    port = free_port()
    env = {
        "REELHOUSE_ENV": "dev",  # the replica runs on the development secrets
        **os.environ,
        "REELHOUSE_HTTP_PORT": str(port),
        "REELHOUSE_DATABASE_PREFIX": "reelhouse_benchchat_",
        "REELHOUSE_QUEUE_PREFIX": "reelhouse.benchchat.",
        "REELHOUSE_EVENTS_EXCHANGE": "reelhouse.benchchat.events",
        "REELHOUSE_CHAT_RATE_BURST": "1000000",
        "REELHOUSE_CHAT_RATE_PER_SECOND": "1000000",
        "REELHOUSE_CHAT_FRAME_BURST": "1000000",
        "REELHOUSE_CHAT_FRAMES_PER_SECOND": "1000000",
        "REELHOUSE_CHAT_HISTORY_MESSAGES": "0",
        "REELHOUSE_CHAT_SEND_QUEUE_FRAMES": "4096",
        "REELHOUSE_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    drop_database(PlatformSettings(database_prefix="reelhouse_benchchat_").database_url_for("chat"))
    log(f"starting one chat replica on port {port}")
    proc = start_replica(env)
    rows: list[tuple[str, str, str]] = []
    ok = True
    try:
        sid = open_room(env)
        url = f"ws://127.0.0.1:{port}/ws/streams/{sid}/chat"
        from reelhouse.platform.auth import issue_token
        from reelhouse.platform.settings import PlatformSettings as _PS

        bench_token = issue_token("bench-poster", _PS().jwt_secret)

        def post_url() -> str:
            """The socket URL with a fresh 30 s ticket (a JWT never goes in the URL)."""
            got = httpx.post(f"http://127.0.0.1:{port}/api/streams/{sid}/chat/ticket", headers={"Authorization": f"Bearer {bench_token}"}, timeout=10)
            return f"{url}?ticket={got.raise_for_status().json()['ticket']}"

        # 1. latency at low load
        async def low() -> tuple[list[float], list[float]]:
            lat: list[float] = []
            counter = [0, 0]
            stop = asyncio.Event()
            t = asyncio.create_task(_reader(url, lat, counter, None, stop))
            while counter[1] < 1:
                await asyncio.sleep(0.05)
            _, acks = await _post_at(post_url(), 10, 2.0)
            t.cancel()
            return acks, lat

        acks, lat = asyncio.run(low())
        rows.append(("post -> ack (db tx + outbox row), p50 / p99", f"{pct(acks, 50) * 1000:.1f} / {pct(acks, 99) * 1000:.1f} ms", f"n={len(acks)}"))
        rows.append(("post -> delivery via outbox relay + RabbitMQ, p50 / p99", f"{pct(lat, 50) * 1000:.1f} / {pct(lat, 99) * 1000:.1f} ms", f"n={len(lat)}"))

        # 2. memory per idle connection
        async def idle() -> tuple[int, int, float]:
            warm = await _connect_idle(url, 20, compression)
            await asyncio.sleep(1.0)
            before = rss_kib(proc.pid)
            t0 = time.monotonic()
            conns = await _connect_idle(url, args.idle, compression)
            took = time.monotonic() - t0
            await asyncio.sleep(2.0)
            after = rss_kib(proc.pid)
            for ws in conns + warm:
                await ws.close()
            return before, after, took

        log(f"opening {args.idle} idle connections")
        before, after, took = asyncio.run(idle())
        per = (after - before) / max(1, args.idle)  # (a few retried sockets make this a slight overestimate)
        verdict = "met" if per <= 25 else "MISSED"
        rows.append((f"memory per idle connection ({args.idle} conns, deflate={'on' if args.deflate else 'off'})", f"{per:.1f} KiB", f"goal <= 25 KiB: {verdict}; RSS {before // 1024} -> {after // 1024} MiB; connect {args.idle / took:.0f}/s"))
        time.sleep(2.0)

        # 3. deliveries
        per_proc = args.receivers // args.procs
        for rate in [float(r) for r in args.rates.split(",") if r]:
            ctx = mp.get_context("spawn")
            ready, out, go_stop = ctx.Queue(), ctx.Queue(), ctx.Event()
            procs = [ctx.Process(target=_receiver_proc, args=(url, per_proc, ready, go_stop, out, compression)) for _ in range(args.procs)]
            for p in procs:
                p.start()
            for _ in procs:
                ready.get(timeout=180)
            time.sleep(1.0)
            t0 = time.monotonic()
            cpu0 = cpu_seconds(proc.pid)
            sent, _ = asyncio.run(_post_at(post_url(), rate, args.seconds))
            elapsed = time.monotonic() - t0
            server_cpu = cpu_seconds(proc.pid) - cpu0
            go_stop.set()
            total, lats, first, last = 0, [], float("inf"), 0.0
            for _ in procs:
                n, lat_, f0, f1 = out.get(timeout=60)
                total += n
                lats += lat_
                first, last = min(first, f0), max(last, f1)
            for p in procs:
                p.join(10)
                if p.is_alive():
                    p.kill()
            expected = sent * per_proc * args.procs
            dps = total / max(last - first, 1e-9)  # first to last delivery seen by any receiver
            p99 = pct(lats, 99) * 1000
            rows.append(
                (
                    f"{args.receivers} clients, {rate:g} msg/s for {args.seconds:g} s",
                    f"{dps:,.0f} deliveries/s, p50 {pct(lats, 50) * 1000:.0f} ms, p99 {p99:.0f} ms",
                    f"delivered {total}/{expected}; p99 goal <= 200 ms: {'met' if p99 <= 200 else 'MISSED'}; "
                    f"replica CPU {server_cpu / elapsed * 100:.0f}% of one core = {total / max(server_cpu, 1e-9):,.0f} deliveries per replica CPU-second",
                )
            )
            time.sleep(2.0)
    except Exception as exc:  # noqa: BLE001
        log(f"failed: {type(exc).__name__}: {exc}")
        ok = False
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"\nchat bench ({os.cpu_count()} cores; replica, clients, PostgreSQL and RabbitMQ share them)")
    w = max(len(r[0]) for r in rows) if rows else 10
    for name, value, note in rows:
        print(f"  {name:<{w}}  {value:<42}  {note}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
