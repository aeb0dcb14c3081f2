"""The organisation tree (district → township/street → village/community → grid) and people."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database

LEVELS = ("district", "township", "village", "grid")
ROLES = ("district_admin", "township_admin", "secretary", "member")


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

    @property
    def is_admin(self) -> bool:
        return self.role in ("district_admin", "township_admin")


_UNIT_COLS = "id, parent_id, level, name, stars"
_PERSON_COLS = "id, name, role, unit_id, phone, telegram_id, first_secretary, active"


def _unit(row) -> Unit:
    return Unit(row[0], row[1], row[2], row[3], row[4])


def _person(row) -> Person:
    return Person(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), bool(row[7]))


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

    async def path_names(self, unit_id: int) -> list[str]:
        """Names from the top of the tree down to the unit (district, township, village)."""
        return [u.name for u in reversed(await self.ancestors(unit_id))]

    # -- people ---------------------------------------------------------------------------
    async def person(self, person_id: int) -> Person | None:
        row = await self.db.fetchone(
            f"SELECT {_PERSON_COLS} FROM people WHERE id = ?", (person_id,)
        )
        return _person(row) if row else None

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
                " CASE WHEN ? IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%SZ', 'now') END)",
                (name, role, unit_id, phone, telegram_id, int(first_secretary), telegram_id),
            )
            person_id = cur.lastrowid
        return Person(person_id, name, role, unit_id, phone, telegram_id, first_secretary)

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
