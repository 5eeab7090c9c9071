"""Chat persistence (PostgreSQL, one transaction per call unless a session is passed).

Posting (:func:`post_message`) runs in one transaction: lock the room row, check room status, ban /
timeout and slow mode, take the next per-stream ``seq`` from the room row, insert the message and add
``chat.posted`` to the outbox. Because ``seq`` is taken under the room row lock and committed with the
message, a stream's messages commit in ``seq`` order: once ``seq = n`` is visible, every ``seq < n`` is
too. Replicas rely on that to fill gaps in the fan-out from the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.chat.domain import rules
from reelhouse.chat.domain.rules import ChatError
from reelhouse.contracts.events import ChatDeletedV1, ChatModeratedV1, ChatPostedV1, ChatPresenceV1
from reelhouse.platform.db import Database
from reelhouse.platform.messaging.outbox import add_event

SOURCE = "/reelhouse/chat"


@dataclass(frozen=True)
class Room:
    """A room row."""

    stream_id: uuid.UUID
    owner_id: str
    status: str
    visibility: str
    last_seq: int
    slow_mode_seconds: int
    viewers: int

    @property
    def live(self) -> bool:
        return self.status == "LIVE"

    @property
    def public(self) -> bool:
        return self.visibility not in ("private",)


def message_dict(row: Any) -> dict[str, Any]:  # noqa: ANN401
    """Wire form (camelCase) of a message row."""
    return {
        "id": str(row.id),
        "seq": int(row.seq),
        "streamId": str(row.stream_id),
        "userId": row.user_id,
        "username": row.username,
        "text": row.text,
        "sentAt": row.sent_at.isoformat().replace("+00:00", "Z"),
    }


_ROOM_COLS = "stream_id, owner_id, status, visibility, last_seq, slow_mode_seconds, viewers"


async def get_room(session: AsyncSession, stream_id: uuid.UUID) -> Room | None:
    row = (await session.execute(text(f"SELECT {_ROOM_COLS} FROM chat_rooms WHERE stream_id = :s"), {"s": stream_id})).first()
    return Room(*row) if row else None


async def list_moderators(session: AsyncSession, stream_id: uuid.UUID) -> list[str]:
    rows = await session.execute(text("SELECT user_id FROM chat_moderators WHERE stream_id = :s ORDER BY user_id"), {"s": stream_id})
    return [r[0] for r in rows]


async def post_message(
    db: Database, stream_id: uuid.UUID, user_id: str, username: str, body: str, now: datetime
) -> dict[str, Any]:
    """Store a message and its ``chat.posted`` event; returns the wire dict. Raises ChatError
    STREAM_NOT_FOUND, ROOM_CLOSED, BANNED, TIMED_OUT or SLOW_MODE (nothing is stored then)."""
    async with db.session() as s:
        row = (
            await s.execute(
                text(
                    """
                    SELECT r.status, r.owner_id, r.slow_mode_seconds,
                           b.user_id IS NOT NULL AS banned, b.until,
                           EXISTS (SELECT 1 FROM chat_moderators m WHERE m.stream_id = r.stream_id AND m.user_id = :u) AS is_mod
                    FROM chat_rooms r
                    LEFT JOIN chat_bans b ON b.stream_id = r.stream_id AND b.user_id = :u
                    WHERE r.stream_id = :s
                    FOR UPDATE OF r
                    """
                ),
                {"s": stream_id, "u": user_id},
            )
        ).first()
        if row is None:
            raise ChatError(rules.STREAM_NOT_FOUND, "no such live stream")
        if row.status != "LIVE":
            raise ChatError(rules.ROOM_CLOSED, "the stream has ended; chat is read-only")
        privileged = user_id == row.owner_id or row.is_mod
        if not privileged:
            err = rules.ban_blocks(row.until, row.banned, now)
            if err is not None:
                raise err
            if row.slow_mode_seconds > 0:
                last = (
                    await s.execute(
                        text("SELECT max(sent_at) FROM chat_messages WHERE stream_id = :s AND user_id = :u"),
                        {"s": stream_id, "u": user_id},
                    )
                ).scalar()
                rules.check_slow_mode(last, row.slow_mode_seconds, now)
        seq = (
            await s.execute(text("UPDATE chat_rooms SET last_seq = last_seq + 1 WHERE stream_id = :s RETURNING last_seq"), {"s": stream_id})
        ).scalar_one()
        mid = uuid.uuid4()
        await s.execute(
            text(
                "INSERT INTO chat_messages (id, stream_id, seq, user_id, username, text, sent_at) "
                "VALUES (:id, :s, :seq, :u, :n, :t, :at)"
            ),
            {"id": mid, "s": stream_id, "seq": seq, "u": user_id, "n": username, "t": body, "at": now},
        )
        await add_event(
            s,
            ChatPostedV1(message_id=mid, stream_id=stream_id, user_id=user_id, username=username, text=body, sent_at=now, seq=seq),
            source=SOURCE,
        )
    return {
        "id": str(mid),
        "seq": int(seq),
        "streamId": str(stream_id),
        "userId": user_id,
        "username": username,
        "text": body,
        "sentAt": now.isoformat().replace("+00:00", "Z"),
    }


_MSG_COLS = "id, seq, stream_id, user_id, username, text, sent_at"


async def history(db: Database, stream_id: uuid.UUID, after: int | None, limit: int) -> tuple[Room | None, list[dict], bool, list[str]]:
    """What a connecting client gets: (room, messages ascending, truncated, deleted ids).

    ``after`` None: the newest ``limit`` messages. ``after`` = the last ``seq`` the client saw: the
    messages after it (the newest ``limit`` of them, ``truncated`` True when there were more), plus
    the ids of messages deleted among the client's recent window so it can remove them too.
    The room is read first, so every message up to ``room.last_seq`` is committed and returned.
    """
    async with db.session() as s:
        return await history_in(s, stream_id, after, limit)


async def history_in(s: AsyncSession, stream_id: uuid.UUID, after: int | None, limit: int) -> tuple[Room | None, list[dict], bool, list[str]]:
    """:func:`history` inside an open session."""
    room = await get_room(s, stream_id)
    if room is None:
        return None, [], False, []
    lo = after if after is not None else 0
    rows = (
        await s.execute(
            text(
                f"SELECT {_MSG_COLS} FROM chat_messages WHERE stream_id = :s AND seq > :lo AND seq <= :hi "
                "AND deleted_at IS NULL ORDER BY seq DESC LIMIT :n"
            ),
            {"s": stream_id, "lo": lo, "hi": room.last_seq, "n": limit + 1},
        )
    ).all()
    truncated = len(rows) > limit and after is not None
    rows = rows[:limit]
    deleted: list[str] = []
    if after is not None:
        deleted = [
            str(r[0])
            for r in await s.execute(
                text("SELECT id FROM chat_messages WHERE stream_id = :s AND seq > :lo AND deleted_at IS NOT NULL"),
                {"s": stream_id, "lo": max(0, after - 500)},
            )
        ]
    return room, [message_dict(r) for r in reversed(rows)], truncated, deleted


async def messages_between(db: Database, stream_id: uuid.UUID, after: int, before: int) -> list[dict]:
    """Committed messages with ``after < seq < before`` ascending (deleted ones included, flagged), for
    filling a fan-out gap."""
    async with db.session() as s:
        rows = (
            await s.execute(
                text(f"SELECT {_MSG_COLS}, deleted_at FROM chat_messages WHERE stream_id = :s AND seq > :a AND seq < :b ORDER BY seq"),
                {"s": stream_id, "a": after, "b": before},
            )
        ).all()
    return [{**message_dict(r), "deleted": r.deleted_at is not None} for r in rows]


async def page(db: Database, stream_id: uuid.UUID, before: int | None, limit: int) -> tuple[list[dict], int | None]:
    """History page, newest first: messages with ``seq < before`` (all when None); returns (items,
    next cursor = the smallest seq returned when older messages remain)."""
    async with db.session() as s:
        rows = (
            await s.execute(
                text(
                    f"SELECT {_MSG_COLS} FROM chat_messages WHERE stream_id = :s AND deleted_at IS NULL "
                    "AND (CAST(:b AS bigint) IS NULL OR seq < :b) ORDER BY seq DESC LIMIT :n"
                ),
                {"s": stream_id, "b": before, "n": limit + 1},
            )
        ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [message_dict(r) for r in rows], (int(rows[-1].seq) if more and rows else None)


async def message_author(session: AsyncSession, stream_id: uuid.UUID, message_id: uuid.UUID) -> str | None:
    """The user id that wrote message ``message_id`` of ``stream_id`` (row locked until the transaction
    ends), or None when there is no such message."""
    return (
        await session.execute(
            text("SELECT user_id FROM chat_messages WHERE id = :m AND stream_id = :s FOR UPDATE"),
            {"m": message_id, "s": stream_id},
        )
    ).scalar_one_or_none()


async def delete_message(session: AsyncSession, stream_id: uuid.UUID, message_id: uuid.UUID, moderator_id: str) -> bool:
    """Mark a message deleted and emit ``chat.deleted``; False when there is no such message. Deleting
    an already-deleted message is a no-op that returns True (idempotent)."""
    row = (
        await session.execute(
            text("SELECT seq, deleted_at FROM chat_messages WHERE id = :m AND stream_id = :s FOR UPDATE"),
            {"m": message_id, "s": stream_id},
        )
    ).first()
    if row is None:
        return False
    if row.deleted_at is None:
        await session.execute(text("UPDATE chat_messages SET deleted_at = now() WHERE id = :m"), {"m": message_id})
        await add_event(session, ChatDeletedV1(message_id=message_id, stream_id=stream_id, seq=row.seq, moderator_id=moderator_id), source=SOURCE)
    return True


async def ban(session: AsyncSession, stream_id: uuid.UUID, user_id: str, until: datetime | None, reason: str | None, moderator_id: str) -> None:
    """Ban (``until`` None) or time out a user; emits ``chat.moderated``."""
    await session.execute(
        text(
            "INSERT INTO chat_bans (stream_id, user_id, until, reason, created_by) VALUES (:s, :u, :until, :r, :by) "
            "ON CONFLICT (stream_id, user_id) DO UPDATE SET until = EXCLUDED.until, reason = EXCLUDED.reason, "
            "created_by = EXCLUDED.created_by, created_at = now()"
        ),
        {"s": stream_id, "u": user_id, "until": until, "r": reason, "by": moderator_id},
    )
    action = "BAN" if until is None else "TIMEOUT"
    await add_event(session, ChatModeratedV1(stream_id=stream_id, action=action, moderator_id=moderator_id, user_id=user_id, until=until, reason=reason), source=SOURCE)


async def unban(session: AsyncSession, stream_id: uuid.UUID, user_id: str, moderator_id: str) -> bool:
    res = await session.execute(text("DELETE FROM chat_bans WHERE stream_id = :s AND user_id = :u"), {"s": stream_id, "u": user_id})
    if res.rowcount:
        await add_event(session, ChatModeratedV1(stream_id=stream_id, action="UNBAN", moderator_id=moderator_id, user_id=user_id), source=SOURCE)
    return bool(res.rowcount)


async def list_bans(session: AsyncSession, stream_id: uuid.UUID) -> list[dict]:
    rows = await session.execute(
        text("SELECT user_id, until, reason, created_by, created_at FROM chat_bans WHERE stream_id = :s AND (until IS NULL OR until > now()) ORDER BY created_at"),
        {"s": stream_id},
    )
    return [
        {"userId": r.user_id, "until": r.until.isoformat() if r.until else None, "reason": r.reason, "createdBy": r.created_by, "createdAt": r.created_at.isoformat()}
        for r in rows
    ]


async def set_slow_mode(session: AsyncSession, stream_id: uuid.UUID, seconds: int, moderator_id: str) -> None:
    await session.execute(text("UPDATE chat_rooms SET slow_mode_seconds = :n, updated_at = now() WHERE stream_id = :s"), {"s": stream_id, "n": seconds})
    await add_event(session, ChatModeratedV1(stream_id=stream_id, action="SLOW_MODE", moderator_id=moderator_id, slow_mode_seconds=seconds), source=SOURCE)


async def set_moderator(session: AsyncSession, stream_id: uuid.UUID, user_id: str, owner_id: str, present: bool) -> bool:
    if present:
        res = await session.execute(
            text("INSERT INTO chat_moderators (stream_id, user_id, added_by) VALUES (:s, :u, :by) ON CONFLICT DO NOTHING"),
            {"s": stream_id, "u": user_id, "by": owner_id},
        )
    else:
        res = await session.execute(text("DELETE FROM chat_moderators WHERE stream_id = :s AND user_id = :u"), {"s": stream_id, "u": user_id})
    if res.rowcount:
        action = "MODERATOR_ADDED" if present else "MODERATOR_REMOVED"
        await add_event(session, ChatModeratedV1(stream_id=stream_id, action=action, moderator_id=owner_id, user_id=user_id), source=SOURCE)
    return bool(res.rowcount)


async def open_room(session: AsyncSession, stream_id: uuid.UUID, owner_id: str, started_at: datetime, visibility: str | None) -> None:
    """``stream.started``: create the room LIVE, or reopen it unless it ended after this start (a late,
    out-of-order start never reopens a newer end)."""
    await session.execute(
        text(
            """
            INSERT INTO chat_rooms (stream_id, owner_id, status, visibility, started_at)
            VALUES (:s, :o, 'LIVE', :v, :at)
            ON CONFLICT (stream_id) DO UPDATE SET
              owner_id = EXCLUDED.owner_id,
              visibility = EXCLUDED.visibility,
              status = CASE WHEN chat_rooms.ended_at IS NOT NULL AND chat_rooms.ended_at > EXCLUDED.started_at
                            THEN chat_rooms.status ELSE 'LIVE' END,
              started_at = GREATEST(chat_rooms.started_at, EXCLUDED.started_at),
              updated_at = now()
            """
        ),
        {"s": stream_id, "o": owner_id, "v": visibility or "public", "at": started_at},
    )


async def close_room(session: AsyncSession, stream_id: uuid.UUID, owner_id: str, ended_at: datetime) -> None:
    """``stream.ended``: the room becomes read-only (created ENDED for a stream never seen started),
    unless it was started again after this end."""
    await session.execute(
        text(
            """
            INSERT INTO chat_rooms (stream_id, owner_id, status, ended_at)
            VALUES (:s, :o, 'ENDED', :at)
            ON CONFLICT (stream_id) DO UPDATE SET
              status = CASE WHEN chat_rooms.started_at IS NOT NULL AND chat_rooms.started_at > EXCLUDED.ended_at
                            THEN chat_rooms.status ELSE 'ENDED' END,
              ended_at = GREATEST(chat_rooms.ended_at, EXCLUDED.ended_at),
              updated_at = now()
            """
        ),
        {"s": stream_id, "o": owner_id, "at": ended_at},
    )


async def report_presence(db: Database, replica_id: str, counts: dict[uuid.UUID, int], stale_after_s: float) -> list[tuple[uuid.UUID, int]]:
    """Store this replica's viewer counts, forget stale replicas, and publish ``chat.presence`` for each
    stream whose total changed. The compare-and-set on ``chat_rooms.viewers`` (row locked by the
    UPDATE) makes concurrent replicas publish one event per change. Returns the (stream, total) published."""
    from datetime import UTC
    from datetime import datetime as dt

    now = dt.now(UTC)
    async with db.session() as s:
        live = {k: v for k, v in counts.items() if v > 0}
        if live:
            await s.execute(
                text(
                    "INSERT INTO chat_presence (replica_id, stream_id, viewers, updated_at) "
                    "SELECT :r, u.s, u.v, now() FROM unnest(CAST(:ss AS uuid[]), CAST(:vs AS int[])) AS u(s, v) "
                    "ON CONFLICT (replica_id, stream_id) DO UPDATE SET viewers = EXCLUDED.viewers, updated_at = now()"
                ),
                {"r": replica_id, "ss": list(live), "vs": list(live.values())},
            )
        await s.execute(
            text("DELETE FROM chat_presence WHERE replica_id = :r AND NOT (stream_id = ANY(CAST(:ss AS uuid[])))"),
            {"r": replica_id, "ss": list(live)},
        )
        await s.execute(text("DELETE FROM chat_presence WHERE updated_at < :t"), {"t": now - timedelta(seconds=stale_after_s)})
        changed = (
            await s.execute(
                text(
                    """
                    WITH totals AS (
                      SELECT r.stream_id, COALESCE(sum(p.viewers), 0)::int AS total
                      FROM chat_rooms r LEFT JOIN chat_presence p ON p.stream_id = r.stream_id
                      WHERE r.viewers > 0 OR p.stream_id IS NOT NULL
                      GROUP BY r.stream_id
                    )
                    UPDATE chat_rooms r SET viewers = t.total FROM totals t
                    WHERE r.stream_id = t.stream_id AND r.viewers <> t.total
                    RETURNING r.stream_id, r.viewers
                    """
                )
            )
        ).all()
        for stream_id, total in changed:
            await add_event(s, ChatPresenceV1(stream_id=stream_id, viewers=total, at=now), source=SOURCE)
    return [(r[0], r[1]) for r in changed]


async def purge_expired(db: Database, older_than: timedelta, batch: int = 5000) -> int:
    """Delete messages sent before ``now - older_than`` in batches; returns how many were deleted."""
    total = 0
    while True:
        async with db.session() as s:
            res = await s.execute(
                text(
                    "DELETE FROM chat_messages WHERE id IN (SELECT id FROM chat_messages "
                    "WHERE sent_at < now() - CAST(:age AS interval) LIMIT :n)"
                ),
                {"age": f"{older_than.total_seconds()} seconds", "n": batch},
            )
        total += res.rowcount or 0
        if (res.rowcount or 0) < batch:
            return total
