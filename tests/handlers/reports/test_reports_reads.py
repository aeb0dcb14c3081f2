"""/report reads the last report and the villages once per report, not at every screen, and a
change to them (a report saved or voided, here or by another program; a unit renamed) shows at
the next screen."""

from __future__ import annotations

import sqlite3

from bot.simulator import Simulator
from tests.conftest import NOW, SECRETARY, TOWNSHIP_ADMIN, Org, labels, last_text
from tests.helpers.reports import ANSWERS, act, go


def counting(sim: Simulator, monkeypatch, repo_name: str, method: str) -> list[object]:
    repo = getattr(sim.app.services.repos, repo_name)
    original = getattr(repo, method)
    calls: list[object] = []

    async def counted(*args, **kwargs):
        calls.append(args)
        return await original(*args, **kwargs)

    monkeypatch.setattr(repo, method, counted)
    return calls


async def report_at(sim: Simulator, place: str) -> None:
    await go(sim, SECRETARY, "place")
    await sim.send(place, SECRETARY)
    for step in ("people", "amounts", "photos", "notes"):
        for kind, value in ANSWERS[step]:
            await act(sim, SECRETARY, kind, value)
    await sim.press("保存", SECRETARY)


async def test_the_last_report_is_read_once_for_the_screens_of_a_report(sim: Simulator, org: Org, monkeypatch) -> None:
    await report_at(sim, "村东头坑塘")
    reads = counting(sim, monkeypatch, "reports", "last_by_reporter")
    await go(sim, SECRETARY, "place")
    assert "上次:村东头坑塘" in last_text(sim, SECRETARY)
    await sim.send("村西口", SECRETARY)
    assert "上次:干部3人,党员5人,群众20人" in last_text(sim, SECRETARY)  # the people screen
    assert len(reads) == 1


async def test_a_report_saved_or_voided_is_the_next_screens_last_one(sim: Simulator, org: Org) -> None:
    await report_at(sim, "村东头坑塘")
    await report_at(sim, "村西口")
    await go(sim, SECRETARY, "place")
    assert "上次:村西口" in last_text(sim, SECRETARY)
    await sim.send("/cancel", SECRETARY)
    reports, _ = await sim.app.services.repos.reports.by_reporter(org.secretary.id, limit=1)
    await sim.app.services.repos.reports.void(reports[0].id, by=org.township_admin.id, at=NOW, reason="重复")
    await go(sim, SECRETARY, "place")
    assert "上次:村东头坑塘" in last_text(sim, SECRETARY)


async def test_a_report_changed_by_another_program_shows_within_a_second(sim: Simulator, org: Org, monkeypatch) -> None:
    import storage.db

    await report_at(sim, "村东头坑塘")
    await go(sim, SECRETARY, "place")
    assert "上次:村东头坑塘" in last_text(sim, SECRETARY)
    await sim.send("/cancel", SECRETARY)
    other = sqlite3.connect(sim.app.services.repos.db.path)
    with other:
        other.execute("UPDATE reports SET place = '村南头'")
    other.close()
    monkeypatch.setattr(storage.db, "OTHER_WRITERS_CHECK_SECONDS", 0.0)  # once a second in production
    await go(sim, SECRETARY, "place")
    assert "上次:村南头" in last_text(sim, SECRETARY)


async def test_the_villages_are_read_once_while_no_unit_changes(sim: Simulator, org: Org, monkeypatch) -> None:
    subtrees = counting(sim, monkeypatch, "org", "subtree")
    for _ in range(2):
        await sim.send("/report", TOWNSHIP_ADMIN)
        assert "向阳村" in labels(sim, TOWNSHIP_ADMIN)
        await sim.send("/cancel", TOWNSHIP_ADMIN)
    assert len(subtrees) == 1
    await sim.app.services.repos.db.write("UPDATE units SET name = '向东村' WHERE name = '向阳村'")
    await sim.send("/report", TOWNSHIP_ADMIN)
    assert "向东村" in labels(sim, TOWNSHIP_ADMIN) and "向阳村" not in labels(sim, TOWNSHIP_ADMIN)
    assert len(subtrees) == 2
