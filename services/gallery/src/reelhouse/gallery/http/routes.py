"""Gallery REST API: /api/videos (docs/api.md, "Videos").

Errors are RFC 9457 problem+json with stable codes: UNSUPPORTED_FORMAT (422), FILE_TOO_LARGE (413),
VIDEO_NOT_FOUND (404; also for another user's private video), ETAG_MISMATCH (412),
ILLEGAL_TRANSITION / SOURCE_MISSING (409), INVALID_CURSOR (400).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import and_, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.contracts.events import VideoCreatedV1, VideoDeletedV1, VideoRetryRequestedV1, VideoUpdatedV1
from reelhouse.gallery.adapters import webhooks
from reelhouse.gallery.adapters.db import Video, VideoAsset, VideoTransition, touch, utcnow
from reelhouse.gallery.domain.lifecycle import IllegalTransition, VideoStatus, check_transition
from reelhouse.gallery.domain.validation import ValidationFailure, normalize_mime, validate_source
from reelhouse.gallery.http.schemas import (
    CreateVideo,
    Playback,
    Rendition,
    Source,
    UpdateVideo,
    VideoOut,
    VideoPage,
    VideoSummary,
)
from reelhouse.platform.auth import CurrentUser
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.platform.openapi import problems
from reelhouse.platform.problems import ProblemError
from reelhouse.platform.signing import HmacPathSigner

router = APIRouter(prefix="/api/videos", tags=["videos"])
SOURCE = "/reelhouse/gallery"


def _etag(video: Video) -> str:
    return f'"{video.id.hex[:8]}-{video.version}"'


def _signer(request: Request) -> HmacPathSigner:
    s = request.app.state.settings
    return HmacPathSigner(s.edge_base_url, s.playback_signing_secret)


def video_out(request: Request, video: Video, assets: list[VideoAsset]) -> VideoOut:
    """Serialize ``video``; signs the master playlist and poster only when READY."""
    playback = Playback(ready=False)
    if video.status == VideoStatus.READY and video.master_key:
        ttl = request.app.state.settings.playback_url_ttl_seconds
        scope = f"videos/{video.id}"
        signer = _signer(request)
        signed = signer.sign(scope, video.master_key.removeprefix(scope + "/"), ttl)
        poster = signer.sign(scope, video.poster_key.removeprefix(scope + "/"), ttl).url if video.poster_key else None
        playback = Playback(ready=True, stream_url=signed.url, poster_url=poster, expires_at=signed.expires_at)
    renditions = [
        Rendition(quality=a.quality_label, width=a.width, height=a.height, bandwidth=a.bandwidth, codecs=a.codec)
        for a in sorted(assets, key=lambda a: -(a.height or 0))
        if a.type == "HLS_RENDITION"
    ]
    return VideoOut(
        id=video.id,
        owner_id=video.owner_id,
        title=video.title,
        description=video.description,
        visibility=video.visibility,
        source=Source(mime=video.source_mime, size_bytes=video.source_size_bytes, file_name=video.source_file_name),
        status=video.status,
        fail_reason=video.fail_reason,
        fail_detail=video.fail_detail,
        transcode_progress=video.transcode_progress if video.status == VideoStatus.TRANSCODING else None,
        duration_seconds=video.duration_seconds,
        width=video.width,
        height=video.height,
        renditions=renditions,
        playback=playback,
        view_count=video.view_count,
        created_at=video.created_at,
        updated_at=video.updated_at,
    )


def video_summary(request: Request, video: Video) -> VideoSummary:
    """A list item: the card fields plus a signed poster URL when READY with a poster (so a grid needs
    no request per video); progress only while TRANSCODING, the reason only when FAILED."""
    poster = None
    if video.status == VideoStatus.READY and video.poster_key:
        scope = f"videos/{video.id}"
        ttl = request.app.state.settings.playback_url_ttl_seconds
        poster = _signer(request).sign(scope, video.poster_key.removeprefix(scope + "/"), ttl).url
    return VideoSummary(
        id=video.id,
        owner_id=video.owner_id,
        title=video.title,
        description=video.description,
        status=video.status,
        visibility=video.visibility,
        duration_seconds=video.duration_seconds,
        transcode_progress=video.transcode_progress if video.status == VideoStatus.TRANSCODING else None,
        fail_reason=video.fail_reason if video.status == VideoStatus.FAILED else None,
        poster_url=poster,
        created_at=video.created_at,
        updated_at=video.updated_at,
    )


async def _load_visible(session: AsyncSession, video_id: uuid.UUID, user_id: str, owner_only: bool = False) -> Video:
    video = await session.get(Video, video_id)
    if video is None or (video.owner_id != user_id and (owner_only or video.visibility != "public")):
        raise ProblemError(404, "VIDEO_NOT_FOUND", "Video not found", f"no video {video_id}")
    return video


async def _assets(session: AsyncSession, video_id: uuid.UUID) -> list[VideoAsset]:
    return list((await session.execute(select(VideoAsset).where(VideoAsset.video_id == video_id))).scalars())


@router.post(
    "", status_code=201, response_model=VideoOut, operation_id="createVideo",
    responses=problems((422, "UNSUPPORTED_FORMAT"), (422, "INVALID_SIZE"), (413, "FILE_TOO_LARGE")),
)  # fmt: skip
async def create_video(body: CreateVideo, user: CurrentUser, request: Request, response: Response) -> VideoOut:
    """Create a DRAFT video after validating the declared format and size (422 / 413 otherwise)."""
    try:
        validate_source(body.source_mime, body.source_size_bytes, body.file_name)
    except ValidationFailure as exc:
        raise ProblemError(exc.status, exc.code, "Source rejected", exc.detail) from exc
    video = Video(
        owner_id=user.user_id,
        title=body.title,
        description=body.description,
        visibility=body.visibility,
        source_mime=normalize_mime(body.source_mime),
        source_size_bytes=body.source_size_bytes,
        source_file_name=body.file_name,
    )
    async with request.app.state.db.session() as session:
        session.add(video)
        await session.flush()
        await add_event(
            session,
            VideoCreatedV1(
                video_id=video.id,
                owner_id=video.owner_id,
                title=video.title,
                source_mime=video.source_mime,
                source_size_bytes=video.source_size_bytes,
                visibility=video.visibility,
                source_extension=(body.file_name.rsplit(".", 1)[-1].lower() if body.file_name and "." in body.file_name else None),
            ),
            SOURCE,
            request.headers.get("x-request-id"),
        )
    response.headers["ETag"] = _etag(video)
    response.headers["Location"] = f"/api/videos/{video.id}"
    return video_out(request, video, [])


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(data["createdAt"]), uuid.UUID(data["id"])
    except Exception as exc:  # noqa: BLE001
        raise ProblemError(400, "INVALID_CURSOR", "Invalid cursor", "the cursor is not one this API returned") from exc


def _encode_cursor(video: Video) -> str:
    raw = json.dumps({"createdAt": video.created_at.isoformat(), "id": str(video.id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@router.get("", response_model=VideoPage, operation_id="listVideos", responses=problems((400, "INVALID_CURSOR")))
async def list_videos(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    status: VideoStatus | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    owner: Annotated[str | None, Query(pattern="^me$")] = None,
) -> VideoPage:
    """Newest first; the caller's videos plus public ones (``owner=me``: only the caller's)."""
    stmt = select(Video)
    if owner == "me":
        stmt = stmt.where(Video.owner_id == user.user_id)
    else:
        stmt = stmt.where(or_(Video.owner_id == user.user_id, Video.visibility == "public"))
    if status is not None:
        stmt = stmt.where(Video.status == status.value)
    if q:
        stmt = stmt.where(
            text("to_tsvector('simple', coalesce(title,'') || ' ' || coalesce(description,'')) @@ plainto_tsquery('simple', :q)").bindparams(q=q)
        )
    if cursor:
        created, vid = _decode_cursor(cursor)
        stmt = stmt.where(or_(Video.created_at < created, and_(Video.created_at == created, Video.id < vid)))
    stmt = stmt.order_by(Video.created_at.desc(), Video.id.desc()).limit(limit + 1)
    async with request.app.state.db.session() as session:
        rows = list((await session.execute(stmt)).scalars())
    page, more = rows[:limit], len(rows) > limit
    return VideoPage(
        items=[video_summary(request, v) for v in page],
        next_cursor=_encode_cursor(page[-1]) if more and page else None,
    )


@router.get("/{video_id}", response_model=VideoOut, operation_id="getVideo", responses=problems((404, "VIDEO_NOT_FOUND")))
async def get_video(video_id: uuid.UUID, request: Request, user: CurrentUser, response: Response) -> VideoOut:
    """One video; 404 when it does not exist or is another user's private video."""
    async with request.app.state.db.session() as session:
        video = await _load_visible(session, video_id, user.user_id)
        assets = await _assets(session, video_id)
    response.headers["ETag"] = _etag(video)
    return video_out(request, video, assets)


@router.patch(
    "/{video_id}", response_model=VideoOut, operation_id="updateVideo",
    responses=problems((404, "VIDEO_NOT_FOUND"), (412, "ETAG_MISMATCH")),
)  # fmt: skip
async def update_video(
    video_id: uuid.UUID,
    body: UpdateVideo,
    request: Request,
    user: CurrentUser,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> VideoOut:
    """Change title/description/visibility; with ``If-Match`` the ETag must be current (412 otherwise).

    A change publishes ``video.updated`` (the new values and version) in the same transaction, so every
    copy of the visibility (streaming's playback projection) follows it (docs/security.md).
    """
    async with request.app.state.db.session() as session:
        video = await _load_visible(session, video_id, user.user_id, owner_only=True)
        await session.refresh(video, with_for_update=True)
        if if_match is not None and if_match.strip() not in ("*", _etag(video)):
            raise ProblemError(412, "ETAG_MISMATCH", "Precondition failed", "the video changed since you read it; GET it again")
        for name, value in body.model_dump(exclude_unset=True).items():
            if value is not None:
                setattr(video, name, value)
        video.version += 1
        video.updated_at = utcnow()
        session.add(video)
        await session.flush()
        await add_event(
            session,
            VideoUpdatedV1(
                video_id=video.id,
                owner_id=video.owner_id,
                version=video.version,
                title=video.title,
                visibility=video.visibility,
                description=video.description,
            ),
            SOURCE,
            request.headers.get("x-request-id"),
        )
        assets = await _assets(session, video_id)
    response.headers["ETag"] = _etag(video)
    return video_out(request, video, assets)


@router.delete("/{video_id}", status_code=204, operation_id="deleteVideo", responses=problems((404, "VIDEO_NOT_FOUND")))
async def delete_video(video_id: uuid.UUID, request: Request, user: CurrentUser) -> Response:
    """Delete the video and its asset rows; storage is cleaned up asynchronously (video.deleted)."""
    async with request.app.state.db.session() as session:
        video = await _load_visible(session, video_id, user.user_id, owner_only=True)
        await session.execute(delete(VideoAsset).where(VideoAsset.video_id == video_id))
        await session.delete(video)
        await add_event(session, VideoDeletedV1(video_id=video_id, owner_id=video.owner_id), SOURCE, request.headers.get("x-request-id"))
        await webhooks.enqueue(session, video.owner_id, "video.deleted", {"videoId": str(video_id)})
    return Response(status_code=204)


@router.post(
    "/{video_id}/retry", status_code=202, response_model=VideoOut, operation_id="retryVideo",
    responses=problems((404, "VIDEO_NOT_FOUND"), (409, "ILLEGAL_TRANSITION"), (409, "SOURCE_MISSING"), (409, "READY_IS_FINAL")),
)  # fmt: skip
async def retry_video(video_id: uuid.UUID, request: Request, user: CurrentUser, response: Response) -> VideoOut:
    """FAILED -> TRANSCODING when the source exists; publishes video.retry_requested (409 otherwise)."""
    async with request.app.state.db.session() as session:
        video = await _load_visible(session, video_id, user.user_id, owner_only=True)
        await session.refresh(video, with_for_update=True)
        try:
            check_transition(VideoStatus(video.status), VideoStatus.TRANSCODING, source_exists=bool(video.source_file_key))
        except IllegalTransition as exc:
            raise ProblemError(409, exc.code, "Retry not possible", str(exc), videoStatus=video.status) from exc
        session.add(VideoTransition(video_id=video.id, from_status=video.status, to_status=str(VideoStatus.TRANSCODING), cause="retry"))
        video.status = VideoStatus.TRANSCODING
        video.fail_reason = None
        video.fail_detail = None
        video.transcode_progress = 0.0
        video.version += 1
        video.updated_at = utcnow()
        touch(video)
        session.add(video)
        await add_event(
            session,
            VideoRetryRequestedV1(
                video_id=video.id,
                owner_id=video.owner_id,
                bucket=video.source_bucket,
                source_file_key=video.source_file_key,
                source_mime=video.source_mime,
                source_size_bytes=video.source_size_bytes,
            ),
            SOURCE,
            request.headers.get("x-request-id"),
        )
        assets = await _assets(session, video_id)
    response.headers["ETag"] = _etag(video)
    return video_out(request, video, assets)


async def count_videos(session: AsyncSession) -> int:
    """Number of videos (used by tests and metrics)."""
    return int((await session.execute(select(func.count()).select_from(Video))).scalar_one())
