"""Pure rules of tasks with deadlines: when reminders and overdue notices fall due.

No I/O, no clock, no ``telegram``. Deadlines are read by :func:`bot.rules.dates.parse_when`
(``want="future"``: 11月底前 is 23:59 on the last day of November); this module only says,
for a deadline and the current moment ``now``, which push is due:

* reminders at the task's leads (default 7, 3 and 1 day before and on the day, at 09:00
  local time), each useful until the next one (or the deadline); leads before the task was
  created (or last extended, ``planned_from``) are dropped, the announcement covers them;
* after the deadline, an overdue notice every day at 09:00 local time, each useful until the
  next day's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from .recurrence import Lead, Slot, due_slot, lead_slots, next_slot_at

__all__ = [
    "DEFAULT_TASK_LEADS",
    "LEAD_CHOICES",
    "OVERDUE_AT",
    "YEAR_CONFIRM_DAYS",
    "days_left",
    "example_months",
    "next_task_push_at",
    "overdue_slot",
    "reminder_slots",
    "task_due",
    "year_to_confirm",
]

OVERDUE_AT = time(9, 0)
DEFAULT_TASK_LEADS = tuple(Lead(days=d, at=time(9, 0)) for d in (7, 3, 1, 0))
# The leads an admin can switch on or off for a task (7, 3, 1 day before, on the day; 09:00).
LEAD_CHOICES = tuple(Lead(days=d, at=time(9, 0)) for d in (14, 7, 3, 1, 0))


def reminder_slots(deadline: datetime, leads: Iterable[Lead], planned_from: datetime) -> list[Slot]:
    """The reminders before ``deadline`` that fall at or after ``planned_from``."""
    return lead_slots(deadline, leads, not_before=planned_from)


def _overdue_at(day: date, deadline: datetime) -> datetime:
    return datetime.combine(day, OVERDUE_AT, tzinfo=deadline.tzinfo)


def overdue_slot(deadline: datetime, now: datetime) -> Slot | None:
    """Today's overdue notice if it is due: the last 09:00 at or before ``now`` that is after
    the deadline; it stays useful until the next day's 09:00."""
    local_now = now.astimezone(deadline.tzinfo)
    at = _overdue_at(local_now.date(), deadline)
    if at > local_now:
        at = _overdue_at(local_now.date() - timedelta(days=1), deadline)
    if at <= deadline:
        return None
    until = _overdue_at(at.date() + timedelta(days=1), deadline)
    return Slot(at.date().isoformat(), at, until)


def next_overdue_at(deadline: datetime, now: datetime) -> datetime:
    """The first overdue notice time after both ``now`` and the deadline."""
    start = max(now.astimezone(deadline.tzinfo), deadline)
    at = _overdue_at(start.date(), deadline)
    return at if at > start else _overdue_at(start.date() + timedelta(days=1), deadline)


def task_due(
    deadline: datetime, leads: Iterable[Lead], planned_from: datetime, now: datetime
) -> tuple[str, Slot] | None:
    """What is due for an open task at ``now``: ("remind", slot), ("overdue", slot) or None."""
    if now < deadline:
        slot = due_slot(reminder_slots(deadline, leads, planned_from), now)
        return ("remind", slot) if slot is not None else None
    slot = overdue_slot(deadline, now)
    return ("overdue", slot) if slot is not None else None


def next_task_push_at(
    deadline: datetime, leads: Iterable[Lead], planned_from: datetime, now: datetime
) -> datetime:
    """When the next reminder or overdue notice of an open task falls due after ``now``."""
    if now < deadline:
        at = next_slot_at(reminder_slots(deadline, leads, planned_from), now)
        if at is not None:
            return at
    return next_overdue_at(deadline, now)


def days_left(deadline: datetime, now: datetime) -> int:
    """Whole calendar days from today to the deadline's day (negative once it has passed)."""
    return (deadline.date() - now.astimezone(deadline.tzinfo).date()).days


# A deadline read from a month without a year (11月底前) that lands further than this is asked
# about: typed on 1 December, 11月底前 is almost surely last month's, not 2027's.
YEAR_CONFIRM_DAYS = 300


def year_to_confirm(value: datetime, year_inferred: bool, now: datetime) -> bool:
    """Whether a deadline whose year was not typed is far enough away to be asked about."""
    return year_inferred and days_left(value, now) > YEAR_CONFIRM_DAYS


def example_months(now: datetime) -> tuple[int, int]:
    """The months a deadline question offers as examples, both upcoming: this month's end
    (next month's in the last week of a month) and the month after it."""
    local = now.date()
    soon = local.month if local.day <= 23 else local.month % 12 + 1
    return soon, soon % 12 + 1
