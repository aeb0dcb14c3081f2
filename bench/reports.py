"""Cost of one update of the /report conversation against a bare python-telegram-bot handler.

Usage: ``python bench/reports.py [--rounds 28] [--reports 10] [--users 20] [--warmup 5]``

Two applications run side by side in one process, over the same kind of in-memory Bot API
(:class:`bot.fakebot.FakeBotAPI`, answering instantly) and driven the same way, by
:class:`bot.simulator.Simulator` with ``via_queue``: each update goes the way polling takes it.
Its ``getUpdates`` answer (the bytes Telegram would send) is parsed by the application's own
getUpdates connection (``parse_json_payload``: PTB's ``json.loads`` for the bare one, the bot's
``RawUpdatesRequest``, which keeps each update's text for its inbox row in the same parse), the
update is read from it (``Update.de_json``), put on the application's ``update_queue`` and
handled by PTB's update fetcher in a task of its own (the update processor, ``process_update``),
and the next one is sent once the queue is done with it (``Queue.join``):

* **cadre-bot**: the whole bot from :func:`bot.app.build_application` over a real SQLite file
  (WAL, the project's migrations), started (so its job queue runs the conversation timeouts).
  Each report is 11 updates (/report, 昨天, two category buttons, the place, the participants,
  the amounts, one photo, 完成, the notes, 保存) by one of ``--users`` village secretaries.
  Its ``update_queue`` is the durable inbox's queue (design B of ``bot.inbox``), as in
  production: each update's row is its text in the poll's answer, stored with the state its
  handling leaves; ``--no-inbox`` turns the queue's storing off (a plain queue).
* **bare PTB**: an ``Application`` with the same processor settings and no persistence, whose
  handlers make, for each step, exactly the Bot API calls the bot made for that step (method,
  text, keyboard), recorded from one report of the bot before the rounds: ``sendMessage``
  for a message, ``answerCallbackQuery`` + ``editMessageText`` for most button presses.

Rounds are interleaved (bot, bare, bare, bot, ...) so that drift of the machine hits both;
short rounds pair better than long ones (the same 280 reports a side as 28 rounds of 10, not
7 of 40: four runs each on the shared machine printed 0.40-0.46 against 0.35-0.47).
Printed: per round the updates per second of both and their ratio; then min/median/max of both,
the ratio of the medians (bot / bare: 1.0 means the bot costs no more than PTB itself) and the
median of the rounds' ratios (each round's two sides ran back to back, so it is the figure least
moved by other programs on a shared machine), and for both the per-update median and p99
latency and the CPU time an update took (all threads, so the database thread's work counts),
and the bot's thread hops and SQL statements per update (counted, not timed).

What the gap is made of (December 2026, the shared 2-core VM, where one run's ratio moves by
about ±0.05 with the machine's state; default runs now print 0.49-0.55 as the median of the
rounds' ratios, 0.48-0.57 as the ratio of the medians):

* Instructions, counted and so free of that noise (``valgrind --tool=callgrind --cache-sim=no``,
  both threads, counted between two marks around 20 reports): 5.66 M an update for the bot,
  4.35 M for the bare handler (0.77). Both include the poll's parse and ``Update.de_json``
  (about 0.4 ms of each side's update).
* The bot's update waits once for its commit (1.2 thread hops an update), and its threads
  sleep in between: on this VM a thread that slept comes back slow. The commit's statements
  take about 3.5 times what they take in a tight loop (``BEGIN IMMEDIATE`` 27 us against 8, the
  inbox row 33 against 8, ``user_data`` 12 against 4, ``COMMIT`` 57 against 13-17); a loop
  that sleeps 2 ms between its transactions measures the same 32/29/10/47 us. The main thread
  then runs the same PTB code slower too: the same Bot API calls cost 30-85% more in the bot's
  rounds than in the bare handler's, which never sleeps. The loop waits about 0.3 ms an update
  in ``epoll_wait`` (the bare handler 0.01 ms).
* The commit left out, as an experiment: 0.52-0.63 when the code measured 0.43-0.46; not
  awaited (overlapping the next update): no better, as the database thread then needs the GIL
  while the next update holds it. The process pinned to one CPU (``taskset -c 0``, so a hop is
  a switch and no CPU idles): 0.52-0.57 against 0.46-0.57 unpinned, within the noise.
* The bot's own Python (py-spy, main thread) is spread thin: the forms engine about 13%, the
  commit's main-thread part about 7%, PTB's dispatch over the bot's handler groups about 5%,
  then items of about 1% each; nothing large is left to cut.
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

from telegram import InlineKeyboardMarkup, Update  # noqa: E402
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

# One report: (kind, text or the label of the button to press).
STEPS: tuple[tuple[str, str], ...] = (
    ("send", "/report"),
    ("press", "昨天"),
    ("press", "垃圾清除"),
    ("press", "下一步"),
    ("send", "村东头坑塘"),
    ("send", "干部3 党员5 群众20"),
    ("send", "清运垃圾5车 拆除残墙2处"),
    ("photo", ""),
    ("press", "完成"),
    ("send", "群众自发参与,效果明显"),
    ("press", "保存"),
)

# What the bot answered at each step of one report: (method, text, parse_mode, keyboard).
Shape = list[list[tuple[str, str, str | None, InlineKeyboardMarkup | None]]]


async def drive(sim: Simulator, user: int, *, bot: bool, timed: list[float], shape: Shape | None = None) -> None:
    """One complete report by ``user``; each update's latency appended to ``timed``.

    With ``shape`` (the bot's side), the calls of each step are recorded there.
    """
    for index, (kind, value) in enumerate(STEPS):
        started = time.perf_counter()
        if kind == "send":
            calls = await sim.send(value, user)
        elif kind == "photo":
            calls = await sim.photo(user)
        elif bot:
            calls = await sim.press(value, user)
        else:
            calls = await sim.click(f"bench:{index}", user)
        timed.append(time.perf_counter() - started)
        if shape is not None:
            shape.append([
                (
                    c.method,
                    c.text,
                    c.params.get("parse_mode"),
                    InlineKeyboardMarkup.de_json(c.reply_markup, None) if c.reply_markup else None,
                )
                for c in calls
            ])


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
    sim.via_queue = True
    if not inbox:  # the queue stores nothing: a plain asyncio.Queue
        app.update_queue.admit = app.update_queue.store = app.update_queue.known = None
    org = app.services.repos.org
    district = await org.add_unit("示例区", "district")
    township = await org.add_unit("东风镇", "township", district.id)
    ids = []
    for n in range(users):
        village = await org.add_unit(f"第{n + 1}村", "village", township.id)
        await org.add_person(f"书记{n + 1}", "secretary", village.id, telegram_id=FIRST_USER + n)
        ids.append(FIRST_USER + n)
    return sim, ids, district.id


async def start_bare(users: int, shape: Shape) -> tuple[Simulator, list[int]]:
    """The bare application: each step answered with the calls the bot made (``shape``)."""
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
    by_text = {value: i for i, (kind, value) in enumerate(STEPS) if kind == "send"}
    photo_step = next(i for i, (kind, _v) in enumerate(STEPS) if kind == "photo")

    async def answer(update: Update, step: int) -> None:
        query = update.callback_query
        chat_id = update.effective_chat.id
        for method, text, parse_mode, markup in shape[step]:
            if method == "sendMessage":
                await app.bot.send_message(chat_id, text, parse_mode=parse_mode, reply_markup=markup)
            elif method == "answerCallbackQuery":
                await query.answer(text or None)
            elif method == "editMessageText":
                await query.edit_message_text(text, parse_mode=parse_mode, reply_markup=markup)
            else:
                raise SystemExit(f"the bare handler cannot replay {method}: teach it (bench/reports.py)")

    async def reply(update: Update, context: object) -> None:
        message = update.effective_message
        await answer(update, photo_step if message.photo else by_text[message.text])

    async def press(update: Update, context: object) -> None:
        await answer(update, int(update.callback_query.data.split(":")[1]))

    app.add_handler(MessageHandler(filters.ALL, reply))
    app.add_handler(CallbackQueryHandler(press))
    sim = await Simulator(app, api, clock=NOW.timestamp).start(jobs=True)
    sim.via_queue = True
    return sim, [FIRST_USER + n for n in range(users)]


def spread(values: list[float]) -> str:
    return f"{min(values):8.0f} {statistics.median(values):8.0f} {max(values):8.0f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=28, help="interleaved rounds (default 28)")
    parser.add_argument("--reports", type=int, default=10, help="reports per round and side (default 10)")
    parser.add_argument("--users", type=int, default=20, help="secretaries taking turns (default 20)")
    parser.add_argument("--warmup", type=int, default=5, help="reports per side before measuring (default 5)")
    parser.add_argument("--no-inbox", action="store_true", help="the bot's update queue stores nothing")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=PTBUserWarning)

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        bot, users, district = await start_bot(db, args.users, inbox=not args.no_inbox)
        shape: Shape = []
        await drive(bot, users[0], bot=True, timed=[], shape=shape)  # what the bare one replays
        bare, bare_users = await start_bare(args.users, shape)
        try:
            await one_round(bot, users, args.warmup, bot=True, start=0)
            await one_round(bare, bare_users, args.warmup, bot=False, start=0)
            bot_rates: list[float] = []
            bare_rates: list[float] = []
            latencies: dict[bool, list[float]] = {True: [], False: []}
            cpu: dict[bool, list[float]] = {True: [], False: []}  # ms of CPU (all threads) an update
            done = args.warmup
            stats = bot.app.services.repos.db.stats
            hops, statements, bot_updates = stats.hops, stats.statements, 0
            print(f"{'round':>5} {'bot upd/s':>10} {'bare upd/s':>10} {'ratio':>6}")
            for r in range(args.rounds):
                order = (True, False) if r % 2 == 0 else (False, True)
                rates = {}
                for is_bot in order:
                    sim, who = (bot, users) if is_bot else (bare, bare_users)
                    started, cpu_started = time.perf_counter(), time.process_time()
                    lat = await one_round(sim, who, args.reports, bot=is_bot, start=done)
                    rates[is_bot] = len(lat) / (time.perf_counter() - started)
                    cpu[is_bot].append((time.process_time() - cpu_started) / len(lat) * 1000)
                    latencies[is_bot].extend(lat)
                    bot_updates += len(lat) if is_bot else 0
                done += args.reports
                bot_rates.append(rates[True])
                bare_rates.append(rates[False])
                print(f"{r + 1:5} {rates[True]:10.0f} {rates[False]:10.0f} {rates[True] / rates[False]:6.2f}")
            hops, statements = stats.hops - hops, stats.statements - statements
            saved = (await bot.app.services.repos.reports.totals(ReportQuery(district))).reports
        finally:
            await bot.stop()
            await bare.stop()
        size = db.stat().st_size
    expected = 1 + args.warmup + args.rounds * args.reports
    print(
        f"/report vs a bare PTB handler: {args.rounds} rounds x {args.reports} reports"
        f" ({len(STEPS)} updates each), {args.users} secretaries, inbox {'off' if args.no_inbox else 'on'},"
        f" SQLite {size // 1024} KiB, {saved} reports saved (expected {expected})"
    )
    print(f"{'updates/s':16} {'min':>8} {'median':>8} {'max':>8}")
    print(f"{'cadre-bot':16} {spread(bot_rates)}")
    print(f"{'bare PTB':16} {spread(bare_rates)}")
    ratio = statistics.median(bot_rates) / statistics.median(bare_rates)
    paired = statistics.median(b / a for b, a in zip(bot_rates, bare_rates, strict=True))
    print(f"ratio bot/bare (medians): {ratio:.2f}; median of the rounds' ratios: {paired:.2f}")
    for is_bot, name in ((True, "bot"), (False, "bare")):
        lat = sorted(latencies[is_bot])
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000
        print(
            f"{name} per update: median {statistics.median(lat) * 1000:.2f} ms, p99 {p99:.2f} ms,"
            f" CPU {statistics.median(cpu[is_bot]):.2f} ms (median of the rounds, all threads)"
        )
    print(
        f"bot database per update: {hops / bot_updates:.2f} thread hops, {statements / bot_updates:.2f} statements"
        " (counted by storage.db.Database.stats)"
    )
    if saved != expected:
        sys.exit("some reports were not saved")


if __name__ == "__main__":
    asyncio.run(main())
