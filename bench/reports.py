"""Cost of one update of the /report conversation against a bare python-telegram-bot handler.

Usage: ``python bench/reports.py [--rounds 7] [--reports 40] [--users 20] [--warmup 5]``

Two applications run side by side in one process, over the same kind of in-memory Bot API
(:class:`bot.fakebot.FakeBotAPI`, answering instantly) and driven the same way, by
:class:`bot.simulator.Simulator` (each update goes through the application's update processor
and ``process_update``):

* **cadre-bot**: the whole bot from :func:`bot.app.build_application` over a real SQLite file
  (WAL, the project's migrations), started (so its job queue runs the conversation timeouts).
  Each report is 11 updates (/report, 昨天, two category buttons, the place, the participants,
  the amounts, one photo, 完成, the notes, 保存) by one of ``--users`` village secretaries.
  With ``--inbox`` (the default) every update is first written to the durable inbox, as the
  polling and webhook paths do in production (design B of ``bot.inbox``).
* **bare PTB**: an ``Application`` with the same processor settings and no persistence, whose
  handlers make the same Bot API calls per step: ``sendMessage`` for a message, or
  ``answerCallbackQuery`` + ``editMessageText`` with a 6-button keyboard for a button press.

Rounds are interleaved (bot, bare, bare, bot, ...) so that drift of the machine hits both.
Printed: per round the updates per second of both; then min/median/max of both, the ratio of
the medians (bot / bare: 1.0 means the bot costs no more than PTB itself), and the bot's
per-update median and p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.ext import (  # noqa: E402
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.fakebot import FakeBotAPI  # noqa: E402
from bot.processor import ChatOrderedUpdateProcessor  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.simulator import Simulator  # noqa: E402
from storage.reports import ReportQuery  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=TZ)
FIRST_USER = 500_000

# One report: (kind, label for the bot, payload for the bare handler's button press).
STEPS: tuple[tuple[str, str, str], ...] = (
    ("send", "/report", ""),
    ("press", "昨天", "report:date:-1"),
    ("press", "垃圾清除", "report:cat:garbage"),
    ("press", "下一步", "report:catdone:"),
    ("send", "村东头坑塘", ""),
    ("send", "干部3 党员5 群众20", ""),
    ("send", "清运垃圾5车 拆除残墙2处", ""),
    ("photo", "", ""),
    ("press", "完成", "report:photosdone:"),
    ("send", "群众自发参与,效果明显", ""),
    ("press", "保存", "report:save:0123456789abcdef"),
)

KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton(f"b{r}{c}", callback_data=f"x:y:{r}{c}") for c in range(2)] for r in range(3)]
)


async def drive(sim: Simulator, user: int, *, bot: bool, timed: list[float]) -> None:
    """One complete report by ``user``; each update's latency appended to ``timed``."""
    for kind, value, payload in STEPS:
        started = time.perf_counter()
        if kind == "send":
            await sim.send(value, user)
        elif kind == "photo":
            await sim.photo(user)
        elif bot:
            await sim.press(value, user)
        else:
            await sim.click(payload, user)
        timed.append(time.perf_counter() - started)


async def one_round(sim: Simulator, users: list[int], reports: int, *, bot: bool, start: int) -> list[float]:
    latencies: list[float] = []
    for i in range(reports):
        await drive(sim, users[(start + i) % len(users)], bot=bot, timed=latencies)
    return latencies


async def start_bot(db: Path, users: int, *, inbox: bool) -> tuple[Simulator, list[int], int]:
    settings = Settings(token="123456:BENCH", db_path=db, tz=TZ, locale="zh_CN")
    api = FakeBotAPI()
    app = build_application(settings, request=api, rate_limit=False)
    sim = await Simulator(app, api, clock=NOW.timestamp).start(jobs=True)
    sim.durable = inbox
    org = app.services.repos.org
    district = await org.add_unit("示例区", "district")
    township = await org.add_unit("东风镇", "township", district.id)
    ids = []
    for n in range(users):
        village = await org.add_unit(f"第{n + 1}村", "village", township.id)
        await org.add_person(f"书记{n + 1}", "secretary", village.id, telegram_id=FIRST_USER + n)
        ids.append(FIRST_USER + n)
    return sim, ids, district.id


async def start_bare(users: int) -> tuple[Simulator, list[int]]:
    api = FakeBotAPI()
    app = (
        ApplicationBuilder()
        .token("123456:BENCH")
        .request(api)
        .get_updates_request(api)
        .updater(None)
        .concurrent_updates(ChatOrderedUpdateProcessor(256))
        .build()
    )

    async def reply(update: Update, context: object) -> None:
        await update.effective_message.reply_text("✅ 好的。下一个问题?", reply_markup=KEYBOARD)

    async def press(update: Update, context: object) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("✅ 好的。下一个问题?", reply_markup=KEYBOARD)

    app.add_handler(MessageHandler(filters.ALL, reply))
    app.add_handler(CallbackQueryHandler(press))
    sim = await Simulator(app, api, clock=NOW.timestamp).start(jobs=True)
    return sim, [FIRST_USER + n for n in range(users)]


def spread(values: list[float]) -> str:
    return f"{min(values):8.0f} {statistics.median(values):8.0f} {max(values):8.0f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--reports", type=int, default=40, help="reports per round and side (default 40)")
    parser.add_argument("--users", type=int, default=20, help="secretaries taking turns (default 20)")
    parser.add_argument("--warmup", type=int, default=5, help="reports per side before measuring (default 5)")
    parser.add_argument("--no-inbox", action="store_true", help="feed the bot without the durable inbox")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=PTBUserWarning)

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        bot, users, district = await start_bot(db, args.users, inbox=not args.no_inbox)
        bare, bare_users = await start_bare(args.users)
        try:
            await one_round(bot, users, args.warmup, bot=True, start=0)
            await one_round(bare, bare_users, args.warmup, bot=False, start=0)
            bot_rates: list[float] = []
            bare_rates: list[float] = []
            bot_latencies: list[float] = []
            done = args.warmup
            print(f"{'round':>5} {'bot upd/s':>10} {'bare upd/s':>10}")
            for r in range(args.rounds):
                order = (True, False) if r % 2 == 0 else (False, True)
                rates = {}
                for is_bot in order:
                    sim, who = (bot, users) if is_bot else (bare, bare_users)
                    started = time.perf_counter()
                    lat = await one_round(sim, who, args.reports, bot=is_bot, start=done)
                    rates[is_bot] = len(lat) / (time.perf_counter() - started)
                    if is_bot:
                        bot_latencies.extend(lat)
                done += args.reports
                bot_rates.append(rates[True])
                bare_rates.append(rates[False])
                print(f"{r + 1:5} {rates[True]:10.0f} {rates[False]:10.0f}")
            saved = (await bot.app.services.repos.reports.totals(ReportQuery(district))).reports
        finally:
            await bot.stop()
            await bare.stop()
        size = db.stat().st_size
    ordered = sorted(bot_latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
    expected = args.warmup + args.rounds * args.reports
    print(
        f"/report vs a bare PTB handler: {args.rounds} rounds x {args.reports} reports"
        f" ({len(STEPS)} updates each), {args.users} secretaries, inbox {'off' if args.no_inbox else 'on'},"
        f" SQLite {size // 1024} KiB, {saved} reports saved (expected {expected})"
    )
    print(f"{'updates/s':16} {'min':>8} {'median':>8} {'max':>8}")
    print(f"{'cadre-bot':16} {spread(bot_rates)}")
    print(f"{'bare PTB':16} {spread(bare_rates)}")
    ratio = statistics.median(bot_rates) / statistics.median(bare_rates)
    print(f"ratio bot/bare (medians): {ratio:.2f}")
    print(f"bot per update: median {statistics.median(bot_latencies) * 1000:.2f} ms, p99 {p99:.2f} ms")
    if saved != expected:
        sys.exit("some reports were not saved")


if __name__ == "__main__":
    asyncio.run(main())
