"""China's statutory holidays and 调休 workdays (bot.rules.holidays, from chinese-calendar)."""

from __future__ import annotations

from datetime import date

from bot.rules import holidays


def test_holidays_makeup_workdays_and_the_next_working_day() -> None:
    assert holidays.holiday_on(date(2026, 10, 1)) == "national_day"
    assert holidays.holiday_on(date(2026, 2, 16)) == "spring_festival"
    assert holidays.next_working_day(date(2026, 10, 1)) == date(2026, 10, 8)
    assert holidays.next_working_day(date(2026, 2, 16)) == date(2026, 2, 24)
    assert holidays.holiday_on(date(2026, 11, 28)) is None  # a plain Saturday is no statutory holiday
    assert holidays.holiday_on(date(2026, 11, 27)) is None
    assert holidays.is_makeup_workday(date(2026, 9, 20))  # a Sunday worked for National Day (调休)
    assert not holidays.is_makeup_workday(date(2026, 9, 27))
    assert holidays.next_working_day(date(2026, 9, 19)) == date(2026, 9, 20)  # Saturday -> the 调休 Sunday


def test_a_year_the_library_does_not_cover_is_unknown_not_guessed() -> None:
    """chinese-calendar 1.11.0 knows 2004-2026; 2027's holidays are not in it yet."""
    assert holidays.covered(date(2026, 12, 31))
    if not holidays.covered(date(2027, 1, 1)):
        assert holidays.holiday_on(date(2027, 1, 1)) is None
        assert holidays.next_working_day(date(2026, 12, 31)) is None
    else:  # a newer library: New Year's Day 2027 is a holiday
        assert holidays.holiday_on(date(2027, 1, 1)) == "new_years_day"
