"""Base of every REST body: camelCase on the wire (docs/api.md), snake_case in Python; and the
ASGI middleware that refuses NUL characters in any request text (:class:`RejectNulMiddleware`)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from reelhouse.platform.problems import problem_response


class ApiModel(BaseModel):
    """Response/request model: fields serialize by camelCase alias and accept either spelling."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class StrictApiModel(ApiModel):
    """Request body that refuses unknown fields (422 VALIDATION_ERROR) instead of ignoring them."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


_JSON_NUL = re.compile(rb"\\u0000", re.IGNORECASE)


def contains_nul(value: Any) -> bool:  # noqa: ANN401
    """True when any string in a decoded JSON value (object keys included, at any depth) holds U+0000."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class RejectNulMiddleware:
    """ASGI middleware: an HTTP request with U+0000 in its path, its query string or any string of a JSON
    body is answered 422 problem+json ``VALIDATION_ERROR`` before any route runs.

    PostgreSQL ``text`` and ``jsonb`` cannot hold NUL, so such input used to fail deep in a handler with
    a 500 (issue 10; docs/security.md). JSON can carry NUL only as the escape ``\\u0000``; a body
    without that sequence is passed through untouched, one with it is decoded once to tell a real NUL
    from an escaped backslash. Non-JSON bodies and WebSocket traffic are passed through (chat drops
    control characters from message text itself).
    """

    def __init__(self, app: Any) -> None:  # noqa: ANN401
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:  # noqa: ANN401
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = None
        if "\x00" in scope.get("path", "") or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            where = "the URL"
        messages: list[dict] = []
        if where is None and _is_json(scope):
            body = b""
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
            if _JSON_NUL.search(body):
                try:
                    if contains_nul(json.loads(body)):
                        where = "the JSON body"
                except ValueError:
                    pass  # not JSON after all: the route's own validation answers
        if where is not None:
            response = problem_response(
                422, "VALIDATION_ERROR", "Request validation failed",
                f"{where} contains a NUL character (U+0000), which no text field accepts",
                instance=scope.get("path"),
            )  # fmt: skip
            await response(scope, receive, send)
            return

        async def replay() -> dict:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)


def _is_json(scope: dict) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False
