"""The review's edit buttons and the save of /visit: all or nothing, once per draft token."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler

from bot.context import CadreContext
from bot.rules.coverage import Window
from bot.rules.dates import EXAMPLES_FUTURE
from handlers.auth import requires
from handlers.flow import answer, ask, draft_of, drop_draft, hint, parse_cb
from handlers.visits.answers import current, my_household, stale
from handlers.visits.ask import (
    CONCERN,
    DATE,
    DUE,
    FLOW,
    HOUSEHOLD,
    OUTCOME,
    PHOTO,
    ROLES,
    VISIT,
    goto,
)
from handlers.visits.common import reference_now
from storage.visits import ROLE_CODES, Closing, NewVisit, VisitRefused


# -- review and save -----------------------------------------------------------------------------
@requires(VISIT)
async def edit_chosen(update: Update, context: CadreContext) -> str | None:
    draft = await current(update, context)
    if draft is None:
        return None
    _, _, step = parse_cb(update.callback_query.data)
    if step not in (HOUSEHOLD, DATE, ROLES, CONCERN, OUTCOME, PHOTO):
        await hint(update, context, "visit.stale_in_flow")
        return None
    await answer(update)
    if step == HOUSEHOLD:
        draft["page"] = 0
    return await goto(update, context, draft, step)


def first_missing(draft: dict[str, Any], now: datetime) -> str | None:
    concern = draft.get("concern") or {}
    if not draft.get("household_id"):
        return HOUSEHOLD
    for step, present in ((DATE, draft.get("date")), (ROLES, draft.get("roles")), (CONCERN, concern)):
        if not present:
            return step
    if draft.get("outcome") not in ("solved", "follow_up", "none"):
        return OUTCOME
    if draft["outcome"] == "follow_up" and (not draft.get("due") or datetime.fromisoformat(draft["due"]) <= now):
        return DUE
    return None


def new_visit(draft: dict[str, Any], member_id: int) -> NewVisit:
    concern = draft.get("concern") or {}
    due = datetime.fromisoformat(draft["due"]) if draft.get("outcome") == "follow_up" else None
    closes = tuple(
        Closing(int(fid), text=c.get("text"), voice=c.get("voice")) for fid, c in (draft.get("closes") or {}).items()
    )
    return NewVisit(
        token=draft["token"],
        member_id=member_id,
        household_id=int(draft["household_id"]),
        visited_on=date.fromisoformat(draft["date"]),
        roles=tuple(code for code in ROLE_CODES if code in draft["roles"]),
        outcome=draft["outcome"],
        concern_text=concern.get("text"),
        concern_voice=concern.get("voice"),
        concern_seconds=concern.get("seconds"),
        photo=draft.get("photo"),
        due_on=due.date() if due else None,
        due_at=due,
        closes=closes,
    )


@requires(VISIT)
async def save(update: Update, context: CadreContext) -> str | int | None:
    draft = draft_of(context, FLOW)
    _, _, token = parse_cb(update.callback_query.data)
    if draft is None or draft.get("token") != token:
        return await stale(update, context)
    now = reference_now(update, context, draft)
    missing = first_missing(draft, now)
    if missing is not None:
        examples = context.t("list.sep").join(EXAMPLES_FUTURE)
        await hint(update, context, "visit.due.past" if missing == DUE else "visit.incomplete", examples=examples)
        return await goto(update, context, draft, missing)
    person = context.person
    assert person is not None
    if await my_household(update, context, int(draft["household_id"])) is None:
        draft.update(household_id=None, head=None, closes={}, page=0)
        return await goto(update, context, draft, HOUSEHOLD)
    try:
        saved = await context.repos.visits.save(new_visit(draft, person.id), now=now)
    except VisitRefused as exc:
        await hint(update, context, f"visit.refused.{exc.reason}")
        return await goto(update, context, draft, HOUSEHOLD)
    await answer(update)
    drop_draft(context, FLOW)
    await ask(update, context, await saved_text(context, draft, saved.followup_id is not None, now))
    return ConversationHandler.END


async def saved_text(context: CadreContext, draft: dict[str, Any], followup: bool, now: datetime) -> str:
    t = context.t
    today = now.date()
    statuses = await context.repos.households.of_member(context.person.id)  # type: ignore[union-attr]
    window = Window.last_days(today)  # the one definition of coverage (bot.rules.coverage)
    visited = sum(1 for s in statuses if s.last_visit in window)
    lines = [
        t(
            "visit.saved_in",
            household=draft["head"],
            date=t.date(date.fromisoformat(draft["date"])),
            visited=visited,
            total=len(statuses),
            days=window.days,
        )
    ]
    if followup:
        lines.append(t("visit.saved.followup", due=t.date(datetime.fromisoformat(draft["due"]).date())))
    if draft.get("closes"):
        lines.append(t.n("visit.saved.closed", len(draft["closes"])))
    return "\n".join(lines)

