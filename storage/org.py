"""The organisation tree (district → township/street → village/community → grid) and people.

A person holds one role in one unit. Admins' rights cover their unit and every unit below it;
a village secretary's cover their village (and its grids); a party member manages no unit
(:meth:`OrgRepo.scope_ids`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from storage.db import Database, Row, record
from storage.timefmt import SQL_NOW

LEVELS = ("district", "township", "village", "grid")
ROLES = ("district_admin", "township_admin", "secretary", "member")
LEADER_ROLES = ("district_admin", "township_admin", "secretary")
# which roles a person may hold in a unit of each level
ROLES_AT_LEVEL = {
    "district": ("district_admin",),
    "township": ("township_admin",),
    "village": ("secretary", "member"),
    "grid": ("member",),
}
ADMIN_ROLE_OF_LEVEL = {"district": "district_admin", "township": "township_admin"}


@dataclass(frozen=True)
class Unit:
    id: int
    parent_id: int | None
    level: str
    name: str
    stars: int | None = None


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str
    unit_id: int
    phone: str | None = None
    telegram_id: int | None = None
    first_secretary: bool = False
    active: bool = True
    joined_at: str | None = None  # UTC ISO-8601, when the Telegram account was bound

    @property
    def is_admin(self) -> bool:
        return self.role in ("district_admin", "township_admin")

    @property
    def is_leader(self) -> bool:
        return self.role in LEADER_ROLES

    @property
    def joined(self) -> bool:
        return self.telegram_id is not None


_UNIT_COLS = "id, parent_id, level, name, stars"
_PERSON_COLS = "id, name, role, unit_id, phone, telegram_id, first_secretary, active, joined_at"
_NOW = SQL_NOW


def _unit(row: Row) -> Unit:
    return record(Unit, row)


def _person(row: Row) -> Person:
    return record(Person, row, first_secretary=bool(row["first_secretary"]), active=bool(row["active"]))


@dataclass(frozen=True)
class AdminAdded:
    """What ``cadre-bot admin add`` did: ``status`` is added, bound, already or a refusal."""

    status: str
    person: Person | None = None
    unit: Unit | None = None
    detail: str = ""
    others: list[str] = field(default_factory=list)  # the districts there are, for a name not found


class OrgRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- units ----------------------------------------------------------------------------
    async def unit(self, unit_id: int) -> Unit | None:
        row = await self.db.fetchone(f"SELECT {_UNIT_COLS} FROM units WHERE id = ?", (unit_id,))
        return _unit(row) if row else None

    async def find_unit(self, name: str, parent_id: int | None = None) -> Unit | None:
        row = await self.db.fetchone(
            f"SELECT {_UNIT_COLS} FROM units WHERE name = ? AND COALESCE(parent_id, 0) = ?",
            (name, parent_id or 0),
        )
        return _unit(row) if row else None

    async def units_named(self, name: str) -> list[Unit]:
        rows = await self.db.fetchall(
            f"SELECT {_UNIT_COLS} FROM units WHERE name = ? ORDER BY id", (name,)
        )
        return [_unit(r) for r in rows]

    async def add_unit(
        self, name: str, level: str, parent_id: int | None = None, stars: int | None = None
    ) -> Unit:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO units (name, level, parent_id, stars) VALUES (?, ?, ?, ?)",
                (name, level, parent_id, stars),
            )
            unit_id = cur.lastrowid
        return Unit(unit_id, parent_id, level, name, stars)

    async def subtree(self, unit_id: int, level: str | None = None) -> list[Unit]:
        """The unit and every unit below it (optionally only those of one level)."""
        rows = await self.db.fetchall(
            f"""
            WITH RECURSIVE tree(id) AS (
                SELECT id FROM units WHERE id = ?
                UNION ALL SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id
            )
            SELECT {_UNIT_COLS} FROM units WHERE id IN (SELECT id FROM tree)
            AND (? IS NULL OR level = ?) ORDER BY level, name
            """,
            (unit_id, level, level),
        )
        return [_unit(r) for r in rows]

    async def ancestors(self, unit_id: int) -> list[Unit]:
        """The unit and its ancestors, from the unit up to the root."""
        rows = await self.db.fetchall(
            f"""
            WITH RECURSIVE up(id, depth) AS (
                SELECT id, 0 FROM units WHERE id = ?
                UNION ALL SELECT u.parent_id, depth + 1 FROM units u JOIN up ON u.id = up.id
                WHERE u.parent_id IS NOT NULL
            )
            SELECT {_UNIT_COLS} FROM units JOIN up USING (id) ORDER BY up.depth
            """,
            (unit_id,),
        )
        return [_unit(r) for r in rows]

    async def contains(self, ancestor_id: int, unit_id: int) -> bool:
        return any(u.id == ancestor_id for u in await self.ancestors(unit_id))

    async def children(self, unit_id: int) -> list[Unit]:
        """Units directly below, in the order they were created (the roster's order)."""
        rows = await self.db.fetchall(
            f"SELECT {_UNIT_COLS} FROM units WHERE parent_id = ? ORDER BY id", (unit_id,)
        )
        return [_unit(r) for r in rows]

    async def child_counts(self, unit_ids: list[int]) -> dict[int, int]:
        if not unit_ids:
            return {}
        marks = ",".join("?" * len(unit_ids))
        rows = await self.db.fetchall(
            f"SELECT parent_id, COUNT(*) AS n FROM units WHERE parent_id IN ({marks}) GROUP BY parent_id",
            unit_ids,
        )
        return {row["parent_id"]: row["n"] for row in rows}

    async def districts(self) -> list[Unit]:
        rows = await self.db.fetchall(
            f"SELECT {_UNIT_COLS} FROM units WHERE parent_id IS NULL ORDER BY id"
        )
        return [_unit(r) for r in rows]

    async def find_units(self, spec: str) -> list[Unit]:
        """Units named ``spec``, or matching a path written ``示例区/东风镇/红旗村``."""
        names = [n.strip() for n in spec.replace("›", "/").replace(">", "/").split("/") if n.strip()]
        if not names:
            return []
        candidates = await self.units_named(names[-1])
        if len(names) == 1:
            return candidates
        out = []
        for unit in candidates:
            path = await self.path_names(unit.id)
            if path[-len(names) :] == names:
                out.append(unit)
        return out

    async def scope_ids(self, person: Person | None) -> set[int]:
        """Units whose people, households and groups ``person`` manages (empty for members)."""
        if person is None or not person.is_leader:
            return set()
        return {u.id for u in await self.subtree(person.unit_id)}

    async def manages(self, person: Person | None, unit_id: int) -> bool:
        if person is None or not person.is_leader:
            return False
        return await self.contains(person.unit_id, unit_id)

    async def path_names(self, unit_id: int) -> list[str]:
        """Names from the top of the tree down to the unit (district, township, village)."""
        return [u.name for u in reversed(await self.ancestors(unit_id))]

    # -- people ---------------------------------------------------------------------------
    async def person(self, person_id: int) -> Person | None:
        row = await self.db.fetchone(
            f"SELECT {_PERSON_COLS} FROM people WHERE id = ?", (person_id,)
        )
        return _person(row) if row else None

    async def people_by_ids(self, person_ids: Iterable[int]) -> dict[int, Person]:
        rows = await self.db.fetchall(
            f"SELECT {_PERSON_COLS} FROM people WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted({int(i) for i in person_ids})),),
        )
        return {r[0]: _person(r) for r in rows}

    async def person_by_telegram(self, telegram_id: int) -> Person | None:
        row = await self.db.fetchone(
            f"SELECT {_PERSON_COLS} FROM people WHERE telegram_id = ? AND active = 1",
            (telegram_id,),
        )
        return _person(row) if row else None

    async def add_person(
        self,
        name: str,
        role: str,
        unit_id: int,
        *,
        phone: str | None = None,
        telegram_id: int | None = None,
        first_secretary: bool = False,
    ) -> Person:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO people (name, role, unit_id, phone, telegram_id, first_secretary,"
                " joined_at) VALUES (?, ?, ?, ?, ?, ?,"
                f" CASE WHEN ? IS NULL THEN NULL ELSE {SQL_NOW} END)",
                (name, role, unit_id, phone, telegram_id, int(first_secretary), telegram_id),
            )
            person_id = cur.lastrowid
        return Person(person_id, name, role, unit_id, phone, telegram_id, first_secretary)

    async def find_person(self, unit_id: int, name: str, role: str) -> Person | None:
        row = await self.db.fetchone(
            f"SELECT {_PERSON_COLS} FROM people WHERE unit_id = ? AND name = ? AND role = ?",
            (unit_id, name, role),
        )
        return _person(row) if row else None

    async def waiting(self, unit_id: int, role: str) -> list[Person]:
        """People of exactly this unit and role who have not joined yet (roster order)."""
        rows = await self.db.fetchall(
            f"SELECT {_PERSON_COLS} FROM people WHERE unit_id = ? AND role = ? AND active = 1"
            " AND telegram_id IS NULL ORDER BY id",
            (unit_id, role),
        )
        return [_person(r) for r in rows]

    async def search_people(
        self,
        unit_id: int,
        *,
        text: str = "",
        joined: bool | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> tuple[list[Person], int]:
        """People of the unit and everything below it: one page, and how many there are.

        ``text`` matches a part of the name or of the phone number; ``joined`` keeps only
        those who have (True) or have not (False) joined. Leaders first, then by unit and name.
        """
        where = "p.active = 1 AND p.unit_id IN (SELECT id FROM tree)"
        params: list[object] = [unit_id]
        if text:
            where += " AND (instr(p.name, ?) > 0 OR instr(COALESCE(p.phone, ''), ?) > 0)"
            params += [text, text]
        if joined is not None:
            where += " AND p.telegram_id IS " + ("NOT NULL" if joined else "NULL")
        tree = (
            "WITH RECURSIVE tree(id) AS (SELECT id FROM units WHERE id = ?"
            " UNION ALL SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id) "
        )
        order = (
            " ORDER BY CASE p.role WHEN 'district_admin' THEN 0 WHEN 'township_admin' THEN 1"
            " WHEN 'secretary' THEN 2 ELSE 3 END, p.unit_id, p.id"
        )
        total = await self.db.fetchone(tree + f"SELECT COUNT(*) FROM people p WHERE {where}", params)
        cols = ", ".join(f"p.{c.strip()}" for c in _PERSON_COLS.split(","))
        rows = await self.db.fetchall(
            tree + f"SELECT {cols} FROM people p WHERE {where}{order} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [_person(r) for r in rows], int(total[0]) if total else 0

    async def joined_with_roles(self, roles: tuple[str, ...]) -> list[Person]:
        """Everyone of these roles who has a Telegram account bound (few: for admins' menus)."""
        marks = ",".join("?" * len(roles))
        rows = await self.db.fetchall(
            f"SELECT {_PERSON_COLS} FROM people WHERE active = 1 AND telegram_id IS NOT NULL"
            f" AND role IN ({marks}) ORDER BY id",
            roles,
        )
        return [_person(r) for r in rows]

    async def households_held(self, person_id: int) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM households WHERE member_id = ? AND archived = 0", (person_id,)
        )
        return int(row[0]) if row else 0

    async def unbind_telegram(self, person_id: int) -> int | None:
        """Forget the Telegram account of a person (it joins again with a new invite)."""
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT telegram_id FROM people WHERE id = ?", (person_id,)) as cur:
                row = await cur.fetchone()
            await conn.execute(
                "UPDATE people SET telegram_id = NULL, joined_at = NULL WHERE id = ?", (person_id,)
            )
        return row[0] if row else None

    async def bind_telegram(self, person_id: int, telegram_id: int) -> None:
        """Link a Telegram account to a person (used by the demo and ``admin add``)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE people SET telegram_id = ?, joined_at = {_NOW} WHERE id = ?",
                (telegram_id, person_id),
            )

    async def add_admin(self, telegram_id: int, name: str, unit_spec: str | None, *,
                        new_district: bool = False) -> AdminAdded:
        """``cadre-bot admin add``: make ``telegram_id`` an admin of a district or township.

        Without ``unit_spec`` the only district is used. A ``unit_spec`` naming no unit creates
        a district of that name on an empty database (the first step) or with ``new_district``;
        otherwise it is refused with the districts there are (a typo does not make a district).
        """
        name = " ".join(name.split())
        if not name:
            return AdminAdded("no_name")
        if unit_spec:
            units = await self.find_units(unit_spec)
            if not units and "/" not in unit_spec:
                districts = await self.districts()
                if districts and not new_district:
                    return AdminAdded("unknown_unit_here", detail=unit_spec,
                                      others=[d.name for d in districts])
                units = [await self.add_unit(unit_spec.strip(), "district")]
            if not units:
                return AdminAdded("unknown_unit", detail=unit_spec)
        else:
            units = await self.districts()
            if not units:
                return AdminAdded("no_district")
        if len(units) > 1:
            paths = [" / ".join(await self.path_names(u.id)) for u in units]
            return AdminAdded("ambiguous_unit", detail="; ".join(paths))
        unit = units[0]
        role = ADMIN_ROLE_OF_LEVEL.get(unit.level)
        if role is None:
            return AdminAdded("not_admin_level", unit=unit)
        current = await self.person_by_telegram(telegram_id)
        if current is not None:
            same = current.unit_id == unit.id and current.role == role
            return AdminAdded("already" if same else "bound_elsewhere", current, unit)
        existing = await self.find_person(unit.id, name, role)
        if existing is not None and existing.telegram_id is None:
            await self.bind_telegram(existing.id, telegram_id)
            return AdminAdded("bound", await self.person(existing.id), unit)
        if existing is not None:
            return AdminAdded("name_taken", existing, unit)
        return AdminAdded("added", await self.add_person(name, role, unit.id, telegram_id=telegram_id), unit)

    async def people_in(self, unit_id: int, role: str | None = None) -> list[Person]:
        """People of the unit and every unit below it."""
        rows = await self.db.fetchall(
            f"""
            WITH RECURSIVE tree(id) AS (
                SELECT id FROM units WHERE id = ?
                UNION ALL SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id
            )
            SELECT {_PERSON_COLS} FROM people WHERE unit_id IN (SELECT id FROM tree)
            AND active = 1 AND (? IS NULL OR role = ?) ORDER BY unit_id, name
            """,
            (unit_id, role, role),
        )
        return [_person(r) for r in rows]
