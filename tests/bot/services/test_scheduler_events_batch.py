"""The sweep's events by the work due (issue 11): the events due are read by rule, worked out
once for all the events alike, and the groups still owed a notice come with the push log's
answer in one query; an event's texts are read only when it has a push to make."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.rules.recurrence import DEFAULT_EVENT_LEADS, MONTHLY_WEEKDAY, Rule
from bot.services import scheduler
from bot.simulator import Simulator
from storage.pushes import PushKey
from tests.conftest import RED_GROUP, SUN_GROUP, Org, setup_groups
from tests.conftest import local as at
from tests.helpers.scheduler import Statements, handed_to_deliver

FRIDAY = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30)  # Friday 4 December 14:30
NOTICE = at(2026, 12, 1, 9)  # its 3-day notices are due
CREATED = at(2026, 11, 2, 10)


@pytest.fixture
async def groups(sim: Simulator, org: Org) -> Org:
    await setup_groups(sim, org)
    return org


async def add_events(sim: Simulator, org: Org, n: int, *, start: int = 0, rule: Rule = FRIDAY) -> list[int]:
    ids = []
    for k in range(start, start + n):
        event, _ = await sim.app.services.repos.events.create(
            token=f"ev{k}", title=f"讲堂{k}", rule=rule.to_dict(), place="", speaker="",
            leads=[lead.code for lead in DEFAULT_EVENT_LEADS], audience="secretaries",
            organiser=org.township_admin.id, scope_unit_id=org.township.id,
            unit_ids=[org.village.id, org.other_village.id], now=CREATED,
        )
        ids.append(event.id)
    return ids


async def test_the_first_sweep_of_events_just_added_costs_the_same_statements_for_10_and_200(
    sim: Simulator, groups: Org
) -> None:
    """10 events just added, then 200: the sweep that makes their first notices runs the same
    statements (set-based: no query per event, per group or per push)."""
    await add_events(sim, groups, 10)
    async with Statements(sim) as ten:
        pushes = await scheduler.collect(sim.app, NOTICE)
    assert len(pushes) == 20  # two groups each
    await add_events(sim, groups, 190, start=10)
    async with Statements(sim) as two_hundred:
        pushes = await scheduler.collect(sim.app, NOTICE)
    assert len(pushes) == 400 and len({p.key for p in pushes}) == 400
    assert ten.n == two_hundred.n


async def test_events_alike_are_worked_out_once_per_sweep(sim: Simulator, groups: Org, monkeypatch) -> None:
    """30 events with the same rule and leads and one with another: their slots are worked
    out twice in a sweep, not 31 times (nor once per batch)."""
    await add_events(sim, groups, 30)
    await add_events(sim, groups, 1, start=30, rule=FRIDAY.replace(hour=15))
    monkeypatch.setattr(scheduler, "EVENT_BATCH", 7)
    calls = []
    arranged = scheduler.arranged_slots

    def counted(*args, **kw):
        calls.append(args[0])
        return arranged(*args, **kw)

    monkeypatch.setattr(scheduler, "arranged_slots", counted)
    pushes = await scheduler.collect(sim.app, NOTICE)
    assert len(pushes) == 62
    assert sorted(rule.hour for rule in calls) == [14, 15]


@pytest.mark.parametrize(("status", "owed"), [("sent", False), ("dropped", False), ("failed", True), ("claimed", True)])
async def test_a_group_is_owed_a_notice_until_the_log_holds_it_sent_or_dropped(
    sim: Simulator, groups: Org, status: str, owed: bool
) -> None:
    """The push log's answer comes with the groups: a notice sent or dropped is not made
    again; one that failed, or was claimed by a process that stopped, still is."""
    (event_id,) = await add_events(sim, groups, 1)
    repos = sim.app.services.repos
    pushes = await scheduler.collect(sim.app, NOTICE)
    assert {p.key.chat_id for p in pushes} == {RED_GROUP, SUN_GROUP}
    (red,) = [p.key for p in pushes if p.key.chat_id == RED_GROUP]
    assert await repos.pushes.claim(red, NOTICE, scheduler.LEASE)
    if status == "sent":
        await repos.pushes.sent(red, 1, NOTICE)
    elif status == "dropped":
        await repos.pushes.dropped(red, "chat gone")
    elif status == "failed":
        await repos.pushes.failed(red, "timed out")
    again = await scheduler.collect(sim.app, NOTICE)
    assert {p.key.chat_id for p in again} == ({RED_GROUP, SUN_GROUP} if owed else {SUN_GROUP})
    assert await repos.events.owed_chats([(event_id, red.occurrence, red.slot)]) == {
        (event_id, red.occurrence, red.slot): sorted([RED_GROUP, SUN_GROUP] if owed else [SUN_GROUP])
    }
    # another slot of the same occurrence is owed to both
    assert await repos.events.owed_chats([(event_id, red.occurrence, "m60")]) == {
        (event_id, red.occurrence, "m60"): sorted([RED_GROUP, SUN_GROUP])
    }


async def test_a_group_that_takes_no_notices_is_owed_none(sim: Simulator, groups: Org) -> None:
    (event_id,) = await add_events(sim, groups, 1)
    repos = sim.app.services.repos
    await repos.db.write("UPDATE chats SET notices = 0 WHERE chat_id = ?", (SUN_GROUP,))
    pushes = await scheduler.collect(sim.app, NOTICE)
    assert [p.key for p in pushes] == [PushKey("event_notice", event_id, "2026-12-04", "d3@09:00", RED_GROUP)]


async def test_an_event_changed_while_its_batch_is_read_is_left_to_the_next_run(
    sim: Simulator, groups: Org, monkeypatch
) -> None:
    """Its rule is read first, its texts after: an event edited in between (its plan
    revision moved on) makes no push from a mix of the two, and is worked out afresh next."""
    (event_id,) = await add_events(sim, groups, 1)
    repos = sim.app.services.repos
    many = repos.events.many
    edited = []

    async def edit_first(ids):
        if not edited:
            edited.append(await repos.events.update(
                event_id, title="改过的讲堂", rule=FRIDAY.to_dict(), place="", speaker="",
                leads=[lead.code for lead in DEFAULT_EVENT_LEADS], audience="secretaries",
                unit_ids=[groups.village.id, groups.other_village.id], now=NOTICE,
            ))
        return await many(ids)

    monkeypatch.setattr(repos.events, "many", edit_first)
    assert await scheduler.collect(sim.app, NOTICE) == []
    assert [e.id for e, _ in await repos.events.due(NOTICE)] == [event_id]  # not planned on
    pushes = await scheduler.collect(sim.app, NOTICE + timedelta(minutes=5))
    assert {p.key.chat_id for p in pushes} == {RED_GROUP, SUN_GROUP}
    t = sim.app.services.catalogs.get(None)
    assert all("改过的讲堂" in p.render(t)[0] for p in pushes)


async def test_run_due_hands_a_batch_to_deliver_a_chunk_at_a_time(sim: Simulator, groups: Org, monkeypatch) -> None:
    """deliver() holds a task per push: a batch of events' notices is handed over at most
    DELIVER_CHUNK at a time, each sent once, and the batch's events planned on once all are."""
    await add_events(sim, groups, 6)
    monkeypatch.setattr(scheduler, "EVENT_BATCH", 4)
    monkeypatch.setattr(scheduler, "DELIVER_CHUNK", 3)
    handed = handed_to_deliver(monkeypatch)
    outcome = await scheduler.run_due(sim.app, NOTICE)
    assert handed == [3, 3, 2, 3, 1]  # 8 notices of the first four events, then 4 of the last two
    assert len(outcome.sent) == len(set(outcome.sent)) == 12
    assert await sim.app.services.repos.events.due(NOTICE) == []
    assert await scheduler.collect(sim.app, NOTICE + timedelta(minutes=5)) == []


async def test_the_working_out_kept_for_events_alike_is_bounded(sim: Simulator, groups: Org, monkeypatch) -> None:
    """Events each with a rule of its own: the sweep keeps at most ALIKE_MEMO workings-out
    (memory bounded whatever the number of events), and still sends every notice once."""
    for k in range(8):
        await add_events(sim, groups, 1, start=k, rule=FRIDAY.replace(minute=k))
    monkeypatch.setattr(scheduler, "ALIKE_MEMO", 4)
    monkeypatch.setattr(scheduler, "EVENT_BATCH", 2)
    sizes = []
    alike = scheduler._alike

    def watched(rule, leads, changes, now, tz, memo):
        got = alike(rule, leads, changes, now, tz, memo)
        sizes.append(len(memo))
        return got

    monkeypatch.setattr(scheduler, "_alike", watched)
    pushes = await scheduler.collect(sim.app, NOTICE)
    assert len(pushes) == len({p.key for p in pushes}) == 16
    assert len(sizes) == 8 and max(sizes) <= 4
