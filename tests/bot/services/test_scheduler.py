"""The scheduler through the real Application: reminders at the right local times, exactly once
through restarts, crashes and two instances; missed pushes caught up or dropped; groups that
removed the bot. Time is chosen by the tests (``run_due(app, now)``), never waited for."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from telegram.request import RequestData

from bot.fakebot import FakeBotAPI
from bot.rules.deadlines import DEFAULT_TASK_LEADS
from bot.rules.recurrence import DEFAULT_EVENT_LEADS, MONTHLY_WEEKDAY, Rule
from bot.services import scheduler
from bot.simulator import Simulator
from storage.pushes import PushKey
from tests.conftest import (
    MEMBER,
    OTHER_SECRETARY,
    RED_GROUP,
    SECRETARY,
    SUN_GROUP,
    TOWN_GROUP,
    TOWNSHIP_ADMIN,
    Clock,
    Org,
    setup_groups,
    start_clocked,
)
from tests.conftest import local as at
from tests.helpers.scheduler import Statements, add_lecture, add_task, handed_to_deliver


def sends(sim: Simulator) -> list[tuple[int, str]]:
    """(chat, text) of every message the bot sent so far, then forget them."""
    out = [(c.chat_id, c.text) for c in sim.api.calls if c.method in ("sendMessage", "sendPhoto") and not isinstance(c.result, tuple)]
    sim.api.clear()
    return out


@pytest.fixture
async def groups(sim: Simulator, org: Org) -> Org:
    await setup_groups(sim, org)
    return org


# -- tasks ----------------------------------------------------------------------------------
async def test_a_new_task_is_announced_once_to_each_units_groups_and_secretaries(sim: Simulator, groups: Org) -> None:
    created = at(2026, 11, 22, 10)
    await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    sim.api.clear()
    outcome = await scheduler.run_due(sim.app, created)
    (call,) = [c for c in sim.api.calls if c.chat_id == SECRETARY]
    assert call.buttons() == [{"text": "✅ 已完成", "callback_data": f"task:done:1.{groups.village.id}"}]
    got = sends(sim)
    assert sorted(chat for chat, _ in got) == sorted([RED_GROUP, SECRETARY, SUN_GROUP, OTHER_SECRETARY])
    assert len(outcome.sent) == 4
    text = dict(got)[SECRETARY]
    assert "新任务" in text and "红旗村" in text and "2026年11月30日星期一 23:59" in text and "还有8天" in text
    assert TOWN_GROUP not in dict(got)  # the township group is not a responsible unit
    await scheduler.run_due(sim.app, created + timedelta(minutes=5))
    assert sends(sim) == []


@pytest.mark.parametrize(
    ("created", "deadline", "expected"),
    [
        # across the year boundary
        (at(2026, 12, 20, 10), at(2027, 1, 2, 23, 59),
         [at(2026, 12, 26, 9), at(2026, 12, 30, 9), at(2027, 1, 1, 9), at(2027, 1, 2, 9)]),
        # across the end of February (2027: 28 days)
        (at(2027, 2, 10, 10), at(2027, 3, 2, 23, 59),
         [at(2027, 2, 23, 9), at(2027, 2, 27, 9), at(2027, 3, 1, 9), at(2027, 3, 2, 9)]),
        # 月底前 in a leap February
        (at(2028, 2, 3, 10), at(2028, 2, 29, 23, 59),
         [at(2028, 2, 22, 9), at(2028, 2, 26, 9), at(2028, 2, 28, 9), at(2028, 2, 29, 9)]),
    ],
)
async def test_reminders_fall_due_at_nine_local_time_and_nowhere_else(sim, groups, created, deadline, expected) -> None:
    await add_task(sim, groups, deadline=deadline, created=created)
    await scheduler.run_due(sim.app, created)
    sends(sim)  # the announcement
    moments = []
    now = created.replace(minute=0) + timedelta(hours=1)
    while now < deadline + timedelta(hours=2):
        assert await scheduler.next_push_at(sim.app, now - timedelta(minutes=1)) >= now - timedelta(minutes=1)
        await scheduler.run_due(sim.app, now)
        got = sends(sim)
        if got:
            moments.append(now)
            assert sorted(c for c, _ in got) == sorted([RED_GROUP, SECRETARY, SUN_GROUP, OTHER_SECRETARY])
            assert all("任务提醒" in text for _, text in got)
        now += timedelta(hours=1)
    assert moments == expected


async def test_the_wake_up_job_is_planned_from_the_database(sim, groups) -> None:
    created = at(2026, 12, 20, 10)
    await add_task(sim, groups, deadline=at(2027, 1, 2, 23, 59), created=created)
    assert await scheduler.plan(sim.app, created) == at(2026, 12, 26, 9)
    (job,) = sim.app.job_queue.get_jobs_by_name(scheduler.WAKE)
    assert job.job.trigger.run_date == at(2026, 12, 26, 9)


async def test_units_that_are_done_are_not_reminded(sim, groups) -> None:
    created = at(2026, 11, 22, 10)
    task = await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    await scheduler.run_due(sim.app, created)
    sends(sim)
    await sim.app.services.repos.tasks.mark_done(task.id, groups.village.id, groups.secretary.id, created)
    await scheduler.run_due(sim.app, at(2026, 11, 23, 9))
    assert sorted(c for c, _ in sends(sim)) == sorted([SUN_GROUP, OTHER_SECRETARY])


async def test_after_the_deadline_a_daily_overdue_notice_and_a_list_of_who_is_late(sim, groups) -> None:
    created = at(2026, 11, 22, 10)
    task = await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    await sim.app.services.repos.tasks.mark_done(task.id, groups.village.id, groups.secretary.id, created)
    await scheduler.run_due(sim.app, at(2026, 12, 1, 8, 59))
    assert sends(sim) == []  # the night after the deadline: nothing yet
    await scheduler.run_due(sim.app, at(2026, 12, 1, 9))
    got = sends(sim)
    assert sorted(c for c, _ in got) == sorted([SUN_GROUP, OTHER_SECRETARY, TOWNSHIP_ADMIN, TOWN_GROUP])
    notice = dict(got)[SUN_GROUP]
    assert "温馨提示" in notice and "向阳村" in notice and "已完成" in notice
    for word in ("批评", "通报", "排名", "倒数"):  # polite: no shaming, no ranking
        assert word not in notice
    late = dict(got)[TOWN_GROUP]
    assert "已完成:1/2" in late and "尚未标记完成:向阳村" in late and "红旗村" not in late.split("尚未标记完成")[1]
    assert dict(got)[TOWNSHIP_ADMIN] == late
    await scheduler.run_due(sim.app, at(2026, 12, 1, 15))
    assert sends(sim) == []  # once a day
    await scheduler.run_due(sim.app, at(2026, 12, 2, 9))
    assert len(sends(sim)) == 4
    await sim.app.services.repos.tasks.close(task.id, groups.township_admin.id, at(2026, 12, 2, 10))
    await scheduler.run_due(sim.app, at(2026, 12, 3, 9))
    assert sends(sim) == []


# -- restarts, outages, crashes, two instances ------------------------------------------------
async def test_a_restart_sends_nothing_twice_and_rebuilds_the_jobs(settings, org) -> None:
    clock = Clock(at(2026, 11, 22, 10))
    first = await start_clocked(settings, clock)
    await setup_groups(first, org)
    await add_task(first, org, deadline=at(2026, 11, 30, 23, 59), created=clock.now)
    await add_lecture(first, org, clock.now)
    clock.now = at(2026, 11, 23, 9)
    await scheduler.run_due(first.app, clock.now)
    before = sends(first)
    assert before  # reminders and the lecture notice went out
    await first.stop()

    second = await start_clocked(settings, clock)
    try:
        (job,) = second.app.job_queue.get_jobs_by_name(scheduler.WAKE)
        assert job.job.trigger.run_date == at(2026, 11, 27, 9)  # the next push, from the database
        assert second.app.job_queue.get_jobs_by_name(scheduler.SWEEP)
        second.api.clear()
        for minutes in (0, 1, 30, 120):
            await scheduler.run_due(second.app, clock.now + timedelta(minutes=minutes))
        assert sends(second) == []
    finally:
        await second.stop()


async def test_the_jobs_rebuilt_at_start_catch_up_and_wake_on_time(settings, org) -> None:
    """What the JobQueue would run, run directly: the first sweep after a restart sends what
    fell due while the bot was down; the wake-up job sends the next push at its time."""
    clock = Clock(at(2026, 11, 22, 10))
    first = await start_clocked(settings, clock)
    await setup_groups(first, org)
    await add_task(first, org, deadline=at(2026, 11, 30, 23, 59), created=clock.now)
    await scheduler.run_due(first.app, clock.now)
    await first.stop()
    clock.now = at(2026, 11, 23, 11)  # down over the 7-day reminder (23 November 09:00)
    second = await start_clocked(settings, clock)
    try:
        second.api.clear()
        (sweep,) = second.app.job_queue.get_jobs_by_name(scheduler.SWEEP)
        await sweep.run(second.app)
        assert sorted(c for c, _ in sends(second)) == sorted([RED_GROUP, SECRETARY, SUN_GROUP, OTHER_SECRETARY])
        (wake,) = second.app.job_queue.get_jobs_by_name(scheduler.WAKE)
        assert wake.job.trigger.run_date == at(2026, 11, 27, 9)
        clock.now = at(2026, 11, 27, 9) - timedelta(seconds=2)  # the clock lags the job a little
        await wake.run(second.app)
        got = sends(second)
        assert len(got) == 4 and all("还有3天" in text for _, text in got)
    finally:
        await second.stop()


async def test_start_up_works_nothing_out_and_wakes_at_once_for_what_is_new(settings, org) -> None:
    """Events added (or changed) while the bot was down are not planned one by one before the
    bot is ready: the wake-up is at once, and that run plans them (then the next push)."""
    clock = Clock(at(2026, 11, 22, 10))
    first = await start_clocked(settings, clock)
    await setup_groups(first, org)
    await first.stop()
    second = await start_clocked(settings, clock)
    try:
        event = await add_lecture(second, org, clock.now)
        await second.stop()
        third = await start_clocked(settings, clock)
        repos = third.app.services.repos
        (wake,) = third.app.job_queue.get_jobs_by_name(scheduler.WAKE)
        assert wake.job.trigger.run_date == clock.now  # at once
        assert [e.id for e, _ in await repos.events.due(clock.now)] == [event.id]  # not planned yet
        third.api.clear()
        await wake.run(third.app)
        assert await repos.events.due(clock.now) == []  # planned by that run
        (wake,) = third.app.job_queue.get_jobs_by_name(scheduler.WAKE)
        assert wake.job.trigger.run_date == at(2026, 12, 1, 9)  # 3 days before Friday 4 December
        assert sends(third) == []
        await third.stop()
    finally:
        if second.started:
            await second.stop()


async def test_pushes_missed_while_down_are_caught_up_if_still_useful(sim, groups) -> None:
    created = at(2026, 12, 20, 10)
    await add_task(sim, groups, deadline=at(2027, 1, 2, 23, 59), created=created)
    await scheduler.run_due(sim.app, created)
    sends(sim)
    # down from before the 7-day and the 3-day reminder until the evening after the 3-day one:
    # only the newest (3 days) goes out, once
    outcome = await scheduler.run_due(sim.app, at(2026, 12, 30, 20))
    assert {k.slot for k in outcome.sent} == {"d3@09:00"} and len(outcome.sent) == 4
    assert all("还有3天" in text for _, text in sends(sim))
    # down across the deadline: the reminders are dropped; the overdue notice goes at 09:00
    assert (await scheduler.run_due(sim.app, at(2027, 1, 3, 8))).sent == []
    outcome = await scheduler.run_due(sim.app, at(2027, 1, 3, 11))
    assert {k.kind for k in outcome.sent} == {"task_overdue", "task_late"}


async def test_event_notices_missed_while_down_are_sent_only_before_the_event(sim, groups) -> None:
    await add_lecture(sim, groups, at(2026, 11, 20, 10))
    # the notice of Friday 4 December was due on 1 December 09:00; the bot is back on the 3rd
    outcome = await scheduler.run_due(sim.app, at(2026, 12, 3, 18))
    assert [(k.chat_id, k.occurrence, k.slot) for k in outcome.sent] == [(TOWN_GROUP, "2026-12-04", "d3@09:00")]
    (notice,) = [text for _, text in sends(sim)]
    assert "五星支部创建大讲堂" in notice and "2026年12月4日星期五 14:30" in notice and "镇党委会议室" in notice
    outcome = await scheduler.run_due(sim.app, at(2026, 12, 4, 13))
    assert [k.slot for k in outcome.sent] == ["m120"]
    assert "即将开始" in sends(sim)[0][1]
    # back only after the lecture began: nothing for it (the next one is a month away)
    assert (await scheduler.run_due(sim.app, at(2026, 12, 4, 15))).sent == []


async def test_two_instances_over_one_database_send_each_push_once(settings, org) -> None:
    clock = Clock(at(2026, 11, 22, 10))
    one = await start_clocked(settings, clock)
    two = await start_clocked(settings, clock)
    try:
        await setup_groups(one, org)
        await add_task(one, org, deadline=at(2026, 11, 30, 23, 59), created=clock.now)
        await add_lecture(one, org, clock.now)
        for now in (at(2026, 11, 22, 10), at(2026, 11, 23, 9), at(2026, 11, 27, 9)):
            await asyncio.gather(scheduler.run_due(one.app, now), scheduler.run_due(two.app, now))
        got = sends(one) + sends(two)
        records = await one.app.services.repos.pushes.records()
        assert len(got) == len(records) == len({(r.key.group, r.key.chat_id) for r in records})
        assert all(r.status == "sent" for r in records)
    finally:
        await two.stop()
        await one.stop()


class FlakyAPI(FakeBotAPI):
    """Answers 502 Bad Gateway to the first send to each chat in ``flaky``; hangs forever on
    sends to ``hang`` (a process that dies there)."""

    def __init__(self, *, flaky: set[int] = frozenset(), hang: set[int] = frozenset(), **kw) -> None:
        super().__init__(**kw)
        self.flaky, self.hang = set(flaky), set(hang)
        self.started = asyncio.Event()

    async def do_request(self, url, method, request_data: RequestData | None = None, *args, **kwargs):
        chat = int((request_data.parameters if request_data else {}).get("chat_id", 0) or 0)
        if url.endswith("/sendMessage") and chat in self.hang:
            self.started.set()
            await asyncio.Event().wait()
        if url.endswith("/sendMessage") and chat in self.flaky:
            self.flaky.discard(chat)
            return 502, json.dumps({"ok": False, "error_code": 502, "description": "Bad Gateway"}).encode()
        return await super().do_request(url, method, request_data, *args, **kwargs)


async def test_a_failed_send_is_retried_not_lost(settings, org) -> None:
    clock = Clock(at(2026, 11, 22, 10))
    sim = await start_clocked(settings, clock, FlakyAPI(flaky={SUN_GROUP}))
    try:
        await setup_groups(sim, org)
        await add_task(sim, org, deadline=at(2026, 11, 30, 23, 59), created=clock.now)
        outcome = await scheduler.run_due(sim.app, clock.now)
        assert [k.chat_id for k in outcome.failed] == [SUN_GROUP]
        assert sim.app.job_queue.get_jobs_by_name(scheduler.RETRY)  # a retry is planned
        assert SUN_GROUP not in dict(sends(sim))
        outcome = await scheduler.run_due(sim.app, clock.now + timedelta(minutes=1))
        assert [k.chat_id for k in outcome.sent] == [SUN_GROUP]
        assert [c for c, _ in sends(sim)] == [SUN_GROUP]
    finally:
        await sim.stop()


async def test_a_crash_mid_burst_neither_loses_nor_repeats_a_push(settings, org) -> None:
    clock = Clock(at(2026, 11, 22, 10))
    api = FlakyAPI(hang={SUN_GROUP})
    first = await start_clocked(settings, clock, api)
    await setup_groups(first, org)
    await add_task(first, org, deadline=at(2026, 11, 30, 23, 59), created=clock.now)
    burst = asyncio.ensure_future(scheduler.run_due(first.app, clock.now))
    await api.started.wait()
    repos = first.app.services.repos
    burst.cancel()  # the process dies while one send is in flight (sends go one at a time)
    with pytest.raises(asyncio.CancelledError):
        await burst
    delivered = {c for c, _ in sends(first)}
    everyone = {RED_GROUP, SUN_GROUP, SECRETARY, OTHER_SECRETARY}
    assert SUN_GROUP not in delivered and delivered < everyone
    # a process killed outright leaves its claim behind: simulate one for the secretary's reminder
    orphan = PushKey("task_new", 1, "2026-11-30T23:59", "", 107)
    await repos.org.add_person("郑书记", "secretary", org.other_village.id, telegram_id=107)
    assert await repos.pushes.claim(orphan, clock.now, scheduler.LEASE)
    await first.stop()

    second = await start_clocked(settings, clock)
    try:
        outcome = await scheduler.run_due(second.app, clock.now + timedelta(seconds=30))
        assert {k.chat_id for k in outcome.sent} == everyone - delivered  # the rest, not the others again
        assert [k.chat_id for k in outcome.held] == [107]  # the orphaned claim: not yet
        outcome = await scheduler.run_due(second.app, clock.now + scheduler.LEASE + timedelta(seconds=1))
        assert [k.chat_id for k in outcome.sent] == [107]  # the orphaned claim, after its lease
        assert sorted(c for c, _ in sends(second)) == sorted([*(everyone - delivered), 107])
    finally:
        await second.stop()


async def test_a_group_that_removed_the_bot_is_skipped_and_its_binder_told_once(settings, org) -> None:
    clock = Clock(at(2026, 11, 22, 10))
    sim = await start_clocked(settings, clock, FakeBotAPI(forbidden_chats={SUN_GROUP}))
    try:
        await setup_groups(sim, org)
        await add_task(sim, org, deadline=at(2026, 11, 30, 23, 59), created=clock.now)
        await add_task(sim, org, deadline=at(2026, 12, 31, 23, 59), created=clock.now, title="储备项目")
        outcome = await scheduler.run_due(sim.app, clock.now)
        assert outcome.gone_chats == [SUN_GROUP]
        chat = await sim.app.services.repos.chats.get(SUN_GROUP)
        assert chat is not None and not chat.active
        got = sends(sim)
        told = [text for chat_id, text in got if chat_id == TOWNSHIP_ADMIN]
        assert len(told) == 1 and "向阳村党员群" in told[0] and "重新" in told[0]
        await scheduler.run_due(sim.app, at(2026, 11, 23, 9))
        assert [c for c in sim.api.calls if c.chat_id == SUN_GROUP] == []
        assert TOWNSHIP_ADMIN not in dict(sends(sim))
        assert OTHER_SECRETARY in {k.chat_id for k in outcome.sent}  # the unit's secretary still is
    finally:
        await sim.stop()


async def test_private_pushes_carry_only_inline_buttons_and_keep_a_conversation_going(sim, groups) -> None:
    """A reminder arriving in the middle of /schedule does not disturb it."""
    created = at(2026, 11, 22, 10)
    sim.app.services.extras["clock"] = Clock(created)
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("新建", TOWNSHIP_ADMIN)
    task = await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    await sim.app.services.repos.tasks.mark_done(task.id, groups.village.id, groups.secretary.id, created)
    sim.api.clear()
    await scheduler.run_due(sim.app, at(2026, 12, 1, 9))  # the late list goes to the admin privately
    (late,) = [c for c in sim.api.calls if c.chat_id == TOWNSHIP_ADMIN]
    assert late.reply_markup is None
    (reminder,) = [c for c in sim.api.calls if c.chat_id == OTHER_SECRETARY]
    assert set(reminder.reply_markup) == {"inline_keyboard"}
    replies = await sim.send("五星支部创建大讲堂", TOWNSHIP_ADMIN)  # the answer to the title question
    assert "多久举行一次" in replies[-1].text


async def test_a_due_follow_up_is_reminded_privately_to_its_member_once(sim, org) -> None:
    from datetime import date

    from storage.visits import NewVisit

    repos = sim.app.services.repos
    household = await repos.households.add(org.village.id, "张三", phone="13900000000", member_id=org.member.id)
    saved = await repos.visits.save(
        NewVisit(
            token="v1", member_id=org.member.id, household_id=household.id, visited_on=date(2026, 11, 20),
            roles=("survey",), outcome="follow_up", concern_text="院墙倒塌需要清理",
            due_on=date(2026, 11, 25), due_at=at(2026, 11, 25, 23, 59),
        ),
        now=at(2026, 11, 20, 16),
    )
    assert await scheduler.next_push_at(sim.app, at(2026, 11, 24, 12)) == at(2026, 11, 25, 9)
    sim.api.clear()
    assert (await scheduler.run_due(sim.app, at(2026, 11, 25, 8, 59))).sent == []
    await scheduler.run_due(sim.app, at(2026, 11, 25, 9))
    ((chat, text),) = sends(sim)
    assert chat == MEMBER and "张三" in text and "院墙倒塌需要清理" in text and "/followups" in text
    assert "13900000000" not in text
    await scheduler.run_due(sim.app, at(2026, 11, 26, 9))
    assert sends(sim) == []  # once
    await repos.visits.close_followup(saved.followup_id, by_person_id=org.member.id, closed_at=at(2026, 11, 26, 10))
    assert await scheduler.next_push_at(sim.app, at(2026, 11, 26, 12)) is None


# -- by the work due (issue 11) ---------------------------------------------------------------
async def many_villages(sim: Simulator, org: Org, n: int) -> list[int]:
    repo = sim.app.services.repos.org
    ids = []
    for k in range(n):
        village = await repo.add_unit(f"第{k}村", "village", org.township.id)
        await repo.add_person(f"书记{k}", "secretary", village.id, telegram_id=5000 + k)
        await sim.app.services.repos.chats.bind(-5000 - k, f"群{k}", village.id, org.township_admin.id)
        ids.append(village.id)
    return ids


async def sweep_statements(sim: Simulator, org: Org, villages: int, things: int) -> tuple[int, int, int]:
    """SQL statements of the first sweep (all due) and of the next one, and the pushes due."""
    created = at(2026, 11, 2, 10)
    ids = await many_villages(sim, org, villages)
    repos = sim.app.services.repos
    rule = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30)
    for k in range(things):
        await repos.tasks.create(
            token=f"t{k}", title=f"任务{k}", description="", deadline=at(2026, 11, 30, 23, 59),
            leads=[lead.code for lead in DEFAULT_TASK_LEADS], created_by=org.township_admin.id,
            scope_unit_id=org.township.id, unit_ids=ids, now=created,
        )
        await repos.events.create(
            token=f"e{k}", title=f"讲堂{k}", rule=rule.to_dict(), place="", speaker="",
            leads=[lead.code for lead in DEFAULT_EVENT_LEADS], audience="secretaries",
            organiser=org.township_admin.id, scope_unit_id=org.township.id, unit_ids=ids, now=created,
        )
    now = at(2026, 12, 1, 10)  # announcements, the 7-day reminder, the lecture's 3-day notice
    async with Statements(sim) as first:
        pushes = await scheduler.collect(sim.app, now)
    await scheduler.deliver(sim.app, pushes, now)
    assert await scheduler.collect(sim.app, now + timedelta(minutes=5)) == []  # sees them sent
    async with Statements(sim) as later:
        assert await scheduler.collect(sim.app, now + timedelta(minutes=10)) == []
    return first.n, later.n, len(pushes)


async def test_a_sweep_is_a_few_queries_whatever_the_number_of_tasks_events_and_units(settings, org) -> None:
    small = await start_clocked(settings, Clock(at(2026, 11, 2, 10)))
    try:
        few = await sweep_statements(small, org, villages=2, things=1)
    finally:
        await small.stop()
    big_settings = settings.__class__(**{**settings.__dict__, "db_path": settings.db_path.with_name("big.db")})
    big = await start_clocked(big_settings, Clock(at(2026, 11, 2, 10)))
    try:
        big_org = await _org(big)
        many = await sweep_statements(big, big_org, villages=30, things=8)
    finally:
        await big.stop()
    assert many[2] > 10 * few[2]  # far more work due...
    # ...in the same few queries (an overdue task's late lists are checked before its units are read)
    assert many[0] == few[0] <= 16
    assert many[1] == few[1] <= 4  # and once all is sent, a sweep looks at nothing


async def _org(sim: Simulator) -> Org:
    repo = sim.app.services.repos.org
    district = await repo.add_unit("示例区", "district")
    township = await repo.add_unit("东风镇", "township", district.id)
    village = await repo.add_unit("红旗村", "village", township.id, stars=3)
    other = await repo.add_unit("向阳村", "village", township.id, stars=2)
    return Org(
        district, township, village, other,
        await repo.add_person("赵区长", "district_admin", district.id, telegram_id=101),
        await repo.add_person("钱镇长", "township_admin", township.id, telegram_id=102),
        await repo.add_person("孙书记", "secretary", village.id, telegram_id=103),
        await repo.add_person("李党员", "member", village.id, telegram_id=104),
        await repo.add_person("周党员", "member", other.id, telegram_id=105),
    )


async def test_once_sent_a_task_is_not_looked_at_until_its_next_reminder(sim: Simulator, groups: Org) -> None:
    created = at(2026, 11, 22, 10)
    task = await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    repos = sim.app.services.repos
    assert [t.id for t, _ in await repos.tasks.due(created)] == [task.id]  # new
    await scheduler.run_due(sim.app, created)
    # its announcements sent: planned on by the same run, not worked out again by the next
    assert await repos.tasks.due(created + timedelta(minutes=5)) == []
    await scheduler.run_due(sim.app, created + timedelta(minutes=5))
    assert await repos.tasks.due(created + timedelta(minutes=10)) == []
    assert await repos.tasks.next_planned(created) == at(2026, 11, 23, 9)  # the 7-day reminder
    async with Statements(sim) as counted:
        assert await scheduler.next_push_at(sim.app, created + timedelta(minutes=10)) == at(2026, 11, 23, 9)
    assert counted.n == 1  # nothing due: the next wake-up is one query


async def test_a_group_bound_or_a_secretary_joining_later_still_gets_what_is_due(sim: Simulator, groups: Org) -> None:
    created = at(2026, 11, 22, 10)
    await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    await add_lecture(sim, groups, created)
    await scheduler.run_due(sim.app, at(2026, 12, 1, 10))
    await scheduler.run_due(sim.app, at(2026, 12, 1, 10, 5))  # all sent: planned on
    sends(sim)
    repos = sim.app.services.repos
    assert await repos.tasks.due(at(2026, 12, 1, 10, 10)) == [] and await repos.events.due(at(2026, 12, 1, 10, 10)) == []
    new_group, new_secretary = -100200, 107
    await repos.chats.bind(new_group, "东风镇新群", groups.township.id, groups.township_admin.id)
    await repos.org.add_person("郑书记", "secretary", groups.village.id, telegram_id=new_secretary)
    await scheduler.run_due(sim.app, at(2026, 12, 1, 10, 10))
    got = sends(sim)
    assert {chat for chat, _ in got} == {new_group, new_secretary}
    assert any("大讲堂" in text for chat, text in got if chat == new_group)  # the lecture's notice
    assert any("已过" in text for chat, text in got if chat == new_secretary)  # the overdue notice
    assert any("尚未标记完成" in text for chat, text in got if chat == new_group)  # who is late


async def test_a_unit_done_leaves_no_wake_up_for_a_task_all_done(sim: Simulator, groups: Org) -> None:
    created = at(2026, 11, 22, 10)
    task = await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    repos = sim.app.services.repos
    await scheduler.run_due(sim.app, created)
    await scheduler.run_due(sim.app, created + timedelta(minutes=5))
    assert await scheduler.next_push_at(sim.app, created + timedelta(minutes=6)) == at(2026, 11, 23, 9)
    for village in (groups.village, groups.other_village):
        assert await repos.tasks.mark_done(task.id, village.id, groups.secretary.id, created)
    assert await scheduler.next_push_at(sim.app, created + timedelta(minutes=6)) is None


async def test_a_clock_set_back_looks_at_everything_again(sim: Simulator, groups: Org) -> None:
    await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=at(2026, 11, 22, 10))
    await scheduler.run_due(sim.app, at(2026, 11, 29, 10))  # the announcement and the 1-day reminder
    await scheduler.run_due(sim.app, at(2026, 11, 29, 10, 5))  # all sent: planned on to the 30th
    sends(sim)
    outcome = await scheduler.run_due(sim.app, at(2026, 11, 26, 10))  # back in the 7-day reminder's time
    assert {key.kind for key in outcome.sent} == {"task_remind"}
    assert {key.slot for key in outcome.sent} == {"d7@09:00"}


async def test_a_follow_up_reminded_is_not_looked_at_again_and_a_member_joining_later_is_reminded(sim, org) -> None:
    from datetime import date

    from storage.visits import NewVisit

    repos = sim.app.services.repos
    late = await repos.org.add_person("吴党员", "member", org.village.id)  # not joined yet
    for n, member in enumerate((org.member, late)):
        household = await repos.households.add(org.village.id, f"户{n}", member_id=member.id)
        await repos.visits.save(
            NewVisit(
                token=f"v{n}", member_id=member.id, household_id=household.id, visited_on=date(2026, 11, 20),
                roles=("survey",), outcome="follow_up", concern_text="院墙倒塌需要清理",
                due_on=date(2026, 11, 25), due_at=at(2026, 11, 25, 23, 59),
            ),
            now=at(2026, 11, 20, 16),
        )
    sim.api.clear()
    await scheduler.run_due(sim.app, at(2026, 11, 25, 9))
    assert [chat for chat, _ in sends(sim)] == [MEMBER]
    # reminded, or nobody to remind: the sweep's query finds nothing, not even to skip
    assert await repos.pushes.followups_unsent(at(2026, 12, 25), at(2026, 12, 24), scheduler.LEASE) == []
    (left,) = await repos.db.fetchone(
        "SELECT COUNT(*) FROM followups WHERE closed_at IS NULL AND reachable = 1 AND reminded_on IS NOT due_on"
    )
    assert left == 0  # the partial index the sweep reads is empty
    await repos.org.bind_telegram(late.id, 777)
    await scheduler.run_due(sim.app, at(2026, 11, 26, 10))
    assert [chat for chat, _ in sends(sim)] == [777]
    await scheduler.run_due(sim.app, at(2026, 11, 26, 10, 5))
    assert sends(sim) == []


async def test_a_rectification_tasks_overdue_list_goes_to_its_creator_only(sim, groups) -> None:
    """A people-only task (软弱涣散) names its late villages to the creator, never in a group."""
    created = at(2026, 12, 20, 10)
    await sim.app.services.repos.tasks.create(
        token="rect", title="软弱涣散村党组织整顿提升", description="", deadline=at(2027, 1, 2, 23, 59),
        leads=[], created_by=groups.township_admin.id, scope_unit_id=groups.township.id,
        unit_ids=[groups.village.id, groups.other_village.id], now=created, audience="people",
    )
    await scheduler.run_due(sim.app, created)
    assert {chat for chat, _ in sends(sim)} == {SECRETARY, OTHER_SECRETARY}
    outcome = await scheduler.run_due(sim.app, at(2027, 1, 3, 9))
    assert {(k.kind, k.chat_id) for k in outcome.sent} == {
        ("task_overdue", SECRETARY), ("task_overdue", OTHER_SECRETARY), ("task_late", TOWNSHIP_ADMIN)}


async def test_a_task_looked_at_again_builds_no_push_already_sent(sim: Simulator, groups: Org, monkeypatch) -> None:
    """A sweep over a task whose plan was lost (the clock went back, a fresh upgrade) reads
    what was sent first and builds only the rest: a district's tasks would otherwise make
    100,000 pushes to drop them again."""
    created = at(2026, 11, 22, 10)
    task = await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    pushes = await scheduler.collect(sim.app, created)
    assert pushes
    await scheduler.deliver(sim.app, pushes, created)
    await sim.app.services.repos.tasks.replan_all()  # every task looked at afresh
    built = []
    real = scheduler.Push

    def counted(key, draw):
        built.append(key)
        return real(key, draw)

    monkeypatch.setattr(scheduler, "Push", counted)
    later = created + timedelta(minutes=5)
    assert [t.id for t, _ in await sim.app.services.repos.tasks.due(later)] == [task.id]
    assert await scheduler.collect(sim.app, later) == []
    assert built == []
    assert await sim.app.services.repos.tasks.due(later + timedelta(minutes=5)) == []  # planned on


async def test_tasks_worked_out_in_batches_owe_the_same_pushes(sim: Simulator, groups: Org, monkeypatch) -> None:
    created = at(2026, 11, 22, 10)
    for k in range(3):
        await add_task(sim, groups, deadline=at(2026, 11, 30 - k, 23, 59), created=created, title=f"任务{k}")
    later = at(2026, 11, 29, 10)  # a reminder due for each
    whole = sorted((*p.key.group, p.key.chat_id) for p in await scheduler.collect(sim.app, later))
    sizes = []
    batch = scheduler._task_batch

    async def counted(app, due, now, **kw):
        sizes.append(len(due))
        return await batch(app, due, now, **kw)

    monkeypatch.setattr(scheduler, "_task_batch", counted)
    monkeypatch.setattr(scheduler, "TASK_UNITS_BATCH", 2)  # a task has two villages: one task a batch
    assert sorted((*p.key.group, p.key.chat_id) for p in await scheduler.collect(sim.app, later)) == whole
    assert sizes == [1, 1, 1] and len(whole) > 3


# -- a sweep's cost follows the pushes due (issue 11) -----------------------------------------
class Reads:
    """Which units the sweep reads: the repositories' answers, recorded."""

    def __init__(self, sim: Simulator, monkeypatch) -> None:
        repos = sim.app.services.repos
        self.units_of: list[list[int]] = []
        self.facts: list[set[int]] = []
        self.owed: list[dict[int, list[int]]] = []
        units_of, facts, owed = repos.tasks.units_of, repos.chats.reach_facts, repos.tasks.owed_units

        async def read_units(task_ids):
            self.units_of.append(list(task_ids))
            return await units_of(task_ids)

        async def read_facts(unit_ids, *args, **kw):
            self.facts.append(set(unit_ids))
            return await facts(unit_ids, *args, **kw)

        async def read_owed(groups):
            got = await owed(groups)
            self.owed.append({task_id: [u.unit_id for u in units] for task_id, units in got.items()})
            return got

        monkeypatch.setattr(repos.tasks, "units_of", read_units)
        monkeypatch.setattr(repos.chats, "reach_facts", read_facts)
        monkeypatch.setattr(repos.tasks, "owed_units", read_owed)


@pytest.mark.parametrize("when", [at(2026, 11, 25, 10), at(2026, 12, 2, 10)], ids=["announced", "overdue"])
async def test_a_task_whose_pushes_all_went_out_is_looked_at_again_without_reading_its_units(
        sim: Simulator, groups: Org, monkeypatch, when) -> None:
    """A catch-up over tasks whose plans were lost (a fresh upgrade, the clock put back) but
    whose pushes all went out: its units, their reach and its late lists are not read (a
    province's 52 district-wide tasks read 100,000 units for no push)."""
    created = at(2026, 11, 22, 10)
    task = await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    await scheduler.run_due(sim.app, created)
    outcome = await scheduler.run_due(sim.app, when)  # the announcement still owed / overdue, late lists
    if when > task.deadline:
        assert {k.kind for k in outcome.sent} == {"task_overdue", "task_late"}
    sends(sim)
    await sim.app.services.repos.tasks.replan_all()  # every task looked at afresh
    reads = Reads(sim, monkeypatch)
    later = when + timedelta(minutes=5)
    assert [t.id for t, _ in await sim.app.services.repos.tasks.due(later)] == [task.id]
    assert await scheduler.collect(sim.app, later) == []
    assert reads.owed == [{}]  # one query, no unit owed anything
    assert reads.units_of == [] and reads.facts == []
    assert await sim.app.services.repos.tasks.due(later + timedelta(minutes=5)) == []  # planned on


async def test_a_leader_who_joins_later_is_told_of_the_open_task_and_only_their_unit_is_read(
        sim: Simulator, groups: Org, monkeypatch) -> None:
    created = at(2026, 11, 22, 10)
    task = await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    await scheduler.run_due(sim.app, created)
    sends(sim)
    repos = sim.app.services.repos
    await repos.org.add_person("吴书记", "secretary", groups.village.id, telegram_id=7777)  # replans the task
    reads = Reads(sim, monkeypatch)
    later = at(2026, 11, 22, 15)  # before the first reminder: only the new secretary is owed the announcement
    pushes = await scheduler.collect(sim.app, later)
    assert [(p.key.kind, p.key.chat_id) for p in pushes] == [("task_new", 7777)]
    assert reads.owed == [{task.id: [groups.village.id]}] and reads.facts == [{groups.village.id}]
    outcome = await scheduler.run_due(sim.app, later)
    assert [(k.kind, k.chat_id) for k in outcome.sent] == [("task_new", 7777)]
    assert [chat for chat, _ in sends(sim)] == [7777]
    assert await scheduler.collect(sim.app, later + timedelta(minutes=5)) == []


async def test_an_overdue_task_with_a_late_list_still_to_send_reads_its_units_for_it(sim: Simulator, groups: Org) -> None:
    """The late lists are checked without the units; when one is owed (here all of them, the
    task's units are all reached already), the units are read and the list names who is late."""
    created = at(2026, 11, 22, 10)
    task = await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    await scheduler.run_due(sim.app, created)
    sends(sim)
    overdue = at(2026, 12, 2, 10)
    repos = sim.app.services.repos
    for push in await scheduler.collect(sim.app, overdue):  # the overdue notices went out, the lists not
        if push.key.kind == "task_overdue":
            assert await repos.pushes.claim(push.key, overdue, scheduler.LEASE)
            await repos.pushes.sent(push.key, 1, overdue)
    await repos.tasks.replan_all()
    pushes = await scheduler.collect(sim.app, overdue + timedelta(minutes=5))
    assert {(p.key.kind, p.key.ref_id) for p in pushes} == {("task_late", task.id)}
    assert {p.key.chat_id for p in pushes} == {TOWNSHIP_ADMIN, TOWN_GROUP}  # the creator, the township's group
    text, _ = pushes[0].render(scheduler.translator(sim.app))
    assert "红旗村" in text and "向阳村" in text


async def test_run_due_sends_batch_by_batch_and_holds_one_batch_at_a_time(sim: Simulator, groups: Org, monkeypatch) -> None:
    """Ten events due at once, read and sent two at a time: every notice goes out once, and
    no more than one batch's pushes are ever handed to deliver() (10,000 events' notices are
    never held together); each batch's events are planned on once it is sent."""
    rule = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30)  # Friday 4 December
    for k in range(10):
        await sim.app.services.repos.events.create(
            token=f"e{k}", title=f"讲堂{k}", rule=rule.to_dict(), place="", speaker="",
            leads=[lead.code for lead in DEFAULT_EVENT_LEADS], audience="secretaries",
            organiser=groups.township_admin.id, scope_unit_id=groups.township.id,
            unit_ids=[groups.village.id, groups.other_village.id], now=at(2026, 11, 2, 10),
        )
    now = at(2026, 12, 1, 9)  # the 3-day notices
    monkeypatch.setattr(scheduler, "EVENT_BATCH", 2)

    async def planned_on(app, when, calls: int) -> None:
        # the batches already sent are planned on before the next is read
        due = await app.services.repos.events.due(when)
        assert len(due) == 10 - 2 * (calls - 1)

    handed = handed_to_deliver(monkeypatch, planned_on)
    outcome = await scheduler.run_due(sim.app, now)
    per_event = {k.ref_id for k in outcome.sent if k.kind == "event_notice"}
    assert len(per_event) == 10 and len(outcome.sent) == len(set(outcome.sent)) == 20  # two groups each
    assert handed == [4] * 5  # two events' notices, two groups each
    assert await sim.app.services.repos.events.due(now) == []
    assert await scheduler.collect(sim.app, now + timedelta(minutes=5)) == []


async def test_deliver_reads_the_push_log_once_whatever_the_number_of_pushes(sim: Simulator, groups: Org) -> None:
    """What is already sent, dropped or claimed by someone else is one query for all the
    pushes handed over (it was two per push-log group: 20,000 for 10,000 events' notices)."""
    now = at(2026, 12, 1, 9)
    repos = sim.app.services.repos

    def draw(t):
        return "x", None

    async def statements(n: int) -> int:
        keys = [PushKey("event_notice", 9000 + n * 100 + k, "2026-12-04", "d3@09:00", RED_GROUP) for k in range(n)]
        for key in keys[: n // 2]:  # half sent, a quarter claimed by someone else, the rest new
            assert await repos.pushes.claim(key, now, scheduler.LEASE)
            await repos.pushes.sent(key, 1, now)
        for key in keys[n // 2: 3 * n // 4]:
            assert await repos.pushes.claim(key, now, scheduler.LEASE)
        async with Statements(sim) as counted:
            outcome = await scheduler.deliver(sim.app, [scheduler.Push(key, draw) for key in keys[: 3 * n // 4]], now)
        assert outcome.skipped == n // 2 and len(outcome.held) == n // 4 and outcome.sent == []
        return counted.n

    assert await statements(4) == await statements(40) <= 2


async def test_the_sweep_reads_events_without_their_units(sim: Simulator, groups: Org, monkeypatch) -> None:
    """A district event has 2,000 units: the sweep reaches its groups in one query and does
    not read (nor parse) its unit ids; the repository still gives them to everyone else."""
    repos = sim.app.services.repos
    rule = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30)
    event, _ = await repos.events.create(
        token="e", title="讲堂", rule=rule.to_dict(), place="", speaker="",
        leads=[lead.code for lead in DEFAULT_EVENT_LEADS], audience="secretaries",
        organiser=groups.township_admin.id, scope_unit_id=groups.township.id,
        unit_ids=[groups.village.id, groups.other_village.id], now=at(2026, 11, 2, 10),
    )
    now = at(2026, 12, 1, 9)
    [(full, _)] = await repos.events.due(now)
    assert full.unit_ids == tuple(sorted([groups.village.id, groups.other_village.id]))
    seen = []
    many = repos.events.many

    async def recorded(*args, **kw):
        got = await many(*args, **kw)
        seen.extend(e.unit_ids for e, _ in got.values())
        return got

    async def not_read(*args, **kw):
        raise AssertionError("the sweep reads the events due grouped by rule, without their units")

    monkeypatch.setattr(repos.events, "many", recorded)
    monkeypatch.setattr(repos.events, "due", not_read)
    pushes = await scheduler.collect(sim.app, now)
    assert {p.key.chat_id for p in pushes if p.key.ref_id == event.id} == {RED_GROUP, SUN_GROUP}
    assert seen == [()]


@pytest.mark.parametrize("state", ["failed", "claimed"])
async def test_a_push_logged_but_not_sent_keeps_its_unit_owed(sim: Simulator, groups: Org, state) -> None:
    """The units owed are found by the log's keys alone, and by the few pushes claimed or
    failed: a failed send (or the claim of a process that died) is still made again."""
    created = at(2026, 11, 22, 10)
    await add_task(sim, groups, deadline=at(2026, 11, 30, 23, 59), created=created)
    repos = sim.app.services.repos
    pushes = await scheduler.collect(sim.app, created)
    (left,) = [p for p in pushes if p.key.chat_id == OTHER_SECRETARY]
    for push in pushes:
        assert await repos.pushes.claim(push.key, created, scheduler.LEASE)
        if push is not left:
            await repos.pushes.sent(push.key, 1, created)
    if state == "failed":
        await repos.pushes.failed(left.key, "NetworkError: boom")
    await repos.tasks.replan_all()
    later = created + timedelta(minutes=5)
    assert [p.key for p in await scheduler.collect(sim.app, later)] == [left.key]
    outcome = await scheduler.run_due(sim.app, later + timedelta(minutes=1))  # a claim is taken back after the lease
    assert outcome.sent == [left.key] and [chat for chat, _ in sends(sim)] == [OTHER_SECRETARY]


async def test_events_alike_share_one_working_out_of_their_slots(sim, groups, monkeypatch) -> None:
    """Three branches' lectures on the same rule and leads are worked out once per sweep (a
    different rule, or a date arranged on its own, is worked out by itself); each still gets
    its own notice."""
    repos = sim.app.services.repos
    created = at(2026, 11, 20, 10)
    lecture = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30)
    other = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=9, minute=0)
    for n, rule in enumerate((lecture, lecture, lecture, other)):
        await repos.events.create(
            token=f"alike-{n}", title=f"大讲堂{n}", rule=rule.to_dict(), place="镇党委会议室", speaker="",
            leads=[lead.code for lead in DEFAULT_EVENT_LEADS], audience="secretaries",
            organiser=groups.township_admin.id, scope_unit_id=groups.township.id,
            unit_ids=[groups.township.id], now=created,
        )
    calls = []
    real = scheduler.arranged_slots

    def counted(rule, *args, **kwargs):
        calls.append(rule)
        return real(rule, *args, **kwargs)

    monkeypatch.setattr(scheduler, "arranged_slots", counted)
    outcome = await scheduler.run_due(sim.app, at(2026, 12, 1, 9))
    assert sorted(k.ref_id for k in outcome.sent if k.kind == "event_notice") == [1, 2, 3, 4]
    assert calls.count(lecture) == 1 and calls.count(other) == 1
