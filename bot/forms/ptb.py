"""The python-telegram-bot adapter of the form engine: ONE handler for every form.

Entry points are every form's command, its entry button and, last, any payload of a form (a
button of a form that is not open is stale). While a form is open, its own buttons and every
private message (text, photos, a location, a command...) become an
:class:`~bot.forms.core.Input` for :func:`bot.forms.core.handle`, and the
:class:`~bot.forms.core.Reply` becomes send/edit calls. One idle timeout for all forms.
Which form is open is the engine's marker in ``user_data`` (below), saved with the drafts: the
handler (:class:`FormsHandler`) keeps no state of its own.

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
    MessageHandler,
    filters,
)

from bot.forms import core
from bot.forms.core import Env, Form, Input, Reply
from bot.jobs import CadreJobQueue

IDLE_MINUTES = 30
ACTIVE = "active_flow"  # user_data: the conversation the user is in now
OPEN = "open_form"  # user_data: the engine form in a state (for the timeout)

EnvOf = Callable[[Update, Any], Env]
# what FormsHandler.check_update found: the callback, and the command handler (with its check
# result) that sets the context's args, for a command
Route = tuple[Callable[[Update, Any], Any], "BaseHandler | None", object]
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

    async def open_(self, update: Update, context: Any) -> None:
        _, name, arg = _OPENING.pop(id(update))
        await self.forms.open(update, context, self.forms.forms[name], arg)


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and update.effective_user is not None and chat.type == "private"


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
    """The forms of the bot and the one handler that runs them (:class:`FormsHandler`)."""

    def __init__(self, forms: Sequence[Form], *, env_of: EnvOf, refusal: RefusalOf) -> None:
        self.forms = {f.name: f for f in forms}
        if len(self.forms) != len(forms):
            raise ValueError("two forms with one name")
        self.env_of = env_of
        self.refusal = refusal
        self.steppers = {name: self.stepper(form) for name, form in self.forms.items()}
        self.openers = {name: self.opener(form) for name, form in self.forms.items()}

    # -- the callbacks -------------------------------------------------------------------------
    async def apply(self, update: Update, context: Any, form: Form, reply: Reply) -> None:
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

    async def refused(self, update: Update, context: Any, form: Form) -> str | None:
        refusal = self.refusal(form, update, context)
        if refusal is not None:
            if update.callback_query is not None:
                await update.callback_query.answer(refusal, show_alert=True)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(refusal)
        return refusal

    def opener(self, form: Form) -> Callable[[Update, Any], Any]:
        async def open_(update: Update, context: Any) -> None:
            inp = to_input(update)
            await self.open(update, context, form, inp.arg if inp.kind == "button" else "")

        return open_

    async def open(self, update: Update, context: Any, form: Form, arg: str) -> None:
        if await self.refused(update, context, form):
            if context.user_data.get(OPEN) == form.name and is_private(update):
                context.user_data.pop(OPEN, None)  # its own entry button, refused now: it closes
            return
        env = self.env_of(update, context)
        draft = context.user_data.get(form.name)
        inp = to_input(update)
        reply = await core.open_form(form, env, draft, arg, at=inp.at, inp=inp if inp.kind == "button" else None)
        await self.apply(update, context, form, reply)

    def stepper(self, form: Form) -> Callable[[Update, Any], Any]:
        async def step(update: Update, context: Any) -> None:
            if not owns(context.user_data, form.name):  # another conversation started meanwhile
                context.user_data.pop(OPEN, None)
                hand_over(update, context)
                return
            if await self.refused(update, context, form):
                context.user_data.pop(OPEN, None)
                return
            env = self.env_of(update, context)
            reply = await core.handle(form, env, context.user_data.get(form.name), to_input(update))
            await self.apply(update, context, form, reply)

        return step

    async def elsewhere(self, update: Update, context: Any) -> None:
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
            return
        if alias is not None and open_name == alias.name:  # the open form's own (older) entry button
            await self.open(update, context, alias, arg)
            return
        if target is not None and await self.refused(update, context, target):
            return
        env = self.env_of(update, context)
        if target is not None:
            await show(update, context, await core.late(target, env, to_input(update)))
        else:
            await show(update, context, core.stale(next(iter(self.forms.values())), env, None, None))

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

    def handler(self, app: Application) -> FormsHandler:
        return FormsHandler(self, app)

    def register(self, app: Application, group: int = 0) -> None:
        app.add_handler(self.handler(app), group=group)


class FormsHandler(BaseHandler):
    """Every form's updates, routed by the engine's own marker (``user_data[OPEN]``, the form
    open now): no state of its own to keep in step with the drafts, and no per-update
    bookkeeping of PTB's ConversationHandler (its lock, its state dict, its persisted states).

    While a form is open (in a private chat), its buttons and every message go to its step;
    another form's button goes to :meth:`Forms.elsewhere` (an entry button there pauses this
    form). While none is, a form's command or entry button (or an older alias of it) opens
    it, :func:`open_later`'s update opens its form, and any other form payload is late or
    stale. The idle timeout is one timer per user (:meth:`bot.jobs.CadreJobQueue.run_idle`),
    moved on by each step and dropped when the form closes.

    :meth:`check_update` decides the route itself (it is called for every update, so it only
    looks at the marker and the payload's prefix); a command is matched by its PTB
    ``CommandHandler`` (the private filter, a ``/command@bot`` suffix, ``context.args``).
    ``entry_points``, ``states`` and ``fallbacks`` list the same routes as PTB handlers, for
    whoever reads every payload the forms take (``tests/test_faults_ids.py`` feeds them bad ids).
    """

    def __init__(self, forms: Forms, app: Application) -> None:
        super().__init__(self._unused)
        self.forms = forms
        self.app = app
        private = filters.ChatType.PRIVATE
        self.commands: list[CommandHandler] = [
            CommandHandler(form.command.name, forms.openers[form.name], filters=private)
            for form in forms.forms.values()
            if form.command is not None
        ]
        self.entries: list[tuple[str, Form]] = []  # payload prefix -> the form it opens
        for form in forms.forms.values():
            if form.entry:
                self.entries.append((f"{form.name}:{form.entry}:", form))
            for alias in form.aliases:  # an older payload of the entry button opens the form too
                self.entries.append((f"{alias}:", form))
        self.any_form = re.compile(forms.pattern())
        self.opening = _Opening(forms)
        # the same routes as PTB handlers, for whoever reads the patterns (tests, docs)
        self.entry_points: list[BaseHandler] = [
            *self.commands,
            *(CallbackQueryHandler(forms.openers[f.name], pattern="^" + re.escape(p)) for p, f in self.entries),
            self.opening,
        ]
        self.states: dict[str, list[BaseHandler]] = {
            name: [CallbackQueryHandler(forms.steppers[name], pattern=rf"^{name}:"),
                   MessageHandler(filters.UpdateType.MESSAGE & private, forms.steppers[name])]
            for name in forms.forms
        }
        self.fallbacks: list[BaseHandler] = [CallbackQueryHandler(forms.elsewhere, pattern=self.any_form)]

    @staticmethod
    async def _unused(update: object, context: Any) -> None:  # the routes carry their own callbacks
        return None

    def open_form(self, update: Update) -> Form | None:
        """The form open in this private chat (None in a group, or when none is)."""
        if not is_private(update):
            return None
        data = self.app.user_data.get(update.effective_user.id)  # type: ignore[union-attr]
        return self.forms.forms.get(data.get(OPEN) or "") if data else None

    def check_update(self, update: object) -> Route | None:
        """The route of this update (its callback, and the command handler whose context it
        needs), or None when it is not the forms'."""
        if not isinstance(update, Update):
            return None
        query = update.callback_query
        form = self.open_form(update)
        if form is not None:  # in a form: its buttons and every message are its steps
            if query is not None:
                data = query.data or ""
                if data.startswith(f"{form.name}:"):
                    return self.forms.steppers[form.name], None, None
                return (self.forms.elsewhere, None, None) if self.any_form.match(data) else None
            return (self.forms.steppers[form.name], None, None) if update.message is not None else None
        if self.opening.check_update(update):
            return self.opening.open_, None, None
        if query is not None:
            data = query.data or ""
            for prefix, target in self.entries:
                if data.startswith(prefix):
                    return self.forms.openers[target.name], None, None
            return (self.forms.elsewhere, None, None) if self.any_form.match(data) else None
        message = update.message
        if message is not None and message.text and message.text.startswith("/"):
            for handler in self.commands:
                check = handler.check_update(update)
                if check:
                    return handler.callback, handler, check
        return None

    async def handle_update(self, update: Update, application: Application, check_result: Route,
                            context: Any) -> None:
        callback, handler, check = check_result
        if handler is not None:  # a command: context.args, as its own handler sets them
            handler.collect_additional_context(context, update, application, check)
        await callback(update, context)
        self.keep_time(update, context)

    # -- the idle timeout ------------------------------------------------------------------------
    def keep_time(self, update: Update, context: Any) -> None:
        """After an update: a form open now is given IDLE_MINUTES more; none open, no timer."""
        queue = self.app.job_queue
        user = update.effective_user
        if not isinstance(queue, CadreJobQueue) or user is None:
            return
        key = ("forms", user.id)
        if self.open_form(update) is not None:
            if queue.scheduler.running:
                queue.run_idle(self._trigger_timeout, timedelta(minutes=IDLE_MINUTES), key=key,
                               data=(update, context), chat_id=user.id, user_id=user.id)
        else:
            queue.cancel_idle(key)

    async def _trigger_timeout(self, context: Any) -> None:
        """A form left idle IDLE_MINUTES: the engine's timeout note (its draft stays)."""
        job = context.job
        update, update_context = job.data
        if job.removed or self.open_form(update) is None:  # a later step's timer replaced it
            return
        await self.forms.timed_out(update, update_context)
