"""Gallery HTTP routes."""
