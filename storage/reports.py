"""Sanitation clean-up reports: saving (once per client token), reading, correcting with an
audit trail, deleting (soft), and the queries of the ledgers (by unit, category and month)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
from datetime import date, datetime
from typing import Any

from storage.db import Database, Row, record
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class ReportPhoto:
    file_id: str
    file_unique_id: str
    phase: str  # "before" (整治前) or "after" (整治后)


@dataclass(frozen=True)
class ReportFields:
    """Everything a reporter answers; what a correction may change."""

    unit_id: int
    work_date: date
    categories: tuple[str, ...]
    other_name: str | None = None
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    cadres: int = 0
    members: int = 0
    villagers: int = 0
    garbage_trucks: float | None = None
    garbage_tons: float | None = None
    area_m2: float | None = None
    walls: int | None = None
    ponds: int | None = None
    notes: str | None = None
    photos: tuple[ReportPhoto, ...] = ()
    # (field, value) of the amounts beyond the five columns (trees, lights, length_m, area_mu,
    # volume_m3) and ("text", words) for an amount kept as typed.
    amounts_more: tuple[tuple[str, Any], ...] = ()
    # (group, "more" | "about") of the participant counts that were approximate.
    people_approx: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["work_date"] = self.work_date.isoformat()
        data["categories"] = list(self.categories)
        return data


@dataclass(frozen=True)
class Report:
    id: int
    token: str
    reporter_id: int
    reporter_name: str
    unit_name: str
    status: str
    created_at: datetime
    updated_at: datetime
    fields: ReportFields

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class ReportChange:
    id: int
    report_id: int
    token: str | None
    action: str  # "correct" or "delete"
    changed_by: int
    changed_at: datetime
    old_values: dict[str, Any]
    new_values: dict[str, Any] | None


@dataclass(frozen=True)
class ReportQuery:
    """Reports in a unit's subtree, optionally of one category and one month (YYYYMM)."""

    unit_id: int
    category: str | None = None
    month_start: date | None = None
    month_end: date | None = None  # exclusive


@dataclass(frozen=True)
class ReportTotals:
    reports: int = 0
    villages: int = 0
    cadres: int = 0
    members: int = 0
    villagers: int = 0
    garbage_trucks: float = 0.0
    garbage_tons: float = 0.0
    area_m2: float = 0.0
    walls: int = 0
    ponds: int = 0
    approx: int = 0  # reports whose head counts were approximate (people_approx): the sum is too
    villagers_approx: int = 0  # reports whose villagers count was approximate

    @property
    def people(self) -> int:
        return self.cadres + self.members + self.villagers


_COLS = (
    "r.id, r.token, r.reporter_id, p.name AS reporter_name, u.name AS unit_name, r.status, r.created_at, r.updated_at,"
    " r.unit_id, r.work_date, r.categories, r.other_name, r.place, r.latitude, r.longitude,"
    " r.cadres, r.members, r.villagers, r.garbage_trucks, r.garbage_tons, r.area_m2, r.walls,"
    " r.ponds, r.notes, r.amounts_more, r.people_approx"
)
# a report's photos as one JSON column: [[position, file_id, file_unique_id, phase], ...]
_PHOTOS = (
    "(SELECT json_group_array(json_array(ph.position, ph.file_id, ph.file_unique_id, ph.phase))"
    " FROM report_photos ph WHERE ph.report_id = r.id)"
)
_FROM = "reports r JOIN units u ON u.id = r.unit_id JOIN people p ON p.id = r.reporter_id"
_SELECT = f"SELECT {_COLS}, {_PHOTOS} AS photos_json FROM {_FROM}"
_VALUE_COLS = (
    "unit_id", "work_date", "categories", "other_name", "place", "latitude", "longitude",
    "cadres", "members", "villagers", "garbage_trucks", "garbage_tons", "area_m2", "walls",
    "ponds", "notes", "amounts_more", "people_approx",
)
_SUBTREE = """
    WITH RECURSIVE tree(id) AS (
        SELECT id FROM units WHERE id = :unit
        UNION ALL SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id
    )
"""


def _values(fields: ReportFields) -> tuple[Any, ...]:
    return (
        fields.unit_id, fields.work_date.isoformat(), json.dumps(list(fields.categories)),
        fields.other_name, fields.place, fields.latitude, fields.longitude, fields.cadres,
        fields.members, fields.villagers, fields.garbage_trucks, fields.garbage_tons,
        fields.area_m2, fields.walls, fields.ponds, fields.notes,
        _pairs_json(fields.amounts_more), _pairs_json(fields.people_approx),
    )


def fields_from_json(data: dict[str, Any]) -> ReportFields:
    """The fields as :meth:`ReportFields.as_json` stored them in ``report_changes`` (keys this
    version does not know are left out; missing ones take their defaults)."""
    known = {f.name for f in dataclass_fields(ReportFields)}
    values = {k: v for k, v in data.items() if k in known}
    values["work_date"] = date.fromisoformat(str(values["work_date"]))
    values["categories"] = tuple(values.get("categories") or ())
    values["photos"] = tuple(ReportPhoto(**p) for p in values.get("photos") or ())
    for name in ("amounts_more", "people_approx"):
        values[name] = tuple(tuple(pair) for pair in values.get(name) or ())
    return ReportFields(**values)


def _pairs_json(pairs: tuple[tuple[str, Any], ...]) -> str | None:
    return json.dumps(dict(pairs), ensure_ascii=False) if pairs else None


def _pairs(text: str | None) -> tuple[tuple[str, Any], ...]:
    return tuple(json.loads(text).items()) if text else ()


def _photos_of(text: str | None) -> tuple[ReportPhoto, ...]:
    return tuple(ReportPhoto(p[1], p[2], p[3]) for p in sorted(json.loads(text or "[]")))


def _report(row: Row, photos: tuple[ReportPhoto, ...]) -> Report:
    fields = record(
        ReportFields,
        row,
        work_date=date.fromisoformat(row["work_date"]),
        categories=tuple(json.loads(row["categories"])),
        photos=photos,
        amounts_more=_pairs(row["amounts_more"]),
        people_approx=_pairs(row["people_approx"]),
    )
    return record(
        Report, row, created_at=from_db(row["created_at"]), updated_at=from_db(row["updated_at"]), fields=fields
    )


_INSERT_REPORT = (
    f"INSERT INTO reports (token, reporter_id, created_at, updated_at, {', '.join(_VALUE_COLS)})"
    f" VALUES (?, ?, ?, ?, {', '.join('?' * len(_VALUE_COLS))}) ON CONFLICT (token) DO NOTHING"
)
_INSERT_CATEGORY = "INSERT INTO report_categories (report_id, category, work_date) VALUES (?, ?, ?)"
_INSERT_PHOTO = (
    "INSERT INTO report_photos (report_id, position, phase, file_id, file_unique_id) VALUES (?, ?, ?, ?, ?)"
)


def _categories(report_id: int, fields: ReportFields) -> list[tuple]:
    return [(report_id, c, fields.work_date.isoformat()) for c in dict.fromkeys(fields.categories)]


def _photo_rows(report_id: int, fields: ReportFields) -> list[tuple]:
    return [(report_id, i, p.phase, p.file_id, p.file_unique_id) for i, p in enumerate(fields.photos)]


def _create(conn: Any, values: tuple, fields: ReportFields, token: str) -> tuple[bool, list]:
    """In the database thread (``Database.transact``): the report and its parts, if its token
    is new (a new report has no parts yet: nothing to delete first); the report's row."""
    cur = conn.execute(_INSERT_REPORT, values)
    created = cur.rowcount == 1
    if created:
        conn.executemany(_INSERT_CATEGORY, _categories(cur.lastrowid, fields))
        conn.executemany(_INSERT_PHOTO, _photo_rows(cur.lastrowid, fields))
    return created, conn.execute(f"{_SELECT} WHERE r.token = ?", (token,)).fetchall()


class ReportsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writing --------------------------------------------------------------------------
    async def create(
        self, fields: ReportFields, *, reporter_id: int, token: str, at: datetime
    ) -> tuple[Report, bool]:
        """Save a new report once per ``token``: (the report, whether this call created it).

        One transaction, read back in it: one thread hop (``Database.transact``)."""
        created, rows = await self.db.transact(
            _create, (token, reporter_id, to_db(at), to_db(at), *_values(fields)), fields, token
        )
        if not rows:
            raise RuntimeError("unexpected: report is None")
        return _report(rows[0], _photos_of(rows[0]["photos_json"])), created

    async def _write_parts(self, conn: Any, report_id: int, fields: ReportFields) -> None:
        await conn.execute("DELETE FROM report_categories WHERE report_id = ?", (report_id,))
        await conn.executemany(_INSERT_CATEGORY, _categories(report_id, fields))
        await conn.execute("DELETE FROM report_photos WHERE report_id = ?", (report_id,))
        await conn.executemany(_INSERT_PHOTO, _photo_rows(report_id, fields))

    async def correct(
        self, report_id: int, fields: ReportFields, *, by: int, at: datetime, token: str
    ) -> tuple[Report, bool]:
        """Replace a report's answers, keeping the old ones in the audit trail; once per token."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT 1 FROM report_changes WHERE token = ?", (token,)
            ) as cur:
                done = await cur.fetchone() is not None
            if not done:
                before = await self.get(report_id)
                if before is None or not before.active:
                    raise LookupError(f"report {report_id} cannot be corrected")
                await conn.execute(
                    f"UPDATE reports SET {', '.join(c + ' = ?' for c in _VALUE_COLS)},"
                    " updated_at = ? WHERE id = ?",
                    (*_values(fields), to_db(at), report_id),
                )
                await self._write_parts(conn, report_id, fields)
                await self._audit(conn, report_id, token, "correct", by, at, before.fields, fields)
        report = await self.get(report_id)
        if report is None:
            raise RuntimeError("unexpected: report is None")
        return report, not done

    async def delete(self, report_id: int, *, by: int, at: datetime) -> bool:
        """Mark a report deleted (kept, with a 'delete' row in the audit trail, for the
        ledger's change trail); False if it was not active, or if a reviewer has looked at it
        (verified, returned or resubmitted: what was reviewed stays)."""
        before = await self.get(report_id)
        if before is None or not before.active:
            return False
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT 1 FROM review_events WHERE item_kind = 'report' AND item_id = ? LIMIT 1", (report_id,)
            ) as cur:
                if await cur.fetchone() is not None:
                    return False
            cur = await conn.execute(
                "UPDATE reports SET status = 'deleted', updated_at = ? WHERE id = ? AND status = 'active'",
                (to_db(at), report_id),
            )
            if cur.rowcount != 1:
                return False
            await self._audit(conn, report_id, None, "delete", by, at, before.fields, None)
        return True

    async def void(self, report_id: int, *, by: int, at: datetime, reason: str) -> bool:
        """An admin voids (作废) a report in any review state: marked deleted, its answers and
        the reason kept in the audit trail (the ledger shows it as voided); False if it was
        not active."""
        before = await self.get(report_id)
        if before is None or not before.active:
            return False
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE reports SET status = 'deleted', updated_at = ? WHERE id = ? AND status = 'active'",
                (to_db(at), report_id),
            )
            if cur.rowcount != 1:
                return False
            await self._audit(conn, report_id, None, "delete", by, at, before.fields, None)
            await conn.execute(
                "UPDATE report_changes SET reason = ? WHERE id = (SELECT MAX(id) FROM report_changes"
                " WHERE report_id = ?)",
                (reason, report_id),
            )
        return True

    async def void_reason(self, report_id: int) -> str | None:
        """Why an admin voided the report (None: not voided)."""
        row = await self.db.fetchone(
            "SELECT reason FROM report_changes WHERE report_id = ? AND action = 'delete'"
            " AND reason IS NOT NULL ORDER BY id DESC LIMIT 1",
            (report_id,),
        )
        return row[0] if row else None

    @staticmethod
    async def _audit(
        conn: Any,
        report_id: int,
        token: str | None,
        action: str,
        by: int,
        at: datetime,
        old: ReportFields,
        new: ReportFields | None,
    ) -> None:
        await conn.execute(
            "INSERT INTO report_changes (report_id, token, action, changed_by, changed_at,"
            " old_values, new_values) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                report_id, token, action, by, to_db(at),
                json.dumps(old.as_json(), ensure_ascii=False),
                None if new is None else json.dumps(new.as_json(), ensure_ascii=False),
            ),
        )

    # -- reading --------------------------------------------------------------------------
    async def _many(self, sql: str, params: Any) -> list[Report]:
        """Reports by ``sql`` (``{_SELECT} ...``), each with its photos: one query (its photos
        as one JSON column, :data:`_PHOTOS`), one thread hop."""
        rows = await self.db.fetchall(sql, params)
        return [_report(row, _photos_of(row["photos_json"])) for row in rows]

    async def get(self, report_id: int) -> Report | None:
        found = await self._many(f"{_SELECT} WHERE r.id = ?", (report_id,))
        return found[0] if found else None

    async def by_token(self, token: str) -> Report | None:
        found = await self._many(f"{_SELECT} WHERE r.token = ?", (token,))
        return found[0] if found else None

    async def change_by_token(self, token: str) -> ReportChange | None:
        row = await self.db.fetchone(
            "SELECT id, report_id, token, action, changed_by, changed_at, old_values, new_values"
            " FROM report_changes WHERE token = ?",
            (token,),
        )
        return _change(row) if row else None

    async def changes(self, report_id: int) -> list[ReportChange]:
        rows = await self.db.fetchall(
            "SELECT id, report_id, token, action, changed_by, changed_at, old_values, new_values"
            " FROM report_changes WHERE report_id = ? ORDER BY id",
            (report_id,),
        )
        return [_change(r) for r in rows]

    async def last_by_reporter(self, reporter_id: int, *, exclude: int | None = None) -> Report | None:
        """The reporter's latest active report (for the 同上次 buttons)."""
        found = await self._many(
            f"{_SELECT} WHERE r.reporter_id = ? AND r.status = 'active'"
            " AND r.id != ? ORDER BY r.created_at DESC, r.id DESC LIMIT 1",
            (reporter_id, exclude or 0),
        )
        return found[0] if found else None

    async def by_reporter(
        self, reporter_id: int, *, limit: int, offset: int = 0
    ) -> tuple[list[Report], int]:
        """The reporter's active reports, newest saved first, and how many there are."""
        reports = await self._many(
            f"{_SELECT} WHERE r.reporter_id = ? AND r.status = 'active'"
            " ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?",
            (reporter_id, limit, offset),
        )
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM reports WHERE reporter_id = ? AND status = 'active'",
            (reporter_id,),
        )
        return reports, int(row[0]) if row else 0

    @staticmethod
    def _where(query: ReportQuery) -> tuple[str, dict[str, Any]]:
        clauses = ["r.status = 'active'", "r.unit_id IN (SELECT id FROM tree)"]
        params: dict[str, Any] = {"unit": query.unit_id}
        if query.month_start is not None and query.month_end is not None:
            clauses.append("r.work_date >= :start AND r.work_date < :end")
            params |= {"start": query.month_start.isoformat(), "end": query.month_end.isoformat()}
        if query.category is not None:
            clauses.append(
                "r.id IN (SELECT report_id FROM report_categories WHERE category = :category"
                + (" AND work_date >= :start AND work_date < :end" if "start" in params else "")
                + ")"
            )
            params["category"] = query.category
        return " AND ".join(clauses), params

    async def search(self, query: ReportQuery, *, limit: int, offset: int = 0) -> list[Report]:
        """Reports matching ``query``, latest work first."""
        where, params = self._where(query)
        return await self._many(
            f"{_SUBTREE} {_SELECT} WHERE {where}"
            " ORDER BY r.work_date DESC, r.id DESC LIMIT :limit OFFSET :offset",
            params | {"limit": limit, "offset": offset},
        )

    async def totals(self, query: ReportQuery) -> ReportTotals:
        where, params = self._where(query)
        row = await self.db.fetchone(
            f"{_SUBTREE} SELECT COUNT(*) AS reports, COUNT(DISTINCT r.unit_id) AS villages,"
            " COALESCE(SUM(r.cadres), 0) AS cadres, COALESCE(SUM(r.members), 0) AS members,"
            " COALESCE(SUM(r.villagers), 0) AS villagers, COALESCE(SUM(r.garbage_trucks), 0) AS garbage_trucks,"
            " COALESCE(SUM(r.garbage_tons), 0) AS garbage_tons, COALESCE(SUM(r.area_m2), 0) AS area_m2,"
            " COALESCE(SUM(r.walls), 0) AS walls, COALESCE(SUM(r.ponds), 0) AS ponds,"
            " COALESCE(SUM(r.people_approx IS NOT NULL), 0) AS approx,"
            " COALESCE(SUM(json_extract(r.people_approx, '$.villagers') IS NOT NULL), 0) AS villagers_approx"
            f" FROM reports r WHERE {where}",
            params,
        )
        if row is None:
            raise RuntimeError("unexpected: row is None")
        return record(ReportTotals, row)


def _change(row: Row) -> ReportChange:
    return record(
        ReportChange, row, changed_at=from_db(row["changed_at"]), old_values=json.loads(row["old_values"]),
        new_values=None if row["new_values"] is None else json.loads(row["new_values"]),
    )


__all__ = [
    "Report",
    "ReportChange",
    "ReportFields",
    "ReportPhoto",
    "ReportQuery",
    "ReportTotals",
    "ReportsRepo",
]
