"""The questions of the /schedule conversation and the draft they fill (see handlers.schedule.conversation).

The draft (``context.user_data["sched"]``) holds plain JSON: title, the recurrence fields
(kind, day, nth, weekday, every, anchor), hour/minute, place, speaker, units, leads, audience
and, when an existing event is edited, its ``event_id``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from telegram import Update

from bot.context import CadreContext
from bot.rules.recurrence import LAST, MONTHLY_DAY, MONTHLY_WEEKDAY, WEEKLY, Lead, Rule, upcoming
from bot.services import notices, scheduler
from handlers import unit_picker
from handlers.flow import Button, ask, cb, chunk, keyboard, push_step

FLOW = "sched"
(TITLE, KIND, DAY, NTH, WEEKDAY, START, TIME, PLACE, SPEAKER, UNITS, REVIEW, LEADS, AUDIENCE, RESUME) = (
    "title", "kind", "day", "nth", "weekday", "start", "time", "place", "speaker", "units", "review",
    "leads", "audience", "resume",
)
STEPS = (TITLE, KIND, DAY, NTH, WEEKDAY, START, TIME, PLACE, SPEAKER, UNITS, REVIEW, LEADS, AUDIENCE)
# Kinds offered on the first recurrence screen: (code, rule kind, every).
KIND_CHOICES = (("md", MONTHLY_DAY, 1), ("mw", MONTHLY_WEEKDAY, 1), ("md2", MONTHLY_DAY, 2),
                ("mw2", MONTHLY_WEEKDAY, 2), ("wk", WEEKLY, 1))
TIME_CHOICES = ("09:00", "10:00", "14:30", "15:00")
LEAD_CHOICES = tuple(Lead.parse(code) for code in ("d7@09:00", "d3@09:00", "d1@09:00", "d0@08:00", "m120", "m60", "m30"))
SHOWN_OCCURRENCES = 3


def nav(context: CadreContext, *, back: bool = True) -> list[Button]:
    t = context.t
    row = [(t("task.btn.back"), cb(FLOW, "back"))] if back else []
    return [*row, (t("task.btn.cancel"), cb(FLOW, "cancel"))]


def rule_of(draft: dict[str, Any]) -> Rule | None:
    """The draft's recurrence, once every part of it is known."""
    kind = draft.get("kind")
    if kind is None or "hour" not in draft:
        return None
    try:
        return Rule(
            kind,
            hour=int(draft["hour"]),
            minute=int(draft["minute"]),
            day=int(draft.get("day") or 1),
            nth=int(draft.get("nth") or 1),
            weekday=int(draft.get("weekday") or 0),
            every=int(draft.get("every") or 1),
            anchor=date.fromisoformat(draft["anchor"]) if draft.get("anchor") else None,
        )
    except (ValueError, TypeError):
        return None


def rule_steps(draft: dict[str, Any]) -> list[str]:
    """The recurrence questions for the draft's kind, in order."""
    kind = draft.get("kind")
    steps = [KIND]
    if kind == MONTHLY_DAY:
        steps.append(DAY)
    elif kind == MONTHLY_WEEKDAY:
        steps += [NTH, WEEKDAY]
    elif kind == WEEKLY:
        steps.append(WEEKDAY)
    if kind in (MONTHLY_DAY, MONTHLY_WEEKDAY) and int(draft.get("every") or 1) > 1:
        steps.append(START)
    return steps


ANSWERED = {DAY: "day", NTH: "nth", WEEKDAY: "weekday", START: "anchor"}
FOLLOWING = {TITLE: KIND, TIME: PLACE, PLACE: SPEAKER, SPEAKER: UNITS, UNITS: REVIEW}


def next_step(draft: dict[str, Any], done: str) -> str:
    """The question after ``done``: the rest of the recurrence, then time, place, speaker,
    units; back to the review when a part was edited from it."""
    steps = rule_steps(draft)
    if done in steps:
        for step in steps[steps.index(done) + 1 :]:
            if draft.get(ANSWERED[step]) is None:
                return step
        if "hour" in draft:
            return REVIEW if draft.get("editing") else PLACE
        return TIME
    if draft.get("editing"):
        return REVIEW
    return FOLLOWING.get(done, REVIEW)


def start_choices(draft: dict[str, Any], now: datetime, tz) -> list[tuple[date, datetime]]:
    """For an every-two-months rule: the first occurrence if counted from this month or the next."""
    out: list[tuple[date, datetime]] = []
    local = now.astimezone(tz)
    for k in range(2):
        month = local.month + k
        anchor = date(local.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        rule = rule_of({**draft, "anchor": anchor.isoformat(), "hour": draft.get("hour", 9), "minute": draft.get("minute", 0)})
        if rule is None:
            continue
        first = upcoming(rule, now, tz, 1)
        if first and all(first[0] != seen for _, seen in out):  # one button per distinct start
            out.append((anchor, first[0]))
    return sorted(out, key=lambda choice: choice[1])


async def review_text(context: CadreContext, draft: dict[str, Any]) -> str:
    t = context.t
    tz = context.services.settings.tz
    rule = rule_of(draft)
    assert rule is not None
    now = scheduler.now_of(context.application)
    nexts = upcoming(rule, now, tz, SHOWN_OCCURRENCES)
    return t(
        "sched.review",
        title=draft["title"],
        rule=notices.describe_rule(t, rule),
        next=t("list.sep").join(notices.moment(t, at, tz) for at in nexts) or "-",
        place=draft.get("place") or t("sched.review.none"),
        speaker=draft.get("speaker") or t("sched.review.none"),
        units=await unit_picker.summary(context, draft.get("units") or []),
        leads=notices.describe_leads(t, draft.get("leads") or []),
        audience=t(f"sched.audience.{draft.get('audience') or 'secretaries'}"),
    )


async def goto(update: Update, context: CadreContext, draft: dict[str, Any], step: str) -> str:
    """Ask the question of ``step``."""
    t = context.t
    push_step(draft, step)
    if step == TITLE:
        await ask(update, context, t("sched.ask.title"), keyboard([nav(context, back=False)]))
    elif step == KIND:
        rows = [[(t(f"sched.kind.{code}"), cb(FLOW, "kind", code))] for code, _, _ in KIND_CHOICES]
        await ask(update, context, t("sched.ask.kind"), keyboard([*rows, nav(context)]))
    elif step == DAY:
        days = [(str(d) if d < 31 else t("sched.day.last"), cb(FLOW, "day", d)) for d in range(1, 32)]
        await ask(update, context, t("sched.ask.day"), keyboard([*chunk(days, 7), nav(context)]))
    elif step == NTH:
        nths = [(t(f"sched.nth.{n}"), cb(FLOW, "nth", n)) for n in ("1", "2", "3", "4", "last")]
        await ask(update, context, t("sched.ask.nth"), keyboard([*chunk(nths, 3), nav(context)]))
    elif step == WEEKDAY:
        days = [(notices.weekday_name(t, d), cb(FLOW, "wd", d)) for d in range(7)]
        await ask(update, context, t("sched.ask.weekday"), keyboard([*chunk(days, 4), nav(context)]))
    elif step == START:
        tz = context.services.settings.tz
        choices = start_choices(draft, scheduler.now_of(context.application), tz)
        rows = [[(t("sched.start.from", date=t.date(first.date())), cb(FLOW, "start", anchor.isoformat()))]
                for anchor, first in choices]
        await ask(update, context, t("sched.ask.start"), keyboard([*rows, nav(context)]))
    elif step == TIME:
        times = [(value, cb(FLOW, "time", value.replace(":", ""))) for value in TIME_CHOICES]
        await ask(update, context, t("sched.ask.time"), keyboard([times, nav(context)]))
    elif step == PLACE:
        await ask(update, context, t("sched.ask.place"), keyboard([[(t("task.btn.skip"), cb(FLOW, "skip", PLACE))], nav(context)]))
    elif step == SPEAKER:
        await ask(update, context, t("sched.ask.speaker"), keyboard([[(t("task.btn.skip"), cb(FLOW, "skip", SPEAKER))], nav(context)]))
    elif step == UNITS:
        text, markup = await unit_picker.render(context, draft, FLOW, t("sched.ask.units"), allow_root=True)
        await ask(update, context, text, markup)
    elif step == LEADS:
        chosen = set(draft.get("leads") or [])
        rows = [[(t("task.pick.on" if lead.code in chosen else "task.pick.off", name=notices.describe_lead(t, lead)),
                  cb(FLOW, "lead", lead.code))] for lead in LEAD_CHOICES]
        rows.append([(t("task.btn.leads_done"), cb(FLOW, "leads_ok"))])
        await ask(update, context, t("sched.ask.leads"), keyboard(rows))
    elif step == AUDIENCE:
        rows = [[(t(f"sched.audience.{a}"), cb(FLOW, "aud", a))] for a in ("secretaries", "everyone")]
        await ask(update, context, t("sched.ask.audience"), keyboard(rows))
    elif step == REVIEW:
        draft["editing"] = True
        rows = [
            [(t("sched.btn.save"), cb(FLOW, "save"))],
            [(t("task.btn.edit_title"), cb(FLOW, "edit", TITLE)), (t("sched.btn.edit_rule"), cb(FLOW, "edit", KIND))],
            [(t("sched.btn.edit_time"), cb(FLOW, "edit", TIME)), (t("sched.btn.edit_place"), cb(FLOW, "edit", PLACE))],
            [(t("sched.btn.edit_speaker"), cb(FLOW, "edit", SPEAKER)), (t("sched.btn.edit_units"), cb(FLOW, "edit", UNITS))],
            [(t("task.btn.edit_leads"), cb(FLOW, "edit", LEADS)), (t("sched.btn.edit_audience"), cb(FLOW, "edit", AUDIENCE))],
            [(t("task.btn.cancel"), cb(FLOW, "cancel"))],
        ]
        await ask(update, context, await review_text(context, draft), keyboard(rows))
    elif step == RESUME:
        rows = [[(t("task.btn.resume"), cb(FLOW, "resume", "go")), (t("task.btn.restart"), cb(FLOW, "resume", "new"))]]
        await ask(update, context, t("sched.ask.resume", title=draft.get("title") or "…"), keyboard(rows))
    return step


def parse_time_of_day(text: str, now: datetime, tz_name: str) -> time | None:
    """A clock time typed alone (14:30, 下午2点半, 9点), read by the shared date parser."""
    from bot.rules.dates import parse_when

    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)  # ``now`` local
    when = parse_when(text, midnight, want="future", tz=tz_name)
    if when.value is None or not when.has_time or when.value.date() != midnight.date():
        return None
    return when.value.time()


def nth_code(value: int) -> str:
    return "last" if value == LAST else str(value)
