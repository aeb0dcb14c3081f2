"""参加 / 请假 under an event notice: record the answer (one per person and date, the last tap
counts) and edit the notice to show the live count. Anyone in the group may answer; the
organiser sees the names in /schedule → 回复情况.

A payload is checked against what the bot really announced: the event exists and is running,
the date is one of its days, and the pressed message is a notice of that event and date the
bot sent to this chat, which is still one of the event's target groups. Anything else (a
forged id or date, an old notice of a date since dropped, a notice forwarded elsewhere) gets
a polite answer and records nothing."""

from __future__ import annotations

from datetime import date

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler

from bot.channel_telegram import markup as telegram_markup
from bot.context import CadreContext
from bot.rules.ids import parse_id
from bot.rules.recurrence import Rule, occurrence_on
from bot.services import notices, scheduler
from handlers.flow import parse_cb
from handlers.schedule import reason
from storage.events import Event

FLOW = "rsvp"


def _parse(arg: str) -> tuple[int, date] | None:
    event_id, _, day = arg.partition(".")
    number = parse_id(event_id)
    if number is None or len(day) != 8 or not (day.isascii() and day.isdigit()):
        return None
    try:
        return number, date(int(day[:4]), int(day[4:6]), int(day[6:8]))
    except ValueError:
        return None


async def announced_here(context: CadreContext, event: Event, occurrence: str, message: object) -> bool:
    """Is ``message`` a notice of this event and occurrence the bot sent to a chat that still
    receives the event's notices?"""
    if not isinstance(message, Message):
        return False
    sent = await context.repos.pushes.message_of("event_notice", event.id, occurrence, message.chat_id)
    if message.message_id not in sent:
        return False
    chats = await context.repos.chats.receiving(event.unit_ids, "notices")
    return any(chat.chat_id == message.chat_id for chat in chats)


async def rsvp_pressed(update: Update, context: CadreContext) -> None:
    t = context.t
    query = update.callback_query
    _, action, arg = parse_cb(query.data)
    parsed = _parse(arg)
    event = await context.repos.events.get(parsed[0]) if parsed else None
    if parsed is None or event is None or event.paused or action not in ("yes", "no"):
        await query.answer(t("sched.rsvp.gone"), show_alert=True)
        return
    app = context.application
    tz = context.services.settings.tz
    now = scheduler.now_of(app)
    day = parsed[1]
    rule = Rule.from_dict(event.rule)
    if not rule.is_day(day) or not await announced_here(context, event, day.isoformat(), query.message):
        await query.answer(t("sched.rsvp.not_this"), show_alert=True)
        return
    occurrence = day.isoformat()
    occ = await context.repos.events.occurrence(event.id, occurrence)
    if occ is not None and occ.skipped:  # cancelled this time: the answers are closed
        await query.answer(t("sched.rsvp.skipped"), show_alert=True)
        return
    was = occurrence_on(rule, day, tz)
    at = occ.moved_to.astimezone(tz) if occ is not None and occ.moved_to is not None else was
    if at <= now:
        await query.answer(t("sched.rsvp.over"), show_alert=True)
        return
    user = query.from_user
    name = context.person.name if context.person else (user.first_name or str(user.id))
    await context.repos.events.answer(event.id, occurrence, user.id, name, action, now)
    asked = await reason.ask(context.application, event, occurrence, at, user.id, now) if action == "no" else False
    await query.answer(t("sched.rsvp.recorded_yes" if action == "yes" else
                         ("sched.rsvp.recorded_no_ask" if asked else "sched.rsvp.recorded_no")))
    message = query.message
    if not isinstance(message, Message):
        return
    soon = any(
        r.key.slot.startswith("m")
        for r in await context.repos.pushes.messages("event_notice", event.id, occurrence)
        if r.key.chat_id == message.chat_id and r.message_id == message.message_id
    )
    group_t = context.services.catalogs.get(None) if message.chat_id < 0 else t
    text, markup = notices.event_notice(
        group_t, event=event, at=at, zone=tz, counts=await context.repos.events.counts(event.id, occurrence), soon=soon,
        occ=occ, was=was,
    )
    try:
        await query.edit_message_text(text, reply_markup=telegram_markup(markup))
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(rsvp_pressed, pattern=rf"^{FLOW}:(yes|no):"))
