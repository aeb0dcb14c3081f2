"""Review (核实): an admin verifies or returns a report or a closed follow-up; the author gets
it back, corrects it in the /report conversation (or resubmits with a note) and the admin
checks it again. A returned follow-up is reopened and done again in /followups. Every step
is kept and shows in the ledger."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

import openpyxl

from bot.i18n import Catalogs
from bot.services.ledger import LedgerRequest, write_ledger
from bot.simulator import Simulator, texts
from handlers.oversight.review_queue import sync_corrections
from storage.reports import ReportFields, ReportPhoto
from storage.visits import Closing, NewVisit
from tests.conftest import (
    DISTRICT_ADMIN,
    MEMBER,
    OTHER_MEMBER,
    SECRETARY,
    TOWNSHIP_ADMIN,
    TZ,
    Org,
    local,
)
from tests.helpers.visits import CALLED_BACK, NOT_YET, SATISFIED, call_back

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
    row = [c.value for c in openpyxl.load_workbook(path)["人居环境整治"][3]]  # under the title and header rows
    assert row[20:22] == [1, "已核实"]
    # (the correction is stamped by the /report conversation with its own reference time)
    assert re.fullmatch(
        r"2026-11-21 10:00 钱镇长 已退回:整治后照片没有拍,请补拍\n"
        r"\d{4}-\d\d-\d\d \d\d:\d\d 孙书记 已重新提交\n2026-11-21 10:00 钱镇长 已核实",
        row[22],
    )


def at(sim: Simulator, moment: datetime) -> None:
    sim.clock = lambda: moment.timestamp()
    sim.app.services.extras["clock"] = lambda: moment


async def return_followup(sim: Simulator, fid: int, reason: str = "诉求尚未真正解决") -> list:
    """The township admin returns the follow-up from its screen; the calls of 确认退回."""
    await sim.click(f"review:item:f{fid}", TOWNSHIP_ADMIN)
    await sim.press("退回", TOWNSHIP_ADMIN)
    await sim.send(reason, TOWNSHIP_ADMIN)
    return await sim.press("确认退回", TOWNSHIP_ADMIN)


async def test_a_returned_followup_is_reopened_done_again_and_verified_end_to_end(
    sim: Simulator, org: Org, tmp_path: Path
) -> None:
    repos = sim.app.services.repos
    fid = await a_closed_followup(sim, org)  # closed by 李党员 on 11-15 09:00
    at(sim, NOW)
    await sim.send("/review", TOWNSHIP_ADMIN)
    await sim.press("待核实的诉求办结", TOWNSHIP_ADMIN)
    shown = texts(await sim.press("王大山", TOWNSHIP_ADMIN))[-1]
    assert "屋顶漏雨" in shown and "已联系施工队修好" in shown
    await sim.press("退回", TOWNSHIP_ADMIN)
    await sim.press("诉求尚未真正解决", TOWNSHIP_ADMIN)
    calls = await sim.press("确认退回", TOWNSHIP_ADMIN)

    # the member gets the reason and one button into the /followups closing step
    to_member = [c for c in calls if c.chat_id == MEMBER]
    assert len(to_member) == 1
    assert "王大山家诉求的办结情况" in to_member[0].text and "理由:诉求尚未真正解决" in to_member[0].text
    assert "已重新打开" in to_member[0].text
    assert keyboard_data(to_member) == [f"followup:redo:{fid}"]
    admin_view = texts(calls)[-1]
    assert "已退回,这件诉求已重新打开,并已通知李党员重新办理" in admin_view
    assert "尚未办结" in admin_view and "已核实" not in keyboard_data(calls)
    assert f"review:ok:f{fid}" not in keyboard_data(calls)  # nothing to verify while it is open

    # it is open again, and its earlier closing is kept in the trail
    followup = await repos.visits.followup(fid)
    assert followup.closed_at is None and followup.resolution is None
    assert [f.id for f in await repos.visits.open_followups(member_id=org.member.id)] == [fid]
    assert [(e.action, e.by_name, e.comment) for e in await repos.oversight.history("followup", fid)] == [
        ("closed", "李党员", "已联系施工队修好"), ("returned", "钱镇长", "诉求尚未真正解决"),
    ]
    home = texts(await sim.send("/review", TOWNSHIP_ADMIN))[0]
    assert "诉求办结 0 件" in home and "等待重新提交:1 件" in home
    await sim.press("已退回的诉求", TOWNSHIP_ADMIN)
    shown = texts(await sim.press("王大山", TOWNSHIP_ADMIN))[-1]
    assert "李党员 已办结:已联系施工队修好" in shown and "钱镇长 已退回:诉求尚未真正解决" in shown
    calls = await sim.click(f"review:ok:f{fid}", TOWNSHIP_ADMIN)  # a forged 已核实 while it is open
    assert any("不归您核实" in str(c.params.get("text")) for c in calls)

    # the member does it again through the same conversation as closing it
    asked = texts(await sim.press("重新办理", MEMBER))[-1]
    assert "王大山家「屋顶漏雨」被退回了,理由:诉求尚未真正解决" in asked
    assert "上次说的办理情况:已联系施工队修好" in asked and "这次办了什么" in asked
    later = local(2026, 11, 21, 15)
    at(sim, later)
    (called,) = texts(await sim.send("又去看了,屋顶已经不漏了", MEMBER))
    assert "有没有回访这一户" in called  # then the call-back (回访): saved with its answers
    assert (await repos.oversight.history("followup", fid))[-1].action == "returned"  # nothing saved yet
    calls = await call_back(sim, MEMBER, CALLED_BACK, SATISFIED)
    assert "已重新办结:王大山家「屋顶漏雨」,已重新提交给乡镇核实" in texts([c for c in calls if c.chat_id == MEMBER])[0]
    told = [c for c in calls if c.chat_id == TOWNSHIP_ADMIN]
    assert len(told) == 1
    assert "李党员重新办理了王大山家诉求的办结情况" in told[0].text
    assert "办理情况:又去看了,屋顶已经不漏了" in told[0].text
    assert keyboard_data(told) == [f"review:item:f{fid}"]
    followup = await repos.visits.followup(fid)
    assert followup.closed_at == later and followup.resolution == "又去看了,屋顶已经不漏了"
    assert await sync_corrections(sim.app) == 0  # marked resubmitted once, already

    # the admin checks it again and verifies it
    shown = texts(await sim.press("查看并核实", TOWNSHIP_ADMIN))[-1]
    assert "办理结果:又去看了,屋顶已经不漏了" in shown and "李党员 已重新提交" in shown
    assert "回访:回访过了、😊 满意" in shown
    assert texts(await sim.press("已核实", TOWNSHIP_ADMIN))[-1].startswith("✅ 已核实")
    assert [e.action for e in await repos.oversight.history("followup", fid)] == [
        "closed", "returned", "resubmitted", "verified",
    ]
    assert "诉求办结 0 件" in texts(await sim.send("/review", TOWNSHIP_ADMIN))[0]
    # the old button does nothing more
    calls = await sim.click(f"followup:redo:{fid}", MEMBER)
    assert any("已经办结了" in str(c.params.get("text")) for c in calls)

    # the ledger shows the whole loop in the follow-up's row
    path = tmp_path / "l.xlsx"
    write_ledger(repos.db.path, LedgerRequest(org.township.id, date(2026, 11, 1), date(2026, 12, 1), TZ, later),
                 Catalogs().get("zh_CN"), path)
    sheet = openpyxl.load_workbook(path)["诉求跟进办理"]
    header = [c.value for c in sheet[2]]  # under the title row
    row = dict(zip(header, [c.value for c in sheet[3]], strict=True))
    assert row["状态"] == "已办结" and row["办理结果"] == "又去看了,屋顶已经不漏了"
    assert row["审核状态"] == "已核实"
    assert row["审核记录"] == (
        "2026-11-15 09:00 李党员 已办结:已联系施工队修好\n"
        "2026-11-21 10:00 钱镇长 已退回:诉求尚未真正解决\n"
        "2026-11-21 15:00 李党员 已重新提交\n"
        "2026-11-21 15:00 钱镇长 已核实"
    )


async def test_followups_lists_mark_a_returned_followup_with_the_reason(sim: Simulator, org: Org) -> None:
    """In /followups a follow-up a reviewer returned says so (and why) under its line; an
    ordinary open one does not; once done again it leaves the list and the mark with it."""
    repos = sim.app.services.repos
    fid = await a_closed_followup(sim, org)  # 王大山家「屋顶漏雨」
    h = await repos.households.add(org.village.id, "陈小河", member_id=org.member.id)
    await repos.visits.save(NewVisit(
        token="v2", member_id=org.member.id, household_id=h.id, visited_on=date(2026, 11, 18),
        roles=("survey",), outcome="follow_up", concern_text="想办医保", due_on=date(2026, 11, 30),
        due_at=datetime.combine(date(2026, 11, 30), time(23, 59), TZ)), now=local(2026, 11, 18, 9))
    at(sim, NOW)

    listing = texts(await sim.send("/followups", MEMBER))[0]
    assert "王大山家" not in listing and "陈小河家" in listing and "退回" not in listing

    await return_followup(sim, fid, reason="群众反映屋顶还在漏,请再去看看")
    listing = texts(await sim.send("/followups", MEMBER))[0].splitlines()
    assert listing[0].startswith("待办的跟进事项共 2 项")
    first = listing.index(next(line for line in listing if "王大山家:屋顶漏雨" in line))
    assert listing[first + 1] == "   ↩︎ 被退回:群众反映屋顶还在漏,请再去看看,请重新办理"
    other = next(line for line in listing if "陈小河家:想办医保" in line)
    assert sum("被退回" in line for line in listing) == 1 and "退回" not in other
    # the secretary's village-wide list marks it too; and English has its own words
    assert "↩︎ 被退回:群众反映屋顶还在漏" in texts(await sim.send("/followups", SECRETARY))[0]
    await sim.send("/lang", MEMBER)
    await sim.click("lang:set:en", MEMBER)
    english = texts(await sim.send("/followups", MEMBER))[-1]
    assert "↩︎ Returned by the reviewer: 群众反映屋顶还在漏,请再去看看. Please do it again" in english

    # done again: it leaves the list and so does the mark
    await sim.send("/lang", MEMBER)
    await sim.click("lang:set:zh_CN", MEMBER)
    await sim.click(f"followup:redo:{fid}", MEMBER)
    await sim.send("又去看了,已经补好了", MEMBER)
    await call_back(sim, MEMBER, NOT_YET)
    listing = texts(await sim.send("/followups", MEMBER))[0]
    assert "王大山家" not in listing and "陈小河家" in listing and "退回" not in listing


async def test_only_the_member_or_their_secretary_may_do_a_returned_followup_again(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    fid = await a_closed_followup(sim, org)
    at(sim, NOW)
    await return_followup(sim, fid)
    # a forged payload from a member of another village is refused, and what they type next
    # is not taken as what was done
    calls = await sim.click(f"followup:redo:{fid}", OTHER_MEMBER)
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == ["这条跟进事项不归您管,不能办结。"]
    await sim.send("我来办结", OTHER_MEMBER)
    calls = await sim.click(f"followup:redo:{fid}", TOWNSHIP_ADMIN)  # not a member at all
    assert any("仅限" in str(c.params.get("text")) for c in calls)
    calls = await sim.click("followup:redo:x1", MEMBER)  # garbage
    assert any("不归您管" in str(c.params.get("text")) for c in calls)
    assert (await repos.visits.followup(fid)).closed_at is None
    assert [e.action for e in await repos.oversight.history("followup", fid)] == ["closed", "returned"]
    # the old "resubmit with a note" button (of follow-ups returned before) points to the redo
    calls = await sim.click(f"review:resub:f{fid}", MEMBER)
    assert any("重新办理" in str(c.params.get("text")) for c in calls)
    # the village secretary may: by voice this time
    assert "被退回了" in texts(await sim.click(f"followup:redo:{fid}", SECRETARY))[-1]
    await sim.voice(SECRETARY)
    calls = await call_back(sim, SECRETARY, NOT_YET)  # the reviewer is told as it is saved, before the confirmation shows
    assert "已重新提交给乡镇核实" in texts([c for c in calls if c.chat_id == SECRETARY])[0]
    told = [c for c in calls if c.chat_id == TOWNSHIP_ADMIN]
    assert "孙书记重新办理了" in told[0].text and "办理情况:[语音]" in told[0].text
    history = await repos.oversight.history("followup", fid)
    assert [(e.action, e.by_name) for e in history][-1] == ("resubmitted", "孙书记")


async def test_a_closing_by_voice_that_was_returned_shows_as_voice_in_the_ledger(
    sim: Simulator, org: Org, tmp_path: Path
) -> None:
    repos = sim.app.services.repos
    fid = await a_closed_followup(sim, org)
    at(sim, NOW)
    await return_followup(sim, fid)
    await sim.click(f"followup:redo:{fid}", MEMBER)
    await sim.voice(MEMBER)  # done again, by voice
    await call_back(sim, MEMBER, NOT_YET)
    await return_followup(sim, fid, "语音听不清,请写几句")
    path = tmp_path / "v.xlsx"
    write_ledger(repos.db.path, LedgerRequest(org.township.id, date(2026, 11, 1), date(2026, 12, 1), TZ, NOW),
                 Catalogs().get("zh_CN"), path)
    sheet = openpyxl.load_workbook(path)["诉求跟进办理"]
    row = dict(zip([c.value for c in sheet[2]], [c.value for c in sheet[3]], strict=True))
    trail = row["审核记录"].splitlines()
    assert [line.split(" ", 3)[3] for line in trail][-2:] == ["已办结:[语音]", "已退回:语音听不清,请写几句"]


async def test_a_returned_followup_closed_again_on_a_visit_is_resubmitted_by_the_sync(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    fid = await a_closed_followup(sim, org)
    at(sim, NOW)
    await return_followup(sim, fid, "请写清楚找的哪个施工队")
    assert await sync_corrections(sim.app) == 0  # still open: nothing to resubmit
    followup = await repos.visits.followup(fid)
    await repos.visits.save(NewVisit(
        token="v2", member_id=org.member.id, household_id=followup.household_id, visited_on=date(2026, 11, 21),
        roles=("survey",), outcome="solved", closes=(Closing(fid, text="镇上的李师傅来修的"),)),
        now=local(2026, 11, 21, 16))
    before = len(sim.api.calls)
    assert await sync_corrections(sim.app) == 1
    told = [c for c in sim.api.calls[before:] if c.chat_id == TOWNSHIP_ADMIN]
    assert len(told) == 1 and "办理情况:镇上的李师傅来修的" in told[0].text
    assert await sync_corrections(sim.app) == 0
    history = await repos.oversight.history("followup", fid)
    assert [e.action for e in history] == ["closed", "returned", "resubmitted"]
    assert history[-1].at == local(2026, 11, 21, 16) and history[-1].by_name == "李党员"
    assert "诉求办结 1 件" in texts(await sim.send("/review", TOWNSHIP_ADMIN))[0]
    # returned a second time: the second closing joins the trail too
    await return_followup(sim, fid, "还要附上维修单")
    assert [(e.action, e.comment) for e in await repos.oversight.history("followup", fid)] == [
        ("closed", "已联系施工队修好"), ("returned", "请写清楚找的哪个施工队"), ("resubmitted", ""),
        ("closed", "镇上的李师傅来修的"), ("returned", "还要附上维修单"),
    ]


async def test_visit_to_the_household_shows_the_returned_followup_with_its_reason(sim: Simulator, org: Org) -> None:
    fid = await a_closed_followup(sim, org)  # 王大山家「屋顶漏雨」
    at(sim, NOW)
    await return_followup(sim, fid, reason="群众反映屋顶还在漏")
    await sim.send("/visit", MEMBER)
    asked = texts(await sim.press("王大山", MEMBER))[-1]
    assert "屋顶漏雨" in asked and "↩︎ 被退回:群众反映屋顶还在漏,请重新办理" in asked


async def test_a_followup_returned_before_reopening_existed_is_resubmitted_with_a_note(sim: Simulator, org: Org) -> None:
    """Follow-ups returned by an earlier version stayed closed: their 重新提交 button still works."""
    repos = sim.app.services.repos
    fid = await a_closed_followup(sim, org)
    at(sim, NOW)
    await repos.oversight.record_review("followup", fid, "returned", by=org.township_admin.id, at=NOW,
                                        comment="诉求尚未真正解决")
    calls = await sim.click(f"review:resub:f{fid}", OTHER_MEMBER)  # not theirs
    assert any("不归您" in str(c.params.get("text")) for c in calls)
    asked = texts(await sim.click(f"review:resub:f{fid}", MEMBER))[-1]
    assert "退回理由:诉求尚未真正解决" in asked
    calls = await sim.send("又去看了,屋顶已经不漏了", MEMBER)
    assert "已重新提交" in texts(calls)[-1]
    told = [c for c in calls if c.chat_id == TOWNSHIP_ADMIN]
    assert "李党员已重新提交" in told[0].text and "说明:又去看了,屋顶已经不漏了" in told[0].text
    assert [(e.action, e.comment) for e in await repos.oversight.history("followup", fid)] == [
        ("returned", "诉求尚未真正解决"), ("resubmitted", "又去看了,屋顶已经不漏了"),
    ]
    assert await sync_corrections(sim.app) == 0  # never reopened: not taken for a new closing
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
    calls = await sim.click(f"reviewret:start:r{report.id}", 106)
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
    await sim.click(f"reviewret:start:r{report.id}", TOWNSHIP_ADMIN)
    assert texts(await sim.send("/cancel", TOWNSHIP_ADMIN)) == ["已取消。"]
    assert await repos.oversight.history("report", report.id) == []
    # a long reason is refused politely and asked again
    await sim.click(f"reviewret:start:r{report.id}", TOWNSHIP_ADMIN)
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
    task, _ = await sim.app.services.repos.tasks.create(
        token="t1", title="整顿摘帽", description="", deadline=local(2026, 11, 30, 23, 59), leads=("d1",),
        created_by=org.township_admin.id, scope_unit_id=org.township.id, unit_ids=[org.village.id], now=NOW,
    )
    calls = await sim.send(f"/start tsk_{task.id}", TOWNSHIP_ADMIN)
    assert "整顿摘帽" in texts(calls)[0] and f"tasks:close:{task.id}" in keyboard_data(calls)
    assert "整顿摘帽" in texts(await sim.send(f"/start tsk_{task.id}", SECRETARY))[0]
    assert "没有找到" in texts(await sim.send(f"/start tsk_{task.id}", OTHER_MEMBER))[0]  # another village


async def test_an_old_returned_report_is_corrected_not_reported_again(sim: Simulator, org: Org) -> None:
    """The one rule: a returned report is corrected (更正) at any age; no "report it again"."""
    repos = sim.app.services.repos
    report = await a_report(sim, org)  # saved 2026-11-21 08:00
    later = local(2026, 11, 23, 9)
    sim.clock = lambda: later.timestamp()
    sim.app.services.extras["clock"] = lambda: later
    await sim.click(f"reviewret:start:r{report.id}", TOWNSHIP_ADMIN)
    await sim.press("地点或日期填写有误", TOWNSHIP_ADMIN)
    calls = await sim.press("确认退回", TOWNSHIP_ADMIN)
    to_author = [c for c in calls if c.chat_id == SECRETARY]
    assert "更正这条报告" in to_author[0].text and "/report" not in to_author[0].text
    assert keyboard_data(to_author) == [f"report:correct:{report.id}", f"reviewnote:start:r{report.id}"]
    await sim.send("/myreports", SECRETARY)
    detail = (await sim.press(f"查看 #{report.id}", SECRETARY))[-1]
    assert "核实情况:↩️已退回" in detail.text and "退回理由:地点或日期填写有误" in detail.text
    assert [b["text"] for b in detail.buttons()] == ["✏️ 更正", "📒 返回列表"]
    await sim.click(f"reviewnote:start:r{report.id}", SECRETARY)
    await sim.press("不用说明", SECRETARY)
    detail = (await sim.click(f"myreports:show:{report.id}", SECRETARY))[-1]
    assert "核实情况:🔁已重新提交,待再次核实" in detail.text and "退回理由:地点或日期填写有误" in detail.text
    assert [b["text"] for b in detail.buttons()] == ["📒 返回列表"]
    assert [e.action for e in await repos.oversight.history("report", report.id)] == ["returned", "resubmitted"]
    assert "待核实:人居环境整治 1 条" in texts(await sim.send("/review", TOWNSHIP_ADMIN))[0]


async def test_the_return_reason_is_a_form_typed_cancel_a_command_and_browsing_away(sim: Simulator, org: Org) -> None:
    """On the engine: a typed 取消 stores nothing; a command pauses the reason (the command runs);
    a browse button leaves it, so what is typed next is not taken for a reason."""
    repos = sim.app.services.repos
    report = await a_report(sim, org)
    sim.clock = lambda: NOW.timestamp()
    sim.app.services.extras["clock"] = lambda: NOW
    await sim.click(f"reviewret:start:r{report.id}", TOWNSHIP_ADMIN)
    assert texts(await sim.send("算了", TOWNSHIP_ADMIN)) == ["已取消。"]
    await sim.click(f"reviewret:start:r{report.id}", TOWNSHIP_ADMIN)
    paused, home = texts(await sim.send("/review", TOWNSHIP_ADMIN))
    assert "暂停" in paused and "待核实" in home
    await sim.click(f"reviewret:start:r{report.id}", TOWNSHIP_ADMIN)
    await sim.click("review:home:", TOWNSHIP_ADMIN)
    assert "将 第" not in texts(await sim.send("照片不清楚", TOWNSHIP_ADMIN))[-1]
    await sim.click(f"reviewret:start:r{report.id}", TOWNSHIP_ADMIN)
    await sim.press("照片不清楚", TOWNSHIP_ADMIN)
    (confirm,) = texts(await sim.press("改退回理由", TOWNSHIP_ADMIN))
    assert "请写明退回理由" in confirm
    assert "理由:请补拍整治后的照片" in texts(await sim.send("请补拍整治后的照片", TOWNSHIP_ADMIN))[-1]
    await sim.press("确认退回", TOWNSHIP_ADMIN)
    (returned,) = await repos.oversight.history("report", report.id)
    assert (returned.action, returned.comment) == ("returned", "请补拍整治后的照片")
