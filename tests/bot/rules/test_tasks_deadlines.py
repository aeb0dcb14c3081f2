"""Deadlines: the Chinese deadline phrases (the shared pure parser, want="future"), and when the
reminders and overdue notices of a task fall due (bot.rules.deadlines)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.rules.dates import parse_when
from bot.rules.deadlines import (
    DEFAULT_TASK_LEADS,
    days_left,
    next_task_push_at,
    overdue_slot,
    reminder_slots,
    task_due,
)
from bot.rules.recurrence import Lead

TZ = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


# (reference moment, typed, expected deadline)
PHRASES = [
    (at(2026, 11, 22, 10), "11月底前", at(2026, 11, 30, 23, 59)),
    (at(2026, 12, 5, 10), "11月底前", at(2027, 11, 30, 23, 59)),  # passed this year: next year
    (at(2026, 11, 22, 10), "十一月底前", at(2026, 11, 30, 23, 59)),
    (at(2026, 11, 22, 10), "月底前", at(2026, 11, 30, 23, 59)),
    (at(2026, 11, 22, 10), "本月底", at(2026, 11, 30, 23, 59)),
    (at(2027, 2, 3, 10), "月底前", at(2027, 2, 28, 23, 59)),
    (at(2028, 2, 3, 10), "本月底", at(2028, 2, 29, 23, 59)),
    (at(2026, 11, 22, 10), "下月初", at(2026, 12, 5, 23, 59)),
    (at(2026, 12, 22, 10), "下月初", at(2027, 1, 5, 23, 59)),
    (at(2026, 11, 22, 10), "12月15日", at(2026, 12, 15, 23, 59)),
    (at(2026, 11, 22, 10), "12月15号前", at(2026, 12, 15, 23, 59)),
    (at(2026, 11, 22, 10), "下周五", at(2026, 11, 27, 23, 59)),  # a Sunday: the week from Monday 23rd
    (at(2026, 11, 22, 10), "年底前", at(2026, 12, 31, 23, 59)),
    (at(2026, 11, 22, 10), "2027年底", at(2027, 12, 31, 23, 59)),
    (at(2026, 11, 22, 10), "3天后", at(2026, 11, 25, 23, 59)),
    (at(2026, 12, 30, 10), "3天后", at(2027, 1, 2, 23, 59)),
    (at(2026, 11, 22, 10), "2026-12-15 17:00", at(2026, 12, 15, 17, 0)),
    (at(2026, 11, 22, 10), "截止12月15日下午5点", at(2026, 12, 15, 17, 0)),
]


@pytest.mark.parametrize(("now", "text", "expected"), PHRASES)
def test_deadline_phrases(now: datetime, text: str, expected: datetime) -> None:
    when = parse_when(text, now, want="future", tz="Asia/Shanghai")
    assert when.value == expected, when


@pytest.mark.parametrize(("text", "reason"), [("2024年底", "past"), ("昨天", "past"), ("", "empty"), ("尽快", "not_a_date")])
def test_deadline_phrases_refused(text: str, reason: str) -> None:
    assert parse_when(text, at(2026, 11, 22, 10), want="future", tz="Asia/Shanghai").reason == reason


def test_default_reminders_7_3_1_days_before_and_on_the_day_at_nine() -> None:
    deadline = at(2027, 3, 2, 23, 59)  # across the end of February
    slots = reminder_slots(deadline, DEFAULT_TASK_LEADS, planned_from=at(2027, 1, 1))
    assert [(s.key, s.at) for s in slots] == [
        ("d7@09:00", at(2027, 2, 23, 9)),
        ("d3@09:00", at(2027, 2, 27, 9)),
        ("d1@09:00", at(2027, 3, 1, 9)),
        ("d0@09:00", at(2027, 3, 2, 9)),
    ]
    assert slots[-1].until == deadline


def test_reminders_before_the_task_existed_are_not_planned() -> None:
    slots = reminder_slots(at(2027, 1, 2, 23, 59), DEFAULT_TASK_LEADS, planned_from=at(2026, 12, 31, 15))
    assert [(s.key, s.at) for s in slots] == [("d1@09:00", at(2027, 1, 1, 9)), ("d0@09:00", at(2027, 1, 2, 9))]


def test_a_deadline_at_nine_gets_no_same_day_reminder() -> None:
    slots = reminder_slots(at(2026, 12, 15, 9), DEFAULT_TASK_LEADS, planned_from=at(2026, 11, 1))
    assert [s.key for s in slots] == ["d7@09:00", "d3@09:00", "d1@09:00"]


def test_what_is_due_before_and_after_the_deadline() -> None:
    deadline, planned = at(2026, 12, 31, 23, 59), at(2026, 12, 1)
    assert task_due(deadline, DEFAULT_TASK_LEADS, planned, at(2026, 12, 24, 8, 59)) is None
    what, slot = task_due(deadline, DEFAULT_TASK_LEADS, planned, at(2026, 12, 24, 9))
    assert (what, slot.key) == ("remind", "d7@09:00")
    assert task_due(deadline, DEFAULT_TASK_LEADS, planned, at(2027, 1, 1, 8)) is None  # night after
    what, slot = task_due(deadline, DEFAULT_TASK_LEADS, planned, at(2027, 1, 1, 9))
    assert (what, slot.key, slot.until) == ("overdue", "2027-01-01", at(2027, 1, 2, 9))
    what, slot = task_due(deadline, DEFAULT_TASK_LEADS, planned, at(2027, 1, 3, 23))
    assert (what, slot.key) == ("overdue", "2027-01-03")


def test_overdue_after_a_daytime_deadline_starts_next_morning() -> None:
    deadline = at(2027, 2, 28, 17)
    assert overdue_slot(deadline, at(2027, 2, 28, 18)) is None
    assert overdue_slot(deadline, at(2027, 3, 1, 9)).key == "2027-03-01"


def test_next_push_times() -> None:
    deadline, planned = at(2027, 1, 5, 23, 59), at(2026, 12, 1)
    assert next_task_push_at(deadline, DEFAULT_TASK_LEADS, planned, at(2026, 12, 20)) == at(2026, 12, 29, 9)
    assert next_task_push_at(deadline, DEFAULT_TASK_LEADS, planned, at(2027, 1, 5, 9)) == at(2027, 1, 6, 9)
    assert next_task_push_at(deadline, [Lead(days=1, at=time(9))], planned, at(2027, 1, 6, 9)) == at(2027, 1, 7, 9)


def test_days_left_counts_calendar_days() -> None:
    deadline = at(2027, 1, 1, 23, 59)
    assert days_left(deadline, at(2026, 12, 31, 23, 0)) == 1
    assert days_left(deadline, at(2027, 1, 1, 0, 1)) == 0
    assert days_left(deadline, at(2027, 1, 3, 10)) == -2
