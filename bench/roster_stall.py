"""Roster parsing and the event loop: the longest stall other chats see while an XLSX roster
is read, on the loop (the old way) and in the worker process (``parse_off_loop``).

Usage: ``python bench/roster_stall.py [--rows 5000] [--columns 49]``

A ticker task wakes every 10 ms and records how late it woke; the longest delay is the
stall. Prints both, the parse times and the ratio (worker / on the loop). Then the import alone
(:class:`storage.roster.RosterRepo`, new and again unchanged) at a tenth of the rows and at
all of them: the cost per row at each and the ratio (1.0: linear). Then the same file goes
through the real Application (``/import``: an admin sends it) while another user sends /help
every 100 ms and another chat writes to the database (a one-statement write, as a /report step
does): prints how many got through during the import, the slowest of each, and the estimate
the admin was told against the time it took.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.rules.roster import parse_roster  # noqa: E402
from bot.services.roster import parse_off_loop  # noqa: E402


def village(n: int) -> str:
    """A village name no other is one character apart from (村1122, not 村12 beside 村2: those
    would be reported as likely typos and the file not imported)."""
    return "村" + "".join(d * 2 for d in str(n))


def build(rows: int, columns: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    extra = [f"备注{n}" for n in range(columns - 6)]
    sheet.append(["区", "乡镇", "村", "户主", "地址", "联户党员", *extra])
    for n in range(rows):
        sheet.append(["示例区", "镇" + village(n % 10)[1:], village(n % 200), f"户主{n}", f"{n % 9}组", f"党员{n % 500}", *("x" * len(extra))])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def stall_while(work) -> tuple[float, float]:
    worst = 0.0
    stop = False

    async def ticker() -> None:
        nonlocal worst
        while not stop:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - before - 0.01)

    tick = asyncio.ensure_future(ticker())
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    await work()
    took = time.perf_counter() - start
    stop = True
    await tick
    return worst, took


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--columns", type=int, default=49)
    args = parser.parse_args()
    data = build(args.rows, args.columns)
    print(f"XLSX of {args.rows} rows x {args.columns} columns: {len(data) / 1024 / 1024:.2f} MB")

    async def on_loop() -> None:
        parse_roster(data, "r.xlsx")

    async def off_loop() -> None:
        await parse_off_loop(data, "r.xlsx")

    try:  # start the worker once, as a running bot has it
        await parse_off_loop(build(2, 6), "w.xlsx")
    except Exception:  # a tiny roster may have row errors: irrelevant here
        pass
    base_stall, base_took = await stall_while(on_loop)
    gc.collect()  # the garbage of that parse is not the worker's: a full collection of it stalled the next step
    stall, took = await stall_while(off_loop)
    print(f"on the event loop: parse {base_took:.2f} s, longest stall {base_stall * 1000:.0f} ms")
    print(f"worker process:    parse {took:.2f} s, longest stall {stall * 1000:.0f} ms")
    print(f"stall ratio (worker / on the loop): {stall / max(base_stall, 1e-6):.3f}")
    await import_alone(args.rows, args.columns)
    await through_the_bot(data)


async def import_alone(rows: int, columns: int) -> None:
    import tempfile

    from storage.db import Database
    from storage.roster import RosterRepo

    costs = {}
    for n in (max(rows // 10, 1), rows):
        gc.disable()
        roster = parse_roster(build(n, columns), "r.xlsx")
        gc.enable()
        with tempfile.TemporaryDirectory() as tmp:
            db = await Database.open(Path(tmp) / "c.db")
            try:
                repo = RosterRepo(db)
                start = time.perf_counter()
                result = await repo.import_roster(roster)
                new = time.perf_counter() - start
                trips = repo.statements
                start = time.perf_counter()
                again = await repo.import_roster(roster)
                unchanged = time.perf_counter() - start
            finally:
                await db.close()
        assert result.committed and not result.errors and not again.changed
        costs[n] = (new / n, unchanged / n, trips)
        print(f"import alone, {n} rows: new {new:.2f} s ({new / n * 1e6:.0f} µs/row), "
              f"again unchanged {unchanged:.2f} s ({unchanged / n * 1e6:.0f} µs/row), {trips} SQL round trips (new)")
    (small, a), (big, b) = costs.items()
    print(f"per-row cost at {big} / at {small} rows: new {b[0] / a[0]:.2f}x, unchanged {b[1] / a[1]:.2f}x "
          f"(round trips {b[2]} / {a[2]})")


async def through_the_bot(data: bytes) -> None:
    import tempfile
    from zoneinfo import ZoneInfo

    from bot.app import build_application
    from bot.fakebot import FakeBotAPI
    from bot.settings import Settings
    from bot.simulator import Simulator

    admin, other = 101, 999
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(token="123456:BENCH", db_path=Path(tmp) / "c.db", tz=ZoneInfo("Asia/Shanghai"), locale="zh_CN")
        api = FakeBotAPI()
        sim = await Simulator(build_application(settings, request=api, rate_limit=False), api).start()
        try:
            await sim.app.services.repos.org.add_admin(admin, "赵区长", "示例区")
            db = sim.app.services.repos.db
            start = time.perf_counter()
            importing = asyncio.ensure_future(sim.document(data, "r.xlsx", admin))
            waits, writes = [], []

            async def writer() -> None:
                while not importing.done():
                    asked = time.perf_counter()
                    # a one-statement write as a /report step's flush makes (the inbox, the state); a
                    # write naming units or people would make the import decide again, holding the lock
                    await db.write("UPDATE inbox SET done = done WHERE update_id = -1")
                    writes.append(time.perf_counter() - asked)
                    await asyncio.sleep(0.1)

            writing = asyncio.ensure_future(writer())
            while not importing.done():
                asked = time.perf_counter()
                await sim.send("/help", other)
                waits.append(time.perf_counter() - asked)
                await asyncio.sleep(0.1)
            calls = await importing
            await writing
            took = time.perf_counter() - start
        finally:
            await sim.stop()
    told = [c.text for c in calls if c.method == "sendMessage" and "秒" in c.text][:1]
    edits = [c for c in calls if c.method == "editMessageText"]
    print(
        f"/import through the bot: {took:.1f} s; meanwhile another chat's /help answered {len(waits)} times, "
        f"slowest {max(waits) * 1000:.0f} ms, median {sorted(waits)[len(waits) // 2] * 1000:.0f} ms; "
        f"another chat's write {len(writes)} times, slowest {max(writes) * 1000:.0f} ms"
    )
    print(f"the admin was told: {told[0] if told else '(nothing)'}; {len(edits)} progress edits")


if __name__ == "__main__":
    asyncio.run(main())
