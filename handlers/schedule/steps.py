"""The recurrence and time steps of the /schedule form (see :mod:`handlers.schedule.conversation`).

The draft holds plain JSON under the steps' names: ``title``, the recurrence (``kind`` and
``every``, then ``day``, ``nth``, ``weekday``, ``start`` as they apply), ``time`` ("14:30"),
``place``, ``speaker``, ``units``, ``leads``, ``audience`` and, when an existing event is
edited, its ``event_id``. A typed recurrence (每月第一个周五下午2点半) fills the day, the
weekday and the time at once; those steps are then not asked (``skip_answered``).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from bot.forms.core import Button, Choice, Custom, Env, Input, Outcome, Screen, day_label, payload
from bot.rules import holidays
from bot.rules.dates import parse_when
from bot.rules.ids import parse_page
from bot.rules.recurrence import (
    LAST,
    MONTHLY_DAY,
    MONTHLY_WEEKDAY,
    WEEKLY,
    Lead,
    Rule,
    parse_rule,
    upcoming,
)
from bot.services import notices

FLOW = "sched_ev"
# Kinds offered on the first recurrence screen: (code, rule kind, every).
KIND_CHOICES = (("md", MONTHLY_DAY, 1), ("mw", MONTHLY_WEEKDAY, 1), ("md2", MONTHLY_DAY, 2),
                ("mw2", MONTHLY_WEEKDAY, 2), ("wk", WEEKLY, 1))
TIME_CHOICES = ("09:00", "10:00", "14:30", "15:00")
LEAD_CHOICES = tuple(Lead.parse(code) for code in ("d7@09:00", "d3@09:00", "d1@09:00", "d0@08:00", "m120", "m60", "m30"))
RULE_FIELDS = ("kind", "every", "day", "nth", "weekday", "start")
NTHS = ("1", "2", "3", "4", "last")


def nth_code(value: int) -> str:
    return "last" if value == LAST else str(value)


def rule_of(draft: dict[str, Any]) -> Rule | None:
    """The draft's recurrence, once every part of it is known."""
    kind, at = draft.get("kind"), str(draft.get("time") or "")
    if kind is None or ":" not in at:
        return None
    try:
        nth = str(draft.get("nth") or "1")
        hour, minute = at.split(":")
        return Rule(
            kind,
            hour=int(hour),
            minute=int(minute),
            day=int(draft.get("day") or 1),
            nth=LAST if nth == "last" else int(nth),
            weekday=int(draft.get("weekday") or 0),
            every=int(draft.get("every") or 1),
            anchor=date.fromisoformat(draft["start"]) if draft.get("start") else None,
        )
    except (ValueError, TypeError):
        return None


def rule_draft(rule: dict[str, Any]) -> dict[str, Any]:
    """A stored rule as the form's answers (editing an event)."""
    out: dict[str, Any] = {"kind": rule["kind"], "every": rule.get("every") or 1, "time": f"{rule['hour']:02d}:{rule['minute']:02d}"}
    if rule["kind"] == MONTHLY_DAY:
        out["day"] = str(rule.get("day") or 1)
    else:
        out["weekday"] = str(rule.get("weekday") or 0)
        if rule["kind"] == MONTHLY_WEEKDAY:
            out["nth"] = nth_code(int(rule.get("nth") or 1))
    if rule.get("anchor"):
        out["start"] = str(rule["anchor"])
    return out


def clear_rule(draft: dict[str, Any]) -> None:
    for key in RULE_FIELDS:
        draft.pop(key, None)


def monthly(draft: dict[str, Any]) -> bool:
    return draft.get("kind") in (MONTHLY_DAY, MONTHLY_WEEKDAY)


def other(env: Env, inp: Input) -> Outcome:
    """Neither a typed answer nor one of the step's buttons."""
    if inp.kind == "button":
        return Outcome(alert=env.t("form.stale"))
    return Outcome(note=env.t("form.wrong.text"))


# -- how often ------------------------------------------------------------------------------
async def kind_show(env: Env, draft: dict[str, Any]) -> Screen:
    rows = [[Button(env.t(f"sched.kind.{code}"), payload(FLOW, "kind", code))] for code, _, _ in KIND_CHOICES]
    return Screen(env.t("sched.ask.kind"), rows)


async def kind_handle(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind == "button" and inp.action == "kind":
        choice = next(((kind, every) for c, kind, every in KIND_CHOICES if c == inp.arg), None)
        if choice is None:
            return Outcome(alert=env.t("form.stale"))
        clear_rule(draft)
        draft["kind"], draft["every"] = choice
        return Outcome(done=True)
    if inp.kind != "text":
        return other(env, inp)
    local = env.now.astimezone(ZoneInfo(env.tz))
    parsed = parse_rule(inp.text, anchor=local.date())  # 每月第一个周五下午2点半
    at = parse_time_of_day(parsed[1], local, env.tz) if parsed and parsed[1] else None
    if parsed is None or (parsed[1] and at is None):
        return Outcome(note=env.t("sched.wrong.rule"))
    rule = parsed[0]
    clear_rule(draft)
    draft.update(kind=rule.kind, every=rule.every)
    if rule.kind == MONTHLY_DAY:
        draft["day"] = str(rule.day)
    elif rule.kind == MONTHLY_WEEKDAY:
        draft.update(nth=nth_code(rule.nth), weekday=str(rule.weekday))
    else:
        draft["weekday"] = str(rule.weekday)
        if rule.every > 1 and rule.anchor is not None:
            draft["start"] = rule.anchor.isoformat()  # every other week, counted from this one
    if at is not None:
        draft["time"] = f"{at:%H:%M}"
    described = rule_of({**draft, "time": draft.get("time") or "00:00"})
    return Outcome(done=True, echo=notices.describe_rule(env.t, described) if described and at else inp.text.strip())


# -- which day ------------------------------------------------------------------------------
async def day_show(env: Env, draft: dict[str, Any]) -> Screen:
    days = [Button(str(d) if d < 31 else env.t("sched.day.last"), payload(FLOW, "day", d)) for d in range(1, 32)]
    return Screen(env.t("sched.ask.day"), [days[i : i + 7] for i in range(0, len(days), 7)])


async def day_handle(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind == "button" and inp.action == "day":
        value = inp.arg
    elif inp.kind == "text":
        value = inp.text.strip().rstrip("号日")  # parsing vocabulary: 15号, 15日
    else:
        return other(env, inp)
    if not 1 <= parse_page(value) <= 31:
        return Outcome(note=env.t("sched.wrong.day")) if inp.kind == "text" else Outcome(alert=env.t("form.stale"))
    draft["day"] = str(parse_page(value))
    return Outcome(done=True, echo=value if inp.kind == "text" else "")


async def nths(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n, env.t(f"sched.nth.{n}")) for n in NTHS]


async def weekdays(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(d), notices.weekday_name(env.t, d)) for d in range(7)]


def start_choices(draft: dict[str, Any], now: datetime, tz: ZoneInfo) -> list[tuple[date, datetime]]:
    """For an every-two-months rule: the first occurrence if counted from this month or the next."""
    out: list[tuple[date, datetime]] = []
    local = now.astimezone(tz)
    for k in range(2):
        month = local.month + k
        anchor = date(local.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        rule = rule_of({**draft, "start": anchor.isoformat(), "time": draft.get("time") or "09:00"})
        if rule is None:
            continue
        first = upcoming(rule, now, tz, 1)
        if first and all(first[0] != seen for _, seen in out):  # one button per distinct start
            out.append((anchor, first[0]))
    return sorted(out, key=lambda choice: choice[1])


async def starts(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    choices = start_choices(draft, env.now, ZoneInfo(env.tz))
    return [(anchor.isoformat(), env.t("sched.start.from", date=day_label(env.t, first, env.now))) for anchor, first in choices]


RULE_STEPS = (
    Custom("kind", label="sched.field.rule", show=kind_show, handle=kind_handle, kind_="text"),
    Custom("day", show=day_show, handle=day_handle, kind_="text", skip_answered=True,
           when=lambda d: d.get("kind") == MONTHLY_DAY),
    Choice("nth", ask="sched.ask.nth", options=nths, per_row=3, skip_answered=True,
           when=lambda d: d.get("kind") == MONTHLY_WEEKDAY),
    Choice("weekday", ask="sched.ask.weekday", options=weekdays, per_row=4, skip_answered=True,
           when=lambda d: d.get("kind") in (MONTHLY_WEEKDAY, WEEKLY)),
    Choice("start", ask="sched.ask.start", options=starts, per_row=1, skip_answered=True,
           when=lambda d: monthly(d) and int(d.get("every") or 1) > 1),
)


# -- what time ------------------------------------------------------------------------------
def parse_time_of_day(text: str, now: datetime, tz_name: str) -> time | None:
    """A clock time typed alone (14:30, 下午2点半, 9点), read by the shared date parser."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)  # ``now`` local
    when = parse_when(text, midnight, want="future", tz=tz_name)
    if when.value is None or not when.has_time or when.value.date() != midnight.date():
        return None
    return when.value.time()


async def time_show(env: Env, draft: dict[str, Any]) -> Screen:
    times = [Button(value, payload(FLOW, "time", value.replace(":", ""))) for value in TIME_CHOICES]
    return Screen(env.t("sched.ask.time"), [times])


async def time_handle(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind == "button" and inp.action == "time":
        arg = inp.arg
        if len(arg) != 4 or not (arg.isascii() and arg.isdigit()):
            return Outcome(alert=env.t("form.stale"))
        draft["time"] = f"{arg[:2]}:{arg[2:]}"
        return Outcome(done=True)
    if inp.kind != "text":
        return other(env, inp)
    at = parse_time_of_day(inp.text, env.now.astimezone(ZoneInfo(env.tz)), env.tz)
    if at is None:
        return Outcome(note=env.t("sched.wrong.time"))
    draft["time"] = f"{at:%H:%M}"
    return Outcome(done=True, echo=draft["time"])


def time_step() -> Custom:
    return Custom("time", label="sched.field.time", show=time_show, handle=time_handle, kind_="text", skip_answered=True)


# -- statutory holidays ---------------------------------------------------------------------
def holiday_notes(t, moments: list[datetime], now: datetime, tz: ZoneInfo) -> list[str]:
    """A line for each coming date on a statutory holiday (with the next working day), and one
    for the first date in a year whose holidays are not known yet."""
    out: list[str] = []
    for at in moments:
        day = at.astimezone(tz).date()
        if not holidays.covered(day):
            out.append(t("sched.holiday.unknown", year=day.year, date=day_label(t, at, now)))
            break
        code = holidays.holiday_on(day)
        if code is None:
            continue
        after = holidays.next_working_day(day)
        shown = dict(date=day_label(t, at, now), holiday=t(f"holiday.{code}"))
        if after is None:
            out.append(t("sched.holiday.flag_no_next", **shown))
        else:
            nxt = datetime.combine(after, at.astimezone(tz).timetz())
            out.append(t("sched.holiday.flag", next=day_label(t, nxt, now), **shown))
    return out
