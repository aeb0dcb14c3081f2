"""bot.rules.recurrence: recurring days (monthly on day N, Nth weekday, every two months,
weekly), typed recurrences, lead times and the slots a missed notice may still be sent in."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.rules.recurrence import (
    DEFAULT_EVENT_LEADS,
    LAST,
    MONTHLY_DAY,
    MONTHLY_WEEKDAY,
    WEEKLY,
    Lead,
    Rule,
    due_slot,
    event_slots,
    lead_slots,
    next_slot_at,
    occurrences,
    parse_rule,
    upcoming,
)

TZ = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def days(rule: Rule, start: datetime, end: datetime) -> list[date]:
    return [o.date() for o in occurrences(rule, start, end, TZ)]


def test_day_31_is_the_last_day_of_short_months_and_of_february() -> None:
    rule = Rule(MONTHLY_DAY, day=31, hour=14, minute=30)
    got = occurrences(rule, at(2027, 1, 1), at(2028, 4, 1), TZ)
    assert [o.date() for o in got][:6] == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31), date(2027, 6, 30),
    ]
    assert date(2028, 2, 29) in [o.date() for o in got]  # leap year
    assert all(o.time() == time(14, 30) and o.tzinfo is not None for o in got)


def test_day_30_in_february_is_its_last_day() -> None:
    rule = Rule(MONTHLY_DAY, day=30)
    assert days(rule, at(2027, 2, 1), at(2027, 4, 1)) == [date(2027, 2, 28), date(2027, 3, 30)]


def test_first_friday_of_each_month_across_the_year_boundary() -> None:
    rule = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30)
    assert days(rule, at(2026, 11, 1), at(2027, 3, 1)) == [
        date(2026, 11, 6), date(2026, 12, 4), date(2027, 1, 1), date(2027, 2, 5),
    ]


def test_last_friday_and_fourth_monday() -> None:
    assert days(Rule(MONTHLY_WEEKDAY, nth=LAST, weekday=4), at(2027, 1, 1), at(2027, 4, 1)) == [
        date(2027, 1, 29), date(2027, 2, 26), date(2027, 3, 26),
    ]
    assert days(Rule(MONTHLY_WEEKDAY, nth=4, weekday=0), at(2027, 2, 1), at(2027, 3, 1)) == [date(2027, 2, 22)]


def test_every_two_months_counts_from_the_anchor_month() -> None:
    rule = Rule(MONTHLY_DAY, day=10, every=2, anchor=date(2026, 12, 1))
    assert days(rule, at(2026, 11, 1), at(2027, 8, 1)) == [
        date(2026, 12, 10), date(2027, 2, 10), date(2027, 4, 10), date(2027, 6, 10),
    ]


def test_nothing_before_the_anchor_day() -> None:
    rule = Rule(MONTHLY_DAY, day=5, anchor=date(2026, 11, 22))
    assert days(rule, at(2026, 11, 1), at(2027, 1, 6)) == [date(2026, 12, 5), date(2027, 1, 5)]


def test_weekly_and_every_other_week() -> None:
    assert days(Rule(WEEKLY, weekday=2), at(2026, 12, 28), at(2027, 1, 14)) == [
        date(2026, 12, 30), date(2027, 1, 6), date(2027, 1, 13),
    ]
    biweekly = Rule(WEEKLY, weekday=1, every=2, anchor=date(2026, 11, 23))
    assert days(biweekly, at(2026, 11, 23), at(2026, 12, 31)) == [
        date(2026, 11, 24), date(2026, 12, 8), date(2026, 12, 22),
    ]


def test_occurrences_are_half_open_and_upcoming_is_strictly_after() -> None:
    rule = Rule(MONTHLY_DAY, day=15, hour=9)
    assert days(rule, at(2026, 12, 15, 9), at(2027, 1, 15, 9)) == [date(2026, 12, 15)]
    assert upcoming(rule, at(2026, 12, 15, 9), TZ, 2) == [at(2027, 1, 15, 9), at(2027, 2, 15, 9)]


def test_rules_survive_a_round_trip_and_refuse_nonsense() -> None:
    rule = Rule(MONTHLY_WEEKDAY, nth=LAST, weekday=6, every=2, anchor=date(2027, 1, 1), hour=8, minute=5)
    assert Rule.from_dict(rule.to_dict()) == rule
    for bad in (dict(kind="yearly"), dict(kind=MONTHLY_DAY, day=32), dict(kind=MONTHLY_WEEKDAY, nth=5),
                dict(kind=WEEKLY, weekday=7), dict(kind=MONTHLY_DAY, every=2)):
        with pytest.raises(ValueError):
            Rule(**bad)


@pytest.mark.parametrize(
    ("text", "expected", "rest"),
    [
        ("每月15号", Rule(MONTHLY_DAY, day=15), ""),
        ("每月十五日", Rule(MONTHLY_DAY, day=15), ""),
        ("每月31日", Rule(MONTHLY_DAY, day=31), ""),
        ("每月最后一天", Rule(MONTHLY_DAY, day=31), ""),
        ("每月底", Rule(MONTHLY_DAY, day=31), ""),
        ("每月第一个周五", Rule(MONTHLY_WEEKDAY, nth=1, weekday=4), ""),
        ("每月第一个周五下午2点半", Rule(MONTHLY_WEEKDAY, nth=1, weekday=4), "下午2点半"),
        ("每月第三个星期二", Rule(MONTHLY_WEEKDAY, nth=3, weekday=1), ""),
        ("每月最后一个礼拜五", Rule(MONTHLY_WEEKDAY, nth=LAST, weekday=4), ""),
        ("每两个月10号", Rule(MONTHLY_DAY, day=10, every=2, anchor=date(2026, 11, 22)), ""),
        ("双月最后一天", Rule(MONTHLY_DAY, day=31, every=2, anchor=date(2026, 11, 22)), ""),
        ("每周三", Rule(WEEKLY, weekday=2), ""),
        ("每星期日", Rule(WEEKLY, weekday=6), ""),
        ("每两周周二", Rule(WEEKLY, weekday=1, every=2, anchor=date(2026, 11, 22)), ""),
    ],
)
def test_typed_recurrences(text: str, expected: Rule, rest: str) -> None:
    parsed = parse_rule(text, anchor=date(2026, 11, 22))
    assert parsed is not None
    rule, left = parsed
    if expected.every == 1:
        rule = rule.replace(anchor=None)
    assert (rule, left) == (expected, rest)


@pytest.mark.parametrize("text", ["", "每月", "每年5号", "每月第五个周五", "每月32号", "明天", "每周八"])
def test_typed_recurrences_that_are_refused(text: str) -> None:
    assert parse_rule(text, anchor=date(2026, 11, 22)) is None


def test_lead_codes() -> None:
    assert Lead.parse("d3@09:00") == Lead(days=3, at=time(9, 0))
    assert Lead.parse("m120") == Lead(minutes=120)
    assert [lead.code for lead in DEFAULT_EVENT_LEADS] == ["d3@09:00", "m120"]
    with pytest.raises(ValueError):
        Lead.parse("3 days")


def test_default_notice_times_of_an_event() -> None:
    """3 days before at 09:00 (across a month boundary) and 2 hours before."""
    slots = lead_slots(at(2027, 3, 2, 14, 30), DEFAULT_EVENT_LEADS)
    assert [(s.key, s.at, s.until) for s in slots] == [
        ("d3@09:00", at(2027, 2, 27, 9), at(2027, 3, 2, 12, 30)),
        ("m120", at(2027, 3, 2, 12, 30), at(2027, 3, 2, 14, 30)),
    ]
    assert due_slot(slots, at(2027, 2, 27, 8, 59)) is None
    assert due_slot(slots, at(2027, 2, 28, 20)).key == "d3@09:00"  # missed: still useful
    assert due_slot(slots, at(2027, 3, 2, 13)).key == "m120"  # the first is superseded
    assert due_slot(slots, at(2027, 3, 2, 14, 30)) is None  # begun: nothing
    assert next_slot_at(slots, at(2027, 2, 27, 9)) == at(2027, 3, 2, 12, 30)


def test_leads_at_or_after_the_moment_and_duplicates_are_dropped() -> None:
    slots = lead_slots(at(2027, 1, 1, 8), [Lead(days=0, at=time(9)), Lead(minutes=60), Lead(days=0, at=time(7))])
    assert [s.at for s in slots] == [at(2027, 1, 1, 7)]  # 09:00 is after the start; 07:00 = 60 min before
    assert lead_slots(at(2027, 1, 1, 8), []) == []


def test_event_slots_cover_the_next_occurrences() -> None:
    rule = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30)
    now = at(2026, 12, 1, 10)  # after the 09:00 notice of 4 December
    got = event_slots(rule, DEFAULT_EVENT_LEADS, now, TZ)
    due = [(o, s.key) for o, s in got if s.due(now)]
    assert due == [(at(2026, 12, 4, 14, 30), "d3@09:00")]
    assert next_slot_at([s for _, s in got], now) == at(2026, 12, 4, 12, 30)


@given(
    kind=st.sampled_from([MONTHLY_DAY, MONTHLY_WEEKDAY, WEEKLY]),
    day=st.integers(1, 31),
    nth=st.sampled_from([1, 2, 3, 4, LAST]),
    weekday=st.integers(0, 6),
    every=st.integers(1, 3),
    start=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
)
def test_occurrences_are_ordered_distinct_and_each_a_day_of_the_rule(kind, day, nth, weekday, every, start) -> None:
    rule = Rule(kind, day=day, nth=nth, weekday=weekday, every=every, anchor=start, hour=9, minute=30)
    begin = datetime.combine(start, time(0), tzinfo=TZ)
    got = occurrences(rule, begin, begin + timedelta(days=400), TZ)
    assert got == sorted(set(got)) and len(got) >= 1
    for moment in got:
        assert moment.time() == time(9, 30) and rule.is_day(moment.date())
        if kind == MONTHLY_DAY:
            assert moment.day == min(day, [31, 29 if moment.year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][moment.month - 1])
        else:
            assert moment.weekday() == weekday
    if kind == WEEKLY:
        assert {(b - a).days for a, b in itertools.pairwise(got)} <= {7 * every}
    else:
        assert {(b.year * 12 + b.month) - (a.year * 12 + a.month) for a, b in itertools.pairwise(got)} <= {every}


@given(
    kind=st.sampled_from([MONTHLY_DAY, MONTHLY_WEEKDAY, WEEKLY]),
    day=st.integers(1, 31),
    every=st.integers(1, 3),
    leads=st.lists(st.one_of(st.builds(Lead, days=st.integers(0, 60), at=st.just(time(9, 0))),
                             st.builds(Lead, minutes=st.integers(1, 5000))), max_size=3),
    minutes=st.integers(0, 400_000),
    changed=st.lists(st.tuples(st.integers(0, 8), st.booleans(), st.none() | st.integers(-500, 3000)), max_size=4),
)
@example(kind=WEEKLY, day=2, every=1, leads=[Lead(days=50, at=time(9, 0))], minutes=0, changed=[])  # a lead of 7 weeks
@settings(max_examples=300, deadline=None)
def test_arranged_slots_ask_for_no_more_occurrences_than_the_leads_need(kind, day, every, leads, minutes, changed) -> None:
    """arranged_slots() asks for a few occurrences (more only for a lead reaching further):
    the same slots as the 63 occurrences it used to work out for every event."""
    from types import SimpleNamespace

    from bot.rules.recurrence import arranged, arranged_slots

    rule = Rule(kind, day=day, weekday=day % 7, every=every, anchor=date(2026, 9, 3), hour=15)
    now = at(2026, 11, 1) + timedelta(minutes=minutes)
    own = list(itertools.islice(rule.days_from(now.date() - timedelta(days=40)), 9))
    changes = {own[i]: SimpleNamespace(skipped=skip, moved_to=None if hours is None else now + timedelta(hours=hours))
               for i, skip, hours in changed}
    reach = max((lead.span() for lead in leads), default=timedelta(0))
    expected = []
    for index, (occ, moment) in enumerate(arranged(rule, changes, now, TZ, 63)):
        if index >= 3 and moment - reach > now:
            break
        expected += [(occ, moment, slot.key, slot.at, slot.until) for slot in lead_slots(moment, leads)]
    got = arranged_slots(rule, leads, changes, now, TZ)
    assert [(occ, moment, slot.key, slot.at, slot.until) for occ, moment, slot in got] == expected
