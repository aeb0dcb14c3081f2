"""Clean-up report benchmark: N complete /report conversations through the real Application.

Usage: ``python bench/reports.py [--reports 300] [--users 30] [--warmup 10] [--db PATH]``

The whole bot is built by :func:`bot.app.build_application` over the in-memory Bot API
(:class:`bot.fakebot.FakeBotAPI`, answering instantly) and a real SQLite file (WAL, the
project's migrations), and driven by :class:`bot.simulator.Simulator` exactly as the tests
drive it: each report is 11 updates (/report, 昨天, two category buttons, the place, the
participants, the amounts, one photo, 完成, the notes, 保存), spread round-robin over
``--users`` village secretaries. Every update goes through the chat-ordered processor, the
handlers, the repositories and the persistence flush that follows each update; the
application is started, so its job queue runs and every step re-arms the 30-minute idle timer
as in production.

The baseline is the same driver feeding the same sequence of updates (same texts, same
button payloads, same photo) to a bare PTB Application over the same kind of Bot API whose
only handler does nothing, so ``bot / baseline`` is the bot's own cost per update.
Printed: reports per second, updates per second, per-update median and p99 latency, ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, TypeHandler  # noqa: E402
from telegram.warnings import PTBUserWarning  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.fakebot import FakeBotAPI  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.simulator import Simulator  # noqa: E402
from storage.reports import ReportQuery  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=TZ)
FIRST_USER = 500_000

# One report: (kind, value). "press" = a button of the newest keyboard by its label for the
# bot; the baseline gets the same payload as a forged button press ("click").
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


@dataclass
class Result:
    label: str
    reports: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.reports / self.seconds

    @property
    def updates_per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) * 1000


async def drive(sim: Simulator, user: int, *, bot: bool, timed: list[float] | None) -> None:
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
        if timed is not None:
            timed.append(time.perf_counter() - started)


async def run(
    label: str, sim: Simulator, users: list[int], reports: int, warmup: int, *, bot: bool
) -> Result:
    for i in range(warmup):
        await drive(sim, users[i % len(users)], bot=bot, timed=None)
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(reports):
        await drive(sim, users[i % len(users)], bot=bot, timed=latencies)
    return Result(label, reports, time.perf_counter() - started, latencies)


async def the_bot(db: Path, args: argparse.Namespace) -> tuple[Result, int]:
    settings = Settings(token="123456:BENCH", db_path=db, tz=TZ, locale="zh_CN")
    api = FakeBotAPI()
    app = build_application(settings, request=api, rate_limit=False)
    sim = await Simulator(app, api, clock=NOW.timestamp).start(jobs=True)
    try:
        org = app.services.repos.org
        district = await org.add_unit("示例区", "district")
        township = await org.add_unit("东风镇", "township", district.id)
        users = []
        for n in range(args.users):
            village = await org.add_unit(f"第{n + 1}村", "village", township.id)
            user = FIRST_USER + n
            await org.add_person(f"书记{n + 1}", "secretary", village.id, telegram_id=user)
            users.append(user)
        result = await run("cadre-bot /report", sim, users, args.reports, args.warmup, bot=True)
        totals = await app.services.repos.reports.totals(ReportQuery(district.id))
        return result, totals.reports
    finally:
        await sim.stop()


async def baseline(args: argparse.Namespace) -> Result:
    api = FakeBotAPI()
    app = (
        ApplicationBuilder()
        .token("123456:BENCH")
        .request(api)
        .get_updates_request(api)
        .updater(None)
        .build()
    )
    async def nothing(update: Update, context: object) -> None:
        return None

    app.add_handler(TypeHandler(Update, nothing))
    sim = await Simulator(app, api, clock=NOW.timestamp).start(jobs=True)
    try:
        users = [FIRST_USER + n for n in range(args.users)]
        return await run("do-nothing handler", sim, users, args.reports, args.warmup, bot=False)
    finally:
        await sim.stop()


def table(results: list[Result]) -> str:
    lines = [f"{'':24} {'reports/s':>10} {'updates/s':>10} {'median ms':>10} {'p99 ms':>10}"]
    for r in results:
        lines.append(
            f"{r.label:24} {r.per_second:10.1f} {r.updates_per_second:10.0f}"
            f" {r.median:10.3f} {r.quantile(0.99):10.3f}"
        )
    bot, base = results
    lines.append(
        f"{'ratio bot/baseline':24} {bot.per_second / base.per_second:10.3f}"
        f" {bot.updates_per_second / base.updates_per_second:10.3f}"
        f" {bot.median / base.median:10.1f} {bot.quantile(0.99) / base.quantile(0.99):10.1f}"
    )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=300, help="reports measured (default 300)")
    parser.add_argument("--users", type=int, default=30, help="secretaries taking turns (default 30)")
    parser.add_argument("--warmup", type=int, default=10, help="reports before measuring (default 10)")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a temporary one)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=PTBUserWarning)

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.db"
        if db.exists():
            sys.exit(f"{db} exists; give a new file")
        bot, saved = await the_bot(db, args)
        base = await baseline(args)
        size = db.stat().st_size
    expected = args.reports + args.warmup
    print(
        f"/report benchmark: {args.reports} reports measured ({len(STEPS)} updates each) after"
        f" {args.warmup} warm-up, {args.users} secretaries, SQLite file {size // 1024} KiB,"
        f" {saved} reports saved (expected {expected})"
    )
    print(table([bot, base]))
    if saved != expected:
        sys.exit("some reports were not saved")


if __name__ == "__main__":
    asyncio.run(main())
