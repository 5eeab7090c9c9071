"""streaming: playback_assets, playback_renditions, deleted_videos, outbox, inbox

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from reelhouse.platform.messaging.schema import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playback_assets",
        sa.Column("video_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("owner_id", sa.Text),
        sa.Column("visibility", sa.Text),
        sa.Column("job_id", pg.UUID(as_uuid=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("master_key", sa.Text),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("poster_key", sa.Text),
        sa.Column("thumbnail_keys", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("visibility IS NULL OR visibility IN ('private','public')", name="ck_playback_assets_visibility"),
    )
    op.create_table(
        "playback_renditions",
        sa.Column(
            "video_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("playback_assets.video_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("playlist_key", sa.Text, primary_key=True),
        sa.Column("quality", sa.Text, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("bandwidth", sa.BigInteger, nullable=False),
        sa.Column("codecs", sa.Text, nullable=False),
    )
    op.create_table(
        "deleted_videos",
        sa.Column("video_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    create_messaging_tables(op)


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")
    op.drop_table("deleted_videos")
    op.drop_table("playback_renditions")
    op.drop_table("playback_assets")
