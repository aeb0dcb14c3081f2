"""Pure rules of recurring events and of reminder times (no I/O, no clock, no ``telegram``).

A :class:`Rule` says when an event recurs, at a local clock time:

* ``monthly_day``: on day ``day`` of the month; a day past the end of a short month means that
  month's last day (``day=31`` is "the last day of every month", 30 in February is the 28th/29th);
* ``monthly_weekday``: on the ``nth`` (1..4, or ``LAST``) ``weekday`` of the month
  (每月第一个周五 is ``nth=1, weekday=4``);
* ``weekly``: on ``weekday`` every week.

``every`` spaces the periods (``every=2`` with a monthly kind is "every two months", counted
from the month of ``anchor``; with ``weekly`` "every other week" counted from the week of
``anchor``). Occurrences before ``anchor`` (a local date) never happen.

A :class:`Lead` says how long before an event (or a deadline) a reminder goes out: either
``days`` before at a clock time (``d3@09:00``, ``d0@09:00`` = on the day at 09:00) or a number
of minutes before (``m120`` = two hours before). :func:`lead_slots` turns the leads of one
moment into :class:`Slot` s: each is due at its time and stays useful until the next one is
due (or the moment itself), so a reminder missed while the bot was down is sent late only if
no newer one has replaced it.

:func:`parse_rule` reads the recurrences users type (每月15号, 每月第一个周五, 每两个月10号,
每周三...); its Chinese words are parsing vocabulary, not user-facing text.
"""

from __future__ import annotations

import calendar
import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from .numbers import chinese_int

__all__ = [
    "DEFAULT_EVENT_LEADS",
    "KINDS",
    "LAST",
    "MONTHLY_DAY",
    "MONTHLY_WEEKDAY",
    "WEEKLY",
    "Lead",
    "Rule",
    "Slot",
    "arranged",
    "arranged_slots",
    "due_slot",
    "event_slots",
    "last_day",
    "lead_slots",
    "next_slot_at",
    "nth_weekday",
    "occurrence_on",
    "occurrences",
    "parse_rule",
    "upcoming",
]

MONTHLY_DAY = "monthly_day"
MONTHLY_WEEKDAY = "monthly_weekday"
WEEKLY = "weekly"
KINDS = (MONTHLY_DAY, MONTHLY_WEEKDAY, WEEKLY)
LAST = -1
_SEARCH_YEARS = 30  # an occurrence further away than this does not exist


def _zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def nth_weekday(year: int, month: int, nth: int, weekday: int) -> date | None:
    """The ``nth`` (1..5, or ``LAST``) ``weekday`` (0 = Monday) of a month, None if none."""
    if nth == LAST:
        end = date(year, month, last_day(year, month))
        return end - timedelta(days=(end.weekday() - weekday) % 7)
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    return day if day.month == month else None


def _add_months(year: int, month: int, k: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + k
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class Rule:
    kind: str
    hour: int = 9
    minute: int = 0
    day: int = 1
    nth: int = 1
    weekday: int = 0
    every: int = 1
    anchor: date | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown recurrence kind {self.kind!r}")
        if not (0 <= self.hour <= 23 and 0 <= self.minute <= 59):
            raise ValueError("hour/minute out of range")
        if not 1 <= self.day <= 31:
            raise ValueError("day must be 1..31")
        if self.nth not in (1, 2, 3, 4, LAST):
            raise ValueError("nth must be 1..4 or LAST")
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0..6")
        if not 1 <= self.every <= 12:
            raise ValueError("every must be 1..12")
        if self.every > 1 and self.anchor is None:
            raise ValueError("a rule with every > 1 needs an anchor")

    @property
    def at(self) -> time:
        return time(self.hour, self.minute)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["anchor"] = self.anchor.isoformat() if self.anchor else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        values = dict(data)
        if values.get("anchor"):
            values["anchor"] = date.fromisoformat(values["anchor"])
        return cls(**values)

    def replace(self, **changes: Any) -> Rule:
        return dataclasses.replace(self, **changes)

    # -- days ---------------------------------------------------------------------------
    def day_in_month(self, year: int, month: int) -> date | None:
        """The day of a monthly rule in that month (ignores ``every`` and ``anchor``)."""
        if self.kind == MONTHLY_DAY:
            return date(year, month, min(self.day, last_day(year, month)))
        if self.kind == MONTHLY_WEEKDAY:
            return nth_weekday(year, month, self.nth, self.weekday)
        raise ValueError("not a monthly rule")

    def _month_counts(self, year: int, month: int) -> bool:
        if self.every == 1 or self.anchor is None:
            return True
        diff = (year * 12 + month) - (self.anchor.year * 12 + self.anchor.month)
        return diff % self.every == 0

    def _week_counts(self, day: date) -> bool:
        if self.every == 1 or self.anchor is None:
            return True
        monday = self.anchor - timedelta(days=self.anchor.weekday())
        return ((day - monday).days // 7) % self.every == 0

    def days_from(self, start: date) -> Iterator[date]:
        """The days of the rule on or after ``start`` (and not before ``anchor``), in order."""
        if self.anchor is not None and start < self.anchor:
            start = self.anchor
        limit = start.year + _SEARCH_YEARS
        if self.kind == WEEKLY:
            day = start + timedelta(days=(self.weekday - start.weekday()) % 7)
            while day.year <= limit:
                if self._week_counts(day):
                    yield day
                day += timedelta(days=7)
            return
        year, month = start.year, start.month
        while year <= limit:
            if self._month_counts(year, month):
                day = self.day_in_month(year, month)
                if day is not None and day >= start:
                    yield day
            year, month = _add_months(year, month, 1)

    def is_day(self, day: date) -> bool:
        return next(iter(self.days_from(day)), None) == day


def occurrence_on(rule: Rule, day: date, tz: tzinfo | str) -> datetime:
    """The aware moment of the rule's occurrence on ``day``."""
    return datetime.combine(day, rule.at, tzinfo=_zone(tz))


def occurrences(rule: Rule, start: datetime, end: datetime, tz: tzinfo | str) -> list[datetime]:
    """Aware occurrences ``o`` with ``start <= o < end`` (``start``/``end`` aware)."""
    zone = _zone(tz)
    out: list[datetime] = []
    for day in rule.days_from(start.astimezone(zone).date()):
        moment = occurrence_on(rule, day, zone)
        if moment >= end:
            break
        if moment >= start:
            out.append(moment)
    return out


def upcoming(rule: Rule, after: datetime, tz: tzinfo | str, count: int = 1) -> list[datetime]:
    """The next ``count`` occurrences strictly after ``after``."""
    zone = _zone(tz)
    out: list[datetime] = []
    for day in rule.days_from(after.astimezone(zone).date()):
        moment = occurrence_on(rule, day, zone)
        if moment > after:
            out.append(moment)
            if len(out) == count:
                break
    return out


# --------------------------------------------------------------------------- leads

_LEAD = re.compile(r"^(?:d(?P<d>\d{1,2})@(?P<h>\d{2}):(?P<mi>\d{2})|m(?P<m>\d{1,5}))$")


@dataclass(frozen=True)
class Lead:
    """How long before a moment a reminder goes out (see the module doc)."""

    days: int = 0
    at: time | None = None
    minutes: int = 0

    @classmethod
    def parse(cls, code: str) -> Lead:
        return _parse_lead(code)

    @classmethod
    def _parse(cls, code: str) -> Lead:
        match = _LEAD.match(code)
        if match is None:
            raise ValueError(f"not a lead code: {code!r}")
        if match["m"] is not None:
            return cls(minutes=int(match["m"]))
        return cls(days=int(match["d"]), at=time(int(match["h"]), int(match["mi"])))

    @functools.cached_property
    def code(self) -> str:  # worked out once per lead (frozen)
        if self.at is None:
            return f"m{self.minutes}"
        return f"d{self.days}@{self.at:%H:%M}"

    def moment(self, when: datetime) -> datetime:
        """When the reminder for ``when`` (aware) goes out, in ``when``'s zone."""
        if self.at is None:
            return when - timedelta(minutes=self.minutes)
        day = when.date() - timedelta(days=self.days)
        return datetime.combine(day, self.at, tzinfo=when.tzinfo)

    def span(self) -> timedelta:
        """An upper bound of how long before the moment this lead can be."""
        if self.at is None:
            return timedelta(minutes=self.minutes)
        return timedelta(days=self.days + 1)


@functools.lru_cache(maxsize=256)
def _parse_lead(code: str) -> Lead:
    """Lead codes are few (an event's or a task's handful): each is read once."""
    return Lead._parse(code)


DEFAULT_EVENT_LEADS = (Lead(days=3, at=time(9, 0)), Lead(minutes=120))


@dataclass(frozen=True)
class Slot:
    """One reminder: due ``at``, useful until ``until`` (exclusive); ``key`` names it."""

    key: str
    at: datetime
    until: datetime = field(compare=False)

    def due(self, now: datetime) -> bool:
        return self.at <= now < self.until


def lead_slots(when: datetime, leads: Iterable[Lead], *, not_before: datetime | None = None) -> list[Slot]:
    """The reminders of ``when``, in time order; leads falling at or after ``when`` (or before
    ``not_before``) are dropped, and two leads at the same instant give one slot."""
    moments: dict[datetime, str] = {}
    for moment, _index, lead in sorted((lead.moment(when), i, lead) for i, lead in enumerate(leads)):
        if moment >= when or (not_before is not None and moment < not_before):
            continue
        if moment not in moments:
            moments[moment] = lead.code
    ordered = sorted(moments.items())
    slots = []
    for i, (moment, code) in enumerate(ordered):
        until = ordered[i + 1][0] if i + 1 < len(ordered) else when
        slots.append(Slot(code, moment, until))
    return slots


def due_slot(slots: Iterable[Slot], now: datetime) -> Slot | None:
    """The slot due at ``now`` and still useful (at most one: slots do not overlap)."""
    return next((slot for slot in slots if slot.due(now)), None)


def next_slot_at(slots: Iterable[Slot], now: datetime) -> datetime | None:
    """When the next slot after ``now`` falls due (None if none)."""
    return min((slot.at for slot in slots if slot.at > now), default=None)


def event_slots(
    rule: Rule, leads: Iterable[Lead], now: datetime, tz: tzinfo | str, *, ahead: int = 3
) -> list[tuple[datetime, Slot]]:
    """The slots of the next ``ahead`` occurrences after ``now`` (or, for a lead reaching
    further than one period, as many as the leads need), with their occurrence."""
    leads = tuple(leads)
    reach = max((lead.span() for lead in leads), default=timedelta(0))
    out: list[tuple[datetime, Slot]] = []
    for index, moment in enumerate(upcoming(rule, now, tz, count=ahead + 60)):
        if index >= ahead and moment - reach > now:
            break
        out.extend((moment, slot) for slot in lead_slots(moment, leads))
    return out


# --------------------------------------------------------------------------- arranged occurrences
# One occurrence may have its own arrangement (storage.events.Occurrence): skipped this time, or
# moved to another moment. It keeps the rule's date as its key (its answers and pushes), so
# ``changes`` maps that date to anything with ``skipped`` and ``moved_to`` (aware or None).
def arranged(
    rule: Rule, changes: Mapping[date, Any], after: datetime, tz: tzinfo | str, count: int = 1, *,
    skipped: bool = False,
) -> list[tuple[date, datetime]]:
    """The next ``count`` occurrences strictly after ``after`` as arranged: ``(the rule's date,
    the moment it happens)`` in time order; a moved one at its new moment (also one whose own
    date is past or far off), a skipped one left out unless ``skipped``."""
    zone = _zone(tz)
    own = {m.date(): m for m in upcoming(rule, after, zone, count + len(changes))}
    for day, change in changes.items():
        if getattr(change, "moved_to", None) is not None and day not in own and rule.is_day(day):
            own[day] = occurrence_on(rule, day, zone)
    out = []
    for day, moment in own.items():
        change = changes.get(day)
        if change is not None and change.skipped and not skipped:
            continue
        moved = getattr(change, "moved_to", None) if change is not None else None
        at = moved.astimezone(zone) if moved is not None else moment
        if at > after:
            out.append((day, at))
    out.sort(key=lambda item: (item[1], item[0]))
    return out[:count]


def arranged_slots(
    rule: Rule, leads: Iterable[Lead], changes: Mapping[date, Any], now: datetime, tz: tzinfo | str, *, ahead: int = 3
) -> list[tuple[date, datetime, Slot]]:
    """:func:`event_slots` as arranged: the slots of the next occurrences (a skipped one has
    none, a moved one's follow its new moment), each with its date and moment."""
    leads = tuple(leads)
    reach = max((lead.span() for lead in leads), default=timedelta(0))
    most = ahead + 60
    count = min(ahead + 1, most)  # as many occurrences as the leads need: usually ahead + 1
    while True:
        # arranged(count) is a prefix of arranged(more): a longer reach asks again for more
        items = arranged(rule, changes, now, tz, count)
        out: list[tuple[date, datetime, Slot]] = []
        for index, (day, moment) in enumerate(items):
            if index >= ahead and moment - reach > now:
                return out
            out.extend((day, moment, slot) for slot in lead_slots(moment, leads))
        if len(items) < count or count >= most:
            return out
        count = min(count * 4, most)


# --------------------------------------------------------------------------- parsing

# Parsing vocabulary (not user-facing text): weekday names after 周/星期/礼拜.
_WEEKDAY_CHARS = {"一": 0, "1": 0, "二": 1, "2": 1, "三": 2, "3": 2, "四": 3, "4": 3, "五": 4, "5": 4,
                  "六": 5, "6": 5, "日": 6, "天": 6, "7": 6}
_NUM = r"[0-9一二两三四五六七八九十]+"
_P_EVERY = re.compile(rf"^(?:每(?P<n>{_NUM})?个?月|每?双月|隔月)")
_P_WEEK_EVERY = re.compile(rf"^(?:每(?P<n>{_NUM})?个?(?:周|星期|礼拜)|隔周)")
_P_NTH = re.compile(rf"^(?:的)?(?:第(?P<nth>{_NUM})个?|最后一个?)(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])")
_P_DAY = re.compile(rf"^(?:的)?(?P<d>{_NUM})(?:号|日)")
_P_LAST_DAY = re.compile(r"^(?:的)?(?:最后一天|月底|月末|底)")
_P_WEEKDAY = re.compile(r"^(?P<wd>[一二三四五六日天1-7])")


def _int(text: str | None, default: int) -> int | None:
    if text is None:
        return default
    if text.isdigit():
        return int(text)
    return chinese_int(text)


def parse_rule(text: str, *, anchor: date) -> tuple[Rule, str] | None:
    """Read a typed recurrence (每月15号, 每月第一个周五, 每两个月10号, 双月最后一天, 每周三,
    每两周周二...). Returns the rule at 09:00 and the rest of the text (a time, perhaps),
    or None. ``anchor`` is the date from which periods are counted (usually today)."""
    s = unicodedata.normalize("NFKC", text).strip().replace(" ", "")
    month_match = _P_EVERY.match(s)
    if month_match is not None:
        if month_match.group(0) in ("双月", "每双月", "隔月"):
            every: int | None = 2
        else:
            every = _int(month_match["n"], 1)
        if every is None or not 1 <= every <= 12:
            return None
        rest = s[month_match.end() :]
        kw: dict[str, Any] = {"every": every, "anchor": anchor}
        if (m := _P_NTH.match(rest)) is not None:
            nth = LAST if m["nth"] is None else _int(m["nth"], 1)
            if nth not in (1, 2, 3, 4, LAST):
                return None
            rule = Rule(MONTHLY_WEEKDAY, nth=nth, weekday=_WEEKDAY_CHARS[m["wd"]], **kw)
        elif (m := _P_DAY.match(rest)) is not None:
            day = _int(m["d"], 1)
            if day is None or not 1 <= day <= 31:
                return None
            rule = Rule(MONTHLY_DAY, day=day, **kw)
        elif (m := _P_LAST_DAY.match(rest)) is not None:
            rule = Rule(MONTHLY_DAY, day=31, **kw)
        else:
            return None
        return rule, rest[m.end() :]
    week_match = _P_WEEK_EVERY.match(s)
    if week_match is not None:
        every = 2 if week_match.group(0) == "隔周" else _int(week_match["n"], 1)
        if every is None or not 1 <= every <= 12:
            return None
        rest = s[week_match.end() :]
        rest = re.sub(r"^(?:的)?(?:周|星期|礼拜)", "", rest)
        m = _P_WEEKDAY.match(rest)
        if m is None:
            return None
        return Rule(WEEKLY, weekday=_WEEKDAY_CHARS[m["wd"]], every=every, anchor=anchor), rest[m.end() :]
    return None
