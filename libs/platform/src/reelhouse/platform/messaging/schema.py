"""Tables every service has in its own database: ``outbox`` (events waiting to be published) and
``inbox`` (ids of events already processed, per consumer). Created by each service's first migration
through :func:`create_messaging_tables`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("routing_key", sa.Text, nullable=False),
    sa.Column("envelope", pg.JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=True),
)
sa.Index("ix_outbox_unsent", outbox.c.id, postgresql_where=outbox.c.sent_at.is_(None))

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

OUTBOX_CHANNEL = "reelhouse_outbox"
"""PostgreSQL LISTEN/NOTIFY channel that wakes the relay when an event is added."""


def create_messaging_tables(op) -> None:  # noqa: ANN001 - alembic.op
    """Create ``outbox`` and ``inbox`` (and the partial index of unsent rows) from a migration, using
    the table definitions above so there is one source of truth (``op`` is ``alembic.op``)."""
    metadata.create_all(bind=op.get_bind(), tables=[outbox, inbox])
