"""gallery: last sign of transcode life and re-drive count per video (stuck-video sweeper), and the
history of every status transition (video_transitions)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("videos", sa.Column("activity_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    op.add_column("videos", sa.Column("redrive_count", sa.Integer, nullable=False, server_default="0"))
    op.add_column("videos", sa.Column("redriven_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_videos_waiting_activity",
        "videos",
        ["activity_at"],
        postgresql_where=sa.text("status IN ('UPLOADED','TRANSCODING')"),
    )
    op.create_table(
        "video_transitions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("video_id", pg.UUID(as_uuid=True), sa.ForeignKey("videos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("from_status", sa.Text, nullable=False),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_video_transitions_video", "video_transitions", ["video_id", "id"])


def downgrade() -> None:
    op.drop_table("video_transitions")
    op.drop_index("ix_videos_waiting_activity", table_name="videos")
    op.drop_column("videos", "redriven_at")
    op.drop_column("videos", "redrive_count")
    op.drop_column("videos", "activity_at")
