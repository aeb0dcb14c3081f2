"""/myreports: the user's own reports, newest first, paged; each viewable with its photos
(resent by file_id), its review state (待核实 / 已退回 / 已更正待再次核实 / 已核实) and the reason
it was returned, and the buttons the one rule allows (:func:`bot.rules.reports.author_may`,
stated by the catalog key ``report.rule``): a returned report is corrected (更正) at any age;
one nobody has reviewed is corrected or deleted within 24 hours of saving (deleted: kept with
the audit trail, and in the ledger as deleted); a verified one, or one corrected and waiting
to be checked again, is changed only by an admin (/reports: correct or void). The store
refuses to delete a reviewed report too, in the same transaction."""

from __future__ import annotations

from datetime import datetime

from telegram import InputMediaPhoto, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CadreContext
from bot.forms.core import day_and_time
from bot.i18n import Translator
from bot.rules import reports as rules
from bot.rules.ids import id_or_zero, parse_page
from handlers.auth import LEADERS, command, requires
from handlers.flow import Button, answer, ask, cb, chunk, keyboard, parse_cb
from handlers.org.ui import tell
from handlers.reports import permissions
from handlers.reports.draft import reference_time
from handlers.reports.render import detail, list_line
from storage.reports import Report

MYREPORTS = command("myreports", LEADERS)
PER_PAGE = 8


async def send_photos(context: CadreContext, chat_id: int, report: Report) -> None:
    """The report's photos by file_id: one photo, or albums of up to 10."""
    t = context.t
    photos = report.fields.photos
    if len(photos) == 1:
        await context.bot.send_photo(chat_id, photos[0].file_id, caption=t(f"report.phase.{photos[0].phase}"))
        return
    for start in range(0, len(photos), 10):
        media = [
            InputMediaPhoto(p.file_id, caption=t(f"report.phase.{p.phase}"))
            for p in photos[start : start + 10]
        ]
        await context.bot.send_media_group(chat_id, media)


def paging_row(context: CadreContext, flow: str, action: str, page: int, pages: int, suffix: str = "") -> list[Button]:
    t = context.t
    row: list[Button] = []
    if page > 0:
        row.append((t("report.btn.prev_page"), cb(flow, action, f"{suffix}{page - 1}")))
    if page + 1 < pages:
        row.append((t("report.btn.next_page"), cb(flow, action, f"{suffix}{page + 1}")))
    return row


async def show_list(update: Update, context: CadreContext, page: int, *, edit: bool) -> None:
    t = context.t
    reports, total = await context.repos.reports.by_reporter(
        context.person.id, limit=PER_PAGE, offset=page * PER_PAGE
    )
    if total == 0:
        await ask(update, context, t("myreports.empty"), None, edit=edit)
        return
    pages = -(-total // PER_PAGE)
    lines = [t("myreports.header", total=total, page=page + 1, pages=pages)]
    lines += [list_line(t, r) for r in reports]
    rows = chunk([(t("report.btn.view", number=r.id), cb("myreports", "view", r.id)) for r in reports], 4)
    rows.append(paging_row(context, "myreports", "list", page, pages))
    await ask(update, context, "\n".join(lines), keyboard(rows), edit=edit)


@requires(MYREPORTS)
async def my_reports(update: Update, context: CadreContext) -> None:
    reference_time(update, context)
    await show_list(update, context, 0, edit=False)


@requires(MYREPORTS)
async def list_page(update: Update, context: CadreContext) -> None:
    await answer(update)
    arg = parse_cb(update.callback_query.data)[2]
    await show_list(update, context, parse_page(arg), edit=True)


async def own_report(update: Update, context: CadreContext) -> Report | None:
    """The report named by the button, if it is the user's and not deleted; else say so."""
    arg = parse_cb(update.callback_query.data)[2]
    report = await context.repos.reports.get(id_or_zero(arg))
    if report is None or not report.active or report.reporter_id != context.person.id:
        await update.callback_query.answer(context.t("myreports.gone"), show_alert=True)
        return None
    return report


async def may_delete(context: CadreContext, report: Report, now: datetime) -> bool:
    """The author's delete under the one rule (not reviewed, within 24 hours)."""
    state, _ = await permissions.state_of(context, report)
    return rules.DELETE in rules.author_may(state, report.created_at, now)


async def tell_verifiers(context: CadreContext, report: Report) -> None:
    """A report somebody verified was changed by its author: tell each who verified it."""
    verifiers = {
        e.by_person for e in await context.repos.oversight.history("report", report.id)
        if e.action == "verified" and e.by_person is not None
    }
    for person_id in sorted(verifiers):
        person = await context.repos.org.person(person_id)
        if person is None or not person.active or person.telegram_id is None:
            continue
        if context.person is not None and person.id == context.person.id:
            continue
        by_author = context.person is None or context.person.id == report.reporter_id
        await tell(  # an author corrects only a returned report; an admin may correct any
            context.application, person.telegram_id,
            "myreports.verified_changed" if by_author else "myreports.verified_changed_by",
            number=report.id, village=report.unit_name, author=report.reporter_name,
            by=context.person.name if context.person is not None else "",
        )


def state_lines(t: Translator, state: str, reason: str) -> list[str]:
    """核实情况 and, for a returned report, its reason (also under /reports' detail)."""
    lines = [t("myreports.state", state=t(f"reports.state.{state}"))]
    if reason and state in (rules.RETURNED, rules.RESUBMITTED):
        lines.append(t("myreports.reason", reason=reason))
    return lines


async def detail_screen(update: Update, context: CadreContext, report: Report) -> tuple[str, list[list[Button]]]:
    """The report, its review state and reason, and what its author may do now (the one rule,
    :func:`bot.rules.reports.author_may`; ``report.rule`` says it when something is refused)."""
    t = context.t
    now = reference_time(update, context)
    state, reason = await permissions.state_of(context, report)
    allowed = rules.author_may(state, report.created_at, now)
    parts = [detail(t, report), "\n".join(state_lines(t, state, reason))]
    buttons: list[Button] = []
    if rules.CORRECT in allowed:
        buttons.append((t("myreports.btn.correct"), cb("report", "open", f"c{report.id}")))
    if rules.DELETE in allowed:
        buttons.append((t("myreports.btn.delete"), cb("myreports", "del", report.id)))
    if state == rules.RETURNED:
        parts.append(t("myreports.returned_hint"))
    elif rules.DELETE in allowed:
        until = (report.created_at + rules.EDIT_WINDOW).astimezone(now.tzinfo)
        parts.append(t("myreports.editable_until", time=day_and_time(t, until, now)))
    else:
        parts.append(t("report.rule"))
    rows: list[list[Button]] = [buttons] if buttons else []
    rows.append([(t("myreports.btn.back_to_list"), cb("myreports", "list", 0))])
    return "\n\n".join(parts), rows


@requires(MYREPORTS)
async def view(update: Update, context: CadreContext) -> None:
    """Photos first (by file_id), then the report with its buttons below them."""
    report = await own_report(update, context)
    if report is None:
        return
    await answer(update)
    chat_id = update.effective_chat.id
    await send_photos(context, chat_id, report)
    text, rows = await detail_screen(update, context, report)
    await context.bot.send_message(chat_id, text, reply_markup=keyboard(rows))


@requires(MYREPORTS)
async def show_again(update: Update, context: CadreContext) -> None:
    report = await own_report(update, context)
    if report is None:
        return
    await answer(update)
    text, rows = await detail_screen(update, context, report)
    await ask(update, context, text, keyboard(rows))


@requires(MYREPORTS)
async def delete_asked(update: Update, context: CadreContext) -> None:
    report = await own_report(update, context)
    if report is None:
        return
    t = context.t
    if not await may_delete(context, report, reference_time(update, context)):
        await update.callback_query.answer(t("report.delete.not_now"), show_alert=True)
        return
    await answer(update)
    rows = [
        [
            (t("myreports.btn.delete_yes"), cb("myreports", "delok", report.id)),
            (t("myreports.btn.delete_no"), cb("myreports", "show", report.id)),
        ]
    ]
    await ask(update, context, t("myreports.confirm_delete", number=report.id) + "\n" + list_line(t, report), keyboard(rows))


@requires(MYREPORTS)
async def delete_confirmed(update: Update, context: CadreContext) -> None:
    report = await own_report(update, context)
    if report is None:
        return
    t = context.t
    at = reference_time(update, context)
    if not await may_delete(context, report, at) or not await context.repos.reports.delete(
        report.id, by=context.person.id, at=at
    ):  # too late, or reviewed meanwhile (the store checks in its transaction)
        await update.callback_query.answer(t("report.delete.not_now"), show_alert=True)
        return
    await answer(update)
    rows = [[(t("myreports.btn.back_to_list"), cb("myreports", "list", 0))]]
    await ask(update, context, t("myreports.deleted", number=report.id), keyboard(rows))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("myreports", my_reports))
    app.add_handler(CallbackQueryHandler(list_page, pattern=r"^myreports:list:\d+$"))
    app.add_handler(CallbackQueryHandler(view, pattern=r"^myreports:view:\d+$"))
    app.add_handler(CallbackQueryHandler(show_again, pattern=r"^myreports:show:\d+$"))
    app.add_handler(CallbackQueryHandler(delete_asked, pattern=r"^myreports:del:\d+$"))
    app.add_handler(CallbackQueryHandler(delete_confirmed, pattern=r"^myreports:delok:\d+$"))

