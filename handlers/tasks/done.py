"""已完成: a unit's secretary marks a task done, with an optional note or photo.

The 已完成 button sits under every reminder (in the unit's group and in the secretary's private
chat). In a group one tap marks the unit done and the reminder shows it. In private chat the
reminder turns into a small confirmation: 确认完成, or 附说明或照片 first (one text or one photo,
optional), or 返回. The task's creator is told once per unit (through the push log).

These are not a ConversationHandler on purpose: a reminder can arrive in the middle of another
conversation (a report, a visit), and pressing its buttons must not end or confuse that
conversation. The buttons have their own payloads (``task:<action>:<task>.<unit>``), handled
ahead of every conversation; only while a note is awaited (after 附说明或照片, for a few
minutes, until answered, skipped, or another command is sent) does a text or photo in the
private chat go here; afterwards the other conversation carries on where it was.
"""

from __future__ import annotations

import functools
import time

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.channel_telegram import markup as telegram_markup
from bot.context import CadreContext
from bot.rules.ids import parse_ids
from bot.services import notices, scheduler
from bot.services.scheduler import Push
from handlers.flow import answer, cb, keyboard, parse_cb
from storage.pushes import PushKey
from storage.tasks import Task, TaskUnit

FLOW = "task"
NOTE_KEY = "tasknote"
NOTE_MINUTES = 15
MAX_NOTE = 300


class AwaitingNote(filters.MessageFilter):
    """True while this user has asked to attach a note (see the module doc)."""

    def __init__(self, app: Application) -> None:
        super().__init__(name="AwaitingNote")
        self.app = app

    def filter(self, message: Message) -> bool:
        user = message.from_user
        if user is None:
            return False
        pending = (self.app.user_data.get(user.id) or {}).get(NOTE_KEY)
        return isinstance(pending, dict) and pending.get("until", 0) > time.time()


def _ids(arg: str) -> tuple[int, int]:
    ids = parse_ids(arg)
    return (ids[0], ids[1]) if ids is not None and len(ids) == 2 else (0, 0)


async def _load(update: Update, context: CadreContext, task_id: int, unit_id: int) -> tuple[Task, TaskUnit] | None:
    """The task and the unit's part, if this user may mark it; else an alert and None."""
    t = context.t
    query = update.callback_query
    task = await context.repos.tasks.get(task_id)
    part = await context.repos.tasks.task_unit(task_id, unit_id)
    if task is None or part is None:
        await query.answer(t("task.stale"), show_alert=True)
        return None
    if not task.open:
        await query.answer(t("task.done.closed", title=task.title), show_alert=True)
        return None
    person = context.person
    leaders = await context.repos.tasks.leaders([unit_id])
    if person is None or all(leader.person_id != person.id for leader in leaders):
        await query.answer(t("task.done.not_yours", unit=part.unit_name), show_alert=True)
        return None
    return task, part


async def tell_creator(
    context: CadreContext, task: Task, unit_id: int, *, note: str, photo: str | None, slot: str = ""
) -> None:
    """The creator hears once per unit (and once more if a note comes later)."""
    repos = context.repos
    creator = await repos.org.person(task.created_by)
    person = context.person
    if creator is None or creator.telegram_id is None or person is None:
        return
    units = await repos.tasks.units(task.id)
    part = next(u for u in units if u.unit_id == unit_id)
    draw = functools.partial(
        notices.task_done_notice,
        task=task,
        unit=part.unit_name,
        who=person.name,
        note=note,
        done=sum(u.done for u in units),
        total=len(units),
    )
    key = PushKey("task_done", task.id, str(unit_id), slot, creator.telegram_id)
    app = context.application
    await scheduler.deliver(app, [Push(key, draw, photo=photo)], scheduler.now_of(app))


async def _record(
    context: CadreContext, task: Task, unit_id: int, *, note: str = "", photo: str | None = None
) -> str | None:
    """Store the unit's part as done (or its late note); returns what to tell the creator:
    "" (done), "note" (a note for a unit already done) or None (nothing new)."""
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    now = scheduler.now_of(context.application)
    if await context.repos.tasks.mark_done(task.id, unit_id, person.id, now, note=note, photo_file_id=photo):
        return ""
    if note or photo:
        await context.repos.tasks.set_note(task.id, unit_id, note=note, photo_file_id=photo)
        return "note"
    return None


async def _tell(context: CadreContext, task: Task, unit_id: int, slot: str | None, *, note: str = "", photo: str | None = None) -> None:
    """After the user has their answer (sends to the creator are paced behind broadcasts)."""
    if slot is not None:
        await tell_creator(context, task, unit_id, note=note, photo=photo, slot=slot)


async def _edit(update: Update, text: str, markup=None) -> None:
    try:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    except BadRequest:
        pass  # an old message, or nothing changed


async def done_pressed(update: Update, context: CadreContext) -> None:
    """已完成 under a reminder."""
    t = context.t
    query = update.callback_query
    _, _, arg = parse_cb(query.data)
    task_id, unit_id = _ids(arg)
    loaded = await _load(update, context, task_id, unit_id)
    if loaded is None:
        return
    task, part = loaded
    if part.done:
        await query.answer(t("task.done.already", unit=part.unit_name), show_alert=True)
        return
    if update.effective_chat is not None and update.effective_chat.type != ChatType.PRIVATE:
        slot = await _record(context, task, unit_id)
        await query.answer(t("task.done.marked_short", unit=part.unit_name))
        original = query.message.text if isinstance(query.message, Message) and query.message.text else task.title
        who = context.person.name if context.person else ""
        await _edit(update, original + "\n\n" + t("task.done.in_group", unit=part.unit_name, who=who))
        await _tell(context, task, unit_id, slot)
        return
    await answer(update)
    rows = [
        [(t("task.btn.confirm_done"), cb(FLOW, "ok", arg))],
        [(t("task.btn.add_note"), cb(FLOW, "note", arg))],
        [(t("task.btn.back"), cb(FLOW, "nback", arg))],
    ]
    await _edit(update, t("task.done.confirm", unit=part.unit_name, title=task.title), keyboard(rows))


async def confirmed(update: Update, context: CadreContext) -> None:
    t = context.t
    _, _, arg = parse_cb(update.callback_query.data)
    loaded = await _load(update, context, *_ids(arg))
    if loaded is None:
        return
    task, part = loaded
    context.user_data.pop(NOTE_KEY, None)
    await answer(update)
    slot = await _record(context, task, part.unit_id)
    await _edit(update, t("task.done.marked", unit=part.unit_name, title=task.title))
    await _tell(context, task, part.unit_id, slot)


async def note_asked(update: Update, context: CadreContext) -> None:
    t = context.t
    _, _, arg = parse_cb(update.callback_query.data)
    loaded = await _load(update, context, *_ids(arg))
    if loaded is None:
        return
    task, part = loaded
    await answer(update)
    message = update.callback_query.message
    context.user_data[NOTE_KEY] = {
        "task": task.id,
        "unit": part.unit_id,
        "until": time.time() + NOTE_MINUTES * 60,
        "message": message.message_id if message is not None else None,
    }
    rows = [[(t("task.btn.no_note"), cb(FLOW, "ok", arg))], [(t("task.btn.back"), cb(FLOW, "nback", arg))]]
    await _edit(update, t("task.done.ask_note", unit=part.unit_name, title=task.title), keyboard(rows))


async def back_to_reminder(update: Update, context: CadreContext) -> None:
    t = context.t
    _, _, arg = parse_cb(update.callback_query.data)
    task_id, unit_id = _ids(arg)
    task = await context.repos.tasks.get(task_id)
    part = await context.repos.tasks.task_unit(task_id, unit_id)
    await answer(update)
    context.user_data.pop(NOTE_KEY, None)
    if task is None or part is None:
        return
    now = scheduler.now_of(context.application)
    text, markup = notices.task_reminder(
        t, task=task, unit=part.unit_name, zone=context.services.settings.tz, now=now, unit_id=unit_id
    )
    await _edit(update, text, None if part.done else telegram_markup(markup))


async def note_received(update: Update, context: CadreContext) -> None:
    """The note (text, or a photo with an optional caption) after 附说明或照片."""
    t = context.t
    pending = context.user_data.pop(NOTE_KEY, None)
    message = update.effective_message
    if not isinstance(pending, dict) or context.person is None:
        return
    task = await context.repos.tasks.get(int(pending.get("task", 0)))
    part = await context.repos.tasks.task_unit(int(pending.get("task", 0)), int(pending.get("unit", 0)))
    leaders = await context.repos.tasks.leaders([part.unit_id]) if part else []
    if task is None or part is None or not task.open or all(x.person_id != context.person.id for x in leaders):
        await message.reply_text(t("task.stale"))
        return
    note = " ".join((message.text or message.caption or "").split())[:MAX_NOTE]
    photo = message.photo[-1].file_id if message.photo else None
    slot = await _record(context, task, part.unit_id, note=note, photo=photo)
    if pending.get("message"):  # the question's buttons are answered now
        try:
            await context.bot.edit_message_reply_markup(message.chat_id, pending["message"], reply_markup=None)
        except BadRequest:
            pass
    await message.reply_text(t("task.done.marked_with_note", unit=part.unit_name, title=task.title))
    await _tell(context, task, part.unit_id, slot, note=note, photo=photo)


async def forget_note(update: Update, context: CadreContext) -> None:
    """Another command while a note was awaited: stop waiting (the command is handled as usual)."""
    context.user_data.pop(NOTE_KEY, None)


def register_early(app: Application) -> None:
    """Ahead of every conversation (see the module doc)."""
    private = filters.ChatType.PRIVATE
    msg = filters.UpdateType.MESSAGE
    awaiting = AwaitingNote(app)
    app.add_handler(CallbackQueryHandler(done_pressed, pattern=rf"^{FLOW}:done:"))
    app.add_handler(CallbackQueryHandler(confirmed, pattern=rf"^{FLOW}:ok:"))
    app.add_handler(CallbackQueryHandler(note_asked, pattern=rf"^{FLOW}:note:"))
    app.add_handler(CallbackQueryHandler(back_to_reminder, pattern=rf"^{FLOW}:nback:"))
    app.add_handler(
        MessageHandler(
            private & msg & awaiting & ((filters.TEXT & ~filters.COMMAND) | filters.PHOTO), note_received
        )
    )
    app.add_handler(MessageHandler(private & msg & filters.COMMAND & awaiting, forget_note), group=1)


def register(app: Application) -> None:
    return None
