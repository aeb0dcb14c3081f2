"""/reports for township and district admins: the clean-up reports of their area, filtered by
unit, category and month, with what they add up to, paged with buttons.

In the first days of a month (up to :data:`bot.rules.bulletin.EARLY_DAYS`) the list opens on the month before:
the month whose reports are being checked then, not an empty new one. Each report in the list
shows its review state: 待核实 (not reviewed yet), 已重报·待核实 (corrected or resubmitted since
it was returned; its detail shows what changed), 已退回, 已核实.

The filter travels in the callback payload (``unit.category.month.page``, ``-`` for "all"),
so a list survives restarts and needs no state; every payload is checked against the admin's
own area (a forged unit id is refused).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CadreContext
from bot.rules import bulletin
from bot.rules import reports as rules
from bot.rules.ids import id_or_zero, parse_id, parse_page
from bot.rules.numbers import AMOUNT_COLUMNS
from handlers.auth import ADMINS, command, requires
from handlers.flow import Button, answer, ask, cb, chunk, keyboard, parse_cb
from handlers.org.ui import tell
from handlers.reports import permissions
from handlers.reports.changes import changed_lines
from handlers.reports.draft import reference_time
from handlers.reports.mine import paging_row, send_photos, state_lines
from handlers.reports.render import detail, list_line
from storage.org import Unit
from storage.reports import Report, ReportQuery, ReportTotals

REPORTS = command("reports", ADMINS)
PER_PAGE = 8
UNITS_PER_PAGE = 18
ALL = "-"
# The list's label of each review state (reports.state.<label>): a resubmitted report reads
# 已重报·待核实, not plain 待核实 (issue 13, item 5).
REVIEW_STATES = {
    rules.PENDING: "pending", rules.RETURNED: "returned", rules.RESUBMITTED: "resubmitted_list",
    rules.VERIFIED: "verified",
}


def opening_month(today: date) -> str:
    """The month /reports opens on (:func:`bot.rules.bulletin.opening_month`), as ``YYYYMM``."""
    return rules.month_key(bulletin.opening_month(today)[0])


@dataclass(frozen=True)
class Filter:
    unit_id: int
    category: str = ALL
    month: str = ALL  # YYYYMM
    page: int = 0

    def encode(self) -> str:
        return f"{self.unit_id}.{self.category}.{self.month}.{self.page}"

    @classmethod
    def decode(cls, text: str) -> Filter | None:
        parts = text.split(".")
        if len(parts) != 4 or parse_id(parts[0]) is None or parse_page(parts[3], -1) < 0:
            return None
        unit, category, month, page = parts
        if category != ALL and category not in rules.CATEGORIES:
            return None
        if month != ALL and rules.parse_month_key(month) is None:
            return None
        return cls(int(unit), category, month, int(page))

    def query(self) -> ReportQuery:
        start, end = rules.parse_month_key(self.month) or (None, None)
        return ReportQuery(
            self.unit_id, None if self.category == ALL else self.category, start, end
        )


def month_label(context: CadreContext, key: str) -> str:
    if key == ALL:
        return context.t("reports.all_months")
    return context.t("reports.month", year=int(key[:4]), month=int(key[4:]))


def category_label(context: CadreContext, code: str) -> str:
    return context.t("reports.all_categories") if code == ALL else context.t(f"report.cat.{code}")


async def allowed_filter(update: Update, context: CadreContext, arg: str) -> tuple[Filter, Unit] | None:
    """The payload's filter if its unit is in the admin's area; else an alert and None."""
    found = Filter.decode(arg)
    org = context.repos.org
    unit = await org.unit(found.unit_id) if found else None
    if found is None or unit is None or not await org.contains(context.person.unit_id, unit.id):
        await update.callback_query.answer(context.t("reports.not_your_area"), show_alert=True)
        return None
    return found, unit


def totals_text(context: CadreContext, totals: ReportTotals) -> str:
    t = context.t
    if totals.approx:  # some head counts were approximate: the sums read 约N人次, as each report
        text = t(
            "reports.totals_approx",
            reports=totals.reports,
            villages=totals.villages,
            people=t("reports.count.about", n=totals.people),
            villagers=t("reports.count.about" if totals.villagers_approx else "reports.count.exact", n=totals.villagers),
        )
    else:
        text = t(
            "reports.totals",
            reports=totals.reports,
            villages=totals.villages,
            people=totals.people,
            villagers=totals.villagers,
        )
    amounts = [
        t(f"report.amount.{name}", value=rules.short_number(getattr(totals, name)))
        for name in AMOUNT_COLUMNS
        if getattr(totals, name)
    ]
    if amounts:
        text += "\n" + t("reports.totals_amounts", value=t("list.sep").join(amounts))
    return text


async def show_list(update: Update, context: CadreContext, flt: Filter, unit: Unit, *, edit: bool) -> None:
    t = context.t
    repo = context.repos.reports
    query = flt.query()
    totals = await repo.totals(query)
    pages = max(1, -(-totals.reports // PER_PAGE))
    flt = replace(flt, page=min(flt.page, pages - 1))
    reports = await repo.search(query, limit=PER_PAGE, offset=flt.page * PER_PAGE)
    lines = [
        t(
            "reports.header",
            unit=unit.name,
            category=category_label(context, flt.category),
            month=month_label(context, flt.month),
        ),
        totals_text(context, totals),
    ]
    if reports:
        lines.append("")
        for r in reports:  # the state as /myreports and the detail show it (corrected since a return: resubmitted)
            review, _ = await permissions.state_of(context, r)
            state = REVIEW_STATES.get(review, "pending")
            lines.append(t("reports.line_state", line=list_line(t, r), state=t(f"reports.state.{state}")))
        lines.append(t("reports.page", page=flt.page + 1, pages=pages))
    else:
        lines.append(t("reports.none"))
    state = flt.encode()
    rows: list[list[Button]] = [
        [
            (t("reports.btn.unit", value=unit.name), cb("reports", "u", f"{replace(flt, page=0).encode()}:0")),
            (t("reports.btn.category", value=category_label(context, flt.category)), cb("reports", "c", state)),
            (t("reports.btn.month", value=month_label(context, flt.month)), cb("reports", "m", state)),
        ]
    ]
    rows += chunk([(t("report.btn.view", number=r.id), cb("reports", "v", f"{r.id}:{state}")) for r in reports], 4)
    rows.append(paging_row(context, "reports", "l", flt.page, pages, suffix=f"{flt.unit_id}.{flt.category}.{flt.month}."))
    await ask(update, context, "\n".join(lines), keyboard(rows), edit=edit)


@requires(REPORTS)
async def reports_command(update: Update, context: CadreContext) -> None:
    today = reference_time(update, context).date()
    unit = await context.repos.org.unit(context.person.unit_id)
    await show_list(update, context, Filter(unit.id, ALL, opening_month(today)), unit, edit=False)


@requires(REPORTS)
async def list_shown(update: Update, context: CadreContext) -> None:
    found = await allowed_filter(update, context, parse_cb(update.callback_query.data)[2])
    if found is not None:
        await answer(update)
        await show_list(update, context, *found, edit=True)


@requires(REPORTS)
async def pick_unit(update: Update, context: CadreContext) -> None:
    arg = parse_cb(update.callback_query.data)[2]
    state, _, page_text = arg.rpartition(":")
    found = await allowed_filter(update, context, state)
    if found is None:
        return
    await answer(update)
    flt, unit = found
    t = context.t
    org = context.repos.org
    children = [u for u in await org.subtree(unit.id) if u.parent_id == unit.id and u.level != "grid"]
    page = parse_page(page_text)
    pages = max(1, -(-len(children) // UNITS_PER_PAGE))
    page = min(page, pages - 1)
    shown = children[page * UNITS_PER_PAGE : (page + 1) * UNITS_PER_PAGE]
    rows = [[(t("reports.btn.whole", value=unit.name), cb("reports", "l", flt.encode()))]]
    rows += chunk([(u.name, cb("reports", "l", replace(flt, unit_id=u.id).encode())) for u in shown], 3)
    if unit.id != context.person.unit_id and unit.parent_id is not None:
        parent = replace(flt, unit_id=unit.parent_id)
        rows.append([(t("reports.btn.up"), cb("reports", "u", f"{parent.encode()}:0"))])
    rows.append(paging_row(context, "reports", "u", page, pages, suffix=f"{flt.encode()}:"))
    await ask(update, context, t("reports.pick_unit", unit=unit.name), keyboard(rows))


@requires(REPORTS)
async def pick_category(update: Update, context: CadreContext) -> None:
    found = await allowed_filter(update, context, parse_cb(update.callback_query.data)[2])
    if found is None:
        return
    await answer(update)
    flt, _unit = found
    options = [ALL, *rules.CATEGORIES]
    buttons = [(category_label(context, c), cb("reports", "l", replace(flt, category=c, page=0).encode())) for c in options]
    await ask(update, context, context.t("reports.pick_category"), keyboard(chunk(buttons, 2)))


@requires(REPORTS)
async def pick_month(update: Update, context: CadreContext) -> None:
    found = await allowed_filter(update, context, parse_cb(update.callback_query.data)[2])
    if found is None:
        return
    await answer(update)
    flt, _unit = found
    today = reference_time(update, context).date()
    options = [ALL, *rules.recent_months(today, 12)]
    buttons = [(month_label(context, m), cb("reports", "l", replace(flt, month=m, page=0).encode())) for m in options]
    await ask(update, context, context.t("reports.pick_month"), keyboard(chunk(buttons, 3)))


VOID_REASONS = ("dup", "wrong", "else", "test")  # catalog keys reports.void_reason.<code>
VOID_KEYS = {"dup": "duplicate", "wrong": "wrong", "else": "elsewhere", "test": "test"}


async def report_in_area(update: Update, context: CadreContext, number: str, state: str) -> Report | None:
    """(report, filter) when the filter and the report are in the admin's area; else alert."""
    found = await allowed_filter(update, context, state)
    if found is None:
        return None
    report = await context.repos.reports.get(id_or_zero(number))
    org = context.repos.org
    if report is None or not report.active or not await org.contains(context.person.unit_id, report.fields.unit_id):
        await update.callback_query.answer(context.t("myreports.gone"), show_alert=True)
        return None
    return report


async def detail_screen(context: CadreContext, report: Report, state: str) -> tuple[str, list[list[Button]]]:
    """The report, its review state and reason (as /myreports shows them), and what an admin
    may do (bot.rules.reports.admin_may): 更正 (the /report conversation) or 作废."""
    t = context.t
    review, reason = await permissions.state_of(context, report)
    parts = [detail(t, report), "\n".join(state_lines(t, review, reason))]
    if review == rules.RESUBMITTED:  # what the author changed since it was returned
        changed = await changed_lines(context, report)
        if changed:
            parts.append("\n".join(changed))
    text = "\n\n".join([*parts, t("reports.admin_may")])
    allowed = rules.admin_may(review, active=report.active)
    actions: list[Button] = []
    if rules.CORRECT in allowed:
        actions.append((t("myreports.btn.correct"), cb("report", "open", f"c{report.id}")))
    if rules.VOID in allowed:
        actions.append((t("reports.btn.void"), cb("reports", "x", f"{report.id}:{state}")))
    rows = [actions] if actions else []
    rows.append([(t("myreports.btn.back_to_list"), cb("reports", "l", state))])
    return text, rows


@requires(REPORTS)
async def view(update: Update, context: CadreContext) -> None:
    arg = parse_cb(update.callback_query.data)[2]
    number, _, state = arg.partition(":")
    report = await report_in_area(update, context, number, state)
    if report is None:
        return
    await answer(update)
    chat_id = update.effective_chat.id
    await send_photos(context, chat_id, report)
    text, rows = await detail_screen(context, report, state)
    await context.bot.send_message(chat_id, text, reply_markup=keyboard(rows))


@requires(REPORTS)
async def void_asked(update: Update, context: CadreContext) -> None:
    """作废: the reasons as buttons (a press is the confirmation; 不作废 goes back)."""
    arg = parse_cb(update.callback_query.data)[2]
    number, _, state = arg.partition(":")
    report = await report_in_area(update, context, number, state)
    if report is None:
        return
    await answer(update)
    t = context.t
    rows = chunk(
        [(t(f"reports.void_reason.{VOID_KEYS[code]}"), cb("reports", "xr", f"{report.id}:{code}:{state}"))
         for code in VOID_REASONS], 2,
    )
    rows.append([(t("reports.btn.void_no"), cb("reports", "v", f"{report.id}:{state}"))])
    await ask(update, context, t("reports.void_ask", number=report.id) + "\n" + list_line(t, report), keyboard(rows))


@requires(REPORTS)
async def void_confirmed(update: Update, context: CadreContext) -> None:
    arg = parse_cb(update.callback_query.data)[2]
    number, _, rest = arg.partition(":")
    code, _, state = rest.partition(":")
    if code not in VOID_KEYS:
        await update.callback_query.answer(context.t("myreports.gone"), show_alert=True)
        return
    report = await report_in_area(update, context, number, state)
    if report is None:  # gone, voided already (a double tap), or not in the admin's area
        return
    t = context.t
    reason = t(f"reports.void_reason.{VOID_KEYS[code]}")
    at = reference_time(update, context)
    if not await context.repos.reports.void(report.id, by=context.person.id, at=at, reason=reason):
        await update.callback_query.answer(t("myreports.gone"), show_alert=True)
        return
    await answer(update)
    author = await context.repos.org.person(report.reporter_id)
    if author is not None and author.id != context.person.id and author.active:
        # the reason in the admin's words (the button they chose), to the author in their language
        await tell(context.application, author.telegram_id, "reports.voided_to_author", number=report.id,
                   day=t.short_date(report.fields.work_date), admin=context.person.name, reason=reason)
    rows = [[(t("myreports.btn.back_to_list"), cb("reports", "l", state))]]
    await ask(update, context, t("reports.voided", number=report.id, reason=reason), keyboard(rows))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("reports", reports_command))
    app.add_handler(CallbackQueryHandler(list_shown, pattern=r"^reports:l:"))
    app.add_handler(CallbackQueryHandler(pick_unit, pattern=r"^reports:u:"))
    app.add_handler(CallbackQueryHandler(pick_category, pattern=r"^reports:c:"))
    app.add_handler(CallbackQueryHandler(pick_month, pattern=r"^reports:m:"))
    app.add_handler(CallbackQueryHandler(view, pattern=r"^reports:v:"))
    app.add_handler(CallbackQueryHandler(void_asked, pattern=r"^reports:x:"))
    app.add_handler(CallbackQueryHandler(void_confirmed, pattern=r"^reports:xr:"))
