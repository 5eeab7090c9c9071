"""transcoder: job ownership lease (lease_owner, lease_expires_at) and the job's message for hand-back

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("transcode_jobs", sa.Column("lease_owner", sa.Text))
    op.add_column("transcode_jobs", sa.Column("lease_expires_at", sa.DateTime(timezone=True)))
    op.add_column("transcode_jobs", sa.Column("message", sa.Text))
    op.create_index(
        "ix_transcode_jobs_running_lease",
        "transcode_jobs",
        ["lease_expires_at"],
        postgresql_where=sa.text("status = 'RUNNING'"),
    )


def downgrade() -> None:
    op.drop_index("ix_transcode_jobs_running_lease", table_name="transcode_jobs")
    op.drop_column("transcode_jobs", "message")
    op.drop_column("transcode_jobs", "lease_expires_at")
    op.drop_column("transcode_jobs", "lease_owner")
