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

from typing import Any

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
from bot.forms.core import Button, Custom, Env, Form, Input, Outcome, Saved, Screen, payload
from bot.rules.reports import editable
from bot.services.scheduler import now_of as clock
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
    sync_job,
    tell_reviewer,
)
from handlers.oversight.review_view import (
    FLOW,
    RETURN_FLOW,
    Item,
    load,
    may_review,
    parse_item,
    register_links,
    show_item,
)
from handlers.visits.followups import redo_payload

NOTE = 2  # the resubmit note's state (its number as before, for conversations persisted mid-note)
REASONS = 4  # quick reasons review.reason.1..4
MAX_COMMENT = 300
END = ConversationHandler.END


# -- the return form (the engine: bot.forms) -------------------------------------------------------
async def item_of(env: Env, draft: dict[str, Any]) -> Item | None:
    """The draft's item if the user may still review it."""
    parsed = parse_item(str(draft.get("arg") or ""))
    item = await load(env.ctx, *parsed) if parsed else None
    return item if item is not None and await may_review(env.ctx, item) else None


async def return_setup(env: Env, draft: dict[str, Any]) -> str | None:
    return None if await item_of(env, draft) is not None else "review.not_yours"


async def reason_show(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    item = await item_of(env, draft)
    rows = [[Button(t(f"review.reason.{n}"), payload(RETURN_FLOW, "why", n))] for n in range(1, REASONS + 1)]
    return Screen(t("review.ask_reason", item=label(env.ctx, item) if item else ""), rows)


async def reason_handle(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    t = env.t
    if inp.kind == "button":
        if inp.action != "why" or not inp.arg.isdigit() or not 1 <= int(inp.arg) <= REASONS:
            return Outcome(alert=t("form.stale"))
        draft["reason"] = t(f"review.reason.{inp.arg}")
        return Outcome(done=True)
    comment = " ".join(inp.text.split()) if inp.kind == "text" else ""
    if not comment or len(comment) > MAX_COMMENT:
        return Outcome(note=t("review.bad_reason", max=MAX_COMMENT))
    draft["reason"] = comment
    return Outcome(done=True)


async def return_review(env: Env, draft: dict[str, Any]) -> str:
    item = await item_of(env, draft)
    if item is None:
        return env.t("review.not_found")
    author = await env.ctx.repos.org.person(item.author_id)
    return env.t("review.confirm_return", item=label(env.ctx, item), author=author.name if author else "",
                 comment=draft["reason"])


async def return_save(env: Env, draft: dict[str, Any]) -> Saved:
    context, t = env.ctx, env.t
    item = await item_of(env, draft)
    if item is None:
        return Saved(Screen(t("review.not_yours")))
    person = context.person
    comment, token = draft["reason"], draft["token"]
    if item.followup is not None:  # reopened for its member to do again, its closing kept
        await context.repos.visits.reopen_followup(item.id, by=person.id, at=env.now, reason=comment, token=token)
    else:
        await context.repos.oversight.record_review(
            item.kind, item.id, "returned", by=person.id, at=env.now, comment=comment, token=token
        )
    told = await tell_author(context.application, item, comment, person.name)
    author = await context.repos.org.person(item.author_id)
    key = "review.returned" if told else "review.returned_not_told"
    if item.followup is not None:
        key = "review.returned_followup" if told else "review.returned_followup_not_told"
        item = await load(context, item.kind, item.id) or item
    text, rows = await show_item(None, context, item, note=t(key, author=author.name if author else ""))  # type: ignore[arg-type]
    return Saved(Screen(text, [[Button(label_, data) for label_, data in row] for row in rows]), record=item.code)


RETURN_FORM = Form(
    RETURN_FLOW,
    allowed=REVIEW,
    entry="start",  # 退回 on an item's screen
    steps=[Custom("reason", label="review.field.reason", show=reason_show, handle=reason_handle, kind_="text")],
    review=return_review,
    save=return_save,
    setup=return_setup,
    keys={"form.btn.save": "review.btn.send_return", "form.cancelled": "review.cancelled"},
    title=lambda draft: str(draft.get("reason") or ""),
)
FORMS = (RETURN_FORM,)


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
        if editable(item.report.created_at, clock(app)):
            rows = [[(t("review.btn.correct"), cb("report", "correct", item.id))], resubmit]
            key = "review.to_author.report"
        else:  # the /report conversation corrects a report only within a day of saving it
            rows = [resubmit]
            key = "review.to_author.report_old"
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
                CallbackQueryHandler(resubmit_asked, pattern=r"^review:resub:"),
            ],
            states={
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
