"""gallery: videos, video_assets, outbox, inbox

Revision ID: 0001
Revises:
Create Date: 2026-11-21
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
        "videos",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("visibility", sa.Text, nullable=False, server_default="private"),
        sa.Column("source_file_name", sa.Text),
        sa.Column("source_file_key", sa.Text),
        sa.Column("source_bucket", sa.Text),
        sa.Column("source_size_bytes", sa.BigInteger, nullable=False),
        sa.Column("source_mime", sa.Text, nullable=False),
        sa.Column("source_checksum", sa.Text),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("status", sa.Text, nullable=False, server_default="DRAFT"),
        sa.Column("fail_reason", sa.Text),
        sa.Column("fail_detail", sa.Text),
        sa.Column("transcode_progress", sa.Float),
        sa.Column("transcode_attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("master_key", sa.Text),
        sa.Column("poster_key", sa.Text),
        sa.Column("view_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "status IN ('DRAFT','UPLOADING','UPLOADED','TRANSCODING','READY','FAILED')", name="ck_videos_status"
        ),
    )
    op.create_index("ix_videos_owner_created", "videos", ["owner_id", sa.text("created_at DESC"), sa.text("id DESC")])
    op.create_index("ix_videos_status", "videos", ["status"])
    op.create_index("ix_videos_created", "videos", [sa.text("created_at DESC"), sa.text("id DESC")])
    op.execute(
        "CREATE INDEX ix_videos_search ON videos USING GIN "
        "(to_tsvector('simple', coalesce(title,'') || ' ' || coalesce(description,'')))"
    )
    op.create_table(
        "video_assets",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("video_id", pg.UUID(as_uuid=True), sa.ForeignKey("videos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("quality_label", sa.Text),
        sa.Column("bandwidth", sa.Integer),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("codec", sa.Text),
        sa.Column("container", sa.Text),
        sa.Column("file_key", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("video_id", "file_key", name="uq_video_assets_key"),
        sa.CheckConstraint("type IN ('HLS_MASTER','HLS_RENDITION','POSTER','THUMBNAIL')", name="ck_video_assets_type"),
    )
    op.create_index("ix_video_assets_video", "video_assets", ["video_id"])
    create_messaging_tables(op)


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")
    op.drop_table("video_assets")
    op.drop_table("videos")
