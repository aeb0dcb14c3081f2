"""bot.rules.coverage on plain rows: the definitions at their edges, and (hypothesis) the
totals against a naive count over random data."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.coverage import (
    CoverageRow,
    FollowUpRow,
    HouseholdRow,
    PersonRow,
    UnitRow,
    VisitRow,
    Window,
    behind_first,
    combine,
    compute,
    ends,
)

SH = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=SH)
A, B, SEC = PersonRow(1, "甲", 10), PersonRow(2, "乙", 10), PersonRow(3, "书记", 10, "secretary")


def run(households, visits=(), people=(A, B, SEC), followups=(), group_by="member", **kw):
    return compute(
        today=TODAY, now=NOW, households=households, visits=visits, people=people,
        followups=followups, group_by=group_by, units=[UnitRow(10, "红旗村")], **kw,
    )


def test_stale_from_exactly_n_days_and_never_visited_first() -> None:
    households = [
        HouseholdRow(1, 10, 1, "三十天", TODAY - timedelta(days=30)),
        HouseholdRow(2, 10, 1, "二十九天", TODAY - timedelta(days=29)),
        HouseholdRow(3, 10, 1, "从未", None),
        HouseholdRow(4, 10, 1, "九十天", TODAY - timedelta(days=90)),
    ]
    cov = run(households)
    assert [(s.head, s.days) for s in cov.stale] == [("从未", None), ("九十天", 90), ("三十天", 30)]
    assert [s.head for s in run(households, stale_days=29).stale][-1] == "二十九天"


def test_visits_of_the_last_30_days_only_and_not_after_today() -> None:
    """The rolling window (no longer the calendar month): 29 days ago counts, 30 days ago not."""
    households = [HouseholdRow(i, 10, 1, f"{i}户", None) for i in range(1, 5)]
    visits = [
        VisitRow(1, 1, TODAY - timedelta(days=29)),  # 2026-10-24: last month, inside the window
        VisitRow(2, 1, TODAY - timedelta(days=30)),  # just outside
        VisitRow(3, 1, TODAY + timedelta(days=1)),  # not yet (a wrong clock elsewhere)
        VisitRow(4, 1, TODAY),
    ]
    cov = run(households, visits)
    assert (cov.total.visited, cov.total.households) == (2, 4)
    assert cov.idle_members == () and cov.window.days == 30
    month = run(households, visits, window=Window.month(date(2026, 10, 1), date(2026, 11, 1)))
    assert month.total.visited == 2  # 10-24 and 10-23: the calendar month of October


def test_members_are_named_only_after_a_full_window() -> None:
    new = PersonRow(4, "新", 10, since=TODAY - timedelta(days=10))
    old = PersonRow(5, "老", 10, since=TODAY - timedelta(days=29))
    households = [HouseholdRow(1, 10, 4, "甲户", None), HouseholdRow(2, 10, 5, "乙户", None)]
    cov = run(households, people=(new, old))
    assert [p.name for p in cov.idle_members] == ["新", "老"]
    assert [p.name for p in cov.named_idle] == ["老"]


def test_combine_and_ends() -> None:
    rows = [CoverageRow(i, f"村{i}", 10, i, 1, 0, 1, 0) for i in range(11)]
    town = combine(99, "镇", rows)
    assert (town.households, town.visited, town.members, town.stale) == (110, 55, 11, 11)
    shown, left = ends(rows, 4)
    assert [r.key for r in shown] == [0, 1, 9, 10] and left == 7
    assert ends(rows, 20) == (behind_first(rows), 0)


def test_a_member_is_active_only_through_their_own_households() -> None:
    # household 1 was re-linked from A to B after A visited it this month
    households = [HouseholdRow(1, 10, 2, "甲户", TODAY), HouseholdRow(2, 10, 1, "乙户", None)]
    cov = run(households, [VisitRow(1, 1, TODAY)])
    assert [p.name for p in cov.idle_members] == ["甲", "乙"]
    rows = {r.label: (r.visited, r.households) for r in cov.rows}
    assert rows == {"甲": (0, 1), "乙": (1, 1)}  # the household counts as visited for its holder


def test_secretaries_count_only_when_they_hold_households_and_unlinked_get_a_row() -> None:
    cov = run([HouseholdRow(1, 10, 1, "甲户", None), HouseholdRow(2, 10, None, "无主", None)])
    assert [r.label for r in cov.rows] == ["甲", "乙", ""]
    assert cov.rows[-1].key is None and cov.rows[-1].households == 1
    assert [p.name for p in cov.members_without_households] == ["乙"]
    cov = run([HouseholdRow(1, 10, 3, "书记户", None)])
    assert "书记" in [r.label for r in cov.rows] and [p.name for p in cov.idle_members] == ["书记"]


def test_overdue_is_strictly_before_now_and_earliest_first() -> None:
    households = [HouseholdRow(1, 10, 1, "甲户", TODAY)]
    followups = [
        FollowUpRow(7, 1, 1, 10, "甲户", NOW),
        FollowUpRow(8, 1, 1, 10, "甲户", NOW - timedelta(days=3)),
        FollowUpRow(9, 1, 1, 10, "甲户", NOW - timedelta(minutes=1)),
    ]
    cov = run(households, followups=followups)
    assert [f.id for f in cov.overdue] == [8, 9]
    assert run(households, followups=followups, group_by="village").rows[0].overdue == 2


def test_behind_first_puts_the_lowest_coverage_first_and_unlinked_last() -> None:
    rows = [
        CoverageRow(None, "", 2, 0, 0, 0, 0, 0),
        CoverageRow(1, "甲", 4, 4, 1, 0, 0, 0),
        CoverageRow(2, "乙", 4, 1, 1, 0, 0, 0),
    ]
    assert [r.label for r in behind_first(rows)] == ["乙", "甲", ""]


days = st.integers(min_value=0, max_value=80)


@settings(max_examples=60, deadline=None)
@given(
    holders=st.lists(st.sampled_from([None, 1, 2, 3]), min_size=0, max_size=25),
    visits=st.lists(st.tuples(st.integers(0, 24), st.sampled_from([1, 2, 3]), days), max_size=40),
    stale_days=st.integers(1, 60),
)
def test_totals_match_a_naive_count(holders, visits, stale_days) -> None:
    visit_rows = [VisitRow(h, m, TODAY - timedelta(days=d)) for h, m, d in visits if h < len(holders)]
    last = {}
    for v in visit_rows:
        last[v.household_id] = max(last.get(v.household_id, v.visited_on), v.visited_on)
    households = [HouseholdRow(i, 10, m, f"户{i}", last.get(i)) for i, m in enumerate(holders)]
    cov = run(households, visit_rows, stale_days=stale_days, group_by="village")
    first = TODAY - timedelta(days=29)
    month = {v.household_id for v in visit_rows if v.visited_on >= first}
    assert cov.total.visited == len(month) == cov.rows[0].visited
    assert cov.total.households == len(holders)
    never = sum(1 for i in range(len(holders)) if i not in last)
    assert len(cov.stale) == never + sum(1 for d in last.values() if (TODAY - d).days >= stale_days)
    assert 0 <= cov.total.percent <= 100
    held = {m for m in holders if m}
    active = {v.member_id for v in visit_rows if v.visited_on >= first and holders[v.household_id] == v.member_id}
    assert {p.id for p in cov.idle_members} == held - active
