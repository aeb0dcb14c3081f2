"""/coverage [N]: how far household-visit coverage has come in the last 30 days.

Coverage is a rolling window by the date of the visit (:class:`bot.rules.coverage.Window`: the
last 30 days up to today), so it never starts again from 0% on the 1st; a button shows last
calendar month's figures instead, and one brings the rolling window back.

A secretary sees their village per member; an admin sees the units below theirs and drills
down with buttons: district → townships → villages → the village per member. A view with many
rows lists and charts only the lowest and the highest ones (never 2,000 bars on a phone); the
buttons reach every one. Both get: households visited in the window out of all, members who
visited none (named only to those who manage them, the village's secretary and the admins
above, and only once the member has gone a full window without a visit), households not
visited for N days (default 30; never visited and longest first; by name only to the village
secretary), overdue follow-ups. No phone numbers anywhere.

The reads run in a worker thread on a read-only connection of their own
(:func:`bot.services.offloop.run`) and the chart is drawn in the worker process, so a
district's figures never stall other chats; a view that takes over 3 seconds is announced
with "正在生成…".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from telegram import InputFile, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CadreContext
from bot.i18n import Translator
from bot.rules.coverage import (
    DEFAULT_STALE_DAYS,
    Coverage,
    CoverageRow,
    UnitRow,
    Window,
    behind_first,
    combine,
    compute,
    ends,
)
from bot.rules.ids import parse_id, parse_numbers, parse_page
from bot.services import offloop
from bot.services.charts import bar_chart
from handlers.auth import LEADERS, command, requires
from handlers.flow import Button, answer, cb, chunk, keyboard, parse_cb
from handlers.visits.common import reference_now, village_of
from storage.visits import CoverageInput, CoverageReader, CoverageScope, ScopeUnit

COVERAGE = command("coverage", LEADERS)
FLOW = "coverage"
CHART_MIN_ROWS = 4  # "more than a few rows": a chart from four rows on
MAX_LISTED = 15  # households / follow-ups listed by name before "…and N more"
MAX_ROWS = 30  # rows of a view listed in its text (the lowest and highest when more)
MAX_BARS = 20  # bars of a chart (the lowest and highest when more)
BUTTONS_PER_PAGE = 12
MAX_STALE_DAYS = 365
ROLLING, LAST_MONTH = "r", "m"


def percent(row: CoverageRow) -> str:
    return f"{row.percent:.0f}"


def row_label(t: Translator, row: CoverageRow) -> str:
    return row.label if row.key is not None else t("coverage.unlinked")


def listed(t: Translator, lines: list[str]) -> list[str]:
    if len(lines) <= MAX_LISTED:
        return lines
    return [*lines[:MAX_LISTED], t("coverage.more", count=len(lines) - MAX_LISTED)]


def period(t: Translator, window: Window) -> str:
    if window.rolling:
        return t("coverage.period.window", days=window.days)
    return t("coverage.period.month", year=window.first.year, month=window.first.month)


def title(t: Translator, name: str, cov: Coverage) -> str:
    return t("coverage.heading", unit=name, period=period(t, cov.window), date=t.date(cov.today))


def stale_line(t: Translator, head: str, member: str, days: int | None) -> str:
    if days is None:
        return t("coverage.stale_never", head=head, member=member)
    if days == 1:
        return t("coverage.stale_yesterday", head=head, member=member)
    return t("coverage.stale_days", head=head, member=member, days=days)


def idle_lines(t: Translator, cov: Coverage) -> list[str]:
    """Who visited none in the window: named once they went a full window without a visit."""
    sep = t("list.sep")
    when = period(t, cov.window)
    if not cov.idle_members:
        return [t("coverage.idle_none_in", period=when)]
    lines = []
    named = cov.named_idle
    if named:
        lines.append(t.n("coverage.idle_in", len(named), period=when, names=sep.join(p.name for p in named)))
    if len(cov.idle_members) > len(named):
        lines.append(t.n("coverage.idle_new", len(cov.idle_members) - len(named), days=cov.window.days))
    return lines


def village_text(t: Translator, name: str, cov: Coverage, names: dict[int, str], tz: tzinfo, *, households_by_name: bool) -> str:
    """A village per member, then who and what is behind (households by name only to its secretary)."""
    total = cov.total
    when = period(t, cov.window)
    parts = [
        title(t, name, cov),
        t("coverage.total_in", period=when, visited=total.visited, households=total.households, percent=percent(total)),
        t("coverage.by_member_in", period=when),
    ]
    for row in behind_first(cov.named_rows()):
        key = "coverage.member_row" if row.households else "coverage.member_row_empty"
        parts.append(t(key, name=row_label(t, row), visited=row.visited, households=row.households, percent=percent(row)))
    parts += idle_lines(t, cov)
    if cov.members_without_households:
        names_without = t("list.sep").join(p.name for p in cov.members_without_households)
        parts.append(t.n("coverage.without", len(cov.members_without_households), names=names_without))
    if cov.stale:
        parts.append(t.n("coverage.stale_header", len(cov.stale), days=cov.stale_days))
        if households_by_name:
            parts += listed(
                t,
                [stale_line(t, s.head, names.get(s.member_id or 0) or t("coverage.unlinked_short"), s.days) for s in cov.stale],
            )
    else:
        parts.append(t("coverage.stale_none", days=cov.stale_days))
    if cov.overdue:
        parts.append(t.n("coverage.overdue_header", len(cov.overdue)))
        if households_by_name:
            parts += listed(
                t,
                [
                    t("coverage.overdue_line", head=f.head, member=names.get(f.member_id, "-"), due=t.short_date(f.due_at.astimezone(tz).date()))
                    for f in cov.overdue
                ],
            )
    else:
        parts.append(t("coverage.overdue_none"))
    return "\n".join(parts)


def units_text(t: Translator, name: str, cov: Coverage, rows: Sequence[CoverageRow], counts: dict[int, int]) -> str:
    """An admin's view: figures per unit below (villages, or townships with their villages)."""
    total = cov.total
    when = period(t, cov.window)
    parts = [
        title(t, name, cov),
        t(
            "coverage.admin_total_in",
            period=when,
            visited=total.visited,
            households=total.households,
            percent=percent(total),
            idle=total.idle_members,
            stale=total.stale,
            days=cov.stale_days,
            overdue=total.overdue,
        ),
    ]
    villages = all(r.key not in counts for r in rows)
    parts.append(t("coverage.by_village") if villages else t("coverage.by_township"))
    shown, left_out = ends(rows, MAX_ROWS)
    for n, row in enumerate(shown):
        if left_out and n == (MAX_ROWS + 1) // 2:
            parts.append(t("coverage.rows_left", count=left_out))
        fields = dict(
            name=row.label, visited=row.visited, households=row.households, percent=percent(row),
            idle=row.idle_members, stale=row.stale, overdue=row.overdue,
        )
        if row.key in counts:
            parts.append(t("coverage.unit_row", count=counts[row.key or 0], **fields))
        else:
            parts.append(t("coverage.village_row", **fields))
    return "\n".join(parts)


def chart(t: Translator, name: str, cov: Coverage, rows: Sequence[CoverageRow]) -> tuple[bytes, str] | None:
    """The bars (at most MAX_BARS: the lowest and the highest, drawn in the worker process) and
    the caption; None when few, or when the chart could not be drawn."""
    with_households = [r for r in rows if r.households]
    if len(with_households) < CHART_MIN_ROWS:
        return None
    shown, left_out = ends(with_households, MAX_BARS)
    when = period(t, cov.window)
    png = bar_chart(
        [row_label(t, r) for r in shown],
        [r.percent for r in shown],
        title=t("coverage.chart_heading", unit=name, period=when),
        xlabel=t("coverage.chart_axis"),
        percent=True,
    )
    if png is None:  # could not be drawn (logged): the text alone
        return None
    if left_out:
        low = (MAX_BARS + 1) // 2
        caption = t("coverage.chart_caption_ends", period=when, low=low, high=MAX_BARS - low)
    else:
        caption = t("coverage.chart_caption_in", period=when)
    return png, caption


# -- one view, built in a worker thread ------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    unit_id: int
    home_id: int  # the viewer's own unit: no "up" button above it
    today: date
    now: datetime
    tz: tzinfo
    stale_days: int = DEFAULT_STALE_DAYS
    mode: str = ROLLING
    page: int = 0
    households_by_name: bool = False  # the village's own secretary

    def window(self) -> Window:
        return Window.previous_month(self.today) if self.mode == LAST_MONTH else Window.last_days(self.today)

    def payload(self, **change: object) -> str:
        unit = change.get("unit_id", self.unit_id)
        mode = change.get("mode", self.mode)
        page = change.get("page", 0)
        return cb(FLOW, "u", f"{unit}.{self.stale_days}.{mode}.{page}")


@dataclass(frozen=True)
class View:
    text: str
    chart: bytes | None
    caption: str
    buttons: list[list[Button]]


def compute_scope(scope: CoverageScope, request: Request, group_by: str) -> Coverage:
    data: CoverageInput = scope.data
    villages = [UnitRow(u.id, u.name) for u in scope.units if u.level == "village"]
    return compute(
        today=request.today,
        now=request.now,
        households=data.households,
        visits=data.visits,
        people=data.people,
        followups=data.followups,
        group_by=group_by,  # type: ignore[arg-type]
        units=villages,
        stale_days=request.stale_days,
        window=request.window(),
    )


def child_rows(units: list[ScopeUnit], root: int, cov: Coverage) -> tuple[list[CoverageRow], dict[int, int]]:
    """One row per unit right below ``root``: a village's own row, or a township's villages
    combined; and how many villages each combined row holds."""
    parent = {u.id: u.parent_id for u in units}
    by_id = {u.id: u for u in units}
    children = [u for u in units if u.parent_id == root]
    top: dict[int, int] = {}
    for u in units:
        if u.level != "village":
            continue
        node = u.id
        while parent.get(node) not in (root, None):
            node = parent[node]  # type: ignore[assignment]
        if parent.get(node) == root:
            top[u.id] = node
    village_rows: dict[int, list[CoverageRow]] = {}
    for r in cov.rows:
        if r.key in top:
            village_rows.setdefault(top[r.key], []).append(r)
    rows, counts = [], {}
    for child in children:
        mine = village_rows.get(child.id, [])
        if by_id[child.id].level == "village":
            rows.extend(mine)
        else:
            rows.append(combine(child.id, child.name, mine))
            counts[child.id] = len(mine)
    return rows, counts


def nav_buttons(t: Translator, request: Request, units: list[ScopeUnit], choices: list[ScopeUnit]) -> list[list[Button]]:
    rows: list[list[Button]] = []
    if choices:
        pages = max(1, -(-len(choices) // BUTTONS_PER_PAGE))
        page = min(request.page, pages - 1)
        shown = choices[page * BUTTONS_PER_PAGE : (page + 1) * BUTTONS_PER_PAGE]
        rows += chunk([(u.name, request.payload(unit_id=u.id)) for u in shown], 3)
        paging = []
        if page > 0:
            paging.append((t("coverage.btn.prev"), request.payload(page=page - 1)))
        if page + 1 < pages:
            paging.append((t("coverage.btn.next"), request.payload(page=page + 1)))
        rows.append(paging)
    if request.mode == ROLLING:
        last = Window.previous_month(request.today)
        rows.append([(t("coverage.btn.last_month", year=last.first.year, month=last.first.month), request.payload(mode=LAST_MONTH))])
    else:
        rows.append([(t("coverage.btn.rolling", days=Window.last_days(request.today).days), request.payload(mode=ROLLING))])
    me = next((u for u in units if u.id == request.unit_id), None)
    if me is not None and me.id != request.home_id and me.parent_id is not None:
        rows.append([(t("coverage.btn.up"), request.payload(unit_id=me.parent_id))])
    return [r for r in rows if r]


def build(db_path: str, t: Translator, request: Request) -> View | None:
    """The view of ``request.unit_id`` (blocking: SQL, figures and chart; for a worker thread).
    None when the unit has no villages."""
    with CoverageReader(db_path) as reader:
        scope = reader.scope(request.unit_id, today=request.today, window=request.window())
    me = next((u for u in scope.units if u.id == request.unit_id), None)
    if me is None or not any(u.level == "village" for u in scope.units):
        return None
    if me.level == "village":
        cov = compute_scope(scope, request, "member")
        names = {p.id: p.name for p in scope.data.people}
        text = village_text(t, me.name, cov, names, request.tz, households_by_name=request.households_by_name)
        rows: Sequence[CoverageRow] = behind_first(cov.named_rows())  # no bar names a newcomer
        choices: list[ScopeUnit] = []
    else:
        cov = compute_scope(scope, request, "village")
        rows, counts = child_rows(scope.units, me.id, cov)
        text = units_text(t, me.name, cov, rows, counts)
        choices = sorted((u for u in scope.units if u.parent_id == me.id), key=lambda u: (u.name, u.id))
    drawn = chart(t, me.name, cov, rows)
    png, caption = drawn if drawn else (None, "")
    return View(text[:4096], png, caption, nav_buttons(t, request, scope.units, choices))


# -- Telegram ----------------------------------------------------------------------------------------
async def send_view(update: Update, context: CadreContext, request: Request, name: str | None) -> None:
    t = context.t
    chat_id = update.effective_chat.id

    async def progress() -> None:
        await context.bot.send_message(chat_id, t("coverage.working", unit=name or ""))

    db_path = context.repos.db.path
    view = await offloop.run(build, db_path, t, request, progress=progress)
    if view is None:
        await context.bot.send_message(chat_id, t("coverage.no_villages"))
        return
    markup = keyboard(view.buttons) if view.buttons else None
    if view.chart is None:
        await context.bot.send_message(chat_id, view.text, reply_markup=markup)
        return
    await context.bot.send_message(chat_id, view.text)
    await context.bot.send_photo(chat_id, InputFile(view.chart, filename="coverage-chart.png"), caption=view.caption, reply_markup=markup)


def remembered(context: CadreContext) -> dict:
    """Where the moment of the user's /coverage is kept: a button press carries no time."""
    return context.user_data.setdefault(FLOW, {})  # type: ignore[union-attr]


async def home(context: CadreContext) -> tuple[int, bool] | None:
    """The viewer's own unit for /coverage (an admin's unit, a secretary's village) and
    whether they see households by name (the village's secretary)."""
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    if person.is_admin:
        return person.unit_id, False
    village_id = await village_of(context, person)
    return (village_id, True) if village_id else None


@requires(COVERAGE)
async def coverage(update: Update, context: CadreContext) -> None:
    t = context.t
    message = update.effective_message
    days = DEFAULT_STALE_DAYS
    if context.args:
        arg = context.args[0]
        if not 1 <= parse_page(arg) <= MAX_STALE_DAYS:
            await message.reply_text(t("coverage.bad_days", max=MAX_STALE_DAYS))
            return
        days = int(arg)
    now = reference_now(update, context, remembered(context))
    mine = await home(context)
    unit = await context.repos.org.unit(mine[0]) if mine else None
    if mine is None or unit is None:
        await message.reply_text(t("coverage.no_villages"))
        return
    request = Request(
        unit_id=unit.id, home_id=unit.id, today=now.date(), now=now, tz=context.services.settings.tz,
        stale_days=days, households_by_name=mine[1],
    )
    await send_view(update, context, request, unit.name)


@requires(COVERAGE)
async def unit_pressed(update: Update, context: CadreContext) -> None:
    """A drill-down, paging or window button: ``unit.days.mode.page``, checked against the
    viewer's own area."""
    t = context.t
    parts = parse_cb(update.callback_query.data)[2].split(".")
    mine = await home(context)
    numbers = parse_numbers(".".join(parts[:2] + parts[3:])) if len(parts) == 4 else None
    ok = numbers is not None and parts[2] in (ROLLING, LAST_MONTH) and 1 <= numbers[1] <= MAX_STALE_DAYS
    unit = await context.repos.org.unit(parse_id(parts[0]) or 0) if ok else None
    if mine is None or unit is None or not await context.repos.org.contains(mine[0], unit.id):
        await update.callback_query.answer(t("coverage.not_yours"), show_alert=True)
        return
    await answer(update)
    now = reference_now(update, context, remembered(context))
    request = Request(
        unit_id=unit.id, home_id=mine[0], today=now.date(), now=now, tz=context.services.settings.tz,
        stale_days=numbers[1], mode=parts[2], page=numbers[2], households_by_name=mine[1],
    )
    await send_view(update, context, request, unit.name)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("coverage", coverage))
    app.add_handler(CallbackQueryHandler(unit_pressed, pattern=r"^coverage:u:"))
