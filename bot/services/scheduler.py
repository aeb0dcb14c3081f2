"""The scheduler: which pushes are due, and sending each exactly once.

The database is the source of truth. Nothing about what to send lives in memory:
:func:`run_due` reads the open tasks, the active events and the due follow-ups, asks the pure
rules (:mod:`bot.rules.deadlines`, :mod:`bot.rules.recurrence`) which push is due *now* and
still useful, and sends them through :func:`deliver`. The channel's jobs
(:class:`bot.channel.Jobs`; PTB's JobQueue for Telegram) only decide *when*
``run_due`` runs:

* ``scheduler.sweep`` every few minutes, first right after start: catches up on what fell due
  while the bot was down, retries failed sends, and notices changes made by another instance;
* ``scheduler.wake`` at the next moment a push falls due (computed from the database by
  :func:`plan` at start and after every run; at start nothing is worked out: if any task or
  event is new, changed or due, the wake is at once and that run plans them);
* ``scheduler.poke`` right after an admin saved something (a new task is announced at once).

By the work due: a sweep looks only at the tasks and events whose ``next_at`` has come
(:meth:`storage.tasks.TasksRepo.due`, :meth:`storage.events.EventsRepo.due`); once every
push a task or event owed is sent (or dropped), :func:`collect` plans it on to its next
moment; whatever changes who a push goes to (a group bound, a leader joining, a unit done, an
edit) resets it in the database (triggers in storage/migrations, and the repositories' updates).
Its targets, the push log and the follow-ups are read in one set-based query each, so a
sweep costs a few queries whatever the number of tasks, events, units and people, and
:func:`next_push_at` is the earliest planned moment plus what is due now. Of a task looked at
again, only the units a push may still be owed to are read
(:meth:`storage.tasks.TasksRepo.owed_units`): a catch-up over a province's tasks whose pushes
all went out reads no unit. Of the events due, the rule and leads are read first and worked
out once for all the events alike (10,000 events just added share a few hundred rules); the
groups still owed a notice come with the push log's answer in one query
(:meth:`storage.events.EventsRepo.owed_chats`), and an event's texts are read only if it has a
push to make. :func:`run_due` collects and sends batch by batch
(:func:`sweep_batches`), so it holds one batch's pushes, not 10,000 events' notices.

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
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from bot.channel import Host
from bot.i18n import Translator
from bot.rules.deadlines import next_task_push_at, task_due
from bot.rules.reach import UnitFacts, announce_to_groups, unit_reach
from bot.rules.recurrence import Lead, Rule, arranged_slots, next_slot_at, occurrence_on
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
from storage.org import Person
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
    "sweep_batches",
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
# A sweep costs a few set-based queries whatever the number of tasks, events, units and people:
# only tasks and events whose ``next_at`` has come are looked at (storage.tasks / storage.events
# keep it: the scheduler advances it once every push due is sent, and whatever changes who a
# push goes to resets it), their targets and the push log are read in one query each, and
# follow-ups come from one query that leaves out those already reminded.
class Targets:
    """Where a unit's pushes go: its bound groups and its leaders' private chats."""

    def __init__(self) -> None:
        self.chats: dict[int, list[int]] = defaultdict(list)

    @classmethod
    def of_rows(cls, rows: Iterable[tuple[int, int]]) -> Targets:
        targets = cls()
        seen = set()
        for row in rows:
            if row not in seen:
                seen.add(row)
                targets.chats[row[0]].append(row[1])
        return targets

    @classmethod
    async def load(cls, repos: Repos, unit_ids: Iterable[int], kind: str = "reminders") -> Targets:
        return cls.of_rows(await repos.tasks.reach(unit_ids, kind))

    @classmethod
    def of_task(cls, task: Task, units: Iterable[TaskUnit], facts: dict[int, UnitFacts], *, now: datetime | None = None,
                announce: bool = False) -> Targets:
        """Where a task's pushes to its units go (bot.rules.reach: its audience, each place
        once); an announcement (``announce``) goes to groups only shortly after publishing."""
        return cls.of_task_both(task, units, facts, now=now)[1 if announce else 0]

    @classmethod
    def of_task_both(cls, task: Task, units: Iterable[TaskUnit], facts: dict[int, UnitFacts], *,
                     now: datetime | None = None, memo: dict | None = None) -> tuple[Targets, Targets]:
        """(reminders', announcement's) targets of a task's units, each unit's reach worked out
        once (``memo``: the reaches already worked out, shared by a district's tasks)."""
        targets, announce = cls(), cls()
        late = now is not None and not announce_to_groups((now - task.planned_from).total_seconds() / 3600)
        memo = {} if memo is None else memo
        for unit in units:
            key = (unit.unit_id, task.to_groups)
            reach = memo.get(key)
            if reach is None:
                reach = memo[key] = unit_reach(unit.unit_id, unit.unit_name, facts.get(unit.unit_id),
                                               groups=task.to_groups)
            targets.chats[unit.unit_id] = list(reach.chats)
            announce.chats[unit.unit_id] = [c for c in reach.chats if not (late and c in reach.groups)]
        return targets, announce

    def of(self, unit_id: int) -> list[int]:
        return self.chats.get(unit_id, [])


@dataclass
class _Plan:
    """What one task or event owes at a sweep, and when it next needs looking at."""

    table: str  # "tasks" or "events"
    ref_id: int
    rev: int
    next_at: datetime | None
    pushes: list[Push] = field(default_factory=list)
    checked: bool = False  # its pushes are known not to be sent or dropped yet (the log was asked)


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
    finished: Mapping[tuple[str, int, str, str], set[int]] | None = None,
) -> list[Push]:
    """The pushes to the units' chats, but those the push log holds as sent or dropped
    (``finished``: their chat ids per group; not even made, a catch-up sweep over a district's
    tasks would build 100,000 of them to drop them again)."""
    out = []
    done = (finished or {}).get((kind, task.id, occurrence, slot), set())
    for unit in units:
        chats = [c for c in targets.of(unit.unit_id) if c not in done]
        if not chats:
            continue
        draw = functools.partial(
            render, task=task, unit=unit.unit_name, zone=tz, now=now, unit_id=unit.unit_id
        )
        for chat_id in chats:
            out.append(Push(PushKey(kind, task.id, occurrence, slot, chat_id), draw))
    return out


def _late_lists(
    task: Task,
    units: Sequence[TaskUnit],
    creator: Person | None,
    parent_chats: Targets,
    *,
    occurrence: str,
    slot: str,
    tz: tzinfo,
) -> list[Push]:
    """Who is late, to the task's creator and to the group of each late unit's parent unit."""
    late = [u for u in units if not u.done]
    out = []
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
    for unit in units if task.to_groups else ():  # a people-only task names no one in a group
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
        for chat_id in parent_chats.of(parent_id):
            if creator is not None and chat_id == creator.telegram_id:
                continue
            out.append(Push(PushKey("task_late", task.id, occurrence, slot, chat_id), draw))
    return out


def _task_next_at(task: Task, leads: Sequence[Lead], tz: tzinfo, now: datetime) -> datetime:
    """When an open task with units to do next needs looking at after ``now``."""
    at = next_task_push_at(task.deadline.astimezone(tz), leads, task.planned_from, now)
    return min(at, task.planned_from) if task.planned_from > now else at


TASK_UNITS_BATCH = 10_000  # tasks due are worked out together up to this many units not done


async def _task_plans(app: Host, now: datetime) -> AsyncIterator[list[_Plan]]:
    """The plans of the tasks due, worked out in batches of about :data:`TASK_UNITS_BATCH`
    units (a catch-up over a province's district-wide tasks holds one batch's units and
    reach at a time, not 100,000 of each); each batch is planned once the one before is sent."""
    repos = repos_of(app)
    due = await repos.tasks.due(now)
    if not due:
        return
    sizes = await repos.tasks.pending_counts([task.id for task, _ in due])
    batch: list[tuple[Task, int]] = []
    units = 0
    for item in due:
        size = sizes.get(item[0].id, 0)
        if batch and units + size > TASK_UNITS_BATCH:
            yield await _task_batch(app, batch, now, sizes=sizes)
            batch, units = [], 0
        batch.append(item)
        units += size
    yield await _task_batch(app, batch, now, sizes=sizes)


def _late_keys(task: Task, parents: Iterable[int], creator: Person | None, parent_chats: Targets, *,
               occurrence: str, slot: str) -> set[PushKey]:
    """The keys of the late lists :func:`_late_lists` makes (to the creator, and to the groups
    of the parents of the units not done), read without the units."""
    keys = set()
    if creator is not None and creator.active and creator.telegram_id is not None:
        keys.add(PushKey("task_late", task.id, occurrence, slot, creator.telegram_id))
    for parent_id in parents if task.to_groups else ():
        for chat_id in parent_chats.of(parent_id):
            if creator is None or chat_id != creator.telegram_id:
                keys.add(PushKey("task_late", task.id, occurrence, slot, chat_id))
    return keys


async def _task_batch(app: Host, due: list[tuple[Task, int]], now: datetime, *,
                      sizes: Mapping[int, int] | None = None) -> list[_Plan]:
    """The plans of these tasks. By the work due: only the units a push may still be owed to
    are read (:meth:`storage.tasks.TasksRepo.owed_units`), with their reach and the push log's
    answer for just their chats; a task whose pushes all went out costs its share of one
    query. All of a task's units are read only for a late list still to send."""
    repos, tz = repos_of(app), zone(app)
    if sizes is None:
        sizes = await repos.tasks.pending_counts([task.id for task, _ in due])
    leads_of = {task.id: [Lead.parse(code) for code in task.leads] for task, _ in due}
    live = [task for task, _ in due if sizes.get(task.id)]  # with units not done
    tasks = {task.id: task for task in live}
    whats, occurrences = {}, {}
    groups = []  # (task, kind, occurrence, slot): what this sweep may push under
    for task in live:
        deadline = task.deadline.astimezone(tz)
        occurrences[task.id] = occurrence = deadline_key(deadline, tz)
        whats[task.id] = task_due(deadline, leads_of[task.id], task.planned_from.astimezone(tz), now)
        if task.planned_from <= now < deadline:
            groups.append((task.id, "task_extend" if task.extended else "task_new", occurrence, ""))
        if whats[task.id] is not None:
            what, slot = whats[task.id]
            groups.append((task.id, "task_remind" if what == "remind" else "task_overdue", occurrence, slot.key))
    owed = await repos.tasks.owed_units(groups) if groups else {}
    overdue = [task for task in live if (whats.get(task.id) or ("",))[0] == "overdue"]
    creators, parent_chats, units_of, late_keys = {}, Targets(), {}, {}
    if overdue:
        creators = await repos.org.people_by_ids({task.created_by for task in overdue})
        parents = await repos.tasks.late_parents([task.id for task in overdue])
        parent_chats = Targets.of_rows(await repos.tasks.reach(set().union(*parents.values()), leaders=False))
        late_keys = {
            task.id: _late_keys(task, parents.get(task.id, ()), creators.get(task.created_by), parent_chats,
                                occurrence=occurrences[task.id], slot=whats[task.id][1].key)
            for task in overdue
        }
    owed_ids = {u.unit_id for us in owed.values() for u in us}
    facts = await repos.chats.reach_facts(owed_ids) if owed_ids else {}
    reaches: dict = {}
    targets_of = {}
    candidates = []  # the keys the owed units' pushes would have: the push log is asked about just these
    for task_id, kind, occurrence, slot in groups:
        units = owed.get(task_id)
        if not units:
            continue
        if task_id not in targets_of:
            targets_of[task_id] = Targets.of_task_both(tasks[task_id], units, facts, now=now, memo=reaches)
        chats = targets_of[task_id][1 if kind in ("task_new", "task_extend") else 0]
        candidates += [PushKey(kind, task_id, occurrence, slot, c) for u in units for c in chats.of(u.unit_id)]
    told = await repos.pushes.finished_keys([*candidates, *(k for keys in late_keys.values() for k in keys)])
    del candidates
    finished: dict[tuple[str, int, str, str], set[int]] = defaultdict(set)
    for key in told:
        finished[key.group].add(key.chat_id)
    late = [task_id for task_id, keys in late_keys.items() if not keys <= told]  # a late list still to send
    if late:
        units_of = await repos.tasks.units_of(late)
    plans = []
    for task, rev in due:
        if not sizes.get(task.id):
            plans.append(_Plan("tasks", task.id, rev, None, checked=True))
            continue
        plan = _Plan("tasks", task.id, rev, _task_next_at(task, leads_of[task.id], tz, now), checked=True)
        plans.append(plan)
        pending = owed.get(task.id, [])
        deadline = task.deadline.astimezone(tz)
        occurrence = occurrences[task.id]
        common = {"occurrence": occurrence, "tz": tz, "now": now, "finished": finished}
        if pending:
            targets, announce = targets_of[task.id]
            if task.planned_from <= now < deadline:
                kind = "task_extend" if task.extended else "task_new"
                plan.pushes += _per_unit(kind, task, pending, announce, slot="", render=notices.task_announce, **common)
        due_now = whats.get(task.id)
        if due_now is None:
            continue
        what, slot = due_now
        if pending:
            kind, render = ("task_remind", notices.task_reminder) if what == "remind" else ("task_overdue", notices.task_overdue)
            plan.pushes += _per_unit(kind, task, pending, targets, slot=slot.key, render=render, **common)
        if what == "overdue" and task.id in units_of:
            late_lists = _late_lists(
                task, units_of[task.id], creators.get(task.created_by), parent_chats,
                occurrence=occurrence, slot=slot.key, tz=tz,
            )
            plan.pushes += [push for push in late_lists if push.key not in told]
    return plans


_SlotsMemo = dict[tuple[Any, ...], Any]  # a sweep's working-out of events alike (_alike)


@dataclass(frozen=True)
class _Alike:
    """What events alike (the same rule and leads, no date of their own) share at a sweep:
    the rule, the slots, those due now, and when the next falls due."""

    rule: Rule
    slots: list[tuple[date, datetime, Any]]
    due: list[tuple[date, datetime, Any]]
    next_at: datetime | None


ALIKE_MEMO = 2000  # rules and workings-out a sweep keeps at most


def _alike(rule_text: str, leads_text: str, changes: Mapping[date, Any], now: datetime, tz: tzinfo,
           memo: _SlotsMemo) -> _Alike:
    """The rule and arranged slots of an event (:func:`bot.rules.recurrence.arranged_slots`),
    with those due and the next moment, from its rule and leads as stored. Events with the
    same rule and leads and no date of their own (a township's lecture in every branch, a
    weekly meeting in every village) share one reading and working-out per sweep (``memo``;
    what it holds is read, never changed)."""
    key = (rule_text, leads_text)
    alike = None if changes else memo.get(key)
    if alike is None:
        if len(memo) + 2 > ALIKE_MEMO:  # 10,000 events each with a rule of its own: bounded memory
            memo.clear()
        rule = memo.get(rule_text)
        if rule is None:
            rule = memo[rule_text] = Rule.from_dict(json.loads(rule_text))
        leads = [Lead.parse(code) for code in json.loads(leads_text)]
        slots = arranged_slots(rule, leads, changes, now, tz)
        alike = _Alike(rule, slots, [s for s in slots if s[2].due(now)], next_slot_at([s[2] for s in slots], now))
        if not changes:
            memo[key] = alike
    return alike


EVENT_BATCH = 1000  # events looked at afresh are read and worked out this many at a time
DELIVER_CHUNK = 500  # a batch's pushes are handed to deliver() this many at a time (its memory)

# (event id, plan revision, rule, leads as stored): one event due, as the sweep reads it
_DueEvent = tuple[int, int, str, str]


async def _due_events(repos: Repos, now: datetime) -> AsyncIterator[list[_DueEvent]]:
    """The events due, :data:`EVENT_BATCH` at a time, by id, without their texts
    (:meth:`storage.events.EventsRepo.due_rules`)."""
    after = 0
    while batch := await repos.events.due_rules(now, after=after, limit=EVENT_BATCH):
        yield batch
        after = batch[-1][0]


_Quiet = list[tuple[int, int, "datetime | None"]]  # (id, plan revision, next moment): nothing to push now


async def _event_plans(app: Host, now: datetime) -> AsyncIterator[tuple[list[_Plan], _Quiet]]:
    """The plans of the events due with pushes to make, and the others (planned on with
    no plan made: most of 10,000 events just added), :data:`EVENT_BATCH` at a time; each batch
    is read and worked out once the one before is sent (events alike share their slots:
    ``memo``)."""
    memo: _SlotsMemo = {}
    async for due in _due_events(repos_of(app), now):
        yield await _event_batch(app, due, now, memo)


async def _arrangements(repos: Repos, event_ids: Iterable[int], now: datetime, tz: tzinfo) -> dict[int, dict[date, Any]]:
    """Each event's arranged occurrences still to come, by the rule's date (one query)."""
    rows = await repos.events.arrangements(event_ids, now.astimezone(tz).date().isoformat(), now)
    return {eid: {occ.day: occ for occ in by_day.values()} for eid, by_day in rows.items()}


def _changed(changes: dict[date, Any], rule: Rule, now: datetime, tz: tzinfo) -> list[tuple[Any, datetime]]:
    """The skipped or moved occurrences not over yet (by their own or their new moment), with
    the rule's moment of each."""
    out = []
    for day, occ in changes.items():
        if not occ.changed or not rule.is_day(day):
            continue
        was = occurrence_on(rule, day, tz)
        if max(was, occ.moved_to or was) > now:
            out.append((occ, was))
    return out


async def _event_batch(app: Host, due: list[_DueEvent], now: datetime,
                       memo: _SlotsMemo | None = None) -> tuple[list[_Plan], _Quiet]:
    """The plans of these events. By the work due: events alike share their slots
    (:func:`_alike`); the groups a notice is still owed to are read with the push log's answer
    in one query (:meth:`storage.events.EventsRepo.owed_chats`), so a push is made only for a
    chat not yet told; the texts of an event (and the counts of answers) are read only for
    the events with a push to make."""
    repos, tz = repos_of(app), zone(app)
    memo = {} if memo is None else memo
    changes_of = await _arrangements(repos, [eid for eid, *_ in due], now, tz)
    alike_of = {eid: _alike(rule, leads, changes_of.get(eid, {}), now, tz, memo) for eid, _, rule, leads in due}
    changed_of = {eid: _changed(changes, alike_of[eid].rule, now, tz) for eid, changes in changes_of.items()}
    owed = await repos.events.owed_chats(
        (eid, day.isoformat(), slot.key) for eid, alike in alike_of.items() for day, _, slot in alike.due
    )
    told = await repos.pushes.first_sent(
        "event_notice", [(eid, occ.occurrence) for eid, changed in changed_of.items() for occ, _ in changed]
    )
    counts = await repos.events.counts_of({(eid, occurrence) for eid, occurrence, _ in owed}) if owed else {}
    # the texts, for the events with a push to make; one changed since it was read is left to
    # the next run (its plan revision moved on: it is due again, worked out afresh)
    wanted = {eid for eid, _, _ in owed} | {eid for eid, _ in told}
    events = await repos.events.many(wanted) if wanted else {}
    plans = []
    quiet: _Quiet = []
    changes_to_check = []
    for eid, rev, _, _ in due:
        alike = alike_of[eid]
        if eid not in wanted:
            quiet.append((eid, rev, alike.next_at))
            continue
        if eid not in events or events[eid][1] != rev:
            continue
        plan = _Plan("events", eid, rev, alike.next_at, checked=True)
        plans.append(plan)
        event = events[eid][0]
        changes = changes_of.get(eid, {})
        for day, at, slot in alike.due:
            occurrence = day.isoformat()
            chats = owed.get((eid, occurrence, slot.key))
            if not chats:
                continue
            draw = functools.partial(
                notices.event_notice,
                event=event,
                at=at,
                zone=tz,
                counts=counts[(eid, occurrence)],
                soon=Lead.parse(slot.key).at is None,
                occ=changes.get(day),
                was=occurrence_on(alike.rule, day, tz),
            )
            plan.pushes += [Push(PushKey("event_notice", eid, occurrence, slot.key, chat_id), draw)
                            for chat_id in chats]
        # the groups that got the notice of an occurrence before it was skipped or moved are told, once
        for occ, was in changed_of.get(eid, ()):
            moved = None if occ.skipped else occ.moved_to.astimezone(tz)
            slot = "skip" if moved is None else f"to{moved:%Y%m%d%H%M}"
            known = occ.moved_to if occ.skipped and occ.moved_to is not None else was  # a moved date cancelled: its new time
            draw = functools.partial(notices.event_change, event=event, was=known, at=moved, zone=tz)
            for chat_id, sent_at in told.get((eid, occ.occurrence), {}).items():
                # sent before the change, or in the same second (the log keeps seconds): told
                if occ.updated_at is not None and sent_at <= occ.updated_at:
                    push = Push(PushKey("event_change", eid, occ.occurrence, slot, chat_id), draw)
                    plan.pushes.append(push)
                    changes_to_check.append(push.key)
    if changes_to_check:  # the few words of a change: those already sent or dropped are left out
        finished = await repos.pushes.finished_keys(changes_to_check)
        if finished:
            for plan in plans:
                plan.pushes = [push for push in plan.pushes if push.key not in finished]
    return plans, quiet


def followup_remind_at(due_on: date, due_at: datetime, tz: tzinfo) -> datetime:
    """09:00 local on the due day, or the due moment itself if that is earlier."""
    return min(datetime.combine(due_on, FOLLOWUP_AT, tzinfo=tz), due_at.astimezone(tz))


async def followup_pushes(app: Host, now: datetime) -> list[Push]:
    """Reminders of due follow-ups not sent yet (one query, whatever the history)."""
    repos, tz = repos_of(app), zone(app)
    out = []
    for due in await repos.pushes.followups_unsent(now + timedelta(days=1), now, LEASE):
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


async def _rewound(app: Host, now: datetime) -> None:
    """Tests (and a corrected clock) may go back in time: then everything is looked at again."""
    extras: dict[str, Any] = app.services.extras
    last = extras.get("scheduler.swept")
    if last is not None and now < last:
        repos = repos_of(app)
        await repos.tasks.replan_all()
        await repos.events.replan_all()
    extras["scheduler.swept"] = now if last is None else max(last, now)


async def collect(app: Host, now: datetime) -> list[Push]:
    """Every push due at ``now``, still useful and not yet sent or dropped in the push log
    (one claimed by someone else is held by :func:`deliver`, which checks when it claims). Tasks and events whose due pushes are all sent or dropped are planned on to
    their next moment. All of them in one list (tests, tools): :func:`run_due` sends them
    batch by batch (:func:`sweep_batches`) and never holds them all."""
    out: list[Push] = []
    async for pushes, _waiting in sweep_batches(app, now):
        out += pushes
    return out


# (table, id, plan revision, next moment, the keys of its pushes still to send)
_Waiting = tuple[str, int, int, "datetime | None", list[PushKey]]


async def sweep_batches(app: Host, now: datetime) -> AsyncIterator[tuple[list[Push], list[_Waiting]]]:
    """:func:`collect` batch by batch (the tasks due in batches of about
    :data:`TASK_UNITS_BATCH` units, the events :data:`EVENT_BATCH` at a time, then the
    follow-ups), with the tasks and events of each batch that wait for its pushes to be sent:
    once they are (:func:`_advance_delivered`), they are planned on at once, not worked out
    again by :func:`next_push_at` and the next sweep. The next batch is read only when the
    caller asks for it, so a sweep that sends each batch before the next holds one batch of
    pushes at a time, whatever the number of tasks and events due."""
    await _rewound(app, now)
    async for plans in _task_plans(app, now):
        yield await _settle(app, plans)
    async for plans, quiet in _event_plans(app, now):
        yield await _settle(app, plans, quiet)
    yield await followup_pushes(app, now), []


async def _settle(app: Host, plans: list[_Plan], quiet_events: _Quiet = ()) -> tuple[list[Push], list[_Waiting]]:  # type: ignore[assignment]
    """The pushes of these plans not yet sent or dropped, and the plans that wait for them;
    the plans with none left (and the ``quiet_events``, with nothing to push) are planned on
    to their next moment."""
    repos = repos_of(app)
    finished = await repos.pushes.finished_keys(
        push.key for plan in plans if not plan.checked for push in plan.pushes
    )
    out: list[Push] = []
    waiting: list[_Waiting] = []
    done: dict[str, list[tuple[int, int, datetime | None]]] = {"tasks": [], "events": [*quiet_events]}
    for plan in plans:
        keys = []
        for push in plan.pushes:
            if push.key not in finished:
                keys.append(push.key)
                # a push claimed by someone else goes on too: deliver() finds the claim, holds
                # the push and plans a run for the moment the claim can be taken back (a
                # process that died is replaced within a minute, not at the next sweep)
                out.append(push)
        if keys:
            waiting.append((plan.table, plan.ref_id, plan.rev, plan.next_at, keys))
        else:
            done[plan.table].append((plan.ref_id, plan.rev, plan.next_at))
    await repos.tasks.advance(done["tasks"])
    await repos.events.advance(done["events"])
    return out, waiting


async def _advance_delivered(app: Host, waiting: list[_Waiting], outcome: Outcome) -> None:
    """The tasks and events of a batch of :func:`sweep_batches` whose pushes :func:`deliver` all sent or
    dropped are planned on to their next moment (one that failed, was held or was found sent
    by someone else is left to the next sweep, as before)."""
    settled = {*outcome.sent, *outcome.dropped}
    done: dict[str, list[tuple[int, int, datetime | None]]] = {"tasks": [], "events": []}
    for table, ref_id, rev, at, keys in waiting:
        if all(key in settled for key in keys):
            done[table].append((ref_id, rev, at))
    repos = repos_of(app)
    await repos.tasks.advance(done["tasks"])
    await repos.events.advance(done["events"])


# -- running --------------------------------------------------------------------------------
def _lock(app: Host) -> asyncio.Lock:
    extras: dict[str, Any] = app.services.extras
    lock = extras.get("scheduler.lock")
    if lock is None:
        lock = extras["scheduler.lock"] = asyncio.Lock()
    return lock


async def run_due(app: Host, now: datetime | None = None) -> Outcome:
    """Send every push due at ``now`` (default: the current moment), then plan the next wake."""
    async with _lock(app):
        now = now or now_of(app)
        outcome = Outcome()
        # batch by batch: each batch is sent and its tasks and events planned on before the
        # next is read, so a sweep holds one batch's pushes, not 10,000 events' notices
        async for pushes, waiting in sweep_batches(app, now):
            sent = Outcome()
            for start in range(0, len(pushes), DELIVER_CHUNK):  # deliver holds a task per push
                sent.merge(await deliver(app, pushes[start:start + DELIVER_CHUNK], now))
            await _advance_delivered(app, waiting, sent)
            outcome.merge(sent)
            del pushes, waiting
        await plan(app, now)
    jobs = app.services.jobs
    if outcome.failed and jobs is not None:
        jobs.once(RETRY, RETRY_SECONDS, functools.partial(run_due, app))
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


async def next_push_at(app: Host, now: datetime, *, afresh: bool = True) -> datetime | None:
    """The next moment after ``now`` at which some push falls due: the earliest planned
    moment of the tasks and events and the coming follow-ups' reminders (one query), worked
    out afresh only for the tasks and events due or changed; with ``afresh=False`` (at
    start-up) not even those: if any is due, new or changed, ``now`` (the run at ``now``
    works them out and plans again)."""
    repos, tz = repos_of(app), zone(app)
    planned, due_now, coming = await repos.pushes.wake_facts(now, now + timedelta(days=2))  # one query
    moments = [at for at in (planned,) if at]
    for due_on, due_at in coming:
        at = followup_remind_at(due_on, due_at, tz)
        if at > now:
            moments.append(at)
    if not due_now:
        return min(moments, default=None)
    if not afresh:
        return now
    # tasks or events due, changed or new: worked out afresh (more queries, by the work due)
    tasks = await repos.tasks.due(now)
    pending = await repos.tasks.pending_counts([task.id for task, _ in tasks]) if tasks else {}
    for task, _ in tasks:
        if pending.get(task.id):
            moments.append(_task_next_at(task, [Lead.parse(code) for code in task.leads], tz, now))
    memo: _SlotsMemo = {}
    async for due in _due_events(repos, now):
        quiet = []  # events looked at afresh with nothing due now: planned on at once
        changes_of = await _arrangements(repos, [eid for eid, *_ in due], now, tz)
        for eid, rev, rule, leads in due:
            changes = changes_of.get(eid, {})
            alike = _alike(rule, leads, changes, now, tz, memo)
            at = alike.next_at
            if at is not None:
                moments.append(at)
            # a skipped or moved occurrence may owe its groups a word: left to collect()
            if not alike.due and not (changes and _changed(changes, alike.rule, now, tz)):
                quiet.append((eid, rev, at))
        await repos.events.advance(quiet)
    return min(moments, default=None)


async def plan(app: Host, now: datetime, *, afresh: bool = True) -> datetime | None:
    """(Re)build the wake-up job from the database; returns its time (``afresh``: see
    :func:`next_push_at`)."""
    at = await next_push_at(app, now, afresh=afresh)
    jobs = app.services.jobs
    if jobs is not None:
        jobs.cancel(WAKE)
        if at is not None:
            jobs.once(WAKE, at, functools.partial(_wake, app, at))
    return at


def poke(app: Host) -> None:
    """Run the scheduler as soon as possible (after an admin saved something)."""
    jobs = app.services.jobs
    if jobs is not None:
        jobs.once(POKE, 0, functools.partial(run_due, app))


async def start(app: Host) -> None:
    """At start: the sweep (its first run, right away, catches up on missed pushes) and the
    wake-up job, both rebuilt from the database."""
    jobs = app.services.jobs
    if jobs is None:
        log.warning("no job queue: reminders and notices will not be sent")
        return
    jobs.every(SWEEP, SWEEP_SECONDS, 1, functools.partial(run_due, app))
    # nothing is worked out before ready: 10,000 events just added (or changed while the bot
    # was down) are planned by the run right after start, not one by one in start-up
    await plan(app, now_of(app), afresh=False)


async def _wake(app: Host, at: datetime) -> None:
    """A wake-up never runs "before" its own time, even if the clocks disagree slightly."""
    await run_due(app, max(now_of(app), at))
