"""Streaming adapters (database tables of the playback projection)."""
