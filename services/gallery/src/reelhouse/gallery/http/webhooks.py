"""Webhook endpoints API: /api/webhooks (docs/webhooks.md, docs/api.md "Webhooks").

Every route acts on the caller's own endpoints: another user's endpoint is 404 WEBHOOK_NOT_FOUND.
Errors are RFC 9457 problem+json: WEBHOOK_URL_REFUSED (422: not http(s), or a private, loopback or
link-local address outside dev mode), INVALID_EVENT_TYPE (422), WEBHOOK_LIMIT (409: too many
endpoints), WEBHOOK_NOT_FOUND / DELIVERY_NOT_FOUND (404).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select

from reelhouse.gallery.adapters.db import utcnow
from reelhouse.gallery.adapters.webhooks import WebhookDelivery, WebhookEndpoint, wake
from reelhouse.gallery.domain import webhooks as rules
from reelhouse.gallery.http.schemas import (
    CreateWebhook,
    UpdateWebhook,
    WebhookDeliveryOut,
    WebhookDeliveryPage,
    WebhookOut,
    WebhookPage,
    WebhookSecret,
)
from reelhouse.platform.auth import CurrentUser
from reelhouse.platform.openapi import problems
from reelhouse.platform.problems import ProblemError

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
_NOT_FOUND = problems((404, "WEBHOOK_NOT_FOUND"))
_REFUSED = ((422, "WEBHOOK_URL_REFUSED"), (422, "INVALID_EVENT_TYPE"))
_REFUSED_OR_LIMIT = problems(*_REFUSED, (409, "WEBHOOK_LIMIT"))
_UPDATE = problems((404, "WEBHOOK_NOT_FOUND"), *_REFUSED)


def _out(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> WebhookOut:
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=list(endpoint.event_types),
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
        last_success_at=endpoint.last_success_at,
        secret=endpoint.secret if with_secret else None,
    )


def _delivery_out(d: WebhookDelivery) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(
        id=d.id,
        message_id=d.message_id,
        event_type=d.event_type,
        status=d.status,
        attempts=d.attempts,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        next_attempt_at=d.next_attempt_at if d.status == "PENDING" else None,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
        payload=d.payload,
    )


async def _checked(request: Request, url: str | None, types: list[str] | None) -> tuple[str | None, list[str] | None]:
    settings = request.app.state.settings
    try:
        checked_types = rules.check_event_types(types) if types is not None else None
        if url is not None:
            url = await asyncio.to_thread(rules.check_endpoint_url, url, allow_private=settings.webhooks_may_reach_private())
    except rules.WebhookRefused as exc:
        raise ProblemError(422, exc.code, "Webhook refused", exc.detail) from None
    return url, checked_types


async def _own(session, endpoint_id: uuid.UUID, user_id: str, *, lock: bool = False) -> WebhookEndpoint:  # noqa: ANN001
    endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=lock)
    if endpoint is None or endpoint.owner_id != user_id:
        raise ProblemError(404, "WEBHOOK_NOT_FOUND", "Webhook not found", f"no webhook {endpoint_id}")
    return endpoint


@router.post("", status_code=201, response_model=WebhookOut, response_model_exclude_none=True, operation_id="createWebhook", responses=_REFUSED_OR_LIMIT)
async def create_webhook(body: CreateWebhook, request: Request, user: CurrentUser) -> WebhookOut:
    """Register an endpoint for the caller's events; the answer shows its signing secret (once)."""
    url, types = await _checked(request, body.url, body.event_types or [])
    limit = request.app.state.settings.webhook_max_endpoints
    async with request.app.state.db.session() as session:
        count = (await session.execute(select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.owner_id == user.user_id))).scalar_one()
        if count >= limit:
            raise ProblemError(409, "WEBHOOK_LIMIT", "Too many webhooks", f"at most {limit} endpoints per user; delete one first")
        endpoint = WebhookEndpoint(owner_id=user.user_id, url=url, description=body.description, event_types=types, secret=rules.new_secret())
        session.add(endpoint)
    return _out(endpoint, with_secret=True)


@router.get("", response_model=WebhookPage, response_model_exclude_none=True, operation_id="listWebhooks")
async def list_webhooks(request: Request, user: CurrentUser) -> WebhookPage:
    """The caller's endpoints, newest first (no secrets)."""
    async with request.app.state.db.session() as session:
        rows = (
            await session.execute(select(WebhookEndpoint).where(WebhookEndpoint.owner_id == user.user_id).order_by(WebhookEndpoint.created_at.desc()))
        ).scalars().all()
    return WebhookPage(items=[_out(e) for e in rows])


@router.get("/{endpoint_id}", response_model=WebhookOut, response_model_exclude_none=True, operation_id="getWebhook", responses=_NOT_FOUND)
async def get_webhook(endpoint_id: uuid.UUID, request: Request, user: CurrentUser) -> WebhookOut:
    """One endpoint of the caller (no secret)."""
    async with request.app.state.db.session() as session:
        return _out(await _own(session, endpoint_id, user.user_id))


@router.patch("/{endpoint_id}", response_model=WebhookOut, response_model_exclude_none=True, operation_id="updateWebhook", responses=_UPDATE)
async def update_webhook(endpoint_id: uuid.UUID, body: UpdateWebhook, request: Request, user: CurrentUser) -> WebhookOut:
    """Change the URL, types or description, or re-enable a disabled endpoint (``enabled: true``)."""
    url, types = await _checked(request, body.url, body.event_types)
    async with request.app.state.db.session() as session:
        endpoint = await _own(session, endpoint_id, user.user_id, lock=True)
        if url is not None:
            endpoint.url = url
        if types is not None:
            endpoint.event_types = types
        if body.description is not None:
            endpoint.description = body.description
        if body.enabled is not None:
            endpoint.enabled = body.enabled
            endpoint.disabled_reason = None if body.enabled else "DISABLED_BY_OWNER"
        session.add(endpoint)
    return _out(endpoint)


@router.delete("/{endpoint_id}", status_code=204, operation_id="deleteWebhook", responses=_NOT_FOUND)
async def delete_webhook(endpoint_id: uuid.UUID, request: Request, user: CurrentUser) -> Response:
    """Delete an endpoint and its deliveries (pending ones are never sent)."""
    async with request.app.state.db.session() as session:
        endpoint = await _own(session, endpoint_id, user.user_id, lock=True)
        await session.delete(endpoint)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=WebhookSecret, operation_id="rotateWebhookSecret", responses=_NOT_FOUND)
async def rotate_secret(endpoint_id: uuid.UUID, request: Request, user: CurrentUser) -> WebhookSecret:
    """A new signing secret; deliveries carry a signature with the old one too until
    ``previousSecretExpiresAt`` (``webhook_secret_grace_seconds``), so receivers can switch without a gap."""
    grace = request.app.state.settings.webhook_secret_grace_seconds
    async with request.app.state.db.session() as session:
        endpoint = await _own(session, endpoint_id, user.user_id, lock=True)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = utcnow() + timedelta(seconds=grace)
        endpoint.secret = rules.new_secret()
        session.add(endpoint)
    return WebhookSecret(secret=endpoint.secret, previous_secret_expires_at=endpoint.previous_secret_expires_at)


@router.get("/{endpoint_id}/deliveries", response_model=WebhookDeliveryPage, response_model_exclude_none=True, operation_id="listWebhookDeliveries", responses=_NOT_FOUND)
async def list_deliveries(
    endpoint_id: uuid.UUID, request: Request, user: CurrentUser, limit: int = Query(default=50, ge=1, le=200)
) -> WebhookDeliveryPage:
    """The endpoint's most recent deliveries (newest first): status, attempts, last status code/error."""
    async with request.app.state.db.session() as session:
        await _own(session, endpoint_id, user.user_id)
        rows = (
            await session.execute(
                select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.created_at.desc()).limit(limit)
            )
        ).scalars().all()
    return WebhookDeliveryPage(items=[_delivery_out(d) for d in rows])


@router.post("/{endpoint_id}/deliveries/{delivery_id}/redeliver", status_code=202, response_model=WebhookDeliveryOut, response_model_exclude_none=True, operation_id="redeliverWebhook", responses=problems((404, "WEBHOOK_NOT_FOUND"), (404, "DELIVERY_NOT_FOUND")))
async def redeliver(endpoint_id: uuid.UUID, delivery_id: uuid.UUID, request: Request, user: CurrentUser) -> WebhookDeliveryOut:
    """Send a delivery again now, as a new delivery with the same message id and payload (receivers that
    deduplicate on ``webhook-id`` see it once). Works for a disabled endpoint only after re-enabling it."""
    async with request.app.state.db.session() as session:
        await _own(session, endpoint_id, user.user_id)
        original = await session.get(WebhookDelivery, delivery_id)
        if original is None or original.endpoint_id != endpoint_id:
            raise ProblemError(404, "DELIVERY_NOT_FOUND", "Delivery not found", f"no delivery {delivery_id} for webhook {endpoint_id}")
        again = WebhookDelivery(endpoint_id=endpoint_id, message_id=original.message_id, event_type=original.event_type, payload=original.payload)
        session.add(again)
    wake()
    return _delivery_out(again)
