"""streaming: playback_assets.storyboard_key (WebVTT index of the scrub-preview sprites)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("playback_assets", sa.Column("storyboard_key", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("playback_assets", "storyboard_key")
