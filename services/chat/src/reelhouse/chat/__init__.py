"""Chat service: real-time WebSocket chat for live streams, several replicas behind the edge.

Rooms: :mod:`.main` (composition root), :mod:`.settings`, :mod:`.domain` (rules without I/O),
:mod:`.http` (WebSocket + REST), :mod:`.handlers` (room lifecycle from stream events, fan-out
dispatch), :mod:`.adapters` (PostgreSQL store, in-memory hub, RabbitMQ fan-out), :mod:`.runtime`
(per-replica state and periodic jobs), :mod:`.retention` (CLI). Design notes: services/chat/README.md.
"""
