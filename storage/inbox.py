"""The durable inbox: updates stored before they are confirmed to Telegram (see ``bot.inbox``).

A row is written when an update arrives (polling or webhook), several at once
(:meth:`InboxRepo.add_many`), and marked done in the same transaction that flushes the
conversation state after its handling (``StateRepo.write``, kind ``done``); when the handling
ends first, that transaction stores the row as done (kind ``inbox_done``). Rows not done are handled again at start. Done rows are kept for a day (a replay
log for debugging), then pruned.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.db import Database

KEEP = "-1 day"
ROWS_PER_STATEMENT = 1000  # 3 parameters a row


class InboxRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, update_id: int, chat_key: int | None, data: str) -> bool:
        """Store an arriving update; False if it is already here (a redelivery).

        A done row older than a day with the same id is a new update (Telegram picks update
        ids at random again after a week without updates), so it is replaced.
        """
        rows = await self.db.write(
            "INSERT INTO inbox (update_id, chat_key, data) VALUES (?, ?, ?)"
            " ON CONFLICT (update_id) DO UPDATE SET chat_key = excluded.chat_key,"
            " data = excluded.data, received_at = excluded.received_at, done = 0"
            f" WHERE inbox.done = 1 AND inbox.received_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '{KEEP}')"
            " RETURNING update_id",
            (update_id, chat_key, data),
        )
        return bool(rows)

    async def add_many(self, rows: list[tuple[int, int | None, str]]) -> set[int]:
        """Store arriving updates ``(update_id, chat_key, JSON)`` in one statement; the ids that
        were new (the others are redeliveries, see :meth:`add`)."""
        new: set[int] = set()
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            values = ", ".join(["(?, ?, ?)"] * len(chunk))
            stored = await self.db.write(
                f"INSERT INTO inbox (update_id, chat_key, data) VALUES {values}"
                " ON CONFLICT (update_id) DO UPDATE SET chat_key = excluded.chat_key,"
                " data = excluded.data, received_at = excluded.received_at, done = 0"
                f" WHERE inbox.done = 1 AND inbox.received_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '{KEEP}')"
                " RETURNING update_id",
                [v for row in chunk for v in row],
            )
            new.update(int(row[0]) for row in stored)
        return new

    async def pending(self) -> list[tuple[int, str]]:
        """Updates not done yet, oldest first: (update_id, JSON)."""
        rows = await self.db.fetchall("SELECT update_id, data FROM inbox WHERE done = 0 ORDER BY update_id")
        return [(int(row[0]), str(row[1])) for row in rows]

    async def recent(self, limit: int) -> list[int]:
        """Ids of the ``limit`` newest rows, oldest first."""
        rows = await self.db.fetchall(
            "SELECT update_id FROM (SELECT update_id FROM inbox ORDER BY update_id DESC LIMIT ?)"
            " ORDER BY update_id",
            (limit,),
        )
        return [int(row[0]) for row in rows]

    async def is_done(self, update_id: int) -> bool | None:
        row = await self.db.fetchone("SELECT done FROM inbox WHERE update_id = ?", (update_id,))
        return None if row is None else bool(row[0])

    async def prune(self) -> None:
        """Forget done rows older than a day."""
        await self.db.write(
            "DELETE FROM inbox WHERE done = 1"
            f" AND received_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '{KEEP}')"
        )


# -- read from another process (the crash drill watches a running bot's file) ------------------
def done_in_file(path: str | Path, update_id: int) -> bool:
    """Whether the inbox of the database file marks ``update_id`` done (read-only; False on error)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            row = conn.execute("SELECT done FROM inbox WHERE update_id = ?", (update_id,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


def records_in_file(path: str | Path) -> dict[str, int]:
    """How many reports and visits the database file holds."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return {
            "reports": conn.execute("SELECT count(*) FROM reports").fetchone()[0],
            "visits": conn.execute("SELECT count(*) FROM visits").fetchone()[0],
        }
    finally:
        conn.close()
