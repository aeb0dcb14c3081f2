"""The questions of /visit, one per step, and the review screen.

Each ``ask_*`` shows its question (editing the pressed message, or sending a new one) from the
draft alone, so any step can be asked again: after 返回, an edit from the review, a wrong
answer, or when a paused draft is resumed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from telegram import Update

from bot.context import CadreContext
from bot.rules.dates import EXAMPLES_PAST
from handlers.auth import MEMBERS, command
from handlers.flow import Button, ask, cb, keyboard, push_step
from handlers.visits.common import (
    concern_of,
    followup_line,
    household_label,
    paged,
    reference_now,
    returned_reasons,
)
from storage.visits import ROLE_CODES

FLOW = "visit"
VISIT = command("visit", MEMBERS)
HOUSEHOLD, RESUME, FOLLOWUPS, FOLLOWUP_DONE = "household", "resume", "followups", "followup_done"
DATE, ROLES, CONCERN, OUTCOME, DUE, PHOTO, REVIEW = "date", "roles", "concern", "outcome", "due", "photo", "review"
STEPS = (HOUSEHOLD, FOLLOWUPS, FOLLOWUP_DONE, DATE, ROLES, CONCERN, OUTCOME, DUE, PHOTO, REVIEW)
MAX_HISTORY = 40


def nav_row(context: CadreContext) -> list[Button]:
    t = context.t
    return [(t("visit.btn.back"), cb(FLOW, "back")), (t("visit.btn.cancel"), cb(FLOW, "cancel"))]


def person_id(context: CadreContext) -> int:
    assert context.person is not None  # every callback is behind @requires
    return context.person.id


async def ask_household(update: Update, context: CadreContext, draft: dict[str, Any]) -> None:
    t = context.t
    today = reference_now(update, context, draft).date()
    statuses = await context.repos.households.of_member(person_id(context))
    buttons = [(household_label(t, s, today), cb(FLOW, "hh", s.household.id)) for s in statuses]
    rows, draft["page"] = paged(buttons, int(draft.get("page", 0)), FLOW, t)
    rows.append([(t("visit.btn.cancel"), cb(FLOW, "cancel"))])
    text = t("visit.ask.household", count=len(statuses)) if statuses else t("visit.no_households_left")
    await ask(update, context, text, keyboard(rows))


async def ask_resume(update: Update, context: CadreContext, draft: dict[str, Any]) -> None:
    t = context.t
    step = (draft.get("history") or [HOUSEHOLD])[-1]
    text = t("visit.ask.resume", household=draft.get("head") or "-", step=t(f"visit.step.{step}"))
    rows = [
        [(t("visit.btn.resume"), cb(FLOW, "resume", "go")), (t("visit.btn.restart"), cb(FLOW, "resume", "new"))],
        [(t("visit.btn.cancel"), cb(FLOW, "cancel"))],
    ]
    await ask(update, context, text, keyboard(rows), edit=False)


async def ask_followups(update: Update, context: CadreContext, draft: dict[str, Any]) -> None:
    t = context.t
    now = reference_now(update, context, draft)
    followups = await context.repos.visits.open_followups(household_id=draft["household_id"])
    closes: dict[str, Any] = draft.setdefault("closes", {})
    reasons = await returned_reasons(context, followups)
    lines, rows = [], []
    for n, followup in enumerate(followups, start=1):
        lines.append(followup_line(t, n, followup, now, returned=reasons.get(followup.id)))
        if str(followup.id) in closes:
            lines.append(t("visit.fu.will_close", done=closes[str(followup.id)].get("text") or t("visit.concern.voice_short")))
            rows.append([(t("visit.btn.fu_undo", n=n), cb(FLOW, "fu", followup.id))])
        else:
            rows.append([(t("visit.btn.fu_close", n=n), cb(FLOW, "fu", followup.id))])
    rows.append([(t("visit.btn.continue"), cb(FLOW, "next"))])
    rows.append(nav_row(context))
    text = t("visit.ask.followups", household=draft["head"], lines="\n".join(lines))
    await ask(update, context, text, keyboard(rows))


async def ask_followup_done(update: Update, context: CadreContext, draft: dict[str, Any]) -> None:
    t = context.t
    followup = await context.repos.visits.followup(int(draft.get("closing") or 0))
    concern = concern_of(t, followup) if followup is not None else "-"
    await ask(update, context, t("visit.ask.followup_done", concern=concern), keyboard([nav_row(context)]))


async def ask_date(update: Update, context: CadreContext, draft: dict[str, Any]) -> None:
    t = context.t
    rows = [
        [(t("visit.btn.today"), cb(FLOW, "date", 0)), (t("visit.btn.yesterday"), cb(FLOW, "date", 1))],
        nav_row(context),
    ]
    examples = t("list.sep").join(EXAMPLES_PAST)
    await ask(update, context, t("visit.ask.date", household=draft["head"], examples=examples), keyboard(rows))


async def ask_roles(update: Update, context: CadreContext, draft: dict[str, Any]) -> None:
    t = context.t
    chosen = set(draft.get("roles") or [])
    rows = []
    for code in ROLE_CODES:
        name = t(f"visit.role.{code}")
        rows.append([(t("visit.role.on", role=name) if code in chosen else name, cb(FLOW, "role", code))])
    rows.append([(t("visit.btn.next"), cb(FLOW, "roles_done"))])
    rows.append(nav_row(context))
    await ask(update, context, t("visit.ask.roles"), keyboard(rows))


async def ask_concern(update: Update, context: CadreContext, draft: dict[str, Any]) -> None:
    t = context.t
    rows = [[(t("visit.btn.no_concern"), cb(FLOW, "concern", "none"))], nav_row(context)]
    await ask(update, context, t("visit.ask.concern"), keyboard(rows))


async def ask_outcome(update: Update, context: CadreContext, draft: dict[str, Any]) -> None:
    t = context.t
    rows = [
        [(t("visit.outcome.solved"), cb(FLOW, "out", "solved")), (t("visit.outcome.follow_up"), cb(FLOW, "out", "follow_up"))],
        nav_row(context),
    ]
    await ask(update, context, t("visit.ask.outcome", concern=concern_text(context, draft)), keyboard(rows))


async def ask_due(update: Update, context: CadreContext, draft: dict[str, Any]) -> None:
    await ask(update, context, context.t("visit.ask.due"), keyboard([nav_row(context)]))


async def ask_photo(update: Update, context: CadreContext, draft: dict[str, Any]) -> None:
    t = context.t
    rows = [[(t("visit.btn.skip_photo"), cb(FLOW, "photo", "skip"))]]
    if draft.get("photo"):
        rows = [[(t("visit.btn.keep_photo"), cb(FLOW, "photo", "keep")), (t("visit.btn.drop_photo"), cb(FLOW, "photo", "drop"))]]
    rows.append(nav_row(context))
    await ask(update, context, t("visit.ask.photo"), keyboard(rows))


def concern_text(context: CadreContext, draft: dict[str, Any]) -> str:
    t = context.t
    concern = draft.get("concern") or {}
    if concern.get("text"):
        return str(concern["text"])
    if concern.get("voice"):
        return t("visit.concern.voice", seconds=concern.get("seconds") or 0)
    return t("visit.concern.none_short")


def outcome_text(context: CadreContext, draft: dict[str, Any]) -> str:
    t = context.t
    outcome = draft.get("outcome") or "none"
    if outcome == "follow_up" and draft.get("due"):
        due = datetime.fromisoformat(draft["due"]).date()
        return t("visit.outcome.follow_up_by", due=t.date(due))
    return t(f"visit.outcome.{outcome}")


def review_text(context: CadreContext, draft: dict[str, Any]) -> str:
    t = context.t
    roles = t("list.sep").join(t(f"visit.role.{code}") for code in ROLE_CODES if code in (draft.get("roles") or []))
    text = t(
        "visit.review",
        household=draft.get("head") or "-",
        date=t.date(date.fromisoformat(draft["date"])) if draft.get("date") else "-",
        roles=roles or "-",
        concern=concern_text(context, draft),
        outcome=outcome_text(context, draft),
        photo=t("visit.photo.yes") if draft.get("photo") else t("visit.photo.no"),
    )
    for closing in (draft.get("closes") or {}).values():
        done = closing.get("text") or t("visit.concern.voice_short")
        text += "\n" + t("visit.review.closing", concern=closing.get("concern") or "-", done=done)
    return text


async def ask_review(update: Update, context: CadreContext, draft: dict[str, Any]) -> None:
    t = context.t
    draft["reviewed"] = True
    edit = [
        (t("visit.btn.edit_household"), cb(FLOW, "edit", HOUSEHOLD)),
        (t("visit.btn.edit_date"), cb(FLOW, "edit", DATE)),
        (t("visit.btn.edit_roles"), cb(FLOW, "edit", ROLES)),
        (t("visit.btn.edit_concern"), cb(FLOW, "edit", CONCERN)),
    ]
    if (draft.get("concern") or {}).get("none") is None:
        edit.append((t("visit.btn.edit_outcome"), cb(FLOW, "edit", OUTCOME)))
    edit.append((t("visit.btn.edit_photo"), cb(FLOW, "edit", PHOTO)))
    rows = [[(t("visit.btn.save"), cb(FLOW, "save", draft["token"]))]]
    rows += [edit[i : i + 2] for i in range(0, len(edit), 2)]
    rows.append(nav_row(context))
    await ask(update, context, review_text(context, draft), keyboard(rows))


ASKERS: dict[str, Callable[[Update, CadreContext, dict[str, Any]], Awaitable[None]]] = {
    HOUSEHOLD: ask_household,
    RESUME: ask_resume,
    FOLLOWUPS: ask_followups,
    FOLLOWUP_DONE: ask_followup_done,
    DATE: ask_date,
    ROLES: ask_roles,
    CONCERN: ask_concern,
    OUTCOME: ask_outcome,
    DUE: ask_due,
    PHOTO: ask_photo,
    REVIEW: ask_review,
}


async def goto(update: Update, context: CadreContext, draft: dict[str, Any], step: str) -> str:
    """Ask ``step`` and make it the conversation's state (remembered for 返回)."""
    if step != RESUME:
        push_step(draft, step)
        del draft["history"][:-MAX_HISTORY]
    await ASKERS[step](update, context, draft)
    return step


def next_step(draft: dict[str, Any], done: str) -> str:
    """Where to go after answering ``done``; back to the review once it has been shown."""
    reviewed = bool(draft.get("reviewed"))
    after = REVIEW if reviewed else None
    if done == HOUSEHOLD:
        return FOLLOWUPS if draft.get("has_followups") else after or DATE
    if done == FOLLOWUP_DONE:
        return FOLLOWUPS
    if done == FOLLOWUPS:
        return after or DATE
    if done == DATE:
        return after or ROLES
    if done == ROLES:
        return after or CONCERN
    if done == CONCERN:
        if (draft.get("concern") or {}).get("none"):
            return after or PHOTO
        if reviewed and draft.get("outcome") in ("solved", "follow_up"):
            return REVIEW
        return OUTCOME
    if done == OUTCOME:
        if draft.get("outcome") == "follow_up":
            return DUE
        return after or PHOTO
    if done == DUE:
        return after or PHOTO
    return REVIEW
