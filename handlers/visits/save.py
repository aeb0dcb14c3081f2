"""The save of /visit: all or nothing, once per draft token (the engine ends the draft with
the save), and the line after it: the rolling-window coverage of the member's households."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.forms.core import Env, Retry, Saved, Screen
from bot.rules.coverage import Window
from handlers.visits.answers import my_household
from handlers.visits.ask import (
    DATE,
    DUE,
    HOUSEHOLD,
    OUTCOME,
    ROLES,
    day,
    due_of,
    expert_field,
    outcome_of,
    person_id,
)
from storage.visits import ROLE_CODES, Closing, NewVisit, VisitRefused


def first_missing(draft: dict[str, Any], now: datetime) -> tuple[str, str] | None:
    """The step to ask again and why, when the draft cannot be saved as it is."""
    if not draft.get("household_id"):
        return HOUSEHOLD, "visit.incomplete"
    for step, present in ((DATE, draft.get("date")), (ROLES, draft.get("roles")), ("concern", draft.get("concern"))):
        if not present:
            return step, "visit.incomplete"
    outcome = outcome_of(draft)
    if outcome not in ("solved", "follow_up", "none"):
        return OUTCOME, "visit.incomplete"
    if outcome == "follow_up":
        due = due_of(draft)
        if due is None or due <= now:
            return DUE, "form.wrong.date_past"
    return None


def new_visit(draft: dict[str, Any], member_id: int) -> NewVisit:
    concern = draft.get("concern") or {}
    due = due_of(draft)
    closes = tuple(
        # closed on a visit: the household was seen again about it (回访), and said whether satisfied
        Closing(int(fid), text=c.get("text"), voice=c.get("voice"), called_back=True, satisfied=c.get("satisfied"))
        for fid, c in (draft.get("closes") or {}).items()
    )
    return NewVisit(
        token=draft["token"],
        member_id=member_id,
        household_id=int(draft["household_id"]),
        visited_on=date.fromisoformat(draft["date"]),
        roles=tuple(code for code in ROLE_CODES if code in draft["roles"]),
        outcome=outcome_of(draft) or "none",
        concern_text=concern.get("text"),
        concern_voice=concern.get("voice"),
        concern_seconds=concern.get("seconds"),
        photo=draft.get("photo"),
        due_on=due.date() if due else None,
        due_at=due,
        closes=closes,
        expert_field=expert_field(draft),
    )


def forget_household(draft: dict[str, Any]) -> None:
    draft.update(household_id=None, head=None, closes={}, hh_page=0, has_followups=False)


async def save(env: Env, draft: dict[str, Any]) -> Saved | Retry:
    missing = first_missing(draft, env.now)
    if missing is not None:
        return Retry(*missing)
    status, why = await my_household(env, int(draft["household_id"]))
    if status is None:
        forget_household(draft)
        return Retry(HOUSEHOLD, why or "visit.not_yours")
    try:
        saved = await env.ctx.repos.visits.save(new_visit(draft, person_id(env)), now=env.now)
    except VisitRefused as exc:
        forget_household(draft)
        return Retry(HOUSEHOLD, f"visit.refused.{exc.reason}")
    return Saved(Screen(await saved_text(env, draft, saved.followup_id is not None)), record=saved.visit.id)


async def saved_text(env: Env, draft: dict[str, Any], followup: bool) -> str:
    t = env.t
    today = env.now.date()
    statuses = await env.ctx.repos.households.of_member(person_id(env))
    window = Window.last_days(today)  # the one definition of coverage (bot.rules.coverage)
    visited = sum(1 for s in statuses if s.last_visit in window)
    lines = [
        t(
            "visit.saved_in",
            household=draft["head"],
            date=day(env, date.fromisoformat(draft["date"])),
            visited=visited,
            total=len(statuses),
            days=window.days,
        )
    ]
    due = due_of(draft)
    if followup and due is not None:
        lines.append(t("visit.saved.followup", due=day(env, due.date())))
    if draft.get("closes"):
        lines.append(t.n("visit.saved.closed", len(draft["closes"])))
    return "\n".join(lines)
