"""The scheduler's push log: every push (what, which occurrence and slot, which chat) has one
row under a UNIQUE key, so no push is ever sent twice, whoever sends it.

The life of a push: :meth:`PushesRepo.claim` inserts it as ``claimed`` (or takes back a
``failed`` one, or a ``claimed`` one whose claimer has been silent longer than the lease: a
process that died between claiming and sending); only the caller that claimed it sends it,
and keeps its claim alive with :meth:`renew` while it waits to send; then :meth:`sent` (with
the message id, for later edits) or :meth:`failed` (retried by a later claim) or
:meth:`dropped` (never retried: the chat is gone, or it failed too often).

*Uncertain* pushes: a send that timed out after the request may have reached Telegram, or a
claim taken back from a process that died (it may have sent before dying), may already be in
the chat. The push log says so: its ``error`` starts with ``uncertain:`` and keeps saying so
after the push is sent. :meth:`timed_out` lets such a push be retried once; a second
uncertain outcome drops it, so a chat sees at most two copies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from storage.db import Database, Row, record
from storage.timefmt import from_db, to_db
from storage.visits import DueFollowUp

STATUSES = ("claimed", "sent", "failed", "dropped")
UNCERTAIN = "uncertain: "  # the error prefix of a push that may already be in the chat
# SQL pieces: keep the uncertain mark through later errors and after the push is sent.
_KEEP_MARK = "CASE WHEN error LIKE 'uncertain:%' THEN substr('uncertain: ' || ?, 1, 500) ELSE ? END"


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

    @property
    def uncertain(self) -> bool:
        """It may have reached the chat more than once (a timeout, or a dead claimer)."""
        return (self.error or "").startswith(UNCERTAIN)


_COLS = "kind, ref_id, occurrence, slot, chat_id, status, attempts, claimed_at, sent_at, message_id, error"
_WHERE_KEY = "kind = ? AND ref_id = ? AND occurrence = ? AND slot = ? AND chat_id = ?"


def _record(row: Row) -> PushRecord:
    return record(
        PushRecord, row, key=record(PushKey, row), claimed_at=from_db(row["claimed_at"]), sent_at=from_db(row["sent_at"])
    )


def _key(key: PushKey) -> tuple[str, int, str, str, int]:
    return key.kind, key.ref_id, key.occurrence, key.slot, key.chat_id


class PushesRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, key: PushKey, now: datetime, lease: timedelta) -> bool:
        """Take the push for sending; False if it was sent, dropped, or is being sent. A claim
        whose claimer has not renewed it within ``lease`` is taken back, marked uncertain (the
        claimer may have sent it before it died); if it was uncertain already, it is dropped
        instead (a third copy is never risked) and False is returned."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO pushes (kind, ref_id, occurrence, slot, chat_id, status, attempts,"
                " claimed_at) VALUES (?, ?, ?, ?, ?, 'claimed', 1, ?)"
                " ON CONFLICT (kind, ref_id, occurrence, slot, chat_id) DO UPDATE SET"
                " status = CASE WHEN pushes.status = 'claimed' AND pushes.error LIKE 'uncertain:%'"
                "   THEN 'dropped' ELSE 'claimed' END,"
                " error = CASE WHEN pushes.status = 'failed' THEN pushes.error"
                "   WHEN pushes.error LIKE 'uncertain:%' THEN 'uncertain: twice, the last claimer stopped'"
                "   ELSE 'uncertain: taken back from a claimer that stopped' END,"
                " attempts = pushes.attempts + 1,"
                " claimed_at = excluded.claimed_at"
                " WHERE pushes.status = 'failed'"
                " OR (pushes.status = 'claimed' AND pushes.claimed_at < ?)"
                " RETURNING status",
                (*_key(key), to_db(now), to_db(now - lease)),
            )
            row = await cur.fetchone()
            await cur.close()
        return row is not None and row[0] == "claimed"

    async def renew(self, keys: Iterable[PushKey], now: datetime) -> None:
        """Keep these claims alive (the caller is still about to send them)."""
        rows = [(to_db(now), *_key(key)) for key in keys]
        if not rows:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(
                f"UPDATE pushes SET claimed_at = ? WHERE status = 'claimed' AND {_WHERE_KEY}", rows
            )

    async def timed_out(self, key: PushKey, error: str) -> bool:
        """A send that may have reached the chat: give it back to be retried once (True), or
        drop it if it was uncertain already (False)."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE pushes SET status = CASE WHEN error LIKE 'uncertain:%' THEN 'dropped'"
                " ELSE 'failed' END, error = substr(? || ?, 1, 500)"
                f" WHERE {_WHERE_KEY} RETURNING status",
                (UNCERTAIN, error, *_key(key)),
            )
            row = await cur.fetchone()
            await cur.close()
        return row is not None and row[0] == "failed"

    async def sent(self, key: PushKey, message_id: int | None, now: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE pushes SET status = 'sent', sent_at = ?, message_id = ?,"
                " error = CASE WHEN error LIKE 'uncertain:%' THEN error END"
                f" WHERE {_WHERE_KEY}",
                (to_db(now), message_id, *_key(key)),
            )

    async def failed(self, key: PushKey, error: str) -> int:
        """Give the claim back for a later retry; returns how many attempts were made."""
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE pushes SET status = 'failed', error = {_KEEP_MARK} WHERE {_WHERE_KEY}",
                (error, error[:500], *_key(key)),
            )
        record = await self.get(key)
        return record.attempts if record else 0

    async def dropped(self, key: PushKey, error: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE pushes SET status = 'dropped', error = {_KEEP_MARK} WHERE {_WHERE_KEY}",
                (error, error[:500], *_key(key)),
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

    # -- read queries for the scheduler (one query whatever the number of pushes) ---------
    async def finished_keys(self, keys: Iterable[PushKey]) -> set[PushKey]:
        """Which of these pushes the log holds as sent or dropped (one query, each key looked
        up by the unique index: a group's other chats are not read)."""
        todo = sorted({(k.kind, k.ref_id, k.occurrence, k.slot, k.chat_id) for k in keys})
        if not todo:
            return set()
        rows = await self.db.fetchall(
            # those logged (the unique index alone, no row read) but the few claimed or failed
            # (the status index): reading every push's status cost a province's sweep 0.1 s
            "SELECT p.kind, p.ref_id, p.occurrence, p.slot, p.chat_id FROM json_each(?) j CROSS JOIN pushes p"
            " ON p.kind = j.value ->> 0 AND p.ref_id = j.value ->> 1 AND p.occurrence = j.value ->> 2"
            " AND p.slot = j.value ->> 3 AND p.chat_id = j.value ->> 4"
            " EXCEPT SELECT kind, ref_id, occurrence, slot, chat_id FROM pushes INDEXED BY pushes_status"
            " WHERE status IN ('claimed', 'failed')",
            (json.dumps(todo),),
        )
        return {PushKey(*row) for row in rows}

    async def standing(self, keys: Iterable[PushKey], now: datetime, lease: timedelta) -> dict[PushKey, datetime | None]:
        """Of these pushes, those that need no sending now, in one query: sent or dropped
        (None), or claimed within the lease (the moment the claim was last renewed: it can be
        taken back ``lease`` after that)."""
        todo = sorted({(k.kind, k.ref_id, k.occurrence, k.slot, k.chat_id) for k in keys})
        if not todo:
            return {}
        rows = await self.db.fetchall(
            "SELECT p.kind, p.ref_id, p.occurrence, p.slot, p.chat_id, p.status, p.claimed_at"
            " FROM json_each(?) j CROSS JOIN pushes p ON p.kind = j.value ->> 0 AND p.ref_id = j.value ->> 1"
            " AND p.occurrence = j.value ->> 2 AND p.slot = j.value ->> 3 AND p.chat_id = j.value ->> 4"
            " WHERE +p.status IN ('sent', 'dropped') OR (+p.status = 'claimed' AND p.claimed_at >= ?)",
            (json.dumps(todo), to_db(now - lease)),
        )
        return {
            PushKey(*row[:5]): from_db(row[6]) if row[5] == "claimed" else None for row in rows
        }

    async def wake_facts(self, now: datetime, until: datetime) -> tuple[datetime | None, bool, list[tuple[date, datetime]]]:
        """What the scheduler's next wake-up needs, in one query: the earliest planned moment of
        the open tasks and active events after ``now``, whether any of them is due (or new) at
        ``now``, and the (due day, due moment) of the open follow-ups due after ``now`` and at
        or before ``until`` (whose reminders are still to come)."""
        from storage.tasks import NEVER

        rows = await self.db.fetchall(
            "SELECT 'planned', MIN(x), NULL FROM ("
            " SELECT MIN(next_at) AS x FROM tasks WHERE status = 'open' AND next_at > :now AND next_at < :never"
            " UNION ALL SELECT MIN(next_at) FROM events WHERE deleted_at IS NULL AND paused = 0"
            " AND next_at > :now AND next_at < :never)"
            " UNION ALL SELECT 'due', EXISTS (SELECT 1 FROM tasks WHERE status = 'open' AND next_at <= :now)"
            " OR EXISTS (SELECT 1 FROM events WHERE deleted_at IS NULL AND paused = 0 AND next_at <= :now), NULL"
            " UNION ALL SELECT 'followup', f.due_on, f.due_at"
            " FROM followups f JOIN households h ON h.id = f.household_id JOIN people p ON p.id = f.member_id"
            " WHERE f.closed_at IS NULL AND h.archived = 0 AND p.active = 1 AND p.telegram_id IS NOT NULL"
            " AND f.due_at > :now AND f.due_at <= :until",
            {"now": to_db(now), "until": to_db(until), "never": NEVER},
        )
        planned, due, coming = None, False, []
        for what, a, b in rows:
            if what == "planned":
                planned = from_db(a) if a else None
            elif what == "due":
                due = bool(a)
            else:
                coming.append((date.fromisoformat(a), from_db(b)))
        return planned, due, coming  # type: ignore[return-value]

    async def followups_unsent(self, until: datetime, now: datetime, lease: timedelta) -> list[DueFollowUp]:
        """Open follow-ups of active households and joined members due at or before ``until``
        whose reminder (kind ``visit_followup``, occurrence = due day) is not settled: not
        sent, dropped, or claimed within the lease. Earliest first."""
        # the partial index followups_to_remind holds just these (see the migrations)
        return await self._followups(
            "f.reachable = 1 AND f.reminded_on IS NOT f.due_on AND f.due_at <= :until"
            " AND p.telegram_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pushes s"
            " WHERE s.kind = 'visit_followup' AND s.ref_id = f.id AND s.occurrence = f.due_on"
            " AND s.slot = '' AND s.chat_id = p.telegram_id AND (s.status IN ('sent', 'dropped')"
            " OR (s.status = 'claimed' AND s.claimed_at >= :since)))",
            {"until": to_db(until), "since": to_db(now - lease)},
        )

    async def followups_coming(self, after: datetime, until: datetime) -> list[DueFollowUp]:
        """Open follow-ups of active households and joined members due after ``after`` and at
        or before ``until`` (their reminders are still to come)."""
        return await self._followups(
            "f.due_at > :after AND f.due_at <= :until AND p.telegram_id IS NOT NULL",
            {"after": to_db(after), "until": to_db(until)},
        )

    async def _followups(self, where: str, params: dict) -> list[DueFollowUp]:
        rows = await self.db.fetchall(
            "SELECT f.id, f.member_id, p.telegram_id, p.name, h.id AS household_id, h.head, h.village_id,"
            " v.concern_text, f.due_on, f.due_at"
            " FROM followups f JOIN households h ON h.id = f.household_id"
            " JOIN people p ON p.id = f.member_id JOIN visits v ON v.id = f.visit_id"
            f" WHERE f.closed_at IS NULL AND h.archived = 0 AND p.active = 1 AND {where}"
            " ORDER BY f.due_at, f.id",
            params,
        )
        return [
            DueFollowUp(
                r["id"], r["member_id"], r["telegram_id"], r["name"], r["household_id"], r["head"],
                r["village_id"], r["concern_text"], date.fromisoformat(r["due_on"]), from_db(r["due_at"]),  # type: ignore[arg-type]
            )
            for r in rows
        ]

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
    async def sent_to(self, kinds: Iterable[str], ref_ids: Iterable[int]) -> dict[int, set[int]]:
        """The chats each thing's pushes of these kinds reached (sent), by thing: what a task's
        or an event's status says it reached."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT ref_id, chat_id FROM pushes WHERE status = 'sent'"
            " AND kind IN (SELECT value FROM json_each(?)) AND ref_id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(set(kinds))), json.dumps(sorted({int(r) for r in ref_ids}))),
        )
        out: dict[int, set[int]] = {}
        for ref_id, chat_id in rows:
            out.setdefault(ref_id, set()).add(chat_id)
        return out

    async def first_sent(self, kind: str, pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], dict[int, datetime]]:
        """For each ``(ref_id, occurrence)``: the chats a push of ``kind`` reached, with when the
        first one was sent there (one query for any number of occurrences)."""
        pairs = sorted(set(pairs))
        if not pairs:
            return {}
        rows = await self.db.fetchall(
            "SELECT p.ref_id, p.occurrence, p.chat_id, MIN(p.sent_at) FROM json_each(?) j"
            " JOIN pushes p ON p.kind = ? AND p.ref_id = json_extract(j.value, '$[0]')"
            " AND p.occurrence = json_extract(j.value, '$[1]')"
            " WHERE p.status = 'sent' AND p.sent_at IS NOT NULL GROUP BY 1, 2, 3",
            (json.dumps(pairs), kind),
        )
        out: dict[tuple[int, str], dict[int, datetime]] = {}
        for ref_id, occurrence, chat_id, sent_at in rows:
            out.setdefault((ref_id, occurrence), {})[chat_id] = from_db(sent_at)  # type: ignore[assignment]
        return out
