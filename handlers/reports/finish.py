"""How a report ends: 保存 (a new report, or a correction, once per draft token; a second press
is told the number already saved), 取消 and /cancel, and the 30-minute idle timeout that ends
the conversation but keeps the draft for /report to resume."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ConversationHandler

from bot.context import CadreContext
from handlers.auth import COMMANDS, refusal_for
from handlers.flow import answer, ask, drop_draft, parse_cb
from handlers.reports.ask import show
from handlers.reports.draft import (
    FLOW,
    PARKED,
    REVIEW,
    current,
    fields_of,
    may_correct,
    missing_step,
    reference_time,
    step_of,
)
from handlers.reports.mine import tell_verifiers
from handlers.reports.people import stale
from handlers.reports.render import summary

END = ConversationHandler.END


def finish(context: CadreContext) -> bool:
    """Drop the draft; bring back a new report set aside for a correction (True if so)."""
    drop_draft(context, FLOW)
    parked = context.user_data.pop(PARKED, None)
    if parked:
        context.user_data[FLOW] = parked
        return True
    return False


async def save(update: Update, context: CadreContext) -> str | int:
    return await save_draft(update, context, parse_cb(update.callback_query.data)[2])


async def save_draft(update: Update, context: CadreContext, token: str) -> str | int:
    """保存 of the draft with ``token`` (from the review, or from an offer of a message)."""
    query = update.callback_query
    draft = current(context)
    if draft is None or token != draft["token"]:
        await tell_saved(update, context, token)
        return step_of(draft) if draft else END
    if step_of(draft) != REVIEW:
        return await stale(update, context)
    t = context.t
    missing = missing_step(draft)
    if missing is not None:
        await query.answer(t("report.hint.missing"), show_alert=True)
        return await show(update, context, draft, missing)
    refusal = refusal_for(COMMANDS["report"], update, context)
    if refusal is not None:
        await query.answer(refusal, show_alert=True)
        return REVIEW
    at = reference_time(update, context)
    person = context.person
    repo = context.repos.reports
    if draft.get("mode") == "correct":
        old = await repo.get(draft["report_id"])
        if old is None or not await may_correct(context, old, at):
            await query.answer(t("report.correct.not_now"), show_alert=True)
            finish(context)
            await ask(update, context, t("report.correct.not_saved"), None)
            return END
        report, changed = await repo.correct(old.id, fields_of(draft), by=person.id, at=at, token=token)
        text = t("report.corrected", number=report.id) + "\n" + summary(t, report)
        if changed:  # whoever verified it is told (what was verified changed)
            await tell_verifiers(context, report)
    else:
        report, _ = await repo.create(fields_of(draft), reporter_id=person.id, token=token, at=at)
        text = t("report.saved", number=report.id) + "\n" + summary(t, report)
    parked_back = finish(context)
    await answer(update)
    await ask(update, context, text, None)
    if parked_back:
        await context.bot.send_message(update.effective_chat.id, t("report.parked_back"))
    return END


async def tell_saved(update: Update, context: CadreContext, token: str | None = None) -> None:
    """A 保存 pressed again (double tap, redelivery): the number of what was saved."""
    token = token or parse_cb(update.callback_query.data)[2]
    person = context.person
    repo = context.repos.reports
    text = context.t("report.hint.old_button")
    report = await repo.by_token(token)
    if report is not None and person is not None and report.reporter_id == person.id:
        text = context.t("report.already_saved", number=report.id)
    else:
        change = await repo.change_by_token(token)
        if change is not None and person is not None and change.changed_by == person.id:
            text = context.t("report.already_corrected", number=change.report_id)
    await update.callback_query.answer(text, show_alert=True)


async def cancel(update: Update, context: CadreContext) -> int:
    draft = current(context) or {}
    correcting = draft.get("mode") == "correct"
    parked_back = finish(context)
    await answer(update)
    t = context.t
    text = t("report.correct.cancelled" if correcting else "report.cancelled")
    if parked_back:
        text += "\n\n" + t("report.parked_back")
    await ask(update, context, text, None)
    return END


async def timed_out(update: Update, context: CadreContext) -> None:
    """30 idle minutes: the conversation ends, the draft stays for /report to resume."""
    if current(context) is None or update.effective_chat is None:
        return
    await context.bot.send_message(update.effective_chat.id, context.t("report.timeout"))
