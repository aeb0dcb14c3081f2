"""Visit coverage (党员联户全覆盖): pure computation over plain rows, no Telegram, no SQL.

Storage hands over what the database holds for some villages (households with their last
visit, this month's visits, the party members, the open follow-ups); :func:`compute` says
how far coverage has come, grouped per village (for admins) or per member (for a village
secretary).

Definitions (the tests check these figures against counts they make themselves):

* Only households that are not archived count; a household is *visited this month* when any
  visit to it is dated in the calendar month of ``today`` (and not after ``today``).
* A member's households are those linked to them now. A member *visited none* this month when
  they have at least one household and no visit of theirs this month to any of them. Members
  without households are listed separately (the secretary should link some).
* A household is *stale* when it has not been visited for ``stale_days`` days or more
  (``today - last visit >= stale_days``), or never; stale households come never-visited
  first, then the longest unvisited.
* A follow-up is *overdue* when it is still open and its due moment is before ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

DEFAULT_STALE_DAYS = 30
GroupBy = Literal["village", "member"]


@dataclass(frozen=True)
class HouseholdRow:
    id: int
    village_id: int
    member_id: int | None
    head: str
    last_visit: date | None


@dataclass(frozen=True)
class VisitRow:
    household_id: int
    member_id: int
    visited_on: date


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    village_id: int
    role: str = "member"


@dataclass(frozen=True)
class UnitRow:
    id: int
    name: str


@dataclass(frozen=True)
class FollowUpRow:
    id: int
    household_id: int
    member_id: int
    village_id: int
    head: str
    due_at: datetime


@dataclass(frozen=True)
class CoverageRow:
    """One village (admins) or one member (secretaries); ``key`` None = households nobody holds."""

    key: int | None
    label: str
    households: int
    visited: int
    members: int
    idle_members: int
    stale: int
    overdue: int

    @property
    def percent(self) -> float:
        return 100.0 * self.visited / self.households if self.households else 0.0


@dataclass(frozen=True)
class StaleHousehold:
    id: int
    head: str
    village_id: int
    member_id: int | None
    days: int | None  # None: never visited


@dataclass(frozen=True)
class Coverage:
    today: date
    month_start: date
    stale_days: int
    group_by: GroupBy
    rows: tuple[CoverageRow, ...]
    total: CoverageRow
    idle_members: tuple[PersonRow, ...]
    members_without_households: tuple[PersonRow, ...]
    stale: tuple[StaleHousehold, ...]
    overdue: tuple[FollowUpRow, ...]


def days_since(last_visit: date | None, today: date) -> int | None:
    return None if last_visit is None else (today - last_visit).days


def stale_order(items: Iterable[StaleHousehold]) -> list[StaleHousehold]:
    """Never visited first, then the longest unvisited; ties by name."""
    return sorted(items, key=lambda s: (s.days is not None, -(s.days or 0), s.head, s.id))


def compute(
    *,
    today: date,
    now: datetime,
    households: Sequence[HouseholdRow],
    visits: Sequence[VisitRow],
    people: Sequence[PersonRow],
    followups: Sequence[FollowUpRow],
    group_by: GroupBy,
    units: Sequence[UnitRow] = (),
    stale_days: int = DEFAULT_STALE_DAYS,
) -> Coverage:
    if stale_days < 1:
        raise ValueError("stale_days must be at least 1")
    month_start = today.replace(day=1)
    this_month = [v for v in visits if month_start <= v.visited_on <= today]
    visited_households = {v.household_id for v in this_month}
    holdings: dict[int, set[int]] = {}
    for h in households:
        if h.member_id is not None:
            holdings.setdefault(h.member_id, set()).add(h.id)
    active_members = {
        v.member_id for v in this_month if v.household_id in holdings.get(v.member_id, set())
    }
    # Secretaries count as members only when they hold households themselves.
    members = [p for p in people if p.role != "secretary" or p.id in holdings]
    idle = tuple(p for p in members if p.id in holdings and p.id not in active_members)
    without = tuple(p for p in members if p.id not in holdings)

    stale = stale_order(
        StaleHousehold(h.id, h.head, h.village_id, h.member_id, days_since(h.last_visit, today))
        for h in households
        if h.last_visit is None or (today - h.last_visit).days >= stale_days
    )
    stale_ids = {s.id for s in stale}
    overdue = tuple(sorted((f for f in followups if f.due_at < now), key=lambda f: (f.due_at, f.id)))

    def row(key: int | None, label: str, hh: list[HouseholdRow], ms: list[PersonRow]) -> CoverageRow:
        ids = {h.id for h in hh}
        member_ids = {m.id for m in ms}
        return CoverageRow(
            key=key,
            label=label,
            households=len(hh),
            visited=len(ids & visited_households),
            members=len(ms),
            idle_members=sum(1 for p in idle if p.id in member_ids),
            stale=len(ids & stale_ids),
            overdue=sum(1 for f in overdue if f.household_id in ids),
        )

    rows: list[CoverageRow] = []
    if group_by == "village":
        for unit in units:
            rows.append(
                row(
                    unit.id,
                    unit.name,
                    [h for h in households if h.village_id == unit.id],
                    [m for m in members if m.village_id == unit.id],
                )
            )
    else:
        for person in members:
            rows.append(row(person.id, person.name, [h for h in households if h.member_id == person.id], [person]))
        unlinked = [h for h in households if h.member_id is None or h.member_id not in {m.id for m in members}]
        if unlinked:
            rows.append(row(None, "", unlinked, []))
    total = row(None, "", list(households), members)
    return Coverage(
        today=today,
        month_start=month_start,
        stale_days=stale_days,
        group_by=group_by,
        rows=tuple(rows),
        total=total,
        idle_members=idle,
        members_without_households=without,
        stale=tuple(stale),
        overdue=overdue,
    )


def behind_first(rows: Sequence[CoverageRow]) -> list[CoverageRow]:
    """Rows with the lowest coverage first (who is behind), the unlinked row last."""
    return sorted(rows, key=lambda r: (r.key is None, r.percent, -r.households, r.label))
