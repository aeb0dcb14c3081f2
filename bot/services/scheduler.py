"""The scheduler: which pushes are due, and sending each exactly once.

The database is the source of truth. Nothing about what to send lives in memory:
:func:`run_due` reads the open tasks, the active events and the due follow-ups, asks the pure
rules (:mod:`bot.rules.deadlines`, :mod:`bot.rules.recurrence`) which push is due *now* and
still useful, and sends them through :func:`deliver`. PTB's JobQueue only decides *when*
``run_due`` runs:

* ``scheduler.sweep`` every few minutes, first right after start: catches up on what fell due
  while the bot was down, retries failed sends, and notices changes made by another instance;
* ``scheduler.wake`` at the next moment a push falls due (computed from the database by
  :func:`plan` at start and after every run);
* ``scheduler.poke`` right after an admin saved something (a new task is announced at once).

Exactly once: see :mod:`bot.services.delivery` (every push is claimed in the push log before it
is sent).

Missed pushes: a slot is due from its time until the next slot of the same thing (a reminder
until the next reminder or the deadline, a notice until the next notice or the event's start,
an overdue notice until the next day's); :func:`run_due` sends only slots due *now*, so after
an outage the newest useful push goes out and superseded ones are dropped.

Tests call ``run_due(app, now)`` with chosen moments; nothing here sleeps on the wall clock.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from telegram.ext import Application, CallbackContext

from bot.i18n import Translator
from bot.rules.deadlines import next_task_push_at, task_due
from bot.rules.recurrence import Lead, Rule, event_slots, next_slot_at
from bot.services import notices
from bot.services.delivery import (
    LEASE,
    Outcome,
    Push,
    deliver,
    now_of,
    refresh_notices,
    repos_of,
    translator,
    zone,
)
from bot.services.notices import Rendered
from storage import Repos
from storage.events import Event
from storage.pushes import PushKey
from storage.tasks import Task, TaskUnit

# The send path is bot.services.delivery's; handlers reach it through this module too.
__all__ = [
    "LEASE",
    "POKE",
    "RETRY",
    "SWEEP",
    "WAKE",
    "Outcome",
    "Push",
    "Targets",
    "collect",
    "deliver",
    "next_push_at",
    "now_of",
    "plan",
    "poke",
    "refresh_notices",
    "run_due",
    "start",
    "translator",
    "zone",
]

log = logging.getLogger("cadre.scheduler")

SWEEP_SECONDS = 300
RETRY_SECONDS = 60
FOLLOWUP_AT = time(9, 0)
WAKE, SWEEP, POKE, RETRY = "scheduler.wake", "scheduler.sweep", "scheduler.poke", "scheduler.retry"


def deadline_key(deadline: datetime, tz: tzinfo) -> str:
    return deadline.astimezone(tz).strftime("%Y-%m-%dT%H:%M")




# -- what is due ----------------------------------------------------------------------------
class Targets:
    """Where a unit's pushes go: its bound groups and its leaders' private chats."""

    def __init__(self) -> None:
        self.chats: dict[int, list[int]] = defaultdict(list)

    @classmethod
    async def load(cls, repos: Repos, unit_ids: Iterable[int], kind: str = "reminders") -> Targets:
        ids = sorted(set(unit_ids))
        targets = cls()
        for chat in await repos.chats.receiving(ids, kind):
            if chat.unit_id is not None:
                targets.chats[chat.unit_id].append(chat.chat_id)
        for leader in await repos.tasks.leaders(ids):
            if leader.telegram_id not in targets.chats[leader.unit_id]:
                targets.chats[leader.unit_id].append(leader.telegram_id)
        return targets

    def of(self, unit_id: int) -> list[int]:
        return self.chats.get(unit_id, [])


def _per_unit(
    kind: str,
    task: Task,
    units: Sequence[TaskUnit],
    targets: Targets,
    *,
    occurrence: str,
    slot: str,
    render: Callable[..., Rendered],
    tz: tzinfo,
    now: datetime,
) -> list[Push]:
    out = []
    for unit in units:
        draw = functools.partial(
            render, task=task, unit=unit.unit_name, zone=tz, now=now, unit_id=unit.unit_id
        )
        for chat_id in targets.of(unit.unit_id):
            out.append(Push(PushKey(kind, task.id, occurrence, slot, chat_id), draw))
    return out


async def _late_lists(
    repos: Repos, task: Task, units: Sequence[TaskUnit], *, occurrence: str, slot: str, tz: tzinfo
) -> list[Push]:
    """Who is late, to the task's creator and to the group of each late unit's parent unit."""
    late = [u for u in units if not u.done]
    out = []
    creator = await repos.org.person(task.created_by)
    if creator is not None and creator.active and creator.telegram_id is not None:
        draw = functools.partial(
            notices.task_late_list,
            task=task,
            late=[u.unit_name for u in late],
            done=len(units) - len(late),
            total=len(units),
            zone=tz,
        )
        out.append(Push(PushKey("task_late", task.id, occurrence, slot, creator.telegram_id), draw))
    by_parent: dict[int, list[TaskUnit]] = defaultdict(list)
    for unit in units:
        if unit.parent_id is not None:
            by_parent[unit.parent_id].append(unit)
    for parent_id, siblings in by_parent.items():
        late_here = [u.unit_name for u in siblings if not u.done]
        if not late_here:
            continue
        draw = functools.partial(
            notices.task_late_list,
            task=task,
            late=late_here,
            done=len(siblings) - len(late_here),
            total=len(siblings),
            zone=tz,
        )
        for chat in await repos.chats.receiving([parent_id], "reminders"):
            if creator is not None and chat.chat_id == creator.telegram_id:
                continue
            out.append(Push(PushKey("task_late", task.id, occurrence, slot, chat.chat_id), draw))
    return out


async def task_pushes(app: Application, now: datetime) -> list[Push]:
    repos, tz = repos_of(app), zone(app)
    tasks = await repos.tasks.open_tasks()
    if not tasks:
        return []
    units_of = await repos.tasks.units_of([task.id for task in tasks])
    unit_ids = {u.unit_id for units in units_of.values() for u in units if not u.done}
    targets = await Targets.load(repos, unit_ids)
    out: list[Push] = []
    for task in tasks:
        units = units_of.get(task.id, [])
        pending = [u for u in units if not u.done]
        if not pending:
            continue
        deadline = task.deadline.astimezone(tz)
        occurrence = deadline_key(deadline, tz)
        common = {"occurrence": occurrence, "tz": tz, "now": now}
        if task.planned_from <= now < deadline:
            kind = "task_extend" if task.extended else "task_new"
            out += _per_unit(kind, task, pending, targets, slot="", render=notices.task_announce, **common)
        leads = [Lead.parse(code) for code in task.leads]
        due = task_due(deadline, leads, task.planned_from.astimezone(tz), now)
        if due is None:
            continue
        what, slot = due
        if what == "remind":
            out += _per_unit(
                "task_remind", task, pending, targets, slot=slot.key, render=notices.task_reminder, **common
            )
        else:
            out += _per_unit(
                "task_overdue", task, pending, targets, slot=slot.key, render=notices.task_overdue, **common
            )
            out += await _late_lists(repos, task, units, occurrence=occurrence, slot=slot.key, tz=tz)
    return out


def event_rule(event: Event) -> Rule:
    return Rule.from_dict(event.rule)


def event_leads(event: Event) -> list[Lead]:
    return [Lead.parse(code) for code in event.leads]


async def event_pushes(app: Application, now: datetime) -> list[Push]:
    repos, tz = repos_of(app), zone(app)
    out: list[Push] = []
    for event in await repos.events.active():
        due = [(at, slot) for at, slot in event_slots(event_rule(event), event_leads(event), now, tz) if slot.due(now)]
        if not due:
            continue
        chats = await repos.chats.receiving(event.unit_ids, "notices")
        for at, slot in due:
            occurrence = at.astimezone(tz).date().isoformat()
            counts = await repos.events.counts(event.id, occurrence)
            draw = functools.partial(
                notices.event_notice,
                event=event,
                at=at,
                zone=tz,
                counts=counts,
                soon=Lead.parse(slot.key).at is None,
            )
            for chat in chats:
                out.append(Push(PushKey("event_notice", event.id, occurrence, slot.key, chat.chat_id), draw))
    return out


def followup_remind_at(due_on: date, due_at: datetime, tz: tzinfo) -> datetime:
    """09:00 local on the due day, or the due moment itself if that is earlier."""
    return min(datetime.combine(due_on, FOLLOWUP_AT, tzinfo=tz), due_at.astimezone(tz))


async def followup_pushes(app: Application, now: datetime) -> list[Push]:
    repos, tz = repos_of(app), zone(app)
    visits = getattr(repos, "visits", None)
    if visits is None or not hasattr(visits, "followups_due"):
        return []
    out = []
    for due in await visits.followups_due(now + timedelta(days=1)):
        if due.member_telegram_id is None or followup_remind_at(due.due_on, due.due_at, tz) > now:
            continue
        draw = functools.partial(
            render_followup, head=due.household_head, concern=due.concern_text or "", due_on=due.due_on
        )
        key = PushKey("visit_followup", due.followup_id, due.due_on.isoformat(), "", due.member_telegram_id)
        out.append(Push(key, draw))
    return out


def render_followup(t: Translator, *, head: str, concern: str, due_on: date) -> Rendered:
    if len(concern) > 80:
        concern = concern[:80] + "…"
    key = "task.push.followup" if concern else "task.push.followup_plain"
    return t(key, head=head, concern=concern, date=t.date(due_on)), None


async def collect(app: Application, now: datetime) -> list[Push]:
    """Every push due at ``now`` and still useful (already-sent ones included: the push log
    filters them)."""
    return [
        *await task_pushes(app, now),
        *await event_pushes(app, now),
        *await followup_pushes(app, now),
    ]


# -- running --------------------------------------------------------------------------------
def _lock(app: Application) -> asyncio.Lock:
    extras: dict[str, Any] = app.services.extras  # type: ignore[attr-defined]
    lock = extras.get("scheduler.lock")
    if lock is None:
        lock = extras["scheduler.lock"] = asyncio.Lock()
    return lock


async def run_due(app: Application, now: datetime | None = None) -> Outcome:
    """Send every push due at ``now`` (default: the current moment), then plan the next wake."""
    async with _lock(app):
        now = now or now_of(app)
        outcome = await deliver(app, await collect(app, now), now)
        await plan(app, now)
    if outcome.failed and app.job_queue is not None:
        app.job_queue.run_once(_tick, RETRY_SECONDS, name=RETRY)
    if outcome.sent or outcome.failed or outcome.dropped:
        log.info(
            "pushes at %s: sent %d, failed %d, dropped %d, skipped %d",
            now.isoformat(timespec="minutes"),
            len(outcome.sent),
            len(outcome.failed),
            len(outcome.dropped),
            outcome.skipped,
        )
    return outcome


async def next_push_at(app: Application, now: datetime) -> datetime | None:
    """The next moment after ``now`` at which some push falls due."""
    repos, tz = repos_of(app), zone(app)
    moments: list[datetime] = []
    tasks = await repos.tasks.open_tasks()
    units_of = await repos.tasks.units_of([task.id for task in tasks])
    for task in tasks:
        if all(u.done for u in units_of.get(task.id, [])):
            continue
        leads = [Lead.parse(code) for code in task.leads]
        moments.append(next_task_push_at(task.deadline.astimezone(tz), leads, task.planned_from, now))
    for event in await repos.events.active():
        slots = [slot for _, slot in event_slots(event_rule(event), event_leads(event), now, tz)]
        at = next_slot_at(slots, now)
        if at is not None:
            moments.append(at)
    visits = getattr(repos, "visits", None)
    if visits is not None and hasattr(visits, "followups_due"):
        for due in await visits.followups_due(now + timedelta(days=2)):
            at = followup_remind_at(due.due_on, due.due_at, tz)
            if at > now and due.member_telegram_id is not None:
                moments.append(at)
    return min(moments, default=None)


async def plan(app: Application, now: datetime) -> datetime | None:
    """(Re)build the wake-up job from the database; returns its time."""
    at = await next_push_at(app, now)
    queue = app.job_queue
    if queue is None:
        return at
    for job in queue.get_jobs_by_name(WAKE):
        job.schedule_removal()
    if at is not None:
        queue.run_once(_wake, at, name=WAKE, data=at.isoformat())
    return at


def poke(app: Application) -> None:
    """Run the scheduler as soon as possible (after an admin saved something)."""
    if app.job_queue is not None:
        app.job_queue.run_once(_tick, 0, name=POKE)


async def start(app: Application) -> None:
    """At start: the sweep (its first run, right away, catches up on missed pushes) and the
    wake-up job, both rebuilt from the database."""
    queue = app.job_queue
    if queue is None:
        log.warning("no JobQueue: reminders and notices will not be sent")
        return
    for job in queue.get_jobs_by_name(SWEEP):
        job.schedule_removal()
    queue.run_repeating(_tick, SWEEP_SECONDS, first=1, name=SWEEP)
    await plan(app, now_of(app))


async def _tick(context: CallbackContext) -> None:
    await run_due(context.application)


async def _wake(context: CallbackContext) -> None:
    """A wake-up never runs "before" its own time, even if the clocks disagree slightly."""
    app = context.application
    data = context.job.data if context.job is not None else None
    now = now_of(app)
    if isinstance(data, str):
        now = max(now, datetime.fromisoformat(data))
    await run_due(app, now)
