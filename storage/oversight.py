"""Oversight by townships and the district (with :mod:`storage.ledger`, all its SQL).

* :class:`OversightRepo` (aiosqlite): star levels (with their history), 先进带后进 help pairs,
  the review trail and queue of clean-up reports and follow-ups, and the monthly figures of
  the bulletin (read from the reports, visits and tasks tables of the other features; the
  bulletins sent are in the scheduler's push log).
* The Excel ledger's rows are read by :class:`storage.ledger.LedgerReader` (streamed, for a
  worker thread).

Days are local calendar days (``date``, stored ``YYYY-MM-DD``); moments are aware datetimes
stored as UTC text ``YYYY-MM-DDTHH:MM:SSZ`` like the rest of the project.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from bot.rules.bulletin import VillageMonth
from bot.rules.coverage import Window
from bot.rules.stars import AREAS, overall_stars
from storage.db import Database, Row, record
from storage.org import Unit
from storage.timefmt import from_db, to_db

ITEM_KINDS = ("report", "followup")
# The steps record_review stores. The trail also holds 'closed' steps: a follow-up's closing
# that was returned, kept when it was reopened (storage.visits.VisitsRepo.reopen_followup).
ACTIONS = ("verified", "returned", "resubmitted")


def _ids(values: Iterable[int]) -> str:
    """A JSON array for ``IN (SELECT value FROM json_each(?))``: no limit on how many."""
    return json.dumps(sorted({int(v) for v in values}))


_SUBTREE = """
    WITH RECURSIVE tree(id) AS (
        SELECT id FROM units WHERE id = :unit
        UNION ALL SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id
    )
"""


# -- records -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Village:
    """A village with its star level and the township above it."""

    id: int
    name: str
    stars: int | None
    township_id: int | None
    township_name: str


@dataclass(frozen=True)
class StarChange:
    unit_id: int
    old_stars: int | None
    new_stars: int | None
    by_person: int | None
    at: datetime


@dataclass(frozen=True)
class AreaRating:
    """One change of a village's rating in one area (五星支部): met or not, from a local date,
    on a basis (a bot.rules.stars.BASES code), by whom and when it was recorded."""

    unit_id: int
    area: str
    met: bool
    since: date
    basis: str
    by_person: int | None
    by_name: str
    at: datetime


@dataclass(frozen=True)
class HelpPair:
    id: int
    helper: Village
    helped: Village
    since: date
    ended: date | None

    @property
    def open(self) -> bool:
        return self.ended is None


@dataclass(frozen=True)
class ReviewEvent:
    id: int
    item_kind: str
    item_id: int
    action: str
    by_person: int | None
    by_name: str
    comment: str
    at: datetime
    voice: str | None = None  # a 'closed' step done by voice note: its Telegram file_id
    visit_id: int | None = None  # a 'closed' step done on a visit: the visit


_VILLAGE_COLS = "v.id, v.name, v.stars, t.id AS township_id, COALESCE(t.name, '') AS township_name"
_VILLAGE_FROM = "units v LEFT JOIN units t ON t.id = v.parent_id"


def _village(row: Row, prefix: str = "") -> Village:
    """A village from its columns, named ``<prefix><field>`` (a pair's helper_id, helped_name...)."""
    return Village(**{name: row[prefix + name] for name in _VILLAGE_FIELDS})


_VILLAGE_FIELDS = ("id", "name", "stars", "township_id", "township_name")
_PAIR_COLS = (
    "p.id, p.since, p.ended,"
    " a.id AS helper_id, a.name AS helper_name, a.stars AS helper_stars, at.id AS helper_township_id,"
    " COALESCE(at.name, '') AS helper_township_name,"
    " b.id AS helped_id, b.name AS helped_name, b.stars AS helped_stars, bt.id AS helped_township_id,"
    " COALESCE(bt.name, '') AS helped_township_name"
)
_PAIR_FROM = (
    "help_pairs p JOIN units a ON a.id = p.helper_id LEFT JOIN units at ON at.id = a.parent_id"
    " JOIN units b ON b.id = p.helped_id LEFT JOIN units bt ON bt.id = b.parent_id"
)


def _pair(row: Row) -> HelpPair:
    return HelpPair(
        id=row["id"],
        helper=_village(row, "helper_"),
        helped=_village(row, "helped_"),
        since=date.fromisoformat(row["since"]),
        ended=None if row["ended"] is None else date.fromisoformat(row["ended"]),
    )


_EVENT_COLS = (
    "e.id, e.item_kind, e.item_id, e.action, e.by_person, COALESCE(p.name, '') AS by_name, e.comment, e.at,"
    " e.voice, e.visit_id"
)
_EVENT_FROM = "review_events e LEFT JOIN people p ON p.id = e.by_person"


def _event(row: Row) -> ReviewEvent:
    return record(ReviewEvent, row, at=from_db(row["at"]))


class OversightRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- villages and stars ---------------------------------------------------------------
    async def villages(self, unit_id: int) -> list[Village]:
        """The villages in a unit's subtree (or the unit itself if it is a village)."""
        rows = await self.db.fetchall(
            f"{_SUBTREE} SELECT {_VILLAGE_COLS} FROM {_VILLAGE_FROM}"
            " WHERE v.level = 'village' AND v.id IN (SELECT id FROM tree)"
            " ORDER BY COALESCE(t.name, ''), t.id, v.name, v.id",
            {"unit": unit_id},
        )
        return [_village(r) for r in rows]

    async def village(self, unit_id: int) -> Village | None:
        row = await self.db.fetchone(
            f"SELECT {_VILLAGE_COLS} FROM {_VILLAGE_FROM} WHERE v.id = ? AND v.level = 'village'",
            (unit_id,),
        )
        return _village(row) if row else None

    async def townships(self, unit_id: int) -> list[Unit]:
        rows = await self.db.fetchall(
            f"{_SUBTREE} SELECT id, parent_id, level, name, stars FROM units"
            " WHERE level = 'township' AND id IN (SELECT id FROM tree) ORDER BY name, id",
            {"unit": unit_id},
        )
        return [record(Unit, r) for r in rows]

    async def roots(self) -> list[Unit]:
        """The top units (districts) of every tree."""
        rows = await self.db.fetchall(
            "SELECT id, parent_id, level, name, stars FROM units WHERE parent_id IS NULL ORDER BY name, id"
        )
        return [record(Unit, r) for r in rows]

    async def set_stars(self, village_id: int, stars: int | None, *, by: int | None, at: datetime) -> bool:
        """Set (or clear, with None) a village's star level; False if nothing changed."""
        if stars is not None and not 1 <= stars <= 5:
            raise ValueError("a star level is 1 to 5")
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT stars FROM units WHERE id = ? AND level = 'village'", (village_id,)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise LookupError(f"no village {village_id}")
            if row[0] == stars:
                return False
            await conn.execute("UPDATE units SET stars = ? WHERE id = ?", (stars, village_id))
            await conn.execute(
                "INSERT INTO star_changes (unit_id, old_stars, new_stars, by_person, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (village_id, row[0], stars, by, to_db(at)),
            )
        return True

    async def star_changes(self, village_id: int) -> list[StarChange]:
        rows = await self.db.fetchall(
            "SELECT unit_id, old_stars, new_stars, by_person, at FROM star_changes"
            " WHERE unit_id = ? ORDER BY id",
            (village_id,),
        )
        return [record(StarChange, r, at=from_db(r["at"])) for r in rows]

    # -- star ratings per area -------------------------------------------------------------
    async def set_area(
        self, village_id: int, area: str, met: bool, *, since: date, basis: str, by: int | None, at: datetime
    ) -> tuple[int | None, bool]:
        """Record a village's rating in one area and derive its overall star from the five
        (bot.rules.stars.overall_stars: only once all five are rated; until then it keeps its
        value), in one transaction; the overall star's change goes to star_changes as any
        other. Returns (overall star, whether it changed)."""
        if area not in AREAS:
            raise ValueError(f"no star area {area}")
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT stars FROM units WHERE id = ? AND level = 'village'", (village_id,)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise LookupError(f"no village {village_id}")
            await conn.execute(
                "INSERT INTO star_area_changes (unit_id, area, met, since, basis, by_person, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (village_id, area, int(met), since.isoformat(), basis, by, to_db(at)),
            )
            async with conn.execute(
                "SELECT area, met FROM star_area_changes WHERE id IN ("
                " SELECT MAX(id) FROM star_area_changes WHERE unit_id = ? GROUP BY area)",
                (village_id,),
            ) as cur:
                met_now = {r["area"]: bool(r["met"]) for r in await cur.fetchall()}
            overall = overall_stars(met_now, row[0])
            changed = row[0] != overall
            if changed:
                await conn.execute("UPDATE units SET stars = ? WHERE id = ?", (overall, village_id))
                await conn.execute(
                    "INSERT INTO star_changes (unit_id, old_stars, new_stars, by_person, at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (village_id, row[0], overall, by, to_db(at)),
                )
        return overall, changed

    async def area_history(self, village_id: int) -> list[AreaRating]:
        """Every change of the village's area ratings, oldest first."""
        rows = await self.db.fetchall(
            "SELECT a.unit_id, a.area, a.met, a.since, a.basis, a.by_person, COALESCE(p.name, '') AS by_name, a.at"
            " FROM star_area_changes a LEFT JOIN people p ON p.id = a.by_person"
            " WHERE a.unit_id = ? ORDER BY a.id",
            (village_id,),
        )
        return [
            record(AreaRating, r, met=bool(r["met"]), since=date.fromisoformat(r["since"]), at=from_db(r["at"]))
            for r in rows
        ]

    async def area_ratings(self, village_id: int) -> dict[str, AreaRating]:
        """The current rating of each area rated so far (the newest change of each)."""
        return {r.area: r for r in await self.area_history(village_id)}

    # -- help pairs -----------------------------------------------------------------------
    async def add_pair(self, helper_id: int, helped_id: int, *, since: date, by: int | None) -> tuple[HelpPair, bool]:
        """Record that ``helper`` helps ``helped`` from ``since``: (the pair, whether it is new).

        The same open pair twice is stored once (a double tap, or recording it again).
        """
        if helper_id == helped_id:
            raise ValueError("a village cannot help itself")
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO help_pairs (helper_id, helped_id, since, created_by) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (helper_id, helped_id) WHERE ended IS NULL DO NOTHING",
                (helper_id, helped_id, since.isoformat(), by),
            )
            created = cur.rowcount == 1
        row = await self.db.fetchone(
            f"SELECT {_PAIR_COLS} FROM {_PAIR_FROM}"
            " WHERE p.helper_id = ? AND p.helped_id = ? AND p.ended IS NULL",
            (helper_id, helped_id),
        )
        if row is None:
            raise RuntimeError("unexpected: row is None")
        return _pair(row), created

    async def pair(self, pair_id: int) -> HelpPair | None:
        row = await self.db.fetchone(f"SELECT {_PAIR_COLS} FROM {_PAIR_FROM} WHERE p.id = ?", (pair_id,))
        return _pair(row) if row else None

    async def end_pair(self, pair_id: int, *, on: date, by: int | None) -> bool:
        """End an open pair on a local date; False if it was not open."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE help_pairs SET ended = ?, ended_by = ? WHERE id = ? AND ended IS NULL",
                (on.isoformat(), by, pair_id),
            )
            return cur.rowcount == 1

    async def pairs(self, unit_id: int, *, on: date | None = None) -> list[HelpPair]:
        """Pairs with a village in the unit's subtree: open ones, or those running on ``on``."""
        when = "p.ended IS NULL" if on is None else "p.since <= :on AND (p.ended IS NULL OR p.ended > :on)"
        rows = await self.db.fetchall(
            f"{_SUBTREE} SELECT {_PAIR_COLS} FROM {_PAIR_FROM} WHERE {when}"
            " AND (p.helper_id IN (SELECT id FROM tree) OR p.helped_id IN (SELECT id FROM tree))"
            " ORDER BY a.stars IS NULL, a.stars DESC, a.name, b.name, p.id",
            {"unit": unit_id, "on": on.isoformat() if on else None},
        )
        return [_pair(r) for r in rows]

    # -- reviews --------------------------------------------------------------------------
    async def record_review(
        self,
        item_kind: str,
        item_id: int,
        action: str,
        *,
        by: int | None,
        at: datetime,
        comment: str = "",
        token: str | None = None,
    ) -> tuple[ReviewEvent, bool]:
        """Append one step to an item's trail: (the step, whether this call stored it).

        With a ``token`` the step is stored once (a double tap stores one step).
        """
        if item_kind not in ITEM_KINDS or action not in ACTIONS:
            raise ValueError(f"bad review step {item_kind}/{action}")
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO review_events (item_kind, item_id, action, by_person, comment, at, token)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING",
                (item_kind, item_id, action, by, comment, to_db(at), token),
            )
            created = cur.rowcount == 1
            event_id = cur.lastrowid if created else None
        if event_id is None:
            row = await self.db.fetchone(
                f"SELECT {_EVENT_COLS} FROM {_EVENT_FROM} WHERE e.token = ?", (token,)
            )
        else:
            row = await self.db.fetchone(
                f"SELECT {_EVENT_COLS} FROM {_EVENT_FROM} WHERE e.id = ?", (event_id,)
            )
        if row is None:
            raise RuntimeError("unexpected: row is None")
        return _event(row), created

    async def history(self, item_kind: str, item_id: int) -> list[ReviewEvent]:
        rows = await self.db.fetchall(
            f"SELECT {_EVENT_COLS} FROM {_EVENT_FROM} WHERE e.item_kind = ? AND e.item_id = ?"
            " ORDER BY e.id",
            (item_kind, item_id),
        )
        return [_event(r) for r in rows]

    async def latest(self, item_kind: str, item_ids: Iterable[int]) -> dict[int, ReviewEvent]:
        """The newest review step of each item that has one."""
        rows = await self.db.fetchall(
            f"SELECT {_EVENT_COLS} FROM {_EVENT_FROM} WHERE e.id IN ("
            " SELECT MAX(id) FROM review_events WHERE item_kind = ?"
            " AND item_id IN (SELECT value FROM json_each(?)) GROUP BY item_id)",
            (item_kind, _ids(item_ids)),
        )
        return {r["item_id"]: _event(r) for r in rows}

    async def queue(
        self, unit_id: int, kind: str, state: str, *, since: date, limit: int, offset: int = 0
    ) -> tuple[list[int], int]:
        """Items of the unit's subtree to look at, newest first, and how many there are.

        ``state``: ``pending`` (never reviewed, or resubmitted since it was returned; reports
        whose work is from ``since`` on, follow-ups closed from ``since`` on) or ``returned``
        (waiting for their author, whatever their age; a returned follow-up is open again
        until its member closes it anew) or ``branch`` (verified by a village secretary, the
        village branch, not by an admin: from ``since`` on, like ``pending``). Reports deleted
        since are left out.
        """
        if kind not in ITEM_KINDS or state not in ("pending", "returned", "branch"):
            raise ValueError(f"bad queue {kind}/{state}")
        cond = {
            "pending": "(last.action IS NULL OR last.action = 'resubmitted') AND {age}",
            "returned": "last.action = 'returned'",
            "branch": "last.action = 'verified' AND EXISTS (SELECT 1 FROM people b"
                      " WHERE b.id = last.by_person AND b.role = 'secretary') AND {age}",
        }[state]
        if kind == "report":
            source = (
                "FROM reports x LEFT JOIN last ON last.item_id = x.id WHERE x.status = 'active'"
                " AND x.unit_id IN (SELECT id FROM tree) AND " + cond.format(age="x.work_date >= :since")
            )
            order = "x.work_date DESC, x.id DESC"
        else:
            source = (
                "FROM followups x JOIN households h ON h.id = x.household_id"
                " LEFT JOIN last ON last.item_id = x.id WHERE h.village_id IN (SELECT id FROM tree) AND "
                + cond.format(age="x.closed_at IS NOT NULL AND x.closed_at >= :since")
            )
            order = "COALESCE(x.closed_at, last.at) DESC, x.id DESC"
        head = (
            f"{_SUBTREE}, last AS (SELECT item_id, action, at, by_person FROM review_events WHERE id IN"
            " (SELECT MAX(id) FROM review_events WHERE item_kind = :kind GROUP BY item_id))"
        )
        params = {"unit": unit_id, "kind": kind, "since": since.isoformat(), "limit": limit, "offset": offset}
        rows = await self.db.fetchall(
            f"{head} SELECT x.id {source} ORDER BY {order} LIMIT :limit OFFSET :offset", params
        )
        count = await self.db.fetchone(f"{head} SELECT COUNT(*) {source}", params)
        return [r[0] for r in rows], int(count[0]) if count else 0

    async def closed_by(self, followup_id: int) -> int | None:
        """Who closed a follow-up (people.id), None while it is open."""
        row = await self.db.fetchone("SELECT closed_by FROM followups WHERE id = ?", (followup_id,))
        return row[0] if row else None

    async def corrected_after_return(self) -> list[tuple[int, int, int | None, datetime, str]]:
        """Reports returned and corrected since by their author, not yet marked resubmitted:
        (report id, the correction's id, who returned it, when corrected, who corrected)."""
        rows = await self.db.fetchall(
            """
            SELECT e.item_id, c.id AS change_id, e.by_person, c.changed_at, c.changed_by
            FROM review_events e JOIN report_changes c
              ON c.report_id = e.item_id AND c.action = 'correct' AND c.changed_at >= e.at
            WHERE e.item_kind = 'report' AND e.action = 'returned'
              AND e.id = (SELECT MAX(id) FROM review_events m WHERE m.item_kind = 'report'
                          AND m.item_id = e.item_id)
              AND c.id = (SELECT MIN(c2.id) FROM report_changes c2 WHERE c2.report_id = e.item_id
                          AND c2.action = 'correct' AND c2.changed_at >= e.at)
            ORDER BY c.id
            """
        )
        return [
            (r["item_id"], r["change_id"], r["by_person"], from_db(r["changed_at"]), r["changed_by"])  # type: ignore[misc]
            for r in rows
        ]

    async def reclosed_after_return(
        self, followup_id: int | None = None
    ) -> list[tuple[int, int, int | None, datetime, int]]:
        """Follow-ups returned, reopened and closed again since, not yet marked resubmitted
        (all of them, or only ``followup_id``): (follow-up id, the 'returned' step's id, who
        returned it, when closed again, who closed it).

        Reopened means the 'returned' step follows a 'closed' step (both stored by
        :meth:`storage.visits.VisitsRepo.reopen_followup`); a follow-up returned before
        reopening existed is still closed and is left out.
        """
        rows = await self.db.fetchall(
            """
            SELECT f.id, e.id AS step_id, e.by_person, f.closed_at, f.closed_by
            FROM review_events e JOIN followups f ON f.id = e.item_id
            WHERE e.item_kind = 'followup' AND e.action = 'returned' AND f.closed_at IS NOT NULL
              AND (:one IS NULL OR f.id = :one)
              AND e.id = (SELECT MAX(id) FROM review_events m WHERE m.item_kind = 'followup'
                          AND m.item_id = e.item_id)
              AND (SELECT p.action FROM review_events p WHERE p.item_kind = 'followup'
                   AND p.item_id = e.item_id AND p.id < e.id ORDER BY p.id DESC LIMIT 1) = 'closed'
            ORDER BY e.id
            """,
            {"one": followup_id},
        )
        return [
            (r["id"], r["step_id"], r["by_person"], from_db(r["closed_at"]), r["closed_by"])  # type: ignore[misc]
            for r in rows
        ]

    # -- the bulletin ---------------------------------------------------------------------
    async def month_figures(
        self, unit_id: int, start: date, end: date, *, start_at: datetime, end_at: datetime, now: datetime
    ) -> list[VillageMonth]:
        """Each village's counts for a month (definitions in :mod:`bot.rules.bulletin`).

        ``start_at``/``end_at`` are the local month's bounds as moments; the month is looked
        at as of ``min(end_at, now)`` (a running month: as of now).
        """
        return await month_figures(self.db, unit_id, start, end, start_at=start_at, end_at=end_at, now=now)


# -- the bulletin's figures -----------------------------------------------------------------
_FIGURES = """
    WITH RECURSIVE tree(id) AS (
        SELECT id FROM units WHERE id = :unit
        UNION ALL SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id
    ),
    vil AS (
        SELECT v.id, v.name, v.stars, t.id AS tid, COALESCE(t.name, '') AS tname
        FROM units v LEFT JOIN units t ON t.id = v.parent_id
        WHERE v.level = 'village' AND v.id IN (SELECT id FROM tree)
    ),
    rep AS (
        SELECT r.unit_id AS vid, COUNT(*) AS n, SUM(r.cadres) AS cadres, SUM(r.members) AS members,
               SUM(r.villagers) AS villagers
        FROM reports r WHERE r.status = 'active' AND r.work_date >= :start AND r.work_date < :end
          AND r.unit_id IN (SELECT id FROM vil)
        GROUP BY r.unit_id
    ),
    hh AS (
        SELECT h.village_id AS vid, COUNT(*) AS n FROM households h
        WHERE h.archived = 0 AND h.village_id IN (SELECT id FROM vil) GROUP BY h.village_id
    ),
    vis AS (
        SELECT h.village_id AS vid, COUNT(DISTINCT CASE WHEN h.archived = 0 THEN v.household_id END) AS visited,
               COUNT(*) AS visits
        FROM visits v JOIN households h ON h.id = v.household_id
        WHERE v.visited_on BETWEEN :first AND :last AND h.village_id IN (SELECT id FROM vil)
        GROUP BY h.village_id
    ),
    fu AS (
        SELECT h.village_id AS vid,
               SUM(f.closed_at >= :start_at AND f.closed_at < :cut) AS closed,
               SUM(h.archived = 0 AND f.due_at < :cut AND (f.closed_at IS NULL OR f.closed_at >= :cut)) AS overdue
        FROM followups f JOIN households h ON h.id = f.household_id
        WHERE h.village_id IN (SELECT id FROM vil)
        GROUP BY h.village_id
    ),
    tk AS (
        SELECT x.unit_id AS vid,
               SUM(x.done_at IS NOT NULL AND x.done_at < :cut AND x.done_at <= t.deadline) AS on_time,
               SUM(x.done_at IS NOT NULL AND x.done_at < :cut AND x.done_at > t.deadline) AS late,
               SUM(t.deadline < :cut AND (x.done_at IS NULL OR x.done_at >= :cut)) AS not_done
        FROM task_units x JOIN tasks t ON t.id = x.task_id
        WHERE t.deadline >= :start_at AND t.deadline < :end_at AND x.unit_id IN (SELECT id FROM vil)
        GROUP BY x.unit_id
    )
    -- one row per village: the parts are stacked and summed (joining them by village would
    -- make SQLite build an automatic index on each part)
    SELECT vid AS village_id, MAX(name) AS name, MAX(tid) AS township_id, MAX(tname) AS township,
           MAX(stars) AS stars, SUM(rn) AS reports, SUM(rc) AS cadres, SUM(rm) AS members,
           SUM(rv) AS villagers, SUM(hn) AS households, SUM(vv) AS visited, SUM(vn) AS visits,
           SUM(fc) AS followups_closed, SUM(fo) AS followups_overdue, SUM(ko) AS tasks_on_time,
           SUM(kl) AS tasks_late, SUM(kn) AS tasks_not_done
    FROM (
        SELECT id AS vid, name, tid, tname, stars, 1 AS here, 0 AS rn, 0 AS rc, 0 AS rm, 0 AS rv,
               0 AS hn, 0 AS vv, 0 AS vn, 0 AS fc, 0 AS fo, 0 AS ko, 0 AS kl, 0 AS kn FROM vil
        UNION ALL SELECT vid, NULL, NULL, NULL, NULL, 0, n, cadres, members, villagers,
               0, 0, 0, 0, 0, 0, 0, 0 FROM rep
        UNION ALL SELECT vid, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, n, 0, 0, 0, 0, 0, 0, 0 FROM hh
        UNION ALL SELECT vid, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, visited, visits,
               0, 0, 0, 0, 0 FROM vis
        UNION ALL SELECT vid, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, closed, overdue,
               0, 0, 0 FROM fu
        UNION ALL SELECT vid, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
               on_time, late, not_done FROM tk
    )
    GROUP BY vid HAVING MAX(here) = 1
    ORDER BY MAX(tname), MAX(name), vid
"""


def _figures_params(
    unit_id: int, start: date, end: date, *, start_at: datetime, end_at: datetime, now: datetime
) -> dict[str, object]:
    cut = min(end_at, now)
    window = Window.month(start, end)  # visit coverage: the one definition (bot.rules.coverage)
    return {
        "unit": unit_id, "start": start.isoformat(), "end": end.isoformat(),
        "first": window.first.isoformat(), "last": window.last.isoformat(),
        "start_at": to_db(start_at), "end_at": to_db(end_at), "cut": to_db(cut),
    }


async def month_figures(
    db: Database, unit_id: int, start: date, end: date, *, start_at: datetime, end_at: datetime, now: datetime
) -> list[VillageMonth]:
    """Each village's counts for a month (see :mod:`bot.rules.bulletin` for the definitions).

    ``start_at``/``end_at`` are the local month's bounds as moments; the month is looked at as
    of ``min(end_at, now)`` (a running month: as of now).
    """
    params = _figures_params(unit_id, start, end, start_at=start_at, end_at=end_at, now=now)
    rows = await db.fetchall(_FIGURES, params)
    return [record(VillageMonth, r) for r in rows]


class FiguresReader:
    """The bulletin's figures over a read-only ``sqlite3`` connection, for a worker thread
    (:func:`bot.services.bulletin.make`): the bot's own connection stays free."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.conn.row_factory = sqlite3.Row  # rows are read by column name
        self.conn.execute("PRAGMA busy_timeout = 5000")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> FiguresReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def month_figures(
        self, unit_id: int, start: date, end: date, *, start_at: datetime, end_at: datetime, now: datetime
    ) -> list[VillageMonth]:
        params = _figures_params(unit_id, start, end, start_at=start_at, end_at=end_at, now=now)
        return [record(VillageMonth, r) for r in self.conn.execute(_FIGURES, params)]
