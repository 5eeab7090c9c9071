"""Contract tests of the public HTTP API document (docs/api.md, "The API document"): the committed
``deploy/k8s/base/nginx/openapi.json`` (served by the edge at ``/api/openapi.json``) is exactly what the
five services' apps produce, it is a valid OpenAPI 3.1 document, and it tells a client everything it
needs: a named response schema for every route, every error as problem+json with its stable codes,
short unique operation ids, and nothing that is not public."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.contract

REPO = Path(__file__).resolve().parents[2]
PROBLEM_JSON = "application/problem+json"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head")


def _tool():
    spec = importlib.util.spec_from_file_location("reelhouse_tools_openapi", REPO / "tools" / "openapi.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool():
    return _tool()


@pytest.fixture(scope="module")
def produced(tool) -> dict:
    return tool.build_document()


@pytest.fixture(scope="module")
def committed(tool) -> dict:
    import json

    return json.loads(tool.OUTPUT.read_text(encoding="utf-8"))


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_committed_document_is_what_the_services_produce(tool, produced) -> None:
    assert tool.OUTPUT.is_file(), "no committed API document: run `make schemas`"
    assert tool.OUTPUT.read_text(encoding="utf-8") == tool.render(produced), "the API document is out of date: run `make schemas`"


def test_the_document_is_valid_openapi_3_1(committed) -> None:
    assert committed["openapi"].startswith("3.1")
    validate(committed)  # raises on any violation of the OpenAPI 3.1 schema or a dangling $ref


def test_every_public_route_of_every_service_is_in_the_document(produced) -> None:
    ops = {(method.upper(), path): op["x-service"] for path, method, op in _operations(produced)}
    expected = {
        ("POST", "/api/videos"): "gallery", ("GET", "/api/videos"): "gallery", ("GET", "/api/videos/{video_id}"): "gallery",
        ("PATCH", "/api/videos/{video_id}"): "gallery", ("DELETE", "/api/videos/{video_id}"): "gallery",
        ("POST", "/api/videos/{video_id}/retry"): "gallery",
        ("POST", "/api/videos/{video_id}/uploads"): "upload", ("GET", "/api/uploads/{sid}"): "upload",
        ("POST", "/api/uploads/{sid}/parts"): "upload", ("POST", "/api/uploads/{sid}/complete"): "upload",
        ("POST", "/api/uploads/{sid}/pause"): "upload", ("POST", "/api/uploads/{sid}/resume"): "upload",
        ("POST", "/api/uploads/{sid}/cancel"): "upload",
        ("GET", "/api/videos/{video_id}/playback"): "streaming", ("GET", "/api/videos/{video_id}/qualities"): "streaming",
        ("GET", "/api/streams"): "streaming", ("POST", "/api/streams"): "streaming",
        ("POST", "/api/streams/{stream_id}/start"): "streaming", ("GET", "/api/streams/{stream_id}/ingest"): "streaming",
        ("GET", "/api/streams/{stream_id}/chat/messages"): "chat", ("POST", "/api/streams/{stream_id}/chat/ticket"): "chat",
        ("POST", "/api/streams/{stream_id}/chat/bans"): "chat",
        ("POST", "/api/webhooks"): "gallery", ("POST", "/api/webhooks/{endpoint_id}/rotate-secret"): "gallery",
    }  # fmt: skip
    for key, service in expected.items():
        assert ops.get(key) == service, key
    # only the public API: no health, metrics, internal callbacks, worker admin or dev sign-in
    assert all(path.startswith(("/api/videos", "/api/uploads", "/api/streams", "/api/webhooks")) for _m, path in ops), sorted(ops)
    assert len(ops) == 46


def test_operation_ids_are_short_unique_and_camel_case(committed) -> None:
    ids = [op["operationId"] for _p, _m, op in _operations(committed)]
    assert len(ids) == len(set(ids))
    for op_id in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", op_id) and len(op_id) <= 24, op_id
    assert {"createVideo", "listVideos", "createUpload", "completeUpload", "getPlayback", "createChatTicket"} <= set(ids)


def test_every_answer_has_a_named_schema_and_every_error_is_a_problem_with_codes(committed) -> None:
    schemas = committed["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    for path, method, op in _operations(committed):
        where = f"{method.upper()} {path}"
        successes = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert successes, where
        for status, response in successes.items():
            if status == "204":
                assert "content" not in response, where
                continue
            schema = response["content"]["application/json"]["schema"]
            ref = schema.get("$ref", "")
            assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, (where, schema)
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        assert {"429", "500"} <= set(errors), where
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in errors, where
        if op.get("security"):
            assert "401" in errors, where
        for status, response in errors.items():
            assert list(response["content"]) == [PROBLEM_JSON], (where, status)
            parts = response["content"][PROBLEM_JSON]["schema"]["allOf"]
            assert parts[0] == {"$ref": "#/components/schemas/Problem"}
            codes = parts[1]["properties"]["code"]["enum"]
            assert codes and all(re.fullmatch(r"[A-Z][A-Z0-9_]+", c) for c in codes), (where, status)
    problem = schemas["Problem"]
    assert set(problem["required"]) >= {"title", "status", "code"}


def test_routes_declare_the_codes_they_answer(committed) -> None:
    def codes(path: str, method: str, status: str) -> set[str]:
        schema = committed["paths"][path][method]["responses"][status]["content"][PROBLEM_JSON]["schema"]
        return set(schema["allOf"][1]["properties"]["code"]["enum"])

    assert codes("/api/videos", "post", "422") >= {"UNSUPPORTED_FORMAT", "VALIDATION_ERROR"}
    assert codes("/api/videos", "post", "413") >= {"FILE_TOO_LARGE", "PAYLOAD_TOO_LARGE"}
    assert codes("/api/videos/{video_id}", "get", "404") == {"VIDEO_NOT_FOUND"}
    assert codes("/api/uploads/{sid}/complete", "post", "422") >= {"PART_MISSING", "SIZE_MISMATCH", "UNSUPPORTED_FORMAT"}
    assert codes("/api/streams/{stream_id}/stop", "post", "503") == {"INGEST_UNAVAILABLE", "UPSTREAM_UNAVAILABLE"}
    assert codes("/api/streams/{stream_id}/chat/messages/{message_id}", "delete", "403") == {"NOT_MODERATOR", "CANNOT_MODERATE"}
    assert codes("/api/videos", "get", "429") == {"RATE_LIMITED"}


def test_every_declared_code_is_one_the_code_answers(committed) -> None:
    """A declared code that no service or edge file spells is a typo (or a code that no longer exists)."""
    sources = [p for root in ("services", "libs") for p in (REPO / root).rglob("*.py") if "/tests/" not in p.as_posix()]
    sources.append(REPO / "deploy/k8s/base/nginx/edge.conf.template")
    text = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    text = re.sub(r'\(\d{3}, "[A-Z0-9_]+"\)', "", text)  # the declarations themselves (problems(...)) do not count
    declared = set()
    for _p, _m, op in _operations(committed):
        for response in op["responses"].values():
            schema = response.get("content", {}).get(PROBLEM_JSON, {}).get("schema")
            if schema:
                declared |= set(schema["allOf"][1]["properties"]["code"]["enum"])
    missing = sorted(c for c in declared if f'"{c}"' not in text)
    assert missing == []
