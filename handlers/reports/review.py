"""The review screen (the whole report, 保存 / 修改 / 取消), the 修改 menu that re-asks one
question and comes back, and the question that offers to resume an unfinished draft."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.context import CadreContext
from bot.rules import reports as rules
from handlers.flow import answer, cb, chunk, parse_cb
from handlers.reports.ask import Rows, question, show
from handlers.reports.draft import (
    EDIT,
    FROM_TEXT,
    RESUME,
    REVIEW,
    VILLAGE,
    current,
    fields_of,
    step_of,
)
from handlers.reports.render import full_text


def draft_text(context: CadreContext, draft: dict[str, Any]) -> str:
    unit_name = draft.get("unit_name") or context.t("report.none")
    unanswered = () if rules.PEOPLE in draft.get("answered", rules.STEPS) else (rules.PEOPLE,)
    text = full_text(context.t, fields_of(draft), unit_name, draft.get(FROM_TEXT) or (), unanswered)
    if draft.get(FROM_TEXT):  # some answers were read from the user's message: say which
        text += "\n\n" + context.t("report.offer.legend")
    return text


@question(REVIEW)
async def ask_review(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    t = context.t
    if draft.get("mode") == "correct":
        head = t("report.q.review_correction", number=draft.get("report_id"))
        save = t("report.btn.save_correction")
    else:
        head, save = t("report.q.review"), t("report.btn.save")
    rows: Rows = [[(save, cb("report", "save", draft["token"])), (t("report.btn.edit"), cb("report", "edit"))]]
    return head + "\n\n" + draft_text(context, draft), rows


async def edit_menu(update: Update, context: CadreContext) -> str:
    await answer(update)
    return await show(update, context, current(context), EDIT)


def editable_steps(draft: dict[str, Any]) -> tuple[str, ...]:
    return rules.EDITABLE if draft.get("several") else tuple(s for s in rules.EDITABLE if s != VILLAGE)


@question(EDIT)
async def ask_edit(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    t = context.t
    buttons = [(t(f"report.field.{step}"), cb("report", "field", step)) for step in editable_steps(draft)]
    return t("report.q.edit"), chunk(buttons, 2)


async def edit_field(update: Update, context: CadreContext) -> str:
    draft = current(context)
    step = parse_cb(update.callback_query.data)[2]
    if step not in editable_steps(draft):
        await update.callback_query.answer(context.t("report.hint.old_button"), show_alert=True)
        return step_of(draft) or EDIT
    await answer(update)
    draft["editing"] = True
    draft["village_page"] = 0
    return await show(update, context, draft, step)


@question(RESUME)
async def ask_resume(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    t = context.t
    if draft.get("mode") == "correct":
        head = t("report.q.resume_correction", number=draft.get("report_id"))
    else:
        head = t("report.q.resume")
    rows: Rows = [[(t("report.btn.resume"), cb("report", "resume")), (t("report.btn.restart"), cb("report", "restart"))]]
    return head + "\n\n" + draft_text(context, draft), rows
