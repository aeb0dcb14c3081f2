"""Asking the questions of a report: one registry of question builders (filled by
``report_steps``, ``report_photos`` and ``report_review``), showing a question with its progress
line and navigation row, moving on after an answer, going back, and asking again after input
of the wrong kind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.context import CadreContext
from bot.rules import reports as rules
from handlers.flow import Button, ask, cb, keyboard, pop_step, push_step
from handlers.reports.draft import EDIT, MAIN_OF, RESUME, REVIEW, answered, step_of

Rows = list[list[Button]]
Question = Callable[[CadreContext, dict[str, Any]], Awaitable[tuple[str, Rows]]]
QUESTIONS: dict[str, Question] = {}
NO_PROGRESS = {REVIEW, EDIT, RESUME}


def question(step: str) -> Callable[[Question], Question]:
    """Register the builder of a step's question: (text, rows of buttons)."""

    def register(build: Question) -> Question:
        QUESTIONS[step] = build
        return build

    return register


def nav_row(context: CadreContext, draft: dict[str, Any]) -> list[Button]:
    t = context.t
    row = [(t("report.btn.cancel"), cb("report", "cancel"))]
    if len(draft.get("history") or []) > 1:
        row.insert(0, (t("report.btn.back"), cb("report", "back")))
    return row


async def render(
    context: CadreContext, draft: dict[str, Any], step: str, note: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    text, rows = await QUESTIONS[step](context, draft)
    if step not in NO_PROGRESS:
        number, total = rules.step_number(MAIN_OF.get(step, step), bool(draft.get("several")))
        text = context.t("report.progress", number=number, total=total) + "\n" + text
    if note:
        text = note + "\n\n" + text
    if step != RESUME:
        rows = [*rows, nav_row(context, draft)]
    return text, keyboard(rows)


def enter(draft: dict[str, Any], step: str) -> None:
    """Record ``step`` as the current question (the review resets the path behind it)."""
    if step == RESUME:
        draft["resuming"] = True
        return
    draft.pop("resuming", None)
    history = draft.setdefault("history", [])
    if step == REVIEW and REVIEW in history:
        del history[history.index(REVIEW) + 1 :]
        return
    push_step(draft, step)


async def show(
    update: Update,
    context: CadreContext,
    draft: dict[str, Any],
    step: str,
    *,
    note: str | None = None,
    edit: bool = True,
) -> str:
    """Ask ``step`` (editing the pressed message, or sending one) and return it as the state."""
    enter(draft, step)
    text, markup = await render(context, draft, step, note)
    await ask(update, context, text, markup, edit=edit)
    return step


async def proceed(
    update: Update, context: CadreContext, draft: dict[str, Any], step: str, *, note: str | None = None
) -> str:
    """After an answer to ``step``: the next question, or back to the review when editing."""
    main = MAIN_OF.get(step, step)
    answered(draft, main)
    if draft.get("editing"):
        target = REVIEW
    else:
        target = rules.next_step(main, bool(draft.get("several")))
    return await show(update, context, draft, target, note=note)


async def back(update: Update, context: CadreContext, draft: dict[str, Any]) -> str:
    """返回: the question before this one, with what was answered kept."""
    previous = pop_step(draft)
    if previous is None:
        previous = step_of(draft) or rules.DATE
    return await show(update, context, draft, previous)


async def again(
    update: Update, context: CadreContext, draft: dict[str, Any], hint_key: str, **kwargs: object
) -> str:
    """Wrong input: a short hint and the same question, in one new message."""
    step = step_of(draft) or REVIEW
    return await show(update, context, draft, step, note=context.t(hint_key, **kwargs), edit=False)
