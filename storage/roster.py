"""Importing a roster (see :mod:`bot.rules.roster`) into units, people and households.

The import's writes are one transaction. Rows are matched to what exists by unit path and names:
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
would do (the same pass, nothing written).

Cost: linear in the rows, whatever their number. The import first decides, outside the
write lock: it reads what it needs in a few set-based queries (the units under the districts
the file names; the people and households of the villages it touches, by ``json_each``) and
goes through the rows in memory (dictionaries, no scans; new rows get the ids SQLite would give
them, ``max(id) + 1`` on). Meanwhile other chats' reads and writes go on. Then it takes the
write lock and, if nothing it depends on changed (:meth:`RosterRepo._marks`: the generation of
units and people, here or by another program, and the newest ids), writes with
``executemany`` in chunks of :data:`CHUNK` rows, one atomic change for the admin; if something
changed, it decides again holding the lock (the old way) and writes. The writing goes through
a connection of its own (``Database.side_transaction``): other chats' reads go on beside it
and see none of it until it commits. Other chats' writes wait only for the writing (``bench/roster_stall.py``: at 20,000 new rows, 885 ms when the whole
import held the lock). A file with errors that is not imported writes nothing and takes no
lock. ``progress(done, total)`` is awaited after each chunk of rows gone through and each chunk
written (``total`` counts both passes).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiosqlite

from bot.rules.roster import Roster, RosterRow, RowError, close_names
from storage.db import Database, record
from storage.timefmt import SQL_NOW

_NOW = SQL_NOW
_NEWEST_IDS = (
    "SELECT (SELECT COALESCE(MAX(id), 0) FROM units), (SELECT COALESCE(MAX(id), 0) FROM people),"
    " (SELECT COALESCE(MAX(id), 0) FROM households)"
)
CHUNK = 500  # rows gone through, or written, between two turns of the event loop

Progress = Callable[[int, int], Awaitable[object]]


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


@dataclass
class _Writes:
    """What the pass decided, written after it: new rows (their final values) and the changed
    columns of existing ones (by id, in the order first changed)."""

    units: list[_Unit] = field(default_factory=list)
    stars: dict[int, _Unit] = field(default_factory=dict)
    people: list[tuple[_Person, int]] = field(default_factory=list)  # (person, unit id)
    people_changed: dict[int, tuple[_Person, set[str]]] = field(default_factory=dict)
    households: list[tuple[_Household, int]] = field(default_factory=list)  # (household, village id)
    households_changed: dict[int, tuple[_Household, set[str]]] = field(default_factory=dict)

    def statements(self) -> list[tuple[str, list[tuple]]]:
        """The writes as (SQL, rows of parameters), in an order the constraints accept:
        parents before children, people before the households naming them, an address moved
        before a household is created at it."""
        out: list[tuple[str, list[tuple]]] = [
            ("INSERT INTO units (id, name, level, parent_id) VALUES (?, ?, ?, ?)",
             [(u.id, u.name, u.level, u.parent) for u in self.units]),
            ("UPDATE units SET stars = ? WHERE id = ?", [(u.stars, u.id) for u in self.stars.values()]),
            ("INSERT INTO people (id, name, role, unit_id, phone, first_secretary) VALUES (?, ?, ?, ?, ?, ?)",
             [(p.id, p.name, p.role, unit, p.phone, int(p.first_secretary)) for p, unit in self.people]),
        ]
        out += _updates("people", "", self.people_changed, lambda p, c: int(getattr(p, c)) if c != "phone" else p.phone)
        out += _updates("households", f", updated_at = {_NOW}", self.households_changed, getattr)
        out.append((
            "INSERT INTO households (id, village_id, head, address, grid, phone, member_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(h.id, village, h.head, h.address, h.grid, h.phone, h.member_id) for h, village in self.households],
        ))
        return [(sql, rows) for sql, rows in out if rows]


_COLUMN_ORDER = ("address", "grid", "phone", "member_id", "first_secretary", "active")


def _updates(table: str, extra: str, changed: dict, value: Callable) -> list[tuple[str, list[tuple]]]:
    """One UPDATE per set of changed columns, each with its rows (the values as they end up)."""
    groups: dict[tuple[str, ...], list[tuple]] = {}
    for ident, (obj, columns) in changed.items():
        ordered = tuple(c for c in _COLUMN_ORDER if c in columns)
        groups.setdefault(ordered, []).append((*(value(obj, c) for c in ordered), ident))
    return [
        (f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)}{extra} WHERE id = ?", rows)
        for columns, rows in groups.items()
    ]


class _Rollback(Exception):
    pass


class RosterRepo:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.statements = 0  # SQL statements run by the last import (executemany counts once)

    async def import_roster(
        self,
        roster: Roster,
        *,
        scope_unit_id: int | None = None,
        good_rows: bool = False,
        confirm_close_names: bool = False,
        progress: Progress | None = None,
    ) -> ImportResult:
        """Import ``roster``; ``scope_unit_id`` limits it to an admin's units (None: anything).
        ``confirm_close_names``: the admin has seen the close names and they are right.
        ``progress(done, total)`` is awaited between chunks (see the module's docstring)."""
        if confirm_close_names:
            roster = _without_close_names(roster)
        run: _Run | None = None
        try:
            # decided outside the write lock (other chats' writes go on), on what is there now
            marks = await self._marks()
            run, result = await self._decide(self.db.conn, roster, scope_unit_id, confirm_close_names, good_rows, progress)
            if not result.committed:
                return result
            async with self.db.side_transaction() as conn:  # this connection's reads go on beside it
                if await self._marks() != marks:  # the units, people or households changed meanwhile
                    run, result = await self._decide(conn, roster, scope_unit_id, confirm_close_names, good_rows, progress)
                    if not result.committed:
                        raise _Rollback
                run.conn = conn
                await run.write(progress, done=len(roster.rows), total=2 * len(roster.rows))
        except _Rollback:
            pass
        finally:
            self.statements = run.statements if run is not None else 0
        return result

    async def _marks(self) -> tuple[int, tuple[int, ...]]:
        """What a decided import depends on: the generation of units and people (any write
        naming them, here or by another program) and the newest ids (households are not in
        the generation; a new one would take an id the import meant to give)."""
        generation = await self.db.current_generation(fresh=True)
        row = await self.db.fetchone(_NEWEST_IDS)
        return generation, tuple(row) if row is not None else ()

    async def _decide(
        self,
        conn: aiosqlite.Connection,
        roster: Roster,
        scope_unit_id: int | None,
        confirm_close_names: bool,
        good_rows: bool,
        progress: Progress | None,
    ) -> tuple[_Run, ImportResult]:
        """One pass over the rows: what the import would write, and its result."""
        run = _Run(conn, roster, scope_unit_id)
        run.check_close_names = not confirm_close_names
        await run.prepare()
        await run.load()
        # the file's own errors; a village one character from another in the file is not the
        # typo when it is there already (the other one is, and the pass says so)
        file_errors = [e for e in roster.errors if not (e.code == "close_name" and run.exists(e.line))]
        skipped = {e.line for e in file_errors}  # a row with an error is never written, good rows or not
        total = 2 * len(roster.rows)
        rows = roster.rows
        for start in range(0, len(rows), CHUNK):
            for row in rows[start : start + CHUNK]:
                if row.line not in skipped:
                    run.row(row)
            if start + CHUNK < len(rows):
                await _turn(progress, start + CHUNK, total)
        errors = tuple(sorted((*file_errors, *run.errors), key=lambda e: (e.line, e.code)))
        bad = {e.line for e in errors}
        good = len({r.line for r in roster.rows} - bad)
        commit = not errors or good_rows
        return run, ImportResult(commit, *run.tallies(), errors, good, len({r.line for r in roster.rows} | bad))


async def _turn(progress: Progress | None, done: int, total: int) -> None:
    """Let the event loop serve others; tell ``progress``."""
    if progress is not None:
        await progress(done, total)
    await asyncio.sleep(0)


def _without_close_names(roster: Roster) -> Roster:
    from dataclasses import replace

    return replace(roster, errors=tuple(e for e in roster.errors if e.code != "close_name"))


class _Run:
    """One pass over the rows, in memory after :meth:`load` (reads through ``conn``: the
    connection, or the import's transaction when it decides again), and its writes."""

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
        self.heads: dict[int, dict[str, list[_Household]]] = {}  # a village's households by head
        self.status: dict[tuple[str, int], str] = {}
        self.rows_by_line = {r.line: r for r in roster.rows}
        self.heads_in_file = Counter((r.district, r.township, r.village, r.head) for r in roster.rows if r.head)
        self.check_close_names = True
        self.children: dict[int, list[str]] = {}  # names of the units under a parent (as first asked)
        self.names_under: dict[tuple[int, str], list[str]] = {}  # (parent, level): names, kept current
        self.next_id: dict[str, int] = {}
        self.writes = _Writes()
        self.statements = 0

    async def fetchall(self, sql: str, params: tuple | list = ()) -> list[aiosqlite.Row]:
        self.statements += 1
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

    async def load(self) -> None:
        """Everything the pass looks at, in a few queries: the units under the districts the
        file names (with their levels and stars), the next ids, and the people and households
        of the villages the rows name that exist."""
        roots = sorted({r.district or self.default_district for r in self.roster.rows} - {""})
        rows = await self.fetchall(
            "WITH RECURSIVE tree(id) AS ("
            " SELECT id FROM units WHERE parent_id IS NULL AND name IN (SELECT value FROM json_each(?))"
            " UNION ALL SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id)"
            " SELECT u.id, u.parent_id, u.level, u.name, u.stars FROM units u JOIN tree USING (id)",
            (json.dumps(roots),),
        )
        for r in rows:
            parent = r["parent_id"]
            self.units[(parent or 0, r["name"])] = _Unit(r["id"], r["level"], r["name"], r["stars"], parent)
            if parent is not None:
                self.names_under.setdefault((parent, r["level"]), []).append(r["name"])
        top = await self.fetchall(_NEWEST_IDS)
        self.next_id = {"unit": top[0][0] + 1, "person": top[0][1] + 1, "household": top[0][2] + 1}
        villages = sorted({v.id for row in self.roster.rows if (v := self._existing_village(row)) is not None})
        ids = json.dumps(villages)
        self.people = {v: {} for v in villages}
        for r in await self.fetchall(
            "SELECT id, name, role, phone, first_secretary, active, unit_id FROM people"
            " WHERE unit_id IN (SELECT value FROM json_each(?))",
            (ids,),
        ):
            self.people[r["unit_id"]][(r["name"], r["role"])] = record(
                _Person, r, first_secretary=bool(r["first_secretary"]), active=bool(r["active"])
            )
        self.households = {v: {} for v in villages}
        self.heads = {v: {} for v in villages}
        for r in await self.fetchall(
            "SELECT id, head, address, grid, phone, member_id, village_id FROM households"
            " WHERE village_id IN (SELECT value FROM json_each(?))",
            (ids,),
        ):
            household = record(_Household, r)
            self.households[r["village_id"]][(r["head"], r["address"])] = household
            self.heads[r["village_id"]].setdefault(r["head"], []).append(household)

    def exists(self, line: int) -> bool:
        """Whether the village the row of ``line`` names is there already."""
        row = self.rows_by_line.get(line)
        return row is not None and self._existing_village(row) is not None

    def _existing_village(self, row: RosterRow) -> _Unit | None:
        """The village the row names if it exists (a dictionary look-up per level)."""
        district = row.district or self.default_district
        township = row.township or (self.default_township if row.village else "")
        if not (district and township and row.village):
            return None
        found = None
        for name in (district, township, row.village):
            found = self.units.get((found.id if found else 0, name))  # type: ignore[union-attr]
            if found is None:
                return None
        return found if found.level == "village" else None  # type: ignore[union-attr]

    def new_id(self, kind: str) -> int:
        ident = self.next_id[kind]
        self.next_id[kind] = ident + 1
        return ident

    async def write(self, progress: Progress | None, *, done: int, total: int) -> None:
        """The decided writes, ``executemany`` in chunks of :data:`CHUNK` rows."""
        statements = self.writes.statements()
        count = sum(len(rows) for _, rows in statements) or 1
        written = 0
        for sql, rows in statements:
            for start in range(0, len(rows), CHUNK):
                part = rows[start : start + CHUNK]
                self.statements += 1
                await self.conn.executemany(sql, part)
                written += len(part)
                await _turn(progress, done + (total - done) * written // count, total)

    # -- units ---------------------------------------------------------------------------------
    def unit(self, parent: _Unit | None, name: str) -> _Unit | None:
        if parent is not None and parent.id is None:
            return None  # below a unit this row creates: nothing exists yet
        parent_id = parent.id if parent is not None else None
        return self.units.get((parent_id or 0, name))

    def place(self, row: RosterRow) -> list[_Unit] | RowError:
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
            found = self.unit(parent, name)
            if found is None:
                creating_root = parent is None
                if creating_root and self.scope_unit_id is not None:
                    return RowError(row.line, "unknown_unit", value=name)
                close = self.close_to_existing(parent, level, name)
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

    def close_to_existing(self, parent: _Unit | None, level: str, name: str) -> str | None:
        """An existing township or village under ``parent`` whose name is one character apart
        from the new ``name`` (a likely typo), unless the admin confirmed the names. The names
        under a parent are those there when first asked (as the database had them then)."""
        if not self.check_close_names or parent is None or parent.id is None or level not in ("township", "village"):
            return None
        if parent.id not in self.children:
            self.children[parent.id] = list(self.names_under.get((parent.id, level), ()))
        return close_names([name], self.children[parent.id]).get(name)

    def create_units(self, chain: list[_Unit]) -> None:
        parent_id: int | None = None
        for unit in chain:
            if unit.id is None:
                unit.id = self.new_id("unit")
                unit.parent = parent_id
                self.units[(parent_id or 0, unit.name)] = unit
                if parent_id is not None:
                    self.names_under.setdefault((parent_id, unit.level), []).append(unit.name)
                self.writes.units.append(unit)
                self.scope_ids.add(unit.id)
                self.mark("unit", unit.id, "created")
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
    def row(self, row: RosterRow) -> None:
        chain = self.place(row)
        if isinstance(chain, RowError):
            self.errors.append(chain)
            return
        self.create_units(chain)
        village = chain[-1] if chain[-1].level == "village" else None
        if village is None:
            return
        if village.id is None:
            raise RuntimeError("unexpected: village.id is None")
        if row.stars is not None and row.stars != village.stars:
            village.stars = row.stars
            self.writes.stars[village.id] = village
            self.mark("unit", village.id, "updated")
        if row.secretary:
            self.person(village.id, row.secretary, "secretary", row.secretary_phone)
        if row.first_secretary:
            self.person(village.id, row.first_secretary, "secretary", "", first_secretary=True)
        member = None
        if row.member:
            member = self.person(village.id, row.member, "member", row.member_phone)
        if row.head:
            self.household(village.id, row, member)

    def person(self, unit_id: int, name: str, role: str, phone: str, *, first_secretary: bool = False) -> _Person:
        people = self.people.setdefault(unit_id, {})
        found = people.get((name, role))
        if found is None and role == "member":
            found = people.get((name, "secretary"))  # the secretary holds households too
        if found is None:
            found = _Person(self.new_id("person"), name, role, phone or None, first_secretary, True)
            people[(name, role)] = found
            self.writes.people.append((found, unit_id))
            self.mark("person", found.id, "created")
            return found
        changes: set[str] = set()
        if phone and phone != found.phone:
            changes.add("phone")
        if first_secretary and not found.first_secretary:
            changes.add("first_secretary")
        if not found.active:
            changes.add("active")
        if changes:
            found.phone = phone or found.phone
            found.first_secretary = found.first_secretary or first_secretary
            found.active = True
            if self.status.get(("person", found.id)) != "created":  # a new row is written as it ends up
                self.writes.people_changed.setdefault(found.id, (found, set()))[1].update(changes)
            self.mark("person", found.id, "updated")
        else:
            self.mark("person", found.id, "unchanged")
        return found

    def household(self, village_id: int, row: RosterRow, member: _Person | None) -> None:
        households = self.households.setdefault(village_id, {})
        heads = self.heads.setdefault(village_id, {})
        found = households.get((row.head, row.address))
        if found is None and self.heads_in_file[(row.district, row.township, row.village, row.head)] == 1:
            same_head = heads.get(row.head, ())
            if len(same_head) == 1:  # the file's only row for this head moved the address
                found = same_head[0]
        if found is None:
            created = _Household(self.new_id("household"), row.head, row.address, row.grid, row.phone or None,
                                 member.id if member else None)
            households[(row.head, row.address)] = created
            heads.setdefault(row.head, []).append(created)
            self.writes.households.append((created, village_id))
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
        if "address" in changes:
            households.pop((found.head, found.address), None)
            households[(found.head, row.address)] = found
        for column, value in changes.items():
            setattr(found, column, value)
        if self.status.get(("household", found.id)) != "created":
            self.writes.households_changed.setdefault(found.id, (found, set()))[1].update(changes)
        self.mark("household", found.id, "updated")
