"""Chat event handlers: none yet (skeleton). ``stream.started`` / ``stream.ended`` and the ``chat.*``
fan-out between replicas arrive with the chat features issue."""

from __future__ import annotations

from reelhouse.platform.messaging.consumer import HandlerSpec

HANDLERS: dict[str, HandlerSpec] = {}
"""Event type -> handler; empty, so the runtime declares no queue for chat."""

PUBLISHES: tuple[str, ...] = ()
"""Event types chat emits (chat.posted / chat.deleted come with the features issue)."""
