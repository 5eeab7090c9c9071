"""Generate the one public API document: the five services' OpenAPI documents merged (docs/api.md,
"The API document").

    python tools/openapi.py           # write deploy/k8s/base/nginx/openapi.json   (make schemas)
    python tools/openapi.py --check   # exit 1 when the committed file differs from what the code produces

The edge serves the committed file at ``GET /api/openapi.json`` and a page that renders it at
``/api/docs`` (deploy/k8s/base/nginx/edge.conf.template); the file lives beside the edge config so the
kustomize base stays self-contained. Each service's document comes from its own app
(``reelhouse.<service>.main.build_app``), built with the settings every deployment has by default (the
development sign-in route is left out); the transcoder has no public route. The merge rules are in
:func:`reelhouse.platform.openapi.merge_openapi`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "deploy" / "k8s" / "base" / "nginx" / "openapi.json"
SERVICES = ("gallery", "upload", "transcoder", "streaming", "chat")

DESCRIPTION = """\
The public HTTP API of Reelhouse, behind one edge. JSON bodies use camelCase names.

**Authentication**: `Authorization: Bearer <JWT>` (the subject is the user id). Another user's private
object answers 404, as if it did not exist.

**Errors** are RFC 9457 `application/problem+json` bodies with a stable `code`; every operation lists
the codes it can answer. The edge itself may answer `429 RATE_LIMITED` (per-address limits; retry after
the `Retry-After` seconds), `413 PAYLOAD_TOO_LARGE` and `503 UPSTREAM_UNAVAILABLE`.

**Uploads** never carry bytes through the API: the client PUTs each part to the presigned `uploadUrl`.
**Chat** is a WebSocket at `/ws/streams/{streamId}/chat?ticket=...` (ticket from `createChatTicket`).

Rules and state machines: docs/api.md in the repository.
"""


def _version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def service_documents() -> dict[str, dict[str, Any]]:
    """Service name -> its finalized OpenAPI document (from the app, no I/O: apps are only built)."""
    from reelhouse.gallery.settings import GallerySettings

    docs = {}
    for name in SERVICES:
        module = importlib.import_module(f"reelhouse.{name}.main")
        settings = GallerySettings(dev_token_endpoint=False) if name == "gallery" else None
        docs[name] = module.build_app(settings).openapi()
    return docs


def build_document() -> dict[str, Any]:
    """The merged OpenAPI 3.1 document, as committed."""
    from reelhouse.platform.openapi import merge_openapi

    info = {"title": "Reelhouse API", "version": _version(), "description": DESCRIPTION}
    return merge_openapi(service_documents(), info)


def render(doc: dict[str, Any]) -> str:
    """The file's text: 2-space indented JSON, keys in the order built, trailing newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the committed document; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    text = render(build_document())
    if args.check:
        if not OUTPUT.is_file() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run make schemas", file=sys.stderr)
            return 1
        print(f"{OUTPUT.relative_to(ROOT)} is up to date")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
