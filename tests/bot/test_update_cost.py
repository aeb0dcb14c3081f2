"""What one update of a /report conversation costs the database, counted (never timed): thread
hops through the ``Database`` wrapper and the statements SQLite runs (its own trace, so trigger
programs count). Each update is one hop, its flush (state, inbox row as done, in one
transaction); a report reads the last report once and saves in one hop. Measured against a bare
PTB handler by ``bench/reports.py``."""

from __future__ import annotations

from bot.simulator import Simulator
from tests.conftest import SECRETARY, Org
from tests.helpers.reports import go, saved_reports

UPDATES = 10  # /report, 昨天, 垃圾清除, 下一步, place, people, amounts, 不发照片, notes, 保存
HOPS = UPDATES + 2  # a flush each, the last report read once, the save (12 now)
STATEMENTS = 6 * UPDATES  # BEGIN, the inbox row, user_data, the state, COMMIT; the save, the read (55 now)


async def one_report(sim: Simulator) -> None:
    await go(sim, SECRETARY)
    await sim.press("保存", SECRETARY)


async def test_an_update_of_a_report_costs_one_hop_and_a_few_statements(sim: Simulator, org: Org) -> None:
    sim.durable = True  # each update through the inbox, as in production
    await one_report(sim)  # who the user is, their villages: read once
    db = sim.app.services.repos.db
    statements: list[str] = []
    await db.conn.set_trace_callback(statements.append)
    hops_before = db.stats.hops
    await one_report(sim)
    await db.conn.set_trace_callback(None)
    hops = db.stats.hops - hops_before
    assert len(await saved_reports(sim, org.secretary.id)) == 2
    assert (await db.fetchone("SELECT count(*) FROM inbox WHERE done = 1"))[0] == 2 * UPDATES
    assert hops <= HOPS, hops
    assert len(statements) <= STATEMENTS, "\n".join(statements)


def test_the_heap_left_at_start_up_leaves_the_collectors_view_once() -> None:
    """``settle_heap`` (run after the first start-up of the process) freezes what is alive, so a
    full collection walks only what came later; a second start-up freezes nothing more."""
    import gc

    from bot.app import settle_heap

    gc.unfreeze()
    try:
        tracked = len(gc.get_objects())
        settle_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 0 and len(gc.get_objects()) < tracked / 2
        [object() for _ in range(10)]  # something new, not frozen by a second call
        keep = [[] for _ in range(100)]
        settle_heap()
        assert gc.get_freeze_count() == frozen
        assert keep
    finally:
        gc.freeze()  # as the process was: everything stays out of view
