"""Roster import in the bot: an admin sends the roster file (CSV or XLSX) in a private chat.

``/import`` explains the format and sends a template to fill in. A file is refused before it
is downloaded when it is too large. It is read by :mod:`bot.rules.roster` in a worker process
(:func:`bot.services.roster.parse_off_loop`: a big file does not stall other chats; the admin
is told how long it will take, from the rows counted before reading, and the message is edited
with the progress every 15 s: :class:`bot.services.roster.Tracker`) and imported by
:class:`storage.roster.RosterRepo` within the admin's units, in one transaction. When a row
is wrong, nothing is kept: the reply lists the rows by number, says what the good rows would
do, and offers "import the good rows" (the file is read again from Telegram by its file_id,
so nothing large is kept in ``user_data``).
"""

from __future__ import annotations

import logging
import secrets

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import CadreContext
from bot.rules.roster import MAX_BYTES, Roster, RosterFileError, template_xlsx
from bot.services.roster import (
    Tracker,
    collector_paused,
    count_cells,
    estimate_seconds,
    file_problem,
    parse_off_loop,
    report,
)
from handlers.auth import ADMINS, command, requires
from handlers.flow import answer, ask, cb, keyboard, parse_cb

IMPORT = command("import", ADMINS)
ROSTER_FILES = (
    filters.Document.FileExtension("csv")
    | filters.Document.FileExtension("xlsx")
    | filters.Document.FileExtension("xls")
    | filters.Document.FileExtension("txt")
    | filters.Document.MimeType("text/csv")
    | filters.Document.MimeType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    | filters.Document.MimeType("application/vnd.ms-excel")
)


@requires(IMPORT)
async def import_command(update: Update, context: CadreContext) -> None:
    t = context.t
    await update.effective_message.reply_text(t("roster.how", max_mb=MAX_BYTES // 1024 // 1024))
    await context.bot.send_document(
        update.effective_chat.id,
        template_xlsx(context.lang),
        filename=t("roster.template_filename"),
        caption=t("roster.template_caption"),
    )


log = logging.getLogger("cadre.roster")


async def read(update: Update, context: CadreContext, file_id: str, file_name: str) -> tuple[Roster, Tracker]:
    """Download and parse the file in the worker process (other chats keep their answers).
    The admin is told how long it will take (at once when that is over 3 s, else when the
    reading takes over 2 s) and the message is edited with the progress every 15 s; the
    tracker returned goes on with the import's rows."""
    data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
    chat_id = update.effective_chat.id

    async def send(text: str) -> int:
        return (await context.bot.send_message(chat_id, text)).message_id

    async def edit(message_id: int, text: str) -> None:
        try:
            await context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except TelegramError:  # a progress note is best effort: the result follows anyway
            log.info("could not edit the roster progress message", exc_info=True)

    counted = count_cells(data, file_name)
    tracker = Tracker(
        context.t, send, edit,
        seconds=estimate_seconds(data, file_name), rows=max(counted[0] - 1, 1) if counted else None,
    )
    await tracker.begin()
    roster = await parse_off_loop(data, file_name, on_slow=tracker.slow, on_tick=tracker.reading)
    return roster, tracker


@requires(IMPORT)
async def roster_file(update: Update, context: CadreContext) -> None:
    t, me = context.t, context.person
    if me is None:
        raise RuntimeError("no person here: this runs behind @requires")
    document = update.effective_message.document
    if document.file_size and document.file_size > MAX_BYTES:
        await update.effective_message.reply_text(
            file_problem(t, RosterFileError("too_large", size_mb=round(document.file_size / 1024 / 1024, 1)))
        )
        return
    context.user_data.pop("roster", None)
    with collector_paused():  # the rows and the import's objects: not walked by full collections
        try:
            roster, tracker = await read(update, context, document.file_id, document.file_name or "")
        except RosterFileError as problem:
            await update.effective_message.reply_text(file_problem(t, problem))
            return
        result = await context.repos.roster.import_roster(roster, scope_unit_id=me.unit_id, progress=tracker.rows)
    text = report(t, result, roster.ignored)
    if result.committed:
        await update.effective_message.reply_text(text + "\n\n" + t("roster.next_steps"))
        return
    token = secrets.token_hex(4)
    context.user_data["roster"] = {"file_id": document.file_id, "name": document.file_name or "", "token": token}
    rows = []
    if any(e.code == "close_name" for e in result.errors):  # the admin says the names are right
        rows.append([(t("roster.names_right"), cb("roster", "names", token))])
    if result.good_rows:
        rows.append([(t("roster.import_good", count=result.good_rows), cb("roster", "good", token))])
    rows.append([(t("roster.drop"), cb("roster", "drop", token))])
    await update.effective_message.reply_text(text, reply_markup=keyboard(rows))


@requires(IMPORT)
async def roster_pressed(update: Update, context: CadreContext) -> None:
    t, me = context.t, context.person
    if me is None:
        raise RuntimeError("no person here: this runs behind @requires")
    _, action, token = parse_cb(update.callback_query.data)
    draft = context.user_data.get("roster")
    if not isinstance(draft, dict) or draft.get("token") != token:
        await update.callback_query.answer(t("roster.stale"), show_alert=True)
        return
    context.user_data.pop("roster", None)
    await answer(update)
    if action == "drop":
        await ask(update, context, t("roster.dropped"))
        return
    with collector_paused():
        try:
            roster, tracker = await read(update, context, draft["file_id"], draft["name"])
        except RosterFileError as problem:
            await ask(update, context, file_problem(t, problem))
            return
        result = await context.repos.roster.import_roster(
            roster, scope_unit_id=me.unit_id, good_rows=True, confirm_close_names=action == "names",
            progress=tracker.rows,
        )
    await ask(update, context, report(t, result, roster.ignored) + "\n\n" + t("roster.next_steps"))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("import", import_command))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & ROSTER_FILES, roster_file))
    app.add_handler(CallbackQueryHandler(roster_pressed, pattern=r"^roster:(good|drop|names):"))
