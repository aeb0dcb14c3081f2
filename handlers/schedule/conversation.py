"""/schedule: recurring events (the monthly 五星支部创建大讲堂, supervision, observation visits).

/schedule lists the admin's events (see :mod:`handlers.schedule.manage`); 新建 and 修改 open
this conversation: title → recurrence (每月几号 / 每月第几个星期几 / 每两个月 / 每周, or typed:
每月第一个周五下午2点半) → the day → (the starting month, every two months) → time → place →
speaker → target groups (unit picker) → review with the next dates, lead times (default 3 days
before at 09:00 and 2 hours before) and who should answer → save. Notices then go to the
target units' bound groups with 参加 / 请假 buttons (:mod:`handlers.schedule.rsvp`).

Editing an event that already sent notices for a coming date edits those notices too (or
marks them cancelled if the date is no longer one of the event's days). This module's
``on_startup`` starts the scheduler (jobs rebuilt from the database). The questions are in
:mod:`handlers.schedule.steps`, the answers in :mod:`handlers.schedule.answers`.
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
from bot.rules.recurrence import DEFAULT_EVENT_LEADS
from bot.services import scheduler
from handlers import unit_picker
from handlers.auth import requires
from handlers.flow import (
    IDLE_MINUTES,
    Conversation,
    Draft,
    answer,
    ask,
    draft_of,
    drop_draft,
    hand_over,
    hint,
    new_draft,
    parse_cb,
    pop_step,
    step,
)
from handlers.schedule import answers
from handlers.schedule.answers import EDITOR, RULE_FIELDS, stale
from handlers.schedule.steps import (
    AUDIENCE,
    DAY,
    FLOW,
    KIND,
    LEADS,
    NTH,
    PLACE,
    RESUME,
    REVIEW,
    SPEAKER,
    START,
    STEPS,
    TIME,
    TITLE,
    UNITS,
    WEEKDAY,
    goto,
    rule_of,
)

MSG = filters.UpdateType.MESSAGE
TEXT = MSG & filters.TEXT & ~filters.COMMAND


async def fresh_draft(context: CadreContext) -> dict[str, Any]:
    draft = new_draft(context, FLOW, leads=[lead.code for lead in DEFAULT_EVENT_LEADS], audience="secretaries")
    root = await context.repos.org.unit(context.person.unit_id)  # type: ignore[union-attr]
    assert root is not None
    unit_picker.start(draft, root)
    return draft


# -- entry ----------------------------------------------------------------------------------
@requires(EDITOR)
async def new_pressed(update: Update, context: CadreContext) -> str:
    await answer(update)
    draft = draft_of(context, FLOW)
    if draft is not None and draft.get("title") and not draft.get("event_id"):
        return await goto(update, context, draft, RESUME)
    return await goto(update, context, await fresh_draft(context), TITLE)


@requires(EDITOR)
async def edit_pressed(update: Update, context: CadreContext) -> str | int:
    """修改 on an event's page: the review of its current details."""
    from handlers.schedule.manage import may_edit

    _, _, arg = parse_cb(update.callback_query.data)
    event = await context.repos.events.get(id_or_zero(arg))
    if event is None or not await may_edit(context, event):
        return await stale(update, context)
    await answer(update)
    draft = new_draft(
        context,
        FLOW,
        event_id=event.id,
        title=event.title,
        place=event.place,
        speaker=event.speaker,
        leads=list(event.leads),
        audience=event.audience,
        editing=True,
        **{k: event.rule.get(k) for k in RULE_FIELDS},
        hour=event.rule["hour"],
        minute=event.rule["minute"],
    )
    root = await context.repos.org.unit(context.person.unit_id)  # type: ignore[union-attr]
    assert root is not None
    unit_picker.start(draft, root, list(event.unit_ids))
    return await goto(update, context, draft, REVIEW)


@requires(EDITOR)
async def resume_chosen(update: Update, context: CadreContext) -> str:
    await answer(update)
    draft = draft_of(context, FLOW)
    _, _, arg = parse_cb(update.callback_query.data)
    if draft is None or arg == "new":
        return await goto(update, context, await fresh_draft(context), TITLE)
    history = [s for s in draft.get("history", []) if s in STEPS]
    draft["history"] = history
    return await goto(update, context, draft, history[-1] if history else TITLE)



@requires(EDITOR)
@step(FLOW, stale, ack=False)
async def save(update: Update, context: CadreContext, draft: Draft) -> str | int:
    t = context.t
    rule = rule_of(draft)
    person = context.person
    assert person is not None
    if rule is None or not draft.get("units") or not draft.get("title"):
        await hint(update, context, "sched.wrong.incomplete")
        return await goto(update, context, draft, REVIEW)
    await answer(update)
    app = context.application
    now = scheduler.now_of(app)
    fields = dict(
        title=draft["title"],
        rule=rule.to_dict(),
        place=draft.get("place") or "",
        speaker=draft.get("speaker") or "",
        leads=draft.get("leads") or [],
        audience=draft.get("audience") or "secretaries",
        unit_ids=draft["units"],
        now=now,
    )
    if draft.get("event_id"):
        event = await context.repos.events.update(int(draft["event_id"]), **fields)
        if event is not None:
            await scheduler.refresh_notices(app, event, now)
        key = "sched.updated"
    else:
        event, _ = await context.repos.events.create(
            token=draft["token"], organiser=person.id, scope_unit_id=person.unit_id, **fields
        )
        key = "sched.saved"
    drop_draft(context, FLOW)
    if event is None:
        await ask(update, context, t("task.stale"))
        return ConversationHandler.END
    scheduler.poke(app)
    await ask(update, context, t(key, title=event.title))
    return ConversationHandler.END


# -- navigation -----------------------------------------------------------------------------
@requires(EDITOR)
@step(FLOW, stale)
async def back(update: Update, context: CadreContext, draft: Draft) -> str | int:
    return await goto(update, context, draft, pop_step(draft) or TITLE)


async def cancel(update: Update, context: CadreContext) -> int:
    await answer(update)
    drop_draft(context, FLOW)
    await ask(update, context, context.t("sched.cancelled"))
    return ConversationHandler.END


async def paused_by_command(update: Update, context: CadreContext) -> int:
    await update.effective_message.reply_text(context.t("task.paused"))
    hand_over(update, context)
    return ConversationHandler.END


async def timed_out(update: Update, context: CadreContext) -> None:
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, context.t("task.timeout", minutes=IDLE_MINUTES))


@step(FLOW, stale, ack=False)
async def wrong_input(update: Update, context: CadreContext, draft: Draft) -> str | int:
    step = (draft.get("history") or [TITLE])[-1]
    step = step if step in STEPS else TITLE
    await hint(update, context, "task.wrong.input" if step in TEXT_STEPS else "task.wrong.buttons")
    return await goto(update, context, draft, step)


TEXT_STEPS = frozenset({TITLE, KIND, DAY, TIME, PLACE, SPEAKER})  # the others: buttons only


def conversation() -> ConversationHandler:
    def button(callback, action: str) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=rf"^{FLOW}:{action}(:|$)")

    return Conversation(
        entry_points=[button(new_pressed, "new"), button(edit_pressed, "edit_event")],
        states={
            RESUME: [button(resume_chosen, "resume")],
            TITLE: [MessageHandler(TEXT, answers.title_typed)],
            KIND: [button(answers.kind_chosen, "kind"), MessageHandler(TEXT, answers.rule_typed)],
            DAY: [button(answers.day_chosen, "day"), MessageHandler(TEXT, answers.day_typed)],
            NTH: [button(answers.nth_chosen, "nth")],
            WEEKDAY: [button(answers.weekday_chosen, "wd")],
            START: [button(answers.start_chosen, "start")],
            TIME: [button(answers.time_chosen, "time"), MessageHandler(TEXT, answers.time_typed)],
            PLACE: [MessageHandler(TEXT, answers.place_typed), button(answers.skipped, "skip")],
            SPEAKER: [MessageHandler(TEXT, answers.speaker_typed), button(answers.skipped, "skip")],
            UNITS: [button(answers.unit_pressed, "u[taopk]")],
            LEADS: [button(answers.lead_toggled, "lead"), button(answers.to_review, "leads_ok")],
            AUDIENCE: [button(answers.to_review, "aud")],
            REVIEW: [button(save, "save"), button(answers.edit_chosen, "edit")],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            button(cancel, "cancel"),
            button(back, "back"),
            MessageHandler(MSG & filters.COMMAND, paused_by_command),
            CallbackQueryHandler(stale, pattern=rf"^{FLOW}:(resume|kind|day|nth|wd|start|time|skip|u.|lead|leads_ok|aud|save|edit):"),
            MessageHandler(MSG & filters.ChatType.PRIVATE, wrong_input),
        ],
        name=FLOW,
        persistent=True,
        allow_reentry=True,
        conversation_timeout=timedelta(minutes=IDLE_MINUTES),
    )


def register(app: Application) -> None:
    app.add_handler(conversation())


async def on_startup(app: Application) -> None:
    """Rebuild the scheduler's jobs from the database (and catch up on missed pushes)."""
    await scheduler.start(app)
