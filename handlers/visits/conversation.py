"""/visit: a party member logs a household visit (党员联户), as a form of the engine
(:mod:`bot.forms`), one question at a time:

household (my own, longest unvisited first, 8 a page) → open follow-ups of that household, if
any (close them on this visit, each with what was done and whether the household is
satisfied: the call-back, 回访) → date (今天 / 昨天 or typed) →
role(s) → which expert group (with 专家服务联络) → 诉求 (text, voice or 无) → outcome (when something was raised) → follow-up date
(when it needs following up; quick buttons) → optional photo → review with edit → save, and
the rolling-window coverage line.

The day is the day the user's message was sent (``message_clock``). Back, skip, edit from the
review, cancel (also typed), resume, pause by another command, the timeout, stale buttons and
one visit per draft token are the engine's. The screens are in :mod:`handlers.visits.ask`,
the answers in :mod:`handlers.visits.answers`, the save in :mod:`handlers.visits.save`.
"""

from __future__ import annotations

from typing import Any

from bot.forms.core import OPEN_AT, REVIEW, SAVE, Choice, Custom, Env, Form, Input, Screen
from handlers.visits import answers, ask, reading
from handlers.visits import save as visit_save
from handlers.visits.ask import FLOW, OFFER, VISIT, no_concern, outcome_of
from handlers.visits.common import village_of


async def no_households_text(env: Env) -> str:
    context = env.ctx
    person = context.person
    if person.role == "secretary":
        return env.t("visit.no_households_secretary")
    village = await village_of(context, person)
    names = await context.repos.households.secretaries(village) if village else []
    if not names:
        return env.t("visit.no_households_nobody")
    return env.t("visit.no_households", secretary=env.t("list.sep").join(names))


async def setup(env: Env, draft: dict[str, Any]) -> str | Screen | None:
    """No households of one's own: say whom to ask, and no form. Opened from a visit offered
    from one message (``visit:offer:<token>[.save]``, :mod:`handlers.reports.from_text`): the
    offer's answers fill the draft; it opens on the review, or (``.save``) saves, asking first
    what is missing."""
    if not await env.ctx.repos.households.of_member(ask.person_id(env)):
        return Screen(await no_households_text(env))
    draft.update(roles=[], closes={})
    token, _, how = str(draft.get("arg") or "").partition(".")
    if token:
        offer = env.ctx.user_data.get(OFFER)
        if not isinstance(offer, dict) or offer.get("token") != token:
            return "form.stale"
        env.ctx.user_data.pop(OFFER, None)
        draft.update({k: v for k, v in offer.items() if k in OFFERED and v not in (None, "", [])})
        draft["token"] = token  # saved under the offer's token: its 保存 tapped again is told so (late)
        draft["filled"] = list(offer.get("from_text") or [])  # read from the message: marked on the review
        draft["followups"] = None  # open follow-ups are closed in /followups, not from a message
        draft.setdefault("photo", None)  # photos are optional, never a gate
        if draft.get("household_id"):
            draft["household"] = draft["household_id"]
        draft[OPEN_AT] = SAVE if how == "save" else REVIEW
    return None


# What an offer may fill: the visit's own answers and the time of the message (never its token
# or history).
ENTRY = "offer"
OFFERED = ("household_id", "head", "has_followups", "date", "roles", "concern", "outcome", "due", "photo", "now")


async def late(env: Env, inp: Input) -> str | None:
    """保存 tapped again (the review's, ``visit:save:<token>``, or an old one-message offer's,
    ``visit:offer:<token>[.save]``) once the visit was saved: "already saved", not stale."""
    if inp.action == SAVE:
        token = inp.arg
    elif inp.action == ENTRY:
        token = inp.arg.partition(".")[0]
    else:
        return None
    visit = await env.ctx.repos.visits.by_token(token) if token else None
    person = env.ctx.person
    if visit is None or person is None or visit.member_id != person.id:
        return None
    return env.t("visit.already_saved")


def raised(draft: dict[str, Any]) -> bool:
    return bool(draft.get("concern")) and not no_concern(draft)


FORM = Form(
    FLOW,
    command=VISIT,
    steps=[
        Custom("household", label="visit.field.household", show=ask.show_household, handle=answers.household),
        Custom("followups", show=ask.show_followups, handle=answers.followups, editable=False,
               when=lambda d: bool(d.get("has_followups"))),
        Custom("followup_done", show=ask.show_followup_done, handle=answers.followup_done, kind_="text",
               review_only=True, editable=False),
        Custom("fu_satisfied", show=ask.show_fu_satisfied, handle=answers.fu_satisfied, review_only=True, editable=False),
        Custom("date", label="visit.field.date", show=ask.show_date, handle=answers.visit_date, kind_="text"),
        Choice("roles", ask="visit.ask.roles", label="visit.field.roles", options=ask.roles, multi=True, per_row=1,
               done="form.btn.next"),
        Choice("field", ask="visit.ask.expert", label="visit.field.expert", options=ask.expert_fields, when=ask.expert),
        Custom("concern", label="visit.field.concern", show=ask.show_concern, handle=answers.concern, kind_="text"),
        Custom("outcome", label="visit.field.outcome", show=ask.show_outcome, handle=answers.outcome,
               when=lambda d: not no_concern(d)),
        Custom("due", label="visit.field.due", show=ask.show_due, handle=answers.due, kind_="text",
               when=lambda d: raised(d) and outcome_of(d) == "follow_up"),
        Custom("photo", label="visit.field.photo", show=ask.show_photo, handle=answers.photo, kind_="photos",
               optional=True),
    ],
    review=ask.review,
    save=visit_save.save,
    setup=setup,
    entry=ENTRY,  # visit:offer:<token>[.save]: a visit offered from one message
    keys={"form.cancelled": "visit.cancelled", "form.ask.resume": "visit.ask.resume_form"},
    title=lambda draft: str(draft.get("head") or ""),
    message_clock=True,
    read=reading.read,  # a first answer (or a caption) that states several answers fills them all
    aside=reading.keep_photo,  # a photo at any step is kept for the photo step
    late=late,  # a second 保存: "already saved"
    missing=lambda env, d: (visit_save.first_missing(d, env.now) or (None,))[0],  # asked one after another
)
FORMS = (FORM,)


def register(app: object) -> None:
    """Nothing of its own: the engine's one handler runs FORM (see handlers.flow.register_forms)."""
