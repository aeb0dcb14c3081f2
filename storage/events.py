"""Recurring events (the monthly lecture, supervision, observation visits) and the answers
(参加 / 请假) given to each occurrence."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from storage.db import Database, Row, record
from storage.timefmt import from_db, plan_rows, to_db

AUDIENCES = ("secretaries", "everyone")
ANSWERS = ("yes", "no")
NEVER = "9999-12-31T23:59:59Z"  # next_at of an event with no occurrence left


@dataclass(frozen=True)
class Event:
    id: int
    title: str
    rule: dict[str, Any]  # bot.rules.recurrence.Rule.to_dict()
    place: str
    speaker: str
    leads: tuple[str, ...]
    audience: str
    organiser: int  # people.id
    scope_unit_id: int
    paused: bool
    created_at: datetime
    updated_at: datetime
    unit_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Answer:
    telegram_id: int
    name: str
    answer: str
    answered_at: datetime
    reason: str = ""  # why 请假, if the member said (shown to the organiser only)


@dataclass(frozen=True)
class Occurrence:
    """One occurrence's own arrangement: its speaker and topic ('' = the event's), skipped
    this time, or moved to ``moved_to`` (None: the rule's own time). ``occurrence`` is the
    rule's local date, the key of its answers and pushes, whatever the moment it moved to."""

    event_id: int
    occurrence: str
    speaker: str = ""
    topic: str = ""
    skipped: bool = False
    moved_to: datetime | None = None
    updated_at: datetime | None = None

    @property
    def day(self) -> date:
        return date.fromisoformat(self.occurrence)

    @property
    def changed(self) -> bool:
        """Skipped or moved: members who got its notice are told."""
        return self.skipped or self.moved_to is not None


_OCC_COLS = "event_id, occurrence, speaker, topic, skipped, moved_to, updated_at"


def _occurrence(row: Row) -> Occurrence:
    return record(Occurrence, row, skipped=bool(row["skipped"]), moved_to=from_db(row["moved_to"]),
                  updated_at=from_db(row["updated_at"]))


_UNIT_IDS = "(SELECT group_concat(unit_id) FROM event_units eu WHERE eu.event_id = e.id) AS unit_ids"
_COLS = (
    "e.id, e.title, e.rule, e.place, e.speaker, e.leads, e.audience, e.organiser, e.scope_unit_id,"
    f" e.paused, e.created_at, e.updated_at, {_UNIT_IDS}"
)


def _event(row: Row) -> Event:
    units = tuple(sorted(int(x) for x in row["unit_ids"].split(","))) if row["unit_ids"] else ()
    return record(
        Event,
        row,
        rule=json.loads(row["rule"]),
        leads=tuple(json.loads(row["leads"])),
        paused=bool(row["paused"]),
        created_at=from_db(row["created_at"]),
        updated_at=from_db(row["updated_at"]),
        unit_ids=units,
    )


# The scheduler reads the events it pushes for in batches, and events share a few rules: a
# stored rule or leads is parsed once (the value is shared: read, never changed).
@functools.lru_cache(maxsize=1024)
def _stored_rule(text: str) -> dict[str, Any]:
    return json.loads(text)


@functools.lru_cache(maxsize=1024)
def _stored_leads(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


class EventsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        token: str,
        title: str,
        rule: dict[str, Any],
        place: str,
        speaker: str,
        leads: Sequence[str],
        audience: str,
        organiser: int,
        scope_unit_id: int,
        unit_ids: Iterable[int],
        now: datetime,
    ) -> tuple[Event, bool]:
        """Save an event once per draft ``token``; returns it and whether it is new."""
        units = sorted(set(unit_ids))
        if not units:
            raise ValueError("an event needs at least one target unit")
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO events (token, title, rule, place, speaker, leads, audience,"
                " organiser, scope_unit_id, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token,
                    title,
                    json.dumps(rule),
                    place,
                    speaker,
                    json.dumps(list(leads)),
                    audience,
                    organiser,
                    scope_unit_id,
                    to_db(now),
                    to_db(now),
                ),
            )
            created = cur.rowcount == 1
            if created:
                event_id = cur.lastrowid
                await conn.executemany(
                    "INSERT INTO event_units (event_id, unit_id) VALUES (?, ?)",
                    [(event_id, unit_id) for unit_id in units],
                )
        row = await self.db.fetchone(f"SELECT {_COLS} FROM events e WHERE e.token = ?", (token,))
        return _event(row), created

    async def update(
        self,
        event_id: int,
        *,
        title: str,
        rule: dict[str, Any],
        place: str,
        speaker: str,
        leads: Sequence[str],
        audience: str,
        unit_ids: Iterable[int],
        now: datetime,
    ) -> Event | None:
        units = sorted(set(unit_ids))
        if not units:
            raise ValueError("an event needs at least one target unit")
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE events SET title = ?, rule = ?, place = ?, speaker = ?, leads = ?,"
                " audience = ?, updated_at = ?, next_at = '', plan_rev = plan_rev + 1"
                " WHERE id = ? AND deleted_at IS NULL",
                (title, json.dumps(rule), place, speaker, json.dumps(list(leads)), audience,
                 to_db(now), event_id),
            )
            if cur.rowcount == 1:
                await conn.execute("DELETE FROM event_units WHERE event_id = ?", (event_id,))
                await conn.executemany(
                    "INSERT INTO event_units (event_id, unit_id) VALUES (?, ?)",
                    [(event_id, unit_id) for unit_id in units],
                )
        return await self.get(event_id)

    async def get(self, event_id: int) -> Event | None:
        row = await self.db.fetchone(
            f"SELECT {_COLS} FROM events e WHERE e.id = ? AND e.deleted_at IS NULL", (event_id,)
        )
        return _event(row) if row else None

    async def active(self) -> list[Event]:
        """Events that are not paused or deleted."""
        rows = await self.db.fetchall(
            f"SELECT {_COLS} FROM events e WHERE e.deleted_at IS NULL AND e.paused = 0 ORDER BY e.id"
        )
        return [_event(r) for r in rows]

    # -- for the scheduler: what is due ---------------------------------------------------
    async def due(
        self, now: datetime, *, after: int = 0, limit: int = -1, units: bool = True
    ) -> list[tuple[Event, int]]:
        """Active events to look at ``now`` (new, changed, or with a push due), with their plan
        revision (for :meth:`advance`); by id, from after ``after``, at most ``limit``. Without
        ``units`` their ``unit_ids`` are left empty (the scheduler reaches their groups in one
        query and does not read a district event's 2,000 unit ids)."""
        cols = _COLS if units else _COLS.replace(_UNIT_IDS, "NULL AS unit_ids")
        rows = await self.db.fetchall(
            f"SELECT {cols}, e.plan_rev FROM events e WHERE e.deleted_at IS NULL AND e.paused = 0"
            " AND e.next_at <= ? AND e.id > ? ORDER BY e.id LIMIT ?",
            (to_db(now), after, limit),
        )
        return [(_event(r), r["plan_rev"]) for r in rows]

    async def due_rules(self, now: datetime, *, after: int = 0, limit: int = -1) -> list[tuple[int, int, str, str]]:
        """:meth:`due`'s events (by id, from after ``after``, at most ``limit``) as ``(id, plan
        revision, rule, leads)``, the rule and leads as stored (JSON): the scheduler parses and
        works out each text once for all the events that share it, and reads the rest of an
        event (:meth:`many`) only if it has a push to make."""
        rows = await self.db.fetchall(
            "SELECT e.id, e.plan_rev, e.rule, e.leads FROM events e WHERE e.deleted_at IS NULL AND e.paused = 0"
            " AND e.next_at <= ? AND e.id > ? ORDER BY e.id LIMIT ?",
            (to_db(now), after, limit),
        )
        return rows  # type: ignore[return-value]  # sqlite3.Row: unpacked and indexed as the tuple

    async def many(self, event_ids: Iterable[int]) -> dict[int, tuple[Event, int]]:
        """These events (not deleted; paused ones too) with their plan revisions, by id, without
        their unit ids (one query)."""
        cols = _COLS.replace(_UNIT_IDS, "NULL AS unit_ids")
        rows = await self.db.fetchall(
            f"SELECT {cols}, e.plan_rev FROM events e WHERE e.id IN (SELECT value FROM json_each(?))"
            " AND e.deleted_at IS NULL",
            (json.dumps(sorted({int(i) for i in event_ids})),),
        )
        out = {}
        for r in rows:
            (eid, title, rule, place, speaker, leads, audience, organiser, scope, paused, created, updated,
             _units, rev) = r
            out[eid] = (Event(eid, title, _stored_rule(rule), place, speaker, _stored_leads(leads), audience,
                              organiser, scope, bool(paused), from_db(created), from_db(updated)), rev)
        return out

    async def next_planned(self, now: datetime) -> datetime | None:
        """The earliest moment after ``now`` an active event next needs looking at."""
        row = await self.db.fetchone(
            "SELECT MIN(next_at) FROM events WHERE deleted_at IS NULL AND paused = 0"
            " AND next_at > ? AND next_at < ?",
            (to_db(now), NEVER),
        )
        return from_db(row[0]) if row and row[0] else None

    async def advance(self, plans: Iterable[tuple[int, int, datetime | None]]) -> None:
        """``(event_id, plan_rev, next_at)``: nothing is due for the event before ``next_at``
        (None: never); skipped if the event changed since it was read."""
        rows = plan_rows(plans, NEVER)
        if not rows:
            return
        await self.db.write(  # one statement (and one thread hop) for any number of them
            "UPDATE events SET next_at = j.value ->> 0 FROM json_each(?) j"
            " WHERE events.id = j.value ->> 1 AND events.plan_rev = j.value ->> 2",
            (json.dumps(rows),),
        )

    async def replan_all(self) -> None:
        """Every event is looked at again by the next sweep (the clock went back)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE events SET next_at = '', plan_rev = plan_rev + 1 WHERE next_at <> ''"
            )

    async def owed_chats(self, groups: Iterable[tuple[int, str, str]]) -> dict[tuple[int, str, str], list[int]]:
        """For each ``(event_id, occurrence, slot)``: the active bound groups receiving notices
        of the event's target units (by chat id) whose notice under it (kind ``event_notice``)
        the push log does not hold as sent or dropped; a group with none owed is left out. One
        query for any number of them: the chats and the log are looked up in their indexes,
        so 10,000 events' first notices cost no Python object per chat already told."""
        todo = sorted({(int(e), o, s) for e, o, s in groups})
        if not todo:
            return {}
        rows = await self.db.fetchall(
            "WITH g(event_id, occurrence, slot) AS MATERIALIZED (SELECT j.value ->> 0, j.value ->> 1,"
            "  j.value ->> 2 FROM json_each(?) j),"
            " r(event_id, occurrence, slot, chat_id) AS (SELECT g.event_id, g.occurrence, g.slot,"
            "  c.chat_id FROM g CROSS JOIN event_units eu ON eu.event_id = g.event_id"
            # no DISTINCT: a chat is bound to one unit, an event has each unit once
            "  JOIN chats c ON c.unit_id = eu.unit_id AND c.active = 1 AND c.notices = 1)"
            # a push logged under the key: its status read only for the few claimed or failed
            # (by the status index, once), as storage.pushes.PushesRepo.finished_keys does
            " SELECT r.event_id, r.occurrence, r.slot, group_concat(r.chat_id) FROM r WHERE NOT EXISTS (SELECT 1 FROM pushes p"
            "  WHERE p.kind = 'event_notice' AND p.ref_id = r.event_id AND p.occurrence = r.occurrence"
            "  AND p.slot = r.slot AND p.chat_id = r.chat_id)"
            "  OR (r.event_id, r.occurrence, r.slot, r.chat_id) IN (SELECT ref_id, occurrence, slot, chat_id"
            "   FROM pushes INDEXED BY pushes_status WHERE status IN ('claimed', 'failed') AND kind = 'event_notice')"
            " GROUP BY 1, 2, 3",  # a row per group, its chats in one text: 14,733 chats owed are 3,355 rows
            (json.dumps(todo),),
        )
        return {(event_id, occurrence, slot): sorted(map(int, chats.split(",")))
                for event_id, occurrence, slot, chats in rows}

    async def counts_of(self, occurrences: Iterable[tuple[int, str]]) -> dict[tuple[int, str], tuple[int, int]]:
        """(参加, 请假) of each ``(event_id, occurrence)``."""
        pairs = sorted(set(occurrences))
        rows = await self.db.fetchall(
            "SELECT a.event_id, a.occurrence, a.answer, COUNT(*) FROM json_each(?) j"
            " JOIN event_answers a ON a.event_id = json_extract(j.value, '$[0]')"
            " AND a.occurrence = json_extract(j.value, '$[1]') GROUP BY 1, 2, 3",
            (json.dumps(pairs),),
        )
        out = {pair: (0, 0) for pair in pairs}
        for event_id, occurrence, answer, n in rows:
            yes, no = out[(event_id, occurrence)]
            out[(event_id, occurrence)] = (n, no) if answer == "yes" else (yes, n)
        return out

    async def in_scope(self, unit_id: int) -> list[Event]:
        """Events organised within the unit's subtree (paused ones too)."""
        rows = await self.db.fetchall(
            f"""
            WITH RECURSIVE tree(id) AS (
                SELECT id FROM units WHERE id = ?
                UNION ALL SELECT u.id FROM units u JOIN tree ON u.parent_id = tree.id
            )
            SELECT {_COLS} FROM events e WHERE e.deleted_at IS NULL
              AND e.scope_unit_id IN (SELECT id FROM tree) ORDER BY e.id
            """,
            (unit_id,),
        )
        return [_event(r) for r in rows]

    async def set_paused(self, event_id: int, paused: bool, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE events SET paused = ?, updated_at = ?, next_at = '', plan_rev = plan_rev + 1"
                " WHERE id = ? AND deleted_at IS NULL",
                (int(paused), to_db(now), event_id),
            )
            return cur.rowcount == 1

    async def delete(self, event_id: int, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE events SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                (to_db(now), event_id),
            )
            return cur.rowcount == 1

    # -- answers --------------------------------------------------------------------------
    async def answer(
        self, event_id: int, occurrence: str, telegram_id: int, name: str, answer: str, now: datetime
    ) -> None:
        if answer not in ANSWERS:
            raise ValueError(f"no answer {answer!r}")
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO event_answers (event_id, occurrence, telegram_id, name, answer,"
                " answered_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id, occurrence,"
                " telegram_id) DO UPDATE SET answer = excluded.answer, name = excluded.name,"
                " answered_at = excluded.answered_at,"
                " reason = CASE WHEN excluded.answer = 'no' THEN reason ELSE '' END",
                (event_id, occurrence, telegram_id, name, answer, to_db(now)),
            )

    async def counts(self, event_id: int, occurrence: str) -> tuple[int, int]:
        """(参加, 请假) for one occurrence."""
        rows = await self.db.fetchall(
            "SELECT answer, COUNT(*) AS n FROM event_answers WHERE event_id = ? AND occurrence = ?"
            " GROUP BY answer",
            (event_id, occurrence),
        )
        counted = {row["answer"]: row["n"] for row in rows}
        return counted.get("yes", 0), counted.get("no", 0)

    async def answers(self, event_id: int, occurrence: str) -> list[Answer]:
        rows = await self.db.fetchall(
            "SELECT telegram_id, name, answer, answered_at, reason FROM event_answers"
            " WHERE event_id = ? AND occurrence = ? ORDER BY answered_at, telegram_id",
            (event_id, occurrence),
        )
        return [record(Answer, r, answered_at=from_db(r["answered_at"])) for r in rows]

    async def answer_of(self, event_id: int, occurrence: str, telegram_id: int) -> Answer | None:
        row = await self.db.fetchone(
            "SELECT telegram_id, name, answer, answered_at, reason FROM event_answers"
            " WHERE event_id = ? AND occurrence = ? AND telegram_id = ?",
            (event_id, occurrence, telegram_id),
        )
        return record(Answer, row, answered_at=from_db(row["answered_at"])) if row else None

    async def set_reason(self, event_id: int, occurrence: str, telegram_id: int, reason: str) -> bool:
        """The reason of a 请假 (only while the answer is 请假); False if there is none."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE event_answers SET reason = ? WHERE event_id = ? AND occurrence = ?"
                " AND telegram_id = ? AND answer = 'no'",
                (reason, event_id, occurrence, telegram_id),
            )
            return cur.rowcount == 1

    # -- one occurrence's own arrangement -------------------------------------------------
    async def occurrence(self, event_id: int, occurrence: str) -> Occurrence | None:
        row = await self.db.fetchone(
            f"SELECT {_OCC_COLS} FROM event_occurrences WHERE event_id = ? AND occurrence = ?",
            (event_id, occurrence),
        )
        return _occurrence(row) if row else None

    async def arrangements(self, event_ids: Iterable[int], from_day: str, now: datetime) -> dict[int, dict[str, Occurrence]]:
        """The arranged occurrences of each event still to come: on or after the local date
        ``from_day``, or moved to a moment after ``now`` (one query for any number of events)."""
        rows = await self.db.fetchall(
            f"SELECT {_OCC_COLS} FROM event_occurrences"
            " WHERE event_id IN (SELECT value FROM json_each(?))"
            " AND (occurrence >= ? OR moved_to > ?) ORDER BY event_id, occurrence",
            (json.dumps(sorted(set(event_ids))), from_day, to_db(now)),
        )
        out: dict[int, dict[str, Occurrence]] = {}
        for row in rows:
            occ = _occurrence(row)
            out.setdefault(occ.event_id, {})[occ.occurrence] = occ
        return out

    async def arrange(
        self,
        event_id: int,
        occurrence: str,
        *,
        speaker: str,
        topic: str,
        skipped: bool,
        moved_to: datetime | None,
        by: int | None,
        now: datetime,
    ) -> Occurrence | None:
        """Set one occurrence's arrangement; the scheduler looks at the event again at once
        (its notices follow the new time; members who got one are told of a change)."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE events SET next_at = '', plan_rev = plan_rev + 1, updated_at = ?"
                " WHERE id = ? AND deleted_at IS NULL",
                (to_db(now), event_id),
            )
            if cur.rowcount != 1:
                return None
            await conn.execute(
                "INSERT INTO event_occurrences (event_id, occurrence, speaker, topic, skipped, moved_to,"
                " updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (event_id, occurrence) DO UPDATE SET speaker = excluded.speaker,"
                " topic = excluded.topic, skipped = excluded.skipped, moved_to = excluded.moved_to,"
                " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                (event_id, occurrence, speaker, topic, int(skipped), to_db(moved_to) if moved_to else None,
                 by, to_db(now)),
            )
        return await self.occurrence(event_id, occurrence)
