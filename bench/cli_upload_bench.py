"""``make bench-cli``: upload throughput of the ``reelhouse`` CLI vs boto3 multipart to the same store.

A benchmark, not a test: it prints figures and exits 0 whether or not the goal is met (a missed goal is
printed as ``MISSED``); it exits 1 only when something failed (the stack did not start, an upload
failed...). Goal (issue 13): the CLI's throughput >= 0.9x boto3's.

It starts an isolated stack (``IsolatedStack("benchcli", slot)`` from ``deploy/local/stack.py``, no
transcoder workers so that no ffmpeg pass competes for the CPU with the uploads) and makes a file of
``--size-mib`` MiB: the bundled ``media/bigbuckbunny.mp4`` (the upload service checks the container
when the upload completes) followed by random bytes. Then, ``--runs`` times, alternating:

- **CLI**: ``reelhouse upload FILE --parallel P --json`` as its own process, like a user runs it
  (interpreter start, sign-in file, video and session creation, presigned URLs in batches, part PUTs,
  completion). Two figures: the whole command (process start to exit) and the transfer alone (the
  CLI's own ``seconds``: first part to completion).
- **boto3**: ``upload_file`` into the same uploads bucket of the same S3 server with the same part size
  (5 MiB, docs/api.md "Upload sessions") and concurrency ``P`` (``TransferConfig``), in this process.

Both read the same file from the page cache (it is read once before the first run). Figures are
medians of the runs, in MiB/s. The goal is judged on the transfer (the same work as ``upload_file``:
the parts and the completion); the whole command adds a fixed cost that does not grow with the file
(creating the video waits for the upload service to learn of it over the event bus), printed beside it.

Usage::

    .venv/bin/python bench/cli_upload_bench.py [--size-mib 256] [--runs 3] [--parallel 4] [--slot 3]
        [--ports EDGE,S3,PORT_BASE,RTMP]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from stack import IsolatedStack  # noqa: E402

MIB = 1024 * 1024
PART_BYTES = 5 * MIB
GOAL = 0.9


def log(msg: str) -> None:
    print(f"bench-cli: {msg}", file=sys.stderr, flush=True)


def make_file(path: Path, size_mib: int) -> None:
    """The bundled clip followed by random bytes up to ``size_mib`` MiB."""
    clip = (ROOT / "media" / "bigbuckbunny.mp4").read_bytes()
    with path.open("wb") as fh:
        fh.write(clip)
        left = size_mib * MIB - len(clip)
        while left > 0:
            n = min(left, 8 * MIB)
            fh.write(os.urandom(n))
            left -= n


def port_overrides(ports: str | None) -> dict[str, str]:
    if not ports:
        return {}
    edge, s3, base, rtmp = (int(p) for p in ports.split(","))
    return {
        "REELHOUSE_STACK_EDGE_PORT": str(edge),
        "REELHOUSE_STACK_S3_PORT": str(s3),
        "REELHOUSE_STACK_PORT_BASE": str(base),
        "REELHOUSE_STACK_RTMP_PORT": str(rtmp),
        "REELHOUSE_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3}",
        "REELHOUSE_EDGE_BASE_URL": f"http://127.0.0.1:{edge}",
    }


def run_cli(env: dict[str, str], path: Path, parallel: int) -> tuple[float, float]:
    """(whole command seconds, transfer seconds) of one ``reelhouse upload``."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "reelhouse.cli.main", "upload", str(path), "--parallel", str(parallel), "--json"], env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"reelhouse upload failed ({r.returncode}): {r.stderr[-2000:]}")
    (result,) = json.loads(r.stdout)
    return wall, float(result["seconds"])


def run_boto3(settings, path: Path, parallel: int, key: str) -> float:  # noqa: ANN001
    """Seconds of one boto3 multipart ``upload_file`` (5 MiB parts, ``parallel`` threads)."""
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        config=Config(max_pool_connections=parallel * 2, s3={"addressing_style": "path"}),
    )
    cfg = TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES, max_concurrency=parallel, use_threads=True)
    t0 = time.perf_counter()
    s3.upload_file(str(path), settings.uploads_bucket, key, Config=cfg)
    took = time.perf_counter() - t0
    s3.delete_object(Bucket=settings.uploads_bucket, Key=key)
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--slot", type=int, default=int(os.environ.get("REELHOUSE_BENCH_SLOT", 3)))
    ap.add_argument("--ports", default=os.environ.get("REELHOUSE_BENCH_PORTS"), help="EDGE,S3,PORT_BASE,RTMP instead of the slot's ports")
    args = ap.parse_args()

    stack = IsolatedStack("benchcli", args.slot, {"REELHOUSE_STACK_WORKERS": "0", "REELHOUSE_STACK_CHAT_REPLICAS": "1", **port_overrides(args.ports)})
    settings = stack.settings()
    log(f"starting the isolated stack (edge {stack.edge_url})")
    try:
        stack.start(timeout=240)
    except RuntimeError as exc:
        log(str(exc))
        return 1
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
            tmpdir = Path(tmp)
            path = tmpdir / "upload.mp4"
            log(f"making a {args.size_mib} MiB file")
            make_file(path, args.size_mib)
            path.read_bytes()  # into the page cache for both
            env = {k: v for k, v in os.environ.items() if k.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "REELHOUSE_TOKEN")}
            env.update(REELHOUSE_CONFIG_DIR=str(tmpdir / "config"), REELHOUSE_API_URL=stack.edge_url + "/api")
            login = subprocess.run([sys.executable, "-m", "reelhouse.cli.main", "login", "--dev", "bench-cli"], env=env, capture_output=True, text=True, timeout=60)
            if login.returncode != 0:
                log(f"login failed: {login.stderr}")
                return 1
            cli_wall, cli_xfer, boto = [], [], []
            for i in range(args.runs):
                os.utime(path)  # a new mtime: a new upload, not a resumed one
                wall, xfer = run_cli(env, path, args.parallel)
                cli_wall.append(wall)
                cli_xfer.append(xfer)
                boto.append(run_boto3(settings, path, args.parallel, f"bench/boto3-{i}"))
                log(f"run {i + 1}: CLI {wall:.2f} s (transfer {xfer:.2f} s), boto3 {boto[-1]:.2f} s")
    finally:
        stack.stop()
        shutil.rmtree(stack.run_dir / "s3", ignore_errors=True)  # the uploaded copies: nothing to keep

    mib = args.size_mib
    rate = {name: mib / statistics.median(xs) for name, xs in (("cli", cli_wall), ("cli_xfer", cli_xfer), ("boto3", boto))}
    ratio, ratio_xfer = rate["cli"] / rate["boto3"], rate["cli_xfer"] / rate["boto3"]
    setup = statistics.median(w - x for w, x in zip(cli_wall, cli_xfer, strict=True))
    verdict = "met" if ratio_xfer >= GOAL else "MISSED"
    print(f"CLI upload vs boto3 multipart: {mib} MiB, 5 MiB parts, {args.parallel} in parallel, median of {args.runs} runs")
    print(f"  boto3 upload_file                      {rate['boto3']:8.1f} MiB/s")
    print(f"  reelhouse upload, transfer             {rate['cli_xfer']:8.1f} MiB/s   {ratio_xfer:.2f}x  goal >= {GOAL}x  {verdict}")
    print(f"  reelhouse upload, whole command        {rate['cli']:8.1f} MiB/s   {ratio:.2f}x  (+{setup:.1f} s: process start, sign-in file, video and session creation)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
