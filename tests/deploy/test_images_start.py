"""Every service image starts (issue 11, item 4): exactly the dependency set its image installs
(``uv export --no-dev --package reelhouse-<service>``, what ``deploy/docker/service.Dockerfile`` syncs)
goes into a fresh virtual environment, then every module of the service imports and its entry point
answers ``--help``. An import the package does not declare fails here instead of at pod start.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gallery", "upload", "transcoder", "streaming", "chat")
#: Run in the fresh environment: import every module of the service, then start its console script
#: (the entry point its image runs) with --help, in one interpreter to pay the imports once.
IMPORT_ALL_THEN_HELP = r"""
import importlib, pkgutil, sys
from importlib.metadata import entry_points
service = sys.argv[1]
pkg = importlib.import_module(f"reelhouse.{service}")
failed = []
for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
    try:
        importlib.import_module(m.name)
    except Exception as exc:  # noqa: BLE001
        failed.append(f"{m.name}: {type(exc).__name__}: {exc}")
if failed:
    print("modules that do not import from the image's dependencies:", *failed, sep="\n")
    sys.exit(3)
(script,) = entry_points(group="console_scripts", name=f"reelhouse-{service}")
sys.argv = [script.name, "--help"]
sys.exit(script.load()())
"""


def _run(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=300, **kw)


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_dependency_set_imports_and_starts(service: str, tmp_path: Path):
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("needs uv on PATH (make setup installs it)")
    requirements = tmp_path / "requirements.txt"
    exported = _run(uv, "export", "--frozen", "--no-dev", "--no-hashes", "-q", "--package", f"reelhouse-{service}", "-o", str(requirements))
    assert exported.returncode == 0, exported.stderr
    venv = tmp_path / "venv"
    assert _run(uv, "venv", "-q", "--python", sys.executable, str(venv)).returncode == 0
    python = venv / "bin" / "python"
    installed = _run(uv, "pip", "install", "-q", "--python", str(python), "-r", str(requirements))
    assert installed.returncode == 0, installed.stderr

    started = _run(str(python), "-c", IMPORT_ALL_THEN_HELP, service)
    assert started.returncode == 0, started.stdout + started.stderr[-2000:]
    assert "serve" in started.stdout
    assert (venv / "bin" / f"reelhouse-{service}").is_file()
