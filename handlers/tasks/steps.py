"""The questions of /newtask (see :mod:`handlers.tasks.newtask`) and the review screen.

The draft (``context.user_data["newtask"]``) holds plain JSON: title, units, the deadline (ISO
text), description, lead codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler

from bot.context import CadreContext
from bot.rules.deadlines import LEAD_CHOICES
from bot.services import notices, scheduler
from handlers import unit_picker
from handlers.auth import ADMINS, command
from handlers.flow import Button, ask, cb, keyboard, push_step

NEWTASK = command("newtask", ADMINS)
FLOW = "newtask"
RESUME, TITLE, UNITS, DEADLINE, DESCRIPTION, REVIEW, LEADS = (
    "resume", "title", "units", "deadline", "description", "review", "leads"
)
STEPS = (TITLE, UNITS, DEADLINE, DESCRIPTION, REVIEW, LEADS)
NEXT = {TITLE: UNITS, UNITS: DEADLINE, DEADLINE: DESCRIPTION, DESCRIPTION: REVIEW}
# Parsing vocabulary (not user-facing text): what the quick deadline buttons stand for.
QUICK_DEADLINES = {"eom": "本月底", "eonm": "下月底", "eoy": "年底"}


def nav(context: CadreContext, *, back: bool = True) -> list[Button]:
    t = context.t
    row = [(t("task.btn.back"), cb(FLOW, "back"))] if back else []
    return [*row, (t("task.btn.cancel"), cb(FLOW, "cancel"))]


def deadline_of(context: CadreContext, draft: dict[str, Any]) -> datetime | None:
    value = draft.get("deadline")
    return datetime.fromisoformat(value).astimezone(context.services.settings.tz) if value else None


async def review_text(context: CadreContext, draft: dict[str, Any]) -> str:
    t = context.t
    deadline = deadline_of(context, draft)
    assert deadline is not None
    now = scheduler.now_of(context.application)
    return t(
        "task.review",
        title=draft["title"],
        units=await unit_picker.summary(context, draft["units"]),
        count=len(draft["units"]),
        deadline=notices.moment(t, deadline, context.services.settings.tz),
        left=notices.left(t, deadline, now),
        description=draft.get("description") or t("task.review.no_description"),
        leads=notices.describe_leads(t, draft.get("leads") or []),
    )


async def goto(update: Update, context: CadreContext, draft: dict[str, Any], step: str) -> str:
    """Ask the question of ``step`` (editing the pressed message when there is one)."""
    t = context.t
    push_step(draft, step)
    if step == TITLE:
        await ask(update, context, t("task.ask.title"), keyboard([nav(context, back=False)]))
    elif step == UNITS:
        text, markup = await unit_picker.render(context, draft, FLOW, t("task.ask.units"), allow_root=False)
        await ask(update, context, text, markup)
    elif step == DEADLINE:
        quick = [(t(f"task.quick.{code}"), cb(FLOW, "dl", code)) for code in QUICK_DEADLINES]
        await ask(update, context, t("task.ask.deadline"), keyboard([quick, nav(context)]))
    elif step == DESCRIPTION:
        deadline = deadline_of(context, draft)
        assert deadline is not None
        text = t(
            "task.ask.description",
            deadline=notices.moment(t, deadline, context.services.settings.tz),
            left=notices.left(t, deadline, scheduler.now_of(context.application)),
        )
        await ask(update, context, text, keyboard([[(t("task.btn.skip"), cb(FLOW, "skip"))], nav(context)]))
    elif step == LEADS:
        chosen = set(draft.get("leads") or [])
        rows = [
            [(t("task.pick.on" if lead.code in chosen else "task.pick.off", name=notices.describe_lead(t, lead)),
              cb(FLOW, "lead", lead.code))]
            for lead in LEAD_CHOICES
        ]
        rows.append([(t("task.btn.leads_done"), cb(FLOW, "leads_ok"))])
        await ask(update, context, t("task.ask.leads"), keyboard(rows))
    elif step == REVIEW:
        draft["editing"] = True
        rows = [
            [(t("task.btn.publish"), cb(FLOW, "save"))],
            [(t("task.btn.edit_title"), cb(FLOW, "edit", TITLE)), (t("task.btn.edit_units"), cb(FLOW, "edit", UNITS))],
            [(t("task.btn.edit_deadline"), cb(FLOW, "edit", DEADLINE)),
             (t("task.btn.edit_description"), cb(FLOW, "edit", DESCRIPTION))],
            [(t("task.btn.edit_leads"), cb(FLOW, "edit", LEADS))],
            [(t("task.btn.cancel"), cb(FLOW, "cancel"))],
        ]
        await ask(update, context, await review_text(context, draft), keyboard(rows))
    elif step == RESUME:
        rows = [[(t("task.btn.resume"), cb(FLOW, "resume", "go")), (t("task.btn.restart"), cb(FLOW, "resume", "new"))]]
        await ask(update, context, t("task.ask.resume", title=draft.get("title") or "…"), keyboard(rows))
    return step


async def advance(update: Update, context: CadreContext, draft: dict[str, Any], done: str) -> str:
    """The next question, or the review again when a part was edited from it."""
    if draft.get("editing") or done == DESCRIPTION:
        return await goto(update, context, draft, REVIEW)
    return await goto(update, context, draft, NEXT[done])


async def stale(update: Update, context: CadreContext) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer(context.t("task.stale"), show_alert=True)
    return ConversationHandler.END
