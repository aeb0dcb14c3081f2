"""The scheduler's push log: every push (what, which occurrence and slot, which chat) has one
row under a UNIQUE key, so no push is ever sent twice, whoever sends it.

The life of a push: :meth:`PushesRepo.claim` inserts it as ``claimed`` (or takes back a
``failed`` one, or a ``claimed`` one whose claimer has been silent longer than the lease: a
process that died between claiming and sending); only the caller that claimed it sends it;
then :meth:`sent` (with the message id, for later edits) or :meth:`failed` (retried by a later
claim) or :meth:`dropped` (never retried: the chat is gone, or it failed too often).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import Database
from storage.timefmt import from_db, to_db

STATUSES = ("claimed", "sent", "failed", "dropped")


@dataclass(frozen=True)
class PushKey:
    kind: str
    ref_id: int
    occurrence: str
    slot: str
    chat_id: int

    @property
    def group(self) -> tuple[str, int, str, str]:
        return self.kind, self.ref_id, self.occurrence, self.slot


@dataclass(frozen=True)
class PushRecord:
    key: PushKey
    status: str
    attempts: int
    claimed_at: datetime
    sent_at: datetime | None
    message_id: int | None
    error: str | None


_COLS = "kind, ref_id, occurrence, slot, chat_id, status, attempts, claimed_at, sent_at, message_id, error"
_WHERE_KEY = "kind = ? AND ref_id = ? AND occurrence = ? AND slot = ? AND chat_id = ?"


def _record(row) -> PushRecord:
    key = PushKey(row[0], row[1], row[2], row[3], row[4])
    return PushRecord(key, row[5], row[6], from_db(row[7]), from_db(row[8]), row[9], row[10])  # type: ignore[arg-type]


def _key(key: PushKey) -> tuple[str, int, str, str, int]:
    return key.kind, key.ref_id, key.occurrence, key.slot, key.chat_id


class PushesRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, key: PushKey, now: datetime, lease: timedelta) -> bool:
        """Take the push for sending; False if it was sent, dropped, or is being sent."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO pushes (kind, ref_id, occurrence, slot, chat_id, status, attempts,"
                " claimed_at) VALUES (?, ?, ?, ?, ?, 'claimed', 1, ?)"
                " ON CONFLICT (kind, ref_id, occurrence, slot, chat_id) DO UPDATE SET"
                " status = 'claimed', attempts = pushes.attempts + 1,"
                " claimed_at = excluded.claimed_at"
                " WHERE pushes.status = 'failed'"
                " OR (pushes.status = 'claimed' AND pushes.claimed_at < ?)"
                " RETURNING id",
                (*_key(key), to_db(now), to_db(now - lease)),
            )
            row = await cur.fetchone()
            await cur.close()
        return row is not None

    async def sent(self, key: PushKey, message_id: int | None, now: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE pushes SET status = 'sent', sent_at = ?, message_id = ?, error = NULL"
                f" WHERE {_WHERE_KEY}",
                (to_db(now), message_id, *_key(key)),
            )

    async def failed(self, key: PushKey, error: str) -> int:
        """Give the claim back for a later retry; returns how many attempts were made."""
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE pushes SET status = 'failed', error = ? WHERE {_WHERE_KEY}",
                (error[:500], *_key(key)),
            )
        record = await self.get(key)
        return record.attempts if record else 0

    async def dropped(self, key: PushKey, error: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE pushes SET status = 'dropped', error = ? WHERE {_WHERE_KEY}",
                (error[:500], *_key(key)),
            )

    async def get(self, key: PushKey) -> PushRecord | None:
        row = await self.db.fetchone(f"SELECT {_COLS} FROM pushes WHERE {_WHERE_KEY}", _key(key))
        return _record(row) if row else None

    async def settled(
        self, group: tuple[str, int, str, str], now: datetime, lease: timedelta
    ) -> set[int]:
        """Chats of one (kind, ref, occurrence, slot) that need no sending now: sent, dropped,
        or claimed by somebody within the lease."""
        rows = await self.db.fetchall(
            "SELECT chat_id FROM pushes WHERE kind = ? AND ref_id = ? AND occurrence = ?"
            " AND slot = ? AND (status IN ('sent', 'dropped')"
            " OR (status = 'claimed' AND claimed_at >= ?))",
            (*group, to_db(now - lease)),
        )
        return {row[0] for row in rows}

    async def messages(
        self, kind: str, ref_id: int, occurrence: str | None = None
    ) -> list[PushRecord]:
        """Sent pushes of one thing (optionally one occurrence), with their message ids."""
        rows = await self.db.fetchall(
            f"SELECT {_COLS} FROM pushes WHERE kind = ? AND ref_id = ? AND status = 'sent'"
            " AND message_id IS NOT NULL AND (? IS NULL OR occurrence = ?)"
            " ORDER BY occurrence, slot, chat_id",
            (kind, ref_id, occurrence, occurrence),
        )
        return [_record(r) for r in rows]

    async def message_of(self, kind: str, ref_id: int, occurrence: str, chat_id: int) -> set[int]:
        """Message ids of the pushes of one thing and occurrence sent to one chat."""
        rows = await self.db.fetchall(
            "SELECT message_id FROM pushes WHERE kind = ? AND ref_id = ? AND occurrence = ?"
            " AND chat_id = ? AND status = 'sent' AND message_id IS NOT NULL",
            (kind, ref_id, occurrence, chat_id),
        )
        return {row[0] for row in rows}

    async def records(self, kind: str | None = None) -> list[PushRecord]:
        """Every push (of one kind), oldest first: for the console, tests and benchmarks."""
        rows = await self.db.fetchall(
            f"SELECT {_COLS} FROM pushes WHERE (? IS NULL OR kind = ?) ORDER BY id", (kind, kind)
        )
        return [_record(r) for r in rows]
