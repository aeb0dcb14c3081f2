"""Review (核实): an admin verifies or returns a report or a closed follow-up; the author gets
it back, corrects it in the /report conversation (or resubmits with a note) and the admin
checks it again. Every step is kept and shows in the ledger."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

import openpyxl

from bot.i18n import Catalogs
from bot.simulator import Simulator, texts
from handlers.export_sheets import LedgerRequest, write_ledger
from handlers.review_queue import sync_corrections
from storage.reports import ReportFields, ReportPhoto
from storage.visits import NewVisit
from tests.conftest import DISTRICT_ADMIN, MEMBER, OTHER_MEMBER, SECRETARY, TOWNSHIP_ADMIN, Org
from tests.test_ledger import TZ, local

NOW = local(2026, 11, 21, 10)


async def a_report(sim: Simulator, org: Org):
    report, _ = await sim.app.services.repos.reports.create(
        ReportFields(unit_id=org.village.id, work_date=date(2026, 11, 20), categories=("garbage",),
                     cadres=2, villagers=12, photos=(ReportPhoto("ph1", "u1", "before"),)),
        reporter_id=org.secretary.id, token="r1", at=local(2026, 11, 21, 8))
    return report


async def a_closed_followup(sim: Simulator, org: Org) -> int:
    repos = sim.app.services.repos
    h = await repos.households.add(org.village.id, "王大山", member_id=org.member.id)
    saved = await repos.visits.save(NewVisit(
        token="v1", member_id=org.member.id, household_id=h.id, visited_on=date(2026, 11, 10),
        roles=("survey",), outcome="follow_up", concern_text="屋顶漏雨", due_on=date(2026, 11, 20),
        due_at=datetime.combine(date(2026, 11, 20), time(23, 59), TZ)), now=local(2026, 11, 10, 9))
    assert saved.followup_id
    await repos.visits.close_followup(saved.followup_id, by_person_id=org.member.id,
                                      closed_at=local(2026, 11, 15, 9), text="已联系施工队修好")
    return saved.followup_id


def keyboard_data(calls) -> list[str]:
    return [b.get("callback_data", "") for c in calls for b in c.buttons()]


async def test_return_correct_resubmit_and_verify_end_to_end(sim: Simulator, org: Org, tmp_path: Path) -> None:
    repos = sim.app.services.repos
    report = await a_report(sim, org)
    sim.clock = lambda: NOW.timestamp()
    sim.app.services.extras["clock"] = lambda: NOW
    home = texts(await sim.send("/review", TOWNSHIP_ADMIN))[0]
    assert "待核实:人居环境整治 1 条,诉求办结 0 件" in home
    await sim.press("待核实的整治报告", TOWNSHIP_ADMIN)
    shown = texts(await sim.press(f"第{report.id}号", TOWNSHIP_ADMIN))[-1]
    assert "尚未核实" in shown
    asked = texts(await sim.press("退回", TOWNSHIP_ADMIN))[-1]
    assert "请写明退回理由" in asked
    confirm = texts(await sim.send("整治后照片没有拍,请补拍", TOWNSHIP_ADMIN))[-1]
    assert "将 第" in confirm and "退回给孙书记" in confirm and "理由:整治后照片没有拍,请补拍" in confirm
    assert await repos.oversight.history("report", report.id) == []  # nothing stored before 确认
    calls = await sim.press("确认退回", TOWNSHIP_ADMIN)
    to_author = [c for c in calls if c.chat_id == SECRETARY]
    assert len(to_author) == 1
    assert "被钱镇长退回了" in to_author[0].text and "整治后照片没有拍,请补拍" in to_author[0].text
    assert f"report:correct:{report.id}" in keyboard_data(to_author)
    assert "已退回,并已通知孙书记" in texts(calls)[-1]

    # the author corrects the report in the /report conversation itself and saves it
    calls = await sim.press("更正这条报告", SECRETARY)
    save = next(d for d in keyboard_data(calls) if d.startswith("report:save:"))
    calls = await sim.click(save, SECRETARY)
    assert len(await repos.reports.changes(report.id)) == 1
    calls_before = len(sim.api.calls)
    assert await sync_corrections(sim.app) == 1
    told = [c for c in sim.api.calls[calls_before:] if c.chat_id == TOWNSHIP_ADMIN]
    assert len(told) == 1 and "孙书记已重新提交" in told[0].text
    assert await sync_corrections(sim.app) == 0  # once

    # the admin opens it again and verifies it
    shown = texts(await sim.press("查看并核实", TOWNSHIP_ADMIN))[-1]
    assert "已退回:整治后照片没有拍,请补拍" in shown and "孙书记 已重新提交" in shown
    verified = texts(await sim.press("已核实", TOWNSHIP_ADMIN))[-1]
    assert verified.startswith("✅ 已核实")
    actions = [e.action for e in await repos.oversight.history("report", report.id)]
    assert actions == ["returned", "resubmitted", "verified"]
    assert "待核实:人居环境整治 0 条" in texts(await sim.send("/review", TOWNSHIP_ADMIN))[0]

    # the whole trail is in the ledger
    path = tmp_path / "l.xlsx"
    write_ledger(repos.db.path, LedgerRequest(org.township.id, date(2026, 11, 1), date(2026, 12, 1), TZ, NOW),
                 Catalogs().get("zh_CN"), path)
    row = [c.value for c in openpyxl.load_workbook(path)["人居环境整治"][2]]
    assert row[20:22] == [1, "已核实"]
    # (the correction is stamped by the /report conversation with its own reference time)
    assert re.fullmatch(
        r"2026-11-21 10:00 钱镇长 已退回:整治后照片没有拍,请补拍\n"
        r"\d{4}-\d\d-\d\d \d\d:\d\d 孙书记 已重新提交\n2026-11-21 10:00 钱镇长 已核实",
        row[22],
    )


async def test_a_followup_is_returned_and_resubmitted_with_a_note(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    fid = await a_closed_followup(sim, org)
    sim.clock = lambda: NOW.timestamp()
    sim.app.services.extras["clock"] = lambda: NOW
    await sim.send("/review", TOWNSHIP_ADMIN)
    await sim.press("待核实的诉求办结", TOWNSHIP_ADMIN)
    shown = texts(await sim.press("王大山", TOWNSHIP_ADMIN))[-1]
    assert "屋顶漏雨" in shown and "已联系施工队修好" in shown
    await sim.press("退回", TOWNSHIP_ADMIN)
    await sim.press("诉求尚未真正解决", TOWNSHIP_ADMIN)
    calls = await sim.press("确认退回", TOWNSHIP_ADMIN)
    to_member = [c for c in calls if c.chat_id == MEMBER]
    assert "王大山家诉求的办结情况" in to_member[0].text and "诉求尚未真正解决" in to_member[0].text
    # another member cannot resubmit it
    calls = await sim.click(f"review:resub:f{fid}", OTHER_MEMBER)
    assert any("不归您" in str(c.params.get("text")) for c in calls)
    asked = texts(await sim.press("重新提交", MEMBER))[-1]
    assert "退回理由:诉求尚未真正解决" in asked
    calls = await sim.send("又去看了,屋顶已经不漏了", MEMBER)
    assert "已重新提交" in texts(calls)[-1]
    told = [c for c in calls if c.chat_id == TOWNSHIP_ADMIN]
    assert "李党员已重新提交" in told[0].text and "说明:又去看了,屋顶已经不漏了" in told[0].text
    history = await repos.oversight.history("followup", fid)
    assert [(e.action, e.comment) for e in history] == [
        ("returned", "诉求尚未真正解决"), ("resubmitted", "又去看了,屋顶已经不漏了"),
    ]
    # pressing the old button again stores nothing more
    calls = await sim.click(f"review:resub:f{fid}", MEMBER)
    assert any("不需要重新提交" in str(c.params.get("text")) for c in calls)


async def test_verify_is_once_and_only_in_scope(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    report = await a_report(sim, org)
    sim.clock = lambda: NOW.timestamp()
    sim.app.services.extras["clock"] = lambda: NOW
    await sim.click(f"review:ok:r{report.id}", TOWNSHIP_ADMIN)
    calls = await sim.click(f"review:ok:r{report.id}", TOWNSHIP_ADMIN)
    assert "这一条已经核实过了" in texts(calls)[-1]
    assert [e.action for e in await repos.oversight.history("report", report.id)] == ["verified"]
    # an admin of another township may not touch it; secretaries may not review at all
    west = await repos.org.add_unit("西山镇", "township", org.district.id)
    await repos.org.add_person("吴镇长", "township_admin", west.id, telegram_id=106)
    calls = await sim.click(f"review:ret:r{report.id}", 106)
    assert any("不归您核实" in str(c.params.get("text")) for c in calls)
    calls = await sim.send("/review", SECRETARY)
    assert "仅限" in texts(calls)[0]
    # the district admin may
    assert "待核实" in texts(await sim.send("/review", DISTRICT_ADMIN))[0]


async def test_cancel_while_writing_a_reason_stores_nothing(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    report = await a_report(sim, org)
    sim.clock = lambda: NOW.timestamp()
    sim.app.services.extras["clock"] = lambda: NOW
    await sim.click(f"review:ret:r{report.id}", TOWNSHIP_ADMIN)
    assert texts(await sim.send("/cancel", TOWNSHIP_ADMIN)) == ["已取消。"]
    assert await repos.oversight.history("report", report.id) == []
    # a long reason is refused politely and asked again
    await sim.click(f"review:ret:r{report.id}", TOWNSHIP_ADMIN)
    calls = await sim.send("太" * 301, TOWNSHIP_ADMIN)
    assert "不超过300个字" in texts(calls)[0] and "请写明退回理由" in texts(calls)[-1]


async def test_ledger_links_open_the_item_for_those_who_may_see_it(sim: Simulator, org: Org) -> None:
    report = await a_report(sim, org)
    fid = await a_closed_followup(sim, org)
    shown = texts(await sim.send(f"/start rpt_{report.id}", TOWNSHIP_ADMIN))[0]
    assert f"{report.id}" in shown and "尚未核实" in shown
    calls = await sim.send(f"/start rpt_{report.id}", TOWNSHIP_ADMIN)
    assert f"review:ok:r{report.id}" in keyboard_data(calls)
    calls = await sim.send(f"/start rpt_{report.id}", SECRETARY)  # the author: no review buttons
    assert f"review:ok:r{report.id}" not in keyboard_data(calls) and f"review:pics:r{report.id}" in keyboard_data(calls)
    calls = await sim.click(f"review:pics:r{report.id}", SECRETARY)
    assert [c.method for c in calls if c.method.startswith("send")] == ["sendPhoto"]
    assert "屋顶漏雨" in texts(await sim.send(f"/start fu_{fid}", MEMBER))[0]
    assert "没有找到" in texts(await sim.send(f"/start fu_{fid}", OTHER_MEMBER))[0]
    visit = await sim.app.services.repos.visits.by_token("v1")
    assert "走访记录" in texts(await sim.send(f"/start vst_{visit.id}", MEMBER))[0]
    assert "没有找到" in texts(await sim.send(f"/start vst_{visit.id}", OTHER_MEMBER))[0]


async def test_an_old_report_is_returned_without_the_correct_button(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    report = await a_report(sim, org)  # saved 2026-11-21 08:00
    later = local(2026, 11, 23, 9)
    sim.clock = lambda: later.timestamp()
    sim.app.services.extras["clock"] = lambda: later
    await sim.click(f"review:ret:r{report.id}", TOWNSHIP_ADMIN)
    await sim.press("地点或日期填写有误", TOWNSHIP_ADMIN)
    calls = await sim.press("确认退回", TOWNSHIP_ADMIN)
    to_author = [c for c in calls if c.chat_id == SECRETARY]
    assert "保存已超过一天,不能直接修改" in to_author[0].text
    assert keyboard_data(to_author) == [f"review:resub:r{report.id}"]
    await sim.press("重新提交", SECRETARY)
    await sim.press("不用说明", SECRETARY)
    assert [e.action for e in await repos.oversight.history("report", report.id)] == ["returned", "resubmitted"]
    assert "待核实:人居环境整治 1 条" in texts(await sim.send("/review", TOWNSHIP_ADMIN))[0]
