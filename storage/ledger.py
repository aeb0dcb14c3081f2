"""The Excel ledger's rows (台账), streamed: :class:`LedgerReader` yields them one at a time
from a read-only ``sqlite3`` connection, for a worker thread (``asyncio.to_thread``), so that
a 200,000-row ledger never sits in memory and the bot's event loop is never blocked.

It reads the tables of the clean-up reports, visits and follow-ups, tasks and reviews; days
are ``YYYY-MM-DD`` text and moments UTC text, as stored.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from storage.db import record
from storage.oversight import _SUBTREE
from storage.timefmt import to_db


# -- the ledger: streamed rows for a worker thread ------------------------------------------
@dataclass(frozen=True, slots=True)
class ReviewStep:
    action: str
    at: str  # UTC text
    by_name: str
    comment: str
    voice: bool = False  # the step carried a voice note (a returned closing answered by voice)


@dataclass(frozen=True, slots=True)
class ReportLine:
    id: int
    township: str
    village: str
    work_date: str
    categories: tuple[str, ...]
    other_name: str | None
    place: str | None
    latitude: float | None
    longitude: float | None
    cadres: int
    members: int
    villagers: int
    garbage_trucks: float | None
    garbage_tons: float | None
    area_m2: float | None
    walls: int | None
    ponds: int | None
    notes: str | None
    reporter: str
    created_at: str
    updated_at: str
    photos_before: int
    photos_after: int
    corrections: int
    reviews: tuple[ReviewStep, ...]


@dataclass(frozen=True, slots=True)
class VisitLine:
    id: int
    township: str
    village: str
    grid: str
    head: str
    visited_on: str
    member: str
    roles: tuple[str, ...]
    concern_text: str | None
    concern_seconds: int | None  # a voice note's length (None: no voice note)
    outcome: str
    photos: int
    created_at: str


@dataclass(frozen=True, slots=True)
class FollowupLine:
    id: int
    township: str
    village: str
    head: str
    member: str
    visited_on: str
    concern_text: str | None
    due_on: str
    due_at: str
    closed_at: str | None
    closed_by: str
    resolution: str | None
    resolution_voice: bool
    reviews: tuple[ReviewStep, ...]


@dataclass(frozen=True, slots=True)
class TaskLine:
    task_id: int
    title: str
    deadline: str
    township: str
    village: str
    done_at: str | None
    done_by: str
    note: str
    photos: int
    closed: bool


# The review trail of one item as text: steps joined by RS, fields by US (both never typed).
_RS, _US = "\x1e", "\x1f"


def _trail(kind: str, id_expr: str) -> str:
    return (
        "(SELECT group_concat(step, char(30)) FROM (SELECT e.action || char(31) || e.at"
        " || char(31) || COALESCE(rp.name, '') || char(31) || e.comment"
        " || char(31) || (e.voice IS NOT NULL) AS step"
        f" FROM review_events e LEFT JOIN people rp ON rp.id = e.by_person"
        f" WHERE e.item_kind = '{kind}' AND e.item_id = {id_expr} ORDER BY e.id))"
    )


# A report's trail: its review steps and, for a report its author deleted, the deletion (a
# tombstone: the report stays in the ledger, its state reads "deleted by its author"); the
# review steps in their order, then the deletion.
_REPORT_TRAIL = (
    "(SELECT group_concat(step, char(30)) FROM ("
    " SELECT 0 AS src, e.id AS n, e.action || char(31) || e.at"
    " || char(31) || COALESCE(rp.name, '') || char(31) || e.comment"
    " || char(31) || (e.voice IS NOT NULL) AS step"
    " FROM review_events e LEFT JOIN people rp ON rp.id = e.by_person"
    " WHERE e.item_kind = 'report' AND e.item_id = r.id"
    " UNION ALL SELECT 1, c.id, CASE WHEN c.reason IS NULL THEN 'deleted' ELSE 'voided' END"
    " || char(31) || c.changed_at"
    " || char(31) || COALESCE(cp.name, '') || char(31) || COALESCE(c.reason, '') || char(31) || 0"
    " FROM report_changes c LEFT JOIN people cp ON cp.id = c.changed_by"
    " WHERE c.report_id = r.id AND c.action = 'delete'"
    " ORDER BY src, n))"
)


def _steps(text: str | None) -> tuple[ReviewStep, ...]:
    if not text:
        return ()
    steps = []
    for step in text.split(_RS):
        action, at, by_name, comment, voice = step.split(_US, 4)
        steps.append(ReviewStep(action, at, by_name, comment, voice == "1"))
    return tuple(steps)


# Townships and villages: a unit's village (itself, or the village above a grid) and township.
_PLACE = """
    LEFT JOIN units vu ON vu.id = CASE WHEN {u}.level = 'grid' THEN {u}.parent_id ELSE {u}.id END
    LEFT JOIN units tu ON tu.id = CASE WHEN vu.level = 'village' THEN vu.parent_id ELSE vu.id END
"""


class LedgerReader:
    """The ledger's rows as generators over a read-only ``sqlite3`` connection.

    Made and used inside one worker thread (``asyncio.to_thread``): the bot's own aiosqlite
    connection stays free, and rows go from the cursor into the workbook one at a time. The
    database is in WAL mode, so this reader sees a consistent snapshot per query while the bot
    keeps writing.
    """

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.conn.row_factory = sqlite3.Row  # the lines are read by column name
        self.conn.execute("PRAGMA busy_timeout = 5000")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> LedgerReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def units_at(self, name: str) -> list[tuple[int, str]]:
        """Units called ``name`` (or matching a path 示例区/东风镇): (id, full path) each."""
        parts = [p for p in name.replace("／", "/").split("/") if p]
        if not parts:
            return []
        rows = self.conn.execute(
            """
            WITH RECURSIVE up(start, id, parent_id, name, depth) AS (
                SELECT id, id, parent_id, name, 0 FROM units WHERE name = ?
                UNION ALL SELECT up.start, u.id, u.parent_id, u.name, up.depth + 1
                FROM units u JOIN up ON u.id = up.parent_id
            )
            SELECT start, group_concat(name, '/') AS path FROM (SELECT * FROM up ORDER BY start, depth DESC)
            GROUP BY start ORDER BY start
            """,
            (parts[-1],),
        ).fetchall()
        return [(r["start"], r["path"]) for r in rows if r["path"].split("/")[-len(parts) :] == parts]

    def _rows(self, sql: str, params: dict) -> Iterable[tuple]:
        cur = self.conn.execute(sql, params)
        try:
            while batch := cur.fetchmany(500):
                yield from batch
        finally:
            cur.close()

    def reports(self, unit_id: int, start: date, end: date) -> Iterable[ReportLine]:
        sql = f"""{_SUBTREE}
            SELECT r.id, COALESCE(tu.name, '') AS township, COALESCE(vu.name, '') AS village, r.work_date,
                   r.categories, r.other_name, r.place, r.latitude, r.longitude, r.cadres, r.members,
                   r.villagers, r.garbage_trucks, r.garbage_tons, r.area_m2, r.walls, r.ponds,
                   r.notes, p.name AS reporter, r.created_at, r.updated_at,
                   (SELECT COUNT(*) FROM report_photos ph WHERE ph.report_id = r.id AND ph.phase = 'before')
                       AS photos_before,
                   (SELECT COUNT(*) FROM report_photos ph WHERE ph.report_id = r.id AND ph.phase = 'after')
                       AS photos_after,
                   (SELECT COUNT(*) FROM report_changes c WHERE c.report_id = r.id AND c.action = 'correct')
                       AS corrections,
                   {_REPORT_TRAIL} AS reviews
            FROM reports r JOIN units ru ON ru.id = r.unit_id {_PLACE.format(u='ru')}
            JOIN people p ON p.id = r.reporter_id
            WHERE r.status IN ('active', 'deleted') AND r.unit_id IN (SELECT id FROM tree)
              AND r.work_date >= :start AND r.work_date < :end
            ORDER BY tu.name, vu.name, r.work_date, r.id
        """
        for row in self._rows(sql, {"unit": unit_id, "start": start.isoformat(), "end": end.isoformat()}):
            yield record(ReportLine, row, categories=tuple(json.loads(row["categories"])), reviews=_steps(row["reviews"]))

    def visits(self, unit_id: int, start: date, end: date) -> Iterable[VisitLine]:
        sql = f"""{_SUBTREE}
            SELECT v.id, COALESCE(tu.name, '') AS township, COALESCE(vu.name, '') AS village, h.grid, h.head,
                   v.visited_on, p.name AS member, v.roles, v.concern_text,
                   CASE WHEN v.concern_voice IS NULL THEN NULL ELSE COALESCE(v.concern_seconds, 0) END
                       AS concern_seconds,
                   v.outcome, v.photo IS NOT NULL AS photos, v.created_at
            FROM visits v JOIN households h ON h.id = v.household_id
            JOIN units hu ON hu.id = h.village_id {_PLACE.format(u='hu')}
            JOIN people p ON p.id = v.member_id
            WHERE h.village_id IN (SELECT id FROM tree)
              AND v.visited_on >= :start AND v.visited_on < :end
            ORDER BY tu.name, vu.name, v.visited_on, v.id
        """
        for row in self._rows(sql, {"unit": unit_id, "start": start.isoformat(), "end": end.isoformat()}):
            roles = tuple(r for r in str(row["roles"]).split(",") if r)
            yield record(VisitLine, row, roles=roles, photos=int(row["photos"]))

    def followups(self, unit_id: int, start: date, end: date, start_at: datetime, end_at: datetime) -> Iterable[FollowupLine]:
        """Follow-ups raised on a visit in the range, or closed in it (``*_at``: its bounds)."""
        sql = f"""{_SUBTREE}
            SELECT f.id, COALESCE(tu.name, '') AS township, COALESCE(vu.name, '') AS village, h.head,
                   p.name AS member, v.visited_on, v.concern_text, f.due_on, f.due_at, f.closed_at,
                   COALESCE(cp.name, '') AS closed_by, f.resolution, f.resolution_voice IS NOT NULL AS resolution_voice,
                   {_trail('followup', 'f.id')} AS reviews
            FROM followups f JOIN households h ON h.id = f.household_id
            JOIN visits v ON v.id = f.visit_id
            JOIN units hu ON hu.id = h.village_id {_PLACE.format(u='hu')}
            JOIN people p ON p.id = f.member_id LEFT JOIN people cp ON cp.id = f.closed_by
            WHERE h.village_id IN (SELECT id FROM tree)
              AND ((v.visited_on >= :start AND v.visited_on < :end)
                   OR (f.closed_at >= :start_at AND f.closed_at < :end_at))
            ORDER BY tu.name, vu.name, v.visited_on, f.id
        """
        params = {
            "unit": unit_id, "start": start.isoformat(), "end": end.isoformat(),
            "start_at": to_db(start_at), "end_at": to_db(end_at),
        }
        for row in self._rows(sql, params):
            yield record(FollowupLine, row, resolution_voice=bool(row["resolution_voice"]), reviews=_steps(row["reviews"]))

    def tasks(self, unit_id: int, start_at: datetime, end_at: datetime) -> Iterable[TaskLine]:
        """Each unit's part of the tasks due in the range or done in it."""
        sql = f"""{_SUBTREE}
            SELECT t.id AS task_id, t.title, t.deadline, COALESCE(tu.name, '') AS township,
                   CASE WHEN vu.level = 'village' THEN vu.name ELSE '' END AS village,
                   x.done_at, COALESCE(dp.name, '') AS done_by, x.note, x.photo_file_id IS NOT NULL AS photos,
                   t.status = 'closed' AS closed
            FROM task_units x JOIN tasks t ON t.id = x.task_id
            JOIN units xu ON xu.id = x.unit_id {_PLACE.format(u='xu')}
            LEFT JOIN people dp ON dp.id = x.done_by
            WHERE x.unit_id IN (SELECT id FROM tree)
              AND ((t.deadline >= :start_at AND t.deadline < :end_at)
                   OR (x.done_at >= :start_at AND x.done_at < :end_at))
            ORDER BY t.deadline, t.id, tu.name, vu.name
        """
        params = {"unit": unit_id, "start_at": to_db(start_at), "end_at": to_db(end_at)}
        for row in self._rows(sql, params):
            yield record(TaskLine, row, photos=int(row["photos"]), closed=bool(row["closed"]))


# -- the ledger on paper: its title row, the summary sheet and follow-up states ---------------
@dataclass(frozen=True, slots=True)
class VillageSummary:
    """One village's figures for the summary sheet of a ledger (the period [start, end))."""

    township: str
    village: str
    reports: int
    by_category: dict[str, int]
    visits: int
    households: int  # current, not archived
    households_visited: int
    followups_open: int  # raised in the period (or closed in it) and still open
    followups_closed: int  # of the same, closed
    tasks_due: int  # task entries with a deadline in the period
    tasks_on_time: int
    tasks_late: int


def unit_name(reader: LedgerReader, unit_id: int) -> str:
    row = reader.conn.execute("SELECT name FROM units WHERE id = ?", (unit_id,)).fetchone()
    return row[0] if row else ""


def village_summaries(
    reader: LedgerReader, unit_id: int, start: date, end: date, start_at: datetime, end_at: datetime
) -> list[VillageSummary]:
    """Per village of ``unit_id``'s subtree: reports by category, visits and coverage,
    follow-ups open and closed, tasks on time (the same rows as the ledger's sheets)."""
    params = {
        "unit": unit_id, "start": start.isoformat(), "end": end.isoformat(),
        "start_at": to_db(start_at), "end_at": to_db(end_at),
    }
    villages = reader.conn.execute(
        f"""{_SUBTREE}
        SELECT vu.id, COALESCE(tu.name, ''), vu.name FROM units vu
        LEFT JOIN units tu ON tu.id = vu.parent_id
        WHERE vu.level = 'village' AND vu.id IN (SELECT id FROM tree)
        ORDER BY tu.name, vu.name, vu.id
        """,
        params,
    ).fetchall()
    village_of = """(SELECT CASE WHEN x.level = 'grid' THEN x.parent_id ELSE x.id END
                      FROM units x WHERE x.id = {col})"""
    counts: dict[str, dict[int, tuple]] = {}
    queries = {
        "reports": f"""{_SUBTREE}
            SELECT {village_of.format(col='r.unit_id')} AS v, COUNT(*) FROM reports r
            WHERE r.status = 'active' AND r.unit_id IN (SELECT id FROM tree)
              AND r.work_date >= :start AND r.work_date < :end GROUP BY v""",
        "visits": f"""{_SUBTREE}
            SELECT h.village_id, COUNT(*), COUNT(DISTINCT v.household_id) FROM visits v
            JOIN households h ON h.id = v.household_id
            WHERE h.village_id IN (SELECT id FROM tree)
              AND v.visited_on >= :start AND v.visited_on < :end GROUP BY h.village_id""",
        "households": f"""{_SUBTREE}
            SELECT h.village_id, COUNT(*) FROM households h
            WHERE h.archived = 0 AND h.village_id IN (SELECT id FROM tree) GROUP BY h.village_id""",
        "followups": f"""{_SUBTREE}
            SELECT h.village_id, SUM(f.closed_at IS NULL), SUM(f.closed_at IS NOT NULL)
            FROM followups f JOIN households h ON h.id = f.household_id JOIN visits v ON v.id = f.visit_id
            WHERE h.village_id IN (SELECT id FROM tree)
              AND ((v.visited_on >= :start AND v.visited_on < :end)
                   OR (f.closed_at >= :start_at AND f.closed_at < :end_at))
            GROUP BY h.village_id""",
        "tasks": f"""{_SUBTREE}
            SELECT {village_of.format(col='x.unit_id')} AS v, COUNT(*),
                   SUM(x.done_at IS NOT NULL AND x.done_at <= t.deadline),
                   SUM(x.done_at IS NOT NULL AND x.done_at > t.deadline)
            FROM task_units x JOIN tasks t ON t.id = x.task_id
            WHERE x.unit_id IN (SELECT id FROM tree)
              AND t.deadline >= :start_at AND t.deadline < :end_at GROUP BY v""",
    }
    for name, sql in queries.items():
        counts[name] = {row[0]: tuple(row[1:]) for row in reader.conn.execute(sql, params)}
    categories: dict[int, dict[str, int]] = {}
    for village_id, code, n in reader.conn.execute(
        f"""{_SUBTREE}
        SELECT {village_of.format(col='r.unit_id')} AS v, c.value, COUNT(*)
        FROM reports r, json_each(r.categories) c
        WHERE r.status = 'active' AND r.unit_id IN (SELECT id FROM tree)
          AND r.work_date >= :start AND r.work_date < :end GROUP BY v, c.value""",
        params,
    ):
        categories.setdefault(village_id, {})[str(code)] = n
    out = []
    for village_id, township, village in villages:
        visits = counts["visits"].get(village_id, (0, 0))
        followups = counts["followups"].get(village_id, (0, 0))
        tasks = counts["tasks"].get(village_id, (0, 0, 0))
        out.append(VillageSummary(
            township=township, village=village,
            reports=counts["reports"].get(village_id, (0,))[0],
            by_category=categories.get(village_id, {}),
            visits=visits[0], households=counts["households"].get(village_id, (0,))[0],
            households_visited=visits[1],
            followups_open=int(followups[0] or 0), followups_closed=int(followups[1] or 0),
            tasks_due=tasks[0], tasks_on_time=int(tasks[1] or 0), tasks_late=int(tasks[2] or 0),
        ))
    return out


def followup_states(reader: LedgerReader, unit_id: int, start: date, end: date) -> dict[int, tuple[str | None, str]]:
    """For the visits of the period that raised a follow-up: visit id -> (closed_at, due_at),
    the follow-up as it stands now (UTC text)."""
    sql = f"""{_SUBTREE}
        SELECT v.id, f.closed_at, f.due_at FROM followups f JOIN visits v ON v.id = f.visit_id
        JOIN households h ON h.id = v.household_id
        WHERE h.village_id IN (SELECT id FROM tree) AND v.visited_on >= :start AND v.visited_on < :end
    """
    rows = reader.conn.execute(sql, {"unit": unit_id, "start": start.isoformat(), "end": end.isoformat()})
    return {row["id"]: (row["closed_at"], row["due_at"]) for row in rows}


def ledger_counts(
    conn: sqlite3.Connection, unit_id: int, start: date, end: date, start_at: datetime, end_at: datetime
) -> dict[str, int]:
    """The rows a ledger of ``unit_id``'s subtree for [start, end) will hold, per sheet
    (reports, visits, followups, tasks, villages): counts only, set-based and indexed (the
    subtree through ``units_parent``, then each table by its unit or household index and the
    day), so that /export can say how long the workbook will take before writing it."""
    params = {
        "unit": unit_id, "start": start.isoformat(), "end": end.isoformat(),
        "start_at": to_db(start_at), "end_at": to_db(end_at),
    }
    row = conn.execute(
        f"""{_SUBTREE}, homes(id) AS (
            SELECT h.id FROM households h WHERE h.village_id IN (SELECT id FROM tree)
        )
        SELECT
            (SELECT COUNT(*) FROM reports r
             WHERE r.unit_id IN (SELECT id FROM tree) AND r.work_date >= :start AND r.work_date < :end
               AND r.status IN ('active', 'deleted')),
            (SELECT COUNT(*) FROM visits v
             WHERE v.household_id IN (SELECT id FROM homes) AND v.visited_on >= :start AND v.visited_on < :end),
            (SELECT COUNT(*) FROM followups f JOIN visits v ON v.id = f.visit_id
             WHERE f.household_id IN (SELECT id FROM homes)
               AND ((v.visited_on >= :start AND v.visited_on < :end)
                    OR (f.closed_at >= :start_at AND f.closed_at < :end_at))),
            (SELECT COUNT(*) FROM task_units x JOIN tasks t ON t.id = x.task_id
             WHERE x.unit_id IN (SELECT id FROM tree)
               AND ((t.deadline >= :start_at AND t.deadline < :end_at)
                    OR (x.done_at >= :start_at AND x.done_at < :end_at))),
            (SELECT COUNT(*) FROM units u WHERE u.id IN (SELECT id FROM tree) AND u.level = 'village')
        """,
        params,
    ).fetchone()
    return dict(zip(("reports", "visits", "followups", "tasks", "villages"), (int(n) for n in row), strict=True))
