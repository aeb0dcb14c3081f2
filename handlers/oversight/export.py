"""/export: an admin gets the Excel ledger (台账) of their unit for a month or a date range.

One question at a time: which unit (a district admin picks the district or one township; a
township admin's own township needs no question), then which period (buttons for the recent
months, or a typed month such as 10月 or a range such as 11月1日到11月15日). The workbook is
written in a worker thread (:func:`bot.services.ledger.write_ledger`, streaming) into a
temporary file and sent back as a document. ``/export 10月`` skips the period question.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date, datetime
from pathlib import Path
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
from bot.rules.bulletin import month_bounds, parse_month, previous_month
from bot.rules.dates import parse_date
from bot.rules.ids import id_or_zero
from bot.services import offloop
from bot.services.ledger import LedgerRequest, write_ledger
from handlers.auth import ADMINS, command, requires
from handlers.flow import (
    Button,
    Conversation,
    answer,
    ask,
    cb,
    chunk,
    draft_of,
    drop_draft,
    keyboard,
    new_draft,
    parse_cb,
)
from storage.org import Unit

EXPORT = command("export", ADMINS)
FLOW = "export"
SCOPE, PERIOD = range(2)
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # what a bot may send
MAX_RANGE_DAYS = 3 * 366
# Parsing vocabulary (not user-facing text): what separates the two ends of a typed range.
_RANGE_SPLIT = re.compile(r"\s*(?:到|至|~|～|—|--|－|\s-\s)\s*")


def reference_now(update: Update, context: CadreContext, draft: dict[str, Any] | None) -> datetime:
    """The date of the user's message (remembered in the draft for button presses)."""
    tz = context.services.settings.tz
    if update.callback_query is None and update.effective_message is not None:
        now = update.effective_message.date.astimezone(tz)
        if draft is not None:
            draft["now"] = now.isoformat()
        return now
    if draft is not None and draft.get("now"):
        return datetime.fromisoformat(draft["now"]).astimezone(tz)
    return update.effective_message.date.astimezone(tz)


def period_label(t, start: date, end: date) -> str:
    if start.day == 1 and (start, end) == month_bounds(start.year, start.month):
        return t("export.month", year=start.year, month=start.month)
    return t("export.range", start=start.isoformat(), end=date.fromordinal(end.toordinal() - 1).isoformat())


def parse_period(text: str, now: datetime, tz: str) -> tuple[date, date] | str:
    """A typed month (10月, 2026-10, 上月) or range (11月1日到11月15日): (start, end) or a reason."""
    today = now.date()
    month = parse_month(text, today)
    if month is not None:
        return month
    parts = _RANGE_SPLIT.split(text.strip(), maxsplit=1)
    if len(parts) != 2:
        return "not_a_period"
    ends = [parse_date(p, now, want="past", max_age_days=MAX_RANGE_DAYS, tz=tz) for p in parts]
    if not all(e.ok for e in ends):
        return "future" if any(e.reason == "future" for e in ends) else "not_a_period"
    first, last = sorted(e.day for e in ends)  # type: ignore[type-var]
    if (last - first).days > MAX_RANGE_DAYS:
        return "too_long"
    return first, date.fromordinal(last.toordinal() + 1)


# -- the questions -------------------------------------------------------------------------------
async def ask_scope(update: Update, context: CadreContext, units: list[Unit]) -> int:
    t = context.t
    buttons = [(u.name, cb(FLOW, "unit", u.id)) for u in units]
    rows = [*chunk(buttons, 2), [(t("export.btn.cancel"), cb(FLOW, "cancel"))]]
    await ask(update, context, t("export.ask_scope"), keyboard(rows))
    return SCOPE


async def ask_period(update: Update, context: CadreContext, draft: dict[str, Any]) -> int:
    t = context.t
    now = reference_now(update, context, draft)
    start, _ = month_bounds(now.year, now.month)
    months: list[Button] = []
    day = start
    for _ in range(6):
        months.append((t("export.month", year=day.year, month=day.month), cb(FLOW, "month", f"{day:%Y%m}")))
        day = previous_month(day)[0]
    rows = chunk(months, 3)
    nav = [(t("export.btn.cancel"), cb(FLOW, "cancel"))]
    if draft.get("several"):
        nav.insert(0, (t("export.btn.back"), cb(FLOW, "back")))
    await ask(update, context, t("export.ask_period", unit=draft["unit_name"]), keyboard([*rows, nav]))
    return PERIOD


async def scopes(context: CadreContext) -> list[Unit]:
    """The units the admin may export: their own, and for a district admin each township."""
    person = context.person
    assert person is not None
    own = await context.repos.org.unit(person.unit_id)
    assert own is not None
    if person.role != "district_admin":
        return [own]
    return [own, *await context.repos.oversight.townships(own.id)]


@requires(EXPORT)
async def export_command(update: Update, context: CadreContext) -> int:
    draft = new_draft(context, FLOW)
    now = reference_now(update, context, draft)
    units = await scopes(context)
    draft["several"] = len(units) > 1
    typed = " ".join(context.args or [])
    if typed:
        period = parse_period(typed, now, context.services.settings.tz_name)
        if isinstance(period, str):
            await update.effective_message.reply_text(context.t(f"export.bad.{period}"))
        else:
            draft["period"] = [period[0].isoformat(), period[1].isoformat()]
    if len(units) > 1:
        return await ask_scope(update, context, units)
    draft["unit_id"], draft["unit_name"] = units[0].id, units[0].name
    if draft.get("period"):
        return await deliver(update, context, draft)
    return await ask_period(update, context, draft)


async def unit_chosen(update: Update, context: CadreContext) -> int:
    draft = draft_of(context, FLOW)
    if draft is None:
        return await stale(update, context)
    await answer(update)
    _, _, arg = parse_cb(update.callback_query.data)
    units = {u.id: u for u in await scopes(context)}
    unit = units.get(id_or_zero(arg))
    if unit is None:
        return await ask_scope(update, context, list(units.values()))
    draft["unit_id"], draft["unit_name"] = unit.id, unit.name
    if draft.get("period"):
        return await deliver(update, context, draft)
    return await ask_period(update, context, draft)


async def month_chosen(update: Update, context: CadreContext) -> int:
    draft = draft_of(context, FLOW)
    if draft is None:
        return await stale(update, context)
    await answer(update)
    _, _, arg = parse_cb(update.callback_query.data)
    if not re.fullmatch(r"\d{6}", arg) or not 1 <= int(arg[4:]) <= 12:
        return await ask_period(update, context, draft)
    start, end = month_bounds(int(arg[:4]), int(arg[4:]))
    draft["period"] = [start.isoformat(), end.isoformat()]
    return await deliver(update, context, draft)


async def period_typed(update: Update, context: CadreContext) -> int:
    draft = draft_of(context, FLOW)
    if draft is None:
        return ConversationHandler.END
    now = reference_now(update, context, draft)
    period = parse_period(update.effective_message.text or "", now, context.services.settings.tz_name)
    if isinstance(period, str):
        await update.effective_message.reply_text(context.t(f"export.bad.{period}"))
        return await ask_period(update, context, draft)
    draft["period"] = [period[0].isoformat(), period[1].isoformat()]
    return await deliver(update, context, draft)


async def back(update: Update, context: CadreContext) -> int:
    await answer(update)
    draft = draft_of(context, FLOW)
    if draft is None:
        return await stale(update, context)
    draft.pop("period", None)
    return await ask_scope(update, context, await scopes(context))


async def wrong_input(update: Update, context: CadreContext) -> int:
    """A photo, sticker or voice where a button or a typed period is expected."""
    draft = draft_of(context, FLOW)
    if draft is None:
        return ConversationHandler.END
    await update.effective_message.reply_text(context.t("export.hint"))
    if draft.get("unit_id"):
        return await ask_period(update, context, draft)
    return await ask_scope(update, context, await scopes(context))


async def cancel(update: Update, context: CadreContext) -> int:
    drop_draft(context, FLOW)
    await answer(update)
    await ask(update, context, context.t("export.cancelled"))
    return ConversationHandler.END


async def stale(update: Update, context: CadreContext) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer(context.t("unexpected.stale_button"), show_alert=True)
    return ConversationHandler.END


# -- making and sending the workbook -------------------------------------------------------
async def deliver(update: Update, context: CadreContext, draft: dict[str, Any]) -> int:
    t = context.t
    start, end = (date.fromisoformat(d) for d in draft["period"])
    now = reference_now(update, context, draft)
    request = LedgerRequest(
        unit_id=int(draft["unit_id"]), start=start, end=end, tz=context.services.settings.tz,
        now=now, bot_username=context.bot.username,
    )
    label = period_label(t, start, end)
    drop_draft(context, FLOW)
    await ask(update, context, t("export.working", unit=draft["unit_name"], period=label))
    chat_id = update.effective_chat.id
    handle, path = tempfile.mkstemp(prefix="cadre-ledger-", suffix=".xlsx")
    os.close(handle)
    try:
        db_path = context.repos.db.path
        counts = await offloop.run(write_ledger, db_path, request, t, path, lane=offloop.EXPORTS)
        size = os.path.getsize(path)
        if size > MAX_DOCUMENT_BYTES:
            await context.bot.send_message(chat_id, t("export.too_big", size=size // (1024 * 1024)))
            return ConversationHandler.END
        rows = list(counts.values())
        caption = t(
            "export.caption", unit=draft["unit_name"], period=label, reports=rows[0], visits=rows[1],
            followups=rows[2], tasks=rows[3],
        )
        filename = t("export.filename", unit=draft["unit_name"], period=label)
        await context.bot.send_document(chat_id, Path(path), filename=filename, caption=caption)
    finally:
        os.unlink(path)
    return ConversationHandler.END


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND
    app.add_handler(
        Conversation(
            entry_points=[CommandHandler("export", export_command, filters=private)],
            states={
                SCOPE: [CallbackQueryHandler(unit_chosen, pattern=r"^export:unit:")],
                PERIOD: [
                    CallbackQueryHandler(month_chosen, pattern=r"^export:month:"),
                    CallbackQueryHandler(back, pattern=r"^export:back:"),
                    MessageHandler(private & text, period_typed),
                ],
            },
            fallbacks=[
                CallbackQueryHandler(cancel, pattern=r"^export:cancel:"),
                CommandHandler("cancel", cancel, filters=private),
                CommandHandler("export", export_command, filters=private),
                MessageHandler(private & ~filters.COMMAND & ~text, wrong_input),
                MessageHandler(private & text, wrong_input),
            ],
            name="export",
            persistent=True,
            allow_reentry=True,
        )
    )
