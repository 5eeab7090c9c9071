"""Streaming REST API: signed playback of transcoded videos (docs/api.md).

Every route needs a bearer JWT (401 ``UNAUTHENTICATED`` otherwise). Errors are RFC 9457
problem+json with stable codes:

- 404 ``VIDEO_NOT_FOUND``: no such video here, or the caller may not see it (another user's private
  video; also while the owner is not yet known), so private videos are indistinguishable from missing
  ones;
- 404 ``PLAYBACK_NOT_READY``: the caller may see the video but no transcode result has arrived yet
  (not READY). Only the owner, or anyone for a public video, can ever get this code;
- 422 ``VALIDATION_ERROR``: a malformed id or a ``ttl`` outside 60..86400.

Every URL is ``HmacPathSigner(edge_base_url, playback_signing_secret).sign(scope="videos/<id>",
path=<object key below the scope>, ttl_seconds=ttl)``; all URLs of one response share one expiry.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.contracts.events import PlaybackViewedV1
from reelhouse.platform.auth import CurrentUser
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.platform.openapi import problems
from reelhouse.platform.problems import ProblemError
from reelhouse.platform.signing import HmacPathSigner, PlaybackSigner
from reelhouse.streaming.adapters.db import PlaybackAsset, PlaybackRendition, utcnow
from reelhouse.streaming.domain.playback import (
    MAX_TTL_SECONDS,
    MIN_TTL_SECONDS,
    can_view,
    effective_ttl,
    order_renditions,
    path_below_scope,
    scope_for,
)
from reelhouse.streaming.http.schemas import PlaybackOut, QualitiesOut, QualityOut

router = APIRouter(prefix="/api/videos", tags=["playback"])
SOURCE = "/reelhouse/streaming"

Ttl = Annotated[
    int | None,
    Query(
        ge=MIN_TTL_SECONDS,
        le=MAX_TTL_SECONDS,
        description="requested URL lifetime in seconds; capped at the configured playback_url_ttl_seconds",
    ),
]


def signer_for(request: Request) -> HmacPathSigner:
    """The edge signer configured by ``edge_base_url`` and ``playback_signing_secret``."""
    s = request.app.state.settings
    return HmacPathSigner(s.edge_base_url, s.playback_signing_secret)


def _sign(signer: PlaybackSigner, scope: str, key: str, ttl: int, now: float) -> str:
    return signer.sign(scope=scope, path=path_below_scope(scope, key), ttl_seconds=ttl, now=now).url


def qualities_out(
    signer: PlaybackSigner, video_id: uuid.UUID, renditions: list[PlaybackRendition], ttl: int, now: float
) -> list[QualityOut]:
    """Renditions best first, each with its playlist URL signed for ``ttl`` seconds from ``now`` (unix s)."""
    scope = scope_for(video_id)
    return [
        QualityOut(
            quality=r.quality,
            width=r.width,
            height=r.height,
            bandwidth=r.bandwidth,
            codecs=r.codecs,
            url=_sign(signer, scope, r.playlist_key, ttl, now),
        )
        for r in order_renditions(renditions)
    ]


def playback_out(
    signer: PlaybackSigner, asset: PlaybackAsset, renditions: list[PlaybackRendition], ttl: int, now: float
) -> PlaybackOut:
    """The playback body of a READY ``asset`` (``master_key`` set), every URL signed for ``ttl`` seconds
    from ``now`` (unix seconds). Raises ``KeyOutsideScope`` for a key the edge could not serve
    (the handler refuses such results, so this means corrupted data)."""
    scope = scope_for(asset.video_id)
    master = signer.sign(scope=scope, path=path_below_scope(scope, asset.master_key), ttl_seconds=ttl, now=now)
    return PlaybackOut(
        video_id=asset.video_id,
        stream_url=master.url,
        expires_at=master.expires_at,
        duration_seconds=asset.duration_seconds,
        width=asset.width,
        height=asset.height,
        qualities=qualities_out(signer, asset.video_id, renditions, ttl, now),
        poster_url=_sign(signer, scope, asset.poster_key, ttl, now) if asset.poster_key else None,
        thumbnail_urls=[_sign(signer, scope, k, ttl, now) for k in asset.thumbnail_keys or []],
        storyboard_url=_sign(signer, scope, asset.storyboard_key, ttl, now) if asset.storyboard_key else None,
    )


async def _load_playable(
    session: AsyncSession, video_id: uuid.UUID, user_id: str
) -> tuple[PlaybackAsset, list[PlaybackRendition]]:
    asset = await session.get(PlaybackAsset, video_id)
    if asset is None or not can_view(asset.owner_id, asset.visibility, user_id):
        raise ProblemError(404, "VIDEO_NOT_FOUND", "Video not found", f"no video {video_id}")
    if not asset.master_key:
        raise ProblemError(404, "PLAYBACK_NOT_READY", "Playback not ready", f"video {video_id} has not finished transcoding")
    renditions = list(
        (await session.execute(select(PlaybackRendition).where(PlaybackRendition.video_id == video_id))).scalars()
    )
    return asset, renditions


@router.get(
    "/{video_id}/playback", response_model=PlaybackOut, operation_id="getPlayback",
    responses=problems((404, "VIDEO_NOT_FOUND"), (404, "PLAYBACK_NOT_READY")),
)  # fmt: skip
async def get_playback(video_id: uuid.UUID, request: Request, user: CurrentUser, ttl: Ttl = None) -> PlaybackOut:
    """Signed playback URLs of a READY video (see the module docstring for errors).

    ``ttl`` (seconds, 60..86400) asks for a shorter expiry than the configured default; a longer one is
    capped at the default. Each successful call publishes ``playback.viewed`` through the outbox in the
    same transaction that read the projection.
    """
    settings = request.app.state.settings
    lifetime = effective_ttl(ttl, settings.playback_url_ttl_seconds)
    now = time.time()
    async with request.app.state.db.session() as session:
        asset, renditions = await _load_playable(session, video_id, user.user_id)
        body = playback_out(signer_for(request), asset, renditions, lifetime, now)
        await add_event(
            session,
            PlaybackViewedV1(video_id=video_id, viewer_id=user.user_id, at=utcnow()),
            SOURCE,
            request.headers.get("x-request-id"),
        )
    return body


@router.get(
    "/{video_id}/qualities", response_model=QualitiesOut, operation_id="listQualities",
    responses=problems((404, "VIDEO_NOT_FOUND"), (404, "PLAYBACK_NOT_READY")),
)  # fmt: skip
async def get_qualities(video_id: uuid.UUID, request: Request, user: CurrentUser, ttl: Ttl = None) -> QualitiesOut:
    """The renditions of a READY video, best first, with signed playlist URLs (same errors and ``ttl``
    as playback; publishes nothing)."""
    settings = request.app.state.settings
    lifetime = effective_ttl(ttl, settings.playback_url_ttl_seconds)
    async with request.app.state.db.session() as session:
        _, renditions = await _load_playable(session, video_id, user.user_id)
    return QualitiesOut(video_id=video_id, qualities=qualities_out(signer_for(request), video_id, renditions, lifetime, time.time()))
