"""The heavy queries use indexes: EXPLAIN QUERY PLAN of every SELECT that the org subtree, the
bulletin, the ledger, the reports listing, /coverage and the scheduler's sweep run, recorded
from the real code paths over a seeded database (bench/scale.py's district, at a small size).

A plan fails on a full SCAN of units, people, households, visits, reports or followups, or on
an AUTOMATIC index (SQLite building a temporary index because none fits)."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sqlite3
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest

from bot.app import build_application
from bot.fakebot import FakeBotAPI
from bot.services import scheduler
from bot.services.ledger import LedgerRequest, count_ledger, write_ledger
from bot.simulator import Simulator
from storage.ledger import LedgerReader
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
BIG_TABLES = {"units", "people", "households", "visits", "reports", "followups"}
_ALIAS = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", re.I)
_KEYWORDS = {"ON", "WHERE", "JOIN", "LEFT", "INNER", "CROSS", "USING", "GROUP", "ORDER", "LIMIT", "UNION", "AND"}


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def tables_of(sql: str) -> dict[str, set[str]]:
    """alias (or name) -> the tables (or CTEs) it names somewhere in the statement."""
    out: dict[str, set[str]] = {}
    for table, alias in _ALIAS.findall(sql):
        out.setdefault(table, set()).add(table)
        if alias and alias.upper() not in _KEYWORDS:
            out.setdefault(alias, set()).add(table)
    return out


def problems(conn: sqlite3.Connection, sql: str) -> list[str]:
    names = tables_of(sql)
    bad = []
    for _id, _parent, _unused, detail in conn.execute("EXPLAIN QUERY PLAN " + sql):
        if "AUTOMATIC" in detail:
            bad.append(detail)
            continue
        match = re.match(r"SCAN (\w+)", detail)
        # an alias used for a CTE too (``tree t`` and ``units t``) is given the benefit of the doubt
        if match and names.get(match[1], {match[1]}) <= BIG_TABLES:
            bad.append(detail)
    return bad


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    bench = _bench()
    path = tmp_path_factory.mktemp("plans") / "seeded.db"
    asyncio.run(bench.build_org(path, 40))
    bench.build_history(path)
    return path


async def recorded(path: Path) -> list[str]:
    """Every statement the heavy code paths run."""
    bench = _bench()
    api = FakeBotAPI()
    app = build_application(make_settings(path), request=api, rate_limit=False)
    app.services.extras["clock"] = lambda: bench.NOW
    sim = await Simulator(app, api, clock=bench.NOW.timestamp).start()
    seen: list[str] = []
    conn = app.services.repos.db.conn
    await conn._execute(conn._conn.set_trace_callback, seen.append)
    try:
        repos = app.services.repos
        district = await repos.org.find_unit(bench.district_name(0))
        township = (await repos.org.children(district.id))[0]
        await repos.org.subtree(district.id, level="village")
        await repos.org.people_in(township.id)
        for user in (bench.TOWNSHIP_ADMIN_TG, bench.DISTRICT_ADMIN_TG):
            for command in ("/coverage", "/bulletin", "/reports", "/people", "/tasks", "/review", "/stars",
                            "/schedule", "/invites"):
                await sim.send(command, user)
        with sqlite3.connect(path) as db:
            (secretary,) = db.execute("SELECT MIN(telegram_id) FROM people WHERE role = 'secretary'").fetchone()
            (member,) = db.execute("SELECT MIN(telegram_id) FROM people WHERE role = 'member'").fetchone()
        for user in (secretary, member):
            for command in ("/coverage", "/households", "/followups", "/tasks", "/myreports", "/me", "/visit"):
                await sim.send(command, user)
                await sim.send("/cancel", user)
        pushes = await scheduler.collect(app, bench.NOW)
        await scheduler.next_push_at(app, bench.NOW)
        await scheduler.deliver(app, pushes, bench.NOW)
        await scheduler.collect(app, bench.NOW + timedelta(minutes=5))
        await scheduler.next_push_at(app, bench.NOW + timedelta(minutes=5))
    finally:
        await conn._execute(conn._conn.set_trace_callback, None)
        await sim.stop()
    original = LedgerReader.__enter__

    def tracing(self):
        self.conn.set_trace_callback(seen.append)
        return original(self)

    LedgerReader.__enter__ = tracing  # type: ignore[method-assign]
    try:
        t = app.services.catalogs.get(None)
        for unit in (township, district):
            write_ledger(path, LedgerRequest(unit.id, *bench.LEDGER_MONTH, tz=bench.TZ, now=bench.NOW), t, BytesIO())
            count_ledger(path, LedgerRequest(unit.id, *bench.LEDGER_MONTH, tz=bench.TZ, now=bench.NOW))  # /export's estimate
    finally:
        LedgerReader.__enter__ = original  # type: ignore[method-assign]
    return seen


def test_the_heavy_queries_scan_no_big_table_and_build_no_automatic_index(seeded: Path) -> None:
    statements = asyncio.run(recorded(seeded))
    queries = sorted({s.strip() for s in statements if re.match(r"\s*(SELECT|WITH)\b", s, re.I)})
    assert len(queries) > 30  # the paths above did run
    assert any("RECURSIVE" in q for q in queries) and any("followups" in q for q in queries)
    conn = sqlite3.connect(seeded)
    try:
        bad = {q: p for q in queries if (p := problems(conn, q))}
    finally:
        conn.close()
    report = "\n\n".join(f"{' '.join(q.split())[:600]}\n  -> {p}" for q, p in bad.items())
    assert not bad, report


def test_the_check_sees_a_scan_and_an_automatic_index(seeded: Path) -> None:
    conn = sqlite3.connect(seeded)
    try:
        assert problems(conn, "SELECT * FROM households h WHERE h.head = 'x'") == ["SCAN h"]
        automatic = problems(conn, "SELECT * FROM chats c JOIN pushes p ON p.error = c.title")
        assert any("AUTOMATIC" in p for p in automatic)
        assert problems(conn, "SELECT * FROM units WHERE parent_id = 1") == []
    finally:
        conn.close()
