"""What review shows: an item (a clean-up report or a closed follow-up) with its review trail,
who may see and review it, and the "view in the bot" deep links of the ledger
(``/start rpt_12``, ``/start fu_5``, ``/start vst_9``).

A returned follow-up is open again (its member does it anew in /followups): admins still see
it, with the earlier closing in its trail, but there is nothing to review until it is closed.

Payload items are ``r<id>`` (report) and ``f<id>`` (follow-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot.context import CadreContext
from bot.forms.core import day_and_time
from bot.i18n import Translator
from bot.rules.ids import id_or_zero, parse_id
from bot.services import scheduler
from handlers.flow import Button, cb, keyboard
from handlers.reports.changes import changed_lines
from handlers.reports.mine import send_photos
from handlers.reports.render import detail
from handlers.tasks.listing import task_screen
from handlers.visits.common import callback_text, concern_of
from storage.oversight import ReviewEvent
from storage.reports import Report
from storage.visits import FollowUp

FLOW = "review"
RETURN_FLOW = "reviewret"  # the return form (handlers.oversight.review): reviewret:start:<item code>
KINDS = {"r": "report", "f": "followup"}
CODES = {v: k for k, v in KINDS.items()}


@dataclass(frozen=True)
class Item:
    kind: str  # "report" | "followup"
    id: int
    unit_id: int  # the village
    author_id: int  # people.id of who wrote it (the reporter; who closed the follow-up)
    report: Report | None = None
    followup: FollowUp | None = None

    @property
    def code(self) -> str:
        return f"{CODES[self.kind]}{self.id}"


def parse_item(arg: str) -> tuple[str, int] | None:
    number = parse_id(arg[1:])
    if len(arg) < 2 or arg[0] not in KINDS or number is None:
        return None
    return KINDS[arg[0]], number


async def load(context: CadreContext, kind: str, item_id: int) -> Item | None:
    if kind == "report":
        report = await context.repos.reports.get(item_id)
        if report is None or not report.active:
            return None
        return Item(kind, item_id, report.fields.unit_id, report.reporter_id, report=report)
    followup = await context.repos.visits.followup(item_id)
    if followup is None:
        return None
    closer = await context.repos.oversight.closed_by(item_id)
    return Item(kind, item_id, followup.village_id, closer or followup.member_id, followup=followup)


async def may_look(context: CadreContext, item: Item) -> bool:
    """Admins of a unit above the item (who review it once there is something to review)."""
    person = context.person
    if person is None or not person.is_admin:
        return False
    return await context.repos.org.contains(person.unit_id, item.unit_id)


async def may_review(context: CadreContext, item: Item) -> bool:
    """Admins of a unit above the item; a follow-up only while it is closed."""
    if item.followup is not None and item.followup.closed_at is None:
        return False
    return await may_look(context, item)


async def may_see(context: CadreContext, item: Item) -> bool:
    person = context.person
    if person is None:
        return False
    if person.id == item.author_id or (item.followup is not None and item.followup.member_id == person.id):
        return True
    if person.role == "secretary":
        return await context.repos.households.village_of(person.unit_id) == item.unit_id
    return person.is_admin and await context.repos.org.contains(person.unit_id, item.unit_id)


def when_text(t: Translator, value: datetime, tz, now: datetime) -> str:
    """A moment of the trail or a closing: 12月1日(周二) 19:01, the forms' one format."""
    return day_and_time(t, value.astimezone(tz), now.astimezone(tz))


def trail_lines(t: Translator, events: list[ReviewEvent], tz, now: datetime) -> list[str]:
    if not events:
        return [t("review.state.none")]
    lines = [t("review.trail_title")]
    for e in events:
        comment = e.comment or (t("ledger.voice_note") if e.voice else "")
        key = "ledger.trail_comment" if comment else "ledger.trail"
        at = when_text(t, e.at, tz, now)
        lines.append("· " + t(key, at=at, by=e.by_name, action=t(f"ledger.review.{e.action}"), comment=comment))
    return lines


def resolution_of(t: Translator, followup: FollowUp) -> str:
    """What was done: the text, a voice note's mark, or "not written"."""
    if followup.resolution:
        return followup.resolution
    return t("ledger.voice_note") if followup.resolution_voice else t("review.no_resolution")


def item_text(t: Translator, item: Item, events: list[ReviewEvent], tz, now: datetime) -> str:
    if item.report is not None:
        body = detail(t, item.report)
    else:
        f = item.followup
        if f is None:
            raise RuntimeError("unexpected: f is None")
        closed = when_text(t, f.closed_at, tz, now) if f.closed_at else ""
        body = t(
            "review.followup_detail", number=f.id, head=f.household_head, member=f.member_name,
            visited=t.short_date(f.visited_on), concern=concern_of(t, f), due=t.short_date(f.due_on),
            closed=closed or t("review.not_closed"), resolution=resolution_of(t, f),
        )
        if f.closed_at is not None:  # the call-back (回访) recorded with the closing
            body += "\n" + t("review.followup_callback", callback=callback_text(t, f))
    return body + "\n\n" + "\n".join(trail_lines(t, events, tz, now))


def review_buttons(t: Translator, item: Item, state: str | None, *, branch: bool = False) -> list[list[Button]]:
    rows: list[list[Button]] = []
    if state != "verified":
        rows.append([(t("review.btn.verify"), cb(FLOW, "ok", item.code)), (t("review.btn.return"), cb(RETURN_FLOW, "start", item.code))])
    elif branch:  # verified by the village branch: the township may still send it back
        rows.append([(t("review.btn.return"), cb(RETURN_FLOW, "start", item.code))])
    if item.report is not None and item.report.fields.photos:
        rows.append([(t("review.btn.photos", count=len(item.report.fields.photos)), cb(FLOW, "pics", item.code))])
    rows.append([(t("review.btn.home"), cb(FLOW, "home"))])
    return rows


async def show_item(update: Update, context: CadreContext, item: Item, *, note: str = "") -> tuple[str, list[list[Button]]]:
    t = context.t
    events = await context.repos.oversight.history(item.kind, item.id)
    text = item_text(t, item, events, context.services.settings.tz, scheduler.now_of(context.application))
    if item.report is not None and events and events[-1].action == "resubmitted":  # what the author changed
        changed = await changed_lines(context, item.report)
        if changed:
            text += "\n\n" + "\n".join(changed)
    if note:
        text = note + "\n\n" + text
    rows: list[list[Button]] = []
    if await may_review(context, item):
        last = events[-1] if events else None
        branch = False
        if last is not None and last.action == "verified" and last.by_person is not None:
            verifier = await context.repos.org.person(last.by_person)
            branch = verifier is not None and verifier.role == "secretary"
        rows = review_buttons(t, item, last.action if last else None, branch=branch)
    else:
        if item.report is not None and item.report.fields.photos:
            rows = [[(t("review.btn.photos", count=len(item.report.fields.photos)), cb(FLOW, "pics", item.code))]]
        if await may_look(context, item):  # e.g. a returned follow-up being done again
            rows.append([(t("review.btn.home"), cb(FLOW, "home"))])
    return text, rows


# -- the ledger's deep links --------------------------------------------------------------------
async def deep_link(update: Update, context: CadreContext) -> None:
    """``/start rpt_12`` (a report), ``fu_5`` (a follow-up), ``vst_9`` (a visit), ``tsk_3`` (a
    task) from the ledger."""
    t = context.t
    payload = (context.args or [""])[0]
    prefix, _, number = payload.partition("_")
    if context.person is None:
        await update.effective_message.reply_text(t("auth.not_joined"))
        return
    if prefix == "vst":
        await show_visit(update, context, id_or_zero(number))
        return
    if prefix == "tsk":
        await show_task(update, context, id_or_zero(number))
        return
    item = await load(context, "report" if prefix == "rpt" else "followup", id_or_zero(number))
    if item is None or not await may_see(context, item):
        await update.effective_message.reply_text(t("review.not_found"))
        return
    text, rows = await show_item(update, context, item)
    await update.effective_message.reply_text(text, reply_markup=keyboard(rows) if rows else None)


async def show_task(update: Update, context: CadreContext, task_id: int) -> None:
    """The task's page (/tasks) for whoever may see the task."""
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    visible = {x.id for x in await context.repos.tasks.visible_to(person.id, person.unit_id)}
    task = await context.repos.tasks.get(task_id) if task_id in visible else None
    if task is None:
        await update.effective_message.reply_text(context.t("review.not_found"))
        return
    text, markup = await task_screen(context, task)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def show_visit(update: Update, context: CadreContext, visit_id: int) -> None:
    t = context.t
    visit = await context.repos.visits.get(visit_id)
    household = await context.repos.households.get(visit.household_id) if visit else None
    person = context.person
    allowed = visit is not None and household is not None and person is not None and (
        visit.member_id == person.id
        or (person.role == "secretary" and await context.repos.households.village_of(person.unit_id) == household.village_id)
        or (person.is_admin and await context.repos.org.contains(person.unit_id, household.village_id))
    )
    if not allowed:
        await update.effective_message.reply_text(t("review.not_found"))
        return
    if visit is None or household is None:
        raise RuntimeError("unexpected: visit or household is None")
    member = await context.repos.org.person(visit.member_id)
    concern = visit.concern_text or (t("ledger.voice_note") if visit.concern_voice else t("review.no_concern"))
    text = t(
        "review.visit_detail", number=visit.id, head=household.head, member=member.name if member else "",
        visited=t.short_date(visit.visited_on), roles=t("list.sep").join(t(f"visit.role.{r}") for r in visit.roles),
        concern=concern, outcome=t(f"visit.outcome.{visit.outcome}"),
    )
    if visit.photo:
        await context.bot.send_photo(update.effective_chat.id, visit.photo, caption=text)
    else:
        await update.effective_message.reply_text(text)


async def pictures(update: Update, context: CadreContext, item: Item) -> None:
    if item.report is not None and item.report.fields.photos:
        await send_photos(context, update.effective_chat.id, item.report)


def register_links(app: Application) -> None:
    app.add_handler(
        CommandHandler(
            "start", deep_link, filters=filters.ChatType.PRIVATE & filters.Regex(r"^/start (rpt|fu|vst|tsk)_\d{1,12}$")
        )
    )
