"""The questions of a report after the place: who took part (one line, or one count at a
time; the villagers are always asked), the amount of work and the notes; and the 同上次 and
跳过 buttons of every step."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.context import CadreContext
from bot.rules import reports as rules
from bot.rules.numbers import MAX_PARTICIPANTS, parse_count_approx, parse_participants, read_amounts
from handlers.flow import answer, cb, parse_cb
from handlers.reports.ask import Rows, again, proceed, question, show
from handlers.reports.draft import (
    AMOUNTS,
    CADRES,
    MEMBERS,
    NOTES,
    PEOPLE,
    PLACE,
    VILLAGE,
    VILLAGERS,
    current,
    fields_of,
    reference_time,
    step_of,
)
from handlers.reports.render import amounts_text, people_text
from handlers.reports.steps import last_report, place_skipped, set_place, set_village
from storage.reports import ReportFields

COUNT_STEPS = {CADRES: "cadres", MEMBERS: "members", VILLAGERS: "villagers"}
NEXT_COUNT = {CADRES: MEMBERS, MEMBERS: VILLAGERS}


# -- who took part --------------------------------------------------------------------------
@question(PEOPLE)
async def ask_people(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    t = context.t
    text = t("report.q.people")
    rows: Rows = [[(t("report.btn.one_by_one"), cb("report", "onebyone"))]]
    last = await last_report(context, draft)
    if last is not None:
        text += "\n" + t("report.last_value", value=people_text(t, last.fields))
        rows[0].insert(0, (t("report.btn.same_as_last"), cb("report", "same", PEOPLE)))
    return text, rows


async def set_people(
    update: Update,
    context: CadreContext,
    draft: dict[str, Any],
    cadres: int,
    members: int,
    villagers: int,
    approx: dict[str, str] | None = None,
) -> str:
    if rules.participants_problem(cadres, members, villagers):
        return await show(update, context, draft, PEOPLE, note=context.t("report.hint.nobody"), edit=False)
    draft["cadres"], draft["members"], draft["villagers"] = cadres, members, villagers
    draft["people_approx"] = dict(approx or {})
    note = context.t("report.echo.people", value=people_text(context.t, fields_of(draft)))
    return await proceed(update, context, draft, PEOPLE, note=note)


def participants_hint(reason: str) -> str:
    return {
        "negative": "report.hint.negative",
        "too_large": "report.hint.too_many_people",
    }.get(reason, "report.hint.people_format_approx")


async def people_typed(update: Update, context: CadreContext) -> str:
    reference_time(update, context)
    draft = current(context)
    text = update.effective_message.text
    result = parse_participants(text)
    if isinstance(result, str):
        return await again(update, context, draft, participants_hint(result), max=MAX_PARTICIPANTS)
    approx = dict(result.approx)
    if not rules.villagers_given(text):
        draft["cadres"], draft["members"] = result.cadres, result.members
        draft.pop("villagers", None)
        draft["people_approx"] = {g: f for g, f in approx.items() if g != "villagers"}
        return await show(update, context, draft, VILLAGERS)
    return await set_people(update, context, draft, result.cadres, result.members, result.villagers, approx)


async def one_by_one(update: Update, context: CadreContext) -> str:
    await answer(update)
    return await show(update, context, current(context), CADRES)


@question(CADRES)
async def ask_cadres(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    return context.t("report.q.cadres"), []


@question(MEMBERS)
async def ask_members(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    return context.t("report.q.members"), []


@question(VILLAGERS)
async def ask_villagers(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    return context.t("report.q.villagers", cadres=draft.get("cadres", 0), members=draft.get("members", 0)), []


async def count_typed(update: Update, context: CadreContext) -> str:
    reference_time(update, context)
    draft = current(context)
    step = step_of(draft)
    read = parse_count_approx(update.effective_message.text)
    if read is None:
        return await again(update, context, draft, "report.hint.count")
    count, form = read
    if count > MAX_PARTICIPANTS:
        return await again(update, context, draft, "report.hint.too_many_people", max=MAX_PARTICIPANTS)
    group = COUNT_STEPS[step]
    draft[group] = count
    approx = {g: f for g, f in (draft.get("people_approx") or {}).items() if g != group}
    if form is not None:
        approx[group] = form
    draft["people_approx"] = approx
    if step in NEXT_COUNT:
        return await show(update, context, draft, NEXT_COUNT[step])
    return await set_people(
        update, context, draft, int(draft.get("cadres") or 0), int(draft.get("members") or 0), count, approx
    )


# -- amount of work -------------------------------------------------------------------------
@question(AMOUNTS)
async def ask_amounts(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    t = context.t
    text = t("report.q.amounts")
    # the units of the chosen categories: an example in their words (栽树120棵, 路灯15盏 ...)
    examples = [c for c in draft.get("categories") or () if c in rules.CATEGORY_AMOUNTS]
    if examples:
        text += "\n" + t(f"report.amounts_example.{examples[0]}")
    return text, [[(t("report.btn.skip"), cb("report", "skip", AMOUNTS))]]


async def amounts_typed(update: Update, context: CadreContext) -> str:
    reference_time(update, context)
    draft = current(context)
    result = read_amounts(update.effective_message.text, draft.get("categories") or ())
    if isinstance(result, str):
        if result == "too_long":
            return await again(update, context, draft, "report.hint.too_long", max=200)
        key = {"negative": "report.hint.negative", "too_large": "report.hint.too_large"}.get(
            result, "report.hint.amounts_format"
        )
        return await again(update, context, draft, key)
    draft["amounts"] = dict(result.values()) | ({"text": result.text} if result.text else {})
    shown = amounts_text(context.t, fields_of(draft))
    key = "report.echo.amounts_kept" if result.text else "report.echo.amounts"
    return await proceed(update, context, draft, AMOUNTS, note=context.t(key, value=shown))


# -- notes ----------------------------------------------------------------------------------
@question(NOTES)
async def ask_notes(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    t = context.t
    return t("report.q.notes", max=rules.MAX_NOTES_LEN), [[(t("report.btn.skip"), cb("report", "skip", NOTES))]]


async def notes_typed(update: Update, context: CadreContext) -> str:
    reference_time(update, context)
    draft = current(context)
    text = update.effective_message.text
    if rules.text_problem(text, rules.MAX_NOTES_LEN):
        return await again(update, context, draft, "report.hint.too_long", max=rules.MAX_NOTES_LEN)
    draft["notes"] = rules.clean_text(text)
    return await proceed(update, context, draft, NOTES)


# -- 跳过 and 同上次 --------------------------------------------------------------------------
async def skipped(update: Update, context: CadreContext) -> str:
    draft = current(context)
    step = parse_cb(update.callback_query.data)[2]
    if step != step_of(draft):
        return await stale(update, context)
    if step == PLACE:
        return await place_skipped(update, context)
    await answer(update)
    if step == AMOUNTS:
        draft["amounts"] = {}
    elif step == NOTES:
        draft["notes"] = None
    return await proceed(update, context, draft, step)


async def same_as_last(update: Update, context: CadreContext) -> str:
    draft = current(context)
    step = parse_cb(update.callback_query.data)[2]
    last = await last_report(context, draft)
    if step != step_of(draft) or last is None:
        return await stale(update, context)
    previous: ReportFields = last.fields
    if step == VILLAGE:
        unit = await context.repos.org.unit(previous.unit_id)
        return await set_village(update, context, draft, unit)
    await answer(update)
    if step == PLACE:
        return await set_place(update, context, draft, previous.place, previous.latitude, previous.longitude)
    return await set_people(
        update, context, draft, previous.cadres, previous.members, previous.villagers, dict(previous.people_approx)
    )


async def stale(update: Update, context: CadreContext) -> str:
    """A button of an earlier question: say so; the current question stays."""
    draft = current(context)
    await update.callback_query.answer(context.t("report.hint.old_button"), show_alert=True)
    return step_of(draft) or PEOPLE
