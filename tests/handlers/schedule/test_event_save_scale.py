"""Saving a recurring event costs the same with 10,000 other events stored (issue 11, "bad
input"): the admin's save runs the same statements, none of which scans the events; planning
their notices is the scheduler's run, after the save (``scheduler.poke``), not the admin's wait."""

from __future__ import annotations

import json
import re
import sqlite3

from bot.rules.recurrence import DEFAULT_EVENT_LEADS, MONTHLY_WEEKDAY, Rule
from bot.simulator import Simulator
from tests.conftest import TOWNSHIP_ADMIN, Org
from tests.conftest import newest_text as last_text

EVENT_TABLES = ("events", "event_units")


async def save_one(sim: Simulator, title: str) -> list[str]:
    """A lecture through /schedule; the statements the 保存 press ran."""
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("新建", TOWNSHIP_ADMIN)
    await sim.send(title, TOWNSHIP_ADMIN)
    await sim.send("每月最后一个周五下午3点", TOWNSHIP_ADMIN)
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("全选", TOWNSHIP_ADMIN)
    await sim.press("下一步", TOWNSHIP_ADMIN)
    conn = sim.app.services.repos.db.conn
    seen: list[str] = []
    await conn._execute(conn._conn.set_trace_callback, seen.append)
    try:
        calls = await sim.press("保存", TOWNSHIP_ADMIN)
    finally:
        await conn._execute(conn._conn.set_trace_callback, None)
    assert "已保存" in last_text(calls)
    return seen


def shape(sql: str) -> str:
    """A statement without its values (the trace has them expanded)."""
    return re.sub(r"'[^']*'|\b\d+(\.\d+)?\b", "?", " ".join(sql.split()))


async def ten_thousand_events(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    elsewhere = await repos.org.add_unit("另一区", "district")
    villages = [(await repos.org.add_unit(f"另一村{i}", "village", elsewhere.id)).id for i in range(20)]
    rule = json.dumps(Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30).to_dict())
    leads = json.dumps([lead.code for lead in DEFAULT_EVENT_LEADS])
    conn = repos.db.conn
    await conn.executemany(
        "INSERT INTO events (token, title, rule, leads, organiser, scope_unit_id, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')",
        [(f"bulk{i}", f"活动{i}", rule, leads, org.district_admin.id, elsewhere.id) for i in range(10_000)],
    )
    await conn.execute(
        "INSERT INTO event_units (event_id, unit_id) SELECT id, ? + id % 20 FROM events WHERE token LIKE 'bulk%'",
        (villages[0],),
    )
    await conn.commit()


async def test_saving_an_event_does_not_grow_with_the_number_of_events(sim: Simulator, admin: Org) -> None:
    alone = await save_one(sim, "大讲堂")
    await ten_thousand_events(sim, admin)
    among = await save_one(sim, "观摩会")
    assert [shape(s) for s in among] == [shape(s) for s in alone], "the same statements, whatever the number"
    with sqlite3.connect(sim.app.services.repos.db.path) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM events").fetchone()
        assert count == 10_002
        scans = [
            (s, detail)
            for s in among if re.match(r"\s*(SELECT|WITH|INSERT|UPDATE|DELETE)\b", s, re.I)
            for *_, detail in db.execute("EXPLAIN QUERY PLAN " + s)
            if re.match(rf"SCAN ({'|'.join(EVENT_TABLES)})\b", detail) or "AUTOMATIC" in detail
        ]
    assert not scans, scans
