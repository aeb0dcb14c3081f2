"""After saving: /myreports (view with photos resent by file_id, delete or correct within 24
hours, the audit trail of a correction), /reports for admins (filters by unit, category and
month, pages), and the repository's guarantees (one report per token, totals)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from bot.simulator import Simulator
from storage.reports import ReportFields, ReportPhoto, ReportQuery
from tests.conftest import (
    DISTRICT_ADMIN,
    MEMBER,
    NOW,
    SECRETARY,
    TOWNSHIP_ADMIN,
    Org,
    alerts,
    at,
    labels,
    last_text,
)
from tests.conftest import TZ as SH
from tests.helpers.reports import QUESTION, go, report_with_photos, said, saved_reports

pytestmark = pytest.mark.usefixtures("fixed_clock")  # the users' messages carry NOW


# -- /myreports -----------------------------------------------------------------------------
async def test_my_reports_lists_and_shows_a_report_with_its_photos(sim: Simulator, org: Org) -> None:
    calls = await sim.send("/myreports", SECRETARY)
    assert "您还没有上报过" in said(calls)
    await report_with_photos(sim, 3)
    [report] = await saved_reports(sim, org.secretary.id)

    calls = await sim.send("/myreports", SECRETARY)
    assert "#1 2026年11月21日 红旗村:垃圾清除,28人参加,照片3张" in said(calls)
    calls = await sim.press("查看 #1", SECRETARY)
    [album] = [c for c in calls if c.method == "sendMediaGroup"]
    media = album.params["media"]
    media = json.loads(media) if isinstance(media, str) else media
    assert [m["media"] for m in media] == [p.file_id for p in report.fields.photos]  # by file_id
    assert [m["caption"] for m in media] == ["整治前", "整治后", "整治后"]
    detail = calls[-1]
    assert "第1号上报(上报人:孙书记)" in detail.text and "地点:村东头坑塘" in detail.text
    assert [b["text"] for b in detail.buttons()] == ["✏️ 更正", "🗑 删除", "📒 返回列表"]
    assert "11月23日(周一) 10:00之前可以更正或删除" in detail.text  # the forms' date format, no seconds


async def test_a_single_photo_is_resent_with_send_photo(sim: Simulator, org: Org) -> None:
    await report_with_photos(sim, 1)
    await sim.send("/myreports", SECRETARY)
    calls = await sim.press("查看 #1", SECRETARY)
    assert [c.method for c in calls if c.method.startswith("send")] == ["sendPhoto", "sendMessage"]


async def test_delete_within_24_hours_keeps_an_audit_trail(sim: Simulator, org: Org) -> None:
    await report_with_photos(sim, 0)
    await sim.send("/myreports", SECRETARY)
    await sim.press("查看 #1", SECRETARY)
    calls = await sim.press("删除", SECRETARY)
    assert "确定要删除第1号上报吗" in said(calls)
    await sim.press("不删了", SECRETARY)
    assert await saved_reports(sim, org.secretary.id) != []
    await sim.press("删除", SECRETARY)
    calls = await sim.press("确定删除", SECRETARY)
    assert "第1号上报已删除" in said(calls)
    assert await saved_reports(sim, org.secretary.id) == []
    repo = sim.app.services.repos.reports
    assert (await repo.get(1)).status == "deleted"
    [change] = await repo.changes(1)
    assert change.action == "delete" and change.old_values["place"] == "村东头坑塘"
    calls = await sim.click("myreports:delok:1", SECRETARY)  # pressed again
    assert alerts(calls) == ["这份上报不存在或已删除。"]


async def test_after_24_hours_a_report_is_locked(sim: Simulator, org: Org) -> None:
    await report_with_photos(sim, 0)
    at(sim, NOW + timedelta(hours=24, minutes=1))
    await sim.send("/myreports", SECRETARY)
    calls = await sim.press("查看 #1", SECRETARY)
    assert "核实情况:⏳待核实" in said(calls)
    assert "📌 修改规则:保存后24小时内" in said(calls)  # the one rule, said the same everywhere
    assert [b["text"] for b in calls[-1].buttons()] == ["📒 返回列表"]
    calls = await sim.click("myreports:delok:1", SECRETARY)  # forged
    assert "现在不能删除" in alerts(calls)[0]
    calls = await sim.click("report:correct:1", SECRETARY)
    assert "现在不能更正" in alerts(calls)[0]  # the one rule, not a contradicting "within 24 hours"
    assert len(await saved_reports(sim, org.secretary.id)) == 1


async def test_nobody_else_sees_or_touches_my_report(sim: Simulator, org: Org) -> None:
    await report_with_photos(sim, 0)
    other = await sim.app.services.repos.org.add_person("吴书记", "secretary", org.other_village.id, telegram_id=106)
    assert other.id
    for payload in ("myreports:view:1", "myreports:delok:1", "report:correct:1"):
        calls = await sim.click(payload, 106)
        assert alerts(calls)[0] in ("这份上报不存在或已删除。", "按修改规则,这份上报现在不能更正。发送 /myreports 可以看到它的核实情况和修改规则。")
    assert len(await saved_reports(sim, org.secretary.id)) == 1
    calls = await sim.send("/myreports", MEMBER)
    assert "仅限" in said(calls)


async def test_a_correction_goes_through_the_same_steps_and_keeps_the_old_values(sim: Simulator, org: Org) -> None:
    await report_with_photos(sim, 1)
    at(sim, NOW + timedelta(hours=2))
    await sim.send("/myreports", SECRETARY)
    await sim.press("查看 #1", SECRETARY)
    calls = await sim.press("更正", SECRETARY)
    assert "正在更正第1号上报" in said(calls) and "地点:村东头坑塘" in said(calls)
    await sim.press("修改", SECRETARY)
    await sim.press("日期", SECRETARY)
    calls = await sim.press("前天", SECRETARY)
    assert "日期:2026年11月20日星期五" in said(calls)
    await sim.press("修改", SECRETARY)
    await sim.press("参加人数", SECRETARY)
    await sim.send("4 6 30", SECRETARY)
    review_call, buttons = sim.last_keyboard(SECRETARY)
    [save] = [b["callback_data"] for b in buttons if b["text"] == "💾 保存"]
    calls = await sim.click(save, SECRETARY, message_call=review_call)
    assert "第1号上报已更正,原来的内容已留档" in said(calls)
    again = await sim.click(save, SECRETARY, message_call=review_call)
    assert alerts(again) == ["这次更正已经保存过了(第1号上报)。"]

    repo = sim.app.services.repos.reports
    report = await repo.get(1)
    assert report.fields.work_date == date(2026, 11, 20) and report.fields.villagers == 30
    assert len(report.fields.photos) == 1 and report.created_at == NOW
    [change] = await repo.changes(1)
    assert change.action == "correct" and change.changed_by == org.secretary.id
    assert change.old_values["work_date"] == "2026-11-21" and change.old_values["villagers"] == 20
    assert change.new_values["work_date"] == "2026-11-20" and change.new_values["villagers"] == 30
    assert len(await saved_reports(sim, org.secretary.id)) == 1


async def test_cancelling_a_correction_leaves_the_report_alone(sim: Simulator, org: Org) -> None:
    await report_with_photos(sim, 0)
    await sim.send("/myreports", SECRETARY)
    await sim.press("查看 #1", SECRETARY)
    await sim.press("更正", SECRETARY)
    await sim.press("修改", SECRETARY)
    await sim.press("地点", SECRETARY)
    await sim.send("别处", SECRETARY)
    calls = await sim.send("/cancel", SECRETARY)
    assert "已取消更正,原来的上报没有改动" in said(calls)
    assert (await sim.app.services.repos.reports.get(1)).fields.place == "村东头坑塘"
    assert await sim.app.services.repos.reports.changes(1) == []


async def test_a_new_report_in_progress_waits_during_a_correction(sim: Simulator, org: Org) -> None:
    await report_with_photos(sim, 0)
    await go(sim, SECRETARY, "people")  # a second report, half done
    await sim.send("/myreports", SECRETARY)
    await sim.press("查看 #1", SECRETARY)
    await sim.press("更正", SECRETARY)
    await sim.press("修改", SECRETARY)
    await sim.press("备注", SECRETARY)
    await sim.send("补充说明", SECRETARY)
    await sim.press("保存", SECRETARY)
    assert "还有一份没保存的新上报" in last_text(sim, SECRETARY)
    calls = await sim.send("/report", SECRETARY)
    assert QUESTION["resume"] in said(calls)
    calls = await sim.press("继续填写", SECRETARY)
    assert QUESTION["people"] in said(calls)


async def test_my_reports_are_paged(sim: Simulator, org: Org) -> None:
    repo = sim.app.services.repos.reports
    for i in range(10):
        fields = ReportFields(org.village.id, date(2026, 11, 1 + i), ("weeds",), villagers=4)
        await repo.create(fields, reporter_id=org.secretary.id, token=f"p{i}", at=NOW + timedelta(minutes=i))
    calls = await sim.send("/myreports", SECRETARY)
    assert "共10份,第1/2页" in said(calls) and "#10 2026年11月10日" in said(calls)
    calls = await sim.press("下一页", SECRETARY)
    assert "第2/2页" in said(calls) and "#1 2026年11月1日" in said(calls)
    assert "#10 " not in said(calls)


# -- /reports for admins --------------------------------------------------------------------
async def seed(sim: Simulator, org: Org) -> None:
    """12 reports in 红旗村 (November, garbage) and 2 in 向阳村 (one in October, ponds)."""
    repo = sim.app.services.repos.reports
    for i in range(12):
        await repo.create(
            ReportFields(org.village.id, date(2026, 11, 1 + i), ("garbage",), cadres=1, members=2, villagers=10,
                         garbage_trucks=2.5),
            reporter_id=org.secretary.id, token=f"s{i}", at=NOW,
        )
    await repo.create(
        ReportFields(org.other_village.id, date(2026, 11, 3), ("ponds", "weeds"), villagers=5, ponds=1,
                     photos=(ReportPhoto("f1", "u1", "before"),)),
        reporter_id=org.township_admin.id, token="t1", at=NOW,
    )
    await repo.create(
        ReportFields(org.other_village.id, date(2026, 10, 30), ("ponds",), villagers=7),
        reporter_id=org.township_admin.id, token="t2", at=NOW,
    )


async def test_a_township_admin_filters_reports_by_unit_category_and_month(sim: Simulator, org: Org) -> None:
    await seed(sim, org)
    calls = await sim.send("/reports", TOWNSHIP_ADMIN)
    text = said(calls)
    assert "东风镇 · 全部类别 · 2026年11月" in text
    assert "共13份上报,涉及2个村;参加161人次,其中群众125人次" in text
    assert "清运垃圾30车" in text and "第1/2页" in text
    assert "#12 2026年11月12日 红旗村" in text  # latest work first

    calls = await sim.press("下一页", TOWNSHIP_ADMIN)
    assert "第2/2页" in said(calls) and "#13 2026年11月3日 向阳村" in said(calls)

    await sim.press("🗂", TOWNSHIP_ADMIN)
    calls = await sim.press("污水坑塘治理", TOWNSHIP_ADMIN)
    assert "共1份上报" in said(calls) and "向阳村:污水坑塘治理、杂草杂物清理" in said(calls)
    await sim.press("📅", TOWNSHIP_ADMIN)
    calls = await sim.press("全部月份", TOWNSHIP_ADMIN)
    assert "共2份上报" in said(calls)
    await sim.press("🏘", TOWNSHIP_ADMIN)
    assert {"东风镇(全部)", "红旗村", "向阳村"} <= set(labels(sim, TOWNSHIP_ADMIN))
    calls = await sim.press("红旗村", TOWNSHIP_ADMIN)
    assert "红旗村 · 污水坑塘治理 · 全部月份" in said(calls) and "没有符合条件的上报" in said(calls)
    await sim.press("📅", TOWNSHIP_ADMIN)
    assert "2025年12月" in labels(sim, TOWNSHIP_ADMIN)  # the last 12 months
    calls = await sim.press("2026年10月", TOWNSHIP_ADMIN)
    assert "红旗村 · 污水坑塘治理 · 2026年10月" in said(calls)


async def test_an_admin_views_a_report_with_its_photo(sim: Simulator, org: Org) -> None:
    await seed(sim, org)
    await sim.send("/reports", DISTRICT_ADMIN)
    await sim.press("下一页", DISTRICT_ADMIN)
    calls = await sim.press("查看 #13", DISTRICT_ADMIN)
    assert [c.params.get("photo") for c in calls if c.method == "sendPhoto"] == ["f1"]
    assert "第13号上报(上报人:钱镇长)" in said(calls)
    calls = await sim.press("返回列表", DISTRICT_ADMIN)
    assert "第2/2页" in said(calls)


async def test_reports_outside_the_admins_area_are_refused(sim: Simulator, org: Org) -> None:
    await seed(sim, org)
    repo = sim.app.services.repos.org
    west = await repo.add_unit("西山镇", "township", org.district.id)
    await repo.add_person("冯镇长", "township_admin", west.id, telegram_id=107)
    calls = await sim.send("/reports", 107)
    assert "共0份上报" in said(calls)
    calls = await sim.click(f"reports:l:{org.township.id}.-.-.0", 107)
    assert alerts(calls) == ["这不在您管理的范围内。"]
    calls = await sim.click(f"reports:v:1:{west.id}.-.-.0", 107)
    assert alerts(calls) == ["这份上报不存在或已删除。"]
    calls = await sim.send("/reports", SECRETARY)
    assert "仅限" in said(calls)


# -- the repository -------------------------------------------------------------------------
async def test_one_report_per_token_and_totals(sim: Simulator, org: Org) -> None:
    repo = sim.app.services.repos.reports
    fields = ReportFields(org.village.id, date(2026, 11, 20), ("garbage", "weeds"), villagers=3, walls=2)
    first, created = await repo.create(fields, reporter_id=org.secretary.id, token="tok", at=NOW)
    again, created_again = await repo.create(fields, reporter_id=org.secretary.id, token="tok", at=NOW)
    assert created and not created_again and first.id == again.id
    november = ReportQuery(org.township.id, "weeds", date(2026, 11, 1), date(2026, 12, 1))
    totals = await repo.totals(november)
    assert (totals.reports, totals.villages, totals.villagers, totals.walls) == (1, 1, 3, 2)
    assert (await repo.totals(ReportQuery(org.township.id, "ponds"))).reports == 0
    assert (await repo.totals(ReportQuery(org.other_village.id))).reports == 0


# -- /reports in the first days of a month, review states, photos then the buttons (issue 13 item 5)
async def test_in_the_first_days_of_a_month_reports_open_on_the_month_before(sim: Simulator, org: Org) -> None:
    await seed(sim, org)
    for day, month in ((1, "2026年11月"), (5, "2026年11月"), (6, "2026年12月")):
        at(sim, datetime(2026, 12, day, 9, 0, tzinfo=SH))
        calls = await sim.send("/reports", TOWNSHIP_ADMIN)
        assert f"东风镇 · 全部类别 · {month}" in said(calls), day
    at(sim, datetime(2026, 12, 1, 9, 0, tzinfo=SH))
    calls = await sim.send("/reports", TOWNSHIP_ADMIN)
    assert "共13份上报" in said(calls) and "没有符合条件的上报" not in said(calls)


async def test_the_list_shows_each_reports_review_state(sim: Simulator, org: Org) -> None:
    await seed(sim, org)
    oversight = sim.app.services.repos.oversight
    await oversight.record_review("report", 12, "verified", by=org.township_admin.id, at=NOW)
    await oversight.record_review("report", 11, "returned", by=org.township_admin.id, at=NOW, comment="照片看不清")
    await oversight.record_review("report", 10, "returned", by=org.township_admin.id, at=NOW, comment="补充人数")
    await oversight.record_review("report", 10, "resubmitted", by=org.secretary.id, at=NOW)
    lines = {int(line.split()[0][1:]): line for line in (await sim.send("/reports", TOWNSHIP_ADMIN))[-1].text.splitlines()
             if line.startswith("#")}
    assert lines[12].endswith("✅已核实") and lines[11].endswith("↩️已退回")
    assert lines[10].endswith("🔁已重报·待核实"), "resubmitted: to verify again, and said so"
    assert lines[9].endswith("⏳待核实")


async def test_after_the_photos_the_review_buttons_come_again(sim: Simulator, org: Org) -> None:
    await seed(sim, org)
    await sim.send("/start rpt_13", TOWNSHIP_ADMIN)
    calls = await sim.press("看照片", TOWNSHIP_ADMIN)
    methods = [c.method for c in calls if c.method != "answerCallbackQuery"]
    assert methods == ["sendPhoto", "sendMessage"], methods
    below = labels(sim, TOWNSHIP_ADMIN)
    assert "✅ 已核实" in below and "↩️ 退回" in below
    calls = await sim.press("✅ 已核实", TOWNSHIP_ADMIN)
    assert "已核实" in said(calls)


# -- the one rule, in /reports' detail: state, reason, 更正 and 作废 (issue 13 item 3) --------
async def test_the_admins_detail_shows_the_reason_and_voids_with_the_trail_kept(sim: Simulator, org: Org) -> None:
    await seed(sim, org)
    repos = sim.app.services.repos
    await repos.oversight.record_review("report", 11, "returned", by=org.township_admin.id, at=NOW, comment="照片看不清")
    await sim.send("/reports", TOWNSHIP_ADMIN)
    detail = (await sim.press("查看 #11", TOWNSHIP_ADMIN))[-1]
    assert "核实情况:↩️已退回" in detail.text and "退回理由:照片看不清" in detail.text
    assert [b["text"] for b in detail.buttons()] == ["✏️ 更正", "🗑 作废", "📒 返回列表"]
    calls = await sim.press("作废", TOWNSHIP_ADMIN)
    assert "要作废第11号上报吗" in said(calls)
    back = await sim.press("不作废", TOWNSHIP_ADMIN)  # nothing stored before a reason is chosen
    assert (await repos.reports.get(11)).active and "第11号上报" in back[-1].text
    await sim.press("作废", TOWNSHIP_ADMIN)
    void_call, buttons = sim.last_keyboard(TOWNSHIP_ADMIN)
    [duplicate] = [b["callback_data"] for b in buttons if b["text"] == "重复上报"]
    calls = await sim.click(duplicate, TOWNSHIP_ADMIN, message_call=void_call)
    assert "第11号上报已作废(理由:重复上报)" in said(calls)
    told = [c.text for c in calls if c.chat_id == SECRETARY]
    assert told and "第11号上报被钱镇长作废了,理由:重复上报" in told[0]
    assert not (await repos.reports.get(11)).active
    assert await repos.reports.void_reason(11) == "重复上报"
    calls = await sim.click(duplicate, TOWNSHIP_ADMIN)  # a double tap voids once
    assert alerts(calls) == ["这份上报不存在或已删除。"]
    assert [c.action for c in await repos.reports.changes(11)] == ["delete"]
    # its author sees it gone; a secretary cannot void
    calls = await sim.click("myreports:view:11", SECRETARY)
    assert alerts(calls) == ["这份上报不存在或已删除。"]
    flt = f"{org.village.id}.-.-.0"
    calls = await sim.click(f"reports:xr:12:dup:{flt}", SECRETARY)
    assert (await repos.reports.get(12)).active


async def test_a_voided_report_reads_voided_in_the_ledger_with_its_reason(sim: Simulator, org: Org, tmp_path) -> None:
    from tests.helpers.reports import ledger_rows

    await report_with_photos(sim, 1)
    assert await sim.app.services.repos.reports.void(1, by=org.township_admin.id, at=NOW, reason="内容不实")
    [row] = ledger_rows(sim, org, tmp_path)
    assert row[21] == "已作废"
    assert "钱镇长 已作废" in row[22] and "内容不实" in row[22]


async def test_a_corrected_returned_report_reads_resubmitted_at_once(sim: Simulator, org: Org) -> None:
    """No "已退回, please correct" after the correction was saved, while the queue's sync waits."""
    await report_with_photos(sim, 0)
    repos = sim.app.services.repos
    await repos.oversight.record_review("report", 1, "returned", by=org.township_admin.id,
                                        at=NOW + timedelta(hours=1), comment="补充人数")
    report = await repos.reports.get(1)
    from dataclasses import replace

    await repos.reports.correct(1, replace(report.fields, villagers=30), by=org.secretary.id,
                                at=NOW + timedelta(days=3), token="fix1")
    at(sim, NOW + timedelta(days=3))
    detail = (await sim.click("myreports:show:1", SECRETARY))[-1]
    assert "核实情况:🔁已重新提交,待再次核实" in detail.text and "退回理由:补充人数" in detail.text
    assert [b["text"] for b in detail.buttons()] == ["📒 返回列表"]


async def test_the_verifier_is_told_when_another_admin_corrects_it(sim: Simulator, org: Org) -> None:
    from tests.helpers.reports import verified_report

    await verified_report(sim)
    at(sim, NOW + timedelta(days=5))
    sim.api.clear()
    await sim.click("report:correct:1", DISTRICT_ADMIN)
    await sim.press("修改", DISTRICT_ADMIN)
    await sim.press("参加人数", DISTRICT_ADMIN)
    await sim.send("4 6 30", DISTRICT_ADMIN)
    review_call, buttons = sim.last_keyboard(DISTRICT_ADMIN)
    [save] = [b["callback_data"] for b in buttons if b["text"] == "💾 保存"]
    await sim.click(save, DISTRICT_ADMIN, message_call=review_call)
    told = [c.text for c in sim.api.sent(TOWNSHIP_ADMIN)]
    district_name = org.district_admin.name
    assert any("您核实过的第1号上报" in text and f"刚被{district_name}更正了" in text for text in told), told
    assert (await sim.app.services.repos.reports.get(1)).fields.villagers == 30


async def test_an_approximate_head_count_keeps_its_about_in_the_lists_and_totals(sim: Simulator, org: Org) -> None:
    """The walk: "群众十来个" saved as 约16人参加, yet /reports listed "16人参加". The lists and
    the totals say 约 as the report's own text does."""
    repo = sim.app.services.repos.reports
    exact = ReportFields(org.village.id, date(2026, 11, 20), ("garbage",), cadres=1, members=1, villagers=2)
    await repo.create(exact, reporter_id=org.secretary.id, token="exact", at=NOW)
    calls = await sim.send("11月21日在2组清理杂草杂物,干部2人 党员4人 群众十来个", SECRETARY)
    assert "约16人" in said(calls)
    await sim.press("保存", SECRETARY)
    mine = said(await sim.send("/myreports", SECRETARY))
    assert "红旗村:杂草杂物清理,约16人参加" in mine and "红旗村:垃圾清除,4人参加" in mine
    listed = said(await sim.send("/reports", TOWNSHIP_ADMIN))
    assert "红旗村:杂草杂物清理,约16人参加" in listed, listed
    assert "红旗村:垃圾清除,4人参加" in listed
    assert "参加约20人次,其中群众约12人次" in listed
    (only_exact,) = [line for line in listed.splitlines() if "垃圾清除" in line]
    assert "约" not in only_exact
