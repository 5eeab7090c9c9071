"""streaming: live_ingest_sessions.key_hash, the lookup hash of the stream key a broadcaster published
with, so ``publish_done`` closes the session of that key and client id only (nginx-rtmp client ids are
per-process counters that restart with the ingest; a key rotated while live still matches its session)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("live_ingest_sessions", sa.Column("key_hash", sa.String(), nullable=True))
    op.create_index("ix_live_ingest_sessions_client_key", "live_ingest_sessions", ["client_id", "key_hash"])


def downgrade() -> None:
    op.drop_index("ix_live_ingest_sessions_client_key", table_name="live_ingest_sessions")
    op.drop_column("live_ingest_sessions", "key_hash")
