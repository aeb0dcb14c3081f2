"""Pure parser for the dates users type (report dates, deadlines, follow-ups).

No I/O, no clock of its own (the reference time ``now`` is always passed in), no
``telegram`` import and no user-facing text: a refusal is a machine-readable
reason code that the UI translates.  The Chinese words below are parsing
vocabulary only.

Resolution rules (``today`` is the local date of ``now`` in ``tz``):

* Chinese and numeric forms are parsed by the grammar below.  Text without
  Chinese characters whose every word is in a small English date vocabulary
  ("yesterday", "last Friday", "tomorrow 3pm" ...) goes to dateparser with
  languages zh/en, ``TIMEZONE=tz`` and ``RELATIVE_BASE`` = ``now`` as naive
  local time; only day- or time-precision results are accepted.  Anything
  else is ``"not_a_date"`` (dateparser alone reads noise such as "-9天" or
  "sa" as dates).
* Relative moments: 3小时前, 半小时后, 10分钟后 (``has_time``, minute precision).
* Full-width characters are folded (NFKC), Chinese numerals become digits
  (三天前 = 3天前), blanks around Chinese text and trailing 。!? are ignored.
  A leading 截止/截至/到/于/在 and a trailing 前/之前/以前/为止 ("by") are
  ignored when the rest is a date (but 3天前 is "3 days ago").
* A date without a time is 00:00 for ``want="past"`` and 23:59 for
  ``want="future"`` (a deadline lasts the whole day); ``has_time`` is False.
* A date without a year (11月20日, 11/20, 11月底), a bare day (20号) and a bare
  weekday (周三) mean the nearest such day in the wanted direction, today
  included: the most recent one not after today for past, the next one not
  before today for future.
* 上周X / 这周X / 下周X (also 星期X, 礼拜X, 上上周, 下下周) use calendar weeks
  starting on Monday: on Sunday 2026-11-22, 上周五 is 2026-11-13 and 下周三 is
  2026-11-25.  (English "last Friday" is dateparser's: the most recent Friday.)
* Month periods: 底/末 = last day of the month; 中 = the 15th; 初 = the 5th
  for future (a deadline "early next month" gives the first five days) and the
  1st for past; 上旬/中旬/下旬 = the 10th/20th/last day for future and the
  1st/11th/21st for past.  月底/本月底 = this month, 下月/下个月 = next month,
  上月 = last month.  年底/年末/今年底 = 31 December; 2024年底 = 31 Dec 2024.
* Before a holiday (a deadline as government notices write it) is the day
  before it, the nearest such day in the wanted direction: 国庆(节)前 = 30
  September, 元旦前 = 31 December, 五一前/劳动节前 = 30 April, 春节前/过年前/年前
  = the eve of the lunar new year (from the ``lunardate`` library; years it
  does not cover are refused).  A year names the holiday's year: 2027年元旦前 is
  2026-12-31, 明年春节前 the eve of next year's Spring Festival.
* Times: 17:00, 3点, 3点半, 3点15(分), 3点1刻; 下午/傍晚/晚上/夜里 add 12 to
  hours 1..11, 中午 adds 12 to hours 1..2, 晚上12点 is refused as ambiguous.
  24点/24时/24:00 is the end of the day, 23:59 of that day.  中午前 is 12:00
  and 下班前 is 18:00 (the end of the working day); both are times.
  A bare hour (3点) is read on the 24-hour clock.  A time without a date is
  today (it never rolls over to tomorrow).  A part of the day without an hour
  (昨天下午) keeps only the date.
* Refusals: ``"empty"`` blank text; ``"not_a_date"`` unreadable; for past,
  ``"future"`` when the day is after today (or, with a time, the moment is
  after ``now``) and ``"too_old"`` when the day is more than ``max_age_days``
  before today; for future, ``"past"`` when the value is not after ``now``.
"""

from __future__ import annotations

import calendar
import functools
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from .numbers import CN_NUMERAL_CHARS, chinese_int

__all__ = [
    "EXAMPLES_FUTURE",
    "EXAMPLES_PAST",
    "REASONS",
    "When",
    "end_of_month",
    "parse_date",
    "parse_when",
]

Want = Literal["past", "future"]
DEFAULT_TZ = "Asia/Shanghai"

# Example inputs the UI may show as hints (inputs, not messages).
EXAMPLES_PAST = ("昨天", "11月20日")
EXAMPLES_FUTURE = ("下周三", "12月5日")

REASONS = ("empty", "not_a_date", "future", "too_old", "past")

_MAX_LEN = 60  # longer texts are not dates
_DEADLINE_TIME = time(23, 59)
_YEAR_RANGE = (1900, 2200)


@dataclass(frozen=True)
class When:
    """Result of :func:`parse_when`: exactly one of ``value`` / ``reason`` is set."""

    value: datetime | None
    reason: str | None
    has_time: bool = False
    # The year was not typed but chosen (the nearest 11月底 in the wanted direction): a far
    # deadline read this way is worth a question (see bot.rules.deadlines.year_to_confirm).
    year_inferred: bool = False

    @property
    def ok(self) -> bool:
        return self.value is not None

    @property
    def day(self) -> date | None:
        return None if self.value is None else self.value.date()


def _refuse(reason: str) -> When:
    return When(value=None, reason=reason, has_time=False)


def end_of_month(year: int, month: int, tz: str = DEFAULT_TZ) -> datetime:
    """23:59:00 on the last day of ``year``-``month``, aware in ``tz``."""
    last = calendar.monthrange(year, month)[1]
    return datetime(year, month, last, 23, 59, tzinfo=ZoneInfo(tz))


# --------------------------------------------------------------------------- normaliser

_CJK = r"\u3400-\u9fff"
_CN_NUM_RUN = re.compile(f"[{CN_NUMERAL_CHARS}]+")
_TRAILING_PUNCT = re.compile(r"[\s。.!！?？~～,，;；、]+$")

# Parsing vocabulary (not user-facing text): shorthand expanded before parsing.
_SHORTHANDS = (
    ("今晚", "今天晚上"),
    ("明晚", "明天晚上"),
    ("昨晚", "昨天晚上"),
    ("今早", "今天早上"),
    ("明早", "明天早上"),
    ("星期日", "周日"),
    ("星期天", "周日"),
    ("礼拜日", "周日"),
    ("礼拜天", "周日"),
    ("周天", "周日"),
    ("国庆节", "国庆"),
    ("元旦节", "元旦"),
    ("五一劳动节", "劳动节"),
    ("五一节", "劳动节"),
)
# Parsing vocabulary (not user-facing text): 五一 (May Day) before "before",
# renamed before Chinese numerals become digits (五一 would read as 51).
_MAY_DAY = re.compile(r"五一(?=(?:之前|以前|前))")
# Parsing vocabulary (not user-facing text): leading words meaning "by / on".
_LEADING_FILLER = re.compile(r"^(?:截止到|截止|截至|到|于|在)")
# Parsing vocabulary (not user-facing text): trailing words meaning "before / by".
_TRAILING_BY = re.compile(r"(?:之前|以前|为止|前|止)$")


def _numerals_to_digits(s: str) -> str:
    def repl(m: re.Match[str]) -> str:
        n = chinese_int(m.group(0))
        return m.group(0) if n is None else str(n)

    return _CN_NUM_RUN.sub(repl, s)


def _normalize(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).lower().strip()
    s = _TRAILING_PUNCT.sub("", s)
    s = re.sub(rf"\s+(?=[{_CJK}])|(?<=[{_CJK}])\s+", "", s)
    s = re.sub(r"\s+", " ", s)
    for short, full in _SHORTHANDS:
        s = s.replace(short, full)
    s = _MAY_DAY.sub("劳动节", s)
    return _numerals_to_digits(s)


# --------------------------------------------------------------------------- grammar

# Parsing vocabulary (not user-facing text): day words and their offsets.
_DAY_WORDS = {
    "大前天": -3,
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "今天": 0,
    "今日": 0,
    "今儿": 0,
    "大后天": 3,
    "明天": 1,
    "明日": 1,
    "后天": 2,
}
# Parsing vocabulary (not user-facing text): relative years.
_REL_YEARS = {"前": -2, "去": -1, "今": 0, "本": 0, "明": 1, "后": 2}
# Parsing vocabulary (not user-facing text): weekdays after 周/星期/礼拜.
_WEEKDAYS = {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6, "日": 6}
# Parsing vocabulary (not user-facing text): parts of a month.
_MONTH_PARTS = "上旬|中旬|下旬|底|末|初|中"
# Parsing vocabulary (not user-facing text): parts of the day before an hour.
_PM_WORDS = ("下午", "傍晚", "晚上", "夜里", "夜间")
_AM_WORDS = ("凌晨", "早上", "早晨", "清晨", "上午")

_YEAR = r"(?:(?P<y>\d{4}|\d{2})年|(?P<ry>[前去今本明后])年)"
_P_DAYWORD = re.compile("|".join(sorted(_DAY_WORDS, key=len, reverse=True)))
_P_RELATIVE = re.compile(
    r"(?P<n>\d{1,4})(?P<unit>天|日|周|个星期|个礼拜|星期|礼拜|个月)"
    r"(?P<dir>以前|之前|前|以后|之后|后|以内|之内|内)"
)
_P_WEEKDAY = re.compile(r"(?P<rel>[上下]+|这|本)?个?(?:周|星期|礼拜)(?P<wd>[1-7日])")
_P_ISO = re.compile(r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?!\d)")
_P_CN_YMD = re.compile(rf"{_YEAR}?(?P<m>\d{{1,2}})月份?(?P<d>\d{{1,2}})(?:日|号)?")
_P_REL_MD = re.compile(r"(?P<rm>上上|上|本|这|下下|下)个?月(?P<d>\d{1,2})(?:日|号)")
_P_SLASH_MD = re.compile(r"(?P<m>\d{1,2})[/.](?P<d>\d{1,2})(?![\d/.])")
_P_DAY_ONLY = re.compile(r"(?P<d>\d{1,2})(?:日|号)")
_P_MONTH_PART = re.compile(rf"{_YEAR}?(?P<m>\d{{1,2}})月份?(?P<p>{_MONTH_PARTS})")
_P_REL_MONTH_PART = re.compile(rf"(?P<rm>上上|上|本|这|下下|下)?个?月(?P<p>{_MONTH_PARTS})")
# Parsing vocabulary (not user-facing text): holidays whose eve is a deadline.
_HOLIDAYS = "国庆|元旦|劳动节|春节|过年|年"
_P_HOLIDAY_EVE = re.compile(rf"{_YEAR}?(?P<h>{_HOLIDAYS})(?:之前|以前|前)")
_P_YEAR_END = re.compile(r"(?:(?P<y>\d{4}|\d{2})|(?P<ry>[前去今本明后]))?年年?(?:底|末|终)")

_P_TIME = re.compile(
    r"(?P<pod>凌晨|早上|早晨|清晨|上午|中午|下午|傍晚|晚上|夜里|夜间)?"
    r"(?:(?P<h>\d{1,2})(?::(?P<mi>\d{2})"
    r"|(?:点|时)(?:(?P<half>半)|(?P<q>[1-3])刻|(?P<mi2>\d{1,2})分?)?)钟?)?"
)
# Parsing vocabulary (not user-facing text): "before noon" / "before the end of
# the working day" and the times they mean.
_P_DAY_END = re.compile(r"(?P<w>中午|下班)(?:之前|以前|前)")
_DAY_END_TIMES = {"中午": time(12, 0), "下班": time(18, 0)}
_END_OF_DAY_PODS = (None, "晚上", "夜里", "夜间")
_P_REL_TIME = re.compile(
    r"(?P<n>\d{1,6}|半)个?(?P<unit>小时|钟头|分钟)(?P<dir>以前|之前|前|以后|之后|后|以内|之内|内)"
)
_REL_MONTH = {"上上": -2, "上": -1, "本": 0, "这": 0, None: 0, "下": 1, "下下": 2}


class _NotADate(Exception):
    pass


@dataclass(frozen=True)
class _Ctx:
    now: datetime  # local, aware
    want: Want

    @property
    def today(self) -> date:
        return self.now.date()


def _mk_date(y: int, m: int, d: int) -> date:
    if not (_YEAR_RANGE[0] <= y <= _YEAR_RANGE[1]):
        raise _NotADate
    try:
        return date(y, m, d)
    except ValueError as exc:
        raise _NotADate from exc


def _add_months(y: int, m: int, k: int) -> tuple[int, int]:
    idx = y * 12 + (m - 1) + k
    return idx // 12, idx % 12 + 1


def _year_of(m: re.Match[str], today: date) -> int | None:
    gd = m.groupdict()
    if gd.get("y"):
        y = int(gd["y"])
        return y + 2000 if y < 100 else y
    if gd.get("ry"):
        return today.year + _REL_YEARS[gd["ry"]]
    return None


def _month_part_day(y: int, mon: int, part: str, want: Want) -> int:
    last = calendar.monthrange(y, mon)[1]
    future = want == "future"
    return {
        "底": last,
        "末": last,
        "中": 15,
        "初": 5 if future else 1,
        "上旬": 10 if future else 1,
        "中旬": 20 if future else 11,
        "下旬": last if future else 21,
    }[part]


def _holiday(name: str, year: int) -> date:
    """The day of holiday ``name`` in ``year`` (ValueError outside lunardate's years)."""
    if name == "国庆":
        return _mk_date(year, 10, 1)
    if name == "元旦":
        return _mk_date(year, 1, 1)
    if name == "劳动节":
        return _mk_date(year, 5, 1)
    from lunardate import LunarDate  # 春节 / 过年 / 年: lunar new year's day

    return LunarDate(year, 1, 1).to_solar_date()


def _nearest_year(ctx: _Ctx, make: Any) -> date:
    """Nearest date ``make(year)`` in the wanted direction, today included."""
    step = 1 if ctx.want == "future" else -1
    for k in range(9):  # 9 years covers 29 February
        y = ctx.today.year + step * k
        try:
            d = make(y)
        except (_NotADate, ValueError):
            continue
        if (d >= ctx.today) if step > 0 else (d <= ctx.today):
            return d
    raise _NotADate


def _nearest_month(ctx: _Ctx, day: int) -> date:
    step = 1 if ctx.want == "future" else -1
    for k in range(13):
        y, mon = _add_months(ctx.today.year, ctx.today.month, step * k)
        try:
            d = _mk_date(y, mon, day)
        except _NotADate:
            continue
        if (d >= ctx.today) if step > 0 else (d <= ctx.today):
            return d
    raise _NotADate


def _date_prefix(s: str, ctx: _Ctx) -> list[tuple[date, str, bool]]:
    """Every reading of a date at the start of ``s``: (day, rest of text, year inferred)."""
    today = ctx.today
    out: list[tuple[date, str, bool]] = []

    def add(m: re.Match[str] | None, build: Any, yearless: bool = False) -> None:
        if m is None:
            return
        try:
            day = build(m)
        except (_NotADate, ValueError, OverflowError):
            return
        out.append((day, s[m.end() :], yearless and _year_of(m, today) is None))

    def relative(m: re.Match[str]) -> date:
        n = int(m["n"])
        sign = -1 if m["dir"].endswith("前") else 1
        unit = m["unit"]
        if unit == "个月":
            if n > 1200:
                raise _NotADate
            y, mon = _add_months(today.year, today.month, sign * n)
            return _mk_date(y, mon, min(today.day, calendar.monthrange(y, mon)[1]))
        days = n if unit in ("天", "日") else 7 * n
        if days > 36600:
            raise _NotADate
        return today + timedelta(days=sign * days)

    def weekday(m: re.Match[str]) -> date:
        wd = _WEEKDAYS[m["wd"]]
        rel = m["rel"]
        if rel is None:
            if ctx.want == "future":
                return today + timedelta(days=(wd - today.weekday()) % 7)
            return today - timedelta(days=(today.weekday() - wd) % 7)
        if rel in ("这", "本"):
            weeks = 0
        elif set(rel) == {"上"}:
            weeks = -len(rel)
        elif set(rel) == {"下"}:
            weeks = len(rel)
        else:
            raise _NotADate
        monday = today - timedelta(days=today.weekday())
        return monday + timedelta(days=7 * weeks + wd)

    def cn_ymd(m: re.Match[str]) -> date:
        mon, d = int(m["m"]), int(m["d"])
        y = _year_of(m, today)
        if y is not None:
            return _mk_date(y, mon, d)
        return _nearest_year(ctx, lambda yy: _mk_date(yy, mon, d))

    def rel_md(m: re.Match[str]) -> date:
        y, mon = _add_months(today.year, today.month, _REL_MONTH[m["rm"]])
        return _mk_date(y, mon, int(m["d"]))

    def slash_md(m: re.Match[str]) -> date:
        mon, d = int(m["m"]), int(m["d"])
        return _nearest_year(ctx, lambda yy: _mk_date(yy, mon, d))

    def month_part(m: re.Match[str]) -> date:
        mon, part = int(m["m"]), m["p"]
        if not 1 <= mon <= 12:
            raise _NotADate
        y = _year_of(m, today)
        if y is not None:
            return _mk_date(y, mon, _month_part_day(y, mon, part, ctx.want))
        return _nearest_year(
            ctx, lambda yy: _mk_date(yy, mon, _month_part_day(yy, mon, part, ctx.want))
        )

    def rel_month_part(m: re.Match[str]) -> date:
        y, mon = _add_months(today.year, today.month, _REL_MONTH[m["rm"]])
        return _mk_date(y, mon, _month_part_day(y, mon, m["p"], ctx.want))

    def holiday_eve(m: re.Match[str]) -> date:
        name = m["h"]
        y = _year_of(m, today)
        if y is not None:
            if name == "年":  # 明年年前 says nothing clear
                raise _NotADate
            return _holiday(name, y) - timedelta(days=1)
        return _nearest_year(ctx, lambda yy: _holiday(name, yy) - timedelta(days=1))

    def year_end(m: re.Match[str]) -> date:
        y = _year_of(m, today)
        return _mk_date(today.year if y is None else y, 12, 31)

    add(_P_RELATIVE.match(s), relative)
    add(_P_DAYWORD.match(s), lambda m: today + timedelta(days=_DAY_WORDS[m.group(0)]))
    add(_P_WEEKDAY.match(s), weekday)
    add(_P_ISO.match(s), lambda m: _mk_date(int(m["y"]), int(m["m"]), int(m["d"])))
    add(_P_CN_YMD.match(s), cn_ymd, yearless=True)
    add(_P_REL_MD.match(s), rel_md)
    add(_P_SLASH_MD.match(s), slash_md, yearless=True)
    add(_P_DAY_ONLY.match(s), lambda m: _nearest_month(ctx, int(m["d"])))
    add(_P_MONTH_PART.match(s), month_part, yearless=True)
    add(_P_REL_MONTH_PART.match(s), rel_month_part)
    add(_P_YEAR_END.match(s), year_end)
    add(_P_HOLIDAY_EVE.match(s), holiday_eve, yearless=True)
    return out


def _time_of(rest: str) -> tuple[time | None] | None:
    """Parse the time part; ``None`` if unreadable, ``(None,)`` if no hour given."""
    rest = rest.strip()
    if rest.startswith("t") and rest[1:2].isdigit():
        rest = rest[1:]
    if not rest:
        return (None,)
    end = _P_DAY_END.fullmatch(rest)
    if end is not None:
        return (_DAY_END_TIMES[end["w"]],)
    m = _P_TIME.fullmatch(rest)
    if m is None or (not m["pod"] and m["h"] is None):
        return None
    if m["h"] is None:
        return (None,)
    h = int(m["h"])
    if m["mi"] is not None:
        mi = int(m["mi"])
    elif m["mi2"] is not None:
        mi = int(m["mi2"])
    elif m["half"]:
        mi = 30
    elif m["q"]:
        mi = 15 * int(m["q"])
    else:
        mi = 0
    pod = m["pod"]
    if h == 24 and mi == 0 and pod in _END_OF_DAY_PODS:
        return (_DEADLINE_TIME,)  # 24点: the end of that day
    if pod in _PM_WORDS:
        if h == 12 and pod in ("晚上", "夜里", "夜间"):
            return None  # midnight of which day?
        if 1 <= h <= 11:
            h += 12
    elif pod == "中午":
        if 1 <= h <= 2:
            h += 12
        elif h not in (11, 12):
            return None
    elif pod in _AM_WORDS and h > 12:
        return None
    if h > 23 or mi > 59:
        return None
    return (time(h, mi),)


def _grammar(s: str, ctx: _Ctx) -> tuple[date, time | None, bool] | None:
    m = _P_REL_TIME.fullmatch(s)
    if m is not None:
        n = 0.5 if m["n"] == "半" else int(m["n"])
        minutes = n * (60 if m["unit"] in ("小时", "钟头") else 1)
        if minutes > 60 * 24 * 366:
            return None
        sign = -1 if m["dir"].endswith("前") else 1
        moment = (ctx.now + timedelta(minutes=sign * minutes)).replace(second=0, microsecond=0)
        return moment.date(), moment.time(), False
    for day, rest, inferred in _date_prefix(s, ctx):
        t = _time_of(rest)
        if t is not None:
            return day, t[0], inferred
    t = _time_of(s)
    if t is not None and t[0] is not None:
        return ctx.today, t[0], False
    return None


# --------------------------------------------------------------------------- dateparser

_DATEPARSER_LOCK = threading.Lock()

# Parsing vocabulary (not user-facing text): English words passed to dateparser.
_EN_WORDS = frozenset(
    """
    today tonight yesterday tomorrow now noon midnight morning afternoon evening night
    last next this coming past ago in on at by the of a an and before after
    day days week weeks fortnight month months year years
    hour hours hr hrs minute minutes min mins am pm st nd rd th t
    monday tuesday wednesday thursday friday saturday sunday
    mon tue tues wed thu thur thurs fri sat sun
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)


@functools.lru_cache(maxsize=8)
def _dateparser(want: Want, tz: str) -> tuple[Any, Any]:
    """One reused DateDataParser per (want, tz) and its base settings."""
    from dateparser.date import DateDataParser

    parser = DateDataParser(
        languages=["zh", "en"],
        settings={
            "PREFER_DATES_FROM": want,
            "TIMEZONE": tz,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "RETURN_TIME_AS_PERIOD": True,
        },
    )
    return parser, parser._settings


def _fallback(s: str, now_local: datetime, want: Want, tz: str) -> tuple[datetime, bool] | None:
    """dateparser reading of ``s``: (aware value, has_time) or None.

    dateparser reads RELATIVE_BASE as a naive wall-clock time in TIMEZONE (an
    aware base in another zone, e.g. UTC, shifts "today"), so the base is
    ``now`` converted to ``tz`` with tzinfo dropped.  Settings are fixed when a
    DateDataParser is built, so the cached parser gets a copy of its settings
    with the new RELATIVE_BASE under a lock before each call.
    """
    # dateparser reads much noise as dates ("-9天", "sa", "9d"), so it only gets
    # Latin text whose every word is in the English vocabulary below; Chinese
    # forms and bare numbers are the grammar's job.
    words = re.findall(r"[a-z]+", s)
    if not words or re.search(f"[{_CJK}]", s) or not set(words) <= _EN_WORDS:
        return None
    parser, base = _dateparser(want, tz)
    naive_now = now_local.replace(tzinfo=None)
    with _DATEPARSER_LOCK:
        parser._settings = base.replace(RELATIVE_BASE=naive_now)
        data = parser.get_date_data(s)
    value = data.date_obj
    if value is None or data.period not in ("day", "time"):
        return None  # week / month / year precision is not a date
    zone = ZoneInfo(tz)
    value = value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
    if data.period == "time":
        return value.replace(microsecond=0), True
    return value.replace(hour=0, minute=0, second=0, microsecond=0), False


# --------------------------------------------------------------------------- public API


def parse_when(
    text: str,
    now: datetime,
    *,
    want: Want,
    max_age_days: int = 60,
    tz: str = DEFAULT_TZ,
) -> When:
    """Parse a date (optionally with a time) typed by a user; see the module doc.

    ``now`` must be timezone-aware (a naive ``now`` raises ``ValueError``); the
    result is aware in ``tz``.  Never raises on any ``text``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if want not in ("past", "future"):
        raise ValueError(f"want must be 'past' or 'future', not {want!r}")
    zone = ZoneInfo(tz)
    now_local = now.astimezone(zone)
    if not isinstance(text, str):
        return _refuse("not_a_date")
    try:
        s = _normalize(text)
    except Exception:
        return _refuse("not_a_date")
    if not s:
        return _refuse("empty")
    if len(s) > _MAX_LEN:
        return _refuse("not_a_date")

    ctx = _Ctx(now=now_local, want=want)
    value: datetime | None = None
    has_time = False
    inferred = False
    try:
        s = _LEADING_FILLER.sub("", s) or s
        parsed = _grammar(s, ctx)
        if parsed is None and _TRAILING_BY.search(s):
            stripped = _TRAILING_BY.sub("", s)
            parsed = _grammar(stripped, ctx) if stripped else None
        if parsed is not None:
            day, at, inferred = parsed
            has_time = at is not None
            if at is None:
                at = _DEADLINE_TIME if want == "future" else time(0, 0)
            value = datetime.combine(day, at, tzinfo=zone)
        else:
            fb = _fallback(s, now_local, want, tz)
            if fb is not None:
                value, has_time = fb
                if not has_time and want == "future":
                    value = datetime.combine(value.date(), _DEADLINE_TIME, tzinfo=zone)
    except Exception:  # a user's text must never crash a flow
        value = None
    if value is None:
        return _refuse("not_a_date")

    today = ctx.today
    if want == "past":
        if (value > now_local) if has_time else (value.date() > today):
            return _refuse("future")
        if value.date() < today - timedelta(days=max_age_days):
            return _refuse("too_old")
    elif value <= now_local:
        return _refuse("past")
    return When(value=value, reason=None, has_time=has_time, year_inferred=inferred)


def parse_date(
    text: str,
    now: datetime,
    *,
    want: Want = "past",
    max_age_days: int = 60,
    tz: str = DEFAULT_TZ,
) -> When:
    """Day-precision variant of :func:`parse_when`.

    Same checks, but a successful value is local midnight of the day and
    ``has_time`` is False (any typed time is dropped after the checks).
    """
    when = parse_when(text, now, want=want, max_age_days=max_age_days, tz=tz)
    if when.value is None:
        return when
    midnight = datetime.combine(when.value.date(), time(0, 0), tzinfo=ZoneInfo(tz))
    return When(value=midnight, reason=None, has_time=False, year_inferred=when.year_inferred)
