"""Households (党员联户), the visit log and follow-ups: every SQL statement of the feature.

Two repositories: :class:`HouseholdsRepo` (a village's households, who holds them, search,
archive) and :class:`VisitsRepo` (visits saved once per draft token, follow-ups, the rows the
coverage rules need). Days are local calendar days (``date``); moments are aware
``datetime`` values stored as UTC text.

For the scheduler: :meth:`VisitsRepo.followups_due` lists open follow-ups due by a moment
(with the member's Telegram id), :meth:`VisitsRepo.close_followup` closes one. For review:
:meth:`VisitsRepo.reopen_followup` reopens a returned one, keeping its closing in the trail.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.rules.coverage import FollowUpRow, HouseholdRow, PersonRow, VisitRow, Window
from storage.db import Database, Row
from storage.timefmt import SQL_NOW, from_db, to_db

ROLE_CODES = ("survey", "policy", "mediation", "expert")
# The expert service groups a 专家服务联络 visit puts a household in touch with (粮油, 蔬菜,
# 果树, 畜牧, 林水), as stored in visits.expert_field.
EXPERT_FIELDS = ("grain", "vegetables", "fruit", "livestock", "forestry")
OUTCOMES = ("solved", "follow_up", "none")
EDITABLE = ("head", "address", "grid", "phone")


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _ids(values: Iterable[int]) -> str:
    """A JSON array for ``IN (SELECT value FROM json_each(?))``: no limit on how many."""
    return json.dumps(sorted({int(v) for v in values}))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# -- households ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Household:
    id: int
    village_id: int
    head: str
    address: str
    grid: str
    phone: str | None
    member_id: int | None
    archived: bool


@dataclass(frozen=True)
class HouseholdStatus:
    """A household with its last visit and how many follow-ups are open."""

    household: Household
    last_visit: date | None
    open_followups: int

    def days_unvisited(self, today: date) -> int | None:
        return None if self.last_visit is None else max(0, (today - self.last_visit).days)


@dataclass(frozen=True)
class Member:
    """A party member (or the secretary) of a village who can hold households."""

    id: int
    name: str
    role: str
    village_id: int
    telegram_id: int | None


class DuplicateHousehold(Exception):
    """The village already has a household with this head at this address."""

    def __init__(self, existing: Household | None) -> None:
        super().__init__("duplicate household")
        self.existing = existing


_HH_COLS = "h.id, h.village_id, h.head, h.address, h.grid, h.phone, h.member_id, h.archived"
_LAST_VISIT = "(SELECT MAX(v.visited_on) FROM visits v WHERE v.household_id = h.id)"
_OPEN_FU = (
    "(SELECT COUNT(*) FROM followups f WHERE f.household_id = h.id AND f.closed_at IS NULL)"
)
_STATUS_COLS = f"{_HH_COLS}, {_LAST_VISIT} AS last_visit, {_OPEN_FU} AS open_followups"
# Members of a village: people whose unit is the village or one of its grids.
_VILLAGE_OF_PERSON = (
    "CASE WHEN u.level = 'grid' THEN u.parent_id ELSE u.id END"
)


def _units_of_villages(villages: str) -> str:
    """The units whose people belong to these villages (``villages`` is an SQL list or
    subquery): the villages and their grids. For ``p.unit_id IN (...)``, which can use an
    index where ``{_VILLAGE_OF_PERSON} IN (...)`` scans every person."""
    return (
        f"SELECT id FROM units WHERE id IN ({villages}) AND level <> 'grid'"
        f" UNION ALL SELECT id FROM units WHERE parent_id IN ({villages}) AND level = 'grid'"
    )


def _household(row: Row) -> Household:
    return Household(
        row["id"], row["village_id"], row["head"], row["address"], row["grid"], row["phone"],
        row["member_id"], bool(row["archived"]),
    )


def _status(row: Row) -> HouseholdStatus:
    return HouseholdStatus(_household(row), _day(row["last_visit"]), int(row["open_followups"]))


def _member(row: Row) -> Member:
    return Member(row["id"], row["name"], row["role"], row["village_id"], row["telegram_id"])


class HouseholdsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, household_id: int) -> Household | None:
        row = await self.db.fetchone(f"SELECT {_HH_COLS} FROM households h WHERE h.id = ?", (household_id,))
        return _household(row) if row else None

    async def status(self, household_id: int) -> HouseholdStatus | None:
        row = await self.db.fetchone(
            f"SELECT {_STATUS_COLS} FROM households h WHERE h.id = ?",
            (household_id,),
        )
        return _status(row) if row else None

    async def of_member(self, member_id: int) -> list[HouseholdStatus]:
        """The member's active households, longest unvisited first (never visited first)."""
        rows = await self.db.fetchall(
            f"""
            SELECT {_STATUS_COLS}
            FROM households h WHERE h.member_id = ? AND h.archived = 0
            ORDER BY last_visit IS NOT NULL, last_visit, h.head, h.id
            """,
            (member_id,),
        )
        return [_status(r) for r in rows]

    async def in_village(
        self,
        village_id: int,
        *,
        member_id: int | None = None,
        unlinked: bool = False,
        archived: bool = False,
        search: str | None = None,
    ) -> list[HouseholdStatus]:
        """A village's households (active, or only archived), optionally one member's, the
        ones nobody holds, or those matching ``search`` in head, address, grid or phone."""
        where = ["h.village_id = ?", "h.archived = ?"]
        params: list[object] = [village_id, int(archived)]
        if member_id is not None:
            where.append("h.member_id = ?")
            params.append(member_id)
        if unlinked:
            where.append("h.member_id IS NULL")
        if search:
            where.append(
                "(h.head LIKE ? ESCAPE '\\' OR h.address LIKE ? ESCAPE '\\'"
                " OR h.grid LIKE ? ESCAPE '\\' OR COALESCE(h.phone, '') LIKE ? ESCAPE '\\')"
            )
            params.extend([_like(search)] * 4)
        rows = await self.db.fetchall(
            f"SELECT {_STATUS_COLS} FROM households h"
            f" WHERE {' AND '.join(where)} ORDER BY h.head, h.address, h.id",
            params,
        )
        return [_status(r) for r in rows]

    async def search(self, village_id: int, text: str) -> list[HouseholdStatus]:
        """Active and archived households of the village matching ``text``."""
        active = await self.in_village(village_id, search=text)
        return active + await self.in_village(village_id, search=text, archived=True)

    async def counts(self, village_id: int) -> dict[int | None, int]:
        """Active households per member id (None: nobody holds them)."""
        rows = await self.db.fetchall(
            "SELECT member_id, COUNT(*) AS n FROM households WHERE village_id = ? AND archived = 0"
            " GROUP BY member_id",
            (village_id,),
        )
        return {row["member_id"]: int(row["n"]) for row in rows}

    async def archived_count(self, village_id: int) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM households WHERE village_id = ? AND archived = 1", (village_id,)
        )
        return int(row[0]) if row else 0

    async def count_of(self, member_id: int) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM households WHERE member_id = ? AND archived = 0", (member_id,)
        )
        return int(row[0]) if row else 0

    async def grids(self, village_id: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT grid FROM households WHERE village_id = ? AND grid <> '' ORDER BY grid",
            (village_id,),
        )
        return [r[0] for r in rows]

    async def add(
        self,
        village_id: int,
        head: str,
        *,
        address: str = "",
        grid: str = "",
        phone: str | None = None,
        member_id: int | None = None,
    ) -> Household:
        try:
            async with self.db.transaction() as conn:
                cur = await conn.execute(
                    "INSERT INTO households (village_id, head, address, grid, phone, member_id)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (village_id, head, address, grid, phone, member_id),
                )
                household_id = int(cur.lastrowid or 0)
        except sqlite3.IntegrityError as exc:
            raise DuplicateHousehold(await self.find(village_id, head, address)) from exc
        return Household(household_id, village_id, head, address, grid, phone, member_id, False)

    async def find(self, village_id: int, head: str, address: str) -> Household | None:
        row = await self.db.fetchone(
            f"SELECT {_HH_COLS} FROM households h WHERE h.village_id = ? AND h.head = ? AND h.address = ?",
            (village_id, head, address),
        )
        return _household(row) if row else None

    async def update(self, household_id: int, field: str, value: str | None) -> Household | None:
        """Change one of head, address, grid, phone; DuplicateHousehold if it clashes."""
        if field not in EDITABLE:
            raise ValueError(f"cannot edit {field!r}")
        if field != "phone":
            value = value or ""
        try:
            async with self.db.transaction() as conn:
                await conn.execute(
                    f"UPDATE households SET {field} = ?,"
                    f" updated_at = {SQL_NOW} WHERE id = ?",
                    (value, household_id),
                )
        except sqlite3.IntegrityError as exc:
            current = await self.get(household_id)
            existing = None
            if current is not None:
                existing = await self.find(current.village_id, current.head, current.address)
            raise DuplicateHousehold(existing) from exc
        return await self.get(household_id)

    async def set_archived(self, household_id: int, archived: bool) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE households SET archived = ?,"
                f" updated_at = {SQL_NOW} WHERE id = ?",
                (int(archived), household_id),
            )

    async def link(self, household_id: int, member_id: int | None) -> None:
        """Give the household to a member (None: to nobody)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE households SET member_id = ?,"
                f" updated_at = {SQL_NOW} WHERE id = ?",
                (member_id, household_id),
            )

    # -- people and places the feature needs ------------------------------------------------
    async def village_of(self, unit_id: int) -> int | None:
        """The village of a unit: itself, or the village above a grid."""
        row = await self.db.fetchone(
            """
            WITH RECURSIVE up(id, parent_id, level) AS (
                SELECT id, parent_id, level FROM units WHERE id = ?
                UNION ALL SELECT u.id, u.parent_id, u.level FROM units u JOIN up ON u.id = up.parent_id
            )
            SELECT id FROM up WHERE level = 'village' LIMIT 1
            """,
            (unit_id,),
        )
        return int(row[0]) if row else None

    async def members(self, village_id: int) -> list[Member]:
        """Active party members and secretaries of the village (and of its grids)."""
        rows = await self.db.fetchall(
            f"""
            SELECT p.id, p.name, p.role, {_VILLAGE_OF_PERSON} AS village_id, p.telegram_id
            FROM people p JOIN units u ON u.id = p.unit_id
            WHERE p.unit_id IN ({_units_of_villages("?")})
              AND p.active = 1 AND p.role IN ('member', 'secretary')
            ORDER BY p.role = 'secretary', p.name, p.id
            """,
            (village_id, village_id),
        )
        return [_member(r) for r in rows]

    async def member(self, person_id: int) -> Member | None:
        row = await self.db.fetchone(
            f"""
            SELECT p.id, p.name, p.role, {_VILLAGE_OF_PERSON} AS village_id, p.telegram_id
            FROM people p JOIN units u ON u.id = p.unit_id
            WHERE p.id = ? AND p.active = 1 AND p.role IN ('member', 'secretary')
            """,
            (person_id,),
        )
        return _member(row) if row else None

    async def secretaries(self, village_id: int) -> list[str]:
        """Names of the village's party secretaries (whom a member asks about households)."""
        rows = await self.db.fetchall(
            "SELECT name FROM people WHERE unit_id = ? AND role = 'secretary' AND active = 1"
            " ORDER BY first_secretary, name",
            (village_id,),
        )
        return [r[0] for r in rows]


# -- visits and follow-ups -----------------------------------------------------------------
@dataclass(frozen=True)
class Closing:
    """A follow-up closed on a visit: what was done (text, or a voice note's file_id)."""

    followup_id: int
    text: str | None = None
    voice: str | None = None
    called_back: bool | None = None  # 回访: the household was called back (None: not asked)
    satisfied: bool | None = None  # the household is satisfied with how it was done


@dataclass(frozen=True)
class NewVisit:
    token: str
    member_id: int
    household_id: int
    visited_on: date
    roles: tuple[str, ...]
    outcome: str
    concern_text: str | None = None
    concern_voice: str | None = None
    concern_seconds: int | None = None
    photo: str | None = None
    due_on: date | None = None
    due_at: datetime | None = None
    closes: tuple[Closing, ...] = ()
    expert_field: str | None = None  # one of EXPERT_FIELDS, with the role "expert" only


@dataclass(frozen=True)
class Visit:
    id: int
    token: str
    member_id: int
    household_id: int
    visited_on: date
    roles: tuple[str, ...]
    outcome: str
    concern_text: str | None
    concern_voice: str | None
    photo: str | None
    expert_field: str | None = None


@dataclass(frozen=True)
class Saved:
    visit: Visit
    created: bool  # False: this draft was saved before (a double tap); nothing new stored
    followup_id: int | None


class VisitRefused(Exception):
    """The visit cannot be stored: ``reason`` is "not_yours", "archived" or "bad"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FollowUp:
    id: int
    visit_id: int
    household_id: int
    household_head: str
    village_id: int
    member_id: int
    member_name: str
    concern_text: str | None
    concern_voice: str | None
    visited_on: date
    due_on: date
    due_at: datetime
    closed_at: datetime | None
    resolution: str | None
    resolution_voice: str | None = None  # what was done, said in a voice note (its file_id)
    called_back: bool | None = None  # 回访 recorded with the closing (None: not asked)
    satisfied: bool | None = None

    def overdue(self, now: datetime) -> bool:
        return self.closed_at is None and self.due_at < now


@dataclass(frozen=True)
class DueFollowUp:
    """An open follow-up due by some moment, for reminders (issue 6's scheduler)."""

    followup_id: int
    member_id: int
    member_telegram_id: int | None  # None: the member has not joined the bot yet
    member_name: str
    household_id: int
    household_head: str
    village_id: int
    concern_text: str | None
    due_on: date
    due_at: datetime


@dataclass(frozen=True)
class CoverageInput:
    households: list[HouseholdRow]
    visits: list[VisitRow]
    people: list[PersonRow]
    followups: list[FollowUpRow]


_VISIT_COLS = (
    "v.id, v.token, v.member_id, v.household_id, v.visited_on, v.roles, v.outcome,"
    " v.concern_text, v.concern_voice, v.photo, v.expert_field"
)
_FU_COLS = (
    "f.id, f.visit_id, f.household_id, h.head AS household_head, h.village_id, f.member_id, p.name AS member_name,"
    " v.concern_text, v.concern_voice, v.visited_on, f.due_on, f.due_at, f.closed_at, f.resolution,"
    " f.resolution_voice, f.called_back, f.satisfied"
)
_FU_FROM = (
    "followups f JOIN households h ON h.id = f.household_id"
    " JOIN people p ON p.id = f.member_id JOIN visits v ON v.id = f.visit_id"
)


def _visit(row: Row) -> Visit:
    roles = tuple(r for r in str(row["roles"]).split(",") if r)
    return Visit(
        row["id"], row["token"], row["member_id"], row["household_id"], date.fromisoformat(row["visited_on"]),
        roles, row["outcome"], row["concern_text"], row["concern_voice"], row["photo"], row["expert_field"],
    )


def _followup(row: Row) -> FollowUp:
    return FollowUp(
        row["id"], row["visit_id"], row["household_id"], row["household_head"], row["village_id"],
        row["member_id"], row["member_name"], row["concern_text"], row["concern_voice"],
        date.fromisoformat(row["visited_on"]), date.fromisoformat(row["due_on"]),
        from_db(row["due_at"]),  # type: ignore[arg-type]
        from_db(row["closed_at"]), row["resolution"], row["resolution_voice"],
        _flag(row["called_back"]), _flag(row["satisfied"]),
    )


def _flag(value: object) -> bool | None:
    return None if value is None else bool(value)


def _bit(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


class VisitsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def by_token(self, token: str) -> Visit | None:
        row = await self.db.fetchone(f"SELECT {_VISIT_COLS} FROM visits v WHERE v.token = ?", (token,))
        return _visit(row) if row else None

    async def get(self, visit_id: int) -> Visit | None:
        row = await self.db.fetchone(f"SELECT {_VISIT_COLS} FROM visits v WHERE v.id = ?", (visit_id,))
        return _visit(row) if row else None

    async def of_household(self, household_id: int, limit: int = 5) -> list[Visit]:
        rows = await self.db.fetchall(
            f"SELECT {_VISIT_COLS} FROM visits v WHERE v.household_id = ?"
            " ORDER BY v.visited_on DESC, v.id DESC LIMIT ?",
            (household_id, limit),
        )
        return [_visit(r) for r in rows]

    async def save(self, new: NewVisit, *, now: datetime) -> Saved:
        """Store the visit, its follow-up and the follow-ups it closes, all or nothing.

        Once per ``token``: saving the same draft again returns the first visit with
        ``created=False``. Refuses (:class:`VisitRefused`) a household that is not the
        member's or is archived, checked inside the same transaction.
        """
        if not new.roles or any(r not in ROLE_CODES for r in new.roles) or new.outcome not in OUTCOMES:
            raise VisitRefused("bad")
        if (new.outcome == "follow_up") != (new.due_at is not None and new.due_on is not None):
            raise VisitRefused("bad")
        if new.expert_field is not None and (new.expert_field not in EXPERT_FIELDS or "expert" not in new.roles):
            raise VisitRefused("bad")
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT id FROM visits WHERE token = ?", (new.token,)) as cur:
                existing = await cur.fetchone()
            if existing is None:
                async with conn.execute(
                    "SELECT member_id, archived FROM households WHERE id = ?", (new.household_id,)
                ) as cur:
                    household = await cur.fetchone()
                if household is None or household[0] != new.member_id:
                    raise VisitRefused("not_yours")
                if household[1]:
                    raise VisitRefused("archived")
                cur = await conn.execute(
                    "INSERT INTO visits (token, member_id, household_id, visited_on, roles,"
                    " concern_text, concern_voice, concern_seconds, outcome, photo, expert_field)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        new.token, new.member_id, new.household_id, new.visited_on.isoformat(),
                        ",".join(new.roles), new.concern_text, new.concern_voice,
                        new.concern_seconds, new.outcome, new.photo, new.expert_field,
                    ),
                )
                visit_id = int(cur.lastrowid or 0)
                if new.outcome == "follow_up":
                    await conn.execute(
                        "INSERT INTO followups (visit_id, household_id, member_id, due_on, due_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (
                            visit_id, new.household_id, new.member_id,
                            new.due_on.isoformat(), to_db(new.due_at),  # type: ignore[union-attr,arg-type]
                        ),
                    )
                for closing in new.closes:
                    await conn.execute(
                        "UPDATE followups SET closed_at = ?, closed_by = ?, closed_visit_id = ?,"
                        " resolution = ?, resolution_voice = ?, called_back = ?, satisfied = ?"
                        " WHERE id = ? AND household_id = ? AND closed_at IS NULL",
                        (
                            to_db(now), new.member_id, visit_id, closing.text, closing.voice,
                            _bit(closing.called_back), _bit(closing.satisfied), closing.followup_id, new.household_id,
                        ),
                    )
                created = True
            else:
                visit_id, created = int(existing[0]), False
        visit = await self.get(visit_id)
        if visit is None:
            raise RuntimeError("unexpected: visit is None")
        row = await self.db.fetchone("SELECT id FROM followups WHERE visit_id = ?", (visit_id,))
        return Saved(visit, created, int(row[0]) if row else None)

    # -- follow-ups ---------------------------------------------------------------------------
    async def followup(self, followup_id: int) -> FollowUp | None:
        row = await self.db.fetchone(f"SELECT {_FU_COLS} FROM {_FU_FROM} WHERE f.id = ?", (followup_id,))
        return _followup(row) if row else None

    async def open_followups(
        self,
        *,
        household_id: int | None = None,
        member_id: int | None = None,
        village_id: int | None = None,
    ) -> list[FollowUp]:
        """Open follow-ups of active households, the earliest due first."""
        where = ["f.closed_at IS NULL", "h.archived = 0"]
        params: list[object] = []
        for column, value in (("f.household_id", household_id), ("f.member_id", member_id), ("h.village_id", village_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        rows = await self.db.fetchall(
            f"SELECT {_FU_COLS} FROM {_FU_FROM} WHERE {' AND '.join(where)} ORDER BY f.due_at, f.id",
            params,
        )
        return [_followup(r) for r in rows]

    async def followups_due(self, until: datetime) -> list[DueFollowUp]:
        """Open follow-ups of active households due at or before ``until``, earliest first.

        For reminders: each carries the member's Telegram id (None if not joined) and name,
        the household head and the due day. Inactive members' follow-ups are left out.
        """
        rows = await self.db.fetchall(
            """
            SELECT f.id, f.member_id, p.telegram_id, p.name, h.id AS household_id, h.head, h.village_id,
                   v.concern_text, f.due_on, f.due_at
            FROM followups f JOIN households h ON h.id = f.household_id
            JOIN people p ON p.id = f.member_id JOIN visits v ON v.id = f.visit_id
            WHERE f.closed_at IS NULL AND h.archived = 0 AND p.active = 1 AND f.due_at <= ?
            ORDER BY f.due_at, f.id
            """,
            (to_db(until),),
        )
        return [
            DueFollowUp(
                r["id"], r["member_id"], r["telegram_id"], r["name"], r["household_id"], r["head"],
                r["village_id"], r["concern_text"], date.fromisoformat(r["due_on"]),
                from_db(r["due_at"]),  # type: ignore[arg-type]
            )
            for r in rows
        ]

    async def close_followup(
        self,
        followup_id: int,
        *,
        by_person_id: int,
        closed_at: datetime,
        text: str | None = None,
        voice: str | None = None,
        called_back: bool | None = None,
        satisfied: bool | None = None,
    ) -> bool:
        """Close an open follow-up with what was done, and the call-back (回访: was the
        household called back, is it satisfied; None: not asked); False if already closed."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE followups SET closed_at = ?, closed_by = ?, resolution = ?, resolution_voice = ?,"
                " called_back = ?, satisfied = ? WHERE id = ? AND closed_at IS NULL",
                (to_db(closed_at), by_person_id, text, voice, _bit(called_back), _bit(satisfied), followup_id),
            )
            return cur.rowcount == 1

    async def reopen_followup(
        self,
        followup_id: int,
        *,
        by: int | None = None,
        at: datetime | None = None,
        reason: str = "",
        token: str | None = None,
    ) -> bool:
        """A reviewer returns a closed follow-up: reopen it so that its member does it again.

        One transaction: the closing (who closed it, when, what was done: text or a voice
        note, on which visit) is appended to the review trail as a ``closed`` step, then the ``returned`` step
        (``by`` the reviewer ``at`` a moment, default now, with ``reason``; stored once per
        ``token``), then the closing is cleared. False, and nothing stored, if the follow-up is
        not closed or the token was stored already (a double tap).
        """
        when = to_db(at or datetime.now(UTC))
        async with self.db.transaction() as conn:
            if token is not None:
                async with conn.execute("SELECT 1 FROM review_events WHERE token = ?", (token,)) as cur:
                    if await cur.fetchone() is not None:
                        return False
            async with conn.execute(
                "SELECT closed_at, closed_by, resolution, resolution_voice, closed_visit_id FROM followups"
                " WHERE id = ? AND closed_at IS NOT NULL",
                (followup_id,),
            ) as cur:
                closing = await cur.fetchone()
            if closing is None:
                return False
            closed_at, closed_by, text, voice, visit_id = closing
            await conn.execute(
                "INSERT INTO review_events (item_kind, item_id, action, by_person, comment, at, voice, visit_id)"
                " VALUES ('followup', ?, 'closed', ?, ?, ?, ?, ?)",
                (followup_id, closed_by, text or "", closed_at, voice, visit_id),
            )
            await conn.execute(
                "INSERT INTO review_events (item_kind, item_id, action, by_person, comment, at, token)"
                " VALUES ('followup', ?, 'returned', ?, ?, ?, ?)",
                (followup_id, by, reason, when, token),
            )
            await conn.execute(
                "UPDATE followups SET closed_at = NULL, closed_by = NULL, closed_visit_id = NULL,"
                " resolution = NULL, resolution_voice = NULL, called_back = NULL, satisfied = NULL WHERE id = ?",
                (followup_id,),
            )
        return True

    # -- the village branch verifies its members' closings (issue 13, item 10) -----------------
    # A closed follow-up waits for a review: never reviewed, or closed again after a return.
    _WAITING = (
        "f.closed_at IS NOT NULL AND COALESCE((SELECT e.action FROM review_events e"
        " WHERE e.item_kind = 'followup' AND e.item_id = f.id ORDER BY e.id DESC LIMIT 1), '')"
        " IN ('', 'resubmitted')"
    )

    async def branch_waiting(self, village_id: int, *, reviewer_id: int) -> list[FollowUp]:
        """The village's closed follow-ups waiting for a review that its branch (the secretary
        ``reviewer_id``) may verify: all but the ones the reviewer closed themself; newest first.
        Verified here, they leave the township's queue (its last step is then 'verified')."""
        rows = await self.db.fetchall(
            f"SELECT {_FU_COLS} FROM {_FU_FROM} WHERE h.village_id = ? AND f.closed_by <> ? AND {self._WAITING}"
            " ORDER BY f.closed_at DESC, f.id DESC",
            (village_id, reviewer_id),
        )
        return [_followup(r) for r in rows]

    async def branch_verify(
        self, followup_id: int, *, village_id: int, by: int, at: datetime, comment: str = "", token: str | None = None
    ) -> bool:
        """The branch verifies one of :meth:`branch_waiting`: its 'verified' review step, stored
        once per ``token``. False, and nothing stored, for a follow-up of another village, one
        still open, closed by ``by`` themself, already reviewed, or a token stored before."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                f"SELECT f.id FROM followups f JOIN households h ON h.id = f.household_id"
                f" WHERE f.id = ? AND h.village_id = ? AND f.closed_by <> ? AND {self._WAITING}",
                (followup_id, village_id, by),
            ) as cur:
                if await cur.fetchone() is None:
                    return False
            cur = await conn.execute(
                "INSERT INTO review_events (item_kind, item_id, action, by_person, comment, at, token)"
                " VALUES ('followup', ?, 'verified', ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING",
                (followup_id, by, comment, to_db(at), token),
            )
            return cur.rowcount == 1

    # -- coverage -------------------------------------------------------------------------
    async def coverage_input(
        self, village_ids: Iterable[int], *, today: date, window: Window | None = None
    ) -> CoverageInput:
        """What :func:`bot.rules.coverage.compute` needs about these villages.

        Active households with their last visit up to ``today``, the visits of ``window``
        (default: the rolling window up to ``today``), the villages' members and secretaries,
        and the open follow-ups of active households. /coverage itself reads through
        :class:`CoverageReader` in a worker thread; this is the same SQL on the bot's connection.
        """
        window = window or Window.last_days(today)
        params = {"ids": _ids(village_ids), "today": today.isoformat(),
                  "first": window.first.isoformat(), "last": min(window.last, today).isoformat()}
        scope = "SELECT value FROM json_each(:ids)"
        rows = [await self.db.fetchall(sql.format(villages=scope, units=_UNITS_OF_VILLAGES.format(villages=scope)), params)
                for sql in _COVERAGE_SQL]
        return _coverage_input(*rows)


# -- coverage, read in a worker thread --------------------------------------------------------
_UNITS_OF_VILLAGES = (
    "SELECT value FROM json_each(:ids) UNION ALL"
    " SELECT g.id FROM units g WHERE g.level = 'grid' AND g.parent_id IN ({villages})"
)
# Households, visits of the window, people, open follow-ups: {villages} is a subquery of the
# village ids, {units} of the villages and their grids (the units people belong to).
_COVERAGE_SQL = (
    """
    SELECT h.id, h.village_id, h.member_id, h.head,
           (SELECT MAX(v.visited_on) FROM visits v WHERE v.household_id = h.id AND v.visited_on <= :today) AS last_visit
    FROM households h
    WHERE h.archived = 0 AND h.village_id IN ({villages})
    ORDER BY h.village_id, h.head, h.id
    """,
    """
    SELECT v.household_id, v.member_id, v.visited_on
    FROM households h JOIN visits v ON v.household_id = h.id
    WHERE h.archived = 0 AND h.village_id IN ({villages})
      AND v.visited_on BETWEEN :first AND :last
    """,
    f"""
    SELECT p.id, p.name, {_VILLAGE_OF_PERSON} AS village_id, p.role, substr(p.created_at, 1, 10) AS since
    FROM people p JOIN units u ON u.id = p.unit_id
    WHERE p.unit_id IN ({{units}}) AND p.active = 1 AND p.role IN ('member', 'secretary')
    ORDER BY village_id, p.name, p.id
    """,
    """
    SELECT f.id, f.household_id, f.member_id, h.village_id, h.head, f.due_at
    FROM households h JOIN followups f ON f.household_id = h.id
    WHERE f.closed_at IS NULL AND h.archived = 0 AND h.village_id IN ({villages})
    """,
)


def _since(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _coverage_input(households: Sequence[Row], visits: Sequence[Row], people: Sequence[Row], followups: Sequence[Row]) -> CoverageInput:
    return CoverageInput(
        households=[
            HouseholdRow(r["id"], r["village_id"], r["member_id"], r["head"], _day(r["last_visit"])) for r in households
        ],
        visits=[VisitRow(r["household_id"], r["member_id"], date.fromisoformat(r["visited_on"])) for r in visits],
        people=[PersonRow(r["id"], r["name"], r["village_id"], r["role"], _since(r["since"])) for r in people],
        followups=[
            FollowUpRow(r["id"], r["household_id"], r["member_id"], r["village_id"], r["head"],
                        from_db(r["due_at"]))  # type: ignore[arg-type]
            for r in followups
        ],
    )


@dataclass(frozen=True)
class ScopeUnit:
    id: int
    parent_id: int | None
    level: str
    name: str


@dataclass(frozen=True)
class CoverageScope:
    """A unit's subtree (without grids) and what the coverage rules need about its villages."""

    units: list[ScopeUnit]
    data: CoverageInput


class CoverageReader:
    """Coverage rows over a read-only ``sqlite3`` connection, for a worker thread.

    Every query is bounded by the unit's subtree (never the whole table), so a township's
    figures cost the same in a district and in a province. Made and used inside one thread.
    """

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.conn.row_factory = sqlite3.Row  # rows are read by column name
        self.conn.execute("PRAGMA busy_timeout = 5000")
        self.conn.execute("PRAGMA query_only = 1")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> CoverageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scope(self, unit_id: int, *, today: date, window: Window) -> CoverageScope:
        """The subtree of ``unit_id`` and its villages' coverage input (in one read snapshot)."""
        self.conn.execute("BEGIN")
        try:
            units = [
                ScopeUnit(r["id"], r["parent_id"], r["level"], r["name"])
                for r in self.conn.execute(
                    """
                    WITH RECURSIVE tree(id) AS (
                        SELECT id FROM units WHERE id = ?
                        UNION ALL SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id
                        WHERE u.level != 'grid'
                    )
                    SELECT u.id, u.parent_id, u.level, u.name FROM tree JOIN units u ON u.id = tree.id
                    ORDER BY u.name, u.id
                    """,
                    (unit_id,),
                )
            ]
            village_ids = [u.id for u in units if u.level == "village"]
            params = {"ids": _ids(village_ids), "today": today.isoformat(),
                      "first": window.first.isoformat(), "last": min(window.last, today).isoformat()}
            scope = "SELECT value FROM json_each(:ids)"
            rows = [
                self.conn.execute(sql.format(villages=scope, units=_UNITS_OF_VILLAGES.format(villages=scope)), params).fetchall()
                for sql in _COVERAGE_SQL
            ]
        finally:
            self.conn.execute("COMMIT")
        return CoverageScope(units, _coverage_input(*rows))
