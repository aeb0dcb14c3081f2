"""/newtask: a township or district admin gives units a task with a deadline.

title → units (unit picker: one village, several, all villages of a township) → deadline typed
freely (11月底前, 下周五, 12月15日, 3天后... read by :func:`bot.rules.dates.parse_when`, echoed
in full) → optional description → review (edit any part, the reminder times too) → publish.
The responsible units are told at once by the scheduler and reminded before the deadline.
返回 and /cancel work at every step; the draft and the step survive a restart, and /newtask
offers to go on with an unfinished draft. One task is stored per draft token however often
发布 is tapped.
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
from bot.rules.dates import parse_when
from bot.rules.deadlines import DEFAULT_TASK_LEADS, LEAD_CHOICES
from bot.services import notices, scheduler
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
    toggle,
)
from handlers.tasks.steps import (
    DEADLINE,
    DESCRIPTION,
    FLOW,
    LEADS,
    NEWTASK,
    QUICK_DEADLINES,
    RESUME,
    REVIEW,
    STEPS,
    TITLE,
    UNITS,
    advance,
    deadline_of,
    goto,
    stale,
)

MAX_TITLE, MAX_DESCRIPTION = 80, 500
MSG = filters.UpdateType.MESSAGE
TEXT = MSG & filters.TEXT & ~filters.COMMAND


# -- entry ----------------------------------------------------------------------------------
@requires(NEWTASK)
async def start(update: Update, context: CadreContext) -> str:
    draft = draft_of(context, FLOW)
    if draft is not None and draft.get("title"):
        return await goto(update, context, draft, RESUME)
    draft = new_draft(context, FLOW, leads=[lead.code for lead in DEFAULT_TASK_LEADS])
    assert context.person is not None
    root = await context.repos.org.unit(context.person.unit_id)
    assert root is not None
    unit_picker.start(draft, root)
    return await goto(update, context, draft, TITLE)


@requires(NEWTASK)
async def resume_chosen(update: Update, context: CadreContext) -> str | int:
    await answer(update)
    draft = draft_of(context, FLOW)
    _, _, arg = parse_cb(update.callback_query.data)
    if draft is None or arg == "new":
        drop_draft(context, FLOW)
        draft = new_draft(context, FLOW, leads=[lead.code for lead in DEFAULT_TASK_LEADS])
        root = await context.repos.org.unit(context.person.unit_id)  # type: ignore[union-attr]
        assert root is not None
        unit_picker.start(draft, root)
        return await goto(update, context, draft, TITLE)
    history = [s for s in draft.get("history", []) if s in STEPS]
    draft["history"] = history
    return await goto(update, context, draft, history[-1] if history else TITLE)


# -- answers --------------------------------------------------------------------------------
@requires(NEWTASK)
@step(FLOW, stale, ack=False)
async def title_typed(update: Update, context: CadreContext, draft: Draft) -> str | int:
    text = " ".join((update.effective_message.text or "").split())
    if not text or len(text) > MAX_TITLE:
        await hint(update, context, "task.wrong.title", max=MAX_TITLE)
        return await goto(update, context, draft, TITLE)
    draft["title"] = text
    return await advance(update, context, draft, TITLE)


@requires(NEWTASK)
@step(FLOW, stale, ack=False)
async def unit_pressed(update: Update, context: CadreContext, draft: Draft) -> str | int | None:
    _, action, arg = parse_cb(update.callback_query.data)
    result = await unit_picker.press(context, draft, action, arg)
    if result == "empty":
        await hint(update, context, "task.wrong.no_units")
        return None
    if result == "denied":
        await hint(update, context, "task.wrong.unit_denied")
        return None
    await answer(update)
    if result == "done":
        return await advance(update, context, draft, UNITS)
    return await goto(update, context, draft, UNITS)


async def _deadline(update: Update, context: CadreContext, text: str) -> str | int:
    draft = draft_of(context, FLOW)
    if draft is None:
        return await stale(update, context)
    settings = context.services.settings
    when = parse_when(text, scheduler.now_of(context.application), want="future", tz=settings.tz_name)
    if when.value is None:
        await hint(update, context, notices.DEADLINE_HINTS.get(when.reason or "", "task.wrong.deadline_not_a_date"))
        return await goto(update, context, draft, DEADLINE)
    draft["deadline"] = when.value.isoformat()
    return await advance(update, context, draft, DEADLINE)


@requires(NEWTASK)
async def deadline_typed(update: Update, context: CadreContext) -> str | int:
    return await _deadline(update, context, update.effective_message.text or "")


@requires(NEWTASK)
async def deadline_button(update: Update, context: CadreContext) -> str | int:
    await answer(update)
    _, _, code = parse_cb(update.callback_query.data)
    return await _deadline(update, context, QUICK_DEADLINES.get(code, ""))


@requires(NEWTASK)
@step(FLOW, stale, ack=False)
async def description_typed(update: Update, context: CadreContext, draft: Draft) -> str | int:
    text = (update.effective_message.text or "").strip()
    if len(text) > MAX_DESCRIPTION:
        await hint(update, context, "task.wrong.description", max=MAX_DESCRIPTION)
        return await goto(update, context, draft, DESCRIPTION)
    draft["description"] = text
    return await advance(update, context, draft, DESCRIPTION)


@requires(NEWTASK)
@step(FLOW, stale)
async def description_skipped(update: Update, context: CadreContext, draft: Draft) -> str | int:
    draft["description"] = ""
    return await advance(update, context, draft, DESCRIPTION)


@requires(NEWTASK)
@step(FLOW, stale)
async def lead_toggled(update: Update, context: CadreContext, draft: Draft) -> str | int:
    _, _, code = parse_cb(update.callback_query.data)
    toggle(draft, "leads", code, (lead.code for lead in LEAD_CHOICES))
    return await goto(update, context, draft, LEADS)


@requires(NEWTASK)
@step(FLOW, stale)
async def leads_done(update: Update, context: CadreContext, draft: Draft) -> str | int:
    return await goto(update, context, draft, REVIEW)


@requires(NEWTASK)
@step(FLOW, stale)
async def edit_chosen(update: Update, context: CadreContext, draft: Draft) -> str | int:
    _, _, step = parse_cb(update.callback_query.data)
    return await goto(update, context, draft, step if step in STEPS else REVIEW)


@requires(NEWTASK)
@step(FLOW, stale, ack=False)
async def save(update: Update, context: CadreContext, draft: Draft) -> str | int:
    person = context.person
    assert person is not None
    now = scheduler.now_of(context.application)
    deadline = deadline_of(context, draft)
    if deadline is None or deadline <= now:
        await hint(update, context, "task.wrong.deadline_past")
        return await goto(update, context, draft, DEADLINE)
    await answer(update)
    task, _ = await context.repos.tasks.create(
        token=draft["token"],
        title=draft["title"],
        description=draft.get("description") or "",
        deadline=deadline,
        leads=draft.get("leads") or [],
        created_by=person.id,
        scope_unit_id=person.unit_id,
        unit_ids=draft["units"],
        now=now,
    )
    drop_draft(context, FLOW)
    scheduler.poke(context.application)
    t = context.t
    await ask(
        update,
        context,
        t(
            "task.saved",
            title=task.title,
            count=len(draft["units"]),
            deadline=notices.moment(t, deadline, context.services.settings.tz),
        ),
    )
    return ConversationHandler.END


# -- navigation -----------------------------------------------------------------------------
@requires(NEWTASK)
@step(FLOW, stale)
async def back(update: Update, context: CadreContext, draft: Draft) -> str | int:
    previous = pop_step(draft) or TITLE
    return await goto(update, context, draft, previous)


async def cancel(update: Update, context: CadreContext) -> int:
    await answer(update)
    drop_draft(context, FLOW)
    await ask(update, context, context.t("task.cancelled"))
    return ConversationHandler.END


async def paused_by_command(update: Update, context: CadreContext) -> int:
    """Another command in the middle: keep the draft, end, run that command."""
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


TEXT_STEPS = frozenset({TITLE, DEADLINE, DESCRIPTION})  # the others are answered with buttons only


def conversation() -> ConversationHandler:
    def button(callback, action: str) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=rf"^{FLOW}:{action}(:|$)")

    private = filters.ChatType.PRIVATE
    return Conversation(
        entry_points=[CommandHandler("newtask", start, filters=private)],
        states={
            RESUME: [button(resume_chosen, "resume")],
            TITLE: [MessageHandler(TEXT, title_typed)],
            UNITS: [button(unit_pressed, "u[taopk]")],
            DEADLINE: [MessageHandler(TEXT, deadline_typed), button(deadline_button, "dl")],
            DESCRIPTION: [MessageHandler(TEXT, description_typed), button(description_skipped, "skip")],
            LEADS: [button(lead_toggled, "lead"), button(leads_done, "leads_ok")],
            REVIEW: [button(save, "save"), button(edit_chosen, "edit")],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            button(cancel, "cancel"),
            button(back, "back"),
            MessageHandler(MSG & filters.COMMAND, paused_by_command),
            CallbackQueryHandler(stale, pattern=rf"^{FLOW}:"),
            MessageHandler(MSG & private, wrong_input),
        ],
        name=FLOW,
        persistent=True,
        allow_reentry=True,
        conversation_timeout=timedelta(minutes=IDLE_MINUTES),
    )


def register(app: Application) -> None:
    app.add_handler(conversation())
    app.add_handler(CallbackQueryHandler(stale, pattern=rf"^{FLOW}:"))
