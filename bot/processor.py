"""Per-chat ordered, cross-chat concurrent update processing.

Why this exists
---------------
python-telegram-bot offers two ways to process updates, and neither fits a conversational bot:

* ``concurrent_updates=False`` handles one update at a time. Every handler waits for Telegram
  (``reply_text`` is one HTTP round trip of ~100 ms), so the whole bot is capped at about
  10 updates/s no matter how many users there are.
* ``concurrent_updates=256`` runs updates side by side, but then the updates of *one* chat run
  side by side as well. A :class:`~telegram.ext.ConversationHandler` only stores the next state
  when the callback returns, so a user who types quickly has their second message checked
  against the *old* state while the first is still being answered; it matches nothing and is
  silently dropped.

:class:`ChatOrderedUpdateProcessor` sits in between: updates of different chats (or users) run
concurrently, updates of the same chat run strictly one after another in arrival order.

How ordering is guaranteed
--------------------------
``Application`` takes updates off its queue in arrival order and starts one asyncio task per
update; each task calls :meth:`ChatOrderedUpdateProcessor.process_update` before it suspends
for the first time, and asyncio starts tasks in creation order. ``process_update`` enqueues
the update on its chat's :class:`asyncio.Lock` synchronously (asyncio locks are FIFO and the
waiter is registered before the first suspension), so the lock hands out a chat's updates in
arrival order.

The per-chat lock is taken *before* the global concurrency semaphore. Otherwise 256 queued
messages of one busy chat would each hold a semaphore slot while waiting for their chat and
starve every other chat. A chat's bookkeeping is dropped as soon as no update of it is running
or waiting, so memory is bounded by the number of chats with work in flight.

The ``after_update`` hook runs after each update's coroutine (also when it raised), *inside*
the chat's lock and the concurrency slot: the next update of that chat starts only after the
hook of the previous one finished (e.g. after its state was flushed to persistence).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class _ChatQueue:
    """The lock of one chat plus the number of its updates running or waiting."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """Process updates of different chats concurrently and of one chat in arrival order.

    Args:
        max_concurrent_updates: How many updates may be processed at the same time overall.
        after_update: Optional ``async`` callable without arguments, awaited after each update's
            coroutine finished (also if it raised), while the update still holds its chat's
            lock and its concurrency slot. Exceptions it raises propagate like those of the
            update (``Application`` hands them to its error handlers). The application uses it
            to flush persistence (``application.update_persistence()``). It may be assigned
            later, e.g. once the ``Application`` exists. ``finish_update``, when set, is
            awaited instead, with the update (the application marks its inbox row done).

    The ordering key of an update is :meth:`ordering_key`: the chat id, else the user id, else
    none (such updates are only subject to the concurrency limit).
    """

    __slots__ = ("_chats", "after_update", "finish_update")

    def __init__(
        self,
        max_concurrent_updates: int,
        *,
        after_update: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.after_update = after_update
        # like after_update, but given the update (the application commits its inbox mark)
        self.finish_update: Callable[[object], Awaitable[object]] | None = None
        self._chats: dict[int, _ChatQueue] = {}

    @staticmethod
    def ordering_key(update: object) -> int | None:
        """The id whose updates must not overlap: chat id, else user id, else ``None``."""
        if not isinstance(update, Update):
            return None
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
        return None

    @property
    def active_keys(self) -> int:
        """How many chats/users currently have an update running or waiting."""
        return len(self._chats)

    def waiting(self, key: int) -> int:
        """How many updates of ``key`` are running or waiting (0 if none)."""
        queue = self._chats.get(key)
        return queue.users if queue is not None else 0

    # ``process_update`` is marked ``@final`` (typing only) in PTB: its version takes the global
    # semaphore first, which would let one busy chat fill every slot with waiting updates.
    async def process_update(  # type: ignore[misc]
        self,
        update: object,
        coroutine: Awaitable[Any],
    ) -> None:
        """Wait for the update's turn in its chat, then for a concurrency slot, then run it."""
        key = self.ordering_key(update)
        queue: _ChatQueue | None = None
        if key is not None:
            # No ``await`` before the lock: the queue position is taken synchronously.
            queue = self._chats.get(key)
            if queue is None:
                queue = self._chats[key] = _ChatQueue()
            queue.users += 1
        turn: AbstractAsyncContextManager[Any] = (
            contextlib.nullcontext() if queue is None else queue.lock
        )
        started = False
        try:
            async with turn, self._semaphore:
                started = True
                await self.do_process_update(update, coroutine)
        finally:
            if not started and inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting: never ran, avoid "never awaited"
            if key is not None and queue is not None:
                queue.users -= 1
                if queue.users == 0:
                    del self._chats[key]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's coroutine, then the ``after_update`` hook (also on errors)."""
        try:
            await coroutine
        finally:
            if self.finish_update is not None:
                await self.finish_update(update)
            elif self.after_update is not None:
                await self.after_update()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free: bookkeeping empties itself as updates finish."""
