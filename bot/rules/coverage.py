"""Visit coverage (党员联户全覆盖): pure computation over plain rows, no Telegram, no SQL.

Storage hands over what the database holds for some villages (households with their last
visit, the visits of the window, the party members, the open follow-ups); :func:`compute` says
how far coverage has come, grouped per village (for admins) or per member (for a village
secretary).

This module is THE definition of visit coverage: /coverage, the line after a saved visit and
the monthly bulletin all use :class:`Window` and :func:`fraction` from here.

Definitions (the tests check these figures against counts they make themselves):

* The *window* is a range of days by the date of the visit (``visited_on``), both ends
  included. By default it is rolling: the last :data:`DEFAULT_WINDOW_DAYS` days up to and
  including ``today`` (so coverage never drops to 0% on the 1st of a month); a calendar month
  (the bulletin, "last month" on /coverage) is a window too.
* Only households that are not archived count; a household is *visited* when any visit to it
  is dated inside the window. Coverage = visited / households (None without households).
* A member's households are those linked to them now. A member *visited none* when they have
  at least one household and no visit of theirs in the window to any of them. Such a member is
  *named* (:attr:`Coverage.named_idle`) only once they have gone a full window without a visit:
  they were on the roster since the window began (``PersonRow.since``). Members without
  households are listed separately (the secretary should link some).
* A household is *stale* when it has not been visited for ``stale_days`` days or more
  (``today - last visit >= stale_days``), or never; stale households come never-visited
  first, then the longest unvisited.
* A follow-up is *overdue* when it is still open and its due moment is before ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

DEFAULT_STALE_DAYS = 30
DEFAULT_WINDOW_DAYS = 30
GroupBy = Literal["village", "member"]


@dataclass(frozen=True)
class Window:
    """The days whose visits count, by the date of the visit: ``first`` to ``last`` included."""

    first: date
    last: date
    rolling: bool = True  # False: a calendar month

    @classmethod
    def last_days(cls, today: date, days: int = DEFAULT_WINDOW_DAYS) -> Window:
        """The rolling window: the ``days`` days up to and including ``today``."""
        if days < 1:
            raise ValueError("a window has at least one day")
        return cls(today - timedelta(days=days - 1), today, True)

    @classmethod
    def month(cls, start: date, end: date) -> Window:
        """A calendar month [start, end) (``end`` exclusive, as bot.rules.bulletin gives it)."""
        return cls(start, end - timedelta(days=1), False)

    @classmethod
    def previous_month(cls, today: date) -> Window:
        """The calendar month before the one ``today`` is in."""
        last = today.replace(day=1) - timedelta(days=1)
        return cls(last.replace(day=1), last, False)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def end(self) -> date:
        """The day after the window (exclusive bound, for SQL ``< end``)."""
        return self.last + timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last


def fraction(visited: int, households: int) -> float | None:
    """Coverage as 0..1; None when there are no households."""
    return visited / households if households else None


def visited_in(window: Window, visits: Iterable[VisitRow]) -> set[int]:
    """The households with a visit in the window."""
    return {v.household_id for v in visits if v.visited_on in window}


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
    since: date | None = None  # on the roster since (None: long enough)


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
    window: Window
    stale_days: int
    group_by: GroupBy
    rows: tuple[CoverageRow, ...]
    total: CoverageRow
    idle_members: tuple[PersonRow, ...]
    members_without_households: tuple[PersonRow, ...]
    stale: tuple[StaleHousehold, ...]
    overdue: tuple[FollowUpRow, ...]

    @property
    def month_start(self) -> date:  # kept for callers of the calendar-month version
        return self.window.first

    @property
    def named_idle(self) -> tuple[PersonRow, ...]:
        """Idle members who have gone a full window without a visit (the ones to name)."""
        return tuple(p for p in self.idle_members if p.since is None or p.since <= self.window.first)

    @property
    def unnamed_idle(self) -> frozenset[int]:
        """Idle members on the roster for less than a window: counted, never named (not even
        in their own per-member row)."""
        named = {p.id for p in self.named_idle}
        return frozenset(p.id for p in self.idle_members if p.id not in named)

    def named_rows(self) -> tuple[CoverageRow, ...]:
        """The rows that may carry a member's name: every row but those of :attr:`unnamed_idle`
        (each member is then either named or counted in the "not yet named" line, never both)."""
        hidden = self.unnamed_idle
        return tuple(r for r in self.rows if r.key is None or r.key not in hidden)


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
    window: Window | None = None,
) -> Coverage:
    """Coverage in ``window`` (default: the rolling last 30 days up to ``today``).

    Linear in the rows: households, visits and people are grouped once (a district's 2,000
    villages cost the same per village as one).
    """
    if stale_days < 1:
        raise ValueError("stale_days must be at least 1")
    window = window or Window.last_days(today)
    in_window = [v for v in visits if v.visited_on in window and v.visited_on <= today]
    visited_households = {v.household_id for v in in_window}
    holdings: dict[int, set[int]] = {}
    by_village: dict[int, list[HouseholdRow]] = {}
    for h in households:
        by_village.setdefault(h.village_id, []).append(h)
        if h.member_id is not None:
            holdings.setdefault(h.member_id, set()).add(h.id)
    active_members = {
        v.member_id for v in in_window if v.household_id in holdings.get(v.member_id, set())
    }
    # Secretaries count as members only when they hold households themselves.
    members = [p for p in people if p.role != "secretary" or p.id in holdings]
    idle = tuple(p for p in members if p.id in holdings and p.id not in active_members)
    idle_ids = {p.id for p in idle}
    without = tuple(p for p in members if p.id not in holdings)

    stale = stale_order(
        StaleHousehold(h.id, h.head, h.village_id, h.member_id, days_since(h.last_visit, today))
        for h in households
        if h.last_visit is None or (today - h.last_visit).days >= stale_days
    )
    stale_ids = {s.id for s in stale}
    overdue = tuple(sorted((f for f in followups if f.due_at < now), key=lambda f: (f.due_at, f.id)))
    overdue_per_household: dict[int, int] = {}
    for f in overdue:
        overdue_per_household[f.household_id] = overdue_per_household.get(f.household_id, 0) + 1

    def row(key: int | None, label: str, hh: Sequence[HouseholdRow], ms: Sequence[PersonRow]) -> CoverageRow:
        ids = {h.id for h in hh}
        return CoverageRow(
            key=key,
            label=label,
            households=len(hh),
            visited=len(ids & visited_households),
            members=len(ms),
            idle_members=sum(1 for m in ms if m.id in idle_ids),
            stale=len(ids & stale_ids),
            overdue=sum(overdue_per_household.get(i, 0) for i in ids),
        )

    rows: list[CoverageRow] = []
    if group_by == "village":
        members_by_village: dict[int, list[PersonRow]] = {}
        for m in members:
            members_by_village.setdefault(m.village_id, []).append(m)
        for unit in units:
            rows.append(row(unit.id, unit.name, by_village.get(unit.id, []), members_by_village.get(unit.id, [])))
    else:
        by_member: dict[int | None, list[HouseholdRow]] = {}
        for h in households:
            by_member.setdefault(h.member_id, []).append(h)
        member_ids = {m.id for m in members}
        for person in members:
            rows.append(row(person.id, person.name, by_member.get(person.id, []), [person]))
        unlinked = [h for h in households if h.member_id is None or h.member_id not in member_ids]
        if unlinked:
            rows.append(row(None, "", unlinked, []))
    total = row(None, "", list(households), members)
    return Coverage(
        today=today,
        window=window,
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


def combine(key: int | None, label: str, rows: Iterable[CoverageRow]) -> CoverageRow:
    """Several rows as one (a township from its villages): every count summed."""
    rs = list(rows)
    return CoverageRow(
        key=key,
        label=label,
        households=sum(r.households for r in rs),
        visited=sum(r.visited for r in rs),
        members=sum(r.members for r in rs),
        idle_members=sum(r.idle_members for r in rs),
        stale=sum(r.stale for r in rs),
        overdue=sum(r.overdue for r in rs),
    )


def ends(rows: Sequence[CoverageRow], shown: int) -> tuple[list[CoverageRow], int]:
    """At most ``shown`` rows for a phone: all of them when few; else the lowest half and the
    highest half (lowest coverage first, as :func:`behind_first`), and how many were left out."""
    ordered = behind_first(rows)
    if len(ordered) <= shown:
        return ordered, 0
    low = (shown + 1) // 2
    high = shown - low
    return [*ordered[:low], *ordered[len(ordered) - high :]], len(ordered) - shown
