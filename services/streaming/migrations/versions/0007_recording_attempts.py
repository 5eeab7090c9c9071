"""streaming: live_streams.recording_started_at / recording_attempts (the stuck-recording sweeper
re-processes a recording left PROCESSING by a dead process, or fails it after a bound)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("live_streams", sa.Column("recording_started_at", sa.DateTime(timezone=True)))
    op.add_column("live_streams", sa.Column("recording_attempts", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("live_streams", "recording_attempts")
    op.drop_column("live_streams", "recording_started_at")
