"""Tests for :mod:`bot.processor`: per-chat order, cross-chat concurrency, bookkeeping."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from telegram import Bot, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.fakebot import FakeBotAPI
from bot.processor import ChatOrderedUpdateProcessor

USER_A = 1001
USER_B = 1002
TIMEOUT = 5.0  # upper bound only; nothing below waits for wall-clock time to pass

_update_ids = itertools.count(1)


def message_update(bot: Bot, chat_id: int, text: str, *, user_id: int | None = None) -> Update:
    """A private-chat text message as Telegram would send it (``/commands`` get an entity)."""
    user_id = chat_id if user_id is None else user_id
    message: dict[str, Any] = {
        "message_id": next(_update_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": f"User{user_id}"},
        "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"},
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    update = Update.de_json({"update_id": next(_update_ids), "message": message}, bot)
    assert update is not None
    return update


def inline_query_update(bot: Bot, user_id: int) -> Update:
    data = {
        "update_id": next(_update_ids),
        "inline_query": {
            "id": str(next(_update_ids)),
            "from": {"id": user_id, "is_bot": False, "first_name": "Inline"},
            "query": "q",
            "offset": "",
        },
    }
    update = Update.de_json(data, bot)
    assert update is not None
    return update


@pytest.fixture
def bot() -> Bot:
    return Bot("123:abc", request=FakeBotAPI())


async def let_others_run(rounds: int = 20) -> None:
    """Yield to the event loop a few times so every runnable task gets to its next await."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def spawn(
    processor: ChatOrderedUpdateProcessor, update: object, coroutine: Awaitable[Any]
) -> asyncio.Task[None]:
    """Like ``Application``: one task per update, created in arrival order."""
    return asyncio.create_task(processor.process_update(update, coroutine))


async def record(log: list[str], name: str, gate: asyncio.Event | None = None) -> None:
    log.append(f"start {name}")
    if gate is not None:
        await gate.wait()
    await asyncio.sleep(0)
    log.append(f"end {name}")


# -- unit tests -----------------------------------------------------------------------------


def test_ordering_key(bot: Bot) -> None:
    key = ChatOrderedUpdateProcessor.ordering_key
    assert key(message_update(bot, -500, "hi", user_id=USER_A)) == -500  # chat wins over user
    assert key(inline_query_update(bot, USER_B)) == USER_B  # no chat: the user
    assert key(Update(update_id=1)) is None  # neither
    assert key(object()) is None  # not a telegram update


async def test_one_chat_runs_in_arrival_order_even_if_the_first_is_slow(bot: Bot) -> None:
    processor = ChatOrderedUpdateProcessor(256)
    log: list[str] = []
    gate = asyncio.Event()
    tasks = [spawn(processor, message_update(bot, USER_A, "1"), record(log, "1", gate))]
    tasks += [
        spawn(processor, message_update(bot, USER_A, str(n)), record(log, str(n)))
        for n in range(2, 6)
    ]
    await let_others_run()
    assert log == ["start 1"]  # the others wait although slots are free
    assert processor.waiting(USER_A) == 5
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert log == [f"{edge} {n}" for n in range(1, 6) for edge in ("start", "end")]
    assert processor.active_keys == 0


async def test_different_chats_overlap(bot: Bot) -> None:
    processor = ChatOrderedUpdateProcessor(256)
    a_started, b_started = asyncio.Event(), asyncio.Event()

    async def handler(mine: asyncio.Event, other: asyncio.Event) -> None:
        mine.set()
        await other.wait()  # only returns if the other chat's update runs at the same time

    tasks = [
        spawn(processor, message_update(bot, USER_A, "a"), handler(a_started, b_started)),
        spawn(processor, message_update(bot, USER_B, "b"), handler(b_started, a_started)),
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert processor.active_keys == 0


async def test_updates_without_chat_or_user_run_freely() -> None:
    processor = ChatOrderedUpdateProcessor(256)
    first, second = asyncio.Event(), asyncio.Event()

    async def handler(mine: asyncio.Event, other: asyncio.Event) -> None:
        mine.set()
        await other.wait()

    tasks = [
        spawn(processor, Update(update_id=1), handler(first, second)),
        spawn(processor, object(), handler(second, first)),
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert processor.active_keys == 0


async def test_inline_queries_of_one_user_are_ordered(bot: Bot) -> None:
    processor = ChatOrderedUpdateProcessor(256)
    log: list[str] = []
    gate = asyncio.Event()
    tasks = [
        spawn(processor, inline_query_update(bot, USER_A), record(log, "1", gate)),
        spawn(processor, inline_query_update(bot, USER_A), record(log, "2")),
    ]
    await let_others_run()
    assert log == ["start 1"]
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert log == ["start 1", "end 1", "start 2", "end 2"]


async def test_busy_chat_does_not_starve_other_chats(bot: Bot) -> None:
    """Chat A queues many updates behind a slow one; chat B still gets the free slot."""
    processor = ChatOrderedUpdateProcessor(2)
    log: list[str] = []
    gate = asyncio.Event()
    tasks = [spawn(processor, message_update(bot, USER_A, "a1"), record(log, "a1", gate))]
    tasks += [
        spawn(processor, message_update(bot, USER_A, f"a{n}"), record(log, f"a{n}"))
        for n in range(2, 12)
    ]
    b_done = spawn(processor, message_update(bot, USER_B, "b"), record(log, "b"))
    await asyncio.wait_for(b_done, TIMEOUT)  # would hang if a2..a11 held the second slot
    assert log == ["start a1", "start b", "end b"]
    assert processor.current_concurrent_updates == 1
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert processor.active_keys == 0


async def test_concurrency_limit_is_respected(bot: Bot) -> None:
    processor = ChatOrderedUpdateProcessor(3)
    gate = asyncio.Event()
    running = 0
    peak = 0

    async def handler() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1

    tasks = [spawn(processor, message_update(bot, 2000 + n, "x"), handler()) for n in range(10)]
    await let_others_run()
    assert running == 3
    assert processor.current_concurrent_updates == 3
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert peak == 3
    assert processor.active_keys == 0


async def test_exception_does_not_block_the_chat(bot: Bot) -> None:
    hooks: list[str] = []

    async def after_update() -> None:
        hooks.append("flush")

    processor = ChatOrderedUpdateProcessor(256, after_update=after_update)
    log: list[str] = []

    async def boom() -> None:
        log.append("boom")
        raise RuntimeError("handler failed")

    first = spawn(processor, message_update(bot, USER_A, "1"), boom())
    second = spawn(processor, message_update(bot, USER_A, "2"), record(log, "2"))
    results = await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), 5)
    assert isinstance(results[0], RuntimeError)
    assert results[1] is None
    assert log == ["boom", "start 2", "end 2"]
    assert hooks == ["flush", "flush"]  # also after the failed update
    assert processor.active_keys == 0


async def test_after_update_runs_before_the_next_update_of_the_chat(bot: Bot) -> None:
    log: list[str] = []
    flush_gate = asyncio.Event()

    async def after_update() -> None:
        log.append("flush begins")
        await flush_gate.wait()
        log.append("flush ends")

    processor = ChatOrderedUpdateProcessor(256, after_update=after_update)
    tasks = [
        spawn(processor, message_update(bot, USER_A, "1"), record(log, "1")),
        spawn(processor, message_update(bot, USER_A, "2"), record(log, "2")),
    ]
    await let_others_run()
    assert log == ["start 1", "end 1", "flush begins"]  # update 2 waits for the flush
    flush_gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert log[3:] == ["flush ends", "start 2", "end 2", "flush begins", "flush ends"]


async def test_bookkeeping_is_dropped_when_chats_go_idle(bot: Bot) -> None:
    processor = ChatOrderedUpdateProcessor(8)
    gate = asyncio.Event()

    async def handler() -> None:
        await gate.wait()

    tasks = [
        spawn(processor, message_update(bot, 3000 + n % 50, "x"), handler()) for n in range(200)
    ]
    await let_others_run()
    assert processor.active_keys == 50
    assert processor.waiting(3000) == 4
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert processor.active_keys == 0
    assert processor.waiting(3000) == 0
    assert processor._chats == {}


async def test_cancelled_waiter_keeps_order_and_cleans_up(bot: Bot) -> None:
    processor = ChatOrderedUpdateProcessor(256)
    log: list[str] = []
    gate = asyncio.Event()
    first = spawn(processor, message_update(bot, USER_A, "1"), record(log, "1", gate))
    doomed_coroutine = record(log, "2")
    doomed = spawn(processor, message_update(bot, USER_A, "2"), doomed_coroutine)
    third = spawn(processor, message_update(bot, USER_A, "3"), record(log, "3"))
    await let_others_run()
    doomed.cancel()
    await let_others_run()
    assert log == ["start 1"]  # cancelling the waiter must not let update 3 jump ahead
    gate.set()
    await asyncio.wait_for(asyncio.gather(first, third), TIMEOUT)
    assert doomed.cancelled()
    assert doomed_coroutine.cr_frame is None  # closed, so no "never awaited" warning
    assert log == ["start 1", "end 1", "start 3", "end 3"]
    assert processor.active_keys == 0


async def test_initialize_and_shutdown() -> None:
    processor = ChatOrderedUpdateProcessor(4)
    async with processor as entered:
        assert entered is processor
    await processor.initialize()
    await processor.shutdown()
    assert processor.max_concurrent_updates == 4
    with pytest.raises(ValueError):
        ChatOrderedUpdateProcessor(0)


# -- end to end with a real Application -----------------------------------------------------

STEP1, STEP2, STEP3 = range(3)


def build_conversation_app(
    concurrent: ChatOrderedUpdateProcessor | int,
) -> tuple[Application[Any, Any, Any, Any, Any, Any], list[tuple[int, str]], asyncio.Event]:
    """An app with a 4-step conversation; the first step blocks until the event is set."""
    handled: list[tuple[int, str]] = []
    first_step_gate = asyncio.Event()

    def step(n: int, next_state: int) -> Callable[[Update, Any], Awaitable[int]]:
        async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            assert update.message is not None and update.message.text is not None
            handled.append((n, update.message.text))
            if n == 1:
                await first_step_gate.wait()  # a slow first answer: the user types on
            await update.message.reply_text(f"step {n} done")
            return next_state

        return callback

    answer = filters.TEXT & ~filters.COMMAND
    conversation = ConversationHandler(
        entry_points=[CommandHandler("start", step(1, STEP1))],
        states={
            STEP1: [MessageHandler(answer, step(2, STEP2))],
            STEP2: [MessageHandler(answer, step(3, STEP3))],
            STEP3: [MessageHandler(answer, step(4, ConversationHandler.END))],
        },
        fallbacks=[],
    )
    application = (
        ApplicationBuilder()
        .token("123:abc")
        .request(FakeBotAPI())
        .get_updates_request(FakeBotAPI())
        .concurrent_updates(concurrent)
        .build()
    )
    application.add_handler(conversation)
    return application, handled, first_step_gate


async def run_quick_typist(concurrent: ChatOrderedUpdateProcessor | int) -> list[tuple[int, str]]:
    """One user sends /start and three answers without waiting; returns what was handled."""
    application, handled, first_step_gate = build_conversation_app(concurrent)
    await application.initialize()
    await application.start()
    try:
        for text in ("/start", "alpha", "beta", "gamma"):
            await application.update_queue.put(message_update(application.bot, USER_A, text))
        await let_others_run()  # all four updates are now being processed or waiting
        first_step_gate.set()
        await asyncio.wait_for(application.update_queue.join(), TIMEOUT)
    finally:
        await application.stop()
        await application.shutdown()
    return handled


async def test_application_handles_a_quick_typists_whole_conversation() -> None:
    flushes = 0

    async def after_update() -> None:
        nonlocal flushes
        flushes += 1

    processor = ChatOrderedUpdateProcessor(256, after_update=after_update)
    handled = await run_quick_typist(processor)
    assert handled == [(1, "/start"), (2, "alpha"), (3, "beta"), (4, "gamma")]
    assert flushes == 4
    assert processor.active_keys == 0


async def test_plain_concurrent_updates_drop_the_quick_typists_messages() -> None:
    """The failure mode the processor fixes, as a control for the test above."""
    handled = await run_quick_typist(256)
    assert handled == [(1, "/start")]
