"""Tests for bot.rules.dates (pure date parsing)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.dates import (
    EXAMPLES_FUTURE,
    EXAMPLES_PAST,
    REASONS,
    When,
    end_of_month,
    parse_date,
    parse_when,
)

SH = ZoneInfo("Asia/Shanghai")
# Sunday 2026-11-22 10:00 in China.
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=SH)


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def dl(y: int, m: int, d: int) -> datetime:
    """A date-only deadline: 23:59 that day."""
    return at(y, m, d, 23, 59)


# (text, expected value or reason, has_time)
PAST_CASES = [
    ("今天", at(2026, 11, 22), False),
    ("今日", at(2026, 11, 22), False),
    ("昨天", at(2026, 11, 21), False),
    ("前天", at(2026, 11, 20), False),
    ("大前天", at(2026, 11, 19), False),
    ("上周五", at(2026, 11, 13), False),  # calendar week: this week is Mon 16 .. Sun 22
    ("上个星期五", at(2026, 11, 13), False),
    ("上上周五", at(2026, 11, 6), False),
    ("这周一", at(2026, 11, 16), False),
    ("周三", at(2026, 11, 18), False),
    ("星期三", at(2026, 11, 18), False),
    ("礼拜三", at(2026, 11, 18), False),
    ("周日", at(2026, 11, 22), False),  # today counts
    ("星期天", at(2026, 11, 22), False),
    ("周一", at(2026, 11, 16), False),
    ("11月20日", at(2026, 11, 20), False),
    ("11月20号", at(2026, 11, 20), False),
    ("十一月二十日", at(2026, 11, 20), False),
    ("１１月２０日", at(2026, 11, 20), False),
    ("  11月20日。 ", at(2026, 11, 20), False),
    ("11月 20日", at(2026, 11, 20), False),
    ("2024年11月5日", "too_old", False),
    ("2026年11月5日", at(2026, 11, 5), False),
    ("二〇二六年十一月五日", at(2026, 11, 5), False),
    ("26年11月5日", at(2026, 11, 5), False),
    ("今年11月5日", at(2026, 11, 5), False),
    ("去年11月5日", "too_old", False),
    ("2026-11-05", at(2026, 11, 5), False),
    ("２０２６－１１－０５", at(2026, 11, 5), False),
    ("2026/11/05", at(2026, 11, 5), False),
    ("2026.11.5", at(2026, 11, 5), False),
    ("11/20", at(2026, 11, 20), False),
    ("11.20", at(2026, 11, 20), False),
    ("20号", at(2026, 11, 20), False),
    ("上个月5号", at(2026, 10, 5), False),
    ("3天前", at(2026, 11, 19), False),
    ("三天前", at(2026, 11, 19), False),
    ("两天前", at(2026, 11, 20), False),
    ("十天以前", at(2026, 11, 12), False),
    ("1周前", at(2026, 11, 15), False),
    ("一个星期前", at(2026, 11, 15), False),
    ("1个月前", at(2026, 10, 22), False),
    ("上月底", at(2026, 10, 31), False),
    ("上月初", at(2026, 10, 1), False),  # 初 is the 1st for past
    ("本月中旬", at(2026, 11, 11), False),
    ("yesterday", at(2026, 11, 21), False),
    ("Yesterday", at(2026, 11, 21), False),
    ("last Friday", at(2026, 11, 20), False),  # dateparser: most recent Friday
    ("today", at(2026, 11, 22), False),
    ("3 days ago", at(2026, 11, 19), False),
    # with a time
    ("昨天下午3点", at(2026, 11, 21, 15), True),
    ("昨天 15:30", at(2026, 11, 21, 15, 30), True),
    ("昨晚8点", at(2026, 11, 21, 20), True),
    ("今天上午9点", at(2026, 11, 22, 9), True),
    ("上午9点半", at(2026, 11, 22, 9, 30), True),
    ("昨天下午", at(2026, 11, 21), False),  # part of day without hour: date only
    ("1 hour ago", at(2026, 11, 22, 9), True),
    ("3小时前", at(2026, 11, 22, 7), True),
    ("半小时前", at(2026, 11, 22, 9, 30), True),
    ("三小时后", "future", False),
    # refusals
    ("12月1日", "too_old", False),  # most recent 12月1日 not in the future is 2025-12-01
    ("明天", "future", False),
    ("后天", "future", False),
    ("下周三", "future", False),
    # year-less: the most recent 11月23日 not in the future is 2025-11-23
    ("11月23日", "too_old", False),
    ("2026-11-23", "future", False),
    ("今天下午3点", "future", True),
    ("下午3点", "future", True),
    ("11月21日", at(2026, 11, 21), False),
    ("2月30日", "not_a_date", False),
    ("13月1日", "not_a_date", False),
    ("2026-02-30", "not_a_date", False),
    ("25:00", "not_a_date", False),
    ("晚上12点", "not_a_date", False),
    ("abc", "not_a_date", False),
    ("5", "not_a_date", False),
    ("2024", "not_a_date", False),
    ("下周", "not_a_date", False),
    ("下午", "not_a_date", False),
    ("吃饭了吗", "not_a_date", False),
    # noise that dateparser alone would read as a date
    ("-9天", "not_a_date", False),
    ("0天", "not_a_date", False),
    ("sa", "not_a_date", False),
    ("9d", "not_a_date", False),
    ("19:", "not_a_date", False),
    ("5-3", "not_a_date", False),
    ("yesterday 天", "not_a_date", False),
    ("", "empty", False),
    ("   ", "empty", False),
    ("。", "empty", False),
]

FUTURE_CASES = [
    ("11月底前", dl(2026, 11, 30), False),
    ("11月底", dl(2026, 11, 30), False),
    ("十一月底", dl(2026, 11, 30), False),
    ("11月份底", dl(2026, 11, 30), False),
    ("10月底", dl(2027, 10, 31), False),  # passed this year: next year
    ("月底前", dl(2026, 11, 30), False),
    ("月底", dl(2026, 11, 30), False),
    ("本月底", dl(2026, 11, 30), False),
    ("这个月底", dl(2026, 11, 30), False),
    ("下月初", dl(2026, 12, 5), False),  # 初 is the 5th for future
    ("下个月初", dl(2026, 12, 5), False),
    ("下月底", dl(2026, 12, 31), False),
    ("下月中旬", dl(2026, 12, 20), False),
    ("下月上旬", dl(2026, 12, 10), False),
    ("本月下旬", dl(2026, 11, 30), False),
    ("12月中", dl(2026, 12, 15), False),
    ("本月初", "past", False),
    ("12月15日", dl(2026, 12, 15), False),
    ("12月15号", dl(2026, 12, 15), False),
    ("12月15日前", dl(2026, 12, 15), False),
    ("12月15日之前", dl(2026, 12, 15), False),
    ("截止12月15日", dl(2026, 12, 15), False),
    ("到12月15日为止", dl(2026, 12, 15), False),
    ("15号前", dl(2026, 12, 15), False),  # "before the 15th", next 15th
    ("25号", dl(2026, 11, 25), False),
    ("下个月15号", dl(2026, 12, 15), False),
    ("12/15", dl(2026, 12, 15), False),
    ("11月1日", dl(2027, 11, 1), False),  # year-less, already passed: next year
    ("下周五", dl(2026, 11, 27), False),
    ("下周三", dl(2026, 11, 25), False),
    ("下个星期三", dl(2026, 11, 25), False),
    ("下下周一", dl(2026, 11, 30), False),
    ("周五", dl(2026, 11, 27), False),
    ("周日", dl(2026, 11, 22), False),  # today, 23:59 is still ahead
    ("2024年底", "past", False),
    ("2027年底", dl(2027, 12, 31), False),
    ("年底前", dl(2026, 12, 31), False),
    ("年底", dl(2026, 12, 31), False),
    ("今年底", dl(2026, 12, 31), False),
    ("今年年底", dl(2026, 12, 31), False),
    ("明年底", dl(2027, 12, 31), False),
    ("去年底", "past", False),
    ("3天后", dl(2026, 11, 25), False),
    ("三天后", dl(2026, 11, 25), False),
    ("3天以后", dl(2026, 11, 25), False),
    ("3天内", dl(2026, 11, 25), False),
    ("两周后", dl(2026, 12, 6), False),
    ("1个月后", dl(2026, 12, 22), False),
    ("今天", dl(2026, 11, 22), False),
    ("明天", dl(2026, 11, 23), False),
    ("后天", dl(2026, 11, 24), False),
    ("大后天", dl(2026, 11, 25), False),
    ("明天之前", dl(2026, 11, 23), False),
    ("2026-12-15", dl(2026, 12, 15), False),
    ("2026-12-15 17:00", at(2026, 12, 15, 17), True),
    ("2026-12-15T17:00", at(2026, 12, 15, 17), True),
    ("12月15日下午3点", at(2026, 12, 15, 15), True),
    ("12月15日 下午3点", at(2026, 12, 15, 15), True),
    ("12月15日下午3点前", at(2026, 12, 15, 15), True),
    ("12月15日17:00", at(2026, 12, 15, 17), True),
    ("12月15日17：00", at(2026, 12, 15, 17), True),
    ("下周五下午3点", at(2026, 11, 27, 15), True),
    ("明天上午十点", at(2026, 11, 23, 10), True),
    ("明早8点", at(2026, 11, 23, 8), True),
    ("今晚8点", at(2026, 11, 22, 20), True),
    ("下午3点", at(2026, 11, 22, 15), True),
    ("下午三点半", at(2026, 11, 22, 15, 30), True),
    ("下午3点15分", at(2026, 11, 22, 15, 15), True),
    ("下午3点一刻", at(2026, 11, 22, 15, 15), True),
    ("中午12点", at(2026, 11, 22, 12), True),
    ("中午1点", at(2026, 11, 22, 13), True),
    ("晚上8点", at(2026, 11, 22, 20), True),
    ("17:00", at(2026, 11, 22, 17), True),
    ("上午11点", at(2026, 11, 22, 11), True),
    ("上午10点", "past", True),  # exactly now is not after now
    ("上午9点", "past", True),
    ("3点", "past", True),  # bare hour: 24-hour clock, 03:00 already passed
    ("昨天", "past", False),
    ("11月20日", dl(2027, 11, 20), False),  # year-less: the next 11月20日
    ("2026-11-20", "past", False),
    ("next friday", dl(2026, 11, 27), False),
    ("tomorrow", dl(2026, 11, 23), False),
    ("tomorrow 3pm", at(2026, 11, 23, 15), True),
    ("in 3 days", dl(2026, 11, 25), False),
    ("15th december", dl(2026, 12, 15), False),
    ("半小时后", at(2026, 11, 22, 10, 30), True),
    ("10分钟后", at(2026, 11, 22, 10, 10), True),
    ("2个小时以后", at(2026, 11, 22, 12), True),
    ("0分钟后", "past", True),
    ("上午13点", "not_a_date", False),
    ("下周八", "not_a_date", False),
    ("", "empty", False),
]


def _check(result: When, expected: datetime | str, has_time: bool) -> None:
    if isinstance(expected, str):
        assert result.value is None
        assert result.reason == expected
    else:
        assert result.reason is None
        assert result.value == expected
        assert result.value.tzinfo is not None
        assert result.value.utcoffset() == timedelta(hours=8)
        assert result.has_time is has_time


@pytest.mark.parametrize(("text", "expected", "has_time"), PAST_CASES)
def test_past_forms(text: str, expected: datetime | str, has_time: bool) -> None:
    _check(parse_when(text, NOW, want="past"), expected, has_time)


@pytest.mark.parametrize(("text", "expected", "has_time"), FUTURE_CASES)
def test_future_forms(text: str, expected: datetime | str, has_time: bool) -> None:
    _check(parse_when(text, NOW, want="future"), expected, has_time)


# ---------------------------------------------------------------- deadlines as notices write them


@pytest.mark.parametrize(
    ("now", "text", "want", "expected", "has_time"),
    [
        # before a holiday: the day before it, 23:59 for a deadline
        (NOW, "国庆节前", "future", dl(2027, 9, 30), False),
        (at(2026, 9, 1, 9), "国庆节前", "future", dl(2026, 9, 30), False),
        (at(2026, 9, 1, 9), "国庆前", "future", dl(2026, 9, 30), False),
        (at(2026, 9, 1, 9), "国庆节之前", "future", dl(2026, 9, 30), False),
        (at(2026, 9, 30, 20), "国庆节前", "future", dl(2026, 9, 30), False),  # today
        (at(2026, 10, 5, 9), "国庆节前", "future", dl(2027, 9, 30), False),  # rollover
        (at(2026, 10, 1, 0, 5), "国庆前", "future", dl(2027, 9, 30), False),
        (at(2026, 9, 1, 9), "2027年国庆节前", "future", dl(2027, 9, 30), False),
        (at(2026, 9, 1, 9), "今年国庆节前", "future", dl(2026, 9, 30), False),
        (NOW, "元旦前", "future", dl(2026, 12, 31), False),
        (NOW, "元旦节前", "future", dl(2026, 12, 31), False),
        (at(2027, 1, 1, 9), "元旦前", "future", dl(2027, 12, 31), False),
        (NOW, "2027年元旦前", "future", dl(2026, 12, 31), False),  # eve of 2027-01-01
        (NOW, "五一前", "future", dl(2027, 4, 30), False),
        (at(2026, 3, 2, 9), "五一前", "future", dl(2026, 4, 30), False),
        (at(2026, 3, 2, 9), "劳动节前", "future", dl(2026, 4, 30), False),
        (at(2026, 3, 2, 9), "五一劳动节前", "future", dl(2026, 4, 30), False),
        (at(2026, 3, 2, 9), "五一节之前", "future", dl(2026, 4, 30), False),
        # Spring Festival 2027 is 6 February, 2026's was 17 February
        (NOW, "春节前", "future", dl(2027, 2, 5), False),
        (NOW, "年前", "future", dl(2027, 2, 5), False),
        (NOW, "过年前", "future", dl(2027, 2, 5), False),
        (NOW, "明年春节前", "future", dl(2027, 2, 5), False),
        (at(2026, 1, 10, 9), "春节前", "future", dl(2026, 2, 16), False),
        (at(2026, 2, 17, 9), "春节前", "future", dl(2027, 2, 5), False),  # on the day
        (at(2026, 2, 16, 9), "年前", "future", dl(2026, 2, 16), False),  # the eve itself
        (NOW, "2026年春节前", "future", "past", False),
        (NOW, "去年国庆节前", "future", "past", False),
        (NOW, "2100年春节前", "future", "not_a_date", False),  # beyond lunardate
        (NOW, "明年年前", "future", "not_a_date", False),
        (NOW, "3年前", "future", "not_a_date", False),  # years ago: not a holiday
        (NOW, "十一前", "future", "not_a_date", False),  # 11 what?
        (NOW, "国庆节", "future", "not_a_date", False),  # only "before" is a deadline
        # ... and for past dates the most recent such day
        (NOW, "国庆节前", "past", at(2026, 9, 30), False),
        (NOW, "元旦前", "past", "too_old", False),
        (NOW, "春节前", "past", "too_old", False),
        # 24点 / 24时 is the end of that day
        (NOW, "12月31日24时", "future", at(2026, 12, 31, 23, 59), True),
        (NOW, "12月31日24点前", "future", at(2026, 12, 31, 23, 59), True),
        (NOW, "24点", "future", at(2026, 11, 22, 23, 59), True),
        (NOW, "今晚24点", "future", at(2026, 11, 22, 23, 59), True),
        (NOW, "明天24:00", "future", at(2026, 11, 23, 23, 59), True),
        (NOW, "昨天24点", "past", at(2026, 11, 21, 23, 59), True),
        (NOW, "24点半", "future", "not_a_date", False),
        (NOW, "上午24点", "future", "not_a_date", False),
        (NOW, "25点", "future", "not_a_date", False),
        # 下班前 is 18:00 (end of the working day), 中午前 is 12:00
        (NOW, "周五下班前", "future", at(2026, 11, 27, 18), True),
        (NOW, "下周五下班之前", "future", at(2026, 11, 27, 18), True),
        (NOW, "下班前", "future", at(2026, 11, 22, 18), True),
        (at(2026, 11, 22, 18, 30), "下班前", "future", "past", True),  # never tomorrow
        (NOW, "中午前", "future", at(2026, 11, 22, 12), True),
        (NOW, "明天中午以前", "future", at(2026, 11, 23, 12), True),
        (at(2026, 11, 22, 12, 0), "中午前", "future", "past", True),
        (NOW, "明天中午", "future", dl(2026, 11, 23), False),  # no "before": the day
        (NOW, "昨天下班前", "past", at(2026, 11, 21, 18), True),
        (NOW, "下班", "future", "not_a_date", False),
    ],
)
def test_notice_deadlines(
    now: datetime, text: str, want: str, expected: datetime | str, has_time: bool
) -> None:
    _check(parse_when(text, now, want=want, max_age_days=60), expected, has_time)  # type: ignore[arg-type]


# ---------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("now", "text", "want", "expected"),
    [
        # month / year rollover
        (at(2026, 12, 10, 9), "1月底前", "future", dl(2027, 1, 31)),
        (at(2026, 12, 10, 9), "下月底", "future", dl(2027, 1, 31)),
        (at(2026, 12, 10, 9), "下月初", "future", dl(2027, 1, 5)),
        (at(2026, 12, 10, 9), "1月5日", "future", dl(2027, 1, 5)),
        (at(2026, 12, 28, 9), "下周五", "future", dl(2027, 1, 8)),
        (at(2027, 1, 3, 9), "上月底", "past", at(2026, 12, 31)),
        (at(2027, 1, 3, 9), "12月30日", "past", at(2026, 12, 30)),
        (at(2027, 1, 3, 9), "12/30", "past", at(2026, 12, 30)),
        (at(2027, 1, 3, 9), "5天前", "past", at(2026, 12, 29)),
        # February in leap and non-leap years
        (NOW, "2月底", "future", dl(2027, 2, 28)),
        (at(2027, 12, 1, 9), "2月底", "future", dl(2028, 2, 29)),
        (at(2028, 1, 10, 9), "2月底", "future", dl(2028, 2, 29)),
        (at(2028, 1, 31, 9), "下月底", "future", dl(2028, 2, 29)),
        (at(2027, 1, 31, 9), "下月底", "future", dl(2027, 2, 28)),
        (at(2028, 3, 1, 9), "2月29日", "past", at(2028, 2, 29)),
        (at(2028, 3, 1, 9), "昨天", "past", at(2028, 2, 29)),
        # last day of a month: 本月底 / 11月底 are still today
        (at(2026, 11, 30, 23, 0), "本月底", "future", dl(2026, 11, 30)),
        (at(2026, 11, 30, 23, 0), "11月底", "future", dl(2026, 11, 30)),
        (at(2026, 12, 1, 0, 5), "11月底", "future", dl(2027, 11, 30)),
        (at(2026, 11, 30, 23, 59), "今天", "future", "past"),
        # 上周五 across the new year: 2026-01-02 is a Friday
        (at(2026, 1, 2, 10), "上周五", "past", at(2025, 12, 26)),
        (at(2026, 1, 2, 10), "上周三", "past", at(2025, 12, 24)),
        (at(2026, 1, 2, 10), "周五", "past", at(2026, 1, 2)),
        (at(2026, 1, 2, 10), "周六", "past", at(2025, 12, 27)),
        (at(2026, 1, 2, 10), "昨天", "past", at(2026, 1, 1)),
        (at(2026, 1, 2, 10), "前天", "past", at(2025, 12, 31)),
        (at(2026, 1, 2, 10), "12月31日", "past", at(2025, 12, 31)),
        (at(2026, 1, 2, 10), "last friday", "past", at(2025, 12, 26)),
        # max_age_days boundary (default 60)
        (NOW, "2026-09-23", "past", at(2026, 9, 23)),
        (NOW, "2026-09-22", "past", "too_old"),
        (NOW, "60天前", "past", at(2026, 9, 23)),
        (NOW, "61天前", "past", "too_old"),
    ],
)
def test_boundaries(now: datetime, text: str, want: str, expected: datetime | str) -> None:
    result = parse_when(text, now, want=want)  # type: ignore[arg-type]
    if isinstance(expected, str):
        assert result.reason == expected
    else:
        assert result.value == expected


@pytest.mark.parametrize("text", ["昨天", "yesterday", "今天", "today", "前天"])
@pytest.mark.parametrize(
    "now",
    [
        at(2026, 11, 22, 0, 30),  # 2026-11-21 16:30 UTC: a UTC clock says "21st"
        at(2026, 11, 22, 7, 59),
        at(2026, 11, 22, 23, 30),
        datetime(2026, 11, 21, 16, 30, tzinfo=UTC),  # same instant as 00:30 local
        datetime(2026, 11, 22, 15, 30, tzinfo=UTC),  # 23:30 local
    ],
)
def test_relative_days_follow_local_clock(text: str, now: datetime) -> None:
    offset = {"昨天": 1, "yesterday": 1, "今天": 0, "today": 0, "前天": 2}[text]
    local_today = now.astimezone(SH).date()
    assert local_today == date(2026, 11, 22)
    result = parse_when(text, now, want="past")
    assert result.value == at(2026, 11, 22) - timedelta(days=offset)


@pytest.mark.parametrize(("text", "expected"), [
    ("今晚7点", at(2026, 12, 1, 19)),
    ("明天下午3点", at(2026, 12, 2, 15)),
    ("2小时后", at(2026, 12, 1, 16, 3)),
    ("明天", dl(2026, 12, 2)),
])
def test_a_typed_deadline_carries_no_seconds_of_now(text: str, expected: datetime) -> None:
    """Typed at 14:03:37.5: 今晚7点 is 19:00 sharp, never 19:00:37 (nor its microseconds)."""
    now = datetime(2026, 12, 1, 14, 3, 37, 500000, tzinfo=SH)
    value = parse_when(text, now, want="future").value
    assert value == expected and value.second == 0 and value.microsecond == 0


def test_max_age_days_parameter() -> None:
    assert parse_when("12月1日", NOW, want="past", max_age_days=400).value == at(2025, 12, 1)
    assert parse_when("2024年11月5日", NOW, want="past", max_age_days=800).value == at(2024, 11, 5)
    assert parse_when("前天", NOW, want="past", max_age_days=1).reason == "too_old"
    assert parse_when("昨天", NOW, want="past", max_age_days=1).value == at(2026, 11, 21)
    assert parse_when("今天", NOW, want="past", max_age_days=0).value == at(2026, 11, 22)


def test_other_timezone() -> None:
    ny = ZoneInfo("America/New_York")
    now = datetime(2026, 11, 22, 1, 0, tzinfo=SH)  # still 2026-11-21 in New York
    result = parse_when("昨天", now, want="past", tz="America/New_York")
    assert result.value == datetime(2026, 11, 20, tzinfo=ny)
    result = parse_when("明天下午3点", now, want="future", tz="America/New_York")
    assert result.value == datetime(2026, 11, 22, 15, tzinfo=ny)
    assert result.has_time


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_when("昨天", datetime(2026, 11, 22, 10), want="past")


def test_parse_date_is_day_precision() -> None:
    result = parse_date("昨天下午3点", NOW)
    assert result == When(value=at(2026, 11, 21), reason=None, has_time=False)
    assert parse_date("明天", NOW).reason == "future"
    assert parse_date("12月15日下午3点", NOW, want="future").value == at(2026, 12, 15)
    assert parse_date("", NOW).reason == "empty"


def test_end_of_month() -> None:
    assert end_of_month(2026, 11, "Asia/Shanghai") == dl(2026, 11, 30)
    assert end_of_month(2028, 2, "Asia/Shanghai") == dl(2028, 2, 29)
    assert end_of_month(2027, 2, "Asia/Shanghai") == dl(2027, 2, 28)
    assert end_of_month(2026, 12, "Asia/Shanghai") == dl(2026, 12, 31)


def test_examples_parse() -> None:
    for text in EXAMPLES_PAST:
        assert parse_when(text, NOW, want="past").ok, text
    for text in EXAMPLES_FUTURE:
        assert parse_when(text, NOW, want="future").ok, text


def test_when_is_frozen() -> None:
    result = parse_when("昨天", NOW, want="past")
    with pytest.raises(AttributeError):
        result.value = None  # type: ignore[misc]
    assert result.day == date(2026, 11, 21)


def test_module_is_pure() -> None:
    code = (
        "import sys; import bot.rules.dates, bot.rules.numbers; "
        "bad = [m for m in sys.modules if m == 'telegram' or m.startswith('telegram.')"
        " or (m.split('.')[0] in ('bot', 'handlers', 'storage')"
        " and m not in ('bot', 'bot.rules', 'bot.rules.dates', 'bot.rules.numbers'))]; "
        "assert not bad, bad"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
    src = (root / "bot" / "rules" / "dates.py").read_text(encoding="utf-8")
    for clock in ("datetime.now", "date.today", "time.time(", "utcnow"):
        assert clock not in src


# ---------------------------------------------------------------- properties

DATEISH = st.text(
    alphabet="0123456789０１２年月日号周星期礼拜上下这本个前后天今明昨大底初中旬点时分半刻:-/. "
    "一二三四五六七八九十两零〇上午下午晚早凌内以之截止到为 tdaysgoinlast",
    max_size=20,
)
NOWS = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31), timezones=st.just(SH)
)


def _check_invariants(result: When, now: datetime, want: str, max_age: int) -> None:
    assert (result.value is None) != (result.reason is None)
    if result.value is None:
        assert result.reason in REASONS
        assert result.has_time is False
        return
    assert result.value.tzinfo is not None
    local_now = now.astimezone(SH)
    if want == "past":
        if result.has_time:
            assert result.value <= local_now
        assert result.value.date() <= local_now.date()
        assert result.value.date() >= local_now.date() - timedelta(days=max_age)
        if not result.has_time:
            assert (result.value.hour, result.value.minute) == (0, 0)
    else:
        assert result.value > local_now
        if not result.has_time:
            assert (result.value.hour, result.value.minute) == (23, 59)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80), want=st.sampled_from(["past", "future"]))
def test_never_raises_on_any_text(text: str, want: str) -> None:
    result = parse_when(text, NOW, want=want)  # type: ignore[arg-type]
    _check_invariants(result, NOW, want, 60)


@settings(max_examples=500, deadline=None)
@given(
    text=DATEISH,
    now=NOWS,
    want=st.sampled_from(["past", "future"]),
    max_age=st.integers(0, 400),
)
def test_never_raises_on_dateish_text(text: str, now: datetime, want: str, max_age: int) -> None:
    result = parse_when(text, now, want=want, max_age_days=max_age)  # type: ignore[arg-type]
    _check_invariants(result, now, want, max_age)


@settings(max_examples=200, deadline=None)
@given(now=NOWS, offset=st.integers(0, 59))
def test_days_ago_roundtrip(now: datetime, offset: int) -> None:
    result = parse_when(f"{offset}天前", now, want="past")
    assert result.value is not None
    assert result.value.date() == now.date() - timedelta(days=offset)


@settings(max_examples=200, deadline=None)
@given(now=NOWS, day=st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)))
def test_iso_date_agrees_with_checks(now: datetime, day: date) -> None:
    result = parse_when(day.isoformat(), now, want="future")
    if day >= now.date():
        assert result.value == datetime(day.year, day.month, day.day, 23, 59, tzinfo=SH)
    else:
        assert result.reason == "past"
