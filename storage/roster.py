"""Importing a roster (see :mod:`bot.rules.roster`) into units, people and households.

The whole import is one transaction. Rows are matched to what exists by unit path and names:
a unit by its parent and name, a secretary or party member by village, name and role, a
household by village, head and address (a household whose only row changed its address is
updated rather than duplicated). Empty optional cells change nothing; nothing is deleted.

A row that cannot be placed (an unknown district, a unit of the wrong level, a unit outside
the importing admin's units) is an error with its line number. A township or village the row
would create whose name is one character apart from one that exists under the same parent
(向阳材 beside 向阳村: :func:`bot.rules.roster.close_names`) is an error too (``close_name``), as
is such a pair within the file: the admin confirms the names (``confirm_close_names``) or
fixes the file; a typo never silently becomes a new village. When the file has any error,
nothing is kept unless ``good_rows`` is set, and the counts say what importing the good rows
would do (the same pass, rolled back).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import aiosqlite

from bot.rules.roster import Roster, RosterRow, RowError, close_names
from storage.db import Database, record
from storage.timefmt import SQL_NOW

_NOW = SQL_NOW


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True)
class ImportResult:
    committed: bool
    units: Tally
    households: Tally
    people: Tally
    errors: tuple[RowError, ...]
    good_rows: int  # rows imported (or that would be, when not committed)
    total_rows: int

    @property
    def changed(self) -> bool:
        return any(t.created or t.updated for t in (self.units, self.households, self.people))


@dataclass
class _Unit:
    id: int | None  # None: to be created in this row
    level: str
    name: str
    stars: int | None = None
    parent: int | None = None


@dataclass
class _Person:
    id: int
    name: str
    role: str
    phone: str | None
    first_secretary: bool
    active: bool


@dataclass
class _Household:
    id: int
    head: str
    address: str
    grid: str
    phone: str | None
    member_id: int | None


class _Rollback(Exception):
    pass


class RosterRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def import_roster(
        self,
        roster: Roster,
        *,
        scope_unit_id: int | None = None,
        good_rows: bool = False,
        confirm_close_names: bool = False,
    ) -> ImportResult:
        """Import ``roster``; ``scope_unit_id`` limits it to an admin's units (None: anything).
        ``confirm_close_names``: the admin has seen the close names and they are right."""
        result: ImportResult | None = None
        if confirm_close_names:
            roster = _without_close_names(roster)
        try:
            async with self.db.transaction() as conn:
                run = _Run(conn, roster, scope_unit_id)
                run.check_close_names = not confirm_close_names
                await run.prepare()
                for row in roster.rows:
                    await run.row(row)
                errors = tuple(sorted((*roster.errors, *run.errors), key=lambda e: (e.line, e.code)))
                bad = {e.line for e in errors}
                good = len({r.line for r in roster.rows} - bad)
                commit = not errors or good_rows
                result = ImportResult(
                    commit, *run.tallies(), errors, good, len({r.line for r in roster.rows} | bad)
                )
                if not commit:
                    raise _Rollback
        except _Rollback:
            pass
        if result is None:
            raise RuntimeError("unexpected: result is None")
        return result


def _without_close_names(roster: Roster) -> Roster:
    from dataclasses import replace

    return replace(roster, errors=tuple(e for e in roster.errors if e.code != "close_name"))


class _Run:
    """One pass over the rows inside the import's transaction."""

    def __init__(self, conn: aiosqlite.Connection, roster: Roster, scope_unit_id: int | None) -> None:
        self.conn = conn
        self.roster = roster
        self.scope_unit_id = scope_unit_id
        self.scope_ids: set[int] = set()
        self.default_district = ""
        self.default_township = ""
        self.errors: list[RowError] = []
        self.units: dict[tuple[int, str], _Unit] = {}
        self.people: dict[int, dict[tuple[str, str], _Person]] = {}
        self.households: dict[int, dict[tuple[str, str], _Household]] = {}
        self.status: dict[tuple[str, int], str] = {}
        self.heads_in_file = Counter((r.district, r.township, r.village, r.head) for r in roster.rows if r.head)
        self.check_close_names = True
        self.children: dict[int, list[str]] = {}  # names of the units under a parent (cached)

    async def fetchall(self, sql: str, params: tuple | list = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def prepare(self) -> None:
        if self.scope_unit_id is not None:
            rows = await self.fetchall(
                "WITH RECURSIVE tree(id) AS (SELECT id FROM units WHERE id = ? UNION ALL"
                " SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id) SELECT id FROM tree",
                (self.scope_unit_id,),
            )
            self.scope_ids = {r[0] for r in rows}
            path = await self.fetchall(
                "WITH RECURSIVE up(id, depth) AS (SELECT id, 0 FROM units WHERE id = ? UNION ALL"
                " SELECT u.parent_id, depth + 1 FROM units u JOIN up ON u.id = up.id"
                " WHERE u.parent_id IS NOT NULL)"
                " SELECT units.name, units.level FROM units JOIN up USING (id) ORDER BY depth DESC",
                (self.scope_unit_id,),
            )
            names = {level: name for name, level in path}
            self.default_district = names.get("district", "")
            self.default_township = names.get("township", "")
            return
        in_file = {r.district for r in self.roster.rows if r.district}
        if len(in_file) == 1:
            self.default_district = in_file.pop()
        elif not in_file:
            districts = await self.fetchall("SELECT name FROM units WHERE parent_id IS NULL")
            if len(districts) == 1:
                self.default_district = districts[0][0]

    # -- units ---------------------------------------------------------------------------------
    async def unit(self, parent: _Unit | None, name: str) -> _Unit | None:
        if parent is not None and parent.id is None:
            return None  # below a unit this row creates: nothing exists yet
        parent_id = parent.id if parent is not None else None
        key = (parent_id or 0, name)
        if key not in self.units:
            rows = await self.fetchall(
                "SELECT id, level, name, stars FROM units WHERE COALESCE(parent_id, 0) = ? AND name = ?",
                key,
            )
            if not rows:
                return None
            self.units[key] = _Unit(rows[0][0], rows[0][1], rows[0][2], rows[0][3], parent_id)
        return self.units[key]

    async def place(self, row: RosterRow) -> list[_Unit] | RowError:
        """The row's unit path (existing units, or ones to create), or why it cannot be placed."""
        district = row.district or self.default_district
        township = row.township or (self.default_township if row.village else "")
        if not district:
            return RowError(row.line, "missing_district")
        if row.village and not township:
            return RowError(row.line, "missing_township", value=row.village)
        chain: list[_Unit] = []
        parent: _Unit | None = None
        for level, name in (("district", district), ("township", township), ("village", row.village)):
            if not name:
                break
            found = await self.unit(parent, name)
            if found is None:
                creating_root = parent is None
                if creating_root and self.scope_unit_id is not None:
                    return RowError(row.line, "unknown_unit", value=name)
                close = await self.close_to_existing(parent, level, name)
                if close:
                    return RowError(row.line, "close_name", value=f"{name}→{close}")
                found = _Unit(None, level, name, parent=parent.id if parent else None)
            elif found.level != level:
                return RowError(row.line, "level_mismatch", value=name)
            chain.append(found)
            parent = found
        if self.scope_unit_id is not None:
            last = chain[-1]
            first_new = next((u for u in chain if u.id is None), None)
            inside = (last.id in self.scope_ids) if first_new is None else (first_new.parent in self.scope_ids)
            if not inside:
                return RowError(row.line, "out_of_scope", value=last.name)
        return chain

    async def close_to_existing(self, parent: _Unit | None, level: str, name: str) -> str | None:
        """An existing township or village under ``parent`` whose name is one character apart
        from the new ``name`` (a likely typo), unless the admin confirmed the names."""
        if not self.check_close_names or parent is None or parent.id is None or level not in ("township", "village"):
            return None
        if parent.id not in self.children:
            rows = await self.fetchall("SELECT name FROM units WHERE parent_id = ? AND level = ?", (parent.id, level))
            self.children[parent.id] = [r[0] for r in rows]
        return close_names([name], self.children[parent.id]).get(name)

    async def create_units(self, chain: list[_Unit]) -> None:
        parent_id: int | None = None
        for unit in chain:
            if unit.id is None:
                cur = await self.conn.execute(
                    "INSERT INTO units (name, level, parent_id) VALUES (?, ?, ?)",
                    (unit.name, unit.level, parent_id),
                )
                unit.id = cur.lastrowid
                unit.parent = parent_id
                self.units[(parent_id or 0, unit.name)] = unit
                self.scope_ids.add(unit.id)  # type: ignore[arg-type]
                self.mark("unit", unit.id, "created")  # type: ignore[arg-type]
            else:
                self.mark("unit", unit.id, "unchanged")
            parent_id = unit.id

    def mark(self, kind: str, ident: int, status: str) -> None:
        order = {"unchanged": 0, "updated": 1, "created": 2}
        key = (kind, ident)
        if order[status] > order.get(self.status.get(key, ""), -1):
            self.status[key] = status

    def tallies(self) -> tuple[Tally, Tally, Tally]:
        out = {"unit": Tally(), "household": Tally(), "person": Tally()}
        for (kind, _), status in self.status.items():
            tally = out[kind]
            setattr(tally, status, getattr(tally, status) + 1)
        return out["unit"], out["household"], out["person"]

    # -- rows ----------------------------------------------------------------------------------
    async def row(self, row: RosterRow) -> None:
        chain = await self.place(row)
        if isinstance(chain, RowError):
            self.errors.append(chain)
            return
        await self.create_units(chain)
        village = chain[-1] if chain[-1].level == "village" else None
        if village is None:
            return
        if village.id is None:
            raise RuntimeError("unexpected: village.id is None")
        if row.stars is not None and row.stars != village.stars:
            await self.conn.execute("UPDATE units SET stars = ? WHERE id = ?", (row.stars, village.id))
            village.stars = row.stars
            self.mark("unit", village.id, "updated")
        if row.secretary:
            await self.person(village.id, row.secretary, "secretary", row.secretary_phone)
        if row.first_secretary:
            await self.person(village.id, row.first_secretary, "secretary", "", first_secretary=True)
        member = None
        if row.member:
            member = await self.person(village.id, row.member, "member", row.member_phone)
        if row.head:
            await self.household(village.id, row, member)

    async def load_people(self, unit_id: int) -> dict[tuple[str, str], _Person]:
        if unit_id not in self.people:
            rows = await self.fetchall(
                "SELECT id, name, role, phone, first_secretary, active FROM people WHERE unit_id = ?",
                (unit_id,),
            )
            self.people[unit_id] = {
                (r["name"], r["role"]): record(
                    _Person, r, first_secretary=bool(r["first_secretary"]), active=bool(r["active"])
                )
                for r in rows
            }
        return self.people[unit_id]

    async def person(
        self, unit_id: int, name: str, role: str, phone: str, *, first_secretary: bool = False
    ) -> _Person:
        people = await self.load_people(unit_id)
        found = people.get((name, role))
        if found is None and role == "member":
            found = people.get((name, "secretary"))  # the secretary holds households too
        if found is None:
            cur = await self.conn.execute(
                "INSERT INTO people (name, role, unit_id, phone, first_secretary) VALUES (?, ?, ?, ?, ?)",
                (name, role, unit_id, phone or None, int(first_secretary)),
            )
            found = _Person(cur.lastrowid, name, role, phone or None, first_secretary, True)  # type: ignore[arg-type]
            people[(name, role)] = found
            self.mark("person", found.id, "created")
            return found
        changes: dict[str, object] = {}
        if phone and phone != found.phone:
            changes["phone"] = phone
        if first_secretary and not found.first_secretary:
            changes["first_secretary"] = 1
        if not found.active:
            changes["active"] = 1
        if changes:
            sets = ", ".join(f"{column} = ?" for column in changes)
            await self.conn.execute(f"UPDATE people SET {sets} WHERE id = ?", (*changes.values(), found.id))
            found.phone = phone or found.phone
            found.first_secretary = found.first_secretary or first_secretary
            found.active = True
            self.mark("person", found.id, "updated")
        else:
            self.mark("person", found.id, "unchanged")
        return found

    async def load_households(self, village_id: int) -> dict[tuple[str, str], _Household]:
        if village_id not in self.households:
            rows = await self.fetchall(
                "SELECT id, head, address, grid, phone, member_id FROM households WHERE village_id = ?",
                (village_id,),
            )
            self.households[village_id] = {
                (r["head"], r["address"]): record(_Household, r) for r in rows
            }
        return self.households[village_id]

    async def household(self, village_id: int, row: RosterRow, member: _Person | None) -> None:
        households = await self.load_households(village_id)
        found = households.get((row.head, row.address))
        if found is None and self.heads_in_file[(row.district, row.township, row.village, row.head)] == 1:
            same_head = [h for (head, _), h in households.items() if head == row.head]
            if len(same_head) == 1:  # the file's only row for this head moved the address
                found = same_head[0]
        if found is None:
            cur = await self.conn.execute(
                "INSERT INTO households (village_id, head, address, grid, phone, member_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (village_id, row.head, row.address, row.grid, row.phone or None, member.id if member else None),
            )
            created = _Household(cur.lastrowid, row.head, row.address, row.grid, row.phone or None,  # type: ignore[arg-type]
                                 member.id if member else None)
            households[(row.head, row.address)] = created
            self.mark("household", created.id, "created")
            return
        changes: dict[str, object] = {}
        if row.address != found.address:
            changes["address"] = row.address
        if row.grid and row.grid != found.grid:
            changes["grid"] = row.grid
        if row.phone and row.phone != found.phone:
            changes["phone"] = row.phone
        if member is not None and member.id != found.member_id:
            changes["member_id"] = member.id
        if not changes:
            self.mark("household", found.id, "unchanged")
            return
        sets = ", ".join(f"{column} = ?" for column in changes)
        await self.conn.execute(
            f"UPDATE households SET {sets}, updated_at = {_NOW} WHERE id = ?", (*changes.values(), found.id)
        )
        if "address" in changes:
            households.pop((found.head, found.address), None)
            households[(found.head, row.address)] = found
        for column, value in changes.items():
            setattr(found, column, value)
        self.mark("household", found.id, "updated")
