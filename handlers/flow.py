"""Shared pieces of the step-by-step conversations (reports, visits, tasks, schedules).

Conventions every conversation follows:

* Callback payloads are ``flow:action:arg`` (:func:`cb`), under Telegram's 64-byte limit;
  handlers route on them (``pattern=r"^report:date:"``), never on translated button text.
* The draft of a conversation lives in ``context.user_data[flow]`` as plain JSON data, so it
  is persisted after every update and survives a restart; it carries a ``token`` made when
  the draft is created, which the save uses as a unique key so a double tap or a redelivered
  update stores one record.
* Every question can be answered again: ``back`` pops the step history kept in the draft.
* Wrong input (a sticker where text is asked, text where a button is expected) gets
  :func:`hint` and the same question again.
* Another command in the middle of a conversation pauses it (the draft stays, so the
  conversation's own command offers to go on) and then runs at once: :func:`hand_over`.
  Nobody is asked to send a command twice, and no answer lands in a forgotten conversation.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, ConversationHandler

from bot.context import CadreContext

MAX_CALLBACK_BYTES = 64
IDLE_MINUTES = 30

Draft = dict[str, Any]
R = TypeVar("R")
M = TypeVar("M")
Handler = Callable[[Update, CadreContext], Awaitable[R]]
StepHandler = Callable[[Update, CadreContext, Draft], Awaitable[R]]


def cb(flow: str, action: str, arg: object = "") -> str:
    data = f"{flow}:{action}:{arg}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback payload over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def parse_cb(data: str | None) -> tuple[str, str, str]:
    flow, _, rest = (data or "").partition(":")
    action, _, arg = rest.partition(":")
    return flow, action, arg


Button = tuple[str, str]  # (label, callback payload)


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows if row]
    )


def chunk(buttons: Sequence[Button], per_row: int) -> list[list[Button]]:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def new_draft(context: CadreContext, flow: str, **fields: Any) -> dict[str, Any]:
    draft = {"token": secrets.token_hex(8), "history": [], **fields}
    context.user_data[flow] = draft
    return draft


def draft_of(context: CadreContext, flow: str) -> dict[str, Any] | None:
    draft = context.user_data.get(flow)
    return draft if isinstance(draft, dict) else None


def drop_draft(context: CadreContext, flow: str) -> None:
    context.user_data.pop(flow, None)


def toggle(draft: dict[str, Any], key: str, code: str, allowed: Iterable[str]) -> None:
    """A multi-choice button pressed: add or remove ``code`` in ``draft[key]`` (kept sorted)."""
    if code in set(allowed):
        draft[key] = sorted(set(draft.get(key) or []) ^ {code})


def push_step(draft: dict[str, Any], step: str) -> None:
    history = draft.setdefault("history", [])
    if not history or history[-1] != step:
        history.append(step)


def pop_step(draft: dict[str, Any]) -> str | None:
    """Forget the current step and return the one before it (None at the first step)."""
    history = draft.setdefault("history", [])
    if history:
        history.pop()
    return history[-1] if history else None


async def ask(
    update: Update,
    context: CadreContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    edit: bool = True,
) -> Message | None:
    """Ask a question: edit the message whose button was pressed, or send a new one."""
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        try:
            result = await query.edit_message_text(text, reply_markup=markup)
            return result if isinstance(result, Message) else None
        except BadRequest as exc:  # "message is not modified" or too old to edit
            if "not modified" in str(exc).lower():
                return None
    chat_id = update.effective_chat.id if update.effective_chat else None
    if chat_id is None:
        return None
    return await context.bot.send_message(chat_id, text, reply_markup=markup)


async def hint(update: Update, context: CadreContext, key: str, **kwargs: object) -> None:
    """A short polite note about wrong input; the caller then asks the same question again."""
    if update.callback_query is not None:
        await update.callback_query.answer(context.t(key, **kwargs), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(context.t(key, **kwargs))


class Conversation(ConversationHandler):
    """A ConversationHandler that, when it starts, pauses the user's other conversations.

    A user is in one conversation at a time: starting one (by a command or by a button such as
    the correction button of a returned report) ends any other the user had open in this chat,
    keeping its draft in ``user_data`` so that its own command offers to go on. Without this, text typed later
    would go to whichever open conversation was registered first, not to the one on screen.
    (Uses ConversationHandler's ``_get_key``/``_update_state``; PTB is pinned to 22.x.)
    """

    async def handle_update(self, update, application, check_result, context):  # type: ignore[no-untyped-def]
        starting = check_result[0] is None  # no state yet for this chat and user: an entry point
        key = check_result[1]
        try:
            return await super().handle_update(update, application, check_result, context)
        finally:
            if starting and self._conversations.get(key) is not None:
                pause_others(application, self, update)


def pause_others(application: Application, current: ConversationHandler, update: Update) -> None:
    """End the user's other open conversations in this chat (quietly: their drafts stay)."""
    for handlers in application.handlers.values():
        for handler in handlers:
            if handler is current or not isinstance(handler, ConversationHandler):
                continue
            try:
                key = handler._get_key(update)
            except RuntimeError:  # the update has no chat or user for this handler's key
                continue
            if handler._conversations.get(key) is None:
                continue
            job = handler.timeout_jobs.pop(key, None)
            if job is not None:
                job.schedule_removal()
            handler._update_state(ConversationHandler.END, key)


def hand_over(update: Update, context: CadreContext) -> None:
    """Process ``update`` (a command) again once the current handling of it is over.

    The caller ends its conversation (``return ConversationHandler.END``). The update goes
    through the application's update processor, which runs a chat's updates one at a time in
    order, so when it runs again the conversation is over and the command reaches its own
    handler.
    """
    app = context.application

    async def again() -> None:
        await app.update_processor.process_update(update, app.process_update(update))

    background = context.services.background
    task = asyncio.get_running_loop().create_task(again())
    background.add(task)
    task.add_done_callback(background.discard)


async def answer(update: Update) -> None:
    """Acknowledge a button press (stops the spinner); harmless for messages."""
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except BadRequest:
            pass


def step(
    flow: str, on_missing: Handler[M], *, ack: bool = True
) -> Callable[[StepHandler[R]], Handler[R | M]]:
    """Run a step's callback with the flow's draft as its third argument.

    With ``ack`` the button press is acknowledged first (:func:`answer`; harmless for
    messages); a callback that may answer the press with an alert of its own passes
    ``ack=False``. Without a draft (a button of an older message, or user_data wiped) the
    module's own ``on_missing(update, context)`` runs instead and its result is returned, so
    each conversation keeps its own way of saying so and its own state (END, None...).
    Put it below ``@requires(...)``, which stays the outer decorator.
    """

    def decorate(callback: StepHandler[R]) -> Handler[R | M]:
        @functools.wraps(callback)
        async def wrapper(update: Update, context: CadreContext) -> R | M:
            if ack:
                await answer(update)
            draft = draft_of(context, flow)
            if draft is None:
                return await on_missing(update, context)
            return await callback(update, context, draft)

        return wrapper

    return decorate
