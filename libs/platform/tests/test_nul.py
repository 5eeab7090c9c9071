"""NUL characters in request text answer 422 problem+json, never 500 (issue 10; docs/security.md).

A minimal FastAPI app with the platform's problem handlers and middleware; the route would fail like
PostgreSQL does (``text`` cannot hold NUL) if a NUL ever reached it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from reelhouse.platform.api import RejectNulMiddleware, StrictApiModel, contains_nul
from reelhouse.platform.problems import install_problem_handlers

pytestmark = pytest.mark.unit


class Body(StrictApiModel):
    title: str
    tags: list[str] = []


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RejectNulMiddleware)

    @app.post("/things")
    async def create(body: Body, q: str | None = None) -> dict:
        for text in [body.title, *body.tags, q or ""]:
            if "\x00" in text:
                raise ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes")  # what psycopg raises
        return {"title": body.title, "q": q}

    return app


@pytest.fixture(scope="module")
def client():
    with TestClient(_app(), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(
    ("body", "query"),
    [
        ('{"title": "a\\u0000b"}', ""),
        ('{"title": "ok", "tags": ["x", "\\u0000"]}', ""),
        ('{"title": "ok", "t\\u0000": 1}', ""),
        ('{"title": "ok"}', "?q=a%00b"),
    ],
)
def test_a_nul_anywhere_is_422_problem_json(client, body, query):
    r = client.post(f"/things{query}", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "VALIDATION_ERROR" and "NUL" in r.json()["detail"]


def test_an_escaped_backslash_before_u0000_is_not_a_nul(client):
    r = client.post("/things", content='{"title": "C:\\\\u0000 is a path"}', headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["title"] == "C:\\u0000 is a path"


def test_clean_requests_pass_untouched(client):
    r = client.post("/things?q=fine", json={"title": "Harbour", "tags": ["sea"]})
    assert r.status_code == 200 and r.json() == {"title": "Harbour", "q": "fine"}
    assert client.post("/things", content="{not json", headers={"content-type": "application/json"}).json()["code"] == "VALIDATION_ERROR"


def test_contains_nul_walks_every_string():
    assert contains_nul({"a": [{"b": ["x", "y\x00"]}]})
    assert contains_nul({"k\x00": 1})
    assert not contains_nul({"a": [1, 2.5, None, True, {"b": "text"}]})
