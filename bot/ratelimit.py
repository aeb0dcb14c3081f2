"""A rate limiter that keeps the bot inside Telegram's flood limits, measured as sliding windows.

Telegram documents three limits for bots: about 30 messages a second overall, 20 messages a
minute to one group, and about one message a second to one chat. PTB's ``AIORateLimiter``
enforces them with leaky buckets, which start full: with its defaults it lets 59 messages out in
the first second and 39 into one group in the first minute, and it does not pace a private chat
at all. Telegram answers the excess with 429 "Too Many Requests", which on a broadcast means
failed or late notices. :class:`SlidingWindowRateLimiter` instead guarantees that *no* window of
the given length ever holds more than the allowed number of sends:

* overall: at most ``overall_max_rate`` sends in any ``overall_time_period`` (30 in 1 s);
* per group (``chat_id < 0`` or an ``@username``): at most ``group_max_rate`` sends in any
  ``group_time_period`` (20 in 60 s);
* per group: also at most ``chat_max_rate`` sends in any ``chat_time_period`` (1 in 1 s);
* per private chat: a short burst, at most ``chat_burst`` sends in any ``chat_burst`` ×
  ``chat_time_period`` / ``chat_max_rate`` (3 in 3 s): the two or three messages of one
  reply (an album then its buttons, a confirmation then the next question) go out at once,
  and the average stays at Telegram's one message a second per chat.

How it works: every send reserves a *slot*, the earliest instant at which one more send
fits into all of its windows, taking account of sends already made and of slots already reserved
(in the past or future), then sleeps until then. A reservation is made on arrival and is never
handed to a later request, so requests that compete for the same window are served in arrival
order and nobody starves; a request held back by its own group's minute window does not hold
up sends to other chats. Windows are half-open, ``[t, t + period)``, like Telegram's, and every
period is lengthened by ``safety_margin`` (50 ms) to absorb the difference between the instant a
slot is granted and the instant Telegram counts the request. A request that wakes up noticeably
late (a busy event loop) gives up its stale slot and reserves again, so late wake-ups cannot
bunch sends together.

Which methods are paced:

* The send family (``sendMessage``, ``sendPhoto``, ``sendDocument``, ``sendLocation``,
  ``sendVoice``, ``copyMessage``, ``forwardMessage``, ... see :attr:`PACED_METHODS`). A
  ``sendMediaGroup`` counts as **one** send: the limits count requests, and Telegram accepts an
  album of up to 10 items as one request.
* Edits (``editMessageText`` and friends), deletions and reads are **not** paced: Telegram's
  message limits are about new messages, edits are usually the bot's answer to a button press
  where a delay behind a broadcast would freeze the menu, and they have separate, more lenient
  limits. They do obey a flood-control pause (below) and are retried on 429.
* ``answerCallbackQuery`` and the other ``answer*Query`` methods are never delayed, not even by
  a flood-control pause, and never retried: the client is waiting for them with a spinner and
  an answer after the deadline is useless.

Flood control: when Telegram nevertheless answers 429 (:exc:`telegram.error.RetryAfter`), all
sends are paused for ``retry_after`` (plus the margin): every pending reservation is moved,
in arrival order, behind the pause, and the failed request is retried first, up to
``max_retries`` times (the ``rate_limit_args`` of a call overrides it). Any other error
(e.g. 403 Forbidden) propagates unchanged and is not retried.

Paid broadcasts (``allow_paid_broadcast=True``) are paced like ordinary sends: safe, only
slower than Telegram would allow. The clock and the sleep function are injectable, so tests can
run the limiter on a virtual clock. Memory is bounded: per-chat windows are dropped as soon as
they are empty.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dtm
import heapq
import itertools
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar

from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

ChatKey = int | str
Result = bool | dict[str, Any] | list[dict[str, Any]]


@dataclass(slots=True)
class _Window:
    """Sorted send instants (made and reserved) that share the given (count, span) rules."""

    rules: tuple[tuple[int, float], ...]
    times: list[float] = field(default_factory=list)

    @property
    def keep(self) -> float:
        """How long an instant matters to any rule of this window."""
        return max(span for _, span in self.rules)

    def earliest(self, t: float) -> float:
        """The earliest instant ``>= t`` at which one more send keeps every rule."""
        while True:
            start = t
            for count, span in self.rules:
                t = _earliest_fit(self.times, count, span, t)
            if t == start:
                return t

    def prune(self, now: float) -> None:
        del self.times[: bisect.bisect_right(self.times, now - self.keep)]

    def remove(self, t: float) -> None:
        i = bisect.bisect_left(self.times, t)
        if i < len(self.times) and self.times[i] == t:
            del self.times[i]


def _earliest_fit(times: list[float], count: int, span: float, t: float) -> float:
    """Earliest ``u >= t`` such that no window ``[w, w + span)`` holds ``count + 1`` instants of
    ``times + [u]``. A send at ``u`` is refused exactly when some ``count`` consecutive instants
    ``times[i : i + count]`` lie, together with ``u``, within less than ``span``, i.e. when
    ``times[i + count - 1] - span < u < times[i] + span``; so jump past such intervals."""
    while True:
        i = bisect.bisect_right(times, t, key=lambda x: x + span)  # first with t - x < span
        j = i + count - 1
        if j >= len(times) or times[j] - span >= t:
            return t
        t = times[i] + span


@dataclass(slots=True)
class _Ticket:
    """One request's reservation: its arrival number, its chat and its slot."""

    seq: int
    chat: ChatKey | None
    at: float = 0.0


class SlidingWindowRateLimiter(BaseRateLimiter[int]):
    """Paces sends so that no overall, per-group or per-chat sliding window is exceeded.

    Args:
        overall_max_rate, overall_time_period: sends allowed in any window of that many seconds
            across all chats (30 per 1 s).
        group_max_rate, group_time_period: the same for one group or channel (20 per 60 s).
        chat_max_rate, chat_time_period: the same for any one chat (1 per 1 s).
        chat_burst: sends a private chat may get at once; its window is that many times
            the per-chat period (3: 3 per 3 s). 1 paces private chats like groups.
        max_retries: retries after a :exc:`~telegram.error.RetryAfter` (3); a call's
            ``rate_limit_args`` overrides it.
        safety_margin: seconds added to every period and to every flood-control pause (0.05).
        clock: the time source, in seconds (:func:`time.monotonic`).
        sleep: the coroutine function used to wait (:func:`asyncio.sleep`).
    """

    PACED_METHODS: ClassVar[frozenset[str]] = frozenset(
        {
            "sendMessage",
            "sendPhoto",
            "sendAudio",
            "sendDocument",
            "sendVideo",
            "sendAnimation",
            "sendVoice",
            "sendVideoNote",
            "sendPaidMedia",
            "sendMediaGroup",
            "sendLocation",
            "sendVenue",
            "sendContact",
            "sendPoll",
            "sendChecklist",
            "sendDice",
            "sendSticker",
            "sendInvoice",
            "sendGame",
            "copyMessage",
            "copyMessages",
            "forwardMessage",
            "forwardMessages",
        }
    )
    IMMEDIATE_METHODS: ClassVar[frozenset[str]] = frozenset(
        {
            "answerCallbackQuery",
            "answerInlineQuery",
            "answerPreCheckoutQuery",
            "answerShippingQuery",
            "answerWebAppQuery",
        }
    )
    #: Differences of clock readings smaller than this are treated as zero.
    EPSILON: ClassVar[float] = 1e-6

    __slots__ = (
        "_chats",
        "_clock",
        "_expiry",
        "_group_rules",
        "_logger",
        "_max_retries",
        "_overall",
        "_pause_until",
        "_pending",
        "_private_rules",
        "_seq",
        "_sleep",
        "_tolerance",
        "safety_margin",
    )

    def __init__(
        self,
        *,
        overall_max_rate: int = FloodLimit.MESSAGES_PER_SECOND,
        overall_time_period: float = 1.0,
        group_max_rate: int = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        group_time_period: float = 60.0,
        chat_max_rate: int = FloodLimit.MESSAGES_PER_SECOND_PER_CHAT,
        chat_time_period: float = 1.0,
        chat_burst: int = 3,
        max_retries: int = 3,
        safety_margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        for name, rate in (
            ("overall_max_rate", overall_max_rate),
            ("group_max_rate", group_max_rate),
            ("chat_max_rate", chat_max_rate),
            ("chat_burst", chat_burst),
        ):
            if rate < 1:
                raise ValueError(f"{name} must be at least 1, not {rate!r}")
        for name, period in (
            ("overall_time_period", overall_time_period),
            ("group_time_period", group_time_period),
            ("chat_time_period", chat_time_period),
        ):
            if period <= 0:
                raise ValueError(f"{name} must be positive, not {period!r}")
        if max_retries < 0 or safety_margin < 0:
            raise ValueError("max_retries and safety_margin must not be negative")

        def span(period: float) -> float:
            return period + safety_margin + self.EPSILON

        self.safety_margin = safety_margin
        self._max_retries = max_retries
        self._clock = clock
        self._sleep = sleep
        self._tolerance = safety_margin / 2  # how late a wake-up may be and still use its slot
        self._overall = _Window(((overall_max_rate, span(overall_time_period)),))
        per_chat = (chat_max_rate, span(chat_time_period))
        burst = max(chat_burst, chat_max_rate)
        self._private_rules = ((burst, span(chat_time_period * burst / chat_max_rate)),)
        self._group_rules = (per_chat, (group_max_rate, span(group_time_period)))
        self._chats: dict[ChatKey, _Window] = {}
        self._expiry: list[tuple[float, int, ChatKey]] = []  # heap: when a chat window may be empty
        self._pending: dict[int, _Ticket] = {}  # reserved and not yet sent, by arrival number
        self._pause_until = float("-inf")
        self._seq = itertools.count()
        self._logger = logging.getLogger(__name__)

    @property
    def tracked_chats(self) -> int:
        """How many per-chat windows are held in memory (for tests and monitoring)."""
        return len(self._chats)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Forget all windows."""
        self._chats.clear()
        self._expiry.clear()
        self._overall.times.clear()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        """Call ``callback`` once its send fits into every window; retry on RetryAfter."""
        if endpoint in self.IMMEDIATE_METHODS:
            return await callback(*args, **kwargs)
        max_retries = self._max_retries if rate_limit_args is None else rate_limit_args
        seq = next(self._seq)
        ticket: _Ticket | None = None
        if endpoint in self.PACED_METHODS:
            ticket = _Ticket(seq, self._chat_key(data.get("chat_id")))
            self._place(ticket, self._clock())
        for attempt in itertools.count():
            try:
                if ticket is not None:
                    await self._wait_for_slot(ticket)
                else:
                    await self._wait_for_pause()
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = self._retry_after_seconds(exc)
                if attempt >= max_retries:
                    self._logger.warning(
                        "%s: flood control (retry after %.1f s), giving up after %d retries",
                        endpoint,
                        seconds,
                        attempt,
                    )
                    raise
                self._logger.info("%s: flood control, pausing sends for %.1f s", endpoint, seconds)
                if ticket is not None:
                    ticket = _Ticket(seq, ticket.chat)
                self._pause(seconds, ticket)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reservations ---------------------------------------------------------------------
    @staticmethod
    def _chat_key(chat_id: object) -> ChatKey | None:
        if chat_id is None or isinstance(chat_id, int):
            return chat_id
        try:
            return int(str(chat_id))
        except ValueError:
            return str(chat_id)  # an @username: a channel or supergroup

    def _chat_window(self, chat: ChatKey) -> _Window:
        window = self._chats.get(chat)
        if window is None:
            is_group = isinstance(chat, str) or chat < 0
            window = _Window(self._group_rules if is_group else self._private_rules)
            self._chats[chat] = window
        return window

    def _windows(self, ticket: _Ticket) -> list[_Window]:
        if ticket.chat is None:
            return [self._overall]
        return [self._overall, self._chat_window(ticket.chat)]

    def _place(self, ticket: _Ticket, not_before: float) -> None:
        """Reserve the earliest slot at or after ``not_before`` (and the pause) for ``ticket``."""
        self._sweep()
        windows = self._windows(ticket)
        t = max(not_before, self._pause_until)
        while True:
            start = t
            for window in windows:
                t = window.earliest(t)
            if t == start:
                break
        for window in windows:
            bisect.insort(window.times, t)
        ticket.at = t
        self._pending[ticket.seq] = ticket
        if ticket.chat is not None:
            heapq.heappush(self._expiry, (t + windows[-1].keep, ticket.seq, ticket.chat))

    def _release(self, ticket: _Ticket) -> None:
        """Give a reserved, unsent slot back."""
        self._pending.pop(ticket.seq, None)
        self._overall.remove(ticket.at)
        if ticket.chat is not None and (window := self._chats.get(ticket.chat)) is not None:
            window.remove(ticket.at)
            if not window.times:
                del self._chats[ticket.chat]

    def _sweep(self) -> None:
        """Drop instants that no longer matter and chat windows that became empty."""
        now = self._clock()
        self._overall.prune(now)
        while self._expiry and self._expiry[0][0] <= now:
            _, _, chat = heapq.heappop(self._expiry)
            window = self._chats.get(chat)
            if window is not None:
                window.prune(now)
                if not window.times:
                    del self._chats[chat]

    async def _wait_for_slot(self, ticket: _Ticket) -> None:
        """Sleep until ``ticket``'s slot (which a pause may move); then it counts as sent."""
        try:
            while True:
                now = self._clock()
                if ticket.at - now > self.EPSILON:
                    await self._sleep(ticket.at - now)
                elif now - ticket.at > self._tolerance:
                    # Woke up too late: the sends reserved around the stale slot assumed it would
                    # be used on time, so reserve again from now.
                    self._release(ticket)
                    self._place(ticket, now)
                else:
                    break
        except BaseException:
            if self._pending.get(ticket.seq) is ticket:
                self._release(ticket)
            raise
        del self._pending[ticket.seq]

    async def _wait_for_pause(self) -> None:
        while (delay := self._pause_until - self._clock()) > self.EPSILON:
            await self._sleep(delay)

    # -- flood control --------------------------------------------------------------------
    @staticmethod
    def _retry_after_seconds(exc: RetryAfter) -> float:
        # PTB 22 returns an int (with a deprecation warning) or, with PTB_TIMEDELTA=1, a timedelta.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            value = exc.retry_after
        if isinstance(value, dtm.timedelta):
            return value.total_seconds()
        return float(value)

    def _pause(self, seconds: float, retry: _Ticket | None) -> None:
        """Hold every send until the pause is over, keeping arrival order; ``retry`` (the
        request that was refused) is reserved among them by its original arrival number."""
        now = self._clock()
        self._pause_until = max(self._pause_until, now + seconds + self.safety_margin)
        tickets = sorted(self._pending.values(), key=lambda ticket: ticket.seq)
        for ticket in tickets:
            self._release(ticket)
        if retry is not None:
            bisect.insort(tickets, retry, key=lambda ticket: ticket.seq)
        for ticket in tickets:
            self._place(ticket, now)
