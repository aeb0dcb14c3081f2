"""The questions of a report before the photos: village, date of the work, categories (with
the name of "other"), place. The participants, amounts and notes are in report_people."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import Update

from bot.context import CadreContext
from bot.rules import reports as rules
from bot.rules.dates import EXAMPLES_PAST, parse_when
from bot.rules.ids import id_or_zero, parse_page
from handlers.flow import answer, cb, chunk, parse_cb
from handlers.reports.ask import Rows, again, proceed, question, show
from handlers.reports.draft import (
    CATEGORY,
    DATE,
    OTHER_NAME,
    PLACE,
    VILLAGE,
    current,
    reference_time,
)
from storage.org import Unit

VILLAGES_PER_PAGE = 12
QUICK_LABELS = {0: "today", -1: "yesterday", -2: "day_before"}  # catalog keys report.btn.*


async def villages_of(context: CadreContext) -> list[Unit]:
    """The villages the user may report for: their own, or those under their township/district."""
    person = context.person
    if person is None:
        return []
    org = context.repos.org
    unit = await org.unit(person.unit_id)
    if unit is None:
        return []
    if unit.level == "village":
        return [unit]
    if unit.level == "grid":
        parent = await org.unit(unit.parent_id) if unit.parent_id else None
        return [parent] if parent is not None else []
    return await org.subtree(unit.id, "village")


async def last_report(context: CadreContext, draft: dict[str, Any]):
    if context.person is None:
        return None
    return await context.repos.reports.last_by_reporter(
        context.person.id, exclude=draft.get("report_id")
    )


# -- village --------------------------------------------------------------------------------
@question(VILLAGE)
async def ask_village(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    t = context.t
    villages = await villages_of(context)
    page = int(draft.get("village_page") or 0)
    pages = max(1, -(-len(villages) // VILLAGES_PER_PAGE))
    page = min(page, pages - 1)
    shown = villages[page * VILLAGES_PER_PAGE : (page + 1) * VILLAGES_PER_PAGE]
    rows: Rows = chunk([(u.name, cb("report", "village", u.id)) for u in shown], 3)
    if pages > 1:
        paging = []
        if page > 0:
            paging.append((t("report.btn.prev_page"), cb("report", "vpage", page - 1)))
        if page + 1 < pages:
            paging.append((t("report.btn.next_page"), cb("report", "vpage", page + 1)))
        rows.append(paging)
    text = t("report.q.village")
    last = await last_report(context, draft)
    if last is not None and any(u.id == last.fields.unit_id for u in villages):
        text += "\n" + t("report.last_value", value=last.unit_name)
        rows.insert(0, [(t("report.btn.same_as_last"), cb("report", "same", VILLAGE))])
    return text, rows


async def village_page(update: Update, context: CadreContext) -> str:
    draft = current(context)
    await answer(update)
    draft["village_page"] = parse_page(parse_cb(update.callback_query.data)[2])
    return await show(update, context, draft, VILLAGE)


async def set_village(
    update: Update, context: CadreContext, draft: dict[str, Any], unit: Unit | None
) -> str:
    if unit is None or unit.id not in {u.id for u in await villages_of(context)}:
        if update.callback_query is not None:
            await update.callback_query.answer(context.t("report.hint.not_your_village"), show_alert=True)
            return VILLAGE
        return await again(update, context, draft, "report.hint.village_unknown")
    await answer(update)
    draft["unit_id"], draft["unit_name"] = unit.id, unit.name
    return await proceed(update, context, draft, VILLAGE, note=context.t("report.echo.village", value=unit.name))


async def village_chosen(update: Update, context: CadreContext) -> str:
    arg = parse_cb(update.callback_query.data)[2]
    unit = await context.repos.org.unit(id_or_zero(arg))
    return await set_village(update, context, current(context), unit)


async def village_typed(update: Update, context: CadreContext) -> str:
    reference_time(update, context)
    draft = current(context)
    name = rules.clean_text(update.effective_message.text) or ""
    villages = await villages_of(context)
    matches = [u for u in villages if u.name == name] or [u for u in villages if name and name in u.name]
    return await set_village(update, context, draft, matches[0] if len(matches) == 1 else None)


# -- date -----------------------------------------------------------------------------------
@question(DATE)
async def ask_date(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    t = context.t
    buttons = [(t(f"report.btn.{QUICK_LABELS[offset]}"), cb("report", "date", offset)) for offset in rules.QUICK_DAYS]
    return t("report.q.date"), [buttons]


def date_refusal(context: CadreContext, reason: str) -> str:
    t = context.t
    if reason == "future":
        return t("report.date.future")
    if reason == "too_old":
        return t("report.date.too_old", days=context.services.settings.report_max_age_days)
    return t("report.date.not_a_date", first=EXAMPLES_PAST[0], second=EXAMPLES_PAST[1])


async def set_date(update: Update, context: CadreContext, draft: dict[str, Any], day) -> str:
    draft["work_date"] = day.isoformat()
    note = context.t("report.echo.date", value=context.t.date(day))
    return await proceed(update, context, draft, DATE, note=note)


async def date_button(update: Update, context: CadreContext) -> str:
    draft = current(context)
    arg = parse_cb(update.callback_query.data)[2]
    offset = -parse_page(arg[1:]) if arg.startswith("-") else parse_page(arg)
    if offset not in rules.QUICK_DAYS:
        offset = 0
    today = reference_time(update, context).date()
    day = today + timedelta(days=offset)
    problem = rules.work_date_problem(day, today, context.services.settings.report_max_age_days)
    if problem is not None:
        await update.callback_query.answer(date_refusal(context, problem), show_alert=True)
        return DATE
    await answer(update)
    return await set_date(update, context, draft, day)


async def date_typed(update: Update, context: CadreContext) -> str:
    draft = current(context)
    settings = context.services.settings
    when = parse_when(
        update.effective_message.text,
        reference_time(update, context),
        want="past",
        max_age_days=settings.report_max_age_days,
        tz=settings.tz_name,
    )
    if when.value is None:
        return await show(update, context, draft, DATE, note=date_refusal(context, when.reason or ""), edit=False)
    return await set_date(update, context, draft, when.value.date())


# -- categories -----------------------------------------------------------------------------
@question(CATEGORY)
async def ask_category(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    t = context.t
    chosen = draft.get("categories") or []
    buttons = []
    for code in rules.CATEGORIES:
        label = t(f"report.cat.{code}")
        buttons.append((t("report.chosen", label=label) if code in chosen else label, cb("report", "cat", code)))
    rows = chunk(buttons, 2)
    rows.append([(t("report.btn.next"), cb("report", "catdone"))])
    return t("report.q.category"), rows


async def category_toggled(update: Update, context: CadreContext) -> str:
    draft = current(context)
    await answer(update)
    code = parse_cb(update.callback_query.data)[2]
    draft["categories"] = rules.choose_categories(draft.get("categories") or [], code)
    return await show(update, context, draft, CATEGORY)


async def categories_done(update: Update, context: CadreContext) -> str:
    draft = current(context)
    if not draft.get("categories"):
        await update.callback_query.answer(context.t("report.hint.pick_category"), show_alert=True)
        return CATEGORY
    await answer(update)
    if rules.OTHER in draft["categories"]:
        return await show(update, context, draft, OTHER_NAME)
    return await proceed(update, context, draft, CATEGORY)


@question(OTHER_NAME)
async def ask_other_name(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    text = context.t("report.q.other_name", max=rules.MAX_OTHER_NAME_LEN)
    if draft.get("other_name"):
        text += "\n" + context.t("report.current_value", value=draft["other_name"])
    return text, []


async def other_name_typed(update: Update, context: CadreContext) -> str:
    reference_time(update, context)
    draft = current(context)
    text = update.effective_message.text
    if rules.text_problem(text, rules.MAX_OTHER_NAME_LEN):
        return await again(update, context, draft, "report.hint.too_long", max=rules.MAX_OTHER_NAME_LEN)
    draft["other_name"] = rules.clean_text(text)
    return await proceed(update, context, draft, OTHER_NAME)


# -- place ----------------------------------------------------------------------------------
@question(PLACE)
async def ask_place(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    t = context.t
    text = t("report.q.place")
    rows: Rows = [[(t("report.btn.skip"), cb("report", "skip", PLACE))]]
    last = await last_report(context, draft)
    if last is not None and (last.fields.place or last.fields.latitude is not None):
        text += "\n" + t("report.last_value", value=last.fields.place or t("report.location_shared"))
        rows.insert(0, [(t("report.btn.same_as_last"), cb("report", "same", PLACE))])
    return text, rows


async def set_place(
    update: Update, context: CadreContext, draft: dict[str, Any], place: str | None, lat=None, lon=None
) -> str:
    draft["place"], draft["lat"], draft["lon"] = place, lat, lon
    note = None
    if place:
        note = context.t("report.echo.place", value=place)
    elif lat is not None:
        note = context.t("report.echo.location")
    return await proceed(update, context, draft, PLACE, note=note)


async def place_typed(update: Update, context: CadreContext) -> str:
    reference_time(update, context)
    draft = current(context)
    text = update.effective_message.text
    if rules.text_problem(text, rules.MAX_PLACE_LEN):
        return await again(update, context, draft, "report.hint.too_long", max=rules.MAX_PLACE_LEN)
    return await set_place(update, context, draft, rules.clean_text(text))


async def place_location(update: Update, context: CadreContext) -> str:
    reference_time(update, context)
    location = update.effective_message.location
    return await set_place(update, context, current(context), None, location.latitude, location.longitude)


async def place_skipped(update: Update, context: CadreContext) -> str:
    await answer(update)
    return await set_place(update, context, current(context), None)
