"""CloudEvents 1.0 envelope used for every Reelhouse domain event.

Source of the attribute names: CloudEvents specification 1.0 (https://github.com/cloudevents/spec),
structured content mode, JSON format. Reelhouse adds the extension attribute ``correlationid`` and uses
the CloudEvents Distributed Tracing extension's ``traceparent`` and ``tracestate`` (W3C Trace Context
values; docs/observability.md, "Traces").
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EVENT_TYPE_PREFIX = "reelhouse."
"""Every event type starts with this prefix, e.g. ``reelhouse.video.uploaded.v1``."""


def routing_key_for(event_type: str) -> str:
    """Return the AMQP routing key of an event type (the type without the ``reelhouse.`` prefix).

    >>> routing_key_for("reelhouse.video.uploaded.v1")
    'video.uploaded.v1'

    Raises ValueError when the type does not carry the prefix.
    """
    if not event_type.startswith(EVENT_TYPE_PREFIX):
        raise ValueError(f"event type {event_type!r} does not start with {EVENT_TYPE_PREFIX!r}")
    return event_type[len(EVENT_TYPE_PREFIX):]


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope in structured JSON mode.

    ``data`` holds the payload as a plain JSON object; decode it with the payload model from
    :func:`reelhouse.contracts.events.payload_model_for`. ``subject`` is the id of the entity the event is
    about (a video id or stream id) so a consumer can order or shard by it.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="allow")

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str | None = None
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = "application/json"
    correlationid: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    data: dict[str, Any]

    @property
    def routing_key(self) -> str:
        """The AMQP routing key for this event (see :func:`routing_key_for`)."""
        return routing_key_for(self.type)
