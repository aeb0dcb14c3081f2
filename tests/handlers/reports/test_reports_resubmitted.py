"""/reports and /review show a report corrected after a return as resubmitted (已重报·待核实),
not as a new 待核实, and say what the author changed (issue 13, item 5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.simulator import Simulator
from tests.conftest import NOW, TOWNSHIP_ADMIN, Org, at
from tests.helpers.reports import report_with_photos

pytestmark = pytest.mark.usefixtures("fixed_clock")  # the users' messages carry NOW


async def returned_and_corrected(sim: Simulator, org: Org) -> None:
    """Reports 1 and 2 by the secretary; 1 returned (补充人数) and corrected: 30 villagers and
    a place; 2 never reviewed."""
    await report_with_photos(sim, 0)
    await report_with_photos(sim, 0)
    repos = sim.app.services.repos
    await repos.oversight.record_review("report", 1, "returned", by=org.township_admin.id,
                                        at=NOW + timedelta(hours=1), comment="补充人数")
    report = await repos.reports.get(1)
    await repos.reports.correct(1, replace(report.fields, villagers=30, place="村东头大坑"), by=org.secretary.id,
                                at=NOW + timedelta(hours=3), token="fix1")
    at(sim, NOW + timedelta(hours=4))


async def test_the_list_reads_resubmitted_and_the_detail_says_what_changed(sim: Simulator, org: Org) -> None:
    await returned_and_corrected(sim, org)
    listing = (await sim.send("/reports", TOWNSHIP_ADMIN))[-1].text
    first = next(line for line in listing.splitlines() if line.startswith("#1 "))
    second = next(line for line in listing.splitlines() if line.startswith("#2 "))
    assert first.endswith("🔁已重报·待核实") and second.endswith("⏳待核实")
    detail = (await sim.press("查看 #1", TOWNSHIP_ADMIN))[-1].text
    assert "🔁 退回后改动的内容:" in detail
    changed = detail.split("🔁 退回后改动的内容:")[1].splitlines()
    assert changed[1:6] == [
        "  改前 地点:村东头坑塘", "  改后 地点:村东头大坑",
        "  改前 参加人员:干部3人,党员5人,群众20人(共28人)", "  改后 参加人员:干部3人,党员5人,群众30人(共38人)", "",
    ]  # only what changed, each as a pair
    never = (await sim.click(f"reports:v:2:{org.township.id}.-.202611.0", TOWNSHIP_ADMIN))[-1].text
    assert "退回后改动" not in never


async def test_review_shows_what_changed_too(sim: Simulator, org: Org) -> None:
    await returned_and_corrected(sim, org)
    await sim.send("/review", TOWNSHIP_ADMIN)  # the queue's sync marks it resubmitted
    await sim.press("待核实的整治报告", TOWNSHIP_ADMIN)
    _, buttons = sim.last_keyboard(TOWNSHIP_ADMIN)
    assert [b["text"] for b in buttons][:2] == ["第2号 红旗村 2026年11月21日", "🔁 第1号 红旗村 2026年11月21日(已重报)"]
    text = (await sim.send("/start rpt_1", TOWNSHIP_ADMIN))[-1].text
    assert "🔁 退回后改动的内容:" in text and "  改后 地点:村东头大坑" in text
