"""Admin commands and the event loop: the longest stall while /coverage, /bulletin and /export run.

Usage: ``python bench/admin_stall.py [--townships 12] [--villages 40] [--households 10]
[--before-rev REV] [--keep DIR]``

One district (``--townships`` × ``--villages`` villages, ``--households`` households each, one
party member per five households, visits over the last 75 days, follow-ups, clean-up reports)
is written with bulk INSERTs into a database made by the project's migrations. Then, in a
fresh subprocess per mode (so each peak RSS is that run's alone), the real Application over
the in-memory Bot API (:class:`bot.simulator.Simulator`) answers, one after another:

* ``/coverage`` of the district admin, then the township admin's, then a press on one village;
* ``/bulletin`` of the district admin (last month) and of the township admin;
* ``/export`` of last month's ledger of the district (the district admin's scope button);

while a ticker task (``asyncio.sleep(0.005)`` in a loop) records how late the event loop
wakes it (the stall) and a party member in another chat sends ``/help`` every 50 ms (their
longest wait for an answer). Modes:

* ``on-loop``: this code with :func:`bot.services.offloop.run` replaced by a call on the event
  loop (the reads, the figures and the chart on the loop: "without the change");
* ``off-loop``: this code as it is (worker thread, read-only connection of its own);
* ``rev``: the code of git revision ``--before-rev`` (e.g. the commit before this work),
  unpacked with ``git archive``, on the same database (the real "before").

Printed per mode and command: seconds, the longest stall (ms), the member's longest wait
(ms); then the peak RSS, and the ratios against the on-loop baseline of the same invocation.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=TZ)  # the month before is November
DISTRICT_ADMIN, TOWNSHIP_ADMIN, MEMBER = 101, 102, 104
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def utc(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime(STAMP)


# -- the database -------------------------------------------------------------------------------
async def migrate(path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from storage import Database

    db = await Database.open(path)
    await db.close()


def seed(path: Path, townships: int, villages: int, households: int) -> dict[str, int]:
    asyncio.run(migrate(path))
    rng = random.Random(20261203)
    conn = sqlite3.connect(path)
    cur = conn.cursor()
    cur.execute("INSERT INTO units (level, name) VALUES ('district', '示例区')")
    district = cur.lastrowid
    cur.execute(
        "INSERT INTO people (name, role, unit_id, telegram_id, created_at) VALUES ('赵区长', 'district_admin', ?, ?, '2026-01-01T00:00:00Z')",
        (district, DISTRICT_ADMIN),
    )
    counts = {"villages": 0, "households": 0, "visits": 0, "reports": 0}
    token = iter(range(1, 10**9))
    first_township = None
    for t in range(townships):
        cur.execute("INSERT INTO units (parent_id, level, name) VALUES (?, 'township', ?)", (district, f"第{t + 1}镇"))
        township = cur.lastrowid
        if first_township is None:
            first_township = township
            cur.execute(
                "INSERT INTO people (name, role, unit_id, telegram_id, created_at) VALUES ('钱镇长', 'township_admin', ?, ?, '2026-01-01T00:00:00Z')",
                (township, TOWNSHIP_ADMIN),
            )
        for v in range(villages):
            cur.execute(
                "INSERT INTO units (parent_id, level, name, stars) VALUES (?, 'village', ?, ?)",
                (township, f"{t + 1}镇{v + 1}村", 1 + (t + v) % 5),
            )
            village = cur.lastrowid
            counts["villages"] += 1
            cur.execute(
                "INSERT INTO people (name, role, unit_id, created_at) VALUES (?, 'secretary', ?, '2026-01-01T00:00:00Z')",
                (f"书记{t}-{v}", village),
            )
            secretary = cur.lastrowid
            members = []
            for m in range(max(1, households // 5)):
                telegram = MEMBER if (t, v, m) == (0, 0, 0) else None
                cur.execute(
                    "INSERT INTO people (name, role, unit_id, telegram_id, created_at) VALUES (?, 'member', ?, ?, '2026-01-01T00:00:00Z')",
                    (f"党员{t}-{v}-{m}", village, telegram),
                )
                members.append(cur.lastrowid)
            visit_rows, followups = [], []
            for h in range(households):
                member = members[h % len(members)]
                cur.execute(
                    "INSERT INTO households (village_id, head, address, member_id) VALUES (?, ?, ?, ?)",
                    (village, f"户{t}-{v}-{h}", f"{h % 6 + 1}组", member),
                )
                household = cur.lastrowid
                counts["households"] += 1
                for _ in range(rng.choice((0, 1, 1, 2, 3))):
                    day = NOW.date() - timedelta(days=rng.randint(0, 75))
                    outcome = "follow_up" if rng.random() < 0.2 else "solved"
                    visit_rows.append((f"b{next(token)}", member, household, day.isoformat(), "survey", "诉求", outcome))
            cur.executemany(
                "INSERT INTO visits (token, member_id, household_id, visited_on, roles, concern_text, outcome)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                visit_rows,
            )
            counts["visits"] += len(visit_rows)
            last = cur.execute("SELECT MAX(id) FROM visits").fetchone()[0]
            for offset, row in enumerate(visit_rows):
                if row[6] == "follow_up":
                    visit_id = last - len(visit_rows) + 1 + offset
                    due = date.fromisoformat(row[3]) + timedelta(days=10)
                    due_at = utc(datetime.combine(due, datetime.min.time(), TZ))
                    closed = utc(NOW - timedelta(days=1)) if rng.random() < 0.5 else None
                    followups.append((visit_id, row[2], row[1], due.isoformat(), due_at, closed, row[1] if closed else None))
            cur.executemany(
                "INSERT INTO followups (visit_id, household_id, member_id, due_on, due_at, closed_at, closed_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                followups,
            )
            reports = []
            for _ in range(rng.randint(1, 4)):
                day = date(2026, 11, rng.randint(1, 30))
                reports.append((
                    f"r{next(token)}", village, secretary, day.isoformat(), json.dumps(["garbage"]), "村东头",
                    2, 3, rng.randint(0, 20), utc(NOW), utc(NOW),
                ))
            cur.executemany(
                "INSERT INTO reports (token, unit_id, reporter_id, work_date, categories, place, cadres, members,"
                " villagers, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                reports,
            )
            counts["reports"] += len(reports)
    conn.commit()
    conn.close()
    return counts


# -- one mode, in its own process ---------------------------------------------------------------------
def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_mode(db: Path, mode: str) -> dict:
    from bot.app import build_application
    from bot.fakebot import FakeBotAPI
    from bot.settings import Settings
    from bot.simulator import Simulator

    if mode == "on-loop":
        from bot.services import offloop

        async def on_loop(func, *args, progress=None, lane=None, job=None, every=None, **kwargs):
            return func(*args, **kwargs)

        offloop.run = on_loop  # type: ignore[assignment]
    settings = Settings(token="123456:BENCH", db_path=db, tz=TZ, locale="zh_CN")
    api = FakeBotAPI()
    app = build_application(settings, request=api, rate_limit=False)
    sim = await Simulator(app, api, clock=lambda: NOW.timestamp()).start()
    await sim.send("/help", MEMBER)  # warm up: imports, catalogs, fonts
    await sim.send("/help", DISTRICT_ADMIN)
    await sim.send("/help", TOWNSHIP_ADMIN)
    from bot.services.charts import bar_chart

    bar_chart(["预热"], [1.0], title="预热", percent=True)

    async def export() -> list:
        await sim.send("/export 上月", DISTRICT_ADMIN)
        return await sim.press("示例区", DISTRICT_ADMIN)

    async def village() -> list:
        await sim.send("/coverage", TOWNSHIP_ADMIN)
        _, buttons = sim.last_keyboard(TOWNSHIP_ADMIN)
        target = next((b for b in buttons if b.get("text", "").endswith("村")), None)
        if target is None:  # the old code has no drill-down buttons
            return []
        return await sim.click(target["callback_data"], TOWNSHIP_ADMIN)

    # the member's /help waits for its own answer only (an older Simulator has no ``settle``)
    own = {"settle": False} if "settle" in inspect.signature(sim.send).parameters else {}
    commands = [
        ("/coverage district", lambda: sim.send("/coverage", DISTRICT_ADMIN)),
        ("/coverage township", lambda: sim.send("/coverage", TOWNSHIP_ADMIN)),
        ("/coverage village (press)", village),
        ("/bulletin district", lambda: sim.send("/bulletin", DISTRICT_ADMIN)),
        ("/bulletin township", lambda: sim.send("/bulletin", TOWNSHIP_ADMIN)),
        ("/export district month", export),
    ]
    results = {}
    for name, command in commands:
        stalls: list[float] = []
        waits: list[float] = []
        done = asyncio.Event()

        async def ticker(done: asyncio.Event, stalls: list[float]) -> None:
            while not done.is_set():
                start = time.perf_counter()
                await asyncio.sleep(0.005)
                stalls.append(time.perf_counter() - start - 0.005)

        async def member(done: asyncio.Event, waits: list[float]) -> None:
            """/help every 50 ms: the wait counts from when it was due (a stalled loop delays it)."""
            while not done.is_set():
                due = time.perf_counter() + 0.05
                await asyncio.sleep(0.05)
                await sim.send("/help", MEMBER, **own)  # its own answer, not the export's background
                waits.append(time.perf_counter() - due)

        tasks = [asyncio.create_task(ticker(done, stalls)), asyncio.create_task(member(done, waits))]
        await asyncio.sleep(0.02)
        start = time.perf_counter()
        calls = await command()
        seconds = time.perf_counter() - start
        done.set()
        await asyncio.gather(*tasks)
        methods = [c.method for c in calls]
        results[name] = {
            "seconds": seconds,
            "stall_ms": 1000 * max(stalls, default=0.0),
            "wait_ms": 1000 * max(waits, default=0.0),
            "answered": ("yes" if {"sendMessage", "sendPhoto", "sendDocument"} & set(methods) else "NO")
            if calls else "n/a",
        }
    await sim.stop()
    return {"commands": results, "rss_mb": peak_rss_mb()}


def worker(args: argparse.Namespace) -> None:
    code = Path(args.code).resolve()
    sys.path.insert(0, str(code))
    result = asyncio.run(run_mode(Path(args.db), args.worker))
    print(json.dumps(result))


def unpack(rev: str, target: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--townships", type=int, default=12)
    parser.add_argument("--villages", type=int, default=40, help="villages per township")
    parser.add_argument("--households", type=int, default=10, help="households per village")
    parser.add_argument("--before-rev", help="also run the code of this git revision (the real before)")
    parser.add_argument("--keep", help="keep the database in this folder")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--code", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    with tempfile.TemporaryDirectory(prefix="cadre-stall-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "stall.db"
        if db.exists():
            db.unlink()
        started = time.perf_counter()
        counts = seed(db, args.townships, args.villages, args.households)
        print(f"seeded in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        modes = [("on-loop", ROOT), ("off-loop", ROOT)]
        if args.before_rev:
            modes.append((f"rev {args.before_rev}", unpack(args.before_rev, Path(tmp) / "before")))
        out = {}
        for mode, code in modes:
            copy = Path(tmp) / f"run-{len(out)}.db"
            shutil.copy(db, copy)
            proc = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--worker", "rev" if mode.startswith("rev") else mode,
                 "--db", str(copy), "--code", str(code)],
                capture_output=True, text=True, cwd=code, timeout=1800,
            )
            if proc.returncode != 0:
                print(f"{mode}: failed\n{proc.stderr[-3000:]}")
                sys.exit(1)
            out[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    base = out["on-loop"]
    print(f"{'mode':<16} {'command':<28} {'seconds':>8} {'stall ms':>9} {'member wait ms':>15} {'x stall':>8} {'answered':>9}")
    for mode, result in out.items():
        for name, r in result["commands"].items():
            b = base["commands"][name]
            ratio = r["stall_ms"] / b["stall_ms"] if b["stall_ms"] else float("nan")
            print(f"{mode:<16} {name:<28} {r['seconds']:>8.2f} {r['stall_ms']:>9.1f} {r['wait_ms']:>15.1f} {ratio:>8.2f} {r['answered']:>9}")
        longest = max(r["stall_ms"] for r in result["commands"].values())
        print(f"{mode:<16} {'longest stall (ms)':<28} {longest:>8.1f}   peak RSS {result['rss_mb']:.0f} MB")
    print("baseline: the on-loop run of this invocation (the same code with the heavy work on the event loop); "
          "'x stall' = stall / baseline stall; target: no stall over 100 ms off the loop.")


if __name__ == "__main__":
    main()
