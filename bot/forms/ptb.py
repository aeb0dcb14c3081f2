"""The python-telegram-bot adapter of the form engine: ONE ConversationHandler for every form.

Entry points are every form's command, its entry button and, last, any payload of a form (a
button of a form that is not open is stale). The states are every ``"<form>:<step>"``; in a
state, the form's own buttons and every private message (text, photos, a location, a
command...) become an :class:`~bot.forms.core.Input` for :func:`bot.forms.core.handle`, and
the :class:`~bot.forms.core.Reply` becomes send/edit calls. One idle timeout for all forms.

One conversation at a time, by a public marker: ``user_data[ACTIVE]`` names the conversation
the user is in. Whoever starts claims it; a form that receives an update while the marker
names another one ends quietly (its draft stays) and lets the update go on
(:func:`hand_over`). The marker outlives the form that set it, so a form left open before it
never wakes up again. Nothing here touches PTB's private attributes.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.forms import core
from bot.forms.core import Env, Form, Input, Reply

IDLE_MINUTES = 30
NAME = "forms"
ACTIVE = "active_flow"  # user_data: the conversation the user is in now
OPEN = "open_form"  # user_data: the engine form in a state (for the timeout)

EnvOf = Callable[[Update, Any], Env]
RefusalOf = Callable[[Form, Update, Any], "str | None"]


# -- the one-conversation-at-a-time marker ---------------------------------------------------------
def claim(user_data: dict | None, name: str) -> None:
    if user_data is not None:
        user_data[ACTIVE] = name


def owns(user_data: dict | None, name: str) -> bool:
    """True unless another conversation started since ``name`` did."""
    return user_data is None or user_data.get(ACTIVE) in (None, name)


def hand_over(update: Update, context: Any, *, then: Callable[[], object] | None = None) -> None:
    """Process ``update`` again once its current handling is over (the caller ends its
    conversation). The application's update processor runs a chat's updates in order, so when
    it runs again the conversation is over and the update reaches its own handler. ``then``
    runs once it was processed again."""
    app = context.application

    async def again() -> None:
        await app.update_processor.process_update(update, app.process_update(update))

    task = asyncio.get_running_loop().create_task(again())
    if then is not None:
        task.add_done_callback(lambda _: then())
    background = getattr(getattr(app, "services", None), "background", None)
    if background is not None:
        background.add(task)
        task.add_done_callback(background.discard)


# id(update) -> (update, form, arg): the forms that open_later was asked to open for an update
_OPENING: dict[int, tuple[Update, str, str]] = {}


def open_later(update: Update, context: Any, form: str, arg: str = "") -> None:
    """Open the engine form ``form`` (with ``arg``, as an entry button's) for ``update``, from a
    handler outside the forms' conversation (a typed invite code that needs the joiner's name):
    the update is processed again (:func:`hand_over`) and the forms' conversation takes it as
    that form's entry; nothing else sees it then. No form may be open (a form in a state gets
    every private message first, so a handler behind it runs only when none is)."""
    key = id(update)
    _OPENING[key] = (update, form, arg)
    hand_over(update, context, then=lambda: _OPENING.pop(key, None))


class _Opening(BaseHandler):
    """The forms' entry point for :func:`open_later`: it matches only the update it was asked for."""

    def __init__(self, forms: Forms) -> None:
        super().__init__(self.open_)
        self.forms = forms

    def check_update(self, update: object) -> bool:
        pending = _OPENING.get(id(update))
        return pending is not None and pending[0] is update and pending[1] in self.forms.forms

    async def open_(self, update: Update, context: Any) -> object:
        _, name, arg = _OPENING.pop(id(update))
        return await self.forms.open(update, context, self.forms.forms[name], arg)


# -- updates in, screens out ------------------------------------------------------------------------
def to_input(update: Update) -> Input:
    query = update.callback_query
    if query is not None:
        message_id = query.message.message_id if query.message is not None else None
        return Input("button", payload=query.data or "", message_id=message_id)
    message = update.effective_message
    if message is None:
        return Input("other")
    at = message.date
    if message.text and message.text.startswith("/"):
        return Input("command", text=message.text, at=at)
    if message.text:
        return Input("text", text=message.text, at=at)
    if message.photo:
        largest = message.photo[-1]
        return Input("photos", photos=(largest.file_id,), photo_keys=(largest.file_unique_id,),
                     album=message.media_group_id, text=message.caption or "", at=at)
    if message.location:
        return Input("location", location=(message.location.latitude, message.location.longitude), at=at)
    audio = message.voice or message.audio
    if audio is not None:
        return Input("voice", voice=audio.file_id, seconds=int(audio.duration or 0), at=at)
    if message.document is not None:  # a file (often a photo sent "as a file"): a form may say so
        return Input("document", at=at)
    return Input("other", at=at)


def markup(screen: core.Screen) -> InlineKeyboardMarkup | None:
    return _markup(tuple(tuple(row) for row in screen.buttons if row))


@functools.lru_cache(maxsize=1024)
def _markup(rows: tuple[tuple[core.Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """The keyboard of these rows; the same screens come back on every report, and PTB's
    objects are immutable, so one keyboard is built once (building the buttons is most of
    the cost of sending a screen)."""
    keyboard = [[InlineKeyboardButton(b.label, callback_data=b.payload) for b in row] for row in rows]
    return InlineKeyboardMarkup(keyboard) if keyboard else None


async def show(update: Update, context: Any, reply: Reply) -> Message | None:
    """Answer the press, send the notes, then the screen (editing the pressed message)."""
    query = update.callback_query
    chat = update.effective_chat
    if query is not None:
        try:
            await query.answer(reply.alert, show_alert=bool(reply.alert))
        except BadRequest:
            pass
    notes = list(reply.notes)
    if reply.alert and query is None:  # a message gets the alert as a note
        notes.insert(0, reply.alert)
    if chat is None:
        return None
    for note in notes:
        await context.bot.send_message(chat.id, note)
    screen = reply.screen
    if screen is None:
        return None
    keyboard = markup(screen)
    if query is not None and query.message is not None and reply.edit and not notes:
        try:
            result = await query.edit_message_text(screen.text, reply_markup=keyboard)
            return result if isinstance(result, Message) else None
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return query.message if isinstance(query.message, Message) else None
    return await context.bot.send_message(chat.id, screen.text, reply_markup=keyboard)


class Forms:
    """The forms of the bot and the one ConversationHandler that runs them."""

    def __init__(self, forms: Sequence[Form], *, env_of: EnvOf, refusal: RefusalOf) -> None:
        self.forms = {f.name: f for f in forms}
        if len(self.forms) != len(forms):
            raise ValueError("two forms with one name")
        self.env_of = env_of
        self.refusal = refusal

    # -- the callbacks -------------------------------------------------------------------------
    async def apply(self, update: Update, context: Any, form: Form, reply: Reply) -> object:
        user_data = context.user_data
        if reply.draft is None:
            user_data.pop(form.name, None)
        else:
            user_data[form.name] = reply.draft
        if reply.state is None:  # the marker stays: an old conversation left open must not wake up
            user_data.pop(OPEN, None)
        else:
            claim(user_data, form.name)
            user_data[OPEN] = form.name
        message = await show(update, context, reply)
        if reply.draft is not None and reply.state is not None and reply.screen is not None and message is not None:
            reply.draft["asked"] = message.message_id
        if reply.hand_over:
            hand_over(update, context)
        return reply.state if reply.state is not None else ConversationHandler.END

    async def refused(self, update: Update, context: Any, form: Form) -> str | None:
        refusal = self.refusal(form, update, context)
        if refusal is not None:
            if update.callback_query is not None:
                await update.callback_query.answer(refusal, show_alert=True)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(refusal)
        return refusal

    def opener(self, form: Form) -> Callable[[Update, Any], Any]:
        async def open_(update: Update, context: Any) -> object:
            inp = to_input(update)
            return await self.open(update, context, form, inp.arg if inp.kind == "button" else "")

        return open_

    async def open(self, update: Update, context: Any, form: Form, arg: str) -> object:
        if await self.refused(update, context, form):
            return ConversationHandler.END
        env = self.env_of(update, context)
        draft = context.user_data.get(form.name)
        inp = to_input(update)
        reply = await core.open_form(form, env, draft, arg, at=inp.at, inp=inp if inp.kind == "button" else None)
        return await self.apply(update, context, form, reply)

    def stepper(self, form: Form) -> Callable[[Update, Any], Any]:
        async def step(update: Update, context: Any) -> object:
            if not owns(context.user_data, form.name):  # another conversation started meanwhile
                context.user_data.pop(OPEN, None)
                hand_over(update, context)
                return ConversationHandler.END
            if await self.refused(update, context, form):
                return ConversationHandler.END
            env = self.env_of(update, context)
            reply = await core.handle(form, env, context.user_data.get(form.name), to_input(update))
            return await self.apply(update, context, form, reply)

        return step

    async def elsewhere(self, update: Update, context: Any) -> object:
        """A form's button while no form (or another one) is open: an entry button of another
        form pauses this one and starts that one; any other is stale."""
        data = update.callback_query.data if update.callback_query else ""
        flow, action, arg = core.parse_payload(data or "")
        target = self.forms.get(flow)
        is_entry = target is not None and target.entry == action
        alias = self.alias_of(data or "")
        if alias is not None:  # an older payload of an entry button (Form.aliases)
            target, is_entry = alias, True
        open_name = context.user_data.get(OPEN)
        if target is not None and is_entry and open_name and open_name != target.name:
            context.user_data.pop(OPEN, None)
            hand_over(update, context)
            return ConversationHandler.END
        if alias is not None and open_name == alias.name:  # the open form's own (older) entry button
            return await self.open(update, context, alias, arg)
        if target is not None and await self.refused(update, context, target):
            return None
        env = self.env_of(update, context)
        if target is not None:
            await show(update, context, await core.late(target, env, to_input(update)))
        else:
            await show(update, context, core.stale(next(iter(self.forms.values())), env, None, None))
        return None

    async def timed_out(self, update: Update, context: Any) -> None:
        name = context.user_data.get(OPEN)
        form = self.forms.get(name or "")
        context.user_data.pop(OPEN, None)
        if form is None:
            return
        env = self.env_of(update, context)
        reply = core.timeout(form, env, context.user_data.get(form.name))
        chat = update.effective_chat
        if chat is not None:
            for note in reply.notes:
                await context.bot.send_message(chat.id, note)

    # -- the handler -----------------------------------------------------------------------------
    def prefixes(self) -> str:
        return "|".join(sorted(self.forms))

    def alias_of(self, data: str) -> Form | None:
        return next((f for f in self.forms.values() for a in f.aliases if data.startswith(f"{a}:")), None)

    def pattern(self) -> str:
        """Every form's payloads and the older payloads of their entry buttons."""
        aliases = [re.escape(a) for f in self.forms.values() for a in f.aliases]
        return rf"^({self.prefixes()}):" + (rf"|^({'|'.join(aliases)}):" if aliases else "")

    def conversation(self) -> ConversationHandler:
        private = filters.ChatType.PRIVATE
        entry: list[BaseHandler] = []
        for form in self.forms.values():
            if form.command is not None:
                entry.append(CommandHandler(form.command.name, self.opener(form), filters=private))
            if form.entry:
                entry.append(CallbackQueryHandler(self.opener(form), pattern=rf"^{form.name}:{form.entry}:"))
            for alias in form.aliases:  # an older payload of the entry button opens the form too
                entry.append(CallbackQueryHandler(self.opener(form), pattern=rf"^{alias}:"))
        entry.append(_Opening(self))
        entry.append(CallbackQueryHandler(self.elsewhere, pattern=self.pattern()))
        states: dict[object, list[BaseHandler]] = {}
        for form in self.forms.values():
            step = self.stepper(form)
            handlers: list[BaseHandler] = [
                CallbackQueryHandler(step, pattern=rf"^{form.name}:"),
                MessageHandler(filters.UpdateType.MESSAGE & private, step),
            ]
            for state in form.states:
                states[state] = handlers
        states[ConversationHandler.TIMEOUT] = [TypeHandler(Update, self.timed_out)]
        return ConversationHandler(
            entry_points=entry,
            states=states,
            fallbacks=[CallbackQueryHandler(self.elsewhere, pattern=self.pattern())],
            name=NAME,
            persistent=True,
            allow_reentry=False,
            conversation_timeout=timedelta(minutes=IDLE_MINUTES),
        )

    def register(self, app: Application, group: int = 0) -> None:
        app.add_handler(self.conversation(), group=group)
