"""Upload HTTP routes."""
