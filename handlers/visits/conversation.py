"""/visit: a party member logs a household visit (党员联户), one question at a time.

household (my households, longest unvisited first) → open follow-ups of that household, if
any (close them on this visit) → date → role(s) → 诉求 (text, voice or 无) → outcome →
follow-up date (when it needs following up) → optional photo → review with edit → save.

返回 and /cancel work at every step; after 30 idle minutes the conversation pauses and keeps
the draft, /visit offers to go on with it; the state and draft survive a restart
(persistent conversation, draft in user_data). One visit is stored per draft token however
often 保存 is tapped. The questions are in :mod:`handlers.visits.ask`, the answers in
:mod:`handlers.visits.answers`, the review's edits and the save in :mod:`handlers.visits.save`.
"""

from __future__ import annotations

from datetime import timedelta

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
from handlers.auth import requires
from handlers.flow import (
    IDLE_MINUTES,
    Conversation,
    Draft,
    answer,
    draft_of,
    drop_draft,
    hand_over,
    hint,
    new_draft,
    parse_cb,
    pop_step,
    step,
)
from handlers.reports import from_text
from handlers.visits import answers
from handlers.visits import save as visit_save
from handlers.visits.answers import my_household, stale
from handlers.visits.ask import (
    CONCERN,
    DATE,
    DUE,
    FLOW,
    FOLLOWUP_DONE,
    FOLLOWUPS,
    HOUSEHOLD,
    OUTCOME,
    PHOTO,
    RESUME,
    REVIEW,
    ROLES,
    STEPS,
    VISIT,
    goto,
    next_step,
)
from handlers.visits.common import reference_now, village_of

MSG = filters.UpdateType.MESSAGE  # new messages only: an edited old message is not an answer
TEXT = MSG & filters.TEXT & ~filters.COMMAND


async def no_households_text(context: CadreContext) -> str:
    person = context.person
    assert person is not None
    if person.role == "secretary":
        return context.t("visit.no_households_secretary")
    village = await village_of(context, person)
    names = await context.repos.households.secretaries(village) if village else []
    if not names:
        return context.t("visit.no_households_nobody")
    return context.t("visit.no_households", secretary=context.t("list.sep").join(names))


@requires(VISIT)
async def start(update: Update, context: CadreContext) -> str | int:
    """/visit: offer a paused draft, or begin with the household buttons."""
    draft = draft_of(context, FLOW)
    if draft is not None and draft.get("household_id"):
        reference_now(update, context, draft)
        return await goto(update, context, draft, RESUME)
    statuses = await context.repos.households.of_member(context.person.id)  # type: ignore[union-attr]
    if not statuses:
        drop_draft(context, FLOW)
        await update.effective_message.reply_text(await no_households_text(context))
        return ConversationHandler.END
    draft = new_draft(context, FLOW, v=1, roles=[], closes={}, page=0)
    reference_now(update, context, draft)
    return await goto(update, context, draft, HOUSEHOLD)


@requires(VISIT)
async def resume_chosen(update: Update, context: CadreContext) -> str | int | None:
    await answer(update)
    draft = draft_of(context, FLOW)
    _, _, arg = parse_cb(update.callback_query.data)
    if draft is None or arg == "new":
        old_now = (draft or {}).get("now")
        draft = new_draft(context, FLOW, v=1, roles=[], closes={}, page=0, now=old_now)
        return await goto(update, context, draft, HOUSEHOLD)
    step = (draft.get("history") or [HOUSEHOLD])[-1]
    return await goto(update, context, draft, step if step in STEPS else HOUSEHOLD)


@requires(VISIT)
@step(FLOW, stale, ack=False)
async def household_chosen(update: Update, context: CadreContext, draft: Draft) -> str | None:
    _, _, arg = parse_cb(update.callback_query.data)
    status = await my_household(update, context, id_or_zero(arg))
    if status is None:
        if (draft.get("history") or [None])[-1] == HOUSEHOLD:
            await goto(update, context, draft, HOUSEHOLD)  # the list may have changed
        return None  # stay where we are; nothing changes
    await answer(update)
    if draft.get("household_id") != status.household.id:
        draft["closes"] = {}
    draft["household_id"] = status.household.id
    draft["head"] = status.household.head
    draft["has_followups"] = status.open_followups > 0
    return await goto(update, context, draft, next_step(draft, HOUSEHOLD))


@requires(VISIT)
@step(FLOW, stale)
async def page_chosen(update: Update, context: CadreContext, draft: Draft) -> str | None:
    _, _, arg = parse_cb(update.callback_query.data)
    draft["page"] = id_or_zero(arg)
    return await goto(update, context, draft, HOUSEHOLD)


@requires(VISIT)
@step(FLOW, stale, ack=False)
async def followup_toggled(update: Update, context: CadreContext, draft: Draft) -> str | None:
    """✅ 第N项已办结: ask what was done; pressed again: not closed after all."""
    _, _, arg = parse_cb(update.callback_query.data)
    followup = await context.repos.visits.followup(id_or_zero(arg))
    if followup is None or followup.household_id != draft.get("household_id") or followup.closed_at:
        await hint(update, context, "visit.fu.not_here")
        return None
    await answer(update)
    closes = draft.setdefault("closes", {})
    if closes.pop(str(followup.id), None) is not None:
        return await goto(update, context, draft, FOLLOWUPS)
    draft["closing"] = followup.id
    return await goto(update, context, draft, FOLLOWUP_DONE)


@requires(VISIT)
@step(FLOW, stale)
async def followups_continue(update: Update, context: CadreContext, draft: Draft) -> str | None:
    return await goto(update, context, draft, next_step(draft, FOLLOWUPS))


@requires(VISIT)
@step(FLOW, stale)
async def back(update: Update, context: CadreContext, draft: Draft) -> str | None:
    previous = pop_step(draft) or HOUSEHOLD
    return await goto(update, context, draft, previous)


async def cancel(update: Update, context: CadreContext) -> int:
    await answer(update)
    drop_draft(context, FLOW)
    if update.callback_query is not None and update.callback_query.message is not None:
        await update.callback_query.edit_message_text(context.t("visit.cancelled"))
    else:
        await update.effective_message.reply_text(context.t("visit.cancelled"))
    return ConversationHandler.END


async def paused_by_command(update: Update, context: CadreContext) -> int:
    """Another command in the middle of /visit: keep the draft, end, run that command."""
    await update.effective_message.reply_text(context.t("visit.paused_for_command"))
    hand_over(update, context)
    return ConversationHandler.END


async def timed_out(update: Update, context: CadreContext) -> None:
    """30 idle minutes: keep a draft worth keeping and say how to go on."""
    draft = draft_of(context, FLOW)
    chat = update.effective_chat
    if draft is None or not draft.get("household_id"):
        drop_draft(context, FLOW)
        key = "visit.timeout.nothing"
    else:
        key = "visit.timeout.kept"
    if chat is not None:
        await context.bot.send_message(chat.id, context.t(key, minutes=IDLE_MINUTES, household=(draft or {}).get("head") or ""))


@step(FLOW, stale, ack=False)
async def wrong_input(update: Update, context: CadreContext, draft: Draft) -> str | None:
    """Input the current question does not take: a short hint and the question again."""
    step = (draft.get("history") or [HOUSEHOLD])[-1]
    await hint(update, context, f"visit.wrong.{step if step in STEPS else HOUSEHOLD}")
    return await goto(update, context, draft, step if step in STEPS else HOUSEHOLD)


def conversation() -> ConversationHandler:
    def button(callback, action: str) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=rf"^{FLOW}:{action}:")

    return Conversation(
        entry_points=[
            CommandHandler("visit", start),
            # 保存 / 修改 on a visit offered from a message (handlers.reports.from_text)
            CallbackQueryHandler(from_text.visit_accepted, pattern=r"^offer:(vsave|vedit):"),
        ],
        states={
            RESUME: [button(resume_chosen, "resume")],
            HOUSEHOLD: [button(household_chosen, "hh"), button(page_chosen, "page")],
            FOLLOWUPS: [button(followup_toggled, "fu"), button(followups_continue, "next")],
            FOLLOWUP_DONE: [MessageHandler(TEXT | (MSG & filters.VOICE), answers.followup_resolution)],
            DATE: [button(answers.date_button, "date"), MessageHandler(TEXT, answers.date_typed)],
            ROLES: [button(answers.role_toggled, "role"), button(answers.roles_done, "roles_done")],
            CONCERN: [
                button(answers.concern_none, "concern"),
                MessageHandler(TEXT, answers.concern_typed),
                MessageHandler(MSG & (filters.VOICE | filters.AUDIO), answers.concern_voice),
            ],
            OUTCOME: [button(answers.outcome_chosen, "out")],
            DUE: [MessageHandler(TEXT, answers.due_typed)],
            PHOTO: [
                MessageHandler(MSG & filters.PHOTO, answers.photo_received),
                button(answers.photo_button, "photo"),
                MessageHandler(TEXT, answers.photo_text),
            ],
            REVIEW: [
                button(visit_save.save, "save"),
                button(visit_save.edit_chosen, "edit"),
                MessageHandler(MSG & filters.PHOTO, answers.photo_received),
            ],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            button(cancel, "cancel"),
            button(back, "back"),
            MessageHandler(MSG & filters.COMMAND, paused_by_command),
            CallbackQueryHandler(stale, pattern=rf"^{FLOW}:"),
            MessageHandler(MSG, wrong_input),
        ],
        name=FLOW,
        persistent=True,
        allow_reentry=True,
        conversation_timeout=timedelta(minutes=IDLE_MINUTES),
    )


def register(app: Application) -> None:
    app.add_handler(conversation())
    # Buttons of a finished, cancelled or paused visit (a second tap on 保存 lands here).
    app.add_handler(CallbackQueryHandler(stale, pattern=rf"^{FLOW}:"))

