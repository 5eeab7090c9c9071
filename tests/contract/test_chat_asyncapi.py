"""The chat WebSocket protocol document (docs/chat.asyncapi.yaml) matches the chat service: the same
server and client frame types as the code declares, every frame the chat package builds is declared,
every client frame the parser accepts is in the document, and every $ref resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from reelhouse.chat.domain import rules
from reelhouse.chat.http.ws import CLIENT_FRAME_TYPES, SERVER_FRAME_TYPES

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
DOC = yaml.safe_load((ROOT / "docs" / "chat.asyncapi.yaml").read_text())
CHAT_SRC = ROOT / "services" / "chat" / "src" / "reelhouse" / "chat"
FRAME_LITERAL = re.compile(r"""\{\s*["']type["']\s*:\s*["']([a-z_]+)["']""")


def _resolve(ref: str) -> dict:
    node = DOC
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _types(operation: str) -> set[str]:
    out = set()
    for ref in DOC["operations"][operation]["messages"]:
        message = _resolve(_resolve(ref["$ref"])["$ref"]) if "$ref" in _resolve(ref["$ref"]) else _resolve(ref["$ref"])
        payload = message["payload"]
        payload = _resolve(payload["$ref"]) if "$ref" in payload else payload
        out.add(payload["properties"]["type"]["const"])
    return out


def test_the_document_is_asyncapi_3_with_one_channel_and_resolvable_refs():
    assert DOC["asyncapi"].startswith("3.") and list(DOC["channels"]) == ["chat"]
    assert DOC["channels"]["chat"]["address"] == "/ws/streams/{streamId}/chat"
    refs = re.findall(r"\$ref: '([^']+)'", (ROOT / "docs" / "chat.asyncapi.yaml").read_text())
    assert refs and all(_resolve(r) for r in refs)


def test_server_and_client_frame_types_match_the_code():
    assert _types("receiveFromServer") == set(SERVER_FRAME_TYPES)
    assert _types("sendToServer") == set(CLIENT_FRAME_TYPES)


def test_every_frame_the_chat_service_builds_is_declared():
    built = {m for path in CHAT_SRC.rglob("*.py") for m in FRAME_LITERAL.findall(path.read_text())}
    assert built, "no frame literal found"
    # docstrings show client frames too; anything else the package writes must be a declared server frame
    unknown = built - set(SERVER_FRAME_TYPES) - set(CLIENT_FRAME_TYPES)
    assert not unknown, unknown


def test_the_parser_accepts_exactly_the_declared_client_frames():
    for kind in CLIENT_FRAME_TYPES:
        frame = rules.parse_client_frame('{"type": "%s", "text": "hi"}' % kind, 1000)
        assert frame.type == kind
    with pytest.raises(rules.ChatError):
        rules.parse_client_frame('{"type": "subscribe"}', 1000)
