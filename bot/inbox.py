"""An update counts as handled only once its effects are durable: the durable inbox.

Telegram delivers each update at least once; PTB's ``Updater`` confirms an update (the next
``getUpdates`` offset) as soon as it has put it on the application's ``update_queue``, and the
webhook handler answers 200 as soon as it has put it there. The bot answers during handling and
saves conversation state after it, so without more a crash in between lost the step.

Design B of ``design/durability.md``, chosen here:

* :class:`DurableQueue` is the application's ``update_queue`` (``ApplicationBuilder.update_queue``,
  no private attribute of PTB touched). Its ``put`` queues the update (its handling starts)
  and hands its row (the JSON) to the :class:`InboxWriter`. The webhook handler calls ``put``
  before it answers 200, and ``put`` returns only once the row is committed. The ``Updater``
  calls ``put`` for each update of a ``getUpdates`` answer and confirms them all with the
  offset of its next ``getUpdates``; that request waits until their rows are committed
  (:class:`RawUpdatesRequest` ``.before_fetch``), so ``put`` returns at once there. Either way
  an update is confirmed to Telegram only once it is in the inbox. A redelivered update the
  inbox holds (ids of the rows not done and of the last done ones are kept in memory) is not
  queued again.
* A row is committed by whichever comes first: the flush that ends its handling, or an insert
  :data:`STORE_AFTER` seconds after it arrived, of all the rows pending then (one statement
  for a whole ``getUpdates`` answer). After an update's handling, the processor's hook
  (``CadreApplication.finish_update``) flushes the conversation state, ``user_data`` and
  ``chat_data``, and marks the inbox row done, or stores it as done if it was not stored yet,
  in one transaction and one thread hop (``SQLitePersistence.commit``): the state and the "done" mark are durable
  together or not at all, and a quick update costs that one thread hop in all.
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
flushed, and gives a replay log. Its cost is at most one insert per update, shared by the
updates that arrived together, and none for an update handled within :data:`STORE_AFTER` (its
row rides in the flush the bot makes anyway); ``bench/reports.py`` measures it
(``--no-inbox`` for the bot without it): on the shared 2-core machine of December 2026, /report
at 0.34-0.36x of a bare PTB handler with the inbox and 0.39-0.40x without (it was 0.24-0.33x
with the inbox before its rows rode in the flush); with the flush as one transaction in one
thread hop (``Database.write_batch``, about 5 statements where the ``state_writes`` triggers ran
32) and 1.2 hops an update in all (2.3 before), 0.37-0.42x with the inbox and about the same
without, on a machine busy with other work; with the forms on a handler of their own and a
private update's data staged without PTB's gathered flush, 0.36-0.48x against 0.24-0.41x for
the code before (four pairs of runs, each pair back to back; the figure swings with the
machine's state, the gap between the two does not). ``bench/crash.py`` (a SIGKILL after every reply of
/report and /visit): 0 steps lost, 0 answers in a wrong step, 1 record each, no saved draft
offered again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

STORE_AFTER = 0.02  # seconds an arrived update's row may wait for its handling's flush to carry it
RETRY_AFTER = 1.0  # seconds before a failed insert of rows is tried again

Row = tuple[int, int | None, str]  # an inbox row: update id, chat key, the update's JSON

log = logging.getLogger("cadre.inbox")


class InboxWriter:
    """The inbox rows of arrived updates until they are stored, and who waits for them.

    A row is stored by whichever comes first: the persistence flush that ends its update's
    handling, which takes every row still pending into its own transaction (its own row as done:
    one thread hop for the whole update), or, :data:`STORE_AFTER` seconds after it arrived, one
    insert of all the rows pending then (a group commit). The writes queue on the database's
    one write lock in the order they took their rows, so an update's "done" mark never comes
    before its row. A failed insert keeps its rows pending and is tried again: the ones waiting
    (the webhook's answer, the next ``getUpdates``) wait on, and nothing is confirmed unstored.
    """

    def __init__(self, add_many: Callable[[list[Row]], Awaitable[object]], *, delay: float = STORE_AFTER) -> None:
        self._add_many = add_many
        self.delay = delay
        self._pending: dict[int, Row] = {}
        self._futures: dict[int, asyncio.Future[None]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task] = set()
        self._closed = False

    def add(self, row: Row) -> asyncio.Future[None]:
        """Keep ``row`` for storing; the future is done once it is stored."""
        future = self._futures.get(row[0])
        if future is None:
            future = self._futures[row[0]] = asyncio.get_running_loop().create_future()
        self._pending[row[0]] = row
        self._arm(self.delay)
        return future

    def future_of(self, update_id: int) -> asyncio.Future[None] | None:
        """The future of a row not stored yet (None if there is none)."""
        return self._futures.get(update_id)

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def armed(self) -> bool:
        """Whether an insert of pending rows is due (a timer runs)."""
        return self._timer is not None

    def take(self) -> list[Row]:
        """Every pending row, for the write the caller is about to make (with no ``await``
        between this and that write's turn on the write lock)."""
        rows = list(self._pending.values())
        self._pending.clear()
        if self._timer is not None:  # nothing left for it: the next row arms its own, full delay
            self._timer.cancel()
            self._timer = None
        return rows

    def stored(self, rows: list[Row]) -> None:
        for update_id, _key, _data in rows:
            future = self._futures.pop(update_id, None)
            if future is not None and not future.done():
                future.set_result(None)

    def give_back(self, rows: list[Row], *, retry_after: float = RETRY_AFTER) -> None:
        """Rows whose write failed: pending again (a newer row for the same id wins)."""
        for row in rows:
            self._pending.setdefault(row[0], row)
        if rows:
            self._arm(retry_after)

    async def write_pending(self) -> None:
        """Insert every pending row now (one statement); on failure they stay pending."""
        rows = self.take()
        if not rows:
            return
        try:
            await self._add_many(rows)
        except BaseException:
            self.give_back(rows)
            raise
        self.stored(rows)

    async def wait_all(self) -> None:
        """Until every row pending now is stored (the waiter's cancellation cancels no row)."""
        futures = list(self._futures.values())
        if futures:
            await asyncio.wait(futures)

    def _arm(self, delay: float) -> None:
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        if self._timer is not None:
            if self._timer.when() <= due:
                return
            self._timer.cancel()
        self._timer = loop.call_at(due, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self._pending:
            task = asyncio.get_running_loop().create_task(self._write(), name="InboxWriter:write")
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def _write(self) -> None:
        try:
            await self.write_pending()
        except Exception:
            log.warning("could not store %d arrived updates; trying again", len(self._pending), exc_info=True)

    async def close(self) -> None:
        """Store what is pending (best effort) and stop the timer; the database is still open."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        try:
            await self.write_pending()
        except Exception:
            log.warning("could not store %d arrived updates at stop", len(self._pending), exc_info=True)


class DurableQueue(asyncio.Queue):
    """The update queue whose ``put`` returns only once the update is stored durably.

    ``admit`` (set once the database is open) says, without a query, whether an arriving
    ``Update`` is new (False for a redelivery of one the inbox holds, which is dropped, once
    ``known`` returned: its row may still be pending); a new one is queued at once, so its
    handling starts, and ``put`` returns after ``store`` (the Updater confirms, the webhook
    answers 200). Anything else (e.g. PTB's stop signal) is queued as is.
    """

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self.admit: Callable[[Update], bool] | None = None
        self.store: Callable[[Update], Awaitable[object]] | None = None
        self.known: Callable[[Update], Awaitable[object]] | None = None

    async def put(self, item: Any) -> None:
        if isinstance(item, Update) and self.admit is not None and self.store is not None:
            if not self.admit(item):
                if self.known is not None:
                    await self.known(item)
                return
            self.put_nowait(item)
            await self.store(item)
            return
        await super().put(item)

    def requeue(self, item: Any) -> None:
        """Queue an update that is already in the inbox (handled again at start)."""
        super().put_nowait(item)


class RawUpdates:
    """The JSON of fetched updates as Telegram sent them, by update id, until stored.

    A ``getUpdates`` answer is parsed once (:meth:`answer_of`, the getUpdates connection's
    ``parse_json_payload``): each update's text is its slice of the answer, taken while the
    answer is parsed for PTB, so keeping it costs neither a second parse nor serialising the
    parsed ``Update`` again (``to_json``, about half a millisecond an update). An answer of
    another shape (Telegram's is ``{"ok":true,"result":[...]}``) is parsed the standard way
    and each update serialised once.
    """

    LIMIT = 1000  # getUpdates returns at most 100 at a time

    def __init__(self) -> None:
        self._raw: dict[int, str] = {}

    def answer_of(self, payload: bytes) -> Any:
        """``payload`` parsed (as ``BaseRequest.parse_json_payload``), its updates' text kept."""
        try:
            return self._parse(payload.decode("utf-8", "replace"))
        except ValueError:
            return BaseRequest.parse_json_payload(payload)  # PTB's error (and log) for bad JSON

    def _parse(self, text: str) -> Any:
        split = _split_answer(text)
        if split is None:
            answer = json.loads(text)
            result = answer.get("result") if isinstance(answer, dict) and answer.get("ok") is True else None
            if isinstance(result, list):
                self._keep((item, json.dumps(item, ensure_ascii=False)) for item in result)
            return answer
        items, texts = split
        self._keep(zip(items, texts, strict=True))
        return {"ok": True, "result": items}

    def _keep(self, pairs: Iterable[tuple[Any, str]]) -> None:
        for item, text in pairs:
            if isinstance(item, dict) and isinstance(item.get("update_id"), int):
                self._raw[item["update_id"]] = text
        while len(self._raw) > self.LIMIT:
            del self._raw[next(iter(self._raw))]

    def pop(self, update_id: int) -> str | None:
        return self._raw.pop(update_id, None)


_ANSWER_HEAD = re.compile(r'\s*\{\s*"ok"\s*:\s*true\s*,\s*"result"\s*:\s*\[\s*')
_SPACE = re.compile(r"\s*")
_DECODER = json.JSONDecoder()


def _split_answer(text: str) -> tuple[list[Any], list[str]] | None:
    """The updates of a ``getUpdates`` answer and the text of each, in one pass of the parser;
    None when the answer is not exactly ``{"ok": true, "result": [...]}`` (ValueError: bad JSON)."""
    head = _ANSWER_HEAD.match(text)
    if head is None:
        return None
    items: list[Any] = []
    texts: list[str] = []
    at = head.end()
    if text.startswith("]", at):
        at += 1
    else:
        while True:
            item, end = _DECODER.raw_decode(text, at)
            items.append(item)
            texts.append(text[at:end])
            at = _SPACE.match(text, end).end()  # type: ignore[union-attr]
            if text.startswith(",", at):
                at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
                continue
            if not text.startswith("]", at):
                return None
            at += 1
            break
    return (items, texts) if text[at:].strip() == "}" else None


class RawUpdatesRequest(BaseRequest):
    """The ``getUpdates`` connection, keeping the raw JSON of each update (see RawUpdates)."""

    def __init__(self, inner: BaseRequest, raw: RawUpdates) -> None:
        self.inner = inner
        self.raw = raw
        # awaited before each getUpdates, whose offset confirms the updates fetched before:
        # the application waits there until their inbox rows are stored (InboxWriter.wait_all)
        self.before_fetch: Callable[[], Awaitable[object]] | None = None

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
        fetch = url.endswith("/getUpdates")
        if fetch and self.before_fetch is not None:
            await self.before_fetch()
        code, payload = await self.inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        return code, payload

    def parse_json_payload(self, payload: bytes) -> Any:  # type: ignore[override]
        """The answer parsed once for PTB, its updates' text kept (``RawUpdates.answer_of``)."""
        return self.raw.answer_of(payload)
