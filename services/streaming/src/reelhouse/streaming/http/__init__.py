"""Streaming HTTP routes."""
