"""Reelhouse domain events: versioned, frozen Pydantic payloads inside a CloudEvents 1.0 envelope.

The catalogue (:data:`reelhouse.contracts.events.CATALOGUE`) maps every published event type to its
payload model; the AMQP routing key is the type without the ``reelhouse.`` prefix (docs/events.md).
"""

from reelhouse.contracts.envelope import EVENT_TYPE_PREFIX, CloudEvent, routing_key_for
from reelhouse.contracts.events import CATALOGUE, EventPayload, payload_model_for

__all__ = [
    "CATALOGUE",
    "EVENT_TYPE_PREFIX",
    "CloudEvent",
    "EventPayload",
    "payload_model_for",
    "routing_key_for",
]
