"""/visit from one message (issue 14 item 3): a text typed at the first question, or a photo's
caption there, may state several of the visit's answers ("昨天走访了张大爷家,宣传了医保政策,
他反映路灯不亮,已解决"). :func:`read` is the form's ``Form.read`` hook: the pure reader
(:func:`bot.rules.reader.read_visit`) finds them, :func:`fill` stores them the way the steps
would, and the engine asks the first question still missing. :func:`keep_photo` is the form's
``Form.aside``: a photo sent at any step is kept for the photo step ("照片已收下").

The household is only ever one of the member's own, not archived (the reader is given only
those, and the household is checked again here).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.forms.core import Env, Input, Outcome
from bot.rules.dates import parse_when
from bot.rules.reader import Household, ReaderContext, read_visit
from handlers.visits.ask import person_id


async def fill(env: Env, draft: dict[str, Any], values: dict[str, Any], now: datetime) -> list[str]:
    """The reader's values into a visit draft, as the steps store them; the names of the steps
    they answer (in the form's order)."""
    filled: list[str] = []
    household_id = values.get("household")
    if household_id is not None:
        status = await env.ctx.repos.households.status(int(household_id))
        if status is not None and status.household.member_id == person_id(env) and not status.household.archived:
            draft.update(household_id=status.household.id, head=status.household.head,
                         has_followups=status.open_followups > 0, household=status.household.id)
            filled.append("household")
    if values.get("date"):
        draft["date"] = values["date"]
        filled.append("date")
    if values.get("roles"):
        draft["roles"] = list(values["roles"])
        filled.append("roles")
    outcome = values.get("outcome")
    if outcome == "none":
        draft["concern"], draft["outcome"], draft["due"] = {"none": True}, "none", None
        filled.append("concern")
        return filled
    if values.get("concern"):
        draft["concern"] = {"text": values["concern"]}
        filled.append("concern")
    if values.get("followup"):
        due = parse_when(values["followup"], now, want="future", tz=env.tz)
        if due.value is not None:
            draft["due"] = due.value.isoformat()
            outcome = "follow_up"
            filled.append("due")
    if outcome in ("solved", "follow_up"):
        draft["outcome"] = outcome
        filled.append("outcome")
    return filled


async def read(env: Env, draft: dict[str, Any], inp: Input) -> list[str]:
    """``Form.read``: the steps a first answer (a text or a caption) fills."""
    context = env.ctx
    households = await context.repos.households.of_member(person_id(env))
    ctx = ReaderContext(
        now=env.now,
        households=tuple(Household(s.household.id, s.household.head) for s in households if not s.household.archived),
        max_age_days=context.services.settings.report_max_age_days,
        tz=env.tz,
    )
    reading = read_visit(inp.text, ctx)
    if reading.kind != "visit" and "household" not in reading.fields:
        return []  # not a visit (a stray word): the question's own answer
    return await fill(env, draft, reading.values(), env.now)


async def keep_photo(env: Env, draft: dict[str, Any], inp: Input) -> Outcome | None:
    """``Form.aside``: a photo at a step that is not the photo step is kept for it (the first of
    an album; /visit keeps one photo). Anything else: the step's own hint (None)."""
    if inp.kind != "photos" or not inp.photos:
        return None
    if inp.album is not None and inp.album == draft.get("album") and draft.get("photo"):
        return Outcome(quiet=True)  # the rest of the album whose first photo was kept
    draft["photo"] = inp.photos[0]
    return Outcome(note=env.t("form.photo_kept"))
