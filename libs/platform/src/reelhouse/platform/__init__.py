"""Thin plumbing shared by every Reelhouse service: settings, logging, database, outbox/inbox messaging,
broker topology, JWT auth, RFC 9457 problem responses, playback signing and the service runtime.

Nothing here does work at import time; services compose these pieces in their entrypoints.
"""
