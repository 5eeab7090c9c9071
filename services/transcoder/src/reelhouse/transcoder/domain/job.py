"""The states of a transcode job (pure).

A job row (``transcode_jobs.status``) is RUNNING from its first claim until it ends COMPLETED or FAILED;
a finished job is never run again (a duplicate delivery finds it and does nothing). The stored strings
are the member values, fixed by the table's check constraint (migration 0001): renaming a member needs a
migration. Leases, takeover and hand-back: docs/reliability.md.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["FINISHED", "JobStatus"]


class JobStatus(StrEnum):
    """Status of a job row; a ``str`` (``JobStatus.RUNNING == "RUNNING"``), stored as its value."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


#: The states a job never leaves (a tuple: rows read back hold plain strings, compared by value).
FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED)
