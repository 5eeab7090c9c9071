"""Reliable messaging: transactional outbox + relay, idempotent consumers (inbox), broker topology."""
