"""延期 on a task's page (/tasks): a small conversation: the new deadline typed freely (or a
quick button), confirmed, saved; the units not done yet are told by the scheduler."""

from __future__ import annotations

from datetime import datetime, timedelta
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
from bot.rules.dates import parse_when
from bot.services import notices, scheduler
from handlers.auth import requires
from handlers.flow import (
    Conversation,
    Draft,
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
    step,
)
from handlers.tasks.listing import EXTEND_FLOW, MANAGE, managed_task_or_alert
from handlers.tasks.steps import QUICK_DEADLINES

EXTEND, CONFIRM = "extend", "confirm"
MSG = filters.UpdateType.MESSAGE
TEXT = MSG & filters.TEXT & ~filters.COMMAND


async def _extend_ask(update: Update, context: CadreContext, draft: dict[str, Any]) -> str:
    t = context.t
    task = await context.repos.tasks.get(draft["task"])
    assert task is not None
    quick = [(t(f"task.quick.{code}"), cb(EXTEND_FLOW, "dl", code)) for code in QUICK_DEADLINES]
    text = t("task.extend.ask", title=task.title, deadline=notices.moment(t, task.deadline, context.services.settings.tz))
    await ask(update, context, text, keyboard([quick, [(t("task.btn.cancel"), cb(EXTEND_FLOW, "cancel"))]]))
    return EXTEND


@requires(MANAGE)
async def extend_start(update: Update, context: CadreContext) -> str | int:
    task = await managed_task_or_alert(update, context)
    if task is None:
        return ConversationHandler.END
    await answer(update)
    draft = new_draft(context, EXTEND_FLOW, task=task.id)
    return await _extend_ask(update, context, draft)


async def _extend_to(update: Update, context: CadreContext, text: str) -> str | int:
    t = context.t
    draft = draft_of(context, EXTEND_FLOW)
    if draft is None:
        return ConversationHandler.END
    tz = context.services.settings
    when = parse_when(text, scheduler.now_of(context.application), want="future", tz=tz.tz_name)
    if when.value is None:
        await hint(update, context, notices.DEADLINE_HINTS.get(when.reason or "", "task.wrong.deadline_not_a_date"))
        return await _extend_ask(update, context, draft)
    draft["deadline"] = when.value.isoformat()
    rows = [[(t("task.btn.extend_confirm"), cb(EXTEND_FLOW, "ok")), (t("task.btn.retype"), cb(EXTEND_FLOW, "again"))],
            [(t("task.btn.cancel"), cb(EXTEND_FLOW, "cancel"))]]
    now = scheduler.now_of(context.application)
    await ask(update, context, t("task.extend.confirm", deadline=notices.moment(t, when.value, tz.tz),
                                 left=notices.left(t, when.value, now)), keyboard(rows))
    return CONFIRM


@requires(MANAGE)
async def extend_typed(update: Update, context: CadreContext) -> str | int:
    return await _extend_to(update, context, update.effective_message.text or "")


@requires(MANAGE)
async def extend_quick(update: Update, context: CadreContext) -> str | int:
    await answer(update)
    _, _, code = parse_cb(update.callback_query.data)
    return await _extend_to(update, context, QUICK_DEADLINES.get(code, ""))


async def _ended(update: Update, context: CadreContext) -> int:
    """No draft (a button of an older 延期 message): end quietly."""
    return ConversationHandler.END


@requires(MANAGE)
@step(EXTEND_FLOW, _ended)
async def extend_again(update: Update, context: CadreContext, draft: Draft) -> str | int:
    return await _extend_ask(update, context, draft)


@requires(MANAGE)
async def extend_confirmed(update: Update, context: CadreContext) -> int:
    t = context.t
    draft = draft_of(context, EXTEND_FLOW)
    if draft is None or not draft.get("deadline"):
        await answer(update)
        return ConversationHandler.END
    app = context.application
    now = scheduler.now_of(app)
    deadline = datetime.fromisoformat(draft["deadline"])
    if deadline <= now:
        await hint(update, context, "task.wrong.deadline_past")
        return await _extend_ask(update, context, draft)
    await answer(update)
    task = await context.repos.tasks.extend(draft["task"], deadline, now)
    drop_draft(context, EXTEND_FLOW)
    if task is None or not task.open:
        await ask(update, context, t("task.stale"))
        return ConversationHandler.END
    scheduler.poke(app)
    await ask(update, context, t("task.extended", title=task.title,
                                 deadline=notices.moment(t, task.deadline, context.services.settings.tz)))
    return ConversationHandler.END


async def extend_cancel(update: Update, context: CadreContext) -> int:
    await answer(update)
    drop_draft(context, EXTEND_FLOW)
    await ask(update, context, context.t("task.extend.cancelled"))
    return ConversationHandler.END


async def extend_paused(update: Update, context: CadreContext) -> int:
    drop_draft(context, EXTEND_FLOW)
    await update.effective_message.reply_text(context.t("task.extend.dropped"))
    hand_over(update, context)
    return ConversationHandler.END


async def extend_wrong(update: Update, context: CadreContext) -> str | None:
    await hint(update, context, "task.wrong.input")
    return None


def extend_conversation() -> ConversationHandler:
    def button(callback, action: str) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=rf"^{EXTEND_FLOW}:{action}(:|$)")

    return Conversation(
        entry_points=[button(extend_start, "start")],
        states={
            EXTEND: [MessageHandler(TEXT, extend_typed), button(extend_quick, "dl")],
            CONFIRM: [button(extend_confirmed, "ok"), button(extend_again, "again")],
        },
        fallbacks=[
            CommandHandler("cancel", extend_cancel),
            button(extend_cancel, "cancel"),
            MessageHandler(MSG & filters.COMMAND, extend_paused),
            MessageHandler(MSG & filters.ChatType.PRIVATE, extend_wrong),
        ],
        name=EXTEND_FLOW,
        persistent=True,
        allow_reentry=True,
        conversation_timeout=timedelta(minutes=30),
    )


def register(app: Application) -> None:
    app.add_handler(extend_conversation())
