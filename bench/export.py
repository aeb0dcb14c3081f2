"""Ledger benchmark: the Excel ledger (台账) of 10k, 100k and 200k rows, time and peak memory.

Usage: ``python bench/export.py [--sizes 10000,100000,200000] [--keep DIR]``

For each size a real SQLite database is made with the project's migrations and filled with one
district (2 townships, 20 villages) whose month holds that many ledger rows in all: 40%
clean-up reports (with photos, corrections and review steps), 30% household visits, 15%
follow-ups and 15% task entries. The rows are written with bulk INSERTs straight into the
features' tables (their repositories save one record per transaction, far too slow for
200,000 rows); the export itself runs the bot's own code path,
:func:`bot.services.ledger.write_ledger` (the one ``/export`` and ``cadre-bot export``
use), in a fresh subprocess per size (seeding runs in a subprocess of its own), so that each
peak RSS (``VmHWM`` of ``/proc/self/status``, else ``ru_maxrss``) is that export's alone. The baseline is the 10k run of the same invocation: time should grow linearly with the
rows (ratio ≈ size ratio) and memory should stay flat (ratio ≈ 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TZ = ZoneInfo("Asia/Shanghai")
MONTH = (date(2026, 11, 1), date(2026, 12, 1))
STAMP = "%Y-%m-%dT%H:%M:%SZ"
CATEGORIES = ("yard", "walls", "garbage", "green", "idle", "ponds", "weeds")
PLACES = ("村东头大坑塘边", "二组巷道", "村委会广场", "西河沿", "小学门口", "三组后街")
NOTES = ("群众积极参与,效果明显", "", "清理后及时拍照存档", "下一步继续巡查")


def utc(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime(STAMP)


async def migrate(path: Path) -> None:
    from storage import Database

    db = await Database.open(path)
    await db.close()


def seed(path: Path, rows: int, rng: random.Random) -> int:
    """Fill the database; returns the district's unit id."""
    asyncio.run(migrate(path))
    conn = sqlite3.connect(path)
    cur = conn.cursor()
    cur.execute("INSERT INTO units (level, name) VALUES ('district', '示例区')")
    district = cur.lastrowid
    villages, people = [], []
    for t in range(2):
        cur.execute("INSERT INTO units (parent_id, level, name) VALUES (?, 'township', ?)", (district, f"第{t + 1}镇"))
        township = cur.lastrowid
        cur.execute("INSERT INTO people (name, role, unit_id) VALUES (?, 'township_admin', ?)", (f"镇干部{t}", township))
        for v in range(10):
            cur.execute(
                "INSERT INTO units (parent_id, level, name, stars) VALUES (?, 'village', ?, ?)",
                (township, f"第{t + 1}镇{v + 1}村", 1 + v % 5),
            )
            village = cur.lastrowid
            cur.execute("INSERT INTO people (name, role, unit_id) VALUES (?, 'secretary', ?)", (f"书记{t}{v}", village))
            members = []
            for m in range(5):
                cur.execute("INSERT INTO people (name, role, unit_id) VALUES (?, 'member', ?)", (f"党员{t}{v}{m}", village))
                members.append(cur.lastrowid)
            villages.append(village)
            people.append((cur.lastrowid - 5, members))
    admin = 1
    days = [MONTH[0] + timedelta(days=d) for d in range(30)]

    n_reports, n_visits, n_followups = rows * 40 // 100, rows * 30 // 100, rows * 15 // 100
    n_tasks = rows - n_reports - n_visits - n_followups

    report_rows, photo_rows, change_rows, review_rows = [], [], [], []
    for i in range(n_reports):
        k = rng.randrange(len(villages))
        day = rng.choice(days)
        at = utc(datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=18))
        cats = json.dumps(rng.sample(CATEGORIES, rng.randint(1, 2)))
        report_rows.append((
            f"r{i}", villages[k], people[k][0], day.isoformat(), cats, rng.choice(PLACES),
            rng.randint(1, 5), rng.randint(0, 8), rng.randint(0, 40), rng.choice((None, 3.5, 6.0)),
            rng.choice((None, 120.0)), rng.choice(NOTES), at, at,
        ))
    cur.executemany(
        "INSERT INTO reports (token, unit_id, reporter_id, work_date, categories, place, cadres,"
        " members, villagers, garbage_trucks, area_m2, notes, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        report_rows,
    )
    first_report = cur.execute("SELECT MIN(id) FROM reports").fetchone()[0]
    for i in range(n_reports):
        report_id = first_report + i
        for position, phase in enumerate(("before", "after")):
            photo_rows.append((report_id, position, phase, f"file{report_id}{phase}", f"u{report_id}{phase}"))
        if i % 10 == 0:
            change_rows.append((report_id, f"c{i}", "correct", people[0][0], report_rows[i][12], "{}", "{}"))
            review_rows.append(("report", report_id, "returned", admin, "请补充照片", report_rows[i][12]))
            review_rows.append(("report", report_id, "resubmitted", people[0][0], "", report_rows[i][12]))
            review_rows.append(("report", report_id, "verified", admin, "", report_rows[i][12]))
    cur.executemany(
        "INSERT INTO report_photos (report_id, position, phase, file_id, file_unique_id) VALUES (?, ?, ?, ?, ?)",
        photo_rows,
    )
    cur.executemany(
        "INSERT INTO report_changes (report_id, token, action, changed_by, changed_at, old_values, new_values)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        change_rows,
    )

    # households: 8 per member, visits and follow-ups spread over them
    households = []
    for k, village in enumerate(villages):
        for member in people[k][1]:
            for h in range(8):
                cur.execute(
                    "INSERT INTO households (village_id, head, address, grid, member_id) VALUES (?, ?, ?, ?, ?)",
                    (village, f"户主{member}-{h}", f"{h + 1}组", "一网格", member),
                )
                households.append((cur.lastrowid, member))
    visit_rows = []
    first_followup = n_visits - n_followups  # the last visits of the list leave a follow-up
    for i in range(n_visits):
        household, member = rng.choice(households)
        day = rng.choice(days)
        outcome = "follow_up" if i >= first_followup else rng.choice(("solved", "none"))
        visit_rows.append((
            f"v{i}", member, household, day.isoformat(), rng.choice(("survey", "policy,mediation", "expert")),
            "家里老人看病难" if outcome != "none" else None, outcome,
        ))
    cur.executemany(
        "INSERT INTO visits (token, member_id, household_id, visited_on, roles, concern_text, outcome)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        visit_rows,
    )
    first_visit = cur.execute("SELECT MIN(id) FROM visits").fetchone()[0]
    followup_rows = []
    for i in range(first_followup, n_visits):
        _, member, household, day, *_ = visit_rows[i]
        due = date.fromisoformat(day) + timedelta(days=7)
        due_at = utc(datetime.combine(due, datetime.max.time().replace(microsecond=0), TZ))
        closed = utc(datetime.combine(due, datetime.min.time(), TZ)) if i % 2 else None
        followup_rows.append((first_visit + i, household, member, due.isoformat(), due_at, closed,
                              member if closed else None, "已解决" if closed else None))
    cur.executemany(
        "INSERT INTO followups (visit_id, household_id, member_id, due_on, due_at, closed_at, closed_by, resolution)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        followup_rows,
    )

    # tasks: each given to every village; enough tasks for n_tasks entries
    task_count = max(1, n_tasks // len(villages))
    unit_rows = []
    for i in range(task_count):
        deadline = datetime.combine(rng.choice(days), datetime.min.time(), TZ) + timedelta(hours=18)
        cur.execute(
            "INSERT INTO tasks (token, title, deadline, leads, created_by, scope_unit_id, created_at,"
            " planned_from) VALUES (?, ?, ?, '[]', ?, ?, ?, ?)",
            (f"t{i}", f"第{i + 1}项任务:清理垃圾死角", utc(deadline), admin, district,
             utc(deadline - timedelta(days=10)), utc(deadline - timedelta(days=10))),
        )
        task_id = cur.lastrowid
        for village in villages:
            done = utc(deadline + timedelta(hours=rng.randint(-30, 10))) if rng.random() < 0.8 else None
            unit_rows.append((task_id, village, done, people[0][0] if done else None, "已完成" if done else ""))
    cur.executemany(
        "INSERT INTO task_units (task_id, unit_id, done_at, done_by, note) VALUES (?, ?, ?, ?, ?)", unit_rows
    )
    cur.executemany(
        "INSERT INTO review_events (item_kind, item_id, action, by_person, comment, at) VALUES (?, ?, ?, ?, ?, ?)",
        review_rows,
    )
    conn.commit()
    conn.close()
    return district


def peak_kb() -> int:
    """The process's peak resident memory in KiB (VmHWM is reset by exec, ru_maxrss is not)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(db: str, unit_id: int, out: str) -> None:
    """One export in this process; prints JSON with the time and memory."""
    from bot.i18n import Catalogs
    from bot.services.ledger import PACE, LedgerRequest, count_ledger, write_ledger

    t = Catalogs().get("zh_CN")
    baseline = peak_kb()
    request = LedgerRequest(
        unit_id=unit_id, start=MONTH[0], end=MONTH[1], tz=TZ,
        now=datetime(2026, 12, 1, 9, tzinfo=TZ), bot_username="cadre_demo_bot",
    )
    started = time.perf_counter()
    estimate = PACE.seconds(count_ledger(db, request))  # what /export tells the admin
    counted = time.perf_counter() - started
    started = time.perf_counter()
    counts = write_ledger(db, request, t, out)
    elapsed = time.perf_counter() - started
    peak = peak_kb()
    print(json.dumps({
        "rows": sum(counts.values()), "seconds": elapsed, "peak_kb": peak, "baseline_kb": baseline,
        "estimate": estimate, "count_seconds": counted,
        "bytes": Path(out).stat().st_size,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,200000", help="ledger rows per run")
    parser.add_argument("--keep", help="keep the databases and workbooks in this folder")
    parser.add_argument("--child", nargs=3, metavar=("DB", "UNIT", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", nargs=2, metavar=("DB", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    if args.seed:
        print(seed(Path(args.seed[0]), int(args.seed[1]), random.Random(int(args.seed[1]))))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cadre-bench-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for size in sizes:
        db = folder / f"ledger-{size}.db"
        if db.exists():
            db.unlink()
        started = time.perf_counter()
        made = subprocess.run(
            [sys.executable, __file__, "--seed", str(db), str(size)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )
        district = int(made.stdout.strip().splitlines()[-1])
        seeded = time.perf_counter() - started
        out = folder / f"ledger-{size}.xlsx"
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(db), str(district), str(out)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["size"], result["seed_seconds"] = size, seeded
        results.append(result)
        if not args.keep:
            db.unlink()
            out.unlink()
    base = results[0]
    print(f"{'rows':>8} {'seconds':>8} {'x time':>7} {'rows/s':>8} {'peak RSS MB':>12} {'x mem':>6}"
          f" {'export MB':>10} {'xlsx MB':>8} {'estimate':>9} {'est/real':>8} {'count ms':>9}")
    for r in results:
        peak_mb, own_mb = r["peak_kb"] / 1024, (r["peak_kb"] - r["baseline_kb"]) / 1024
        print(
            f"{r['rows']:>8} {r['seconds']:>8.1f} {r['seconds'] / base['seconds']:>7.2f}"
            f" {r['rows'] / r['seconds']:>8.0f} {peak_mb:>12.1f} {r['peak_kb'] / base['peak_kb']:>6.2f}"
            f" {own_mb:>10.1f} {r['bytes'] / 1e6:>8.1f} {r['estimate']:>9.1f} {r['estimate'] / r['seconds']:>8.2f}"
            f" {r['count_seconds'] * 1000:>9.1f}"
        )
    print(
        f"baseline: the {base['rows']}-row run of this invocation; 'x time' should follow the row"
        " ratio (linear), 'x mem' should stay near 1 (flat). 'export MB' = peak RSS minus the RSS"
        " before the export started (imports). 'estimate' = what /export tells the admin before it"
        " starts (rows counted, 'count ms', times the pace per row); 'est/real' should be near 1."
    )


if __name__ == "__main__":
    main()
