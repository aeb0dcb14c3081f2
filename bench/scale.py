"""Scale benchmark: one district, three districts and a province on one machine.

Usage: ``python bench/scale.py [--sizes 2000,6000,25000] [--events 100,10000] [--cache DIR]``

Each size is a number of villages (a district is 2,000 of them; the province 25,000 makes
about 245k households, 2M visits and 490k clean-up reports). Per village: 9.8 households,
3 party members and a secretary, 80 visits over the past year (5% leave a follow-up, most
of them closed since), 19.6 clean-up reports; 15 villages per township (one township admin
each, with a bound group), 2,000 per district (a district admin); 30% of villages have a
bound group; every district has four open tasks and four monthly events for all its
villages.

The organisation and the households go in through the project's own roster import
(:func:`bot.rules.roster.parse_roster` and :class:`storage.roster.RosterRepo`, one CSV per
district), the admins through :class:`storage.org.OrgRepo`, the tasks and events through
their repositories; the history (visits, follow-ups, reports) is bulk-inserted (executemany
in one transaction, as ``bench/export.py`` does). A built database is cached under
``--cache`` keyed by its size and the migrations it was built with; a database built with
older migrations is copied and upgraded rather than rebuilt.

Each size is measured in a fresh subprocess, on a copy of the cached database, through the
real Application over the in-memory Bot API (:mod:`bot.simulator`, :mod:`bot.fakebot`):
start-up to ready (``build_application`` + ``initialize`` + ``post_init``, which plans the
scheduler) and what it left to run in the background (admins' menus that changed), one scheduler sweep (:func:`bot.services.scheduler.collect`, read batch by batch as
:func:`~bot.services.scheduler.run_due` reads it, and its SQL statements), sending what was due
(``run_due``), ``next_push_at``, /coverage and /bulletin of a township and of the district,
/reports of the district, the ledger (:func:`bot.services.ledger.write_ledger`, in a worker
thread) of a township month and a district month, the event loop's longest stall during each
(a ticker task), and the peak RSS (also after each step, in the JSON, to see which step raised it; and that of
the worker process that draws the charts and writes the documents, separately). Then, on the smallest size, the sweep with
``--events`` extra recurring events (100 and 10,000 by default), each in its own
subprocess: just added, and after a first run of the bot (its plans made, what was due sent). Figures are printed per size with the growth ratio against the smallest size (and
the 10,000-events run against the 100-events one), measured in the same invocation.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import io
import json
import math
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)  # the benchmark's "now"; history is the year before
LEDGER_MONTH = (date(2026, 10, 1), date(2026, 11, 1))
BUILD_VERSION = "2"  # bump when the generated data changes
VILLAGES_PER_TOWNSHIP = 15
VILLAGES_PER_DISTRICT = 2000
MEMBERS_PER_VILLAGE = 3
VISITS_PER_VILLAGE = 80
STAMP = "%Y-%m-%dT%H:%M:%SZ"
CATEGORIES = ("yard", "walls", "garbage", "green", "idle", "ponds", "weeds")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"  # data, not UI text
GIVEN = "建国华明丽娟强军平英芳勇杰秀兰桂珍伟红霞"  # data, not UI text
DISTRICT_ADMIN_TG = 900_000_000
TOWNSHIP_ADMIN_TG = 910_000_000


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP)


def log(msg: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def households_of(v: int) -> int:
    return 9 if v % 5 == 0 else 10  # 9.8 on average


def reports_of(v: int) -> int:
    return 18 if v % 5 == 0 else 20  # 19.6 on average


# -- names ------------------------------------------------------------------------------------
def district_name(d: int) -> str:
    return f"第{d + 1}区"


def township_name(d: int, t: int) -> str:
    return f"{d + 1}区{t + 1}镇"


def village_name(d: int, t: int, v: int) -> str:
    return f"{d + 1}区{t + 1}镇{v + 1}村"


def person_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)] + str(n)


def layout(villages: int) -> list[list[int]]:
    """Per district, its townships' village counts."""
    out = []
    left = villages
    while left > 0:
        here = min(left, VILLAGES_PER_DISTRICT)
        towns = [VILLAGES_PER_TOWNSHIP] * (here // VILLAGES_PER_TOWNSHIP)
        if here % VILLAGES_PER_TOWNSHIP:
            towns.append(here % VILLAGES_PER_TOWNSHIP)
        out.append(towns)
        left -= here
    return out


def roster_csv(d: int, towns: list[int], start: int) -> bytes:
    """A district's roster as an office would export it (GB18030 CSV, Chinese headers)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["区", "乡镇", "村", "户主", "地址", "网格", "电话", "联户党员", "党员电话", "星级", "书记", "书记电话"])
    n = start
    for t, count in enumerate(towns):
        for v in range(count):
            n += 1
            village = village_name(d, t, v)
            secretary = person_name(n * 7)
            for h in range(households_of(n)):
                member = person_name(n * 7 + 1 + h % MEMBERS_PER_VILLAGE)
                w.writerow([
                    district_name(d), township_name(d, t), village, f"{person_name(n * 11 + h)}户",
                    f"{h % 4 + 1}组{h}号", f"{h % 3 + 1}网格", f"139{(n * 10 + h) % 100_000_000:08d}",
                    member, f"137{(n * 3 + h % MEMBERS_PER_VILLAGE) % 100_000_000:08d}",
                    str(1 + n % 5), secretary, f"138{n % 100_000_000:08d}",
                ])
    return out.getvalue().encode("gb18030")


# -- building ---------------------------------------------------------------------------------
async def build_org(path: Path, villages: int) -> None:
    from bot.rules.recurrence import DEFAULT_EVENT_LEADS, MONTHLY_DAY, Rule
    from bot.rules.roster import parse_roster
    from storage import Database
    from storage.events import EventsRepo
    from storage.org import OrgRepo
    from storage.roster import RosterRepo
    from storage.tasks import TasksRepo

    db = await Database.open(path)
    org, roster_repo = OrgRepo(db), RosterRepo(db)
    start = 0
    for d, towns in enumerate(layout(villages)):
        t0 = time.perf_counter()
        roster = parse_roster(roster_csv(d, towns, start), "roster.csv")
        # The made-up names (村1, 村11...) are one character apart: the admin's "names are right".
        assert not [e for e in roster.errors if e.code != "close_name"], roster.errors[:5]
        result = await roster_repo.import_roster(roster, confirm_close_names=True)
        assert result.committed and not result.errors
        start += sum(towns)
        district = await org.find_unit(district_name(d))
        assert district is not None
        admin = await org.add_person(f"区长{d}", "district_admin", district.id,
                                     telegram_id=DISTRICT_ADMIN_TG + d)
        for t, township in enumerate(await org.children(district.id)):
            await org.add_person(f"镇长{d}-{t}", "township_admin", township.id,
                                 telegram_id=TOWNSHIP_ADMIN_TG + d * 1000 + t)
        village_ids = [u.id for u in await org.subtree(district.id, level="village")]
        tasks, events = TasksRepo(db), EventsRepo(db)
        created = NOW - timedelta(days=10)
        for k in range(4):  # three due in the coming days, one overdue since yesterday
            deadline = NOW + timedelta(days=(k + 1) * 2) if k < 3 else NOW - timedelta(days=1)
            await tasks.create(token=f"bench-task-{d}-{k}", title=f"任务{k}", description="",
                               deadline=deadline, leads=["d1@09:00", "m120"], created_by=admin.id,
                               scope_unit_id=district.id, unit_ids=village_ids, now=created)
        for k in range(4):
            rule = Rule(MONTHLY_DAY, hour=9, day=(k * 7) % 28 + 1)
            await events.create(token=f"bench-event-{d}-{k}", title=f"例会{k}", rule=rule.to_dict(),
                                place="村委会", speaker="", leads=[lead.code for lead in DEFAULT_EVENT_LEADS],
                                audience="secretaries", organiser=admin.id, scope_unit_id=district.id,
                                unit_ids=village_ids, now=created)
        log(f"district {d + 1}: {sum(towns)} villages imported in {time.perf_counter() - t0:.1f}s")
    await db.close()


def build_history(path: Path, seed: int = 7) -> None:
    """Telegram ids, groups, done task parts, and a year of visits, follow-ups and reports."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    cur = conn.cursor()
    cur.execute("BEGIN")
    cur.execute("UPDATE people SET telegram_id = 100000000 + id, joined_at = ? WHERE role = 'secretary'"
                " OR (role = 'member' AND id % 2 = 0)", (utc(NOW - timedelta(days=200)),))
    units = cur.execute("SELECT id, level, parent_id FROM units WHERE level IN ('township', 'village')").fetchall()
    chat_rows = [(-1_000_000_000 - uid, f"群{uid}", uid) for uid, level, _ in units
                 if level == "township" or uid % 10 < 3]
    cur.executemany("INSERT INTO chats (chat_id, title, unit_id, bound_at) VALUES (?, ?, ?, '2026-01-01T00:00:00Z')",
                    chat_rows)
    cur.execute("UPDATE task_units SET done_at = ?, done_by = 1 WHERE unit_id % 10 < 3",
                (utc(NOW - timedelta(days=2)),))
    secretaries = dict(cur.execute("SELECT unit_id, MIN(id) FROM people WHERE role = 'secretary' GROUP BY unit_id"))
    households = cur.execute("SELECT id, village_id, member_id FROM households ORDER BY id").fetchall()
    by_village: dict[int, list[tuple[int, int]]] = {}
    for hid, vid, mid in households:
        by_village.setdefault(vid, []).append((hid, mid))
    first_day = NOW.date() - timedelta(days=365)
    followups: list[tuple] = []

    def visits():
        n = 0
        for hhs in by_village.values():
            for _ in range(VISITS_PER_VILLAGE):
                hid, mid = hhs[rng.randrange(len(hhs))]
                day = first_day + timedelta(days=rng.randrange(366))
                follow = rng.random() < 0.05
                n += 1
                if follow:
                    followups.append((n, hid, mid, day))
                yield (n, f"bv{n:08d}", mid, hid, day.isoformat(), rng.choice(("survey", "policy", "survey,mediation")),
                       "家里老人看病报销问题" if follow else None, "follow_up" if follow else rng.choice(("solved", "none")),
                       utc(datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=15)))

    cur.executemany("INSERT INTO visits (id, token, member_id, household_id, visited_on, roles, concern_text,"
                    " outcome, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", visits())

    def followup_rows():
        for visit_id, hid, mid, day in followups:
            due = day + timedelta(days=7)
            due_at = utc(datetime.combine(due, datetime.min.time(), TZ) + timedelta(hours=18))
            closed = due < NOW.date() - timedelta(days=3) and rng.random() < 0.9
            closed_at = utc(datetime.combine(due, datetime.min.time(), TZ)) if closed else None
            yield (visit_id, hid, mid, due.isoformat(), due_at, closed_at, mid if closed else None,
                   "已协调解决" if closed else None)

    cur.executemany("INSERT INTO followups (visit_id, household_id, member_id, due_on, due_at, closed_at,"
                    " closed_by, resolution) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", followup_rows())
    categories: list[tuple] = []

    def reports():
        n = 0
        for k, (vid, _) in enumerate(by_village.items()):
            for _ in range(reports_of(k)):
                n += 1
                day = first_day + timedelta(days=rng.randrange(366))
                cats = rng.sample(CATEGORIES, rng.randint(1, 2))
                categories.extend((n, c, day.isoformat()) for c in cats)
                at = utc(datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=18))
                yield (n, f"br{n:08d}", vid, secretaries.get(vid, 1), day.isoformat(), json.dumps(cats),
                       "村东头大坑塘边", rng.randint(1, 5), rng.randint(0, 8), rng.randint(0, 40), at, at)

    cur.executemany("INSERT INTO reports (id, token, unit_id, reporter_id, work_date, categories, place, cadres,"
                    " members, villagers, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    reports())
    cur.executemany("INSERT INTO report_categories (report_id, category, work_date) VALUES (?, ?, ?)", categories)
    conn.commit()
    cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def sent_so_far(path: Path) -> None:
    """The push log of a bot that has been running: whatever was due five minutes before
    ``NOW`` (the previous sweep) is marked sent."""
    from bot.app import build_application
    from bot.fakebot import FakeBotAPI
    from bot.services import scheduler
    from bot.settings import Settings

    before = NOW - timedelta(minutes=5)
    app = build_application(Settings(token="123456:TEST", db_path=path, tz=TZ, locale="zh_CN"),
                            request=FakeBotAPI(), rate_limit=False)
    await app.initialize()
    try:
        keys = {p.key for p in await scheduler.collect(app, before)}
    finally:
        await app.shutdown()
    conn = sqlite3.connect(path)
    conn.executemany("INSERT OR IGNORE INTO pushes (kind, ref_id, occurrence, slot, chat_id, status, claimed_at,"
                     " sent_at, message_id) VALUES (?, ?, ?, ?, ?, 'sent', ?, ?, 1)",
                     [(k.kind, k.ref_id, k.occurrence, k.slot, k.chat_id, utc(before), utc(before)) for k in keys])
    conn.commit()
    conn.close()
    log(f"push log: {len(keys)} pushes already sent")


def migrations_key() -> tuple[str, list[str]]:
    from storage.db import load_migrations

    names = [f"{m.version}:{hashlib.sha256(m.sql.encode()).hexdigest()[:12]}" for m in load_migrations()]
    return hashlib.sha256("|".join(names).encode()).hexdigest()[:12], names


async def upgrade(path: Path) -> None:
    from storage import Database

    db = await Database.open(path)
    await db.close()


def cached_db(cache: Path, villages: int) -> Path:
    """The built database of this size (built, or upgraded from an older build, if missing)."""
    key, names = migrations_key()
    stem = f"scale-v{BUILD_VERSION}-{villages}"
    path = cache / f"{stem}-{key}.db"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    for old in sorted(cache.glob(f"{stem}-*.json")):
        done = json.loads(old.read_text())
        if names[: len(done)] == done and old.with_suffix(".db").exists():
            t0 = time.perf_counter()
            shutil.copyfile(old.with_suffix(".db"), tmp)
            asyncio.run(upgrade(tmp))
            checkpoint(tmp)
            log(f"{villages} villages: upgraded the cached build in {time.perf_counter() - t0:.1f}s")
            break
    else:
        t0 = time.perf_counter()
        tmp.unlink(missing_ok=True)
        asyncio.run(build_org(tmp, villages))
        build_history(tmp)
        asyncio.run(sent_so_far(tmp))
        checkpoint(tmp)
        log(f"{villages} villages: built in {time.perf_counter() - t0:.1f}s")
    tmp.rename(path)
    path.with_suffix(".json").write_text(json.dumps(names))
    return path


def checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def add_events(path: Path, count: int) -> None:
    """``count`` more weekly/monthly events, each for one township's villages."""
    from bot.rules.recurrence import DEFAULT_EVENT_LEADS, MONTHLY_DAY, WEEKLY, Rule

    rng = random.Random(count)
    conn = sqlite3.connect(path)
    cur = conn.cursor()
    towns = cur.execute("SELECT id FROM units WHERE level = 'township' ORDER BY id").fetchall()
    kids: dict[int, list[int]] = {}
    for uid, parent in cur.execute("SELECT id, parent_id FROM units WHERE level = 'village'"):
        kids.setdefault(parent, []).append(uid)
    leads = json.dumps([lead.code for lead in DEFAULT_EVENT_LEADS])
    made = utc(NOW - timedelta(days=30))
    for k in range(count):
        town = towns[k % len(towns)][0]
        rule = (Rule(WEEKLY, hour=rng.randrange(8, 18), weekday=k % 7) if k % 2
                else Rule(MONTHLY_DAY, hour=rng.randrange(8, 18), day=k % 28 + 1))
        cur.execute("INSERT INTO events (token, title, rule, leads, organiser, scope_unit_id, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
                    (f"extra-{k}", f"学习{k}", json.dumps(rule.to_dict()), leads, town, made, made))
        cur.executemany("INSERT INTO event_units (event_id, unit_id) VALUES (?, ?)",
                        [(cur.lastrowid, v) for v in kids.get(town, [])])
    conn.commit()
    conn.close()


# -- measuring (in a subprocess) --------------------------------------------------------------
def peak_rss_mb(pid: int | None = None) -> float:
    """The peak RSS of this process (or of ``pid``, a child)."""
    try:
        for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0 if pid else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Forgetful(list):
    def append(self, item: object) -> None:
        pass


class _ForgetfulDict(dict):
    def __setitem__(self, key: object, value: object) -> None:
        pass


class Ticker:
    """The event loop's longest stall: a task that wakes every 5 ms and notes the lateness."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.task: asyncio.Task | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, loop.time() - t0 - 0.005)

    def reset(self) -> float:
        worst, self.worst = self.worst, 0.0
        return worst


async def measure(path: Path, quick: bool) -> dict[str, float]:
    from bot.app import build_application
    from bot.fakebot import FakeBotAPI
    from bot.services import scheduler
    from bot.services.ledger import LedgerRequest, write_ledger
    from bot.settings import Settings
    from bot.simulator import Simulator

    out: dict[str, float] = {}
    ticker = Ticker()
    ticker.task = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.01)

    async def step(name: str, coro) -> object:
        ticker.reset()
        t0 = time.perf_counter()
        result = await coro
        out[name] = time.perf_counter() - t0
        await asyncio.sleep(0.006)
        out[f"{name}.stall"] = ticker.reset()
        out[f"{name}.peak_mb"] = peak_rss_mb()  # the process's peak so far: which step raised it
        return result

    settings = Settings(token="123456:TEST", db_path=path, tz=TZ, locale="zh_CN")
    api = FakeBotAPI()

    async def start() -> Simulator:
        app = build_application(settings, request=api, rate_limit=False)
        app.services.extras["clock"] = lambda: NOW  # type: ignore[attr-defined]
        return await Simulator(app, api, clock=NOW.timestamp).start()

    sim = await step("startup", start())
    assert isinstance(sim, Simulator)
    app = sim.app
    background = app.services.extras.get("background", [])  # type: ignore[attr-defined]
    if background:  # what start-up left to run after ready (admins' menus that changed)
        await step("startup.after", asyncio.gather(*background))
    raw = app.services.repos.db.conn._conn  # type: ignore[attr-defined]
    statements = [0]

    def count(_sql: str) -> None:
        statements[0] += 1

    await app.services.repos.db.conn._execute(raw.set_trace_callback, count)  # type: ignore[attr-defined]

    async def sweep() -> int:  # collect(), batch by batch as run_due() reads it, holding none
        due = 0
        async for pushes, _waiting in scheduler.sweep_batches(app, NOW):
            due += len(pushes)
        return due

    out["sweep.pushes"] = await step("sweep", sweep())  # type: ignore[assignment]
    out["sweep.sql"] = statements[0]
    statements[0] = 0
    await step("next_push_at", scheduler.next_push_at(app, NOW))
    out["next_push_at.sql"] = statements[0]
    # steady state: what was due is sent (run_due: each batch planned again, sent, planned on);
    # the sweeps five and ten minutes later
    # the in-memory Bot API keeps every message it is sent (its log, and the messages for
    # edits): 14,733 notices' texts are the harness's memory, not the bot's, so it forgets them
    kept = api.calls, api._messages
    api.calls, api._messages = _Forgetful(), _ForgetfulDict()
    await step("deliver", scheduler.run_due(app, NOW))
    api.calls, api._messages = kept
    statements[0] = 0
    await step("next_push_at.after", scheduler.next_push_at(app, NOW))  # as run_due leaves it
    out["next_push_at.after.sql"] = statements[0]
    await scheduler.collect(app, NOW + timedelta(minutes=5))
    statements[0] = 0
    await step("sweep.steady", scheduler.collect(app, NOW + timedelta(minutes=10)))
    out["sweep.steady.sql"] = statements[0]
    statements[0] = 0
    await step("next_push_at.steady", scheduler.next_push_at(app, NOW + timedelta(minutes=10)))
    out["next_push_at.steady.sql"] = statements[0]
    api.calls.clear()
    await app.services.repos.db.conn._execute(raw.set_trace_callback, None)  # type: ignore[attr-defined]
    if not quick:
        township_admin, district_admin = TOWNSHIP_ADMIN_TG, DISTRICT_ADMIN_TG
        await step("coverage.township", sim.send("/coverage", township_admin))
        await step("bulletin.township", sim.send("/bulletin 2026-10", township_admin))
        await step("coverage.district", sim.send("/coverage", district_admin))
        await step("bulletin.district", sim.send("/bulletin 2026-10", district_admin))
        await step("reports.district", sim.send("/reports", district_admin))
        org = app.services.repos.org
        district = await org.find_unit(district_name(0))
        township = (await org.children(district.id))[0]
        t = app.services.catalogs.get(None)
        for name, unit in (("ledger.township", township), ("ledger.district", district)):
            request = LedgerRequest(unit.id, *LEDGER_MONTH, tz=TZ, now=NOW)
            with tempfile.TemporaryFile() as target:
                await step(name, asyncio.to_thread(write_ledger, path, request, t, target))
    out["rss_mb"] = peak_rss_mb()
    from bot.services import offloop

    workers = getattr(offloop._process_pool, "_processes", None) or {}
    if workers:  # the worker process (charts, documents): its own peak, not in the bot's
        out["worker_mb"] = max(peak_rss_mb(pid) for pid in workers)
    ticker.task.cancel()
    await sim.stop()
    return out


async def warm_up(path: Path) -> dict[str, float]:
    """A bot that has run: start, sweep, send what was due, sweep again (plans are made)."""
    from bot.app import build_application
    from bot.fakebot import FakeBotAPI
    from bot.services import scheduler
    from bot.settings import Settings
    from bot.simulator import Simulator

    api = FakeBotAPI()
    app = build_application(Settings(token="123456:TEST", db_path=path, tz=TZ, locale="zh_CN"),
                            request=api, rate_limit=False)
    app.services.extras["clock"] = lambda: NOW  # type: ignore[attr-defined]
    sim = await Simulator(app, api, clock=NOW.timestamp).start()
    await scheduler.deliver(app, await scheduler.collect(app, NOW), NOW)
    await scheduler.collect(app, NOW)
    await sim.stop()
    return {}


def run_measure(db: Path, work: Path, *, quick: bool = False, events: int = 0, warm: bool = False) -> dict[str, float]:
    shutil.copyfile(db, work)
    if events:
        add_events(work, events)
    script = [sys.executable, str(Path(__file__).resolve())]
    if warm:
        subprocess.run([*script, "--measure", str(work), "--warm"], capture_output=True, text=True, cwd=ROOT,
                       check=True)
    cmd = [*script, "--measure", str(work)] + (["--quick"] if quick else [])
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(f"measuring {db.name} failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the report -------------------------------------------------------------------------------
ROWS = [
    ("startup", "start-up to ready", "s"),
    ("startup.after", "  then in the background", "s"),
    ("sweep", "sweep, first (collect)", "s"),
    ("sweep.sql", "  SQL statements", "n"),
    ("sweep.pushes", "  pushes due", "n"),
    ("next_push_at", "next_push_at, first", "s"),
    ("next_push_at.sql", "  SQL statements", "n"),
    ("next_push_at.peak_mb", "  peak RSS so far (MB)", "n"),
    ("deliver", "sending what was due (run_due)", "s"),
    ("deliver.peak_mb", "  peak RSS so far (MB)", "n"),
    ("next_push_at.after", "next_push_at, after run_due", "s"),
    ("next_push_at.after.sql", "  SQL statements", "n"),
    ("sweep.steady", "sweep, 10 min later", "s"),
    ("sweep.steady.sql", "  SQL statements", "n"),
    ("next_push_at.steady", "next_push_at, 10 min later", "s"),
    ("next_push_at.steady.sql", "  SQL statements", "n"),
    ("coverage.township", "/coverage township", "s"),
    ("coverage.district", "/coverage district", "s"),
    ("bulletin.township", "/bulletin township", "s"),
    ("bulletin.district", "/bulletin district", "s"),
    ("reports.district", "/reports district", "s"),
    ("ledger.township", "ledger township month", "s"),
    ("ledger.district", "ledger district month", "s"),
    ("stall", "longest event-loop stall", "s"),
    ("admin.stall", "  while admin commands ran", "s"),
    ("rss_mb", "peak RSS (MB)", "n"),
    ("worker_mb", "  worker process peak (MB)", "n"),
]
ADMIN_STEPS = ("coverage.", "bulletin.", "reports.", "ledger.")  # the admin commands (issue 11 item 3)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.0f}"


def table(headers: list[str], results: list[dict[str, float]]) -> None:
    for r in results:
        r["stall"] = max(v for k, v in r.items() if k.endswith(".stall"))
        admin = [v for k, v in r.items() if k.endswith(".stall") and k.startswith(ADMIN_STEPS)]
        if admin:
            r["admin.stall"] = max(admin)
    width = 28
    print(f"{'':{width}}" + "".join(f"{h:>16}" for h in headers) + "".join(f"{'growth ' + h.split()[0]:>18}" for h in headers[1:]))
    for key, label, unit in ROWS:
        values = [r.get(key) for r in results]
        if all(v is None for v in values):
            continue
        base = values[0]
        ratios = [f"{v / base:.2f}" if base and v is not None else "-" for v in values[1:]]
        line = f"{label:{width}}" + "".join(f"{fmt(v, unit):>16}" for v in values) + "".join(f"{x:>18}" for x in ratios)
        print(line)
    stalls = [max((k for k in r if k.endswith(".stall")), key=lambda k: r[k]) for r in results]
    print(f"{'  (stalled during)':{width}}" + "".join(f"{s.removesuffix('.stall'):>16}" for s in stalls))
    admin = [max((k for k in r if k.endswith(".stall") and k.startswith(ADMIN_STEPS)), key=lambda k: r[k], default="-")
             for r in results]
    if any(a != "-" for a in admin):
        print(f"{'  (admin stall during)':{width}}" + "".join(f"{a.removesuffix('.stall'):>16}" for a in admin))
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,6000,25000", help="villages per run, the first is the baseline")
    parser.add_argument("--events", default="100,10000", help="extra recurring events on the smallest size")
    parser.add_argument("--cache", default=os.environ.get("CADRE_BENCH_CACHE", str(Path(tempfile.gettempdir()) / "cadre-scale-cache")))
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        job = warm_up(Path(args.measure)) if args.warm else measure(Path(args.measure), args.quick)
        print(json.dumps(asyncio.run(job)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    cache = Path(args.cache)
    t_start = time.perf_counter()
    work_dir = Path(tempfile.mkdtemp(prefix="cadre-scale-"))
    try:
        results = []
        for villages in sizes:
            db = cached_db(cache, villages)
            log(f"{villages} villages: measuring")
            results.append(run_measure(db, work_dir / "work.db"))
        towns = [len(t) for t in layout(max(sizes))]
        print(f"sizes (villages): {', '.join(map(str, sizes))}; a district = {VILLAGES_PER_DISTRICT} villages"
              f" in {math.ceil(VILLAGES_PER_DISTRICT / VILLAGES_PER_TOWNSHIP)} townships"
              f" (largest: {len(towns)} districts); ratios vs {sizes[0]}")
        table([f"{v} villages" for v in sizes], results)
        extra = [int(n) for n in args.events.split(",") if n]
        if extra:
            db = cached_db(cache, sizes[0])
            for warm in (False, True):
                runs = []
                for n in extra:
                    log(f"{sizes[0]} villages + {n} events{' (warm)' if warm else ''}: measuring")
                    runs.append(run_measure(db, work_dir / "work.db", quick=True, events=n, warm=warm))
                state = ("after a first run (the bot restarted; what was due is sent)" if warm
                         else "just added (nothing planned or sent yet)")
                print(f"\nrecurring events on {sizes[0]} villages, {state}; ratios vs {extra[0]} events")
                table([f"+{n} events" for n in extra], runs)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
