"""延期 on a task's page (/tasks), as a form of the engine: the new deadline typed freely (or a
quick button), reviewed, saved; the units not done yet are told by the scheduler."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.forms.core import Env, Form, Retry, Saved, Screen, When, day_and_time
from bot.rules.ids import id_or_zero
from bot.services import notices, scheduler
from handlers.tasks.listing import EXTEND_FLOW, MANAGE, may_manage
from handlers.tasks.newtask import QUICK_DEADLINES, confirm_far, examples, with_days_left


async def setup(env: Env, draft: dict[str, Any]) -> str | None:
    """The pressed button's task, if it is open and the user may manage it."""
    context = env.ctx
    arg = str(draft.get("arg") or "")
    task = await context.repos.tasks.get(id_or_zero(arg))
    if task is None or not task.open:
        return "task.stale"
    if not await may_manage(context, task):
        return "task.not_manager"
    draft.update(task=task.id, title=task.title, current=day_and_time(env.t, task.deadline, env.now))
    examples(env, draft)
    return None


async def review(env: Env, draft: dict[str, Any]) -> str:
    value = datetime.fromisoformat(draft["deadline"])
    return env.t("task.extend.confirm", deadline=day_and_time(env.t, value, env.now), left=notices.left(env.t, value, env.now))


async def save(env: Env, draft: dict[str, Any]) -> Saved | Retry:
    t = env.t
    deadline = datetime.fromisoformat(draft["deadline"])
    if deadline <= env.now:
        return Retry("deadline", "task.wrong.deadline_past")
    task = await env.ctx.repos.tasks.extend(draft["task"], deadline, env.now)
    if task is None or not task.open:
        return Saved(Screen(t("task.stale")))
    scheduler.poke(env.ctx.application)
    return Saved(Screen(t("task.extended", title=task.title, deadline=day_and_time(t, task.deadline, env.now))), record=task.id)


FORM = Form(
    EXTEND_FLOW,
    allowed=MANAGE,
    entry="start",  # the 📅 延期 button of a task's page: taskext:start:<task id>
    steps=[
        When("deadline", ask="task.extend.ask_upcoming", label="task.field.deadline", want="future",
             quick=QUICK_DEADLINES, hints=notices.DEADLINE_HINTS, echo=with_days_left, confirm=confirm_far),
    ],
    review=review,
    save=save,
    setup=setup,
    keys={"form.btn.save": "task.btn.extend_confirm", "form.cancelled": "task.extend.cancelled",
          "form.paused_plain": "task.extend.paused", "form.timeout_plain": "task.extend.timeout"},
    title=lambda draft: str(draft.get("title") or ""),
)
FORMS = (FORM,)


def register(app: object) -> None:
    """Nothing of its own: the engine's one handler runs FORM (see handlers.flow.register_forms)."""
