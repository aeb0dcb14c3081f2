"""/newtask: a township or district admin gives units a task with a deadline, as a form of the
engine (:mod:`bot.forms`): title → units (the unit picker, a Custom step) → deadline typed
freely (11月底前, 下周五, 12月15日, 3天后... read by :func:`bot.rules.dates.parse_when`) →
optional description → review (edit any part, the reminder times too) → publish. The
responsible units are told at once by the scheduler and reminded before the deadline.

Back, skip, cancel (also typed), resume, pause by another command, the timeout and one task
per draft token are the engine's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.forms.core import Button, Choice, Env, Form, Retry, Saved, Screen, Text, When, day_and_time
from bot.rules.deadlines import DEFAULT_TASK_LEADS, LEAD_CHOICES, example_months, year_to_confirm
from bot.rules.reach import AUDIENCES, default_audience
from bot.services import notices, scheduler
from handlers import unit_picker
from handlers.auth import ADMINS, command

NEWTASK = command("newtask", ADMINS)
FLOW = "newtask"
MAX_TITLE, MAX_DESCRIPTION = 80, 500
# Parsing vocabulary (not user-facing text): what the quick deadline buttons stand for.
QUICK_DEADLINES = (("eom", "task.quick.eom", "本月底"), ("eonm", "task.quick.eonm", "下月底"), ("eoy", "task.quick.eoy", "年底"))


def deadline_of(env: Env, draft: dict[str, Any]) -> datetime | None:
    value = draft.get("deadline")
    return datetime.fromisoformat(value) if value else None


def with_days_left(env: Env, value: datetime) -> str:
    """11月30日(周一) 23:59(还有8天): the deadline as echoed and reviewed."""
    return env.t("task.deadline_left", deadline=day_and_time(env.t, value, env.now), left=notices.left(env.t, value, env.now))


def confirm_far(env: Env, value: datetime, year_inferred: bool) -> str | None:
    """11月底前 typed on 1 December is 2027-11-30 only if the admin says so: a deadline far away
    whose year was not typed is asked about (是 / 不是,重新输入) before it is taken."""
    if not year_to_confirm(value, year_inferred, env.now):
        return None
    return env.t("task.confirm.year", deadline=day_and_time(env.t, value, env.now), left=notices.left(env.t, value, env.now))


def examples(env: Env, draft: dict[str, Any]) -> None:
    """The deadline question's examples name upcoming months (12月底前, 1月15日 on 1 December)."""
    soon, after = example_months(env.now)
    draft["eg_month"], draft["eg_next"] = soon, after


async def setup(env: Env, draft: dict[str, Any]) -> str | None:
    examples(env, draft)
    context = env.ctx
    root = await context.repos.org.unit(context.person.unit_id) if context.person else None
    if root is None:
        return "task.stale"
    draft["leads"] = [lead.code for lead in DEFAULT_TASK_LEADS]
    unit_picker.start(draft, root)
    return None


async def leads(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(lead.code, notices.describe_lead(env.t, lead)) for lead in LEAD_CHOICES]


def audience_of(draft: dict[str, Any]) -> str:
    """The audience picked on the review, else the default for the title (a rectification
    task, 软弱涣散 / 整顿: its people only, never a village's members' group)."""
    return str(draft.get("audience") or default_audience(str(draft.get("title") or "")))


async def audiences(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(code, env.t(f"reach.audience.{code}")) for code in AUDIENCES]


async def review(env: Env, draft: dict[str, Any]) -> str:
    t = env.t
    deadline = deadline_of(env, draft)
    audience = audience_of(draft)
    reach = await notices.draft_reach(env.ctx.repos, draft["units"], audience)
    return t(
        "task.review_reach",
        audience=t(f"reach.audience.{audience}"),
        reach=notices.reach_text(t, reach),
        title=draft["title"],
        units=await unit_picker.summary(env.ctx, draft["units"]),
        count=len(draft["units"]),
        deadline=day_and_time(t, deadline, env.now) if deadline else "-",
        left=notices.left(t, deadline, env.now) if deadline else "-",
        description=draft.get("description") or t("task.review.no_description"),
        leads=notices.describe_leads(t, draft.get("leads") or []),
    )


async def save(env: Env, draft: dict[str, Any]) -> Saved | Retry:
    context = env.ctx
    person = context.person
    deadline = deadline_of(env, draft)
    if person is None or deadline is None or deadline <= env.now:
        return Retry("deadline", "task.wrong.deadline_past")
    task, _ = await context.repos.tasks.create(
        token=draft["token"],
        title=draft["title"],
        description=draft.get("description") or "",
        deadline=deadline,
        leads=draft.get("leads") or [],
        created_by=person.id,
        scope_unit_id=person.unit_id,
        unit_ids=draft["units"],
        now=env.now,
        audience=audience_of(draft),
    )
    scheduler.poke(context.application)
    t = env.t
    reach = await notices.task_reach(context.repos, task, await context.repos.tasks.units(task.id))
    text = t("task.saved_reach", title=task.title, deadline=day_and_time(t, deadline, env.now),
             audience=t(f"reach.audience.{task.audience}"), reach=notices.reach_text(t, reach))
    buttons = [[Button(label, data) for label, data in row] for row in notices.invite_rows(t, reach)]
    return Saved(Screen(text, buttons), record=task.id)


FORM = Form(
    FLOW,
    command=NEWTASK,
    steps=[
        Text("title", ask="task.ask.title", label="task.field.title", max_len=MAX_TITLE, hint="task.wrong.title"),
        unit_picker.form_step(FLOW, ask="task.ask.units", label="task.field.units", allow_root=False),
        When("deadline", ask="task.ask.deadline_upcoming", label="task.field.deadline", want="future",
             quick=QUICK_DEADLINES, hints=notices.DEADLINE_HINTS, echo=with_days_left, confirm=confirm_far),
        Text("description", ask="task.ask.note", label="task.field.description", max_len=MAX_DESCRIPTION,
             min_len=0, one_line=False, optional=True, hint="task.wrong.description"),
        Choice("leads", ask="task.ask.leads", label="task.field.leads", options=leads, multi=True,
               review_only=True, per_row=1, page_size=len(LEAD_CHOICES), min_chosen=0, done="task.btn.leads_done"),
        Choice("audience", ask="task.ask.audience", label="task.field.audience", options=audiences,
               review_only=True, per_row=1),
    ],
    review=review,
    save=save,
    setup=setup,
    keys={"form.btn.save": "task.btn.publish", "form.ask.resume": "task.ask.resume"},
)
FORMS = (FORM,)


def register(app: object) -> None:
    """Nothing of its own: the engine's one handler runs FORM (see handlers.flow.register_forms)."""
