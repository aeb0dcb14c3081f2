"""Heavy reads off the event loop: run a blocking function in a worker thread, say "正在生成…"
when it takes long.

The admin commands that read a whole township or district (/coverage, /bulletin and its
monthly push, /export) do their SQL on a read-only ``sqlite3`` connection of their own and
draw their charts inside :func:`run`, never on the event loop and never on the bot's
aiosqlite connection, so no other chat waits for them. Each lane (reads; exports) runs at most
:data:`WORKERS` jobs at once (two cores); more wait their turn, and each caller that waits
longer than :data:`PROGRESS_AFTER` seconds is told so through its ``progress`` callback.
"""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

WORKERS = 2
PROGRESS_AFTER = 3.0  # seconds; tests set it to 0 to see the progress message
READS, EXPORTS = "reads", "exports"  # two lanes: a long ledger never holds up /coverage
_pools: dict[str, ThreadPoolExecutor] = {}
_frozen = False


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
        _pools[lane] = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix=f"cadre-{lane}")
    return _pools[lane]


async def run(
    func: Callable[..., T],
    *args: object,
    progress: Callable[[], Awaitable[object]] | None = None,
    lane: str = READS,
    **kwargs: object,
) -> T:
    """``func(*args, **kwargs)`` in a worker thread of ``lane``; ``progress()`` once if it is
    still running after :data:`PROGRESS_AFTER` seconds."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(pool(lane), functools.partial(func, *args, **kwargs))
    if progress is not None:
        done, _ = await asyncio.wait({future}, timeout=PROGRESS_AFTER)
        if not done:
            await progress()
    return await future
