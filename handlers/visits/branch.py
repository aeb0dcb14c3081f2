"""The village branch verifies its members' closed follow-ups (支部核实, issue 13, item 10).

A village secretary need not leave every closing to the township: /followups shows them a
button 支部核实(n) when members of their own village closed follow-ups that wait for a review.
The list (``fubranch:list:<page>``) opens each one (``fubranch:item:<id>``): the household head,
the member, what was raised, what was done and the call-back (回访, satisfied or not); never a
phone number. ✅ 核实 (``fubranch:ok:<id>``) stores a 'verified' step in the review trail
(:meth:`storage.visits.VisitsRepo.branch_verify`): the follow-up then leaves the township's
/review queue, which lists it under 支部已核实. ↩️ 退回 opens a small form of the engine
(``fubranchret:start:<id>``): a reason (typed, or one of the quick ones), then the follow-up is
reopened for its member with the reason, exactly as the township returns one
(:meth:`storage.visits.VisitsRepo.reopen_followup`), and its member gets the reason with the
重新办理 button of /followups; closed again, it waits for the branch (or the township) once
more, and the secretary is told (:func:`handlers.oversight.review_queue.sync_followups`).

Only the village's own closings by others: a secretary never verifies a closing of their own
(that is the township's), nor another village's (a forged payload is refused). Private chat
only, like /followups.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.context import CadreContext
from bot.forms.core import Button as FormButton
from bot.forms.core import Custom, Env, Form, Saved, Screen, quick_or_typed
from bot.rules.ids import id_or_zero, parse_page
from bot.services import scheduler
from handlers.auth import SECRETARIES, Command, requires
from handlers.flow import Button, answer, ask, cb, keyboard, parse_cb
from handlers.oversight.review_queue import now_of
from handlers.oversight.review_view import trail_lines, when_text
from handlers.visits.common import BRANCH_FLOW as FLOW
from handlers.visits.common import callback_text, concern_of, paged, village_of
from handlers.visits.followups import redo_payload
from storage.visits import FollowUp

RETURN_FLOW = "fubranchret"  # the return form: fubranchret:start:<id>
# Who may use these screens (reached from /followups; not a command of its own, so it is not
# declared in the command table): refusals name /followups and the secretary's role.
BRANCH = Command("followups", SECRETARIES)
REASONS = 4  # quick reasons branch.reason.1..4
MAX_REASON = 300


async def waiting(context: CadreContext) -> list[FollowUp]:
    """The closed follow-ups of the secretary's village that the branch may verify."""
    person = context.person
    if person is None or person.role != "secretary":
        return []
    village = await village_of(context, person)
    if village is None:
        return []
    return await context.repos.visits.branch_waiting(village, reviewer_id=person.id)


async def waiting_one(context: CadreContext, followup_id: int) -> FollowUp | None:
    return next((f for f in await waiting(context) if f.id == followup_id), None)


def label(context: CadreContext, f: FollowUp) -> str:
    return context.t("branch.label", head=f.household_head, member=f.member_name, concern=concern_of(context.t, f))


async def list_screen(context: CadreContext, page: int, *, note: str = "") -> tuple[str, list[list[Button]]]:
    t = context.t
    followups = await waiting(context)
    if not followups:
        text = t("branch.none")
        return (note + "\n\n" + text if note else text), []
    buttons = [(label(context, f), cb(FLOW, "item", f.id)) for f in followups]
    rows, page = paged(buttons, page, FLOW, t, action="list")
    text = t("branch.list", count=len(followups))
    return (note + "\n\n" + text if note else text), rows


async def item_screen(context: CadreContext, f: FollowUp, *, note: str = "") -> tuple[str, list[list[Button]]]:
    t = context.t
    tz = context.services.settings.tz
    now = scheduler.now_of(context.application)
    closed = when_text(t, f.closed_at, tz, now) if f.closed_at else ""
    resolution = f.resolution or (t("ledger.voice_note") if f.resolution_voice else t("review.no_resolution"))
    events = await context.repos.oversight.history("followup", f.id)
    text = t(
        "branch.detail", head=f.household_head, member=f.member_name, visited=t.short_date(f.visited_on),
        concern=concern_of(t, f), due=t.short_date(f.due_on), closed=closed, resolution=resolution,
        callback=callback_text(t, f),
    ) + "\n\n" + "\n".join(trail_lines(t, events, tz, now))
    if note:
        text = note + "\n\n" + text
    rows = [
        [(t("branch.btn.verify"), cb(FLOW, "ok", f.id)), (t("branch.btn.return"), cb(RETURN_FLOW, "start", f.id))],
        [(t("branch.btn.back"), cb(FLOW, "list", 0))],
    ]
    return text, rows


@requires(BRANCH)
async def pressed(update: Update, context: CadreContext) -> None:
    """list / item / ok."""
    t = context.t
    _, action, arg = parse_cb(update.callback_query.data)
    if action == "list":
        await answer(update)
        text, rows = await list_screen(context, parse_page(arg))
        await ask(update, context, text, keyboard(rows) if rows else None)
        return
    followup = await waiting_one(context, id_or_zero(arg))
    if followup is None:
        await update.callback_query.answer(t("branch.not_yours"), show_alert=True)
        return
    if action == "item":
        await answer(update)
        text, rows = await item_screen(context, followup)
        await ask(update, context, text, keyboard(rows))
        return
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    village = await village_of(context, person)
    done = await context.repos.visits.branch_verify(
        followup.id, village_id=village or 0, by=person.id, at=now_of(update, context),
        token=f"branch:{update.callback_query.id}",
    )
    await answer(update)
    note = t("branch.verified", item=label(context, followup)) if done else t("review.already_done")
    text, rows = await list_screen(context, 0, note=note)
    await ask(update, context, text, keyboard(rows) if rows else None)


# -- 退回 with a reason (the engine: bot.forms) ----------------------------------------------
async def return_item(env: Env, draft: dict[str, Any]) -> FollowUp | None:
    return await waiting_one(env.ctx, id_or_zero(str(draft.get("arg") or "")))


async def return_setup(env: Env, draft: dict[str, Any]) -> str | None:
    return None if await return_item(env, draft) is not None else "branch.not_yours"


reason_buttons, reason_handle = quick_or_typed(RETURN_FLOW, "branch.reason.", REASONS, max_len=MAX_REASON)


async def reason_show(env: Env, draft: dict[str, Any]) -> Screen:
    f = await return_item(env, draft)
    return Screen(env.t("branch.ask_reason", item=label(env.ctx, f) if f else ""), reason_buttons(env.t))


async def return_review(env: Env, draft: dict[str, Any]) -> str:
    f = await return_item(env, draft)
    if f is None:
        return env.t("branch.not_yours")
    author = await env.ctx.repos.org.person(f.member_id)
    return env.t("review.confirm_return", item=label(env.ctx, f), author=author.name if author else "",
                 comment=draft["reason"])


async def return_save(env: Env, draft: dict[str, Any]) -> Saved:
    context, t = env.ctx, env.t
    f = await return_item(env, draft)
    person = context.person
    if f is None or person is None:
        return Saved(Screen(t("branch.not_yours")))
    closer = await context.repos.oversight.closed_by(f.id) or f.member_id
    reopened = await context.repos.visits.reopen_followup(
        f.id, by=person.id, at=env.now, reason=draft["reason"], token=draft["token"]
    )
    if not reopened:
        return Saved(Screen(t("review.already_done")))
    told = await tell_author(context.application, f, closer, draft["reason"], person.name)
    author = await context.repos.org.person(closer)
    key = "review.returned_followup" if told else "review.returned_followup_not_told"
    text, rows = await list_screen(context, 0, note=t(key, author=author.name if author else ""))
    return Saved(Screen(text, [[FormButton(a, b) for a, b in row] for row in rows]), record=f.id)


async def tell_author(app: Application, f: FollowUp, author_id: int, reason: str, reviewer: str) -> bool:
    """Send the reopened follow-up to whoever closed it, with the branch's reason and the
    重新办理 button of /followups; False if they cannot be told (not joined, inactive)."""
    repos = app.services.repos  # type: ignore[attr-defined]
    author = await repos.org.person(author_id)
    if author is None or author.telegram_id is None or not author.active:
        return False
    user = await repos.users.get(author.telegram_id)
    t = app.services.catalogs.get(user.lang if user else None)  # type: ignore[attr-defined]
    what = t("review.what.followup", number=f.id, head=f.household_head)
    await app.bot.send_message(author.telegram_id, t("branch.to_author", what=what, reviewer=reviewer, comment=reason),
                               reply_markup=keyboard([[(t("review.btn.redo"), redo_payload(f.id))]]))
    return True


RETURN_FORM = Form(
    RETURN_FLOW,
    allowed=BRANCH,
    entry="start",
    steps=[Custom("reason", label="review.field.reason", show=reason_show, handle=reason_handle, kind_="text")],
    review=return_review,
    save=return_save,
    setup=return_setup,
    keys={"form.btn.save": "review.btn.send_return", "form.cancelled": "review.cancelled"},
    title=lambda draft: str(draft.get("reason") or ""),
)
FORMS = (RETURN_FORM,)


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(pressed, pattern=rf"^{FLOW}:(list|item|ok):"))
