"""/schedule: recurring events (the monthly 五星支部创建大讲堂, supervision, observation visits).

/schedule lists the admin's events (see :mod:`handlers.schedule.manage`); 新建 and 修改 open
this form of the engine (:mod:`bot.forms`): title → recurrence (每月几号 / 每月第几个星期几 /
每两个月 / 每周, or typed: 每月第一个周五下午2点半, which answers the day and the time too) →
the day → (the starting month, every two months) → time → place → speaker → target groups
(the unit picker) → review with the next dates, lead times (default 3 days before at 09:00 and
2 hours before) and who should answer → save. Notices then go to the target units' bound
groups with 参加 / 请假 buttons (:mod:`handlers.schedule.rsvp`).

Editing an event that already sent notices for a coming date edits those notices too (or
marks them cancelled if the date is no longer one of the event's days). This module's
``on_startup`` starts the scheduler (jobs rebuilt from the database). The recurrence steps are
in :mod:`handlers.schedule.steps`. Back, skip, cancel (also typed), resume, pause by another
command, the timeout and one event per draft token are the engine's.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from bot.forms.core import Choice, Env, Form, Retry, Saved, Screen, Text, day_and_time
from bot.rules.ids import id_or_zero
from bot.rules.recurrence import DEFAULT_EVENT_LEADS, upcoming
from bot.services import notices, scheduler
from handlers import unit_picker
from handlers.auth import ADMINS, Command
from handlers.schedule import steps
from handlers.schedule.steps import FLOW, LEAD_CHOICES, rule_of
from storage.events import AUDIENCES

# The form's buttons are for admins (the command itself, the list, is in schedule.manage).
EDITOR = Command("schedule", ADMINS)
MAX_TITLE, MAX_FIELD = 80, 120
SHOWN_OCCURRENCES = 3


async def setup(env: Env, draft: dict[str, Any]) -> str | None:
    """新建 (no argument): a fresh event; 修改 (the event's id): its current details, reviewed."""
    from handlers.schedule.manage import may_edit

    context = env.ctx
    root = await context.repos.org.unit(context.person.unit_id) if context.person else None
    if root is None:
        return "task.stale"
    arg = str(draft.get("arg") or "")
    if not arg:
        draft.update(leads=[lead.code for lead in DEFAULT_EVENT_LEADS], audience="secretaries")
        unit_picker.start(draft, root)
        return None
    event = await context.repos.events.get(id_or_zero(arg))
    if event is None or not await may_edit(context, event):
        return "task.stale"
    draft.update(
        event_id=event.id, title=event.title, place=event.place, speaker=event.speaker, leads=list(event.leads),
        audience=event.audience, editing=True, **steps.rule_draft(event.rule),
    )
    unit_picker.start(draft, root, list(event.unit_ids))
    return None


async def leads(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(lead.code, notices.describe_lead(env.t, lead)) for lead in LEAD_CHOICES]


async def audiences(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a, env.t(f"sched.audience.{a}")) for a in AUDIENCES]


async def review(env: Env, draft: dict[str, Any]) -> str:
    t = env.t
    rule = rule_of(draft)
    nexts = upcoming(rule, env.now, env.ctx.services.settings.tz, SHOWN_OCCURRENCES) if rule else []
    text = t(
        "sched.review",
        title=draft["title"],
        rule=notices.describe_rule(t, rule) if rule else "-",
        next=t("list.sep").join(day_and_time(t, at, env.now) for at in nexts) or "-",
        place=draft.get("place") or t("sched.review.none"),
        speaker=draft.get("speaker") or t("sched.review.none"),
        units=await unit_picker.summary(env.ctx, draft.get("units") or []),
        leads=notices.describe_leads(t, draft.get("leads") or []),
        audience=t(f"sched.audience.{draft.get('audience') or 'secretaries'}"),
    )
    flags = steps.holiday_notes(t, nexts, env.now, env.ctx.services.settings.tz)
    return "\n".join([text, "", *flags]) if flags else text


async def save(env: Env, draft: dict[str, Any]) -> Saved | Retry:
    context = env.ctx
    person = context.person
    rule = rule_of(draft)
    if rule is None:
        return Retry("kind", "sched.wrong.incomplete")
    if not draft.get("units"):
        return Retry("units", "sched.wrong.no_units")
    app = context.application
    fields = dict(
        title=draft["title"], rule=rule.to_dict(), place=draft.get("place") or "", speaker=draft.get("speaker") or "",
        leads=draft.get("leads") or [], audience=draft.get("audience") or "secretaries", unit_ids=draft["units"],
        now=env.now,
    )
    if draft.get("event_id"):
        event = await context.repos.events.update(int(draft["event_id"]), **fields)
        if event is not None:
            await scheduler.refresh_notices(app, event, env.now)
        key = "sched.updated_to"
    else:
        event, _ = await context.repos.events.create(
            token=draft["token"], organiser=person.id, scope_unit_id=person.unit_id, **fields
        )
        key = "sched.saved_to"
    if event is None:
        return Saved(Screen(env.t("task.stale")))
    scheduler.poke(app)
    # say whom the notices will reach (and whom not, and why), never "the groups" when none is bound
    reach = notices.reach_text(env.t, await notices.event_reach(context.repos, event))
    return Saved(Screen(env.t(key, title=event.title, reach=reach)), record=event.id)


FORM = Form(
    FLOW,
    allowed=EDITOR,
    entry="start",  # 新建: sched_ev:start: ; 修改 on an event's page: sched_ev:start:<event id>
    steps=[
        Text("title", ask="sched.ask.title", label="sched.field.title", max_len=MAX_TITLE, hint="task.wrong.title"),
        *steps.RULE_STEPS,
        steps.time_step(),
        Text("place", ask="sched.ask.place", label="sched.field.place", max_len=MAX_FIELD, optional=True,
             hint="sched.wrong.too_long"),
        Text("speaker", ask="sched.ask.speaker", label="sched.field.speaker", max_len=MAX_FIELD, optional=True,
             hint="sched.wrong.too_long"),
        unit_picker.form_step(FLOW, ask="sched.ask.units", label="sched.field.units", allow_root=True),
        Choice("leads", ask="sched.ask.leads", label="sched.field.leads", options=leads, multi=True, review_only=True,
               per_row=1, page_size=len(LEAD_CHOICES), min_chosen=0, done="task.btn.leads_done"),
        Choice("audience", ask="sched.ask.audience", label="sched.field.audience", options=audiences,
               review_only=True, per_row=1),
    ],
    review=review,
    save=save,
    setup=setup,
    keys={"form.ask.resume": "sched.ask.resume", "form.paused_plain": "sched.form.paused",
          "form.timeout_plain": "sched.form.timeout"},
    title=lambda draft: str(draft.get("title") or ""),
)
FORMS = (FORM,)


def register(app: Application) -> None:
    """Nothing of its own: the engine's one handler runs FORM."""


async def on_startup(app: Application) -> None:
    """Rebuild the scheduler's jobs from the database (and catch up on missed pushes)."""
    await scheduler.start(app)
