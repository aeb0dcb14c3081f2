"""/followups: the open follow-ups of my visits (a secretary: the whole village's), overdue
first; closing one asks what was done (typed or a voice note), then the call-back (回访: was
the household called back about it? if so, is it satisfied? — optional) and stores them.

The list is a plain screen; its 办结第n项 buttons open the closing form of the engine
(:mod:`bot.forms`, form ``followup``, entry ``followup:redo:<id>``), which asks what was done
and the call-back (:func:`handlers.visits.ask.callback_steps`) and, once saved, shows the list
again. The village branch's verification (handlers.visits.branch) and /review show the call-back. Back, cancel (also typed), stale buttons, a command in
the middle and the timeout are the engine's.

The same follow-ups show first in /visit when their household is chosen; the scheduler
reminds members of due ones (``VisitsRepo.followups_due``).

A follow-up a reviewer returned (/review) is open again: its author's 重新办理 button is the
same entry button (:func:`redo_payload`); the closing question then shows the reason and the
earlier answer; closing it again is marked resubmitted and the reviewer is told
(:func:`handlers.oversight.review_queue.sync_followups`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import CadreContext
from bot.forms import core
from bot.forms.core import Custom, Env, Form, Input, Outcome, Saved, Screen
from bot.rules.ids import id_or_zero, parse_page
from handlers.auth import MEMBERS, command, requires
from handlers.flow import Button, answer, ask, cb, keyboard, parse_cb
from handlers.oversight.review_queue import sync_followups
from handlers.visits.ask import callback_of, callback_steps
from handlers.visits.common import (
    BRANCH_FLOW,
    PAGE_SIZE,
    callback_text,
    concern_of,
    followup_line,
    paged,
    reference_now,
    returned_reasons,
    village_of,
)
from storage.visits import FollowUp

FOLLOWUPS = command("followups", MEMBERS)
LIST = "followups"  # the list's own buttons: followups:page:<n>, followups:finish:
FLOW = "followup"  # the closing form: followup:redo:<id> opens it
MAX_TEXT = 1000


async def visible(context: CadreContext) -> tuple[list[FollowUp], bool]:
    """Open follow-ups the user may see and close, and whether they are a village's."""
    person = context.person
    if person is not None and person.role == "secretary":
        village = await village_of(context, person)
        if village is not None:
            return await context.repos.visits.open_followups(village_id=village), True
    return await context.repos.visits.open_followups(member_id=person.id if person else 0), False


def redo_payload(followup_id: int) -> str:
    """The button that opens a follow-up's closing form (the list's 办结, a returned one's 重新办理)."""
    return core.payload(FLOW, "redo", followup_id)


async def returned(context: CadreContext, followup: FollowUp) -> tuple[str, str] | None:
    """(the reviewer's reason, what was answered before) if the follow-up was returned and
    waits to be closed again; else None."""
    events = await context.repos.oversight.history("followup", followup.id)
    if followup.closed_at is not None or not events or events[-1].action != "returned":
        return None
    before = next((e for e in reversed(events) if e.action == "closed"), None)
    earlier = ""
    if before is not None:
        earlier = before.comment or (context.t("ledger.voice_note") if before.voice else "")
    return events[-1].comment, earlier or context.t("review.no_resolution")


async def may_close(context: CadreContext, followup: FollowUp) -> bool:
    person = context.person
    if person is None:
        return False
    if followup.member_id == person.id:
        return True
    return person.role == "secretary" and followup.village_id == await village_of(context, person)


# -- the list -------------------------------------------------------------------------------
async def branch_button(context: CadreContext) -> list[Button] | None:
    """A secretary's 支部核实(n) row: their members' closings waiting for the branch
    (handlers.visits.branch); None when nothing waits or the user is no secretary."""
    person = context.person
    if person is None or person.role != "secretary":
        return None
    village = await village_of(context, person)
    count = len(await context.repos.visits.branch_waiting(village, reviewer_id=person.id)) if village else 0
    return [(context.t("branch.btn.open", count=count), cb(BRANCH_FLOW, "list", 0))] if count else None


async def list_screen(context: CadreContext, now: datetime, page: int) -> tuple[str, list[list[Button]]]:
    t = context.t
    followups, village_wide = await visible(context)
    branch = await branch_button(context)
    if not followups:
        return t("followups.none"), [branch] if branch else []
    buttons = [(t("followups.btn.close", n=n), redo_payload(f.id)) for n, f in enumerate(followups, start=1)]
    rows, page = paged(buttons, page, LIST, t)
    shown = followups[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    reasons = await returned_reasons(context, shown)
    lines = [
        followup_line(t, page * PAGE_SIZE + n, f, now, who=village_wide, returned=reasons.get(f.id))
        for n, f in enumerate(shown, start=1)
    ]
    overdue = sum(1 for f in followups if f.overdue(now))
    if branch:
        rows.append(branch)
    rows.append([(t("followups.btn.finish"), cb(LIST, "finish"))])
    return t.n("followups.header", len(followups), overdue=overdue) + "\n" + "\n".join(lines), rows


@requires(FOLLOWUPS)
async def start(update: Update, context: CadreContext) -> None:
    text, rows = await list_screen(context, reference_now(update, context), 0)
    await update.effective_message.reply_text(text, reply_markup=keyboard(rows) if rows else None)


@requires(FOLLOWUPS)
async def page_chosen(update: Update, context: CadreContext) -> None:
    await answer(update)
    _, _, arg = parse_cb(update.callback_query.data)
    text, rows = await list_screen(context, reference_now(update, context), parse_page(arg))
    await ask(update, context, text, keyboard(rows) if rows else None)


async def finish(update: Update, context: CadreContext) -> None:
    await answer(update)
    if update.callback_query is not None and update.callback_query.message is not None:
        await update.callback_query.edit_message_reply_markup(None)


# -- the closing form -----------------------------------------------------------------------
async def setup(env: Env, draft: dict[str, Any]) -> str | None:
    context = env.ctx
    arg = str(draft.get("arg") or "")
    followup = await context.repos.visits.followup(id_or_zero(arg))
    if followup is None or not await may_close(context, followup):
        return "followups.not_yours"
    if followup.closed_at is not None:
        return "followups.already_closed"
    draft["followup"] = followup.id
    return None


async def done_show(env: Env, draft: dict[str, Any]) -> Screen:
    context, t = env.ctx, env.t
    followup = await context.repos.visits.followup(int(draft["followup"]))
    if followup is None:
        return Screen(t("followups.already_closed"))
    was = await returned(context, followup)
    if was is None:
        return Screen(t("followups.ask_done", concern=concern_of(t, followup), household=followup.household_head))
    return Screen(t("followups.ask_redo", concern=concern_of(t, followup), household=followup.household_head,
                    reason=was[0], earlier=was[1]))


async def done_handle(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    """What was done: text or a voice note."""
    if inp.kind == "text" and inp.text.strip():
        draft["text"], draft["voice"] = inp.text.strip()[:MAX_TEXT], None
        return Outcome(done=True)
    if inp.kind == "voice" and inp.voice:
        draft["text"], draft["voice"] = None, inp.voice
        return Outcome(done=True)
    if inp.kind == "button":
        return Outcome(alert=env.t("form.stale"))
    return Outcome(note=env.t("followups.wrong.done"))


async def save(env: Env, draft: dict[str, Any]) -> Saved:
    context, t = env.ctx, env.t
    followup = await context.repos.visits.followup(int(draft["followup"]))
    if followup is None or not await may_close(context, followup):
        return Saved(Screen(t("followups.not_yours")))
    redone = await returned(context, followup) is not None
    called_back, satisfied = callback_of(draft)
    closed = await context.repos.visits.close_followup(
        followup.id, by_person_id=context.person.id, closed_at=env.now, text=draft.get("text"), voice=draft.get("voice"),
        called_back=called_back, satisfied=satisfied,
    )
    key = "followups.closed" if closed else "followups.already_closed"
    if closed and redone:
        key = "followups.resubmitted"
        await sync_followups(context.application, followup.id)  # done again after a review returned it
    note = t(key, household=followup.household_head, concern=concern_of(t, followup))
    if closed:  # and the call-back (回访) recorded with it
        recorded = replace(followup, called_back=called_back, satisfied=satisfied)
        note += "\n" + t("followups.callback_line", callback=callback_text(t, recorded))
    text, rows = await list_screen(context, env.now, 0)  # and the list again, to go on
    return Saved(Screen(f"{note}\n\n{text}", [[core.Button(label, data) for label, data in row] for row in rows]),
                 record=followup.id if closed else None)


FORM = Form(
    FLOW,
    allowed=FOLLOWUPS,
    entry="redo",
    # what was done, then the call-back (回访: was the household called back? satisfied?)
    steps=[Custom("done", show=done_show, handle=done_handle, kind_="text"), *callback_steps()],
    save=save,
    setup=setup,
    keys={"form.paused_plain": "followups.form.paused", "form.timeout_plain": "followups.form.timeout"},
    title=lambda draft: "",
)
FORMS = (FORM,)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("followups", start, filters=filters.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(page_chosen, pattern=rf"^{LIST}:page:"))
    app.add_handler(CallbackQueryHandler(finish, pattern=rf"^{LIST}:finish:"))
