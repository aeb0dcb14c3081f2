"""Heavy work off the event loop: run a blocking function in a worker thread, say "正在生成…"
when it takes long; and the worker process for what must not run in the bot's process at all.

The admin commands that read a whole township or district (/coverage, /bulletin and its
monthly push, /export) do their SQL on a read-only ``sqlite3`` connection of their own and
draw their charts inside :func:`run`, never on the event loop and never on the bot's
aiosqlite connection, so no other chat waits for them. Each lane (reads; exports) runs at most
:data:`WORKERS` jobs at once (two cores); more wait their turn, and each caller that waits
longer than :data:`PROGRESS_AFTER` seconds is told so through its ``progress`` callback (and,
with ``every``, again every so many seconds while it runs).

The ledgers (/export) have a lane of their own, :data:`LEDGERS`, with one worker: writing a
workbook holds the GIL, so two written side by side would each take twice as long (and the
event loop would compete with two busy threads, not one). A second admin's ledger waits its
turn instead, and is told how long: each job in a lane may carry a :class:`Job` (its expected
seconds), so that :func:`jobs` lists what is before it and :func:`wait_seconds` says when a
new job would start.

Work that holds the GIL for long stretches or needs big libraries (reading a roster with
openpyxl; drawing a chart with matplotlib; writing a bulletin's .docx with python-docx) runs in
the worker process (:func:`in_process` from a worker thread, :func:`run_in_process` from the
event loop): one pool of :data:`PROCESS_WORKERS` process, started (``spawn``) on first use and
kept until it has been idle for :data:`PROCESS_IDLE` seconds, so the bot's own process never
imports matplotlib (about 100 MB at a district's charts) and no drawing competes with the
event loop for the GIL. A worker that died (out of memory, a
crash) is replaced on the next call and the call that saw it raises ``BrokenProcessPool``; each
caller decides what that means (a roster refused as too complex, a chart left out).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import multiprocessing
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

WORKERS = 2
PROGRESS_AFTER = 3.0  # seconds; tests set it to 0 to see the progress message
READS, EXPORTS = "reads", "exports"  # two lanes: a long export never holds up /coverage
LEDGERS = "ledgers"  # the Excel ledgers: one at a time (see above), told how long they wait
LANE_WORKERS = {LEDGERS: 1}  # a lane not named here has WORKERS
_pools: dict[str, ThreadPoolExecutor] = {}
_jobs: dict[str, list[Job]] = {}  # per lane, the jobs waiting or running, in submission order
_jobs_lock = threading.Lock()
clock: Callable[[], float] = time.monotonic  # when a job started and how long it has run (tests set it)
_frozen = False
PROCESS_WORKERS = 1  # one process: its memory is paid once; its jobs are short (charts) or rare (rosters)
PROCESS_IDLE = 600.0  # seconds without a job before the worker process is let go (its memory returned)
_process_pool: ProcessPoolExecutor | None = None
_process_lock = threading.Lock()
_process_jobs = 0  # submitted through _submit and not done yet
_idle_timer: threading.Timer | None = None


def pool(lane: str = READS) -> ThreadPoolExecutor:
    """The worker threads of a lane, made on first use.

    A worker allocates many short-lived rows; a full garbage collection it triggers holds the
    GIL for as long as it takes to walk every object of the process (the whole running bot),
    which stalled the event loop for 100-170 ms. So, once, the objects alive at that moment
    (modules, the application, its handlers: long-lived by nature) are frozen out of future
    collections (:func:`gc.freeze`); collections then walk only what was made since.
    """
    global _frozen
    if not _frozen:
        gc.freeze()  # no gc.collect() first: that would be the very stall avoided here
        _frozen = True
    if lane not in _pools:
        _pools[lane] = ThreadPoolExecutor(max_workers=workers(lane), thread_name_prefix=f"cadre-{lane}")
    return _pools[lane]


def workers(lane: str) -> int:
    return LANE_WORKERS.get(lane, WORKERS)


@dataclass(eq=False)
class Job:
    """One job of a lane as its queue sees it: how long it is expected to take.

    ``left``, when given, is the job's own guess of the seconds it still needs once it runs
    (e.g. from the rows it has written); without it, the expected seconds less the time it has
    run."""

    seconds: float  # expected seconds of work
    left: Callable[[], float] | None = None
    started: float | None = field(default=None, init=False)  # clock() when a worker took it

    @property
    def running(self) -> bool:
        return self.started is not None

    def remaining(self, now: float | None = None) -> float:
        """Seconds of work still ahead of it (all of them while it waits)."""
        if self.started is None:
            return self.seconds
        if self.left is not None:
            return max(0.0, self.left())
        return max(0.0, self.seconds - ((clock() if now is None else now) - self.started))


def jobs(lane: str) -> list[Job]:
    """The jobs of ``lane`` waiting or running (with a :class:`Job`), in submission order."""
    with _jobs_lock:
        return list(_jobs.get(lane, ()))


def wait_seconds(lane: str, before: Job | None = None) -> float:
    """About how long a job submitted now (or ``before``, a job of the lane still waiting)
    would wait for a worker of ``lane``: each worker finishes what it runs, then takes the
    waiting jobs in turn."""
    now = clock()
    queue = jobs(lane)
    if before is not None and before in queue:
        queue = queue[: queue.index(before)]
    free = [0.0] * workers(lane)  # when each worker is next free, from now
    running = [job for job in queue if job.running][: len(free)]
    for i, job in enumerate(running):
        free[i] = job.remaining(now)
    for job in queue:
        if job not in running:
            i = free.index(min(free))
            free[i] += job.remaining(now)
    return min(free)


def _tracked(job: Job, lane: str, call: Callable[[], T]) -> Callable[[], T]:
    def tracked() -> T:
        job.started = clock()
        return call()

    with _jobs_lock:
        _jobs.setdefault(lane, []).append(job)
    return tracked


def _untrack(job: Job, lane: str) -> None:
    with _jobs_lock:
        queue = _jobs.get(lane, [])
        if job in queue:
            queue.remove(job)


async def pause(seconds: float) -> None:
    """The wait between progress calls (tests replace it to tick by hand)."""
    await asyncio.sleep(seconds)


async def run(
    func: Callable[..., T],
    *args: object,
    progress: Callable[[], Awaitable[object]] | None = None,
    lane: str = READS,
    job: Job | None = None,
    every: float | None = None,
    **kwargs: object,
) -> T:
    """``func(*args, **kwargs)`` in a worker thread of ``lane``; ``progress()`` once if it is
    still running after :data:`PROGRESS_AFTER` seconds, and with ``every``, again every
    ``every`` seconds after that until it is done. ``job``: the job as the lane's queue sees it
    (:func:`jobs`, :func:`wait_seconds`), from now until it is done."""
    loop = asyncio.get_running_loop()
    call: Callable[[], T] = functools.partial(func, *args, **kwargs)
    if job is not None:
        call = _tracked(job, lane, call)
    try:
        future = loop.run_in_executor(pool(lane), call)
        if progress is not None:
            delay = PROGRESS_AFTER
            while True:
                ticking = asyncio.ensure_future(pause(delay))
                done, _ = await asyncio.wait({future, ticking}, return_when=asyncio.FIRST_COMPLETED)
                if future in done:
                    ticking.cancel()
                    break
                await progress()
                if every is None:
                    break
                delay = every
        return await future
    finally:
        if job is not None:
            _untrack(job, lane)


# -- the worker process ---------------------------------------------------------------------------
def process_pool() -> ProcessPoolExecutor:
    """The worker process pool, made on first use (spawn, not fork: the bot's process has
    threads, aiosqlite's and the worker threads)."""
    global _process_pool
    with _process_lock:
        if _process_pool is None:
            _process_pool = ProcessPoolExecutor(PROCESS_WORKERS, mp_context=multiprocessing.get_context("spawn"))
        return _process_pool


def reset_process_pool(broken: ProcessPoolExecutor | None = None) -> None:
    """Drop the pool (its worker died, or it was shut down); the next call starts a new one.
    With ``broken``, only if that is still the pool (another caller may have replaced it)."""
    global _process_pool
    with _process_lock:
        if _process_pool is None or (broken is not None and _process_pool is not broken):
            return
        _process_pool.shutdown(wait=False, cancel_futures=True)
        _process_pool = None


def retire_if_idle() -> bool:
    """Let the worker process go when no job is running (after :data:`PROCESS_IDLE` seconds
    without one): the memory a district's charts took goes back to the machine; the next job
    starts a new worker (about a second). True if it was let go."""
    global _process_pool
    with _process_lock:
        if _process_jobs or _process_pool is None:
            return False
        _process_pool.shutdown(wait=False)  # a roster still being read (not counted) finishes
        _process_pool = None
        return True


def _job_started() -> None:
    global _process_jobs, _idle_timer
    with _process_lock:
        _process_jobs += 1
        if _idle_timer is not None:
            _idle_timer.cancel()
            _idle_timer = None


def _job_done(_: object = None) -> None:
    global _process_jobs, _idle_timer
    with _process_lock:
        _process_jobs -= 1
        if _process_jobs == 0 and _process_pool is not None and _idle_timer is None:
            _idle_timer = threading.Timer(PROCESS_IDLE, retire_if_idle)
            _idle_timer.daemon = True
            _idle_timer.start()


def _submit(func: Callable[..., T], *args: object, **kwargs: object) -> Future[T]:
    """Submitted to the pool (a new one if it was shut down or broken); a dead worker found by
    this job's future replaces the pool for the next; the last job done arms the idle timer."""
    _job_started()
    try:
        pool = process_pool()
        try:
            future = pool.submit(func, *args, **kwargs)
        except (RuntimeError, BrokenProcessPool):  # shut down (interpreter exit) or its worker died
            reset_process_pool(pool)
            pool = process_pool()
            future = pool.submit(func, *args, **kwargs)
    except BaseException:
        _job_done()
        raise

    def broken(done: Future[T]) -> None:
        if not done.cancelled() and isinstance(done.exception(), BrokenProcessPool):
            reset_process_pool(pool)

    future.add_done_callback(broken)
    future.add_done_callback(_job_done)
    return future


def in_process(func: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``func(*args, **kwargs)`` in the worker process, blocking (for a worker thread: it waits
    without holding the GIL). ``func`` and its arguments must pickle; its exceptions are raised
    here, a dead worker as ``BrokenProcessPool`` (the pool is replaced)."""
    return _submit(func, *args, **kwargs).result()


async def run_in_process(
    func: Callable[..., T],
    *args: object,
    progress: Callable[[], Awaitable[object]] | None = None,
    progress_after: float | None = None,
    **kwargs: object,
) -> T:
    """:func:`in_process` awaited on the event loop; ``progress()`` once if it is still running
    after ``progress_after`` (default :data:`PROGRESS_AFTER`) seconds."""
    waiting = asyncio.wrap_future(_submit(func, *args, **kwargs))
    if progress is not None:
        done, _ = await asyncio.wait({waiting}, timeout=PROGRESS_AFTER if progress_after is None else progress_after)
        if not done:
            await progress()
    return await waiting
