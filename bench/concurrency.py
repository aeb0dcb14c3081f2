"""Throughput and message loss of three update-processing modes for a 4-step conversation.

Every simulated user runs ``/start`` plus three answers through a ``ConversationHandler``
whose step handlers each reply once (one Bot API round trip of ``--latency`` seconds via the
in-memory ``FakeBotAPI``). All users' messages are interleaved and put on the real
``Application.update_queue`` as fast as possible; nobody waits for a reply.

Interleaving (``--interleave``):

* ``bursts`` (default): every user starts at a random moment and types its messages in quick
  succession, about ``--gap`` other messages apart, so bursts of different users overlap;
* ``round-robin``: everybody's first message, then everybody's second, ... With many users
  this spaces one user's messages further apart than the concurrency limit, so PTB's
  semaphore queue happens to serialise them and hides the loss.

Modes:

* sequential: ``concurrent_updates=False`` (PTB's default);
* PTB concurrent: ``concurrent_updates=256``;
* chat-ordered: ``concurrent_updates=ChatOrderedUpdateProcessor(256)`` (``bot.processor``).

A message is lost if its step handler never saw it. Sequential mode is measured with a subset
of the users (``--sequential-users``) because 2000 updates at 100 ms each would take 200 s;
throughput is the figure compared.

Run: ``python bench/concurrency.py [--users 500] [--sequential-users 50] [--latency 0.1]``
(``--help`` lists the other knobs).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import (
    ApplicationBuilder,
    BaseUpdateProcessor,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.fakebot import FakeBotAPI
from bot.processor import ChatOrderedUpdateProcessor

TEXTS = ("/start", "district 7", "12 households", "done")
FIRST_USER_ID = 100_000


@dataclass
class Result:
    label: str
    users: int
    sent: int
    processed: int
    seconds: float
    handled: int
    finished_users: int
    timed_out: bool

    @property
    def lost(self) -> int:
        return self.sent - self.handled

    @property
    def rate(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0


def message(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": f"Cadre {user_id}"},
        "from": {"id": user_id, "is_bot": False, "first_name": f"Cadre {user_id}"},
        "text": text,
    }
    if text.startswith("/"):
        data["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"update_id": update_id, "message": data}


def arrival_order(users: int, interleave: str, gap: float, seed: int) -> list[tuple[int, int]]:
    """(user index, message index) pairs in the order they reach the bot."""
    if interleave == "round-robin":
        return [(u, i) for i in range(len(TEXTS)) for u in range(users)]
    rng = random.Random(seed)
    timeline: list[tuple[float, int, int]] = []
    for u in range(users):
        moment = rng.uniform(0, users * len(TEXTS))  # one message per time unit on average
        for i in range(len(TEXTS)):
            timeline.append((moment, u, i))
            moment += gap * rng.uniform(0.5, 1.5)
    timeline.sort()
    return [(u, i) for _moment, u, i in timeline]


async def run_mode(
    label: str,
    concurrent: bool | int | BaseUpdateProcessor,
    users: int,
    order: list[tuple[int, int]],
    latency: float,
    limit_seconds: float,
) -> Result:
    # (user id, step) -> how often that step's handler got the message meant for it
    correct: Counter[tuple[int, int]] = Counter()
    processed = 0
    sent = users * len(TEXTS)
    all_processed = asyncio.Event()

    def step(n: int, next_state: int) -> Callable[[Update, Any], Awaitable[int]]:
        async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            assert update.message is not None and update.effective_user is not None
            if update.message.text == TEXTS[n]:
                correct[(update.effective_user.id, n)] += 1
            await update.message.reply_text(f"step {n + 1} of {len(TEXTS)} recorded")
            return next_state

        return callback

    async def count(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # group 1: runs for every update once group 0 (the conversation) is through with it,
        # whether the conversation handled it or ignored it
        nonlocal processed
        processed += 1
        if processed >= sent:
            all_processed.set()

    answer = filters.TEXT & ~filters.COMMAND
    conversation = ConversationHandler(
        entry_points=[CommandHandler("start", step(0, 1))],
        states={
            1: [MessageHandler(answer, step(1, 2))],
            2: [MessageHandler(answer, step(2, 3))],
            3: [MessageHandler(answer, step(3, ConversationHandler.END))],
        },
        fallbacks=[],
    )
    application = (
        ApplicationBuilder()
        .token("123:abc")
        .request(FakeBotAPI(latency=latency))
        .updater(None)
        .concurrent_updates(concurrent)
        .build()
    )
    application.add_handler(conversation)
    application.add_handler(TypeHandler(Update, count), group=1)
    await application.initialize()
    await application.start()

    user_ids = range(FIRST_USER_ID, FIRST_USER_ID + users)
    updates = [
        Update.de_json(message(n, FIRST_USER_ID + u, TEXTS[i]), application.bot)
        for n, (u, i) in enumerate(order, start=1)
    ]

    started = time.perf_counter()
    for update in updates:
        await application.update_queue.put(update)
    timed_out = False
    try:
        await asyncio.wait_for(all_processed.wait(), limit_seconds)
    except TimeoutError:
        timed_out = True
    seconds = time.perf_counter() - started
    processed_at_end = processed

    await application.stop()
    await application.shutdown()
    finished = sum(all(correct[(u, n)] == 1 for n in range(len(TEXTS))) for u in user_ids)
    handled = sum(1 for (u, _n), times in correct.items() if times == 1 and u in user_ids)
    return Result(label, users, sent, processed_at_end, seconds, handled, finished, timed_out)


def report(result: Result, note: str = "") -> None:
    flag = "  TIMED OUT" if result.timed_out else ""
    print(
        f"{result.label:<38} {result.users:>5} {result.sent:>7} {result.seconds:>8.2f}s "
        f"{result.rate:>10.1f} {result.lost:>6} {result.finished_users:>5}/{result.users:<5}"
        f"{note}{flag}",
        flush=True,
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--sequential-users", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1, help="Bot API round trip (s)")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=120.0, help="per mode (s)")
    parser.add_argument("--interleave", choices=("bursts", "round-robin"), default="bursts")
    parser.add_argument(
        "--gap", type=float, default=8.0, help="bursts: other messages between a user's messages"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=PTBUserWarning)  # per_message=False notice

    seq_users = min(args.sequential_users, args.users)
    how = f"bursts ~{args.gap:g} apart" if args.interleave == "bursts" else "round-robin"
    print(
        f"{len(TEXTS)}-step conversation, {args.users} users, Bot API latency "
        f"{args.latency * 1000:.0f} ms, max {args.concurrency} concurrent updates, "
        f"interleave: {how}"
    )
    print(
        f"{'mode':<38} {'users':>5} {'updates':>7} {'time':>9} {'updates/s':>10} "
        f"{'lost':>6} {'finished':>11}"
    )
    seq_timeout = max(args.timeout, 3 * seq_users * len(TEXTS) * args.latency)
    order = arrival_order(args.users, args.interleave, args.gap, args.seed)
    seq_order = arrival_order(seq_users, args.interleave, args.gap, args.seed)
    sequential = await run_mode(
        "sequential (concurrent_updates=False)",
        False,
        seq_users,
        seq_order,
        args.latency,
        seq_timeout,
    )
    subset = f"  (subset: {seq_users} of {args.users} users)" if seq_users < args.users else ""
    report(sequential, subset)
    plain = await run_mode(
        f"PTB concurrent_updates={args.concurrency}",
        args.concurrency,
        args.users,
        order,
        args.latency,
        args.timeout,
    )
    report(plain)
    ours = await run_mode(
        f"ChatOrderedUpdateProcessor({args.concurrency})",
        ChatOrderedUpdateProcessor(args.concurrency),
        args.users,
        order,
        args.latency,
        args.timeout,
    )
    report(ours)
    ratio = ours.rate / sequential.rate if sequential.rate else float("inf")
    print(f"ours / sequential throughput: {ratio:.1f}x")
    return 0 if ours.lost == 0 and not ours.timed_out else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
