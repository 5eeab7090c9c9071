"""transcoder: transcode_jobs, deleted_videos, outbox, inbox

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
        "transcode_jobs",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("job_key", sa.Text, nullable=False, unique=True),
        sa.Column("video_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("source_bucket", sa.Text, nullable=False),
        sa.Column("source_key", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="RUNNING"),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
        sa.Column("worker", sa.Text),
        sa.Column("fail_reason", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("output_prefix", sa.Text),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("transcode_seconds", sa.Float),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('RUNNING','COMPLETED','FAILED')", name="ck_transcode_jobs_status"),
    )
    op.create_index("ix_transcode_jobs_video", "transcode_jobs", ["video_id"])
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
    op.drop_table("transcode_jobs")
