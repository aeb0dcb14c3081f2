"""SlidingWindowRateLimiter on a virtual clock: no window is ever exceeded, nothing sleeps for real."""

from __future__ import annotations

import asyncio
import datetime as dtm
import heapq
import itertools
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from telegram import Bot
from telegram.error import Forbidden, RetryAfter
from telegram.ext import Application, ApplicationBuilder
from telegram.request import RequestData

from bot.fakebot import FakeBotAPI, FloodLimits
from bot.ratelimit import SlidingWindowRateLimiter


class VirtualClock:
    """A discrete-event clock: ``sleep`` parks the caller; once every other task has had the
    chance to run, time jumps to the earliest wake-up and that sleeper resumes."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (self.now + max(delay, 0.0), next(self._seq), future))
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await future

    async def _drive(self) -> None:
        while self._sleepers:
            for _ in range(20):  # let every runnable task run until it sleeps or finishes
                await asyncio.sleep(0)
            deadline, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, deadline)
            if not future.done():
                future.set_result(None)


@dataclass
class Sent:
    at: float
    method: str
    chat_id: int | None
    text: str
    status: int


class RecordingAPI(FakeBotAPI):
    """FakeBotAPI that also logs when (on its clock) each request arrived and how it was answered."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log: list[Sent] = []

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        at = self.clock()
        status, body = await super().do_request(url, method, request_data)
        params = request_data.parameters if request_data else {}
        chat_id = params.get("chat_id")
        self.log.append(
            Sent(
                at,
                url.rsplit("/", 1)[-1],
                int(chat_id) if chat_id is not None else None,
                str(params.get("text", "")),
                status,
            )
        )
        return status, body

    def sends(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Sent]:
        return [
            s
            for s in self.log
            if s.method == method and s.status == 200 and (chat_id is None or s.chat_id == chat_id)
        ]


def most_in_window(times: list[float], span: float) -> int:
    """The largest number of instants inside any half-open window ``[w, w + span)``."""
    times = sorted(times)
    best, j = 0, 0
    for i, start in enumerate(times):
        j = max(j, i)
        while j < len(times) and times[j] - start < span:
            j += 1
        best = max(best, j - i)
    return best


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def limiter(clock: VirtualClock) -> SlidingWindowRateLimiter:
    return SlidingWindowRateLimiter(clock=clock, sleep=clock.sleep)


@pytest.fixture
def api(clock: VirtualClock) -> RecordingAPI:
    return RecordingAPI(limits=FloodLimits(), clock=clock)


@asynccontextmanager
async def running(api: FakeBotAPI, limiter: SlidingWindowRateLimiter) -> AsyncIterator[Application]:
    app = (
        ApplicationBuilder()
        .token("123:abc")
        .request(api)
        .get_updates_request(api)
        .rate_limiter(limiter)
        .updater(None)
        .build()
    )
    async with app:
        yield app


async def send_all(app: Application, chats: list[int]) -> None:
    await asyncio.gather(
        *(app.bot.send_message(chat_id=chat, text=str(n)) for n, chat in enumerate(chats))
    )


# -- the windows ----------------------------------------------------------------------------


async def test_100_groups_never_more_than_30_in_any_second(
    api: RecordingAPI, limiter: SlidingWindowRateLimiter
) -> None:
    async with running(api, limiter) as app:
        await send_all(app, [-1001 - n for n in range(100)])
    times = [s.at for s in api.sends()]
    assert len(times) == 100
    assert most_in_window(times, 1.0) == 30
    assert api.too_many_requests == 0
    assert max(times) < 3.5  # 30 + 30 + 30 + 10, a second (plus the margin) apart


async def test_45_to_one_group_never_more_than_20_in_any_minute(
    api: RecordingAPI, limiter: SlidingWindowRateLimiter
) -> None:
    async with running(api, limiter) as app:
        await send_all(app, [-42] * 45)
    sent = api.sends(chat_id=-42)
    times = [s.at for s in sent]
    assert len(times) == 45
    assert most_in_window(times, 60.0) == 20
    assert most_in_window(times, 1.0) == 1
    assert [s.text for s in sent] == [str(n) for n in range(45)]  # arrival order kept
    assert api.too_many_requests == 0
    assert max(times) < 2 * 60.2 + 5 * 1.1  # no slower than the windows demand


async def test_private_chat_gets_a_short_burst_then_one_a_second(
    api: RecordingAPI, limiter: SlidingWindowRateLimiter
) -> None:
    async with running(api, limiter) as app:
        await send_all(app, [4242] * 9)
    times = [s.at for s in api.sends(chat_id=4242)]
    assert len(times) == 9
    assert times[:3] == [0.0, 0.0, 0.0]  # a reply of three messages goes out at once
    assert times[3] >= 3.0  # then the average is one a second
    assert most_in_window(times, 3.0) == 3
    assert times[-1] < 6 * 1.1
    assert api.too_many_requests == 0


async def test_step_latency_of_two_and_three_message_replies(
    api: RecordingAPI, limiter: SlidingWindowRateLimiter, clock: VirtualClock
) -> None:
    """A conversation: each step's reply is 2 or 3 messages sent one after the other; the user
    answers 3-6 s after the reply (on the limiter's clock). Every message of every step goes
    out with no wait; before the burst allowance the second message waited about 1 s."""
    latencies = []
    async with running(api, limiter) as app:
        for step in range(12):
            start = clock.now
            for n in range(2 + step % 2):
                await app.bot.send_message(chat_id=5151, text=f"{step}.{n}")
                latencies.append(clock.now - start)
            await clock.sleep(3.1 + step % 4)  # the user reads and answers
    assert len(latencies) == 30
    assert max(latencies) == 0.0
    assert api.too_many_requests == 0
    # and the old pacing, for comparison: the second message of a reply waited a second
    slow_clock = VirtualClock()
    slow = SlidingWindowRateLimiter(clock=slow_clock, sleep=slow_clock.sleep, chat_burst=1)
    waits = []
    async with running(RecordingAPI(limits=FloodLimits(), clock=slow_clock), slow) as app:
        start = slow_clock.now
        await app.bot.send_message(chat_id=5151, text="a")
        await app.bot.send_message(chat_id=5151, text="b")
        waits.append(slow_clock.now - start)
    assert waits[0] >= 1.0


async def test_groups_keep_one_a_second_with_the_burst(
    api: RecordingAPI, limiter: SlidingWindowRateLimiter
) -> None:
    async with running(api, limiter) as app:
        await send_all(app, [-4242] * 3)
    times = [s.at for s in api.sends(chat_id=-4242)]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


async def test_a_held_up_group_does_not_hold_up_other_chats(
    api: RecordingAPI, limiter: SlidingWindowRateLimiter, clock: VirtualClock
) -> None:
    async with running(api, limiter) as app:
        await send_all(app, [-7] * 21)  # the 21st waits for the minute window
        assert clock.now > 60
        clock.now = 0.0  # start over in a fresh limiter
    limiter = SlidingWindowRateLimiter(clock=clock, sleep=clock.sleep)
    api = RecordingAPI(limits=FloodLimits(), clock=clock)
    async with running(api, limiter) as app:
        await send_all(app, [*([-7] * 21), 1, 2, 3])
    assert [s.at for s in api.sends(chat_id=1)] == [0.0]  # not queued behind the 21st
    assert api.too_many_requests == 0


async def test_100_messages_to_60_groups_through_the_application_get_no_429(
    api: RecordingAPI, limiter: SlidingWindowRateLimiter
) -> None:
    async with running(api, limiter) as app:
        await send_all(app, [-1001 - n % 60 for n in range(100)])
    assert api.too_many_requests == 0
    assert len(api.sends()) == 100
    times = [s.at for s in api.sends()]
    assert most_in_window(times, 1.0) <= 30
    for chat in range(-1001, -1061, -1):
        assert most_in_window([s.at for s in api.sends(chat_id=chat)], 1.0) <= 1


async def test_late_wakeups_do_not_bunch_sends(clock: VirtualClock) -> None:
    """A busy event loop wakes sleepers late; stale slots are given up, not bunched."""
    rng = random.Random(7)

    async def oversleeping(delay: float) -> None:
        await clock.sleep(delay + rng.uniform(0.0, 0.4))

    limiter = SlidingWindowRateLimiter(clock=clock, sleep=oversleeping)
    api = RecordingAPI(limits=FloodLimits(), clock=clock)
    chats = [-1001 - n % 40 for n in range(150)] + [n % 7 + 1 for n in range(30)]
    rng.shuffle(chats)
    async with running(api, limiter) as app:
        await send_all(app, chats)
    assert len(api.sends()) == 180
    assert api.too_many_requests == 0


# -- what is and is not paced ---------------------------------------------------------------


async def test_answer_callback_query_is_not_delayed(
    api: RecordingAPI, limiter: SlidingWindowRateLimiter, clock: VirtualClock
) -> None:
    async with running(api, limiter) as app:
        broadcast = asyncio.gather(
            *(app.bot.send_message(chat_id=-1001 - n, text="x") for n in range(100))
        )
        await asyncio.sleep(0)
        assert len(api.sends()) == 30  # the rest are waiting for their slots
        assert await app.bot.answer_callback_query("query-1") is True
        assert clock.now == 0.0
        await broadcast
    answers = [s for s in api.log if s.method == "answerCallbackQuery"]
    assert [a.at for a in answers] == [0.0]


async def test_answer_callback_query_is_not_delayed_by_flood_control(
    limiter: SlidingWindowRateLimiter, clock: VirtualClock
) -> None:
    calls: list[tuple[str, float]] = []

    async def refused_once() -> bool:
        calls.append(("sendMessage", clock.now))
        if len(calls) == 1:
            raise RetryAfter(10)
        return True

    async def answer() -> bool:
        calls.append(("answerCallbackQuery", clock.now))
        return True

    send = asyncio.create_task(
        limiter.process_request(refused_once, (), {}, "sendMessage", {"chat_id": 5}, None)
    )
    await asyncio.sleep(0)  # the send is refused and the limiter pauses
    await limiter.process_request(answer, (), {}, "answerCallbackQuery", {}, None)
    assert calls[-1] == ("answerCallbackQuery", 0.0)
    assert await send is True
    assert calls[-1][0] == "sendMessage" and calls[-1][1] >= 10.0


async def test_edits_are_not_paced(
    api: RecordingAPI, limiter: SlidingWindowRateLimiter, clock: VirtualClock
) -> None:
    async with running(api, limiter) as app:
        message = await app.bot.send_message(chat_id=-99, text="menu")
        await message.edit_text("menu, page 2")
        await app.bot.send_message(chat_id=-99, text="next")
    assert [s.at for s in api.log if s.method == "editMessageText"] == [0.0]
    assert [s.at for s in api.sends(chat_id=-99)][1] >= 1.0


# -- errors ---------------------------------------------------------------------------------


async def test_retry_after_from_telegram_is_waited_out_and_retried(
    api: RecordingAPI, limiter: SlidingWindowRateLimiter, clock: VirtualClock
) -> None:
    async with Bot("123:abc", request=api) as elsewhere:  # another process uses up the group
        for n in range(20):
            clock.now = float(n)
            await elsewhere.send_message(chat_id=-500, text=f"other {n}")
    clock.now = 25.0
    async with running(api, limiter) as app:
        message = await app.bot.send_message(chat_id=-500, text="ours")
    assert message.text == "ours"
    assert api.too_many_requests == 1
    refused = [s for s in api.log if s.status == 429]
    delivered = api.sends(chat_id=-500)[-1]
    assert delivered.text == "ours"
    assert refused[0].at == 25.0
    assert delivered.at >= 25.0 + 36  # Telegram said: retry after int(60 - 25) + 1 seconds


async def test_retry_after_as_timedelta_and_retry_limit(
    limiter: SlidingWindowRateLimiter, clock: VirtualClock
) -> None:
    attempts: list[float] = []

    async def always_refused() -> bool:
        attempts.append(clock.now)
        raise RetryAfter(dtm.timedelta(seconds=2))

    with pytest.raises(RetryAfter):
        await limiter.process_request(always_refused, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert len(attempts) == 4  # the call and max_retries=3 retries
    assert all(b - a >= 2.0 for a, b in itertools.pairwise(attempts))

    attempts.clear()
    with pytest.raises(RetryAfter):  # rate_limit_args overrides max_retries
        await limiter.process_request(always_refused, (), {}, "getChat", {"chat_id": 1}, 0)
    assert len(attempts) == 1


async def test_flood_control_pauses_all_sends_and_keeps_their_order(
    clock: VirtualClock,
) -> None:
    # One send per second overall, so that every request has a slot of its own.
    limiter = SlidingWindowRateLimiter(overall_max_rate=1, clock=clock, sleep=clock.sleep)
    calls: list[tuple[int, float]] = []

    def sender(n: int) -> Callable[[], Any]:
        async def send() -> bool:
            calls.append((n, clock.now))
            if len(calls) == 4:  # the fourth send is refused once
                raise RetryAfter(5)
            return True

        return send

    await asyncio.gather(
        *(
            limiter.process_request(sender(n), (), {}, "sendMessage", {"chat_id": n + 1}, None)
            for n in range(10)
        )
    )
    refused_at = calls[3][1]
    assert calls[3][0] == 3
    after = calls[4:]
    assert all(at >= refused_at + 5 for _, at in after)  # nothing went out during the pause
    assert [n for n, _ in after] == list(range(3, 10))  # the refused one first, then in order
    assert all(b - a >= 1.0 for (_, a), (_, b) in itertools.pairwise(after))


async def test_forbidden_is_propagated_not_retried(
    clock: VirtualClock, limiter: SlidingWindowRateLimiter
) -> None:
    api = RecordingAPI(limits=FloodLimits(), clock=clock, forbidden_chats={-77})
    async with running(api, limiter) as app:
        with pytest.raises(Forbidden):
            await app.bot.send_message(chat_id=-77, text="hello")
    assert [s.status for s in api.log if s.chat_id == -77] == [403]


# -- bookkeeping ----------------------------------------------------------------------------


async def test_cancelled_request_gives_its_slot_back(
    limiter: SlidingWindowRateLimiter, clock: VirtualClock
) -> None:
    calls: list[tuple[str, float]] = []

    def sender(name: str) -> Callable[[], Any]:
        async def send() -> bool:
            calls.append((name, clock.now))
            return True

        return send

    await limiter.process_request(sender("a"), (), {}, "sendMessage", {"chat_id": -3}, None)
    waiting = asyncio.create_task(
        limiter.process_request(sender("b"), (), {}, "sendMessage", {"chat_id": -3}, None)
    )
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await limiter.process_request(sender("c"), (), {}, "sendMessage", {"chat_id": -3}, None)
    assert [name for name, _ in calls] == ["a", "c"]
    assert 1.0 <= calls[1][1] < 1.1


async def test_empty_chat_windows_are_dropped(
    api: RecordingAPI, limiter: SlidingWindowRateLimiter, clock: VirtualClock
) -> None:
    async with running(api, limiter) as app:
        await send_all(app, [-1001 - n for n in range(100)] + list(range(1, 51)))
        assert limiter.tracked_chats == 150
        await clock.sleep(61)
        await app.bot.send_message(chat_id=7, text="later")
        assert limiter.tracked_chats == 1


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        SlidingWindowRateLimiter(overall_max_rate=0)
    with pytest.raises(ValueError):
        SlidingWindowRateLimiter(group_time_period=0)
    with pytest.raises(ValueError):
        SlidingWindowRateLimiter(safety_margin=-1)
