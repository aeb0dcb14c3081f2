"""/review: township and district admins check clean-up reports and closed follow-ups:
已核实 (verified) or 退回 (returned, with a reason the author reads). Every step is kept in the
audit trail (``review_events``) and shown in the ledger.

The loop: a returned item goes to its author with the reason. A report's author corrects it in
the /report conversation itself (its 更正 button, ``report:correct:<id>``); the correction is
noticed (:func:`handlers.oversight.review_queue.sync_corrections`, every two minutes and whenever
/review opens), marked resubmitted and announced to whoever returned it. The author may also
press 重新提交 with a short note.

The return reason (``reviewret``) and the resubmit note (``reviewnote``) are forms of the
engine (:mod:`bot.forms`); cancel (also typed), stale buttons, a command in the middle and the
timeout are the engine's.

A returned follow-up is reopened (:meth:`storage.visits.VisitsRepo.reopen_followup`: its
closing stays in the trail) and its author gets a button into the /followups closing
form for it (``followup:redo:<id>``), which asks again what was done; closing it
again (there, or on a visit) is marked resubmitted and announced the same way
(:func:`handlers.oversight.review_queue.sync_followups`). Follow-ups returned before reopening existed
are still closed and are resubmitted with a note.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.forms.core import (
    Button,
    Custom,
    Env,
    Form,
    Input,
    Outcome,
    Saved,
    Screen,
    payload,
    quick_or_typed,
)
from handlers.flow import cb, keyboard
from handlers.oversight.review_queue import (
    REVIEW,
    SYNC,
    browse,
    label,
    photos_pressed,
    review_command,
    sync_job,
    tell_reviewer,
)
from handlers.oversight.review_view import (
    RETURN_FLOW,
    Item,
    load,
    may_review,
    parse_item,
    register_links,
    show_item,
)
from handlers.visits.followups import redo_payload

NOTE_FLOW = "reviewnote"  # the resubmit note form: reviewnote:start:<item code>
REASONS = 4  # quick reasons review.reason.1..4
MAX_COMMENT = 300


# -- the return form (the engine: bot.forms) -------------------------------------------------------
async def item_of(env: Env, draft: dict[str, Any]) -> Item | None:
    """The draft's item if the user may still review it."""
    parsed = parse_item(str(draft.get("arg") or ""))
    item = await load(env.ctx, *parsed) if parsed else None
    return item if item is not None and await may_review(env.ctx, item) else None


async def return_setup(env: Env, draft: dict[str, Any]) -> str | None:
    return None if await item_of(env, draft) is not None else "review.not_yours"


reason_buttons, reason_handle = quick_or_typed(RETURN_FLOW, "review.reason.", REASONS, max_len=MAX_COMMENT)


async def reason_show(env: Env, draft: dict[str, Any]) -> Screen:
    item = await item_of(env, draft)
    return Screen(env.t("review.ask_reason", item=label(env.ctx, item) if item else ""), reason_buttons(env.t))


async def return_review(env: Env, draft: dict[str, Any]) -> str:
    item = await item_of(env, draft)
    if item is None:
        return env.t("review.not_found")
    author = await env.ctx.repos.org.person(item.author_id)
    return env.t("review.confirm_return", item=label(env.ctx, item), author=author.name if author else "",
                 comment=draft["reason"])


async def return_save(env: Env, draft: dict[str, Any]) -> Saved:
    context, t = env.ctx, env.t
    item = await item_of(env, draft)
    if item is None:
        return Saved(Screen(t("review.not_yours")))
    person = context.person
    comment, token = draft["reason"], draft["token"]
    if item.followup is not None:  # reopened for its member to do again, its closing kept
        await context.repos.visits.reopen_followup(item.id, by=person.id, at=env.now, reason=comment, token=token)
    else:
        await context.repos.oversight.record_review(
            item.kind, item.id, "returned", by=person.id, at=env.now, comment=comment, token=token
        )
    told = await tell_author(context.application, item, comment, person.name)
    author = await context.repos.org.person(item.author_id)
    key = "review.returned" if told else "review.returned_not_told"
    if item.followup is not None:
        key = "review.returned_followup" if told else "review.returned_followup_not_told"
        item = await load(context, item.kind, item.id) or item
    text, rows = await show_item(None, context, item, note=t(key, author=author.name if author else ""))  # type: ignore[arg-type]
    return Saved(Screen(text, [[Button(label_, data) for label_, data in row] for row in rows]), record=item.code)


RETURN_FORM = Form(
    RETURN_FLOW,
    allowed=REVIEW,
    entry="start",  # 退回 on an item's screen
    steps=[Custom("reason", label="review.field.reason", show=reason_show, handle=reason_handle, kind_="text")],
    review=return_review,
    save=return_save,
    setup=return_setup,
    keys={"form.btn.save": "review.btn.send_return", "form.cancelled": "review.cancelled"},
    title=lambda draft: str(draft.get("reason") or ""),
)


async def tell_author(app: Application, item: Item, comment: str, reviewer: str) -> bool:
    """Send the returned item to its author with the reason and the way to fix it."""
    repos = app.services.repos  # type: ignore[attr-defined]
    author = await repos.org.person(item.author_id)
    if author is None or author.telegram_id is None or not author.active:
        return False
    user = await repos.users.get(author.telegram_id)
    t = app.services.catalogs.get(user.lang if user else None)  # type: ignore[attr-defined]
    if item.report is not None:
        what = t("review.what.report", number=item.id, day=t.short_date(item.report.fields.work_date))
        resubmit = [(t("review.btn.resubmit"), cb(NOTE_FLOW, "start", item.code))]
        # the one rule (bot.rules.reports.author_may): a returned report is corrected at any age
        rows = [[(t("review.btn.correct"), cb("report", "correct", item.id))], resubmit]
        key = "review.to_author.report"
    else:  # reopened: the button asks again, in /followups, what was done
        if item.followup is None:
            raise RuntimeError("unexpected: item.followup is None")
        what = t("review.what.followup", number=item.id, head=item.followup.household_head)
        rows = [[(t("review.btn.redo"), redo_payload(item.id))]]
        key = "review.to_author.followup"
    await app.bot.send_message(author.telegram_id, t(key, what=what, reviewer=reviewer, comment=comment),
                               reply_markup=keyboard(rows))
    return True


# -- the author resubmits with a note (a form too) --------------------------------------------------
async def returned_item(env: Env, draft: dict[str, Any]) -> tuple[Item, str] | str:
    """(the item, the reviewer's reason) if the user may resubmit it now; else a refusal key."""
    parsed = parse_item(str(draft.get("arg") or ""))
    item = await load(env.ctx, *parsed) if parsed else None
    person = env.ctx.person
    if item is None or person is None or person.id != item.author_id:
        return "review.not_yours"
    events = await env.ctx.repos.oversight.history(item.kind, item.id)
    if not events or events[-1].action != "returned":
        return "review.not_returned"
    if item.followup is not None and item.followup.closed_at is None:  # reopened: done again, not noted
        return "review.redo_instead"
    return item, events[-1].comment


async def note_setup(env: Env, draft: dict[str, Any]) -> str | None:
    found = await returned_item(env, draft)
    if isinstance(found, str):
        return found
    draft["reason"] = found[1]
    return None


async def note_show(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    rows = [[Button(t("review.btn.no_note"), payload(NOTE_FLOW, "note", "-"))]]
    return Screen(t("review.ask_note", comment=draft.get("reason") or ""), rows)


async def note_handle(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind == "button":
        if inp.action != "note":
            return Outcome(alert=env.t("form.stale"))
        draft["note"] = ""
        return Outcome(done=True)
    note = " ".join(inp.text.split()) if inp.kind == "text" else ""
    if not note or len(note) > MAX_COMMENT:
        return Outcome(note=env.t("review.bad_note", max=MAX_COMMENT))
    draft["note"] = note
    return Outcome(done=True)


async def note_save(env: Env, draft: dict[str, Any]) -> Saved:
    found = await returned_item(env, draft)
    if isinstance(found, str):  # e.g. reopened meanwhile
        return Saved(Screen(env.t(found)))
    item = found[0]
    events = await env.ctx.repos.oversight.history(item.kind, item.id)
    await env.ctx.repos.oversight.record_review(
        item.kind, item.id, "resubmitted", by=item.author_id, at=env.now, comment=draft["note"], token=draft["token"],
    )
    await tell_reviewer(env.ctx.application, item, events[-1].by_person, draft["note"])
    return Saved(Screen(env.t("review.resubmitted")), record=item.code)


NOTE_FORM = Form(
    NOTE_FLOW,
    entry="start",  # 重新提交 under a returned item: reviewnote:start:<item code>
    aliases=("review:resub",),  # the button's payload on notices sent before
    steps=[Custom("note", show=note_show, handle=note_handle, kind_="text")],
    save=note_save,
    setup=note_setup,
    keys={"form.cancelled": "review.cancelled"},
    title=lambda draft: "",
)
FORMS = (RETURN_FORM, NOTE_FORM)


async def on_startup(app: Application) -> None:
    if app.job_queue is not None:
        app.job_queue.run_repeating(sync_job, 120, first=20, name=SYNC)


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    register_links(app)
    app.add_handler(CommandHandler("review", review_command, filters=private))
    app.add_handler(CallbackQueryHandler(browse, pattern=r"^review:(home|list|item|ok|close):"))
    app.add_handler(CallbackQueryHandler(photos_pressed, pattern=r"^review:pics:"))
