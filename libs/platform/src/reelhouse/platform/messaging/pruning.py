"""Pruning of the outbox and the inbox (docs/events.md "Outbox and inbox retention").

Both tables only grow otherwise: every published event stays in ``outbox`` (with its whole envelope, so
chat text too) and every processed event id in ``inbox``. Each service runs a :class:`MessagingPruner`
(started by :func:`reelhouse.platform.runtime.create_app`) that deletes, every
``messaging_prune_interval_seconds``:

- outbox rows **sent** more than ``outbox_retention_seconds`` ago (unsent rows are never deleted: they
  are events still to publish);
- inbox rows processed more than ``inbox_retention_seconds`` ago (the inbox only has to outlive the
  window in which a duplicate can arrive: the relay's re-publish after a crash and the broker's
  redeliveries, bounded by ``retry_window_seconds``).

Deletes run in batches of ``batch_size`` rows, each its own short transaction, so a large backlog never
holds long locks or a long transaction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from sqlalchemy import text

log = structlog.get_logger(__name__)

_DELETE_OUTBOX = text(
    "DELETE FROM outbox WHERE id IN ("
    " SELECT id FROM outbox WHERE sent_at IS NOT NULL"
    " AND sent_at < now() - make_interval(secs => :retention) ORDER BY id LIMIT :batch"
    " FOR UPDATE SKIP LOCKED)"
)
_DELETE_INBOX = text(
    "DELETE FROM inbox WHERE ctid IN ("
    " SELECT ctid FROM inbox WHERE processed_at < now() - make_interval(secs => :retention)"
    " LIMIT :batch FOR UPDATE SKIP LOCKED)"
)


@dataclass(frozen=True)
class PruneResult:
    """Rows deleted by one :func:`prune_messaging` pass."""

    outbox: int
    inbox: int


async def _delete_in_batches(db_sessions, statement, retention_seconds: float, batch_size: int) -> int:  # noqa: ANN001
    total = 0
    while True:
        async with db_sessions() as session, session.begin():
            result = await session.execute(statement, {"retention": float(retention_seconds), "batch": batch_size})
            n = result.rowcount or 0
        total += n
        if n < batch_size:
            return total
        await asyncio.sleep(0)  # let other tasks of the service run between batches


async def prune_messaging(
    db_sessions,  # noqa: ANN001 - async_sessionmaker
    outbox_retention_seconds: float,
    inbox_retention_seconds: float,
    batch_size: int = 1000,
) -> PruneResult:
    """Delete sent outbox rows older than ``outbox_retention_seconds`` (by ``sent_at``) and inbox rows
    older than ``inbox_retention_seconds`` (by ``processed_at``), ``batch_size`` rows per transaction.

    ``db_sessions`` is the service's ``async_sessionmaker``. Returns the counts deleted. Unsent outbox
    rows are kept whatever their age. Raises the database's errors (the caller retries later).
    """
    out = await _delete_in_batches(db_sessions, _DELETE_OUTBOX, outbox_retention_seconds, batch_size)
    inb = await _delete_in_batches(db_sessions, _DELETE_INBOX, inbox_retention_seconds, batch_size)
    return PruneResult(outbox=out, inbox=inb)


class MessagingPruner:
    """Runs :func:`prune_messaging` every ``interval_seconds`` until :meth:`stop` (run :meth:`run` as a
    task). A failed pass (database down) is logged and tried again at the next interval."""

    def __init__(
        self,
        db_sessions,  # noqa: ANN001
        outbox_retention_seconds: float,
        inbox_retention_seconds: float,
        interval_seconds: float = 300.0,
        batch_size: int = 1000,
    ) -> None:
        self.db_sessions = db_sessions
        self.outbox_retention_seconds = outbox_retention_seconds
        self.inbox_retention_seconds = inbox_retention_seconds
        self.interval_seconds = interval_seconds
        self.batch_size = batch_size
        self.deleted_outbox = 0
        self.deleted_inbox = 0
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask :meth:`run` to return (at once if it is waiting for the next interval)."""
        self._stop.set()

    async def run(self) -> None:
        """Prune, wait ``interval_seconds``, repeat until stopped."""
        while not self._stop.is_set():
            try:
                result = await prune_messaging(
                    self.db_sessions, self.outbox_retention_seconds, self.inbox_retention_seconds, self.batch_size
                )
                self.deleted_outbox += result.outbox
                self.deleted_inbox += result.inbox
                if result.outbox or result.inbox:
                    log.info("messaging.pruned", outbox=result.outbox, inbox=result.inbox)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - database away: try again next interval
                log.warning("messaging.prune_failed", error=f"{type(exc).__name__}: {exc}")
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval_seconds)
            except TimeoutError:
                pass
