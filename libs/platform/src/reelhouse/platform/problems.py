"""RFC 9457 problem details (``application/problem+json``) with a stable ``code`` member."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)


class ProblemError(Exception):
    """An error answered as problem+json: ``status`` (HTTP), ``code`` (stable, UPPER_SNAKE),
    ``title`` (short), ``detail`` (this occurrence), ``extra`` (more members, camelCase)."""

    def __init__(self, status: int, code: str, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(f"{code}: {detail or title}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}


def problem_response(status: int, code: str, title: str, detail: str | None = None, instance: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """Build a problem+json response (RFC 9457 section 3)."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_STATUS_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 409: "CONFLICT"}


def install_problem_handlers(app: FastAPI) -> None:
    """Answer ProblemError, validation errors, HTTP errors and unexpected errors as problem+json."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.code, exc.title, exc.detail, instance=request.url.path, headers=exc.headers or None, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        return problem_response(422, "VALIDATION_ERROR", "Request validation failed", "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors), instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, _STATUS_CODES.get(exc.status_code, "HTTP_ERROR"), str(exc.detail), instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("http.unhandled_error", path=request.url.path)
        return problem_response(500, "INTERNAL_ERROR", "Internal server error", instance=request.url.path)
