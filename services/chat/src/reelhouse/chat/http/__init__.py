"""Chat HTTP and WebSocket routes. None yet (skeleton); only the runtime's health and metrics."""
