"""Upload-session REST API (docs/api.md, "Upload sessions").

Bytes never pass through this service: clients PUT parts to presigned S3 URLs. Stable error codes:
VIDEO_NOT_FOUND / UPLOAD_NOT_FOUND (404, also for another user's), UPLOAD_SESSION_EXISTS,
ALREADY_UPLOADED, SESSION_PAUSED, SESSION_COMPLETED, SESSION_CANCELED, SESSION_FAILED,
ILLEGAL_SESSION_TRANSITION (409),
PART_OUT_OF_RANGE, PART_MISSING, PART_MISMATCH, PART_SIZE_INVALID, SIZE_MISMATCH, DECLARED_MISMATCH,
UNSUPPORTED_FORMAT (422).
"""

from __future__ import annotations

import asyncio
import time
import uuid

from fastapi import APIRouter, Request
from sqlalchemy import select

from reelhouse.contracts.events import VideoUploadedV1, VideoUploadFailedV1, VideoUploadStartedV1
from reelhouse.platform.auth import CurrentUser
from reelhouse.platform.containers import SNIFF_BYTES, describe_content, sniff_container
from reelhouse.platform.messaging.outbox import add_event
from reelhouse.platform.openapi import problems
from reelhouse.platform.problems import ProblemError
from reelhouse.upload.adapters import metrics
from reelhouse.upload.adapters.db import UploadSession, VideoProjection, utcnow
from reelhouse.upload.adapters.s3 import MultipartStore, StoredPart, UploadGone
from reelhouse.upload.domain.sessions import (
    ACTIVE,
    IllegalSessionTransition,
    UploadStatus,
    check_transition,
    expected_part_size,
    part_count,
    part_size_for,
)
from reelhouse.upload.http.schemas import (
    CompleteRequest,
    CreateSession,
    PartRequest,
    PartUrlAnswer,
    PartUrlOut,
    PartUrlsOut,
    UploadSessionOut,
)

router = APIRouter(tags=["uploads"])
SOURCE = "/reelhouse/upload"
PROJECTION_WAIT_SECONDS = 5.0
"""How long session creation waits for video.created to reach this service (eventual consistency)."""
_TRANSITION_PROBLEMS = problems((404, "UPLOAD_NOT_FOUND"), (409, "SESSION_COMPLETED"), (409, "SESSION_CANCELED"), (409, "SESSION_FAILED"), (409, "ILLEGAL_SESSION_TRANSITION"))


def _store(request: Request) -> MultipartStore:
    store = getattr(request.app.state, "multipart_store", None)
    if store is None:
        store = request.app.state.multipart_store = MultipartStore(request.app.state.settings)
    return store


def _session_out(s: UploadSession, parts: list[StoredPart] | None = None) -> UploadSessionOut:
    out = {
        "uploadSessionId": str(s.id),
        "videoId": str(s.video_id),
        "status": s.status,
        "provider": s.provider,
        "bytesUploaded": s.bytes_uploaded,
        "totalBytes": s.declared_size_bytes,
        "partSizeBytes": s.part_size_bytes,
        "totalParts": part_count(s.declared_size_bytes, s.part_size_bytes),
        "createdAt": s.created_at.isoformat(),
        "updatedAt": s.updated_at.isoformat(),
    }
    if s.fail_reason:
        out["failReason"] = s.fail_reason
    if parts is not None:
        out["parts"] = [{"partNumber": p.part_number, "etag": p.etag, "sizeBytes": p.size} for p in parts]
    return UploadSessionOut.model_validate(out)


async def _owned_session(session, sid: uuid.UUID, user_id: str, lock: bool = False) -> UploadSession:
    s = await session.get(UploadSession, sid, with_for_update=lock)
    if s is None or s.owner_id != user_id:
        raise ProblemError(404, "UPLOAD_NOT_FOUND", "Upload session not found", f"no upload session {sid}")
    return s


def _transition(s: UploadSession, target: UploadStatus) -> None:
    try:
        check_transition(UploadStatus(s.status), target)
    except IllegalSessionTransition as exc:
        raise ProblemError(409, exc.code, "Upload session state conflict", str(exc), sessionStatus=s.status) from exc
    s.status = target
    s.updated_at = utcnow()


@router.post(
    "/api/videos/{video_id}/uploads", status_code=201, response_model=UploadSessionOut, response_model_exclude_none=True, operation_id="createUpload",
    responses=problems((404, "VIDEO_NOT_FOUND"), (409, "UPLOAD_SESSION_EXISTS"), (409, "ALREADY_UPLOADED"), (422, "DECLARED_MISMATCH")),
)  # fmt: skip
async def create_session(video_id: uuid.UUID, request: Request, user: CurrentUser, body: CreateSession | None = None) -> UploadSessionOut:
    """Open an S3 multipart upload for the caller's video (publishes video.upload_started).

    Body (optional): ``sourceMime``, ``sourceSizeBytes`` (bytes) restating what the video declared.
    201: ``uploadSessionId``, ``partSizeBytes`` (5242880 unless the 10,000-part limit needs more),
    ``status`` INITIATED, plus ``videoId``, ``totalBytes``, ``totalParts``, ``bytesUploaded`` and times.
    Waits up to PROJECTION_WAIT_SECONDS for the video's video.created. 404 VIDEO_NOT_FOUND (unknown,
    deleted or another user's), 409 UPLOAD_SESSION_EXISTS (an open session; ``uploadSessionId``) /
    ALREADY_UPLOADED, 422 DECLARED_MISMATCH."""
    db = request.app.state.db
    deadline = time.monotonic() + PROJECTION_WAIT_SECONDS
    while True:
        async with db.session() as session:
            video = await session.get(VideoProjection, video_id)
        if video is not None or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    if video is None or video.deleted or video.owner_id != user.user_id:
        raise ProblemError(404, "VIDEO_NOT_FOUND", "Video not found", f"no video {video_id}")
    if body and body.source_size_bytes is not None and body.source_size_bytes != video.source_size_bytes:
        raise ProblemError(422, "DECLARED_MISMATCH", "Source differs from the video", f"the video declared {video.source_size_bytes} bytes, not {body.source_size_bytes}")
    if body and body.source_mime is not None and body.source_mime.split(";")[0].strip().lower() != video.source_mime:
        raise ProblemError(422, "DECLARED_MISMATCH", "Source differs from the video", f"the video declared {video.source_mime}, not {body.source_mime}")
    store = _store(request)
    async with db.session() as session:
        # serialize session creation per video, and re-check under the lock: a video.deleted handled since
        # the read above (it locks the same row) must not get a session (formerly not re-checked)
        locked = await session.get(VideoProjection, video_id, with_for_update=True, populate_existing=True)
        if locked is None or locked.deleted:
            raise ProblemError(404, "VIDEO_NOT_FOUND", "Video not found", f"no video {video_id}")
        existing = list((await session.execute(select(UploadSession).where(UploadSession.video_id == video_id))).scalars())
        for s in existing:
            if s.status == UploadStatus.COMPLETED:
                raise ProblemError(409, "ALREADY_UPLOADED", "Video already uploaded", f"session {s.id} completed", uploadSessionId=str(s.id))
            if s.status in ACTIVE:
                raise ProblemError(409, "UPLOAD_SESSION_EXISTS", "An upload session is open", f"resume session {s.id}", uploadSessionId=str(s.id))
        sid = uuid.uuid4()
        key = f"sources/{video_id}/{sid}"
        upload_id = await asyncio.to_thread(store.create, key, video.source_mime)
        s = UploadSession(
            id=sid,
            video_id=video_id,
            owner_id=user.user_id,
            provider_upload_id=upload_id,
            bucket=store.bucket,
            object_key=key,
            source_mime=video.source_mime,
            declared_size_bytes=video.source_size_bytes,
            part_size_bytes=part_size_for(video.source_size_bytes),
        )
        session.add(s)
        await add_event(session, VideoUploadStartedV1(video_id=video_id, upload_session_id=sid), SOURCE, request.headers.get("x-request-id"))
    return _session_out(s)


@router.get("/api/uploads/{sid}", response_model=UploadSessionOut, response_model_exclude_none=True, operation_id="getUpload", responses=problems((404, "UPLOAD_NOT_FOUND")))
async def get_session(sid: uuid.UUID, request: Request, user: CurrentUser) -> UploadSessionOut:
    """Status plus the parts S3 already holds (``parts``: partNumber, etag, sizeBytes), so a client
    resumes with only the missing ones; ``bytesUploaded`` is their sum (bytes).

    When S3 no longer holds the multipart upload (e.g. removed by the bucket's 7-day
    AbortIncompleteMultipartUpload rule) the session is settled by :func:`_settle_gone_upload` instead
    of answering 500 as before: an IN_PROGRESS session becomes FAILED (failReason UPLOAD_GONE)."""
    store = _store(request)
    async with request.app.state.db.session() as session:
        s = await _owned_session(session, sid, user.user_id)
    parts: list[StoredPart] = []
    if s.status in ACTIVE:
        try:
            parts = await asyncio.to_thread(store.list_parts, s.object_key, s.provider_upload_id)
        except UploadGone:
            async with request.app.state.db.session() as session:
                s = await _owned_session(session, sid, user.user_id, lock=True)
                if s.status == UploadStatus.IN_PROGRESS:
                    await _settle_gone_upload(session, s, store, request.headers.get("x-request-id"))
            return _session_out(s, [])
        uploaded = sum(p.size for p in parts)
        if uploaded != s.bytes_uploaded:
            async with request.app.state.db.session() as session:
                s = await _owned_session(session, sid, user.user_id, lock=True)
                s.bytes_uploaded = uploaded
                session.add(s)
    return _session_out(s, parts)


@router.post(
    "/api/uploads/{sid}/parts", response_model=PartUrlAnswer, operation_id="createUploadPartUrls",
    responses=problems((404, "UPLOAD_NOT_FOUND"), (422, "PART_OUT_OF_RANGE"), (409, "SESSION_PAUSED"), (409, "SESSION_COMPLETED"), (409, "SESSION_CANCELED"), (409, "SESSION_FAILED"), (409, "ILLEGAL_SESSION_TRANSITION")),
)  # fmt: skip
async def part_urls(sid: uuid.UUID, body: PartRequest, request: Request, user: CurrentUser) -> PartUrlAnswer:
    """Presigned PUT URL(s) for part number(s) 1..totalParts (INITIATED -> IN_PROGRESS on the first).

    Each URL signs ``Content-Length`` = ``sizeBytes``, the part's planned size (``partSizeBytes``, the
    last part the rest): storage refuses a PUT of another length."""
    numbers = [body.part_number] if body.part_number is not None else list(body.part_numbers or [])
    async with request.app.state.db.session() as session:
        s = await _owned_session(session, sid, user.user_id, lock=True)
        total = part_count(s.declared_size_bytes, s.part_size_bytes)
        bad = [n for n in numbers if not 1 <= n <= total]
        if bad:
            raise ProblemError(422, "PART_OUT_OF_RANGE", "Part number out of range", f"part numbers {bad} outside 1..{total}", totalParts=total)
        if s.status == UploadStatus.PAUSED:
            raise ProblemError(409, "SESSION_PAUSED", "Upload session is paused", "resume it before uploading parts")
        if s.status == UploadStatus.INITIATED:
            _transition(s, UploadStatus.IN_PROGRESS)
            session.add(s)
        elif s.status != UploadStatus.IN_PROGRESS:
            raise ProblemError(409, IllegalSessionTransition(UploadStatus(s.status), UploadStatus.IN_PROGRESS).code, "Upload session is closed", f"session is {s.status}", sessionStatus=s.status)
    store = _store(request)
    urls = []
    for n in numbers:
        size = expected_part_size(n, s.declared_size_bytes, s.part_size_bytes)
        url, expires = await asyncio.to_thread(store.presign_part, s.object_key, s.provider_upload_id, n, size)
        urls.append(PartUrlOut(part_number=n, upload_url=url, expires_at=expires, size_bytes=size))
    if body.part_number is not None:
        return PartUrlAnswer(urls[0])
    return PartUrlAnswer(PartUrlsOut(parts=urls))


async def _mark_completed(session, s: UploadSession, checksum: str, size: int, correlation_id: str | None) -> None:
    """IN_PROGRESS -> COMPLETED with the object's ETag and size; adds video.uploaded to the outbox."""
    _transition(s, UploadStatus.COMPLETED)
    s.checksum = checksum
    s.bytes_uploaded = size
    session.add(s)
    metrics.UPLOADED_BYTES.inc(size)
    await add_event(
        session,
        VideoUploadedV1(
            video_id=s.video_id,
            owner_id=s.owner_id,
            upload_session_id=s.id,
            bucket=s.bucket,
            source_file_key=s.object_key,
            source_size_bytes=size,
            source_mime=s.source_mime,
            checksum=checksum,
        ),
        SOURCE,
        correlation_id,
    )


async def _finish_upload(session, s: UploadSession, store: MultipartStore, checksum: str, size: int, correlation_id: str | None) -> str | None:
    """Settle a session whose object is complete in S3: COMPLETED (:func:`_mark_completed`) when its first
    bytes are one of the five containers of docs/api.md "Upload validation" (MOV/MP4/3GP, AVI, WMV:
    :func:`reelhouse.platform.containers.sniff_container`, read with a ranged GET), else FAILED with
    ``failReason`` UNSUPPORTED_FORMAT: the object is deleted and video.upload_failed (reason
    UNSUPPORTED_FORMAT) published, so a playlist, a concat list, text or an image declared as video never
    reaches the transcoder (docs/security.md). Returns None when completed, else what the bytes look like.
    """
    head = await asyncio.to_thread(store.read_head, s.object_key, SNIFF_BYTES)
    if sniff_container(head) is not None:
        await _mark_completed(session, s, checksum, size, correlation_id)
        return None
    _transition(s, UploadStatus.FAILED)
    s.fail_reason = "UNSUPPORTED_FORMAT"
    session.add(s)
    await asyncio.to_thread(store.delete_object, s.object_key)
    await add_event(session, VideoUploadFailedV1(video_id=s.video_id, upload_session_id=s.id, reason="UNSUPPORTED_FORMAT"), SOURCE, correlation_id)
    return describe_content(head)


async def _settle_gone_upload(session, s: UploadSession, store: MultipartStore, correlation_id: str | None) -> str | None:
    """Settle a locked IN_PROGRESS session whose S3 multipart upload no longer exists.

    If the object is in the bucket with the declared size, an earlier complete reached S3 but its
    database commit failed: the session is COMPLETED now and video.uploaded published. Otherwise the
    provider lost the upload (docs/api.md "Upload session status": IN_PROGRESS -> FAILED on a provider error): FAILED with
    ``failReason`` UPLOAD_GONE and video.upload_failed (reason UPLOAD_GONE); the client opens a new session.
    Returns what :func:`_finish_upload` returns (None, or what a refused object looks like).
    """
    head = await asyncio.to_thread(store.head, s.object_key)
    if head is not None and head[1] == s.declared_size_bytes:
        return await _finish_upload(session, s, store, head[0], head[1], correlation_id)
    _transition(s, UploadStatus.FAILED)
    s.fail_reason = "UPLOAD_GONE"
    session.add(s)
    await add_event(session, VideoUploadFailedV1(video_id=s.video_id, upload_session_id=s.id, reason="UPLOAD_GONE"), SOURCE, correlation_id)
    return None


@router.post(
    "/api/uploads/{sid}/complete", response_model=UploadSessionOut, response_model_exclude_none=True, operation_id="completeUpload",
    responses=problems(
        (404, "UPLOAD_NOT_FOUND"), (409, "SESSION_COMPLETED"), (409, "SESSION_CANCELED"), (409, "SESSION_FAILED"), (409, "ILLEGAL_SESSION_TRANSITION"),
        (422, "PART_OUT_OF_RANGE"), (422, "PART_MISMATCH"), (422, "PART_MISSING"), (422, "SIZE_MISMATCH"),
        (422, "PART_SIZE_INVALID"), (422, "UNSUPPORTED_FORMAT"),
    ),
)  # fmt: skip
async def complete(sid: uuid.UUID, body: CompleteRequest, request: Request, user: CurrentUser) -> UploadSessionOut:
    """Check every part against S3 and the total against the declared size, complete the multipart
    upload and publish video.uploaded. A mismatch answers 422 and leaves the session IN_PROGRESS.

    Idempotent: completing a COMPLETED session answers it again (no second event). 422 codes:
    PART_OUT_OF_RANGE (a number outside 1..totalParts), PART_MISMATCH (a part number listed twice, or an
    ETag S3 does not hold), PART_MISSING (``missingParts``: not listed, or not stored in S3),
    SIZE_MISMATCH (``bytesUploaded`` != ``declaredBytes``), PART_SIZE_INVALID (a part but the last is not
    ``partSizeBytes``). 409: SESSION_CANCELED / SESSION_FAILED / ILLEGAL_SESSION_TRANSITION (INITIATED,
    PAUSED). If S3 lost the multipart upload the session is settled (see :func:`_settle_gone_upload`):
    200 COMPLETED when the object is already complete, else 409 SESSION_FAILED.

    Once S3 has assembled the object its first bytes are checked (:func:`_finish_upload`): anything but
    MOV/MP4/3GP, AVI or WMV answers 422 UNSUPPORTED_FORMAT (``detected``: what it looks like, e.g. "HLS
    playlist"), the session is FAILED, the object deleted and the video FAILED through video.upload_failed.
    """
    store = _store(request)
    correlation_id = request.headers.get("x-request-id")
    gone = False
    refused: str | None = None
    async with request.app.state.db.session() as session:
        s = await _owned_session(session, sid, user.user_id, lock=True)
        if s.status == UploadStatus.COMPLETED:
            return _session_out(s)
        if s.status != UploadStatus.IN_PROGRESS:
            raise ProblemError(409, IllegalSessionTransition(UploadStatus(s.status), UploadStatus.COMPLETED).code, "Upload session cannot complete", f"session is {s.status}", sessionStatus=s.status)
        total = part_count(s.declared_size_bytes, s.part_size_bytes)
        given = sorted(body.parts, key=lambda p: p.part_number)
        numbers = [p.part_number for p in given]
        extra = sorted({n for n in numbers if not 1 <= n <= total})
        if extra:
            raise ProblemError(422, "PART_OUT_OF_RANGE", "Part number out of range", f"part numbers {extra} outside 1..{total}", totalParts=total)
        duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
        if duplicates:
            # formerly answered PART_OUT_OF_RANGE with "missing [], out of range []"
            raise ProblemError(422, "PART_MISMATCH", "Part listed more than once", f"part numbers {duplicates} are listed more than once", duplicateParts=duplicates)
        missing = sorted(set(range(1, total + 1)) - set(numbers))
        if missing:
            raise ProblemError(422, "PART_MISSING", "Parts do not cover the source", f"missing {missing}, expected 1..{total}", missingParts=missing)
        try:
            sent = {p.part_number: p.etag.strip('"') for p in body.parts}
            stored = {p.part_number: p for p in await asyncio.to_thread(store.list_parts, s.object_key, s.provider_upload_id, sent)}
        except UploadGone:
            refused = await _settle_gone_upload(session, s, store, correlation_id)
            gone = True
        else:
            for p in given:
                sp = stored.get(p.part_number)
                if sp is None:
                    raise ProblemError(422, "PART_MISSING", "Part not uploaded", f"S3 holds no part {p.part_number}", missingParts=[p.part_number])
                if sp.etag != p.etag.strip('"'):
                    raise ProblemError(422, "PART_MISMATCH", "Part ETag differs", f"part {p.part_number}: S3 has {sp.etag}, you sent {p.etag}")
            uploaded = sum(stored[n].size for n in numbers)
            if uploaded != s.declared_size_bytes:
                raise ProblemError(422, "SIZE_MISMATCH", "Uploaded size differs from the declared size", f"uploaded {uploaded} bytes, declared {s.declared_size_bytes}", bytesUploaded=uploaded, declaredBytes=s.declared_size_bytes)
            for n in numbers[:-1]:
                if stored[n].size != s.part_size_bytes:
                    raise ProblemError(422, "PART_SIZE_INVALID", "Part has the wrong size", f"part {n} holds {stored[n].size} bytes, expected {s.part_size_bytes}")
            checksum, size = await asyncio.to_thread(store.complete, s.object_key, s.provider_upload_id, [stored[n] for n in numbers])
            refused = await _finish_upload(session, s, store, checksum, size, correlation_id)
    if refused is not None:
        raise ProblemError(422, "UNSUPPORTED_FORMAT", "Not a supported video file", f"the uploaded bytes are not MOV, MP4, 3GP, AVI or WMV (they look like {refused})", detected=refused, sessionStatus=s.status, failReason=s.fail_reason)
    if gone and s.status != UploadStatus.COMPLETED:
        raise ProblemError(409, "SESSION_FAILED", "Upload session failed", "the storage provider no longer holds this upload; open a new session", sessionStatus=s.status, failReason=s.fail_reason)
    return _session_out(s)


@router.post("/api/uploads/{sid}/pause", response_model=UploadSessionOut, response_model_exclude_none=True, operation_id="pauseUpload", responses=_TRANSITION_PROBLEMS)
async def pause(sid: uuid.UUID, request: Request, user: CurrentUser) -> UploadSessionOut:
    """IN_PROGRESS -> PAUSED (parts already stored are kept)."""
    async with request.app.state.db.session() as session:
        s = await _owned_session(session, sid, user.user_id, lock=True)
        _transition(s, UploadStatus.PAUSED)
        session.add(s)
    return _session_out(s)


@router.post("/api/uploads/{sid}/resume", response_model=UploadSessionOut, response_model_exclude_none=True, operation_id="resumeUpload", responses=_TRANSITION_PROBLEMS)
async def resume(sid: uuid.UUID, request: Request, user: CurrentUser) -> UploadSessionOut:
    """PAUSED -> IN_PROGRESS. 409 from any other status: ILLEGAL_SESSION_TRANSITION (INITIATED,
    IN_PROGRESS), SESSION_COMPLETED / SESSION_CANCELED / SESSION_FAILED.

    Only PAUSED resumes: INITIATED -> IN_PROGRESS is "the first part starts" (docs/api.md) (the first
    part-URL request), not a resume, so resuming an INITIATED session is refused (it used to succeed)."""
    async with request.app.state.db.session() as session:
        s = await _owned_session(session, sid, user.user_id, lock=True)
        if s.status != UploadStatus.PAUSED:
            exc = IllegalSessionTransition(UploadStatus(s.status), UploadStatus.IN_PROGRESS)
            raise ProblemError(409, exc.code, "Upload session state conflict", f"only a PAUSED session resumes; session is {s.status}", sessionStatus=s.status)
        _transition(s, UploadStatus.IN_PROGRESS)
        session.add(s)
    return _session_out(s)


@router.post("/api/uploads/{sid}/cancel", response_model=UploadSessionOut, response_model_exclude_none=True, operation_id="cancelUpload", responses=_TRANSITION_PROBLEMS)
async def cancel(sid: uuid.UUID, request: Request, user: CurrentUser) -> UploadSessionOut:
    """IN_PROGRESS/PAUSED -> CANCELED: aborts the S3 multipart upload, publishes video.upload_failed."""
    store = _store(request)
    async with request.app.state.db.session() as session:
        s = await _owned_session(session, sid, user.user_id, lock=True)
        _transition(s, UploadStatus.CANCELED)
        s.fail_reason = "CANCELED"
        await asyncio.to_thread(store.abort, s.object_key, s.provider_upload_id)
        session.add(s)
        await add_event(session, VideoUploadFailedV1(video_id=s.video_id, upload_session_id=s.id, reason="CANCELED"), SOURCE, request.headers.get("x-request-id"))
    return _session_out(s)


