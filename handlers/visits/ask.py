"""The questions of /visit that are its own (Custom steps of the form in
:mod:`handlers.visits.conversation`) and the review: each builds its screen from the draft
alone, so the engine can ask it again after 返回, an edit from the review, a wrong answer or a
resume. The engine adds the progress line and the navigation row (返回, 跳过, 取消).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from bot.forms.core import Button, Choice, Env, Screen, day_label, payload
from bot.rules.dates import EXAMPLES_PAST
from handlers.auth import MEMBERS, command
from handlers.visits.common import (
    PAGE_SIZE,
    concern_of,
    followup_line,
    household_label,
    returned_reasons,
)
from storage.visits import EXPERT_FIELDS, ROLE_CODES

FLOW = "visit"
OFFER = "visit_offer"  # user_data: a visit offered from one message (handlers.reports.from_text)
VISIT = command("visit", MEMBERS)
HOUSEHOLD, FOLLOWUPS, FOLLOWUP_DONE = "household", "followups", "followup_done"
DATE, ROLES, CONCERN, OUTCOME, DUE, PHOTO, REVIEW = "date", "roles", "concern", "outcome", "due", "photo", "review"
# The steps with a catalog family of their own (visit.step.*, visit.wrong.*).
STEPS = (HOUSEHOLD, FOLLOWUPS, FOLLOWUP_DONE, DATE, ROLES, CONCERN, OUTCOME, DUE, PHOTO, REVIEW)
# Parsing vocabulary, not UI text: what the quick buttons of the date steps stand for.
DATE_QUICK = (("today", "visit.btn.today", "今天"), ("yesterday", "visit.btn.yesterday", "昨天"))
DUE_QUICK = (
    ("tomorrow", "visit.quick.tomorrow", "明天"),
    ("3d", "visit.quick.in3days", "3天后"),
    ("week", "visit.quick.in_a_week", "7天后"),
    ("eom", "visit.quick.eom", "月底前"),
    ("eonm", "visit.quick.eonm", "下月底前"),
)


# The expert service groups' names (粮油, 蔬菜, 果树, 畜牧, 林水), one catalog key each.
EXPERT_LABELS = {
    "grain": "visit.expert.grain",
    "vegetables": "visit.expert.vegetables",
    "fruit": "visit.expert.fruit",
    "livestock": "visit.expert.livestock",
    "forestry": "visit.expert.forestry",
}


def day(env: Env, value: date) -> str:
    """11月21日(周六), the engine's one date format (the year only when it is not this year)."""
    return day_label(env.t, datetime.combine(value, time(12), tzinfo=env.now.tzinfo), env.now)


def person_id(env: Env) -> int:
    person = env.ctx.person
    if person is None:  # the adapter checks the command's roles before any step runs
        raise LookupError("no person")
    return person.id


def quick_row(quick: tuple[tuple[str, str, str], ...], t: Any) -> list[Button]:
    return [Button(t(label), payload(FLOW, "q", code)) for code, label, _ in quick]


async def show_household(env: Env, draft: dict[str, Any]) -> Screen:
    """My households, longest unvisited first (🔔: an open follow-up), PAGE_SIZE a page."""
    t = env.t
    statuses = await env.ctx.repos.households.of_member(person_id(env))
    pages = max(1, -(-len(statuses) // PAGE_SIZE))
    page = min(max(int(draft.get("hh_page") or 0), 0), pages - 1)
    draft["hh_page"] = page
    shown = statuses[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = [[Button(household_label(t, s, env.now.date()), payload(FLOW, "hh", s.household.id))] for s in shown]
    pager = []
    if page > 0:
        pager.append(Button(t("form.btn.prev"), payload(FLOW, "page", page - 1)))
    if page < pages - 1:
        pager.append(Button(t("form.btn.more"), payload(FLOW, "page", page + 1)))
    if pager:
        rows.append(pager)
    text = t("visit.ask.household", count=len(statuses)) if statuses else t("visit.no_households_left")
    return Screen(text, rows)


async def show_followups(env: Env, draft: dict[str, Any]) -> Screen:
    """The household's open follow-ups, each with ✅ 第N项这次办结了 (or ↩ to take it back)."""
    t = env.t
    followups = await env.ctx.repos.visits.open_followups(household_id=draft["household_id"])
    closes: dict[str, Any] = draft.setdefault("closes", {})
    reasons = await returned_reasons(env.ctx, followups)
    lines, rows = [], []
    for n, followup in enumerate(followups, start=1):
        lines.append(followup_line(t, n, followup, env.now, returned=reasons.get(followup.id)))
        if str(followup.id) in closes:
            lines.append(t("visit.fu.will_close", done=closes[str(followup.id)].get("text") or t("visit.concern.voice_short")))
            rows.append([Button(t("visit.btn.fu_undo", n=n), payload(FLOW, "fu", followup.id))])
        else:
            rows.append([Button(t("visit.btn.fu_close", n=n), payload(FLOW, "fu", followup.id))])
    rows.append([Button(t("visit.btn.continue"), payload(FLOW, "next"))])
    return Screen(t("visit.ask.followups", household=draft["head"], lines="\n".join(lines)), rows)


async def show_followup_done(env: Env, draft: dict[str, Any]) -> Screen:
    followup = await env.ctx.repos.visits.followup(int(draft.get("closing") or 0))
    concern = concern_of(env.t, followup) if followup is not None else "-"
    return Screen(env.t("visit.ask.followup_done", concern=concern))


async def show_fu_satisfied(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    rows = [[Button(t("visit.btn.satisfied"), payload(FLOW, "sat", "yes")), Button(t("visit.btn.unsatisfied"), payload(FLOW, "sat", "no"))],
            [Button(t("visit.btn.not_asked"), payload(FLOW, "sat", "skip"))]]
    return Screen(t("visit.ask.fu_satisfied", household=draft.get("head") or "-"), rows)


async def show_date(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    text = t("visit.ask.date", household=draft["head"], examples=t("list.sep").join(EXAMPLES_PAST))
    return Screen(text, [quick_row(DATE_QUICK, t)])


async def show_concern(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    return Screen(t("visit.ask.concern"), [[Button(t("visit.btn.no_concern"), payload(FLOW, "none"))]])


async def show_due(env: Env, draft: dict[str, Any]) -> Screen:
    return Screen(env.t("visit.ask.due"), [quick_row(DUE_QUICK[:3], env.t), quick_row(DUE_QUICK[3:], env.t)])


async def show_photo(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    rows = []
    if draft.get("photo"):
        rows = [[Button(t("visit.btn.keep_photo"), payload(FLOW, "keep")), Button(t("visit.btn.drop_photo"), payload(FLOW, "drop"))]]
    return Screen(t("visit.ask.photo"), rows)


async def roles(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(code, env.t(f"visit.role.{code}")) for code in ROLE_CODES]


async def expert_fields(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(code, env.t(EXPERT_LABELS[code])) for code in EXPERT_FIELDS]


def expert(draft: dict[str, Any]) -> bool:
    """专家服务联络 is among the roles: which expert group is asked too."""
    return "expert" in (draft.get("roles") or [])


def expert_field(draft: dict[str, Any]) -> str | None:
    field = draft.get("field")
    return field if expert(draft) and field in EXPERT_FIELDS else None


def roles_text(t: Any, draft: dict[str, Any]) -> str:
    names = []
    for code in ROLE_CODES:
        if code not in (draft.get("roles") or []):
            continue
        name = t(f"visit.role.{code}")
        field = expert_field(draft) if code == "expert" else None
        names.append(t("visit.role.expert_in", role=name, field=t(EXPERT_LABELS[field])) if field else name)
    return t("list.sep").join(names) or "-"


async def show_outcome(env: Env, draft: dict[str, Any]) -> Screen:
    """诉求:… 这个诉求解决了吗? (the 诉求 from the draft, so an old draft is asked the same)"""
    t = env.t
    rows = [[Button(t(f"visit.outcome.{code}"), payload(FLOW, "pick", code)) for code in ("solved", "follow_up")]]
    return Screen(t("visit.ask.outcome", concern=concern_text(t, draft)), rows)


# -- what the review and the saved message show ---------------------------------------------------
def no_concern(draft: dict[str, Any]) -> bool:
    return bool((draft.get("concern") or {}).get("none"))


def concern_text(t: Any, draft: dict[str, Any]) -> str:
    concern = draft.get("concern") or {}
    if concern.get("text"):
        return str(concern["text"])
    if concern.get("voice"):
        return t("visit.concern.voice", seconds=concern.get("seconds") or 0)
    return t("visit.concern.none_short")


def outcome_of(draft: dict[str, Any]) -> str | None:
    """solved, follow_up, none (nothing raised) or None (not answered yet)."""
    return "none" if no_concern(draft) else draft.get("outcome")


def due_of(draft: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(draft["due"]) if outcome_of(draft) == "follow_up" and draft.get("due") else None


def outcome_text(env: Env, draft: dict[str, Any]) -> str:
    t = env.t
    outcome = outcome_of(draft) or "none"
    due = due_of(draft)
    if due is not None:
        return t("visit.outcome.follow_up_by", due=day_label(t, due, env.now))
    return t(f"visit.outcome.{outcome}")


# The review's lines (by their placeholder in visit.review) and the steps that answer each: a
# line is marked ✍️ while one of its steps was read from the member's message (the engine's
# ``filled``) and not answered since, as /report's review marks its lines.
REVIEW_LINES = {
    "household": ("household",),
    "date": ("date",),
    "roles": ("roles", "field"),
    "concern": ("concern",),
    "outcome": ("outcome", "due"),
    "photo": ("photo",),
}
# The visit's answers never hold this character: it stands for each value while the marked
# lines are found, so the template may put a value anywhere in its line, in any language.
SLOT = "\x00"


def marked_lines(draft: dict[str, Any]) -> set[str]:
    """The review lines (REVIEW_LINES' keys) whose answers were read from the message."""
    filled = set(draft.get("filled") or ())
    return {line for line, steps in REVIEW_LINES.items() if filled.intersection(steps)}


def forget_read(draft: dict[str, Any], *steps: str) -> None:
    """These answers were dropped (an earlier one changed): no longer as read, asked again."""
    if draft.get("filled"):
        draft["filled"] = [name for name in draft["filled"] if name not in steps]


async def review(env: Env, draft: dict[str, Any]) -> str:
    t = env.t
    values = {
        "household": draft.get("head") or "-",
        "date": day(env, date.fromisoformat(draft["date"])) if draft.get("date") else "-",
        "roles": roles_text(t, draft),
        "concern": concern_text(t, draft),
        "outcome": outcome_text(env, draft),
        "photo": t("visit.photo.yes") if draft.get("photo") else t("visit.photo.no"),
    }
    marked = marked_lines(draft)
    # the template filled with a slot per value, so that a marked value's line is found in any
    # language; then the values go in
    lines = t("visit.review", **{name: f"{SLOT}{name}{SLOT}" for name in values}).split("\n")
    for n, line in enumerate(lines):
        if any(f"{SLOT}{name}{SLOT}" in line for name in marked):
            lines[n] = t("visit.line.marked", line=line)
    text = "\n".join(lines)
    for name, value in values.items():
        text = text.replace(f"{SLOT}{name}{SLOT}", str(value).replace(SLOT, ""))
    for closing in (draft.get("closes") or {}).values():
        done = closing.get("text") or t("visit.concern.voice_short")
        key = {True: "visit.review.closing_satisfied", False: "visit.review.closing_unsatisfied"}.get(
            closing.get("satisfied"), "visit.review.closing")
        text += "\n" + t(key, concern=closing.get("concern") or "-", done=done)
    if marked:  # some answers were read from the member's message: say so
        text += "\n\n" + t("visit.review.legend")
    return text


# -- the call-back (回访) when a follow-up is closed: the hook for /followups' closing form -------
async def yes_no(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [("yes", env.t("visit.callback.yes")), ("no", env.t("visit.callback.no"))]


async def satisfaction(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [("yes", env.t("visit.btn.satisfied")), ("no", env.t("visit.btn.unsatisfied"))]


def callback_steps() -> list[Choice]:
    """Two steps for any form that closes a follow-up: 回访 — was the household called back
    about it? and, if so, is it satisfied? Read the answers with :func:`callback_of` and pass
    them to ``repos.visits.close_followup(called_back=..., satisfied=...)``. (A follow-up
    closed on a visit asks only the second: the visit is the call-back.)"""
    return [
        Choice("called_back", ask="visit.ask.called_back", label="visit.field.called_back", options=yes_no),
        # optional: the household may not have said (跳过: not recorded)
        Choice("satisfied", ask="visit.ask.satisfied", label="visit.field.satisfied", options=satisfaction,
               when=lambda d: d.get("called_back") == "yes", optional=True, substep=True),
    ]


def callback_of(draft: dict[str, Any]) -> tuple[bool | None, bool | None]:
    """(called_back, satisfied) from the answers of :func:`callback_steps`; None: not asked."""
    called = {"yes": True, "no": False}.get(draft.get("called_back") or "")
    satisfied = {"yes": True, "no": False}.get(draft.get("satisfied") or "") if called else None
    return called, satisfied
