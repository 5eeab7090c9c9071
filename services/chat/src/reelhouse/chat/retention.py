"""Run the 7-day retention once: ``python -m reelhouse.chat.retention [--days N]``.

Deletes chat messages older than the window (``REELHOUSE_CHAT_RETENTION_DAYS``, default 7) from the
chat database named by the ``REELHOUSE_*`` settings and prints how many rows went. The running service
does the same every ``REELHOUSE_CHAT_RETENTION_INTERVAL_SECONDS`` (default hourly).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from reelhouse.chat.adapters.store import purge_expired
from reelhouse.chat.settings import ChatSettings
from reelhouse.platform.db import Database


async def run(settings: ChatSettings, days: float | None = None) -> int:
    db = Database(settings.database_url_for("chat"), pool_size=1)
    try:
        return await purge_expired(db, timedelta(days=days if days is not None else settings.chat_retention_days))
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="delete chat messages older than the retention window")
    parser.add_argument("--days", type=float, default=None)
    args = parser.parse_args(argv)
    n = asyncio.run(run(ChatSettings(), args.days))
    print(f"deleted {n} chat messages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
