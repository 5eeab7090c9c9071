"""transcoder: transcode_jobs.result, the final event's payload (JSON) of a COMPLETED job, re-published
when the gallery re-drives a video it never saw finish

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("transcode_jobs", sa.Column("result", sa.Text))


def downgrade() -> None:
    op.drop_column("transcode_jobs", "result")
