"""Alembic environment of the chat database (runs through reelhouse.platform.db.migrate)."""

from reelhouse.platform.db import run_migrations_online

run_migrations_online()
