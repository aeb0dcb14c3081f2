"""Broadcast benchmark: one notice to many group chats through a real Application.

Usage: ``python bench/broadcast.py [--groups 1000] [--stock-retries 0] [--skip-stock]``

Every send is started at once (``asyncio.gather`` of ``app.bot.send_message``) against
``FakeBotAPI``, which simulates Telegram's flood limits (30 messages in any second, 20 to one
group in any minute, 1 to one chat in any second) on the real monotonic clock and answers 429
when a window would be exceeded. The same broadcast is run with ``SlidingWindowRateLimiter``
and with PTB's stock ``AIORateLimiter()``. The floor is the shortest possible time at the
overall rate, ``groups / 30`` seconds. Each run takes about ``groups / 30`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from dataclasses import dataclass

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, ApplicationBuilder, BaseRateLimiter

from bot.fakebot import FakeBotAPI, FloodLimits
from bot.ratelimit import SlidingWindowRateLimiter


@dataclass
class Outcome:
    elapsed: float
    too_many_requests: int
    delivered: int
    failed: int


async def broadcast(limiter: BaseRateLimiter, groups: int) -> Outcome:
    api = FakeBotAPI(limits=FloodLimits())
    app = (
        ApplicationBuilder()
        .token("123:abc")
        .request(api)
        .get_updates_request(api)
        .rate_limiter(limiter)
        .updater(None)
        .build()
    )
    notice = "Reminder: clean-up day on Saturday, 9:00, meet at the square."
    async with app:
        start = time.monotonic()
        results = await asyncio.gather(
            *(app.bot.send_message(chat_id=-1001 - n, text=notice) for n in range(groups)),
            return_exceptions=True,
        )
        elapsed = time.monotonic() - start
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, RetryAfter):
            raise result
    failed = sum(isinstance(result, RetryAfter) for result in results)
    return Outcome(elapsed, api.too_many_requests, len(api.sent()), failed)


def report(name: str, outcome: Outcome, groups: int, floor: float) -> None:
    print(
        f"{name}: elapsed {outcome.elapsed:.2f} s, {outcome.elapsed / floor:.3f}x the floor, "
        f"429 answers: {outcome.too_many_requests}, "
        f"delivered {outcome.delivered}/{groups}, failed with RetryAfter: {outcome.failed}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1000, help="group chats (default 1000)")
    parser.add_argument(
        "--stock-retries", type=int, default=0, help="AIORateLimiter max_retries (default 0)"
    )
    parser.add_argument("--skip-stock", action="store_true", help="do not run AIORateLimiter")
    args = parser.parse_args()
    groups: int = args.groups
    # AIORateLimiter logs a traceback for every request it gives up on; keep the output readable.
    logging.getLogger("telegram").setLevel(logging.CRITICAL)

    limits = FloodLimits()
    floor = groups / limits.per_second_overall
    print(
        f"one notice to {groups} groups (chat ids -1001 .. {-1000 - groups}); FakeBotAPI limits: "
        f"{limits.per_second_overall}/s overall, {limits.per_minute_per_group}/min per group, "
        f"{limits.per_second_per_chat}/s per chat"
    )
    print(f"floor: {groups}/{limits.per_second_overall} = {floor:.2f} s")
    bursts = -(-groups // limits.per_second_overall)
    print(f"(sliding windows allow {bursts} bursts a second apart: at best {bursts - 1:.2f} s)")
    report(
        "SlidingWindowRateLimiter()",
        await broadcast(SlidingWindowRateLimiter(), groups),
        groups,
        floor,
    )
    if not args.skip_stock:
        stock = AIORateLimiter(max_retries=args.stock_retries)
        name = (
            "AIORateLimiter()"
            if args.stock_retries == 0
            else f"AIORateLimiter(max_retries={args.stock_retries})"
        )
        report(name, await broadcast(stock, groups), groups, floor)


if __name__ == "__main__":
    asyncio.run(main())
