"""The answers of /visit's own steps (Custom steps of the form in
:mod:`handlers.visits.conversation`): the household (only the member's own, checked on every
press, so a forged payload is refused), the follow-ups closed on this visit, the date, the
诉求 (text, voice or 无), the follow-up date (future, within half a year) and the photo.

Each gets the input the engine did not handle itself (back, skip, cancel, commands are the
engine's) and says what happened as an :class:`~bot.forms.core.Outcome`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.forms.core import Env, Input, Outcome
from bot.rules.dates import EXAMPLES_FUTURE, EXAMPLES_PAST, parse_when
from handlers.visits.ask import DATE_QUICK, DUE_QUICK, concern_text, day, forget_read, person_id
from handlers.visits.common import concern_of, my_int
from storage.visits import HouseholdStatus

MAX_TEXT = 1000
MAX_FOLLOWUP_DAYS = 183  # a follow-up further away is most likely a misread date
# Parsing vocabulary (what users type), not UI text:
NONE_WORDS = frozenset({"无", "没有", "无诉求", "没", "没啥", "没什么", "none", "no", "nothing"})
SKIP_WORDS = frozenset({"跳过", "不要", "不用", "没有", "无", "不拍", "skip", "no"})


def words(text: str | None) -> str:
    return (text or "").strip().strip("。.!！").lower()


def stale(env: Env) -> Outcome:
    """A button this question does not have (an older message's, or forged)."""
    return Outcome(alert=env.t("form.stale"))


def wrong(env: Env, step: str, inp: Input) -> Outcome:
    key = f"visit.wrong.{step}"
    return Outcome(alert=env.t(key)) if inp.kind == "button" else Outcome(note=env.t(key))


async def my_household(env: Env, household_id: int) -> tuple[HouseholdStatus | None, str | None]:
    """The household if it is the user's own and not archived; else None and why (a key)."""
    status = await env.ctx.repos.households.status(household_id)
    if status is None or status.household.member_id != person_id(env):
        return None, "visit.not_yours"
    if status.household.archived:
        return None, "visit.archived"
    return status, None


# -- the household --------------------------------------------------------------------------------
async def household(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.action == "page":
        draft["hh_page"] = my_int(inp.arg)
        return Outcome()
    if inp.action != "hh":
        return stale(env)
    status, why = await my_household(env, my_int(inp.arg))
    if status is None:
        return Outcome(alert=env.t(why or "visit.not_yours"))  # asked again: the list may have changed
    if draft.get("household_id") != status.household.id:
        draft["closes"] = {}
    draft.update(household_id=status.household.id, head=status.household.head, has_followups=status.open_followups > 0)
    return Outcome(done=True)


# -- follow-ups closed on this visit ----------------------------------------------------------------
async def followups(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    """✅ 第N项已办结: ask what was done (then back here); pressed again: not closed after all."""
    if inp.action == "next":
        return Outcome(done=True)
    if inp.action != "fu":
        return stale(env)
    followup = await env.ctx.repos.visits.followup(my_int(inp.arg))
    if followup is None or followup.household_id != draft.get("household_id") or followup.closed_at:
        return Outcome(alert=env.t("visit.fu.not_here"))
    closes = draft.setdefault("closes", {})
    if closes.pop(str(followup.id), None) is not None:
        return Outcome()
    draft["closing"] = followup.id
    return Outcome(done=True, then="followup_done")


async def followup_done(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind not in ("text", "voice"):
        return wrong(env, "followup_done", inp)
    followup = await env.ctx.repos.visits.followup(int(draft.get("closing") or 0))
    if followup is None or followup.household_id != draft.get("household_id"):
        draft.pop("closing", None)
        return Outcome(done=True, then="followups")
    closing: dict[str, Any] = {"concern": concern_of(env.t, followup)}
    if inp.kind == "voice":
        closing["voice"] = inp.voice
    else:
        closing["text"] = inp.text.strip()[:MAX_TEXT]
    draft.setdefault("closes", {})[str(followup.id)] = closing
    return Outcome(done=True, then="fu_satisfied")


async def fu_satisfied(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    """The call-back (回访) of a follow-up closed on a visit: the household was seen again, and
    is it satisfied with how it was done? (没问: not recorded.)"""
    if inp.action != "sat" or inp.arg not in ("yes", "no", "skip"):
        return stale(env) if inp.kind == "button" else wrong(env, "followups", inp)
    closing = (draft.get("closes") or {}).get(str(draft.pop("closing", "")))
    if closing is not None:
        closing["satisfied"] = {"yes": True, "no": False}.get(inp.arg)
    return Outcome(done=True, then="followups")


# -- date ---------------------------------------------------------------------------------------------
async def visit_date(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    today = env.now.date()
    if inp.kind == "button":
        if inp.action != "q" or inp.arg not in {code for code, _, _ in DATE_QUICK}:
            return stale(env)
        visited = today - timedelta(days=1 if inp.arg == "yesterday" else 0)
    elif inp.kind == "text":
        max_age = env.ctx.services.settings.report_max_age_days
        when = parse_when(inp.text, env.now, want="past", max_age_days=max_age, tz=env.tz)
        if when.day is None:
            key = {"future": "visit.date.future", "too_old": "visit.date.too_old"}.get(when.reason or "", "visit.date.unknown")
            return Outcome(note=env.t(key, days=max_age, examples=env.t("list.sep").join(EXAMPLES_PAST)))
        visited = when.day
    else:
        return wrong(env, "date", inp)
    draft["date"] = visited.isoformat()
    return Outcome(done=True, echo=day(env, visited) if inp.kind == "text" else "")


# -- 诉求 ------------------------------------------------------------------------------------------------
async def concern(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    """Text, a voice note (kept by file id, for those who would rather talk), or 无."""
    if inp.kind == "button" and inp.action != "none":
        return stale(env)
    if inp.kind == "button" or (inp.kind == "text" and words(inp.text) in NONE_WORDS):
        given: dict[str, Any] = {"none": True}
    elif inp.kind == "text":
        given = {"text": inp.text.strip()[:MAX_TEXT]}
    elif inp.kind == "voice":
        given = {"voice": inp.voice, "seconds": inp.seconds}
    else:
        return wrong(env, "concern", inp)
    was_none = bool((draft.get("concern") or {}).get("none"))
    draft["concern"] = given
    if given.get("none") or was_none:  # nothing raised: no outcome; raised now: ask it afresh
        draft.pop("outcome", None)
        draft.pop("due", None)
        forget_read(draft, "outcome", "due")
    return Outcome(done=True, echo=concern_text(env.t, draft) if inp.kind != "button" else "")


async def outcome(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.action != "pick" or inp.arg not in ("solved", "follow_up"):
        return stale(env)
    if draft.get("outcome") != inp.arg:  # a due date read with the old outcome is asked again
        forget_read(draft, "due")
    draft["outcome"] = inp.arg
    return Outcome(done=True)


# -- the follow-up date --------------------------------------------------------------------------------
async def due(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    """A day in the future, typed or a quick button (明天, 3天后, 7天后, 月底前, 下月底前)."""
    t = env.t
    if inp.kind == "button":
        typed = next((w for code, _, w in DUE_QUICK if code == inp.arg), None) if inp.action == "q" else None
        if typed is None:
            return stale(env)
    elif inp.kind == "text":
        typed = inp.text
    else:
        return wrong(env, "due", inp)
    when = parse_when(typed, env.now, want="future", tz=env.tz)
    examples = t("list.sep").join(EXAMPLES_FUTURE)
    if when.value is None:
        key = "visit.due.past" if when.reason == "past" else "visit.due.unknown"
        return Outcome(note=t(key, examples=examples))
    if (when.value.date() - env.now.date()).days > MAX_FOLLOWUP_DAYS:
        return Outcome(note=t("visit.due.too_far", due=t.date(when.value.date()), examples=examples))
    draft["due"] = when.value.isoformat()
    return Outcome(done=True, echo=day(env, when.value.date()))


# -- photo ------------------------------------------------------------------------------------------------
async def photo(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind == "photos" and inp.photos:
        draft["photo"] = inp.photos[0]
        draft["album"] = inp.album  # the rest of an album is then ignored (the engine)
        return Outcome(done=True)
    if inp.kind == "button" and inp.action in ("keep", "drop"):
        if inp.action == "drop":
            draft["photo"] = None
        return Outcome(done=True)
    if inp.kind == "text" and words(inp.text) in SKIP_WORDS:
        draft["photo"] = None
        return Outcome(done=True)
    if inp.kind == "button":
        return stale(env)
    return wrong(env, "photo", inp)
