"""The answers of /visit after the household is chosen: follow-ups closed on the visit, date,
roles, 诉求, outcome, follow-up date, photo (see :mod:`handlers.visits.conversation`; the review's edit
buttons and the save are in :mod:`handlers.visits.save`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import Update

from bot.context import CadreContext
from bot.rules.dates import EXAMPLES_FUTURE, EXAMPLES_PAST, parse_when
from handlers.auth import requires
from handlers.flow import Draft, answer, draft_of, hint, parse_cb, step
from handlers.visits.ask import (
    CONCERN,
    DATE,
    DUE,
    FLOW,
    FOLLOWUP_DONE,
    FOLLOWUPS,
    OUTCOME,
    PHOTO,
    ROLES,
    VISIT,
    goto,
    next_step,
)
from handlers.visits.common import concern_of, reference_now
from storage.visits import ROLE_CODES, HouseholdStatus

MAX_TEXT = 1000
MAX_FOLLOWUP_DAYS = 183  # a follow-up further away is most likely a misread date
# Parsing vocabulary (what users type), not UI text:
NONE_WORDS = frozenset({"无", "没有", "无诉求", "没", "没啥", "没什么", "none", "no", "nothing"})
SKIP_WORDS = frozenset({"跳过", "不要", "不用", "没有", "无", "不拍", "skip", "no"})


def words(text: str | None) -> str:
    return (text or "").strip().strip("。.!！").lower()


async def stale(update: Update, context: CadreContext) -> None:
    """A button of an older message (or of a finished or paused visit)."""
    query = update.callback_query
    if query is None:
        return None
    _, action, arg = parse_cb(query.data)
    if action == "save" and await context.repos.visits.by_token(arg) is not None:
        await query.answer(context.t("visit.already_saved"), show_alert=True)
    elif draft_of(context, FLOW) is not None:
        await query.answer(context.t("visit.stale_in_flow"), show_alert=True)
    else:
        await query.answer(context.t("visit.stale"), show_alert=True)
    return None


async def my_household(update: Update, context: CadreContext, household_id: int) -> HouseholdStatus | None:
    """The household if it is the user's own and not archived; otherwise say why and None."""
    status = await context.repos.households.status(household_id)
    if status is None or status.household.member_id != context.person.id:  # type: ignore[union-attr]
        await hint(update, context, "visit.not_yours")
        return None
    if status.household.archived:
        await hint(update, context, "visit.archived")
        return None
    return status


async def current(update: Update, context: CadreContext) -> dict[str, Any] | None:
    draft = draft_of(context, FLOW)
    if draft is None:
        await stale(update, context)
    return draft


# -- follow-ups closed on this visit -----------------------------------------------------------
@requires(VISIT)
@step(FLOW, stale, ack=False)
async def followup_resolution(update: Update, context: CadreContext, draft: Draft) -> str | None:
    followup = await context.repos.visits.followup(int(draft.pop("closing", 0) or 0))
    if followup is None or followup.household_id != draft.get("household_id"):
        return await goto(update, context, draft, FOLLOWUPS)
    message = update.message
    closing: dict[str, Any] = {"concern": concern_of(context.t, followup)}
    if message.voice is not None:
        closing["voice"] = message.voice.file_id
    else:
        closing["text"] = (message.text or "").strip()[:MAX_TEXT]
    draft.setdefault("closes", {})[str(followup.id)] = closing
    reference_now(update, context, draft)
    return await goto(update, context, draft, next_step(draft, FOLLOWUP_DONE))


# -- date ----------------------------------------------------------------------------------------
@requires(VISIT)
@step(FLOW, stale, ack=False)
async def date_button(update: Update, context: CadreContext, draft: Draft) -> str | None:
    await answer(update)
    _, _, arg = parse_cb(update.callback_query.data)
    today = reference_now(update, context, draft).date()
    draft["date"] = (today - timedelta(days=1 if arg == "1" else 0)).isoformat()
    return await goto(update, context, draft, next_step(draft, DATE))


@requires(VISIT)
@step(FLOW, stale, ack=False)
async def date_typed(update: Update, context: CadreContext, draft: Draft) -> str | None:
    settings = context.services.settings
    now = reference_now(update, context, draft)
    max_age = settings.report_max_age_days
    when = parse_when(update.message.text, now, want="past", max_age_days=max_age, tz=settings.tz_name)
    if when.day is None:
        key = {"future": "visit.date.future", "too_old": "visit.date.too_old"}.get(when.reason or "", "visit.date.unknown")
        await hint(update, context, key, days=max_age, examples=context.t("list.sep").join(EXAMPLES_PAST))
        return await goto(update, context, draft, DATE)
    draft["date"] = when.day.isoformat()
    return await goto(update, context, draft, next_step(draft, DATE))


# -- roles ---------------------------------------------------------------------------------------
@requires(VISIT)
@step(FLOW, stale, ack=False)
async def role_toggled(update: Update, context: CadreContext, draft: Draft) -> str | None:
    _, _, code = parse_cb(update.callback_query.data)
    if code not in ROLE_CODES:
        await hint(update, context, "visit.stale_in_flow")
        return None
    await answer(update)
    roles = [r for r in draft.get("roles") or [] if r in ROLE_CODES]
    draft["roles"] = [r for r in roles if r != code] if code in roles else [*roles, code]
    return await goto(update, context, draft, ROLES)


@requires(VISIT)
@step(FLOW, stale, ack=False)
async def roles_done(update: Update, context: CadreContext, draft: Draft) -> str | None:
    if not draft.get("roles"):
        await hint(update, context, "visit.roles.none")
        return None
    await answer(update)
    return await goto(update, context, draft, next_step(draft, ROLES))


# -- 诉求 and outcome ------------------------------------------------------------------------------
async def concern_given(update: Update, context: CadreContext, draft: dict[str, Any], concern: dict[str, Any]) -> str:
    draft["concern"] = concern
    if concern.get("none"):
        draft["outcome"], draft["due"] = "none", None
    elif draft.get("outcome") == "none":
        draft["outcome"] = None
    return await goto(update, context, draft, next_step(draft, CONCERN))


@requires(VISIT)
@step(FLOW, stale, ack=False)
async def concern_none(update: Update, context: CadreContext, draft: Draft) -> str | None:
    await answer(update)
    return await concern_given(update, context, draft, {"none": True})


@requires(VISIT)
@step(FLOW, stale, ack=False)
async def concern_typed(update: Update, context: CadreContext, draft: Draft) -> str | None:
    reference_now(update, context, draft)
    text = (update.message.text or "").strip()
    if words(text) in NONE_WORDS:
        return await concern_given(update, context, draft, {"none": True})
    return await concern_given(update, context, draft, {"text": text[:MAX_TEXT]})


@requires(VISIT)
@step(FLOW, stale, ack=False)
async def concern_voice(update: Update, context: CadreContext, draft: Draft) -> str | None:
    """A voice note is the 诉求 itself (kept by file_id), for those who would rather talk."""
    reference_now(update, context, draft)
    audio = update.message.voice or update.message.audio
    return await concern_given(update, context, draft, {"voice": audio.file_id, "seconds": audio.duration or 0})


@requires(VISIT)
@step(FLOW, stale, ack=False)
async def outcome_chosen(update: Update, context: CadreContext, draft: Draft) -> str | None:
    _, _, outcome = parse_cb(update.callback_query.data)
    if outcome not in ("solved", "follow_up"):
        await hint(update, context, "visit.stale_in_flow")
        return None
    await answer(update)
    draft["outcome"] = outcome
    if outcome == "solved":
        draft["due"] = None
    return await goto(update, context, draft, next_step(draft, OUTCOME))


@requires(VISIT)
@step(FLOW, stale, ack=False)
async def due_typed(update: Update, context: CadreContext, draft: Draft) -> str | None:
    now = reference_now(update, context, draft)
    t = context.t
    when = parse_when(update.message.text, now, want="future", tz=context.services.settings.tz_name)
    examples = t("list.sep").join(EXAMPLES_FUTURE)
    if when.value is None:
        key = "visit.due.past" if when.reason == "past" else "visit.due.unknown"
        await hint(update, context, key, examples=examples)
        return await goto(update, context, draft, DUE)
    if (when.value.date() - now.date()).days > MAX_FOLLOWUP_DAYS:
        await hint(update, context, "visit.due.too_far", due=t.date(when.value.date()), examples=examples)
        return await goto(update, context, draft, DUE)
    draft["due"] = when.value.isoformat()
    return await goto(update, context, draft, next_step(draft, DUE))


# -- photo ---------------------------------------------------------------------------------------
@requires(VISIT)
@step(FLOW, stale, ack=False)
async def photo_received(update: Update, context: CadreContext, draft: Draft) -> str | None:
    reference_now(update, context, draft)
    draft["photo"] = update.message.photo[-1].file_id
    return await goto(update, context, draft, next_step(draft, PHOTO))


@requires(VISIT)
@step(FLOW, stale, ack=False)
async def photo_button(update: Update, context: CadreContext, draft: Draft) -> str | None:
    await answer(update)
    _, _, arg = parse_cb(update.callback_query.data)
    if arg in ("skip", "drop"):
        draft["photo"] = None
    return await goto(update, context, draft, next_step(draft, PHOTO))


@requires(VISIT)
@step(FLOW, stale, ack=False)
async def photo_text(update: Update, context: CadreContext, draft: Draft) -> str | None:
    reference_now(update, context, draft)
    if words(update.message.text) in SKIP_WORDS:
        draft["photo"] = None
        return await goto(update, context, draft, next_step(draft, PHOTO))
    await hint(update, context, "visit.wrong.photo")
    return await goto(update, context, draft, PHOTO)
