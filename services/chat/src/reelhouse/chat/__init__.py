"""Chat service (skeleton): owns the ``reelhouse_chat`` database and answers ``/healthz``, ``/readyz``
and ``/metrics`` through the platform runtime.

Its features (WebSocket ``/ws/streams/{id}/chat``, history, moderation, ``chat.*`` events, consuming
``stream.started`` / ``stream.ended``) are a separate issue: there are no routes and no event handlers
yet, so the service declares no queue.
"""
