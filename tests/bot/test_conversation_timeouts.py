"""Conversation idle timeouts (bot/jobs.py): re-armed without an APScheduler job per update,
and still fired for the newest step when due."""

from __future__ import annotations

import asyncio

from bot.jobs import CadreJobQueue, TimeoutJob
from bot.simulator import Simulator, texts
from tests.conftest import SECRETARY, Org


async def test_steps_rearm_one_timer_and_add_no_scheduler_jobs(sim: Simulator, org: Org) -> None:
    await sim.app.start()
    queue = sim.app.job_queue
    assert isinstance(queue, CadreJobQueue)
    scheduled = len(queue.scheduler.get_jobs())
    await sim.send("/report", SECRETARY)
    [first] = [j for j in queue.jobs() if j.name == "_trigger_timeout"]
    await sim.press("昨天", SECRETARY)
    await sim.press("垃圾清除", SECRETARY)
    [job] = [j for j in queue.jobs() if j.name == "_trigger_timeout"]
    assert isinstance(job, TimeoutJob) and job is not first and first.removed
    assert len(queue.scheduler.get_jobs()) == scheduled  # APScheduler untouched
    assert len(queue._slots) == 1  # one timer for the conversation

    # the armed timer comes due while the deadline has moved later: it re-arms itself once
    [key] = list(queue._slots)
    slot = queue._slots[key]
    loop = asyncio.get_running_loop()
    queue._fire(key)
    assert queue._slots[key] is slot and not job.removed
    before = len(sim.api.calls)
    slot.due = loop.time()  # 30 minutes later
    queue._fire(key)
    assert key not in queue._slots
    for _ in range(200):  # the job runs as a task of the application
        if len(sim.api.calls) > before:
            break
        await asyncio.sleep(0)
    assert any("30分钟" in t for t in texts(sim.api.calls[before:]))


async def test_a_step_makes_no_job_object_and_an_unlisted_timer_still_fires(sim: Simulator, org: Org) -> None:
    await sim.app.start()
    queue = sim.app.job_queue
    await sim.send("/report", SECRETARY)
    await sim.press("昨天", SECRETARY)
    [(key, slot)] = list(queue._slots.items())
    assert slot.job is None  # nobody listed it: only the newest step's arguments are kept
    before = len(sim.api.calls)
    slot.due = asyncio.get_running_loop().time()  # 30 minutes later
    queue._fire(key)
    for _ in range(200):
        if len(sim.api.calls) > before:
            break
        await asyncio.sleep(0)
    assert any("30分钟" in t for t in texts(sim.api.calls[before:]))
    assert "open_form" not in sim.app.user_data[SECRETARY]
