"""Shared pieces of the step-by-step conversations.

Every step-by-step conversation is a form of the engine (:mod:`bot.forms`: /report, /visit,
/newtask, 延期, /schedule, household add and edit, the /households overview, the name when
joining...); :func:`register_forms` registers the one handler that runs them all, with the
bot's permission table and clock. The plain screens (lists, cards, menus) use the pieces below;
their conventions:

* Callback payloads are ``flow:action:arg`` (:func:`cb`), under Telegram's 64-byte limit;
  handlers route on them (``pattern=r"^report:date:"``), never on translated button text.
* The draft of a conversation lives in ``context.user_data[flow]`` as plain JSON data, so it
  is persisted after every update and survives a restart; it carries a ``token`` made when
  the draft is created, which the save uses as a unique key so a double tap or a redelivered
  update stores one record.
* Wrong input (a sticker where text is asked, text where a button is expected) gets
  :func:`hint` and the same question again.
* Another command in the middle of a conversation pauses it (the draft stays, so the
  conversation's own command offers to go on) and then runs at once: :func:`hand_over`.
  Nobody is asked to send a command twice, and no answer lands in a forgotten conversation.
* One conversation at a time, by construction: one handler runs every form, routing by the
  form open now, a marker in ``user_data`` saved with the drafts (see :mod:`bot.forms.ptb`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application

from bot.context import CadreContext
from bot.forms.core import Env, Form
from bot.forms.ptb import Forms

MAX_CALLBACK_BYTES = 64
IDLE_MINUTES = 30

Draft = dict[str, Any]


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


EXTRA_FORMS: list[Form] = []  # forms outside handlers/ (the engine's tests add their toy form)


def register_forms(app: Application, forms: Sequence[Form]) -> None:
    """The one handler of every engine form (:class:`bot.forms.ptb.FormsHandler`), with the
    bot's permission table and clock (the engine itself knows neither)."""
    every = [*forms, *EXTRA_FORMS]
    if every:
        Forms(every, env_of=env_of, refusal=form_refusal).register(app)


def env_of(update: Update, context: CadreContext) -> Env:
    from bot.services import scheduler

    settings = context.services.settings
    return Env(t=context.t, now=scheduler.now_of(context.application), tz=settings.tz_name, ctx=context,
               press=update.callback_query is not None, origin=update)


def form_refusal(form: Form, update: Update, context: CadreContext) -> str | None:
    from handlers.auth import refusal_for

    cmd = form.command or form.allowed
    return refusal_for(cmd, update, context) if cmd is not None else None


async def answer(update: Update) -> None:
    """Acknowledge a button press (stops the spinner); harmless for messages."""
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except BadRequest:
            pass
