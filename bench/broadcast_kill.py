"""Kill -9 in the middle of a broadcast: nothing missed, at most one duplicate per kill.

Usage: ``python bench/broadcast_kill.py [--groups 200] [--kills 5] [--json]``

A task is announced to ``--groups`` bound village groups. For each kill point (spread evenly
over the broadcast) a fresh database is built and a child process runs the scheduler's send
path (``collect`` then ``deliver``, the real ``SlidingWindowRateLimiter``) against a fake Bot
API that appends every message it accepts to a file *before* its answer travels back (20 ms
of round trip, where a crash loses the "sent" mark). The parent SIGKILLs the child once that
many messages were accepted, then starts a new child over the same database, as a restart
would. The children's clocks are virtual: each starts where the last one stopped (wall time
elapsed plus a second of restart), and when a run finds claims of the dead process, it jumps
its clock to the moment those can be taken back instead of sleeping.

Printed per kill: sent before the kill, missed, duplicates, and the virtual time from restart
until the last message was out. ``--json`` prints one JSON summary line at the end.
Loopback only: no network is used at all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.fakebot import FakeBotAPI, FloodLimits  # noqa: E402
from bot.settings import Settings  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
ROUND_TRIP = 0.02  # seconds between Telegram accepting a message and the bot getting the answer


def settings(db: Path) -> Settings:
    return Settings(token="123456:KILLTEST", db_path=db, tz=TZ, locale="zh_CN")


# -- the world ------------------------------------------------------------------------------
async def build(db: Path, groups: int) -> None:
    from bot.rules.deadlines import DEFAULT_TASK_LEADS
    from storage import Repos
    from storage.db import Database

    database = await Database.open(db)
    repos = Repos.over(database)
    try:
        district = await repos.org.add_unit("示例区", "district")
        township = await repos.org.add_unit("东风镇", "township", district.id)
        admin = await repos.org.add_person("钱镇长", "township_admin", township.id)
        villages = []
        for n in range(groups):
            village = await repos.org.add_unit(f"村{n:04d}", "village", township.id)
            await repos.chats.bind(-1_000_000 - n, f"村{n:04d}党员群", village.id, admin.id)
            villages.append(village.id)
        await repos.tasks.create(
            token="kill-test",
            title="软弱涣散村整顿摘帽",
            description="",
            deadline=BASE + timedelta(days=8),
            leads=[lead.code for lead in DEFAULT_TASK_LEADS],
            created_by=admin.id,
            scope_unit_id=township.id,
            unit_ids=villages,
            now=BASE,
        )
    finally:
        await database.close()


# -- the child: one process of the bot's send path ------------------------------------------
class AcceptLog(FakeBotAPI):
    """Appends ``chat_id`` to a file the moment a message is accepted, then takes the round
    trip before answering (a SIGKILL in between loses the answer, not the message)."""

    def __init__(self, path: Path) -> None:
        super().__init__(limits=FloodLimits())
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any, **kwargs: Any):
        status, body = await super().do_request(url, method, request_data, *args, **kwargs)
        if url.endswith("/sendMessage") and status == 200:
            os.write(self.fd, f"{request_data.parameters['chat_id']}\n".encode())
            await asyncio.sleep(ROUND_TRIP)
        return status, body


async def child(db: Path, sends: Path, base: datetime) -> None:
    from bot.app import build_application
    from bot.services.delivery import deliver
    from bot.services.scheduler import collect

    api = AcceptLog(sends)
    app = build_application(settings(db), request=api, rate_limit=True)
    started = time.monotonic()
    jump = timedelta(0)

    def clock() -> datetime:
        return base + timedelta(seconds=time.monotonic() - started) + jump

    app.services.extras["clock"] = clock
    last_sent_at = base
    runs = 0
    async with app:
        while runs < 20:
            runs += 1
            now = clock()
            outcome = await deliver(app, await collect(app, now), now)
            if outcome.sent:
                last_sent_at = clock()
            print(json.dumps({"at": now.isoformat(), "sent": len(outcome.sent), "held": len(outcome.held),
                              "failed": len(outcome.failed), "uncertain": len(outcome.uncertain)}), flush=True)
            if outcome.retry_at is not None:  # claims of the dead process: jump to when they free up
                jump += max(outcome.retry_at - clock(), timedelta(0))
            elif outcome.failed:
                jump += timedelta(seconds=60)  # the scheduler's retry
            else:
                break
    print(json.dumps({"done": True, "caught_up_s": (last_sent_at - base).total_seconds(),
                      "too_many_requests": api.too_many_requests, "end": clock().isoformat()}), flush=True)


# -- the parent -----------------------------------------------------------------------------
def spawn(db: Path, sends: Path, base: datetime) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(db), str(sends), base.isoformat()],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def lines(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(x) for x in path.read_text().split()]


def one_kill(folder: Path, groups: int, kill_after: int) -> dict[str, Any]:
    db, sends = folder / "cadre.db", folder / "accepted.txt"
    asyncio.run(build(db, groups))
    first = spawn(db, sends, BASE)
    started = time.monotonic()
    while len(lines(sends)) < kill_after and first.poll() is None:
        time.sleep(0.002)
    if first.poll() is not None:
        raise RuntimeError(f"the child ended before the kill:\n{first.communicate()[1][-3000:]}")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    lived = time.monotonic() - started
    before = len(lines(sends))
    restart = BASE + timedelta(seconds=lived + 1)
    second = spawn(db, sends, restart)
    out, err = second.communicate(timeout=600)
    if second.returncode != 0:
        raise RuntimeError(f"the restarted child failed:\n{out}\n{err}")
    done = json.loads(out.strip().splitlines()[-1])
    counts = Counter(lines(sends))
    expected = {-1_000_000 - n for n in range(groups)}
    return {
        "kill_after": kill_after,
        "sent_before_kill": before,
        "missed": len(expected - set(counts)),
        "duplicates": sum(c - 1 for c in counts.values()),
        "strangers": len(set(counts) - expected),
        "caught_up_s": done["caught_up_s"],
        "too_many_requests": done["too_many_requests"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("DB", "SENDS", "BASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        db, sends, base = args.child
        asyncio.run(child(Path(db), Path(sends), datetime.fromisoformat(base)))
        return
    print(f"kill -9 during a broadcast to {args.groups} groups, {args.kills} kill points")
    results = []
    for k in range(args.kills):
        kill_after = max(1, args.groups * (k + 1) // (args.kills + 1))
        with tempfile.TemporaryDirectory() as tmp:
            result = one_kill(Path(tmp), args.groups, kill_after)
        results.append(result)
        print(
            f"kill after {result['sent_before_kill']:4d} accepted: missed {result['missed']}, "
            f"duplicates {result['duplicates']}, all out {result['caught_up_s']:.1f} s after restart "
            f"(virtual), 429: {result['too_many_requests']}"
        )
    summary = {
        "groups": args.groups,
        "kills": len(results),
        "missed": sum(r["missed"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
        "max_duplicates_per_kill": max(r["duplicates"] for r in results),
        "strangers": sum(r["strangers"] for r in results),
        "max_caught_up_s": max(r["caught_up_s"] for r in results),
    }
    print(
        f"total: kills {summary['kills']}, missed {summary['missed']}, duplicates {summary['duplicates']} "
        f"(at most {summary['max_duplicates_per_kill']} per kill), slowest catch-up "
        f"{summary['max_caught_up_s']:.1f} s after restart"
    )
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
