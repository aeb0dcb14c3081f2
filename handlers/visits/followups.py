"""/followups: the open follow-ups of my visits (a secretary: the whole village's), overdue
first; closing one asks what was done and stores it.

The same follow-ups show first in /visit when their household is chosen; the scheduler
reminds members of due ones (``VisitsRepo.followups_due``).

A follow-up a reviewer returned (/review) is open again: its author's 重新办理 button
(``followup:redo:<id>``, :func:`redo_payload`) enters this conversation straight at its
closing step, which shows the reason and the earlier answer; closing it again is marked
resubmitted and the reviewer is told (:func:`handlers.oversight.review_queue.sync_followups`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import CadreContext
from bot.rules.ids import id_or_zero
from handlers.auth import MEMBERS, command, requires
from handlers.flow import (
    IDLE_MINUTES,
    Conversation,
    answer,
    ask,
    cb,
    draft_of,
    drop_draft,
    hand_over,
    hint,
    keyboard,
    new_draft,
    parse_cb,
)
from handlers.oversight.review_queue import sync_followups
from handlers.visits.common import (
    PAGE_SIZE,
    concern_of,
    followup_line,
    paged,
    reference_now,
    returned_reasons,
    village_of,
)
from storage.visits import FollowUp

FOLLOWUPS = command("followups", MEMBERS)
FLOW = "followup"
LIST, DONE = "list", "done"
MSG = filters.UpdateType.MESSAGE
MAX_TEXT = 1000


async def visible(context: CadreContext) -> tuple[list[FollowUp], bool]:
    """Open follow-ups the user may see and close, and whether they are a village's."""
    person = context.person
    assert person is not None
    if person.role == "secretary":
        village = await village_of(context, person)
        if village is not None:
            return await context.repos.visits.open_followups(village_id=village), True
    return await context.repos.visits.open_followups(member_id=person.id), False


def redo_payload(followup_id: int) -> str:
    """The button that takes a returned follow-up's author to its closing step."""
    return cb(FLOW, "redo", followup_id)


async def returned(context: CadreContext, followup: FollowUp) -> tuple[str, str] | None:
    """(the reviewer's reason, what was answered before) if the follow-up was returned and
    waits to be closed again; else None."""
    events = await context.repos.oversight.history("followup", followup.id)
    if followup.closed_at is not None or not events or events[-1].action != "returned":
        return None
    before = next((e for e in reversed(events) if e.action == "closed"), None)
    earlier = ""
    if before is not None:
        earlier = before.comment or (context.t("ledger.voice_note") if before.voice else "")
    return events[-1].comment, earlier or context.t("review.no_resolution")


async def may_close(context: CadreContext, followup: FollowUp) -> bool:
    person = context.person
    assert person is not None
    if followup.member_id == person.id:
        return True
    return person.role == "secretary" and followup.village_id == await village_of(context, person)


async def show_list(update: Update, context: CadreContext, draft: dict[str, Any], *, edit: bool = True) -> str | int:
    t = context.t
    now = reference_now(update, context, draft)
    followups, village_wide = await visible(context)
    if not followups:
        drop_draft(context, FLOW)
        await ask(update, context, t("followups.none"), edit=edit)
        return ConversationHandler.END
    buttons = [(t("followups.btn.close", n=n), cb(FLOW, "close", f.id)) for n, f in enumerate(followups, start=1)]
    rows, page = paged(buttons, int(draft.get("page", 0)), FLOW, t)
    draft["page"] = page
    shown = followups[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    reasons = await returned_reasons(context, shown)
    lines = [
        followup_line(t, page * PAGE_SIZE + n, f, now, who=village_wide, returned=reasons.get(f.id))
        for n, f in enumerate(shown, start=1)
    ]
    overdue = sum(1 for f in followups if f.overdue(now))
    rows.append([(t("followups.btn.finish"), cb(FLOW, "finish"))])
    text = t.n("followups.header", len(followups), overdue=overdue) + "\n" + "\n".join(lines)
    await ask(update, context, text, keyboard(rows), edit=edit)
    return LIST


@requires(FOLLOWUPS)
async def start(update: Update, context: CadreContext) -> str | int:
    draft = new_draft(context, FLOW, page=0)
    return await show_list(update, context, draft, edit=False)


@requires(FOLLOWUPS)
async def page_chosen(update: Update, context: CadreContext) -> str | int | None:
    await answer(update)
    draft = draft_of(context, FLOW) or new_draft(context, FLOW)
    _, _, arg = parse_cb(update.callback_query.data)
    draft["page"] = id_or_zero(arg)
    return await show_list(update, context, draft)


@requires(FOLLOWUPS)
async def close_chosen(update: Update, context: CadreContext) -> str | None:
    """办结第n项 in the list, or 重新办理 under a returned follow-up (which may start the
    conversation): ask what was done."""
    _, action, arg = parse_cb(update.callback_query.data)
    followup = await context.repos.visits.followup(id_or_zero(arg))
    if followup is None or not await may_close(context, followup):
        await hint(update, context, "followups.not_yours")
        return None
    if followup.closed_at is not None:
        await hint(update, context, "followups.already_closed")
        return None
    await answer(update)
    draft = draft_of(context, FLOW) or new_draft(context, FLOW)
    draft["closing"] = followup.id
    t = context.t
    was = await returned(context, followup)
    if was is None:
        text = t("followups.ask_done", concern=concern_of(t, followup), household=followup.household_head)
    else:
        text = t("followups.ask_redo", concern=concern_of(t, followup), household=followup.household_head,
                 reason=was[0], earlier=was[1])
    # under the reviewer's message the question comes as a new message, leaving that one
    await ask(update, context, text, keyboard([[(t("visit.btn.back"), cb(FLOW, "back"))]]), edit=action != "redo")
    return DONE


@requires(FOLLOWUPS)
async def done_given(update: Update, context: CadreContext) -> str | int | None:
    """What was done: text or a voice note; the follow-up is closed with it."""
    draft = draft_of(context, FLOW) or new_draft(context, FLOW)
    now = reference_now(update, context, draft)
    followup = await context.repos.visits.followup(int(draft.pop("closing", 0) or 0))
    if followup is None or not await may_close(context, followup):
        await hint(update, context, "followups.not_yours")
        return await show_list(update, context, draft, edit=False)
    message = update.message
    text = None if message.voice else (message.text or "").strip()[:MAX_TEXT]
    voice = message.voice.file_id if message.voice else None
    redone = await returned(context, followup) is not None
    closed = await context.repos.visits.close_followup(
        followup.id, by_person_id=context.person.id, closed_at=now, text=text, voice=voice  # type: ignore[union-attr]
    )
    t = context.t
    key = "followups.closed" if closed else "followups.already_closed"
    if closed and redone:
        key = "followups.resubmitted"
    await message.reply_text(t(key, household=followup.household_head, concern=concern_of(t, followup)))
    if closed and redone:  # done again after a review returned it: back to the reviewer
        await sync_followups(context.application, followup.id)
    return await show_list(update, context, draft, edit=False)


@requires(FOLLOWUPS)
async def back(update: Update, context: CadreContext) -> str | int:
    await answer(update)
    draft = draft_of(context, FLOW) or new_draft(context, FLOW)
    draft.pop("closing", None)
    return await show_list(update, context, draft)


async def finish(update: Update, context: CadreContext) -> int:
    await answer(update)
    drop_draft(context, FLOW)
    if update.callback_query is not None:
        await update.callback_query.edit_message_reply_markup(None)
    else:
        await update.effective_message.reply_text(context.t("followups.finished"))
    return ConversationHandler.END


async def ended_by_command(update: Update, context: CadreContext) -> int:
    drop_draft(context, FLOW)
    await update.effective_message.reply_text(context.t("followups.ended_for_command"))
    hand_over(update, context)
    return ConversationHandler.END


async def wrong_input(update: Update, context: CadreContext) -> None:
    draft = draft_of(context, FLOW) or {}
    await hint(update, context, "followups.wrong.done" if draft.get("closing") else "followups.wrong.list")


async def timed_out(update: Update, context: CadreContext) -> None:
    drop_draft(context, FLOW)
    if update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, context.t("followups.timeout", minutes=IDLE_MINUTES))


async def stale(update: Update, context: CadreContext) -> None:
    await update.callback_query.answer(context.t("followups.stale"), show_alert=True)


def register(app: Application) -> None:
    def button(callback, action: str) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=rf"^{FLOW}:{action}:")

    listing = [button(close_chosen, "close"), button(close_chosen, "redo"), button(page_chosen, "page")]
    app.add_handler(
        Conversation(
            entry_points=[CommandHandler("followups", start), button(close_chosen, "redo")],
            states={
                LIST: listing,
                DONE: [MessageHandler(MSG & ((filters.TEXT & ~filters.COMMAND) | filters.VOICE), done_given), *listing],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
            },
            fallbacks=[
                button(back, "back"),
                button(finish, "finish"),
                CommandHandler("cancel", finish),
                MessageHandler(MSG & filters.COMMAND, ended_by_command),
                CallbackQueryHandler(stale, pattern=rf"^{FLOW}:"),
                MessageHandler(MSG, wrong_input),
            ],
            name="followups",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=timedelta(minutes=IDLE_MINUTES),
        )
    )
    app.add_handler(CallbackQueryHandler(stale, pattern=rf"^{FLOW}:"))
