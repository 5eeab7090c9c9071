"""Every workspace package declares what it imports and imports what it declares (deptry, with each
package's ``[tool.deptry]`` settings), so an image built from one package's dependency set has what it
needs; and no production package depends on the test helpers (they live in the dev-only
``reelhouse-testing`` package)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.parent for p in [*ROOT.glob("libs/*/pyproject.toml"), *ROOT.glob("services/*/pyproject.toml")])
DEPTRY = Path(sys.executable).parent / "deptry"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_declared_dependencies_match_the_imports(package: Path) -> None:
    result = subprocess.run([str(DEPTRY), "src"], cwd=package, capture_output=True, text=True, env={"NO_COLOR": "1", "PATH": ""})
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("package", [p for p in PACKAGES if p.name != "testing"], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_production_package_depends_on_test_tools(package: Path) -> None:
    deps = tomllib.loads((package / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip().lower() for d in deps}
    assert not names & {"pytest", "testcontainers", "reelhouse-testing"}, names
