"""/review: township and district admins check clean-up reports and closed follow-ups:
已核实 (verified) or 退回 (returned, with a reason the author reads). Every step is kept in the
audit trail (``review_events``) and shown in the ledger.

The loop: a returned item goes to its author with the reason. A report's author corrects it in
the /report conversation itself (its 更正 button, ``report:correct:<id>``); the correction is
noticed (:func:`handlers.oversight.review_queue.sync_corrections`, every two minutes and whenever
/review opens), marked resubmitted and announced to whoever returned it. The author may also
press 重新提交 with a short note.

A returned follow-up is reopened (:meth:`storage.visits.VisitsRepo.reopen_followup`: its
closing stays in the trail) and its author gets a button into the /followups closing
conversation for it (``followup:redo:<id>``), which asks again what was done; closing it
again (there, or on a visit) is marked resubmitted and announced the same way
(:func:`handlers.oversight.review_queue.sync_followups`). Follow-ups returned before reopening existed
are still closed and are resubmitted with a note.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import CadreContext
from bot.rules.ids import parse_page
from handlers.auth import requires
from handlers.flow import (
    Conversation,
    answer,
    ask,
    cb,
    draft_of,
    drop_draft,
    keyboard,
    new_draft,
    parse_cb,
)
from handlers.oversight.review_queue import (
    REVIEW,
    SYNC,
    browse,
    label,
    now_of,
    photos_pressed,
    review_command,
    reviewable,
    sync_job,
    tell_reviewer,
)
from handlers.oversight.review_view import (
    FLOW,
    Item,
    load,
    parse_item,
    register_links,
    show_item,
)
from handlers.visits.followups import redo_payload

COMMENT, CONFIRM, NOTE = range(3)
REASONS = 4  # quick reasons review.reason.1..4
MAX_COMMENT = 300
END = ConversationHandler.END


@requires(REVIEW)
async def return_asked(update: Update, context: CadreContext) -> int:
    _, _, arg = parse_cb(update.callback_query.data)
    item = await reviewable(update, context, arg)
    if item is None:
        return END
    await answer(update)
    draft = draft_of(context, FLOW)
    if draft is None or draft.get("item") != item.code or draft.get("mode") != "return":
        draft = new_draft(context, FLOW, mode="return", item=item.code)
    return await ask_reason(update, context, item)


async def ask_reason(update: Update, context: CadreContext, item: Item) -> int:
    t = context.t
    reasons = [[(t(f"review.reason.{n}"), cb(FLOW, "why", n))] for n in range(1, REASONS + 1)]
    rows = [*reasons, [(t("review.btn.back"), cb(FLOW, "item", item.code)), (t("review.btn.cancel"), cb(FLOW, "cancel"))]]
    await ask(update, context, t("review.ask_reason", item=label(context, item)), keyboard(rows))
    return COMMENT


async def reason_given(update: Update, context: CadreContext) -> int:
    draft = draft_of(context, FLOW)
    if draft is None:
        return END
    if update.callback_query is not None:
        await answer(update)
        n = parse_cb(update.callback_query.data)[2]
        comment = context.t(f"review.reason.{n}") if 1 <= parse_page(n) <= REASONS else ""
    else:
        comment = " ".join((update.effective_message.text or "").split())
    parsed = parse_item(draft["item"])
    item = await load(context, *parsed) if parsed else None
    if item is None:
        drop_draft(context, FLOW)
        await ask(update, context, context.t("review.not_found"))
        return END
    if not comment or len(comment) > MAX_COMMENT:
        await update.effective_message.reply_text(context.t("review.bad_reason", max=MAX_COMMENT))
        return await ask_reason(update, context, item)
    draft["comment"] = comment
    author = await context.repos.org.person(item.author_id)
    t = context.t
    rows = [
        [(t("review.btn.send_return"), cb(FLOW, "send", draft["token"]))],
        [(t("review.btn.change_reason"), cb(FLOW, "ret", item.code)), (t("review.btn.cancel"), cb(FLOW, "cancel"))],
    ]
    text = t("review.confirm_return", item=label(context, item), author=author.name if author else "", comment=comment)
    await ask(update, context, text, keyboard(rows))
    return CONFIRM


async def return_sent(update: Update, context: CadreContext) -> int:
    draft = draft_of(context, FLOW)
    token = parse_cb(update.callback_query.data)[2]
    if draft is None or draft.get("token") != token:
        await update.callback_query.answer(context.t("review.already_done"), show_alert=True)
        return END
    item = await reviewable(update, context, draft["item"])
    if item is None:
        drop_draft(context, FLOW)
        return END
    await answer(update)
    person = context.person
    assert person is not None
    at = now_of(update, context)
    if item.followup is not None:  # reopened for its member to do again, its closing kept
        await context.repos.visits.reopen_followup(item.id, by=person.id, at=at, reason=draft["comment"], token=token)
    else:
        await context.repos.oversight.record_review(
            item.kind, item.id, "returned", by=person.id, at=at, comment=draft["comment"], token=token
        )
    drop_draft(context, FLOW)
    told = await tell_author(context.application, item, draft["comment"], person.name)
    author = await context.repos.org.person(item.author_id)
    key = "review.returned" if told else "review.returned_not_told"
    if item.followup is not None:
        key = "review.returned_followup" if told else "review.returned_followup_not_told"
        item = await load(context, item.kind, item.id) or item
    text, rows = await show_item(update, context, item, note=context.t(key, author=author.name if author else ""))
    await ask(update, context, text, keyboard(rows))
    return END


async def tell_author(app: Application, item: Item, comment: str, reviewer: str) -> bool:
    """Send the returned item to its author with the reason and the way to fix it."""
    repos = app.services.repos  # type: ignore[attr-defined]
    author = await repos.org.person(item.author_id)
    if author is None or author.telegram_id is None or not author.active:
        return False
    user = await repos.users.get(author.telegram_id)
    t = app.services.catalogs.get(user.lang if user else None)  # type: ignore[attr-defined]
    if item.report is not None:
        what = t("review.what.report", number=item.id, day=t.short_date(item.report.fields.work_date))
        resubmit = [(t("review.btn.resubmit"), cb(FLOW, "resub", item.code))]
        # the one rule (bot.rules.reports.author_may): a returned report is corrected at any age
        rows = [[(t("review.btn.correct"), cb("report", "correct", item.id))], resubmit]
        key = "review.to_author.report"
    else:  # reopened: the button asks again, in /followups, what was done
        assert item.followup is not None
        what = t("review.what.followup", number=item.id, head=item.followup.household_head)
        rows = [[(t("review.btn.redo"), redo_payload(item.id))]]
        key = "review.to_author.followup"
    await app.bot.send_message(author.telegram_id, t(key, what=what, reviewer=reviewer, comment=comment),
                               reply_markup=keyboard(rows))
    return True


# -- the author resubmits --------------------------------------------------------------------------
async def resubmit_asked(update: Update, context: CadreContext) -> int:
    t = context.t
    _, _, arg = parse_cb(update.callback_query.data)
    parsed = parse_item(arg)
    item = await load(context, *parsed) if parsed else None
    person = context.person
    if item is None or person is None or person.id != item.author_id:
        await update.callback_query.answer(t("review.not_yours"), show_alert=True)
        return END
    events = await context.repos.oversight.history(item.kind, item.id)
    if not events or events[-1].action != "returned":
        await update.callback_query.answer(t("review.not_returned"), show_alert=True)
        return END
    if item.followup is not None and item.followup.closed_at is None:  # reopened: done again, not noted
        await update.callback_query.answer(t("review.redo_instead"), show_alert=True)
        return END
    await answer(update)
    new_draft(context, FLOW, mode="resubmit", item=item.code)
    rows = [[(t("review.btn.no_note"), cb(FLOW, "note", "-"))], [(t("review.btn.cancel"), cb(FLOW, "cancel"))]]
    await ask(update, context, t("review.ask_note", comment=events[-1].comment), keyboard(rows), edit=False)
    return NOTE


async def note_given(update: Update, context: CadreContext) -> int:
    draft = draft_of(context, FLOW)
    if draft is None or draft.get("mode") != "resubmit":
        return END
    if update.callback_query is not None:
        await answer(update)
        note = ""
    else:
        note = " ".join((update.effective_message.text or "").split())
        if len(note) > MAX_COMMENT:
            await update.effective_message.reply_text(context.t("review.bad_note", max=MAX_COMMENT))
            return NOTE
    parsed = parse_item(draft["item"])
    item = await load(context, *parsed) if parsed else None
    drop_draft(context, FLOW)
    if item is None:
        await ask(update, context, context.t("review.not_found"))
        return END
    if item.followup is not None and item.followup.closed_at is None:  # reopened meanwhile
        await ask(update, context, context.t("review.redo_instead"))
        return END
    events = await context.repos.oversight.history(item.kind, item.id)
    if events and events[-1].action == "returned":
        await context.repos.oversight.record_review(
            item.kind, item.id, "resubmitted", by=item.author_id, at=now_of(update, context), comment=note,
            token=draft["token"],
        )
        await tell_reviewer(context.application, item, events[-1].by_person, note)
    await ask(update, context, context.t("review.resubmitted"))
    return END


async def browse_and_end(update: Update, context: CadreContext) -> int:
    """A menu button pressed while a reason or a note was asked: leave that question."""
    drop_draft(context, FLOW)
    await browse(update, context)
    return END


async def cancel(update: Update, context: CadreContext) -> int:
    drop_draft(context, FLOW)
    await answer(update)
    await ask(update, context, context.t("review.cancelled"))
    return END


async def on_startup(app: Application) -> None:
    if app.job_queue is not None:
        app.job_queue.run_repeating(sync_job, 120, first=20, name=SYNC)


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    text = private & filters.TEXT & ~filters.COMMAND
    register_links(app)
    app.add_handler(
        Conversation(
            entry_points=[
                CallbackQueryHandler(return_asked, pattern=r"^review:ret:"),
                CallbackQueryHandler(resubmit_asked, pattern=r"^review:resub:"),
            ],
            states={
                COMMENT: [MessageHandler(text, reason_given), CallbackQueryHandler(reason_given, pattern=r"^review:why:")],
                CONFIRM: [CallbackQueryHandler(return_sent, pattern=r"^review:send:")],
                NOTE: [MessageHandler(text, note_given), CallbackQueryHandler(note_given, pattern=r"^review:note:")],
            },
            fallbacks=[
                CallbackQueryHandler(cancel, pattern=r"^review:cancel:"),
                CallbackQueryHandler(browse_and_end, pattern=r"^review:(home|list|item|ok|close):"),
                CommandHandler("cancel", cancel, filters=private),
                CommandHandler("review", review_command, filters=private),
            ],
            name="review",
            persistent=True,
            allow_reentry=True,
        )
    )
    app.add_handler(CommandHandler("review", review_command, filters=private))
    app.add_handler(CallbackQueryHandler(browse, pattern=r"^review:(home|list|item|ok|close):"))
    app.add_handler(CallbackQueryHandler(photos_pressed, pattern=r"^review:pics:"))
    app.add_handler(CallbackQueryHandler(cancel, pattern=r"^review:cancel:"))
