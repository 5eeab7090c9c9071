"""Chat HTTP surface: WebSocket (:mod:`.ws`) and REST (:mod:`.routes`)."""
