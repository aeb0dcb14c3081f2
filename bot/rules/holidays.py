"""China's statutory holidays and make-up workdays (调休), from the ``chinese-calendar`` library
(the State Council's yearly notice, kept up to date by its maintainers).

Pure: no storage, no Telegram. A year the library does not cover yet (each year's holidays are
announced late in the year before; chinese-calendar 1.11.0 knows 2004-2026) is *unknown*, never
guessed: :func:`holiday_on` returns None and :func:`covered` False, so a caller can say so.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

# The library's holiday names -> codes of the catalog keys ``holiday.<code>``.
CODES = {h.value: h.name for h in chinese_calendar.Holiday}
LOOK_AHEAD_DAYS = 30


def covered(day: date) -> bool:
    """Whether the library knows the holidays of ``day``'s year."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def holiday_on(day: date) -> str | None:
    """The code of the statutory holiday ``day`` falls in ("national_day"...), not counting
    ordinary weekends; None for a working day, a plain weekend or a year not covered."""
    if not covered(day):
        return None
    off, name = chinese_calendar.get_holiday_detail(day)
    return CODES.get(name) if off and name else None


def is_makeup_workday(day: date) -> bool:
    """A weekend day that is a working day because of a holiday (调休上班)."""
    if not covered(day) or day.weekday() < 5:
        return False
    return chinese_calendar.is_workday(day)


def next_working_day(day: date) -> date | None:
    """The first working day after ``day`` (a 调休 Saturday counts); None if the library does
    not cover the days in between."""
    for n in range(1, LOOK_AHEAD_DAYS + 1):
        candidate = day + timedelta(days=n)
        if not covered(candidate):
            return None
        if chinese_calendar.is_workday(candidate):
            return candidate
    return None
