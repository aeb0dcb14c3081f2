"""Tasks with deadlines given to units, and which units have done them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Row, record
from storage.timefmt import from_db, plan_rows, to_db


@dataclass(frozen=True)
class Task:
    id: int
    title: str
    description: str
    deadline: datetime  # aware, UTC
    leads: tuple[str, ...]  # lead codes (bot.rules.recurrence.Lead)
    created_by: int  # people.id
    scope_unit_id: int  # the creator's unit
    status: str
    created_at: datetime
    planned_from: datetime  # reminders before this instant are not sent (creation/extension)
    extended: bool = False
    closed_at: datetime | None = None
    audience: str = "groups"  # "people": the responsible people only; "groups": their groups too

    @property
    def open(self) -> bool:
        return self.status == "open"

    @property
    def to_groups(self) -> bool:
        return self.audience != "people"


@dataclass(frozen=True)
class Leader:
    """Someone who answers for a unit and can be reached privately."""

    unit_id: int
    person_id: int
    name: str
    telegram_id: int


# Who answers for a unit of each level: its party secretaries (first secretaries included),
# or the admins of a township or district.
LEADER_ROLES = {"village": ("secretary",), "grid": ("secretary",), "township": ("township_admin",),
                "district": ("district_admin",)}


@dataclass(frozen=True)
class TaskUnit:
    task_id: int
    unit_id: int
    unit_name: str
    parent_id: int | None
    level: str
    done_at: datetime | None
    done_by: int | None
    note: str
    photo_file_id: str | None

    @property
    def done(self) -> bool:
        return self.done_at is not None


_TASK_COLS = (
    "t.id, t.title, t.description, t.deadline, t.leads, t.created_by, t.scope_unit_id, t.status,"
    " t.created_at, t.planned_from, t.extended, t.closed_at, t.audience"
)
_UNIT_COLS = (
    "tu.task_id, tu.unit_id, u.name AS unit_name, u.parent_id, u.level, tu.done_at, tu.done_by, tu.note,"
    " tu.photo_file_id"
)


NEVER = "9999-12-31T23:59:59Z"  # next_at of a task with nothing left to push


def _ids(values: Iterable[int]) -> str:
    """A JSON array for ``IN (SELECT value FROM json_each(?))``: no limit on how many."""
    return json.dumps(sorted({int(v) for v in values}))


def _task(row: Row) -> Task:
    return record(
        Task,
        row,
        deadline=from_db(row["deadline"]),
        leads=tuple(json.loads(row["leads"])),
        created_at=from_db(row["created_at"]),
        planned_from=from_db(row["planned_from"]),
        extended=bool(row["extended"]),
        closed_at=from_db(row["closed_at"]),
    )


def _unit(row: Row) -> TaskUnit:
    done_at = datetime.fromisoformat(row["done_at"]) if row["done_at"] is not None else None  # from_db, faster
    return record(TaskUnit, row, done_at=done_at)


class TasksRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        token: str,
        title: str,
        description: str,
        deadline: datetime,
        leads: Sequence[str],
        created_by: int,
        scope_unit_id: int,
        unit_ids: Iterable[int],
        now: datetime,
        audience: str = "groups",
    ) -> tuple[Task, bool]:
        """Save a task once per draft ``token``; returns the task and whether it is new.
        ``audience``: "groups" (the units' groups too) or "people" (their leaders only; /newtask
        proposes it for a rectification task, see bot.rules.reach.default_audience)."""
        units = sorted(set(unit_ids))
        if not units:
            raise ValueError("a task needs at least one unit")
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO tasks (token, title, description, deadline, leads, created_by,"
                " scope_unit_id, created_at, planned_from, audience) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token,
                    title,
                    description,
                    to_db(deadline),
                    json.dumps(list(leads)),
                    created_by,
                    scope_unit_id,
                    to_db(now),
                    to_db(now),
                    audience,
                ),
            )
            created = cur.rowcount == 1
            if created:
                task_id = cur.lastrowid
                await conn.executemany(
                    "INSERT INTO task_units (task_id, unit_id) VALUES (?, ?)",
                    [(task_id, unit_id) for unit_id in units],
                )
        row = await self.db.fetchone(f"SELECT {_TASK_COLS} FROM tasks t WHERE t.token = ?", (token,))
        return _task(row), created

    async def get(self, task_id: int) -> Task | None:
        row = await self.db.fetchone(f"SELECT {_TASK_COLS} FROM tasks t WHERE t.id = ?", (task_id,))
        return _task(row) if row else None

    async def open_tasks(self) -> list[Task]:
        rows = await self.db.fetchall(
            f"SELECT {_TASK_COLS} FROM tasks t WHERE t.status = 'open' ORDER BY t.deadline, t.id"
        )
        return [_task(r) for r in rows]

    # -- for the scheduler: what is due ---------------------------------------------------
    async def due(self, now: datetime) -> list[tuple[Task, int]]:
        """Open tasks to look at ``now`` (new, changed, or with a push due), with their plan
        revision (for :meth:`advance`)."""
        rows = await self.db.fetchall(
            f"SELECT {_TASK_COLS}, t.plan_rev FROM tasks t WHERE t.status = 'open' AND t.next_at <= ?"
            " ORDER BY t.deadline, t.id",
            (to_db(now),),
        )
        return [(_task(r), r["plan_rev"]) for r in rows]

    async def next_planned(self, now: datetime) -> datetime | None:
        """The earliest moment after ``now`` an open task next needs looking at."""
        row = await self.db.fetchone(
            "SELECT MIN(next_at) FROM tasks WHERE status = 'open' AND next_at > ? AND next_at < ?",
            (to_db(now), NEVER),
        )
        return from_db(row[0]) if row and row[0] else None

    async def advance(self, plans: Iterable[tuple[int, int, datetime | None]]) -> None:
        """``(task_id, plan_rev, next_at)``: nothing is due for the task before ``next_at``
        (None: never, all its units are done); skipped if the task changed since it was read."""
        rows = plan_rows(plans, NEVER)
        if not rows:
            return
        await self.db.write(  # one statement (and one thread hop) for any number of them
            "UPDATE tasks SET next_at = j.value ->> 0 FROM json_each(?) j"
            " WHERE tasks.id = j.value ->> 1 AND tasks.plan_rev = j.value ->> 2",
            (json.dumps(rows),),
        )

    async def replan_all(self) -> None:
        """Every open task is looked at again by the next sweep (the clock went back)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE tasks SET next_at = '', plan_rev = plan_rev + 1"
                " WHERE status = 'open' AND next_at <> ''"
            )

    async def pending_counts(self, task_ids: Iterable[int]) -> dict[int, int]:
        """How many units of each task are not done."""
        rows = await self.db.fetchall(
            "SELECT tu.task_id, COUNT(*) AS n FROM task_units tu WHERE tu.task_id IN (SELECT value FROM"
            " json_each(?)) AND tu.done_at IS NULL GROUP BY tu.task_id",
            (_ids(task_ids),),
        )
        return {r["task_id"]: r["n"] for r in rows}

    async def owed_units(self, groups: Iterable[tuple[int, str, str, str]]) -> dict[int, list[TaskUnit]]:
        """The units not done that a push may still be owed under each ``(task_id, kind,
        occurrence, slot)``, by task and name: those with a chat a push can go to (a bound
        group receiving reminders, or a leader who joined: a superset of what
        :func:`bot.rules.reach.unit_reach` picks) whose push under that group the log does not
        hold as sent or dropped. Any other unit is owed nothing there, and is not read: a
        catch-up over a province's tasks whose pushes all went out returns no rows (one query)."""
        todo = sorted({(int(t), k, o, s) for t, k, o, s in groups})
        if not todo:
            return {}
        rows = await self.db.fetchall(
            "WITH g(task_id, kind, occurrence, slot) AS MATERIALIZED (SELECT j.value ->> 0, j.value ->> 1,"
            "  j.value ->> 2, j.value ->> 3 FROM json_each(?) j),"
            # a chat with no push logged under the group: looked up in the unique index alone
            # (reading each push's status doubled the cost of a province's catch-up)
            " owed(task_id, unit_id) AS (SELECT g.task_id, tu.unit_id FROM g"
            "  CROSS JOIN task_units tu ON tu.task_id = g.task_id WHERE tu.done_at IS NULL AND ("
            "   EXISTS (SELECT 1 FROM chats c WHERE c.unit_id = tu.unit_id AND c.active = 1 AND c.reminders = 1"
            "    AND NOT EXISTS (SELECT 1 FROM pushes p WHERE p.kind = g.kind AND p.ref_id = g.task_id"
            "     AND p.occurrence = g.occurrence AND p.slot = g.slot AND p.chat_id = c.chat_id))"
            # the leaders of any level: a superset of each level's own
            "   OR EXISTS (SELECT 1 FROM people pe WHERE pe.unit_id = tu.unit_id AND pe.active = 1"
            "    AND pe.role IN ('secretary', 'township_admin', 'district_admin') AND pe.telegram_id IS NOT NULL"
            "    AND NOT EXISTS (SELECT 1 FROM pushes p WHERE p.kind = g.kind AND p.ref_id = g.task_id"
            "     AND p.occurrence = g.occurrence AND p.slot = g.slot AND p.chat_id = pe.telegram_id)))"
            # or one logged but not sent or dropped (claimed, failed: few, by the status index),
            # to the chat of a group or a person of the unit
            "  UNION SELECT g.task_id, tu.unit_id FROM pushes p INDEXED BY pushes_status"
            "  CROSS JOIN g ON p.kind = g.kind AND p.ref_id = g.task_id AND p.occurrence = g.occurrence"
            "   AND p.slot = g.slot"
            "  CROSS JOIN task_units tu ON tu.task_id = g.task_id AND tu.unit_id IN ("
            "   SELECT c.unit_id FROM chats c WHERE c.chat_id = p.chat_id"
            "   UNION ALL SELECT pe.unit_id FROM people pe WHERE pe.telegram_id = p.chat_id)"
            "  WHERE p.status IN ('claimed', 'failed') AND tu.done_at IS NULL)"
            f" SELECT {_UNIT_COLS} FROM owed CROSS JOIN task_units tu ON tu.task_id = owed.task_id"
            " AND tu.unit_id = owed.unit_id JOIN units u ON u.id = tu.unit_id ORDER BY tu.task_id, u.name",
            (json.dumps(todo),),
        )
        out: dict[int, list[TaskUnit]] = {}
        for row in rows:
            out.setdefault(row["task_id"], []).append(_unit(row))
        return out

    async def late_parents(self, task_ids: Iterable[int]) -> dict[int, set[int]]:
        """The parent units of each task's units not done (where its late lists go)."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT tu.task_id, u.parent_id FROM task_units tu JOIN units u ON u.id = tu.unit_id"
            " WHERE tu.task_id IN (SELECT value FROM json_each(?)) AND tu.done_at IS NULL"
            " AND u.parent_id IS NOT NULL",
            (_ids(task_ids),),
        )
        out: dict[int, set[int]] = {}
        for task_id, parent_id in rows:
            out.setdefault(task_id, set()).add(parent_id)
        return out

    async def reach(
        self, unit_ids: Iterable[int], kind: str = "reminders", *, leaders: bool = True
    ) -> list[tuple[int, int]]:
        """``(unit_id, chat_id)`` for each unit's active bound groups receiving ``kind`` (by
        chat id), then (``leaders``) its reachable leaders' private chats (by name)."""
        if kind not in ("reminders", "notices", "bulletins"):
            raise ValueError(f"no kind of push {kind!r}")
        groups = (
            "WITH ids(id) AS (SELECT value FROM json_each(?))"
            " SELECT c.unit_id, c.chat_id, 0 AS part, '' AS name FROM chats c"
            f" WHERE c.unit_id IN (SELECT id FROM ids) AND c.active = 1 AND c.{kind} = 1"
        )
        if not leaders:
            rows = await self.db.fetchall(groups + " ORDER BY 1, 2", (_ids(unit_ids),))
            return [(r["unit_id"], r["chat_id"]) for r in rows]
        rows = await self.db.fetchall(
            groups
            + """
            UNION ALL
            SELECT p.unit_id, p.telegram_id, 1, p.name FROM ids JOIN units u ON u.id = ids.id
            JOIN people p ON p.unit_id = u.id AND p.active = 1
            WHERE p.telegram_id IS NOT NULL AND p.role = CASE u.level
                WHEN 'township' THEN 'township_admin' WHEN 'district' THEN 'district_admin'
                ELSE 'secretary' END
            ORDER BY 1, 3, 4, 2
            """,
            (_ids(unit_ids),),
        )
        return [(r["unit_id"], r["chat_id"]) for r in rows]

    async def units(self, task_id: int) -> list[TaskUnit]:
        return (await self.units_of([task_id])).get(task_id, [])

    async def units_of(self, task_ids: Sequence[int]) -> dict[int, list[TaskUnit]]:
        """The units of each task, by name."""
        if not task_ids:
            return {}
        rows = await self.db.fetchall(
            f"SELECT {_UNIT_COLS} FROM task_units tu JOIN units u ON u.id = tu.unit_id"
            " WHERE tu.task_id IN (SELECT value FROM json_each(?)) ORDER BY tu.task_id, u.name",
            (_ids(task_ids),),
        )
        out: dict[int, list[TaskUnit]] = {task_id: [] for task_id in task_ids}
        for row in rows:
            out[row["task_id"]].append(_unit(row))
        return out

    async def leaders(self, unit_ids: Iterable[int]) -> list[Leader]:
        """The reachable leaders (with a Telegram id) of each unit, by unit and name."""
        ids = sorted(set(unit_ids))
        if not ids:
            return []
        rows = await self.db.fetchall(
            "SELECT p.unit_id, p.id AS person_id, p.name, p.telegram_id, p.role, u.level FROM people p"
            " JOIN units u ON u.id = p.unit_id WHERE p.unit_id IN (SELECT value FROM json_each(?))"
            " AND p.active = 1 AND p.telegram_id IS NOT NULL ORDER BY p.unit_id, p.name",
            (_ids(ids),),
        )
        return [
            Leader(r["unit_id"], r["person_id"], r["name"], r["telegram_id"])
            for r in rows
            if r["role"] in LEADER_ROLES.get(r["level"], ())
        ]

    async def task_unit(self, task_id: int, unit_id: int) -> TaskUnit | None:
        row = await self.db.fetchone(
            f"SELECT {_UNIT_COLS} FROM task_units tu JOIN units u ON u.id = tu.unit_id"
            " WHERE tu.task_id = ? AND tu.unit_id = ?",
            (task_id, unit_id),
        )
        return _unit(row) if row else None

    async def open_for_unit(self, unit_id: int) -> list[tuple[Task, TaskUnit]]:
        """Open tasks the unit must do, soonest deadline first."""
        rows = await self.db.fetchall(
            f"SELECT {_TASK_COLS}, {_UNIT_COLS} FROM tasks t"
            " JOIN task_units tu ON tu.task_id = t.id JOIN units u ON u.id = tu.unit_id"
            " WHERE t.status = 'open' AND tu.unit_id = ? ORDER BY t.deadline, t.id",
            (unit_id,),
        )
        return [(_task(r), _unit(r)) for r in rows]

    async def visible_to(self, person_id: int, unit_id: int) -> list[Task]:
        """Open tasks an admin follows: created by them, or given to a unit under their unit."""
        rows = await self.db.fetchall(
            f"""
            WITH RECURSIVE tree(id) AS (
                SELECT id FROM units WHERE id = ?
                UNION ALL SELECT u.id FROM units u JOIN tree ON u.parent_id = tree.id
            )
            SELECT {_TASK_COLS} FROM tasks t WHERE t.status = 'open' AND (t.created_by = ?
              OR EXISTS (SELECT 1 FROM task_units tu WHERE tu.task_id = t.id
                         AND tu.unit_id IN (SELECT id FROM tree)))
            ORDER BY t.deadline, t.id
            """,
            (unit_id, person_id),
        )
        return [_task(r) for r in rows]

    async def mark_done(
        self,
        task_id: int,
        unit_id: int,
        person_id: int,
        now: datetime,
        *,
        note: str = "",
        photo_file_id: str | None = None,
    ) -> bool:
        """Mark the unit's part done; False if it already was (or is not the unit's task)."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE task_units SET done_at = ?, done_by = ?, note = ?, photo_file_id = ?"
                " WHERE task_id = ? AND unit_id = ? AND done_at IS NULL",
                (to_db(now), person_id, note, photo_file_id, task_id, unit_id),
            )
            return cur.rowcount == 1

    async def set_note(
        self, task_id: int, unit_id: int, *, note: str, photo_file_id: str | None
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE task_units SET note = ?, photo_file_id = COALESCE(?, photo_file_id)"
                " WHERE task_id = ? AND unit_id = ?",
                (note, photo_file_id, task_id, unit_id),
            )

    async def extend(self, task_id: int, deadline: datetime, now: datetime) -> Task | None:
        """A new deadline; reminders are planned again from now."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE tasks SET deadline = ?, planned_from = ?, extended = 1, next_at = '',"
                " plan_rev = plan_rev + 1 WHERE id = ? AND status = 'open'",
                (to_db(deadline), to_db(now), task_id),
            )
        return await self.get(task_id)

    async def close(self, task_id: int, person_id: int, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE tasks SET status = 'closed', closed_at = ?, closed_by = ?"
                " WHERE id = ? AND status = 'open'",
                (to_db(now), person_id, task_id),
            )
            return cur.rowcount == 1
