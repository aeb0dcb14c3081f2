"""Heavy reads off the event loop: run a blocking function in a worker thread, say "正在生成…"
when it takes long.

The admin commands that read a whole township or district (/coverage, /bulletin and its
monthly push, /export) do their SQL on a read-only ``sqlite3`` connection of their own and
draw their charts inside :func:`run`, never on the event loop and never on the bot's
aiosqlite connection, so no other chat waits for them. At most :data:`WORKERS` such jobs run
at once (two cores); more wait their turn in the pool, and each caller that waits longer than
:data:`PROGRESS_AFTER` seconds is told so through its ``progress`` callback.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

WORKERS = 2
PROGRESS_AFTER = 3.0  # seconds; tests set it to 0 to see the progress message
_pool: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="cadre-heavy")
    return _pool


async def run(
    func: Callable[..., T],
    *args: object,
    progress: Callable[[], Awaitable[object]] | None = None,
    **kwargs: object,
) -> T:
    """``func(*args, **kwargs)`` in a worker thread; ``progress()`` once if it is still running
    after :data:`PROGRESS_AFTER` seconds."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(pool(), functools.partial(func, *args, **kwargs))
    if progress is not None:
        done, _ = await asyncio.wait({future}, timeout=PROGRESS_AFTER)
        if not done:
            await progress()
    return await future
