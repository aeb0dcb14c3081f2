"""What was verified stays: an author cannot delete a report a reviewer has looked at (verified,
returned, resubmitted), not even with a forged button; a report deleted within 24 hours stays
in the ledger as deleted, with the deletion in its trail; whoever verified a report is told
when its author corrects it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.i18n import Catalogs
from bot.simulator import Simulator
from tests.conftest import NOW, SECRETARY, TOWNSHIP_ADMIN, Org, alerts, at
from tests.helpers.reports import ledger_rows, report_with_photos, said, verified_report

ZH = Catalogs().get("zh_CN")


pytestmark = pytest.mark.usefixtures("fixed_clock")  # the users' messages carry NOW


async def test_a_verified_report_cannot_be_deleted_even_by_a_forged_button(sim: Simulator, org: Org) -> None:
    number = await verified_report(sim)
    at(sim, NOW + timedelta(hours=2))  # still within the 24 hours
    await sim.send("/myreports", SECRETARY)
    detail = (await sim.press(f"查看 #{number}", SECRETARY))[-1]
    # the one rule: a verified report is changed only by an admin (correct or void)
    assert [b["text"] for b in detail.buttons()] == ["📒 返回列表"]
    assert "核实情况:✅已核实" in detail.text and "📌 修改规则" in detail.text
    for payload in (f"myreports:del:{number}", f"myreports:delok:{number}", f"report:correct:{number}"):
        calls = await sim.click(payload, SECRETARY)
        assert alerts(calls), payload
    report = await sim.app.services.repos.reports.get(number)
    assert report.active
    # the store refuses it too (a race with the reviewer)
    assert not await sim.app.services.repos.reports.delete(number, by=org.secretary.id, at=NOW)


async def test_a_returned_report_cannot_be_deleted(sim: Simulator, org: Org) -> None:
    await report_with_photos(sim, 1)
    repos = sim.app.services.repos
    await repos.oversight.record_review("report", 1, "returned", by=org.township_admin.id, comment="补照片",
                                        at=NOW + timedelta(hours=1), token="ret1")
    calls = await sim.click("myreports:delok:1", SECRETARY)
    assert "现在不能删除" in alerts(calls)[0]
    assert (await repos.reports.get(1)).active


async def test_a_deleted_report_stays_in_the_ledger_as_deleted(sim: Simulator, org: Org, tmp_path: Path) -> None:
    await report_with_photos(sim, 1)
    at(sim, NOW + timedelta(hours=3))
    calls = await sim.click("myreports:delok:1", SECRETARY)
    assert "已删除" in said(calls)
    rows = ledger_rows(sim, org, tmp_path)
    assert len(rows) == 1 and rows[0][0] == 1
    state, trail = rows[0][21], rows[0][22]
    assert state == "作者已删除"
    assert "孙书记 作者已删除" in trail


async def test_an_admin_corrects_a_verified_report_its_author_cannot(sim: Simulator, org: Org) -> None:
    await verified_report(sim)
    at(sim, NOW + timedelta(hours=2))
    calls = await sim.click("report:correct:1", SECRETARY)
    assert alerts(calls)
    sim.api.clear()
    await sim.click("report:correct:1", TOWNSHIP_ADMIN)
    await sim.press("修改", TOWNSHIP_ADMIN)
    await sim.press("参加人数", TOWNSHIP_ADMIN)
    await sim.send("4 6 30", TOWNSHIP_ADMIN)
    review_call, buttons = sim.last_keyboard(TOWNSHIP_ADMIN)
    [save] = [b["callback_data"] for b in buttons if b["text"] == "💾 保存"]
    await sim.click(save, TOWNSHIP_ADMIN, message_call=review_call)
    report = await sim.app.services.repos.reports.get(1)
    assert report.fields.villagers == 30 and report.reporter_id == org.secretary.id
    [change] = await sim.app.services.repos.reports.changes(1)
    assert change.changed_by == org.township_admin.id and change.old_values["villagers"] != 30
