"""Broadcast exactly once in practice: timeouts after Telegram accepted a message (at most two
copies, recorded as uncertain), short claims that a dead process gives up within a minute
(on the injected clock) and a live one keeps, and a real SIGKILL of a subprocess during a
broadcast (bench/broadcast_kill.py at a small size)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bot.fakebot import FakeBotAPI
from bot.rules.deadlines import DEFAULT_TASK_LEADS
from bot.services import scheduler
from bot.services.delivery import LEASE
from bot.simulator import Simulator
from storage.pushes import PushKey
from tests.conftest import Clock, Org, start_clocked
from tests.conftest import local as at

ROOT = Path(__file__).resolve().parents[3]
GROUPS = [-200000 - n for n in range(10)]
NOW = at(2026, 11, 22, 10)


async def ten_groups(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    villages = []
    for n, chat in enumerate(GROUPS):
        village = await repos.org.add_unit(f"测试村{n}", "village", org.township.id)
        await repos.chats.bind(chat, f"测试村{n}党员群", village.id, org.township_admin.id)
        villages.append(village.id)
    await repos.tasks.create(
        token="ten", title="软弱涣散村整顿摘帽", description="", deadline=at(2026, 11, 30, 23, 59),
        leads=[lead.code for lead in DEFAULT_TASK_LEADS], created_by=org.township_admin.id,
        scope_unit_id=org.township.id, unit_ids=villages, now=NOW,
    )


def copies(api: FakeBotAPI) -> Counter:
    return Counter(c.chat_id for c in api.calls if c.method == "sendMessage" and c.chat_id in GROUPS)


async def run_until_quiet(sim: Simulator, clock: Clock, rounds: int = 6) -> None:
    for n in range(rounds):
        clock.now = NOW + timedelta(minutes=n)
        await scheduler.run_due(sim.app, clock.now)


async def test_a_timeout_after_acceptance_is_retried_once_and_marked_uncertain(settings, org) -> None:
    clock = Clock(NOW)
    api = FakeBotAPI()
    sim = await start_clocked(settings, clock, api)
    try:
        await ten_groups(sim, org)
        for chat in GROUPS:
            api.accept_then_time_out[chat] = 1  # the first send is accepted, its answer lost
        first = await scheduler.run_due(sim.app, NOW)
        assert sorted(k.chat_id for k in first.uncertain) == sorted(GROUPS)
        await run_until_quiet(sim, clock)
        assert set(copies(api).values()) == {2}  # the one retry; before: 3 copies each
        records = {r.key.chat_id: r for r in await sim.app.services.repos.pushes.records("task_new")}
        assert all(records[c].status == "sent" and records[c].uncertain for c in GROUPS)
        assert "TimedOut" in records[GROUPS[0]].error
    finally:
        await sim.stop()


async def test_timeouts_every_time_give_at_most_two_copies(settings, org) -> None:
    clock = Clock(NOW)
    api = FakeBotAPI()
    sim = await start_clocked(settings, clock, api)
    try:
        await ten_groups(sim, org)
        for chat in GROUPS:
            api.accept_then_time_out[chat] = 100
        await run_until_quiet(sim, clock, rounds=8)
        assert set(copies(api).values()) == {2}
        records = {r.key.chat_id: r for r in await sim.app.services.repos.pushes.records("task_new")}
        assert all(records[c].status == "dropped" and records[c].uncertain for c in GROUPS)
    finally:
        await sim.stop()


async def test_a_dead_claimers_push_is_taken_back_within_a_minute(settings, org) -> None:
    clock = Clock(NOW)
    sim = await start_clocked(settings, clock)
    repos = sim.app.services.repos
    try:
        await ten_groups(sim, org)
        # a process that claimed one group's push and died (SIGKILL: no give-back)
        dead = PushKey("task_new", 1, "2026-11-30T23:59", "", GROUPS[0])
        assert await repos.pushes.claim(dead, NOW, LEASE)
        restart = NOW + timedelta(seconds=5)
        outcome = await scheduler.run_due(sim.app, restart)
        assert GROUPS[0] not in {k.chat_id for k in outcome.sent}
        assert [k.chat_id for k in outcome.held] == [GROUPS[0]]
        assert outcome.retry_at is not None and outcome.retry_at - restart <= timedelta(minutes=1)
        assert sim.app.job_queue.get_jobs_by_name("delivery.retry")  # the run that takes it back
        outcome = await scheduler.run_due(sim.app, outcome.retry_at)
        assert [k.chat_id for k in outcome.sent] == [GROUPS[0]]
        record = await repos.pushes.get(dead)
        assert record.status == "sent" and record.uncertain  # the dead one may have sent it
    finally:
        await sim.stop()


async def test_a_live_claimer_keeps_its_claim_by_renewing(settings, org) -> None:
    clock = Clock(NOW)
    sim = await start_clocked(settings, clock)
    repos = sim.app.services.repos
    try:
        key = PushKey("task_new", 1, "x", "", GROUPS[0])
        assert await repos.pushes.claim(key, NOW, LEASE)
        await repos.pushes.renew([key], NOW + timedelta(seconds=50))
        assert not await repos.pushes.claim(key, NOW + timedelta(seconds=100), LEASE)  # still held
        assert await repos.pushes.claim(key, NOW + timedelta(seconds=111), LEASE)  # not renewed: taken
    finally:
        await sim.stop()


def test_sigkill_during_a_broadcast_loses_nothing_and_doubles_at_most_one(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "broadcast_kill.py"), "--groups", "40", "--kills", "3", "--json"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["kills"] == 3
    assert summary["missed"] == 0
    assert summary["strangers"] == 0
    assert summary["max_duplicates_per_kill"] <= 1
    assert summary["max_caught_up_s"] <= 120


async def test_a_long_bursts_late_claims_carry_the_moment_they_were_made(settings, org) -> None:
    """A burst longer than the lease: each claim is stamped when it is made, so another
    instance never takes a live one for a dead one."""
    clock = Clock(NOW)

    class SlowAPI(FakeBotAPI):
        async def do_request(self, url, method, request_data=None, *args, **kwargs):
            if url.endswith("/sendMessage"):
                clock.now += timedelta(seconds=30)  # each send takes half a minute (on the clock)
            return await super().do_request(url, method, request_data, *args, **kwargs)

    sim = await start_clocked(settings, clock, SlowAPI())
    try:
        await ten_groups(sim, org)
        await scheduler.run_due(sim.app, NOW)
        records = await sim.app.services.repos.pushes.records("task_new")
        assert len(records) == 10 and all(r.status == "sent" for r in records)
        assert max(r.claimed_at for r in records) - NOW >= 4 * LEASE
    finally:
        await sim.stop()
