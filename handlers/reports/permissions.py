"""Who may do what with a saved report, now: the pure rule (:func:`bot.rules.reports.author_may`,
:func:`bot.rules.reports.admin_may`, stated to users by the one catalog key ``report.rule``)
applied to a report's review state (its newest step in the review trail).

/myreports, /reports and the /report conversation's 更正 (through
:func:`handlers.reports.draft.may_correct`) all ask here, so they never disagree.
"""

from __future__ import annotations

from datetime import datetime

from bot.context import CadreContext
from bot.rules import reports as rules
from handlers.auth import ADMINS
from storage.reports import Report


async def state_of(context: CadreContext, report: Report) -> tuple[str, str]:
    """(review state, the reason of the newest step: a return's comment, else "")."""
    oversight = getattr(context.repos, "oversight", None)
    events = await oversight.history("report", report.id) if oversight is not None else []
    last = events[-1] if events else None
    state = rules.review_state(last.action if last else None)
    if state == rules.RETURNED and last is not None:
        # corrected since it was returned: resubmitted already, though the queue's sync
        # (handlers.oversight.review_queue.sync_corrections) records that only every few minutes
        changes = await context.repos.reports.changes(report.id)
        if any(c.action == "correct" and c.changed_at >= last.at for c in changes):
            state = rules.RESUBMITTED
    reason = ""
    for event in reversed(events):  # the reason it was returned, kept while it is corrected
        if event.action == "returned":
            reason = event.comment
            break
        if event.action == "verified":
            break
    return state, reason


async def manages(context: CadreContext, report: Report) -> bool:
    """Is the user an admin whose area holds the report's village?"""
    person = context.person
    if person is None or person.role not in ADMINS:
        return False
    return await context.repos.org.contains(person.unit_id, report.fields.unit_id)


async def actions(context: CadreContext, report: Report, now: datetime) -> frozenset[str]:
    """What the user may do with the report now (author's rule, or an admin's)."""
    person = context.person
    if person is None or not report.active:
        return frozenset()
    state, _ = await state_of(context, report)
    allowed: frozenset[str] = frozenset()
    if report.reporter_id == person.id:
        allowed = rules.author_may(state, report.created_at, now)
    if await manages(context, report):
        allowed |= rules.admin_may(state, active=report.active)
    return allowed


async def may_correct(context: CadreContext, report: Report, now: datetime) -> bool:
    return rules.CORRECT in await actions(context, report, now)
