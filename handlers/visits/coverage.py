"""/coverage [N]: how far household-visit coverage has come this month.

A secretary sees their village per member; an admin sees the villages of their units. Both
get: households visited this month out of all, members who visited none of their households,
households not visited for N days (default 30; never visited and longest first), overdue
follow-ups. As text, plus a bar chart when there are more than a few rows. No phone numbers
anywhere, and admins see figures per village rather than households by name.
"""

from __future__ import annotations

from datetime import tzinfo

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.context import CadreContext
from bot.i18n import Translator
from bot.rules.coverage import (
    DEFAULT_STALE_DAYS,
    Coverage,
    CoverageRow,
    UnitRow,
    behind_first,
    compute,
)
from bot.rules.ids import parse_page
from bot.services.charts import bar_chart
from handlers.auth import LEADERS, command, requires
from handlers.visits.common import message_now, village_of
from storage.org import Unit

COVERAGE = command("coverage", LEADERS)
CHART_MIN_ROWS = 4  # "more than a few rows": a chart from four rows on
MAX_LISTED = 15  # households / follow-ups listed by name before "…and N more"
MAX_STALE_DAYS = 365


def percent(row: CoverageRow) -> str:
    return f"{row.percent:.0f}"


def row_label(t: Translator, row: CoverageRow) -> str:
    return row.label if row.key is not None else t("coverage.unlinked")


def listed(t: Translator, lines: list[str]) -> list[str]:
    if len(lines) <= MAX_LISTED:
        return lines
    return [*lines[:MAX_LISTED], t("coverage.more", count=len(lines) - MAX_LISTED)]


def village_text(t: Translator, unit: Unit, cov: Coverage, names: dict[int, str], tz: tzinfo) -> str:
    """A secretary's view: per member, then who and what is behind, by name."""
    total = cov.total
    parts = [
        t("coverage.title", unit=unit.name, year=cov.today.year, month=cov.today.month, date=t.date(cov.today)),
        t("coverage.total", visited=total.visited, households=total.households, percent=percent(total)),
        t("coverage.by_member"),
    ]
    for row in behind_first(cov.rows):
        key = "coverage.member_row" if row.households else "coverage.member_row_empty"
        parts.append(t(key, name=row_label(t, row), visited=row.visited, households=row.households, percent=percent(row)))
    sep = t("list.sep")
    if cov.idle_members:
        parts.append(t.n("coverage.idle", len(cov.idle_members), names=sep.join(p.name for p in cov.idle_members)))
    else:
        parts.append(t("coverage.idle_none"))
    if cov.members_without_households:
        names_without = sep.join(p.name for p in cov.members_without_households)
        parts.append(t.n("coverage.without", len(cov.members_without_households), names=names_without))
    if cov.stale:
        parts.append(t.n("coverage.stale_header", len(cov.stale), days=cov.stale_days))
        lines = []
        for s in cov.stale:
            member = names.get(s.member_id or 0) or t("coverage.unlinked_short")
            if s.days is None:
                lines.append(t("coverage.stale_never", head=s.head, member=member))
            else:
                lines.append(t("coverage.stale_days", head=s.head, member=member, days=s.days))
        parts += listed(t, lines)
    else:
        parts.append(t("coverage.stale_none", days=cov.stale_days))
    if cov.overdue:
        parts.append(t.n("coverage.overdue_header", len(cov.overdue)))
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


def units_text(t: Translator, unit: Unit, cov: Coverage) -> str:
    """An admin's view: figures per village, no households by name."""
    total = cov.total
    parts = [
        t("coverage.title", unit=unit.name, year=cov.today.year, month=cov.today.month, date=t.date(cov.today)),
        t(
            "coverage.admin_total",
            visited=total.visited,
            households=total.households,
            percent=percent(total),
            idle=total.idle_members,
            stale=total.stale,
            days=cov.stale_days,
            overdue=total.overdue,
        ),
        t("coverage.by_village"),
    ]
    for row in behind_first(cov.rows):
        parts.append(
            t(
                "coverage.village_row",
                name=row.label,
                visited=row.visited,
                households=row.households,
                percent=percent(row),
                idle=row.idle_members,
                stale=row.stale,
                overdue=row.overdue,
            )
        )
    return "\n".join(parts)


def chart(t: Translator, unit: Unit, cov: Coverage) -> bytes | None:
    rows = [r for r in behind_first(cov.rows) if r.households]
    if len(rows) < CHART_MIN_ROWS:
        return None
    return bar_chart(
        [row_label(t, r) for r in rows],
        [r.percent for r in rows],
        title=t("coverage.chart_title", unit=unit.name, year=cov.today.year, month=cov.today.month),
        xlabel=t("coverage.chart_xlabel"),
        percent=True,
    )


@requires(COVERAGE)
async def coverage(update: Update, context: CadreContext) -> None:
    t = context.t
    person = context.person
    assert person is not None
    message = update.effective_message
    days = DEFAULT_STALE_DAYS
    if context.args:
        arg = context.args[0]
        if not 1 <= parse_page(arg) <= MAX_STALE_DAYS:
            await message.reply_text(t("coverage.bad_days", max=MAX_STALE_DAYS))
            return
        days = int(arg)
    now = message_now(update, context)
    assert now is not None  # a command is a message
    if person.is_admin:
        unit = await context.repos.org.unit(person.unit_id)
        villages = await context.repos.org.subtree(person.unit_id, level="village")
        group_by = "village"
    else:
        village_id = await village_of(context, person)
        unit = await context.repos.org.unit(village_id) if village_id else None
        villages = [unit] if unit else []
        group_by = "member"
    if unit is None or not villages:
        await message.reply_text(t("coverage.no_villages"))
        return
    data = await context.repos.visits.coverage_input([v.id for v in villages], today=now.date())
    cov = compute(
        today=now.date(),
        now=now,
        households=data.households,
        visits=data.visits,
        people=data.people,
        followups=data.followups,
        group_by=group_by,
        units=[UnitRow(v.id, v.name) for v in villages],
        stale_days=days,
    )
    if group_by == "village":
        text = units_text(t, unit, cov)
    else:
        names = {p.id: p.name for p in data.people}
        text = village_text(t, unit, cov, names, context.services.settings.tz)
    await message.reply_text(text[:4096])
    png = chart(t, unit, cov)
    if png is not None:
        await message.reply_photo(png, caption=t("coverage.chart_caption"))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("coverage", coverage))
