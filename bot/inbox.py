"""An update counts as handled only once its effects are durable: the durable inbox.

Telegram delivers each update at least once; PTB's ``Updater`` confirms an update (the next
``getUpdates`` offset) as soon as it has put it on the application's ``update_queue``, and the
webhook handler answers 200 as soon as it has put it there. The bot answers during handling and
saves conversation state after it, so without more a crash in between lost the step.

Design B of ``design/durability.md``, chosen here:

* :class:`DurableQueue` is the application's ``update_queue`` (``ApplicationBuilder.update_queue``,
  no private attribute of PTB touched). Its ``put`` queues the update and returns only once
  its JSON is in the ``inbox`` table (one statement, committed; the handling runs meanwhile).
  The ``Updater`` calls ``put`` for each fetched update *before* it asks for the next batch
  with the higher offset (the confirmation), and the webhook handler calls it before it
  answers 200: an update is confirmed to Telegram only once it is in the inbox. A redelivered
  update the inbox holds (ids of the rows not done and of the last done ones are kept in
  memory) is not queued again.
* After an update's handling, the processor's hook (``CadreApplication.finish_update``)
  flushes the conversation state, ``user_data`` and ``chat_data`` and marks the inbox row done
  in one statement (``SQLitePersistence.commit``): the state and the "done" mark are durable
  together or not at all.
* At start (``CadreApplication.initialize``) rows not done are queued again in update-id order,
  before anything new is fetched, so each chat's updates are handled again in order.
* Handling an update twice is harmless: the records an update writes are keyed (a report by
  its draft token), a screen sent again is just sent again, and a button that already moved
  the flow finds it moved (the conversation answers a stale button as such).

Why B and not A (confirm late): with A the offset is the oldest update still in flight, so one
slow update (a roster import, a chart) holds back the confirmation of every chat, and a crash
re-delivers, and re-handles, everything behind it; ``getUpdates`` returns the in-flight updates
at once on every poll, so the poll loop must be rewritten (PTB's ``Updater`` cannot do it) and
the webhook must hold the HTTP answer for the whole handling, within Telegram's timeout. B keeps
PTB's ``Updater`` and webhook as they are, re-handles only the updates whose state was not
flushed, and gives a replay log. Its cost is one insert per update (a single statement, one
thread hop, overlapping the handling), while the "done" mark rides in the flush statement the
bot makes anyway; ``bench/reports.py`` measures it (default against ``--no-inbox``): on the
shared 2-core machine of December 2026, 0.24x against 0.36x of a bare PTB handler, medians of
7 interleaved rounds. ``bench/crash.py`` (a SIGKILL after every reply of /report and /visit):
0 steps lost, 0 answers in a wrong step, 1 record each, no saved draft offered again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData


class DurableQueue(asyncio.Queue):
    """The update queue whose ``put`` returns only once the update is stored durably.

    ``admit`` (set once the database is open) says, without a query, whether an arriving
    ``Update`` is new (False for a redelivery of one the inbox holds, which is dropped); a new
    one is queued at once, so its handling starts while ``store`` writes it to the inbox, and
    ``put`` returns (the Updater confirms, the webhook answers 200) after ``store``. Anything
    else (e.g. PTB's stop signal) is queued as is.
    """

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self.admit: Callable[[Update], bool] | None = None
        self.store: Callable[[Update], Awaitable[object]] | None = None

    async def put(self, item: Any) -> None:
        if isinstance(item, Update) and self.admit is not None and self.store is not None:
            if not self.admit(item):
                return
            self.put_nowait(item)
            # the insert asks for the database's write lock before this coroutine first
            # suspends, so before the handling can start: the handling's "done" mark (and any
            # write of it) comes after the row
            await self.store(item)
            return
        await super().put(item)

    def requeue(self, item: Any) -> None:
        """Queue an update that is already in the inbox (handled again at start)."""
        super().put_nowait(item)


class RawUpdates:
    """The JSON of fetched updates as Telegram sent them, by update id, until stored.

    Serialising a parsed ``Update`` again (``to_json``) costs about half a millisecond an
    update; the text of the ``getUpdates`` answer is at hand for nothing.
    """

    LIMIT = 1000  # getUpdates returns at most 100 at a time

    def __init__(self) -> None:
        self._raw: dict[int, str] = {}

    def keep(self, payload: bytes) -> None:
        try:
            result = json.loads(payload).get("result") or []
        except (ValueError, AttributeError):
            return
        for item in result:
            if isinstance(item, dict) and isinstance(item.get("update_id"), int):
                self._raw[item["update_id"]] = json.dumps(item, ensure_ascii=False)
        while len(self._raw) > self.LIMIT:
            del self._raw[next(iter(self._raw))]

    def pop(self, update_id: int) -> str | None:
        return self._raw.pop(update_id, None)


class RawUpdatesRequest(BaseRequest):
    """The ``getUpdates`` connection, keeping the raw JSON of each update (see RawUpdates)."""

    def __init__(self, inner: BaseRequest, raw: RawUpdates) -> None:
        self.inner = inner
        self.raw = raw

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await self.inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if code == 200 and url.endswith("/getUpdates"):
            self.raw.keep(payload)
        return code, payload
