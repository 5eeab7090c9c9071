"""Fixtures shared by the messaging tests of libs/platform."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

#: One Alembic revision creating only the outbox and inbox tables (what every service's first
#: migration does), so the messaging core can be tested without any service's schema.
MESSAGING_MIGRATION = '''
from reelhouse.platform.messaging.schema import create_messaging_tables
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
def upgrade():
    create_messaging_tables(__import__("alembic").op)
'''


@pytest.fixture(scope="module")
def migrations_dir() -> Path:
    """An Alembic migrations folder (``env.py`` + ``versions/0001_messaging.py``) for a test service."""
    d = Path(tempfile.mkdtemp())
    (d / "versions").mkdir()
    (d / "env.py").write_text("from reelhouse.platform.db import run_migrations_online\nrun_migrations_online()\n")
    (d / "versions" / "0001_messaging.py").write_text(MESSAGING_MIGRATION)
    return d
