"""The queue of an offloop lane: what is before a new job and how long it would wait (what
/export tells a second admin). Jobs are held in their worker threads by events; the
lane's clock is injected."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.services import offloop


@pytest.fixture
def lane(monkeypatch) -> str:
    now = [100.0]
    monkeypatch.setattr(offloop, "clock", lambda: now[0])
    monkeypatch.setitem(offloop.LANE_WORKERS, "test-two", 2)
    return "test-two"


async def test_a_new_job_waits_for_the_first_worker_free(lane: str) -> None:
    release = threading.Event()
    entered = threading.Semaphore(0)

    def held(n: int) -> int:
        entered.release()
        assert release.wait(30)
        return n

    jobs = [offloop.Job(s) for s in (30.0, 50.0, 10.0)]
    running = [asyncio.ensure_future(offloop.run(held, i, lane=lane, job=job)) for i, job in enumerate(jobs)]
    for _ in range(2):  # two workers take the first two; the third waits
        assert await asyncio.to_thread(entered.acquire, True, 30)
    assert [j.running for j in offloop.jobs(lane)] == [True, True, False]
    # the workers are free in 30 and 50 s; the waiting 10 s job goes after the first: 40 and 50
    assert offloop.wait_seconds(lane) == 40.0
    assert offloop.wait_seconds(lane, before=jobs[2]) == 30.0
    release.set()
    assert await asyncio.gather(*running) == [0, 1, 2]
    assert offloop.jobs(lane) == [] and offloop.wait_seconds(lane) == 0.0


async def test_a_running_job_counts_what_it_has_left(monkeypatch) -> None:
    now = [0.0]
    monkeypatch.setattr(offloop, "clock", lambda: now[0])
    job = offloop.Job(60.0)
    job.started = 0.0
    now[0] = 20.0
    assert job.remaining() == 40.0
    now[0] = 90.0
    assert job.remaining() == 0.0  # past its estimate: not negative
    told = offloop.Job(60.0, left=lambda: 12.5)
    told.started = 0.0
    assert told.remaining() == 12.5  # the job's own guess once it runs
    assert offloop.Job(60.0, left=lambda: 12.5).remaining() == 60.0  # waiting: all of it


async def test_progress_comes_again_every_so_often_until_done(monkeypatch) -> None:
    """``every``: progress after PROGRESS_AFTER, then again each ``every`` seconds (the ticks
    are injected), and not after the job is done."""
    ticks: asyncio.Queue[None] = asyncio.Queue()
    paused: asyncio.Queue[float] = asyncio.Queue()
    told: asyncio.Queue[int] = asyncio.Queue()

    async def pause(seconds: float) -> None:
        paused.put_nowait(seconds)
        await ticks.get()

    monkeypatch.setattr(offloop, "pause", pause)
    release = threading.Event()

    async def progress() -> None:
        told.put_nowait(told.qsize())

    running = asyncio.ensure_future(
        offloop.run(release.wait, 30, progress=progress, lane=offloop.LEDGERS, every=15.0)
    )
    waits = []
    for _ in range(3):
        waits.append(await paused.get())
        ticks.put_nowait(None)
        await told.get()
    assert waits == [offloop.PROGRESS_AFTER, 15.0, 15.0]
    await paused.get()  # waiting for the fourth tick
    release.set()
    assert await running is True
    assert told.empty(), "no progress once it is done"
