"""upload: upload_sessions, video_projection, outbox, inbox

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
        "video_projection",
        sa.Column("video_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("source_mime", sa.Text, nullable=False),
        sa.Column("source_size_bytes", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "upload_sessions",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("video_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False, server_default="S3_MULTIPART"),
        sa.Column("provider_upload_id", sa.Text, nullable=False),
        sa.Column("bucket", sa.Text, nullable=False),
        sa.Column("object_key", sa.Text, nullable=False),
        sa.Column("source_mime", sa.Text, nullable=False),
        sa.Column("declared_size_bytes", sa.BigInteger, nullable=False),
        sa.Column("part_size_bytes", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="INITIATED"),
        sa.Column("bytes_uploaded", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("fail_reason", sa.Text),
        sa.Column("checksum", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "status IN ('INITIATED','IN_PROGRESS','PAUSED','COMPLETED','FAILED','CANCELED')", name="ck_upload_status"
        ),
        sa.CheckConstraint("provider IN ('S3_MULTIPART','TUS')", name="ck_upload_provider"),
    )
    op.create_index("ix_upload_sessions_video", "upload_sessions", ["video_id"])
    # at most one open session per video (row-level guard against concurrent creates)
    op.create_index(
        "uq_upload_sessions_open",
        "upload_sessions",
        ["video_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('INITIATED','IN_PROGRESS','PAUSED')"),
    )
    create_messaging_tables(op)


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")
    op.drop_table("upload_sessions")
    op.drop_table("video_projection")
