"""Gallery adapters (database tables and queries)."""
