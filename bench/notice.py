"""Notice benchmark: ONE event notice to many bound groups through the real Application.

Usage: ``python bench/notice.py [--groups 1000] [--skip-direct]``

A district with ``groups`` villages, each with a bound group chat, and a monthly lecture
aimed at all of them. The scheduler's own send path (``bot.services.scheduler.run_due``: collect the
due pushes from the database, claim each in the push log, send, mark sent) runs once,
through ``build_application`` with its production rate limiter, against ``FakeBotAPI``
simulating Telegram's flood limits as sliding windows (429 with retry_after when more than 30
go out in any second, more than 20 to one group in any minute, or more than 1 to one chat in
any second). Printed: elapsed time against the floor ``groups / 30`` s, the number of 429
answers, and a second ``run_due`` showing nothing is sent twice. The baseline, measured in the
same run, is the bare broadcast (``asyncio.gather`` of ``app.bot.send_message`` through the
same kind of Application), as in ``bench/broadcast.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram.warnings import PTBUserWarning

from bot.app import build_application
from bot.fakebot import FakeBotAPI, FloodLimits
from bot.rules.recurrence import DEFAULT_EVENT_LEADS, MONTHLY_WEEKDAY, Rule
from bot.services import scheduler
from bot.settings import Settings

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)  # the "3 days before at 09:00" notice of 4 December


def settings(path: Path) -> Settings:
    return Settings(token="123456:BENCH", db_path=path, tz=TZ, locale="zh_CN")


async def seed(app, groups: int) -> None:
    repos = app.services.repos
    district = await repos.org.add_unit("示例区", "district")
    township = await repos.org.add_unit("东风镇", "township", district.id)
    admin = await repos.org.add_person("钱镇长", "township_admin", township.id, telegram_id=102)
    villages = []
    for n in range(groups):
        village = await repos.org.add_unit(f"第{n + 1}村", "village", township.id)
        await repos.chats.bind(-1001 - n, f"第{n + 1}村党员群", village.id, admin.id)
        villages.append(village.id)
    await repos.events.create(
        token="bench",
        title="五星支部创建大讲堂",
        rule=Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30).to_dict(),
        place="镇党委会议室",
        speaker="红旗村孙书记",
        leads=[lead.code for lead in DEFAULT_EVENT_LEADS],
        audience="secretaries",
        organiser=admin.id,
        scope_unit_id=township.id,
        unit_ids=villages,
        now=datetime(2026, 11, 20, 10, tzinfo=TZ),
    )


async def notice_run(path: Path, groups: int) -> float:
    api = FakeBotAPI(limits=FloodLimits())
    app = build_application(settings(path), request=api)  # production wiring: rate limiter on
    async with app:
        await seed(app, groups)
        api.clear()
        started = time.monotonic()
        outcome = await scheduler.run_due(app, NOW)
        elapsed = time.monotonic() - started
        again = await scheduler.run_due(app, NOW.replace(minute=5))
        records = await app.services.repos.pushes.records("event_notice")
    floor = groups / FloodLimits().per_second_overall
    delivered = len(api.sent())
    print(
        f"notice via scheduler.run_due: elapsed {elapsed:.2f} s, {elapsed / floor:.3f}x the floor, "
        f"429 answers: {api.too_many_requests}, delivered {delivered}/{groups}, "
        f"push log: {sum(r.status == 'sent' for r in records)} sent, "
        f"failed {len(outcome.failed)}, dropped {len(outcome.dropped)}"
    )
    print(f"second run_due a few minutes later: sent {len(again.sent)}, already done {again.skipped}")
    return elapsed


async def direct_run(path: Path, groups: int) -> float:
    api = FakeBotAPI(limits=FloodLimits())
    app = build_application(settings(path), request=api)
    text = "📢【活动通知】五星支部创建大讲堂"
    async with app:
        started = time.monotonic()
        await asyncio.gather(*(app.bot.send_message(-1001 - n, text) for n in range(groups)))
        elapsed = time.monotonic() - started
    floor = groups / FloodLimits().per_second_overall
    print(
        f"baseline, bare app.bot.send_message gather: elapsed {elapsed:.2f} s, "
        f"{elapsed / floor:.3f}x the floor, 429 answers: {api.too_many_requests}, delivered {len(api.sent())}/{groups}"
    )
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1000, help="bound group chats (default 1000)")
    parser.add_argument("--skip-direct", action="store_true", help="do not measure the bare broadcast")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", category=PTBUserWarning)
    limits = FloodLimits()
    floor = args.groups / limits.per_second_overall
    print(f"one notice to {args.groups} bound groups; floor {args.groups}/{limits.per_second_overall} = {floor:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        elapsed = await notice_run(Path(tmp) / "notice.db", args.groups)
        if not args.skip_direct:
            baseline = await direct_run(Path(tmp) / "direct.db", args.groups)
            print(f"scheduler send path / bare broadcast: {elapsed / baseline:.3f}x")


if __name__ == "__main__":
    asyncio.run(main())
