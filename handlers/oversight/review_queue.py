"""The review queue (核实) of township and district admins: what waits for a first check
(of the last :data:`WINDOW_DAYS` days) and what was returned, each item with 已核实 / 退回
buttons; and :func:`sync_corrections`, which notices reports corrected in /report and
follow-ups closed again (in /followups, or on a visit) after being returned, marks them
resubmitted and tells whoever returned them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import Update
from telegram.ext import Application, CallbackContext, ConversationHandler

from bot.context import CadreContext
from bot.forms.ptb import ACTIVE, claim
from bot.rules.ids import parse_page
from bot.services.scheduler import now_of as clock
from handlers.auth import ADMINS, command, requires
from handlers.flow import Button, answer, ask, cb, drop_draft, keyboard, parse_cb
from handlers.oversight.review_view import (
    FLOW,
    RETURN_FLOW,
    Item,
    load,
    may_look,
    may_review,
    may_see,
    parse_item,
    pictures,
    resolution_of,
    show_item,
)
from handlers.visits.common import BRANCH_FLOW

REVIEW = command("review", ADMINS)
PAGE = 8
WINDOW_DAYS = 60  # items waiting for a first review: of the last two months
SYNC = "review:sync"
END = ConversationHandler.END


def now_of(update: Update, context: CadreContext) -> datetime:
    """When this happened: a message's own date; for a button press (which carries no time
    of its own) the clock (``bot.services.scheduler.now_of``: the wall clock, or the tests' clock)."""
    tz = context.services.settings.tz
    if update.callback_query is None and update.effective_message is not None:
        return update.effective_message.date.astimezone(tz)
    return clock(context.application).astimezone(tz)


# -- the queue -----------------------------------------------------------------------------------
async def home(update: Update, context: CadreContext) -> tuple[str, list[list[Button]]]:
    t = context.t
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    await sync_corrections(context.application)
    since = now_of(update, context).date() - timedelta(days=WINDOW_DAYS)
    repo = context.repos.oversight
    counts = {}
    for kind in ("report", "followup"):
        for state in ("pending", "returned"):
            counts[kind, state] = (await repo.queue(person.unit_id, kind, state, since=since, limit=0))[1]
    branch = (await repo.queue(person.unit_id, "followup", "branch", since=since, limit=0))[1]
    text = t(
        "review.home", reports=counts["report", "pending"], followups=counts["followup", "pending"],
        returned=counts["report", "returned"] + counts["followup", "returned"], days=WINDOW_DAYS,
    )
    rows = [
        [(t("review.btn.reports", count=counts["report", "pending"]), cb(FLOW, "list", "report-pending-0"))],
        [(t("review.btn.followups", count=counts["followup", "pending"]), cb(FLOW, "list", "followup-pending-0"))],
        [(t("review.btn.returned_reports", count=counts["report", "returned"]), cb(FLOW, "list", "report-returned-0")),
         (t("review.btn.returned_followups", count=counts["followup", "returned"]), cb(FLOW, "list", "followup-returned-0"))],
        [(t("review.btn.branch_followups", count=branch), cb(FLOW, "list", "followup-branch-0"))],
        [(t("review.btn.close"), cb(FLOW, "close"))],
    ]
    return text, rows


async def listing(update: Update, context: CadreContext, kind: str, state: str, page: int) -> tuple[str, list[list[Button]]]:
    t = context.t
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    since = now_of(update, context).date() - timedelta(days=WINDOW_DAYS)
    ids, total = await context.repos.oversight.queue(
        person.unit_id, kind, state, since=since, limit=PAGE, offset=page * PAGE
    )
    if not total:
        text, rows = await home(update, context)
        return t("review.empty") + "\n\n" + text, rows
    rows: list[list[Button]] = []
    latest = await context.repos.oversight.latest(kind, ids)
    for item_id in ids:
        item = await load(context, kind, item_id)
        if item is not None:
            text = label(context, item)
            if latest.get(item_id) is not None and latest[item_id].action == "resubmitted":  # back after a return
                text = t("review.label.resubmitted", label=text)
            rows.append([(text, cb(FLOW, "item", item.code))])
    nav: list[Button] = []
    if page > 0:
        nav.append((t("review.btn.prev"), cb(FLOW, "list", f"{kind}-{state}-{page - 1}")))
    if (page + 1) * PAGE < total:
        nav.append((t("review.btn.next"), cb(FLOW, "list", f"{kind}-{state}-{page + 1}")))
    rows += [nav, [(t("review.btn.home"), cb(FLOW, "home"))]]
    return t(f"review.list.{kind}.{state}", count=total), rows


def label(context: CadreContext, item: Item) -> str:
    t = context.t
    if item.report is not None:
        r = item.report
        return t("review.label.report", number=r.id, village=r.unit_name, day=t.short_date(r.fields.work_date))
    f = item.followup
    if f is None:
        raise RuntimeError("unexpected: f is None")
    return t("review.label.followup", number=f.id, head=f.household_head, member=f.member_name)


@requires(REVIEW)
async def review_command(update: Update, context: CadreContext) -> int:
    drop_draft(context, FLOW)
    text, rows = await home(update, context)
    await update.effective_message.reply_text(text, reply_markup=keyboard(rows))
    return END


@requires(REVIEW)
async def browse(update: Update, context: CadreContext) -> None:
    """home / list / item / ok / close buttons (they leave a return reason being written)."""
    t = context.t
    if context.user_data.get(ACTIVE) == RETURN_FLOW:  # the return form yields (its draft stays)
        claim(context.user_data, FLOW)
    _, action, arg = parse_cb(update.callback_query.data)
    if action == "close":
        await answer(update)
        await update.callback_query.edit_message_reply_markup(None)
        return
    if action == "list":
        kind, _, rest = arg.partition("-")
        state, _, page = rest.partition("-")
        states = ("pending", "returned", "branch") if kind == "followup" else ("pending", "returned")
        if kind not in ("report", "followup") or state not in states or parse_page(page, -1) < 0:
            text, rows = await home(update, context)
        else:
            text, rows = await listing(update, context, kind, state, parse_page(page))
        await answer(update)
        await ask(update, context, text, keyboard(rows))
        return
    if action == "home":
        await answer(update)
        text, rows = await home(update, context)
        await ask(update, context, text, keyboard(rows))
        return
    item = await reviewable(update, context, arg, look=action == "item")
    if item is None:
        return
    note = ""
    if action == "ok":
        events = await context.repos.oversight.history(item.kind, item.id)
        if events and events[-1].action == "verified":
            note = t("review.already_verified")
        else:
            await context.repos.oversight.record_review(
                item.kind, item.id, "verified", by=context.person.id, at=now_of(update, context)  # type: ignore[union-attr]
            )
            note = t("review.verified", item=label(context, item))
    await answer(update)
    text, rows = await show_item(update, context, item, note=note)
    await ask(update, context, text, keyboard(rows))


async def photos_pressed(update: Update, context: CadreContext) -> None:
    """看照片: for reviewers, and for whoever may see the item (its author, the village)."""
    parsed = parse_item(parse_cb(update.callback_query.data)[2])
    item = await load(context, *parsed) if parsed else None
    if item is None or not await may_see(context, item):
        await update.callback_query.answer(context.t("review.not_found"), show_alert=True)
        return
    await answer(update)
    await pictures(update, context, item)
    if await may_review(context, item):  # the review buttons again, below the album
        _, rows = await show_item(update, context, item)
        text = context.t("review.after_photos", item=label(context, item))
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard(rows))


async def reviewable(update: Update, context: CadreContext, arg: str, *, look: bool = False) -> Item | None:
    """The item of a payload if the user may review it (``look``: may look at it); else None,
    and the press is answered."""
    parsed = parse_item(arg)
    item = await load(context, *parsed) if parsed else None
    allowed = may_look if look else may_review
    if item is None or not await allowed(context, item):
        await update.callback_query.answer(context.t("review.not_yours"), show_alert=True)
        return None
    return item


async def tell_reviewer(
    app: Application, item: Item, reviewer_id: int | None, note: str, *, redone: bool = False
) -> None:
    """Tell whoever returned ``item`` that it is back, with the author's note if any
    (``redone``: a follow-up closed again, with what was done now)."""
    repos = app.services.repos  # type: ignore[attr-defined]
    reviewer = await repos.org.person(reviewer_id) if reviewer_id else None
    author = await repos.org.person(item.author_id)
    if reviewer is None or reviewer.telegram_id is None or not reviewer.active:
        return
    user = await repos.users.get(reviewer.telegram_id)
    t = app.services.catalogs.get(user.lang if user else None)  # type: ignore[attr-defined]
    key = "review.to_reviewer_note" if note else "review.to_reviewer"
    if item.report is not None:
        what = t("review.what.report", number=item.id, day=t.short_date(item.report.fields.work_date))
    else:
        f = item.followup
        if f is None:
            raise RuntimeError("unexpected: f is None")
        what = t("review.what.followup", number=item.id, head=f.household_head)
        if redone:
            key, note = "review.to_reviewer_redone", resolution_of(t, f)
    text = t(key, what=what, author=author.name if author else "", note=note)
    look = cb(FLOW, "item", item.code)
    if reviewer.role == "secretary" and item.followup is not None:  # returned by the village branch
        look = cb(BRANCH_FLOW, "item", item.id)
    await app.bot.send_message(reviewer.telegram_id, text, reply_markup=keyboard([[(t("review.btn.look"), look)]]))


async def sync_corrections(app: Application, now: datetime | None = None) -> int:
    """Reports corrected in /report after being returned: mark them resubmitted (at the time
    of the correction, by its author) and tell whoever returned them; the same for follow-ups
    closed again (:func:`sync_followups`). Returns how many."""
    repos = app.services.repos  # type: ignore[attr-defined]
    done = await sync_followups(app)
    for report_id, change_id, returned_by, at, corrected_by in await repos.oversight.corrected_after_return():
        _, created = await repos.oversight.record_review(
            "report", report_id, "resubmitted", by=corrected_by, at=at, token=f"correction:{change_id}"
        )
        report = await repos.reports.get(report_id)
        if created and report is not None:
            item = Item("report", report_id, report.fields.unit_id, report.reporter_id, report=report)
            await tell_reviewer(app, item, returned_by, "")
            done += 1
    return done


async def sync_followups(app: Application, followup_id: int | None = None) -> int:
    """Follow-ups returned, reopened and closed again since (all, or only ``followup_id``):
    mark each resubmitted (when and by whom it was closed again), once per return, and tell
    whoever returned it what was done now. Returns how many."""
    repos = app.services.repos  # type: ignore[attr-defined]
    done = 0
    for fid, returned_id, returned_by, at, closed_by in await repos.oversight.reclosed_after_return(followup_id):
        _, created = await repos.oversight.record_review(
            "followup", fid, "resubmitted", by=closed_by, at=at, token=f"reclosed:{returned_id}"
        )
        followup = await repos.visits.followup(fid)
        if created and followup is not None:
            item = Item("followup", fid, followup.village_id, closed_by, followup=followup)
            await tell_reviewer(app, item, returned_by, "", redone=True)
            done += 1
    return done


async def sync_job(context: CallbackContext) -> None:
    await sync_corrections(context.application)
