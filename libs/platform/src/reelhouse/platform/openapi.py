"""OpenAPI documents of the services and their merge into the one public API document (docs/api.md,
"The API document").

A route declares its errors with :func:`problems` (status and stable ``code`` pairs, e.g.
``responses=problems((404, "VIDEO_NOT_FOUND"))``); :func:`finalize_openapi`, installed on every
service app by :func:`install_openapi`, turns each 4xx/5xx answer into an RFC 9457
``application/problem+json`` response whose ``code`` is an enum of the declared codes, replaces FastAPI's
own 422 body with the ``VALIDATION_ERROR`` problem, and adds ``401 UNAUTHENTICATED`` to every route that
takes a bearer token and ``500 INTERNAL_ERROR`` to every route (what :mod:`reelhouse.platform.problems`
answers). :func:`merge_openapi` joins the services' documents into one and adds what the nginx edge
itself answers (``429 RATE_LIMITED``, ``503 UPSTREAM_UNAVAILABLE``, ``413 PAYLOAD_TOO_LARGE``;
docs/security.md, "Edge limits").

Nothing here does I/O; the documents are plain ``dict`` trees in OpenAPI 3.1 shape.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from reelhouse.platform.problems import PROBLEM_JSON

PROBLEM_SCHEMA = "Problem"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
_CODES_KEY = "x-problem-codes"


class Problem(BaseModel):
    """RFC 9457 problem details as every Reelhouse service and the edge answer them: ``code`` is the
    stable, machine-readable UPPER_SNAKE name of the error (docs/api.md, "Conventions"); other members
    (``errors``, ``missingParts``, ``sessionStatus``...) may follow, named in camelCase."""

    model_config = ConfigDict(extra="allow", title=PROBLEM_SCHEMA)
    type: str = Field(default="about:blank", description="URI of the problem type; about:blank for all of ours")
    title: str = Field(description="short, human-readable summary of the problem type")
    status: int = Field(description="the HTTP status code")
    code: str = Field(description="stable error code (UPPER_SNAKE); switch on this, never on the title")
    detail: str | None = Field(default=None, description="what went wrong in this occurrence")
    instance: str | None = Field(default=None, description="the request path")


def problems(*declared: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` argument of a FastAPI route: the problem+json errors it answers.

    ``declared``: ``(status, code)`` pairs, e.g. ``(404, "VIDEO_NOT_FOUND"), (409, "ILLEGAL_TRANSITION")``;
    several codes may share a status. :func:`finalize_openapi` turns the result into problem+json
    responses (the 401/422/500 every route can answer need not be listed). Raises ``ValueError`` for a
    status below 400 or a code that is not UPPER_SNAKE."""
    out: dict[int | str, dict[str, Any]] = {}
    for status, code in declared:
        if status < 400 or not code.replace("_", "").isalnum() or code.upper() != code:
            raise ValueError(f"not a problem declaration: ({status}, {code!r})")
        entry = out.setdefault(status, {"description": HTTPStatus(status).phrase, _CODES_KEY: []})
        if code not in entry[_CODES_KEY]:
            entry[_CODES_KEY].append(code)
    return out


def _problem_content(codes: list[str]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}
    schema: dict[str, Any] = ref
    if codes:
        schema = {"allOf": [ref, {"type": "object", "properties": {"code": {"enum": sorted(codes)}}}]}
    return {PROBLEM_JSON: {"schema": schema}}


def _operations(doc: Mapping[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for path, item in doc.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                yield path, method, item[method]


def _add_problem(op: dict[str, Any], status: int, code: str) -> None:
    response = op.setdefault("responses", {}).setdefault(str(status), {"description": HTTPStatus(status).phrase})
    codes = response.setdefault(_CODES_KEY, [])
    if code not in codes:
        codes.append(code)


def _settle_problems(op: dict[str, Any]) -> None:
    """Every 4xx/5xx response of ``op`` as problem+json with its codes (from ``x-problem-codes``)."""
    for status, response in op.get("responses", {}).items():
        if not status.isdigit() or int(status) < 400:
            continue
        codes = sorted(set(response.pop(_CODES_KEY, [])) | set(_existing_codes(response)))
        response["content"] = _problem_content(codes)
        phrase = HTTPStatus(int(status)).phrase
        response["description"] = f"{phrase}: " + ", ".join(codes) if codes else phrase


def _existing_codes(response: Mapping[str, Any]) -> list[str]:
    """Codes already written by an earlier :func:`_settle_problems` (the merge runs it again)."""
    schema = response.get("content", {}).get(PROBLEM_JSON, {}).get("schema", {})
    for part in schema.get("allOf", []):
        enum = part.get("properties", {}).get("code", {}).get("enum")
        if enum:
            return list(enum)
    return []


def finalize_openapi(doc: dict[str, Any]) -> dict[str, Any]:
    """One service's FastAPI document made to tell the truth about errors (see the module docstring).

    Returns a new dict; ``doc`` is not changed. FastAPI's ``HTTPValidationError`` / ``ValidationError``
    schemas are dropped (a 422 answers the ``Problem`` with code ``VALIDATION_ERROR``)."""
    doc = copy.deepcopy(doc)
    for _path, _method, op in _operations(doc):
        if op.get("description"):
            op["description"] = _markdown(op["description"])
        responses = op.setdefault("responses", {})
        validation = responses.get("422")
        if validation is not None and "content" in validation and _CODES_KEY not in validation:
            schema = validation["content"].get("application/json", {}).get("schema", {})
            if schema.get("$ref", "").endswith("/HTTPValidationError"):
                responses["422"] = {"description": "Unprocessable Content"}
        if "422" in responses or op.get("parameters") or op.get("requestBody"):
            _add_problem(op, 422, "VALIDATION_ERROR")
        if op.get("security"):
            _add_problem(op, 401, "UNAUTHENTICATED")
        _add_problem(op, 500, "INTERNAL_ERROR")
        _settle_problems(op)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    schemas[PROBLEM_SCHEMA] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    return doc


_RST_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def _markdown(text: str) -> str:
    """A route docstring as Markdown (the description OpenAPI renders): Sphinx roles such as
    ``:func:`_finish_upload``` and double backquotes become single-backquoted code."""
    return _RST_ROLE.sub(r"`\1`", text).replace("``", "`")


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) answer the :func:`finalize_openapi` document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finalize_openapi(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


EDGE_PROBLEMS = ((429, "RATE_LIMITED"), (503, "UPSTREAM_UNAVAILABLE"))
"""What the edge answers for any API route (deploy/k8s/base/nginx/edge.conf.template)."""


def merge_openapi(docs: Mapping[str, Mapping[str, Any]], info: Mapping[str, Any], *, edge_problems: Iterable[tuple[int, str]] = EDGE_PROBLEMS) -> dict[str, Any]:
    """One OpenAPI 3.1 document from the services' finalized documents.

    ``docs``: service name -> document (:func:`finalize_openapi` output); ``info``: the merged ``info``
    object. Paths must not overlap; a component schema or security scheme defined by two services must
    be identical (``ValueError`` naming it otherwise). ``edge_problems`` are added to every operation,
    and ``413 PAYLOAD_TOO_LARGE`` to every operation with a request body (the edge refuses bodies over
    1 MiB). Each operation records its service in ``x-service``; the result's key order is stable."""
    merged: dict[str, Any] = {"openapi": "3.1.0", "info": dict(info), "servers": [{"url": "/", "description": "the edge"}]}
    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {"schemas": {}, "securitySchemes": {}}
    tags: list[dict[str, Any]] = []
    owner: dict[str, str] = {}
    for service, doc in docs.items():
        for path, item in doc.get("paths", {}).items():
            if path in paths:
                raise ValueError(f"path {path} is served by both {owner[path]} and {service}")
            paths[path] = copy.deepcopy(dict(item))
            owner[path] = service
            for method in _METHODS:
                if method in paths[path]:
                    paths[path][method]["x-service"] = service
        for kind in ("schemas", "securitySchemes"):
            for name, value in doc.get("components", {}).get(kind, {}).items():
                if name in components[kind] and components[kind][name] != value:
                    raise ValueError(f"components.{kind}.{name} differs between services (last: {service})")
                components[kind][name] = copy.deepcopy(value)
        for tag in doc.get("tags", []):
            if all(t["name"] != tag["name"] for t in tags):
                tags.append(dict(tag))
    merged["paths"] = {p: paths[p] for p in sorted(paths)}
    seen_ids: dict[str, str] = {}
    for path, method, op in _operations(merged):
        op_id = op.get("operationId")
        if not op_id:
            raise ValueError(f"{method.upper()} {path} has no operationId")
        if op_id in seen_ids:
            raise ValueError(f"operationId {op_id} used by {seen_ids[op_id]} and {method.upper()} {path}")
        seen_ids[op_id] = f"{method.upper()} {path}"
        for tag in op.get("tags", []):
            if all(t["name"] != tag for t in tags):
                tags.append({"name": tag})
        for status, code in edge_problems:
            _add_problem(op, status, code)
        if op.get("requestBody"):
            _add_problem(op, 413, "PAYLOAD_TOO_LARGE")
        _settle_problems(op)
        op["responses"] = {k: op["responses"][k] for k in sorted(op["responses"])}
    merged["components"] = {kind: {n: v[n] for n in sorted(v)} for kind, v in components.items() if v}
    if tags:
        merged["tags"] = tags
    return merged
