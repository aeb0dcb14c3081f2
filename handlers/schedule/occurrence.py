"""One occurrence of a recurring event, arranged on its own (the monthly lecture's speaker
rotates: "书记讲给书记听"): this time's speaker and topic, skipped this time, or moved to
another date and time.

An engine form (:data:`FORM`), opened from the event's page in /schedule (安排下一次, or a date
from 其他日期, or 改到下一个工作日 for a date on a statutory holiday) by its entry button
``sched_occ:start:<event>.<yyyymmdd>[.w]``. It opens at its review: what this time looks like
(with a flag when the date falls in a statutory holiday, or in a year whose holidays are not
known yet); 修改 opens one question; 保存 stores it (storage.events.EventsRepo.arrange).

What follows is the scheduler's (bot.services.scheduler): a skipped occurrence sends nothing
and its notices already sent are marked cancelled (their 参加/请假 buttons go), a moved one's
notice and reminders follow the new time (a slot already sent is not sent again, its message
is edited to the new time), and the groups that got the notice before the change are told
once. The occurrence keeps the rule's date as its key, so its answers stay with it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application

from bot.forms.core import (
    OPEN_AT,
    REVIEW,
    Button,
    Choice,
    Custom,
    Env,
    Form,
    Input,
    Outcome,
    Retry,
    Saved,
    Screen,
    Text,
    day_and_time,
    day_label,
    payload,
)
from bot.rules import holidays
from bot.rules.dates import parse_when
from bot.rules.ids import parse_id
from bot.rules.recurrence import Rule, occurrence_on
from bot.services import notices, scheduler
from handlers.schedule.conversation import EDITOR, MAX_FIELD

FLOW = "sched_occ"
WORKDAY, ORIGINAL = "wd", "orig"  # the when step's buttons
MAX_SHIFT = timedelta(days=92)  # one date moves within about three months of its own day
HELD = ("yes", "no")  # held this time, or skipped: sched.occ.held.<code>


def entry(event_id: int, day: date, suffix: str = "") -> str:
    """The payload that opens the form for one occurrence (``.w``: moved to the next working day)."""
    return payload(FLOW, "start", f"{event_id}.{day:%Y%m%d}{suffix}")


def _parse(arg: str) -> tuple[int, date, bool] | None:
    parts = arg.split(".")
    if len(parts) not in (2, 3) or parse_id(parts[0]) is None or (len(parts) == 3 and parts[2] != "w"):
        return None
    day = parts[1]
    if len(day) != 8 or not (day.isascii() and day.isdigit()):
        return None
    try:
        return parse_id(parts[0]), date(int(day[:4]), int(day[4:6]), int(day[6:8])), len(parts) == 3  # type: ignore[return-value]
    except ValueError:
        return None


def _zone(env: Env) -> ZoneInfo:
    return ZoneInfo(env.tz)


def was_of(draft: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(draft["was"])


def when_of(draft: dict[str, Any]) -> datetime:
    """This time's moment: moved, or the rule's."""
    return datetime.fromisoformat(draft["when"]) if draft.get("when") else was_of(draft)


def next_workday(at: datetime) -> datetime | None:
    """The same time on the first working day after ``at``'s date, if that date is a statutory
    holiday and the library knows the days after it."""
    day = at.date()
    if holidays.holiday_on(day) is None:
        return None
    after = holidays.next_working_day(day)
    return datetime.combine(after, at.timetz()) if after is not None else None


async def setup(env: Env, draft: dict[str, Any]) -> str | None:
    from handlers.schedule.manage import may_edit

    context = env.ctx
    parsed = _parse(str(draft.get("arg") or ""))
    if parsed is None:
        return "form.stale"
    event_id, day, to_workday = parsed
    event = await context.repos.events.get(event_id)
    if event is None or not await may_edit(context, event):
        return "task.stale"
    rule = Rule.from_dict(event.rule)
    if not rule.is_day(day):
        return "form.stale"
    tz = _zone(env)
    occ = await context.repos.events.occurrence(event.id, day.isoformat())
    was = occurrence_on(rule, day, tz)
    at = occ.moved_to.astimezone(tz) if occ is not None and occ.moved_to else was
    if at <= env.now:
        return "sched.occ.over"
    draft.update(
        event_id=event.id, occurrence=day.isoformat(), title=event.title, was=was.isoformat(),
        when=at.isoformat() if at != was else None,
        speaker=(occ.speaker if occ else "") or None, topic=(occ.topic if occ else "") or None,
        held="no" if occ is not None and occ.skipped else "yes",
        default_speaker=event.speaker or env.t("sched.review.none"),
    )
    if to_workday:
        moved = next_workday(at)
        if moved is not None:
            draft["when"] = moved.isoformat()
    draft[OPEN_AT] = REVIEW
    return None


# -- when: typed, or the next working day, or back to the rule's time --------------------------
async def when_show(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    was = was_of(draft)
    at = when_of(draft)
    rows = []
    workday = next_workday(at)
    if workday is not None:
        rows.append([Button(t("sched.occ.btn.workday", date=day_and_time(t, workday, env.now)), payload(FLOW, WORKDAY))])
    if draft.get("when"):
        rows.append([Button(t("sched.occ.btn.original", date=day_and_time(t, was, env.now)), payload(FLOW, ORIGINAL))])
    example = day_label(t, was + timedelta(days=7), env.now)
    return Screen(t("sched.occ.ask.when", example=example, time=f"{was:%H:%M}"), rows)


async def when_handle(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    was = was_of(draft)
    if inp.kind == "button" and inp.action == WORKDAY:
        moved = next_workday(when_of(draft))
        if moved is None:
            return Outcome(alert=env.t("form.stale"))
        draft["when"] = moved.isoformat()
        return Outcome(done=True)
    if inp.kind == "button" and inp.action == ORIGINAL:
        draft["when"] = None
        return Outcome(done=True)
    if inp.kind != "text":
        return Outcome(alert=env.t("form.stale")) if inp.kind == "button" else Outcome(note=env.t("form.wrong.text"))
    parsed = parse_when(inp.text, env.now, want="future", tz=env.tz)
    if parsed.value is None:
        return Outcome(note=env.t("sched.occ.wrong.past" if parsed.reason == "past" else "sched.occ.wrong.when"))
    value = parsed.value.astimezone(_zone(env))
    if not parsed.has_time:  # a date alone keeps the usual time
        value = datetime.combine(value.date(), was.timetz())
    if value <= env.now:
        return Outcome(note=env.t("sched.occ.wrong.past"))
    if abs(value - was) > MAX_SHIFT:  # "11月20日" typed on 22 November is next year's: not this date's move
        return Outcome(note=env.t("sched.occ.wrong.far", date=day_label(env.t, value, env.now),
                                  was=day_label(env.t, was, env.now)))
    draft["when"] = value.isoformat() if value != was else None
    return Outcome(done=True, echo=day_and_time(env.t, value, env.now))


async def held_options(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(code, env.t(f"sched.occ.held.{code}")) for code in HELD]


def flags(t: Any, at: datetime, now: datetime) -> list[str]:
    """This time's date on a statutory holiday (with the next working day), or in a year whose
    holidays the library does not know: said plainly, never guessed."""
    day = at.date()
    shown = day_label(t, at, now)
    if not holidays.covered(day):
        return [t("sched.occ.holiday_unknown", year=day.year, date=shown)]
    code = holidays.holiday_on(day)
    if code is None:
        return []
    workday = next_workday(at)
    if workday is None:
        return [t("sched.holiday.flag_no_next", date=shown, holiday=t(f"holiday.{code}"))]
    return [t("sched.occ.holiday_flag", date=shown, holiday=t(f"holiday.{code}"), next=day_label(t, workday, now))]


async def review(env: Env, draft: dict[str, Any]) -> str:
    t = env.t
    was, at = was_of(draft), when_of(draft)
    skipped = draft.get("held") == "no"
    text = t(
        "sched.occ.review",
        title=draft["title"],
        was=day_and_time(t, was, env.now),
        when=t("sched.occ.skipped") if skipped else (
            day_and_time(t, at, env.now) if draft.get("when") else t("sched.occ.as_planned")),
        speaker=draft.get("speaker") or t("sched.occ.default", value=draft.get("default_speaker") or "-"),
        topic=draft.get("topic") or t("sched.review.none"),
        held=t(f"sched.occ.held.{'no' if skipped else 'yes'}"),
    )
    lines = [text]
    if not skipped:
        lines += flags(t, at, env.now)
    told = await env.ctx.repos.pushes.messages("event_notice", int(draft["event_id"]), draft["occurrence"])
    groups = len({r.key.chat_id for r in told})
    if groups and (skipped or draft.get("when")):
        lines.append(t("sched.occ.will_tell", count=groups))
    return "\n\n".join(lines)


async def save(env: Env, draft: dict[str, Any]) -> Saved | Retry:
    context = env.ctx
    t = env.t
    app: Application = context.application
    skipped = draft.get("held") == "no"
    moved = datetime.fromisoformat(draft["when"]) if draft.get("when") else None
    if max(was_of(draft), moved or was_of(draft)) <= env.now:  # the review was left open past the date
        return Saved(Screen(t("sched.occ.over")))
    if moved is not None and moved <= env.now and not skipped:
        return Retry("when", "sched.occ.wrong.past")
    occ = await context.repos.events.arrange(
        int(draft["event_id"]), draft["occurrence"], speaker=draft.get("speaker") or "", topic=draft.get("topic") or "",
        skipped=skipped, moved_to=moved, by=context.person.id if context.person else None, now=env.now,
    )
    event = await context.repos.events.get(int(draft["event_id"]))
    if occ is None or event is None:
        return Saved(Screen(t("task.stale")))
    await scheduler.refresh_notices(app, event, env.now)  # the notices already sent show this time as it is now
    scheduler.poke(app)
    day = day_label(t, was_of(draft), env.now)
    if skipped:
        text = t("sched.occ.saved_skipped", title=event.title, date=day)
    elif moved is not None:
        text = t("sched.occ.saved_moved", title=event.title, date=day, when=day_and_time(t, moved, env.now))
    else:
        text = t("sched.occ.saved", title=event.title, date=day)
    back = [[Button(t("sched.occ.btn.to_event"), notices.cb("sched", "view", event.id))]]
    return Saved(Screen(text, back), record=(event.id, draft["occurrence"]))


FORM = Form(
    FLOW,
    allowed=EDITOR,
    entry="start",
    steps=[
        Text("speaker", ask="sched.occ.ask.speaker", label="sched.occ.field.speaker", max_len=MAX_FIELD, optional=True,
             review_only=True, hint="sched.wrong.too_long"),
        Text("topic", ask="sched.occ.ask.topic", label="sched.occ.field.topic", max_len=MAX_FIELD, optional=True,
             review_only=True, hint="sched.wrong.too_long"),
        Custom("when", label="sched.occ.field.when", show=when_show, handle=when_handle, kind_="text", review_only=True),
        Choice("held", ask="sched.occ.ask.held", label="sched.occ.field.held", options=held_options, per_row=1,
               review_only=True),
    ],
    review=review,
    save=save,
    setup=setup,
    keys={"form.paused_plain": "sched.occ.paused", "form.timeout_plain": "sched.occ.timeout"},
    title=lambda draft: str(draft.get("title") or ""),
)
FORMS = (FORM,)


def register(app: Application) -> None:
    """Nothing of its own: the engine's one handler runs FORM."""
