"""streaming: live_streams.recording_state may be DELETED (the recording's video was deleted, and the
recording object with it)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_NAME = "ck_live_streams_recording_state"
_BEFORE = "recording_state IN ('NONE','PENDING','PROCESSING','UPLOADED','EMPTY','FAILED')"
_AFTER = "recording_state IN ('NONE','PENDING','PROCESSING','UPLOADED','EMPTY','FAILED','DELETED')"


def upgrade() -> None:
    op.drop_constraint(_NAME, "live_streams", type_="check")
    op.create_check_constraint(_NAME, "live_streams", _AFTER)


def downgrade() -> None:
    op.execute("UPDATE live_streams SET recording_state = 'UPLOADED' WHERE recording_state = 'DELETED'")
    op.drop_constraint(_NAME, "live_streams", type_="check")
    op.create_check_constraint(_NAME, "live_streams", _BEFORE)
