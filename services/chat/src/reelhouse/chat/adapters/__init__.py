"""Chat adapters (database tables)."""
