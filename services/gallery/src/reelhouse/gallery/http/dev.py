"""Dev sign-in (issue 12; docs/web.md): ``POST /api/dev/token`` hands out a bearer JWT for any user id.

Only mounted when ``REELHOUSE_DEV_TOKEN_ENDPOINT`` is true, which the local stack sets
(deploy/local/stack.py) and nothing else does: everywhere else the path does not exist (404). The token
is the same HS256 JWT every service already verifies (reelhouse.platform.auth), so the web app works
unchanged when a real OpenID Connect provider issues the tokens instead.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field

from reelhouse.platform.api import StrictApiModel
from reelhouse.platform.auth import issue_token

router = APIRouter(prefix="/api/dev", tags=["dev"])

DEV_TOKEN_TTL_SECONDS = 12 * 3600
"""Lifetime of a dev token (seconds)."""


class DevTokenRequest(StrictApiModel):
    """``userId``: 1-64 characters of letters, digits, ``.``, ``_``, ``-`` (422 VALIDATION_ERROR otherwise)."""

    user_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")


@router.post("/token")
async def dev_token(body: DevTokenRequest, request: Request) -> dict:
    """A bearer token for ``userId``: ``{accessToken, tokenType: "Bearer", expiresIn (seconds), userId}``."""
    s = request.app.state.settings
    token = issue_token(body.user_id, s.jwt_secret, DEV_TOKEN_TTL_SECONDS, s.jwt_algorithm, username=body.user_id)
    return {"accessToken": token, "tokenType": "Bearer", "expiresIn": DEV_TOKEN_TTL_SECONDS, "userId": body.user_id}
