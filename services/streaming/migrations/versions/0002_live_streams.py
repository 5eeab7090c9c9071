"""streaming: live_streams, live_ingest_sessions, live_recording_parts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "live_streams",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Text, nullable=False, server_default="OFFLINE"),
        sa.Column("recording_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("scheduled_at", TS),
        sa.Column("started_at", TS),
        sa.Column("ended_at", TS),
        sa.Column("end_reason", sa.Text),
        sa.Column("key_nonce", sa.Text, nullable=False),
        sa.Column("key_hash", sa.Text, nullable=False, unique=True),
        sa.Column("key_rotated_at", TS),
        sa.Column("publisher_client_id", sa.Text),
        sa.Column("publisher_connected_at", TS),
        sa.Column("disconnected_at", TS),
        sa.Column("viewer_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("viewer_count_at", TS),
        sa.Column("recording_state", sa.Text, nullable=False, server_default="NONE"),
        sa.Column("recording_error", sa.Text),
        sa.Column("recording_video_id", pg.UUID(as_uuid=True)),
        sa.Column("recording_key", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('OFFLINE','SCHEDULED','LIVE','ENDED')", name="ck_live_streams_status"),
        sa.CheckConstraint(
            "recording_state IN ('NONE','PENDING','PROCESSING','UPLOADED','EMPTY','FAILED')",
            name="ck_live_streams_recording_state",
        ),
    )
    op.create_index("ix_live_streams_owner_created", "live_streams", ["owner_id", sa.text("created_at DESC"), sa.text("id DESC")])
    op.create_index("ix_live_streams_status", "live_streams", ["status"])
    op.create_table(
        "live_ingest_sessions",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("stream_id", pg.UUID(as_uuid=True), sa.ForeignKey("live_streams.id", ondelete="CASCADE"), nullable=False),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("addr", sa.Text),
        sa.Column("started_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("ended_at", TS),
    )
    op.create_index("ix_live_ingest_sessions_stream", "live_ingest_sessions", ["stream_id"])
    op.create_index("ix_live_ingest_sessions_client_open", "live_ingest_sessions", ["client_id"], postgresql_where=sa.text("ended_at IS NULL"))
    op.create_table(
        "live_recording_parts",
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("stream_id", pg.UUID(as_uuid=True), sa.ForeignKey("live_streams.id", ondelete="CASCADE"), nullable=False),
        sa.Column("done_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_live_recording_parts_stream", "live_recording_parts", ["stream_id"])


def downgrade() -> None:
    op.drop_table("live_recording_parts")
    op.drop_table("live_ingest_sessions")
    op.drop_table("live_streams")
