"""The services' OpenAPI documents declare every error as problem+json with its codes, and the merge
into one document refuses overlaps (reelhouse.platform.openapi; docs/api.md, "The API document")."""

from __future__ import annotations

import uuid

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from reelhouse.platform.api import ApiModel
from reelhouse.platform.auth import CurrentUser
from reelhouse.platform.openapi import (
    PROBLEM_SCHEMA,
    finalize_openapi,
    install_openapi,
    merge_openapi,
    problems,
)
from reelhouse.platform.problems import PROBLEM_JSON

pytestmark = pytest.mark.unit


class ThingOut(ApiModel):
    thing_id: uuid.UUID


def _app(prefix: str = "/api/things", op_prefix: str = "") -> FastAPI:
    router = APIRouter(prefix=prefix, tags=["things"])

    @router.get("/{thing_id}", response_model=ThingOut, operation_id=f"{op_prefix}getThing", responses=problems((404, "THING_NOT_FOUND"), (409, "THING_BUSY"), (409, "THING_GONE")))
    async def get_thing(thing_id: uuid.UUID, user: CurrentUser) -> ThingOut:
        return ThingOut(thing_id=thing_id)

    @router.get("", response_model=ThingOut, operation_id=f"{op_prefix}anyThing")
    async def any_thing() -> ThingOut:
        return ThingOut(thing_id=uuid.uuid4())

    app = FastAPI()
    app.include_router(router)
    install_openapi(app)
    return app


def _codes(response: dict) -> list[str]:
    schema = response["content"][PROBLEM_JSON]["schema"]
    assert schema["allOf"][0] == {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}
    return schema["allOf"][1]["properties"]["code"]["enum"]


def test_errors_become_problems_with_their_codes() -> None:
    doc = TestClient(_app()).get("/openapi.json").json()
    op = doc["paths"]["/api/things/{thing_id}"]["get"]
    assert _codes(op["responses"]["404"]) == ["THING_NOT_FOUND"]
    assert _codes(op["responses"]["409"]) == ["THING_BUSY", "THING_GONE"]
    assert _codes(op["responses"]["422"]) == ["VALIDATION_ERROR"]  # not FastAPI's HTTPValidationError
    assert _codes(op["responses"]["401"]) == ["UNAUTHENTICATED"]  # it takes a bearer token
    assert _codes(op["responses"]["500"]) == ["INTERNAL_ERROR"]
    assert "409: THING_BUSY" not in op["responses"]["409"]["description"]
    assert "THING_BUSY, THING_GONE" in op["responses"]["409"]["description"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert doc["components"]["schemas"][PROBLEM_SCHEMA]["required"] == ["title", "status", "code"]
    public = doc["paths"]["/api/things"]["get"]
    assert "401" not in public["responses"] and "422" not in public["responses"]  # no token, no input


def test_finalize_leaves_its_input_alone() -> None:
    app = FastAPI()
    app.get("/x", operation_id="x")(lambda: {})
    raw = app.openapi()
    before = repr(raw)
    finalize_openapi(raw)
    assert repr(raw) == before


def test_merge_adds_the_edge_answers_and_keeps_each_service_apart() -> None:
    merged = merge_openapi(
        {"one": _app().openapi(), "two": _app("/api/others", "other").openapi()}, {"title": "T", "version": "1"}
    )
    assert merged["openapi"] == "3.1.0" and merged["info"] == {"title": "T", "version": "1"}
    op = merged["paths"]["/api/things/{thing_id}"]["get"]
    assert op["x-service"] == "one"
    assert merged["paths"]["/api/others"]["get"]["x-service"] == "two"
    assert _codes(op["responses"]["429"]) == ["RATE_LIMITED"]
    assert _codes(op["responses"]["503"]) == ["UPSTREAM_UNAVAILABLE"]
    assert _codes(op["responses"]["404"]) == ["THING_NOT_FOUND"]
    assert list(op["responses"]) == sorted(op["responses"])
    assert [t["name"] for t in merged["tags"]] == ["things"]


def test_merge_refuses_overlaps() -> None:
    info = {"title": "T", "version": "1"}
    with pytest.raises(ValueError, match="served by both"):
        merge_openapi({"one": _app().openapi(), "two": _app().openapi()}, info)
    with pytest.raises(ValueError, match="operationId (any|get)Thing used by"):
        merge_openapi({"one": _app().openapi(), "two": _app("/api/others").openapi()}, info)
    other = _app("/api/others", "other").openapi()
    other["components"]["schemas"]["ThingOut"] = {"type": "object", "title": "ThingOut", "properties": {}}
    with pytest.raises(ValueError, match="ThingOut differs"):
        merge_openapi({"one": _app().openapi(), "two": other}, info)
    nameless = FastAPI()
    nameless.get("/api/nameless")(lambda: {})
    doc = finalize_openapi(nameless.openapi())
    del doc["paths"]["/api/nameless"]["get"]["operationId"]
    with pytest.raises(ValueError, match="no operationId"):
        merge_openapi({"one": doc}, info)


def test_problems_refuses_what_is_not_an_error_code() -> None:
    with pytest.raises(ValueError):
        problems((200, "OK"))
    with pytest.raises(ValueError):
        problems((404, "not-found"))
    assert problems((404, "A"), (404, "A"))[404]["x-problem-codes"] == ["A"]
