"""streaming: live_streams.visibility ('private' or 'public'): who may watch a stream (docs/api.md
"Live streams")

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("live_streams", sa.Column("visibility", sa.Text(), nullable=False, server_default="private"))
    op.create_check_constraint("ck_live_streams_visibility", "live_streams", "visibility IN ('private','public')")
    op.create_index("ix_live_streams_public_created", "live_streams", ["created_at"], postgresql_where=sa.text("visibility = 'public'"))


def downgrade() -> None:
    op.drop_index("ix_live_streams_public_created", table_name="live_streams")
    op.drop_constraint("ck_live_streams_visibility", "live_streams", type_="check")
    op.drop_column("live_streams", "visibility")
