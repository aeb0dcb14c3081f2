"""Roster import in the bot: an admin sends the roster file (CSV or XLSX) in a private chat.

``/import`` explains the format and sends a template to fill in. A file is refused before it
is downloaded when it is too large. It is read by :mod:`bot.rules.roster` and imported by
:class:`storage.roster.RosterRepo` within the admin's units, in one transaction. When a row
is wrong, nothing is kept: the reply lists the rows by number, says what the good rows would
do, and offers "import the good rows" (the file is read again from Telegram by its file_id,
so nothing large is kept in ``user_data``).
"""

from __future__ import annotations

import secrets

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import CadreContext
from bot.i18n import Translator
from bot.rules.roster import MAX_BYTES, RosterFileError, RowError, parse_roster, template_xlsx
from handlers.auth import ADMINS, command, requires
from handlers.flow import answer, ask, cb, keyboard, parse_cb
from storage.roster import ImportResult

IMPORT = command("import", ADMINS)
SHOWN_ERRORS = 30
ROSTER_FILES = (
    filters.Document.FileExtension("csv")
    | filters.Document.FileExtension("xlsx")
    | filters.Document.FileExtension("xls")
    | filters.Document.FileExtension("txt")
    | filters.Document.MimeType("text/csv")
    | filters.Document.MimeType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    | filters.Document.MimeType("application/vnd.ms-excel")
)


def error_lines(t: Translator, errors: tuple[RowError, ...] | list[RowError], limit: int = SHOWN_ERRORS) -> str:
    lines = [
        t(
            "roster.error_line",
            line=e.line,
            reason=t(f"roster.err.{e.code}", column=e.column or "-", value=e.value, other=e.other_line),
        )
        for e in errors[:limit]
    ]
    if len(errors) > limit:
        lines.append(t("roster.more_errors", count=len(errors) - limit))
    return "\n".join(lines)


def summary(t: Translator, result: ImportResult) -> str:
    key = "roster.summary" if result.changed else "roster.unchanged"
    if not result.committed:
        key = "roster.would_import"
    u, h, p = result.units, result.households, result.people
    return t(
        key,
        rows=result.good_rows,
        units_created=u.created, units_updated=u.updated, units_unchanged=u.unchanged,
        households_created=h.created, households_updated=h.updated, households_unchanged=h.unchanged,
        people_created=p.created, people_updated=p.updated, people_unchanged=p.unchanged,
    )


def file_problem(t: Translator, problem: RosterFileError) -> str:
    return t(f"roster.file.{problem.code}", **{"max_mb": MAX_BYTES // 1024 // 1024, **problem.params})


def report(t: Translator, result: ImportResult, ignored: tuple[str, ...] = ()) -> str:
    """The whole answer to an import, for the bot and the command line."""
    parts = []
    if result.errors:
        parts.append(
            t("roster.has_errors", count=len(result.errors), total=result.total_rows)
            if not result.committed
            else t("roster.skipped_errors", count=len(result.errors))
        )
        parts.append(error_lines(t, result.errors))
    parts.append(summary(t, result))
    if ignored:
        parts.append(t("roster.ignored_columns", columns=t("list.sep").join(ignored)))
    return "\n\n".join(parts)


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


async def read(context: CadreContext, file_id: str, file_name: str):
    data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
    return parse_roster(data, file_name)


@requires(IMPORT)
async def roster_file(update: Update, context: CadreContext) -> None:
    t, me = context.t, context.person
    assert me is not None
    document = update.effective_message.document
    if document.file_size and document.file_size > MAX_BYTES:
        await update.effective_message.reply_text(
            file_problem(t, RosterFileError("too_large", size_mb=round(document.file_size / 1024 / 1024, 1)))
        )
        return
    context.user_data.pop("roster", None)
    try:
        roster = await read(context, document.file_id, document.file_name or "")
    except RosterFileError as problem:
        await update.effective_message.reply_text(file_problem(t, problem))
        return
    result = await context.repos.roster.import_roster(roster, scope_unit_id=me.unit_id)
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
    assert me is not None
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
    try:
        roster = await read(context, draft["file_id"], draft["name"])
    except RosterFileError as problem:
        await ask(update, context, file_problem(t, problem))
        return
    result = await context.repos.roster.import_roster(
        roster, scope_unit_id=me.unit_id, good_rows=True, confirm_close_names=action == "names"
    )
    await ask(update, context, report(t, result, roster.ignored) + "\n\n" + t("roster.next_steps"))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("import", import_command))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & ROSTER_FILES, roster_file))
    app.add_handler(CallbackQueryHandler(roster_pressed, pattern=r"^roster:(good|drop|names):"))
