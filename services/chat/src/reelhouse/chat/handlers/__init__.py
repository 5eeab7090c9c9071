"""Chat event handlers.

Durable queue ``reelhouse.chat`` (competing consumers, inbox-deduplicated, retries + DLQ through the
platform :class:`EventConsumer`): the room lifecycle.

- ``stream.started``: the room is created / reopened LIVE with the stream's owner (the owner moderates);
  the stream's visibility is read from the event data when the producer sends one (``visibility``,
  default public);
- ``stream.ended``: the room becomes read-only; history stays. An end for a stream never seen creates
  the room ENDED. Timestamps decide between a late start and an end, so redelivery or reordering never
  reopens a finished stream.

Rule for a stream chat has never heard of (no ``stream.started`` yet): it does not exist for chat.
Connecting gets a STREAM_NOT_FOUND error frame and close code 4404; ``GET .../chat/messages`` answers
404 STREAM_NOT_FOUND. Clients retry after the stream goes live (the event usually arrives within
milliseconds of the stream's LIVE transition).

Per-replica fan-out queue (:mod:`reelhouse.chat.adapters.fanout`): :func:`fanout_dispatch` turns
``chat.*`` and ``stream.*`` events into frames for this replica's connected clients.
"""

from __future__ import annotations

import uuid
from typing import Any

from reelhouse.chat.adapters import store
from reelhouse.chat.adapters.hub import Hub
from reelhouse.contracts.events import StreamEndedV1, StreamStartedV1
from reelhouse.platform.messaging.consumer import HandlerContext, HandlerSpec


async def on_stream_started(ctx: HandlerContext, event: StreamStartedV1) -> None:
    visibility = ctx.envelope.data.get("visibility") if isinstance(ctx.envelope.data, dict) else None
    await store.open_room(ctx.session, event.stream_id, event.owner_id, event.started_at, visibility)


async def on_stream_ended(ctx: HandlerContext, event: StreamEndedV1) -> None:
    await store.close_room(ctx.session, event.stream_id, event.owner_id, event.ended_at)


HANDLERS: dict[str, HandlerSpec] = {
    StreamStartedV1.event_type: HandlerSpec(on_stream_started),
    StreamEndedV1.event_type: HandlerSpec(on_stream_ended),
}
"""Event type -> handler of the durable (competing) queue."""

PUBLISHES: tuple[str, ...] = (
    "reelhouse.chat.posted.v1",
    "reelhouse.chat.deleted.v1",
    "reelhouse.chat.moderated.v1",
    "reelhouse.chat.presence.v1",
)
"""Event types chat emits (all through the outbox)."""


async def fanout_dispatch(hub: Hub, event_type: str, data: dict[str, Any]) -> None:
    """Deliver one fan-out event to this replica's clients."""
    if event_type == "reelhouse.chat.posted.v1":
        await hub.on_posted(
            {
                "id": data["messageId"],
                "seq": data.get("seq"),
                "streamId": data["streamId"],
                "userId": data["userId"],
                "username": data["username"],
                "text": data["text"],
                "sentAt": data["sentAt"],
            }
        )
        return
    sid = uuid.UUID(data["streamId"])
    if event_type == "reelhouse.chat.deleted.v1":
        hub.on_deleted(sid, data["messageId"], data.get("seq"))
    elif event_type == "reelhouse.chat.moderated.v1":
        frame = {"type": "moderation", "action": data["action"]}
        for k in ("userId", "until", "slowModeSeconds", "reason"):
            if data.get(k) is not None:
                frame[k] = data[k]
        hub.broadcast(sid, frame)
    elif event_type == "reelhouse.chat.presence.v1":
        hub.broadcast(sid, {"type": "presence", "viewers": data["viewers"]})
    elif event_type == "reelhouse.stream.ended.v1":
        hub.broadcast(sid, {"type": "room", "status": "ENDED"})
    elif event_type == "reelhouse.stream.started.v1":
        hub.broadcast(sid, {"type": "room", "status": "LIVE"})
