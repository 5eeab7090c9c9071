"""chat: per-stream sequence on messages, rooms (lifecycle, slow mode, sequence counter), bans,
moderators, per-replica presence

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


def upgrade() -> None:
    op.add_column("chat_messages", sa.Column("seq", sa.BigInteger, nullable=True))
    op.execute(
        "UPDATE chat_messages m SET seq = r.n FROM (SELECT id, row_number() OVER "
        "(PARTITION BY stream_id ORDER BY sent_at, id) AS n FROM chat_messages) r WHERE r.id = m.id"
    )
    op.alter_column("chat_messages", "seq", nullable=False)
    op.create_unique_constraint("uq_chat_messages_stream_seq", "chat_messages", ["stream_id", "seq"])
    op.create_index("ix_chat_messages_stream_user_sent", "chat_messages", ["stream_id", "user_id", "sent_at"])
    op.create_table(
        "chat_rooms",
        sa.Column("stream_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("visibility", sa.Text, nullable=False, server_default="public"),
        sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("slow_mode_seconds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("viewers", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('LIVE', 'ENDED')", name="ck_chat_rooms_status"),
    )
    op.execute(
        "INSERT INTO chat_rooms (stream_id, owner_id, status, last_seq) "
        "SELECT stream_id, '', 'ENDED', max(seq) FROM chat_messages GROUP BY stream_id"
    )
    op.create_table(
        "chat_bans",
        sa.Column("stream_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "chat_moderators",
        sa.Column("stream_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("added_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "chat_presence",
        sa.Column("replica_id", sa.Text, primary_key=True),
        sa.Column("stream_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("viewers", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("chat_presence")
    op.drop_table("chat_moderators")
    op.drop_table("chat_bans")
    op.drop_table("chat_rooms")
    op.drop_index("ix_chat_messages_stream_user_sent", table_name="chat_messages")
    op.drop_constraint("uq_chat_messages_stream_seq", "chat_messages")
    op.drop_column("chat_messages", "seq")
