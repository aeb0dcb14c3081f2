"""Pieces the household-visit handlers share: the reference time, scopes, labels, paging.

The reference time of an update is the date of the user's message in CADRE_TZ, never a
clock of our own. A button press carries no time, so a conversation remembers the date of
the user's latest message in its draft (``draft["now"]``) and uses it for presses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from telegram import Update

from bot.context import CadreContext
from bot.i18n import Translator
from bot.rules.ids import id_or_zero
from handlers.flow import Button, cb
from storage.org import Person
from storage.visits import FollowUp, HouseholdStatus

PAGE_SIZE = 8
# The village branch's verification screens (handlers.visits.branch), opened from /followups:
# fubranch:list:<page>, fubranch:item:<id>, fubranch:ok:<id>.
BRANCH_FLOW = "fubranch"
FEW_HOUSEHOLDS = 5  # a member should hold 5 to 10 households (党员联户)
MANY_HOUSEHOLDS = 10


def message_now(update: Update, context: CadreContext) -> datetime | None:
    """When the user sent this message, in CADRE_TZ; None for a button press."""
    message = update.message
    if update.callback_query is not None or message is None or message.date is None:
        return None
    return message.date.astimezone(context.services.settings.tz)


def reference_now(update: Update, context: CadreContext, draft: dict[str, Any] | None = None) -> datetime:
    """The message's date (remembered in the draft), else the draft's, else the pressed message's."""
    tz = context.services.settings.tz
    now = message_now(update, context)
    if now is not None:
        if draft is not None:
            draft["now"] = now.isoformat()
        return now
    if draft is not None and draft.get("now"):
        return datetime.fromisoformat(draft["now"]).astimezone(tz)
    query = update.callback_query
    if query is not None and query.message is not None and query.message.date is not None:
        return query.message.date.astimezone(tz)
    raise LookupError("this update carries no time")  # every update we handle has one


async def village_of(context: CadreContext, person: Person) -> int | None:
    return await context.repos.households.village_of(person.unit_id)


def household_label(t: Translator, status: HouseholdStatus, today: date) -> str:
    """"张三家 · 32天未走访" (🔔 in front when a follow-up is open)."""
    head = status.household.head
    mark = "🔔" if status.open_followups else ""
    days = status.days_unvisited(today)
    if days is None:
        return t("visit.hh.never", head=head, mark=mark)
    if days == 0:
        return t("visit.hh.visited_today", head=head, mark=mark)
    if days == 1:
        return t("visit.hh.yesterday", head=head, mark=mark)
    return t.n("visit.hh.days", days, head=head, mark=mark)


def concern_of(t: Translator, followup: FollowUp) -> str:
    if followup.concern_text:
        return followup.concern_text
    if followup.concern_voice:
        return t("visit.concern.voice_short")
    return t("visit.concern.none_short")


def callback_text(t: Translator, followup: FollowUp) -> str:
    """The call-back (回访) recorded with a closing: "回访过了、😊 满意", or "(未记录)"."""
    if followup.called_back is None and followup.satisfied is None:
        return t("branch.callback.unknown")
    called = "" if followup.called_back is None else t("visit.callback.yes" if followup.called_back else "visit.callback.no")
    happy = "" if followup.satisfied is None else t("visit.btn.satisfied" if followup.satisfied else "visit.btn.unsatisfied")
    return t("list.sep").join(x for x in (called, happy) if x)


RETURN_REASON_CHARS = 60  # a long reason is cut in a list; the closing step shows it whole


def returned_note(t: Translator, reason: str) -> str:
    """"   ↩︎ 被退回:<reason>,请重新办理" under a follow-up a reviewer returned."""
    reason = reason.strip()
    if not reason:
        return t("visit.fu.returned_no_reason")
    if len(reason) > RETURN_REASON_CHARS:
        reason = reason[: RETURN_REASON_CHARS - 1] + "…"
    return t("visit.fu.returned", reason=reason)


async def returned_reasons(context: CadreContext, followups: list[FollowUp]) -> dict[int, str]:
    """{id: the reviewer's reason} of the open follow-ups whose latest review step returned
    them (one query for the whole page)."""
    latest = await context.repos.oversight.latest("followup", [f.id for f in followups])
    open_ids = {f.id for f in followups if f.closed_at is None}
    return {fid: e.comment for fid, e in latest.items() if fid in open_ids and e.action == "returned"}


def followup_line(
    t: Translator, n: int, followup: FollowUp, now: datetime, *, who: bool = False, returned: str | None = None
) -> str:
    """One numbered line: household, what was raised, due day, overdue by how many days; with
    ``returned`` (the reviewer's reason) a second line says it was returned and why."""
    line = _followup_line(t, n, followup, now, who=who)
    return line if returned is None else f"{line}\n{returned_note(t, returned)}"


def _followup_line(t: Translator, n: int, followup: FollowUp, now: datetime, *, who: bool) -> str:
    today = now.date()
    due = t.short_date(followup.due_on)
    concern = concern_of(t, followup)
    member = followup.member_name if who else ""
    if followup.overdue(now):
        late = max(1, (today - followup.due_on).days)
        key = "visit.fu.line_overdue_who" if who else "visit.fu.line_overdue"
        return t(key, n=n, head=followup.household_head, concern=concern, due=due, days=late, member=member)
    key = "visit.fu.line_who" if who else "visit.fu.line"
    return t(key, n=n, head=followup.household_head, concern=concern, due=due, member=member)


def paged(
    buttons: Sequence[Button], page: int, flow: str, t: Translator, *, action: str = "page", prefix: str = ""
) -> tuple[list[list[Button]], int]:
    """One button per row, PAGE_SIZE per page, with 上一页/下一页; returns rows and the page."""
    pages = max(1, -(-len(buttons) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows = [[b] for b in buttons[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]]
    nav: list[Button] = []
    if page > 0:
        nav.append((t("visit.btn.prev_page"), cb(flow, action, f"{prefix}{page - 1}")))
    if page < pages - 1:
        nav.append((t("visit.btn.next_page", page=page + 2, pages=pages), cb(flow, action, f"{prefix}{page + 1}")))
    if nav:
        rows.append(nav)
    return rows, page


def count_warning(t: Translator, name: str, count: int) -> str | None:
    """The note a secretary sees when a member holds fewer than 5 or more than 10 households."""
    if count < FEW_HOUSEHOLDS:
        return t("hh.warn.few", name=name, count=count, few=FEW_HOUSEHOLDS)
    if count > MANY_HOUSEHOLDS:
        return t("hh.warn.many", name=name, count=count, many=MANY_HOUSEHOLDS)
    return None


def my_int(text: str | None) -> int:
    """A number from a callback payload; 0 (no such row) for anything else."""
    return id_or_zero(text)
