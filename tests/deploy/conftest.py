"""Fixtures of the offline Kubernetes checks (deploy/k8s/check.py): the check module itself, the
rendered overlays (skipped, with the reason, when kubectl is missing) and throwaway copies of the
deployment files to break."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
NO_KUBECTL = (
    "kubectl not found: rendering the kustomize overlays needs kubectl (it bundles kustomize); "
    "the raw manifests, KEDA objects, Dockerfiles and the Tiltfile syntax are still checked"
)


def _load_check() -> ModuleType:
    name = "reelhouse_deploy_k8s_check"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "deploy" / "k8s" / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def k8s() -> ModuleType:
    """deploy/k8s/check.py as a module."""
    return _load_check()


@pytest.fixture(scope="session")
def kubectl(k8s: ModuleType) -> str:
    path = k8s.kubectl_path()
    if path is None:
        pytest.skip(NO_KUBECTL)
    return path


@pytest.fixture(scope="session")
def dev_objects(k8s: ModuleType, kubectl: str) -> list[dict]:
    """The dev overlay as kubectl kustomize renders it."""
    return k8s.render(ROOT, "overlays/dev")


@pytest.fixture(scope="session")
def base_objects(k8s: ModuleType, kubectl: str) -> list[dict]:
    return k8s.render(ROOT, "base")


@pytest.fixture(scope="session")
def raw_objects(k8s: ModuleType) -> list[tuple[str, dict]]:
    pairs, problems = k8s.raw_manifests(ROOT)
    assert problems == []
    return pairs


@pytest.fixture()
def deploy_copy(tmp_path: Path) -> Path:
    """A copy of everything the checks read, laid out like the repository, safe to break."""
    for rel in ("deploy/k8s", "deploy/docker"):
        shutil.copytree(ROOT / rel, tmp_path / rel, ignore=shutil.ignore_patterns("__pycache__"))
    for rel in ("Tiltfile", "docker-bake.json"):
        shutil.copy2(ROOT / rel, tmp_path / rel)
    for service in ROOT.glob("services/*/pyproject.toml"):  # the checks look for services/<name>/
        (tmp_path / service.parent.relative_to(ROOT)).mkdir(parents=True, exist_ok=True)
    return tmp_path


@pytest.fixture()
def edit():
    """edit(path, old, new): replace the one occurrence of ``old`` in ``path`` (fails loudly when the
    file no longer contains it exactly once, so a test never breaks nothing)."""

    def _edit(path: Path, old: str, new: str) -> None:
        text = path.read_text()
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
        path.write_text(text.replace(old, new))

    return _edit
