"""streaming: live_streams.thumbnail_key (the owner's configured thumbnail image in the media bucket)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("live_streams", sa.Column("thumbnail_key", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("live_streams", "thumbnail_key")
