"""The answers of the /schedule conversation (see :mod:`handlers.schedule.conversation`): title, recurrence
(buttons, or typed: 每月第一个周五下午2点半), day, starting month, time, place, speaker, target
units, lead times, who answers. Each stores the answer in the draft and asks the next question
(or shows the review again when a part was edited from it)."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler

from bot.context import CadreContext
from bot.rules.ids import parse_page
from bot.rules.recurrence import LAST, MONTHLY_DAY, MONTHLY_WEEKDAY, parse_rule
from bot.services import scheduler
from handlers import unit_picker
from handlers.auth import ADMINS, Command, requires
from handlers.flow import Draft, answer, draft_of, hint, parse_cb, step, toggle
from handlers.schedule.steps import (
    DAY,
    FLOW,
    KIND,
    KIND_CHOICES,
    LEAD_CHOICES,
    LEADS,
    NTH,
    PLACE,
    REVIEW,
    SPEAKER,
    START,
    STEPS,
    TIME,
    TITLE,
    UNITS,
    WEEKDAY,
    goto,
    next_step,
    parse_time_of_day,
)
from storage.events import AUDIENCES

# The conversation's buttons are for admins (the command itself is declared in schedule_manage).
EDITOR = Command("schedule", ADMINS)
MAX_TITLE, MAX_FIELD = 80, 120
RULE_FIELDS = ("kind", "day", "nth", "weekday", "every", "anchor")


async def stale(update: Update, context: CadreContext) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer(context.t("task.stale"), show_alert=True)
    return ConversationHandler.END


async def current(update: Update, context: CadreContext) -> dict[str, Any] | None:
    draft = draft_of(context, FLOW)
    if draft is None:
        await stale(update, context)
    return draft


# -- answers --------------------------------------------------------------------------------
@requires(EDITOR)
@step(FLOW, stale, ack=False)
async def title_typed(update: Update, context: CadreContext, draft: Draft) -> str | int:
    text = " ".join((update.effective_message.text or "").split())
    if not text or len(text) > MAX_TITLE:
        await hint(update, context, "task.wrong.title", max=MAX_TITLE)
        return await goto(update, context, draft, TITLE)
    draft["title"] = text
    return await goto(update, context, draft, next_step(draft, TITLE))


def _clear_rule(draft: dict[str, Any]) -> None:
    for key in RULE_FIELDS:
        draft.pop(key, None)


@requires(EDITOR)
@step(FLOW, stale)
async def kind_chosen(update: Update, context: CadreContext, draft: Draft) -> str | int:
    _, _, code = parse_cb(update.callback_query.data)
    choice = next(((kind, every) for c, kind, every in KIND_CHOICES if c == code), None)
    if choice is None:
        return await goto(update, context, draft, KIND)
    _clear_rule(draft)
    draft["kind"], draft["every"] = choice
    return await goto(update, context, draft, next_step(draft, KIND))


@requires(EDITOR)
@step(FLOW, stale, ack=False)
async def rule_typed(update: Update, context: CadreContext, draft: Draft) -> str | int:
    """每月第一个周五下午2点半 typed instead of pressing buttons."""
    tz = context.services.settings.tz
    now = scheduler.now_of(context.application).astimezone(tz)
    parsed = parse_rule(update.effective_message.text or "", anchor=now.date())
    at = parse_time_of_day(parsed[1], now, tz.key) if parsed and parsed[1] else None
    if parsed is None or (parsed[1] and at is None):
        await hint(update, context, "sched.wrong.rule")
        return await goto(update, context, draft, KIND)
    rule = parsed[0]
    _clear_rule(draft)
    draft.update(kind=rule.kind, every=rule.every)
    if rule.kind == MONTHLY_DAY:
        draft["day"] = rule.day
    elif rule.kind == MONTHLY_WEEKDAY:
        draft.update(nth=rule.nth, weekday=rule.weekday)
    else:
        draft["weekday"] = rule.weekday
        if rule.every > 1 and rule.anchor is not None:
            draft["anchor"] = rule.anchor.isoformat()  # every other week, counted from this one
    if at is not None:
        draft.update(hour=at.hour, minute=at.minute)
    return await goto(update, context, draft, next_step(draft, KIND))


async def _set(update: Update, context: CadreContext, step: str, **values: Any) -> str | int:
    draft = await current(update, context)
    if draft is None:
        return ConversationHandler.END
    draft.update(values)
    return await goto(update, context, draft, next_step(draft, step))


@requires(EDITOR)
async def day_chosen(update: Update, context: CadreContext) -> str | int:
    await answer(update)
    _, _, arg = parse_cb(update.callback_query.data)
    day = parse_page(arg, 1) if 1 <= parse_page(arg, 1) <= 31 else 1
    return await _set(update, context, DAY, day=day)


@requires(EDITOR)
async def day_typed(update: Update, context: CadreContext) -> str | int:
    text = (update.effective_message.text or "").strip().rstrip("号日")
    if not text.isdecimal() or len(text) > 2 or not 1 <= int(text) <= 31:
        draft = await current(update, context)
        if draft is None:
            return ConversationHandler.END
        await hint(update, context, "sched.wrong.day")
        return await goto(update, context, draft, DAY)
    return await _set(update, context, DAY, day=int(text))


@requires(EDITOR)
async def nth_chosen(update: Update, context: CadreContext) -> str | int:
    await answer(update)
    _, _, arg = parse_cb(update.callback_query.data)
    nth = LAST if arg == "last" else int(arg) if arg in ("1", "2", "3", "4") else 1
    return await _set(update, context, NTH, nth=nth)


@requires(EDITOR)
async def weekday_chosen(update: Update, context: CadreContext) -> str | int:
    await answer(update)
    _, _, arg = parse_cb(update.callback_query.data)
    weekday = parse_page(arg) if parse_page(arg) <= 6 else 0
    return await _set(update, context, WEEKDAY, weekday=weekday)


@requires(EDITOR)
async def start_chosen(update: Update, context: CadreContext) -> str | int:
    await answer(update)
    _, _, arg = parse_cb(update.callback_query.data)
    try:
        anchor = date.fromisoformat(arg).isoformat()
    except ValueError:
        return await stale(update, context)
    return await _set(update, context, START, anchor=anchor)


@requires(EDITOR)
async def time_chosen(update: Update, context: CadreContext) -> str | int:
    await answer(update)
    _, _, arg = parse_cb(update.callback_query.data)
    hour, minute = (int(arg[:2]), int(arg[2:])) if len(arg) == 4 and arg.isascii() and arg.isdigit() else (9, 0)
    return await _set(update, context, TIME, hour=hour, minute=minute)


@requires(EDITOR)
async def time_typed(update: Update, context: CadreContext) -> str | int:
    tz = context.services.settings.tz
    now = scheduler.now_of(context.application).astimezone(tz)
    at = parse_time_of_day(update.effective_message.text or "", now, tz.key)
    if at is None:
        draft = await current(update, context)
        if draft is None:
            return ConversationHandler.END
        await hint(update, context, "sched.wrong.time")
        return await goto(update, context, draft, TIME)
    return await _set(update, context, TIME, hour=at.hour, minute=at.minute)


async def _text_field(update: Update, context: CadreContext, step: str, field: str) -> str | int:
    text = " ".join((update.effective_message.text or "").split())
    if len(text) > MAX_FIELD:
        draft = await current(update, context)
        if draft is None:
            return ConversationHandler.END
        await hint(update, context, "sched.wrong.too_long", max=MAX_FIELD)
        return await goto(update, context, draft, step)
    return await _set(update, context, step, **{field: text})


@requires(EDITOR)
async def place_typed(update: Update, context: CadreContext) -> str | int:
    return await _text_field(update, context, PLACE, "place")


@requires(EDITOR)
async def speaker_typed(update: Update, context: CadreContext) -> str | int:
    return await _text_field(update, context, SPEAKER, "speaker")


@requires(EDITOR)
async def skipped(update: Update, context: CadreContext) -> str | int:
    await answer(update)
    _, _, step = parse_cb(update.callback_query.data)
    if step not in (PLACE, SPEAKER):
        return await stale(update, context)
    return await _set(update, context, step, **{step: ""})


@requires(EDITOR)
@step(FLOW, stale, ack=False)
async def unit_pressed(update: Update, context: CadreContext, draft: Draft) -> str | int | None:
    _, action, arg = parse_cb(update.callback_query.data)
    result = await unit_picker.press(context, draft, action, arg)
    if result in ("empty", "denied"):
        await hint(update, context, "sched.wrong.no_units" if result == "empty" else "task.wrong.unit_denied")
        return None
    await answer(update)
    if result == "done":
        return await goto(update, context, draft, next_step(draft, UNITS))
    return await goto(update, context, draft, UNITS)


@requires(EDITOR)
@step(FLOW, stale)
async def lead_toggled(update: Update, context: CadreContext, draft: Draft) -> str | int:
    _, _, code = parse_cb(update.callback_query.data)
    toggle(draft, "leads", code, (lead.code for lead in LEAD_CHOICES))
    return await goto(update, context, draft, LEADS)


@requires(EDITOR)
@step(FLOW, stale)
async def to_review(update: Update, context: CadreContext, draft: Draft) -> str | int:
    _, action, arg = parse_cb(update.callback_query.data)
    if action == "aud" and arg in AUDIENCES:
        draft["audience"] = arg
    return await goto(update, context, draft, REVIEW)


@requires(EDITOR)
@step(FLOW, stale)
async def edit_chosen(update: Update, context: CadreContext, draft: Draft) -> str | int:
    _, _, step = parse_cb(update.callback_query.data)
    return await goto(update, context, draft, step if step in STEPS else REVIEW)
