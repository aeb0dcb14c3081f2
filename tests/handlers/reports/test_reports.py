"""/report end to end through the real Application and the in-memory Bot API: the happy path
in Chinese, the village step, dates, participants, amounts, places, every edit path from the
review, back at each step, cancel, wrong input at each step, 同上次, and who may report.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.simulator import Simulator
from tests.conftest import (
    DISTRICT_ADMIN,
    MEMBER,
    NOW,
    SECRETARY,
    STRANGER,
    TODAY,
    TOWNSHIP_ADMIN,
    Org,
    alerts,
    at,
    labels,
    last_text,
)
from tests.conftest import TZ as SH
from tests.helpers.reports import ANSWERS, ORDER, QUESTION, act, asking, go, said, saved_reports

pytestmark = pytest.mark.usefixtures("fixed_clock")  # the users' messages carry NOW


# -- the happy path -------------------------------------------------------------------------
async def test_a_secretary_reports_a_clean_up_in_chinese(sim: Simulator, org: Org) -> None:
    calls = await sim.send("/report", SECRETARY)
    # one village: no village question; the first question is the date, with quick buttons
    assert QUESTION["date"] in said(calls) and "第1步,共7步" in said(calls)
    assert labels(sim, SECRETARY)[:3] == ["今天", "昨天", "前天"]

    calls = await sim.send("上周五", SECRETARY)
    assert "✅ 日期:2026年11月13日星期五" in said(calls)  # echoed in full
    await sim.press("垃圾清除", SECRETARY)
    await sim.press("残垣断壁拆除", SECRETARY)
    await sim.press("其他", SECRETARY)
    assert {"✅ 垃圾清除", "✅ 残垣断壁拆除", "✅ 其他"} <= set(labels(sim, SECRETARY))
    await sim.press("下一步", SECRETARY)
    assert asking(sim, SECRETARY, "other_name")
    await sim.send("清理河道", SECRETARY)
    assert asking(sim, SECRETARY, "place")
    await sim.send("村东头坑塘", SECRETARY)
    calls = await sim.send("干部三 党员五 群众二十", SECRETARY)
    assert "干部3人,党员5人,群众20人(共28人)" in said(calls)
    calls = await sim.send("清运垃圾5车 拆除残墙2处 整治坑塘1个", SECRETARY)
    assert "清运垃圾5车、拆除残垣断壁2处、治理坑塘1个" in said(calls)
    assert asking(sim, SECRETARY, "photos")
    await sim.photo(SECRETARY)
    await sim.press("整治后", SECRETARY)
    await sim.photo(SECRETARY)
    await sim.press("完成", SECRETARY)
    await sim.send("党员带头,群众参与", SECRETARY)

    review = last_text(sim, SECRETARY)
    for line in (
        "村(社区):红旗村",
        "日期:2026年11月13日星期五",
        "类别:残垣断壁拆除、垃圾清除、其他(清理河道)",
        "地点:村东头坑塘",
        "参加人员:干部3人,党员5人,群众20人(共28人)",
        "工作量:清运垃圾5车、拆除残垣断壁2处、治理坑塘1个",
        "照片:整治前1张,整治后1张",
        "备注:党员带头,群众参与",
    ):
        assert line in review
    assert await saved_reports(sim, org.secretary.id) == []  # only 保存 writes

    calls = await sim.press("保存", SECRETARY)
    assert "✅ 已保存,编号 #1" in said(calls)
    assert "2026年11月13日 红旗村:残垣断壁拆除、垃圾清除、其他(清理河道);28人参加,其中群众20人;照片2张" in said(calls)

    [report] = await saved_reports(sim, org.secretary.id)
    f = report.fields
    assert (f.unit_id, f.work_date, f.categories, f.other_name) == (
        org.village.id, date(2026, 11, 13), ("walls", "garbage", "other"), "清理河道"
    )
    assert (f.place, f.cadres, f.members, f.villagers) == ("村东头坑塘", 3, 5, 20)
    assert (f.garbage_trucks, f.walls, f.ponds, f.area_m2) == (5.0, 2, 1, None)
    assert [p.phase for p in f.photos] == ["before", "after"]
    assert all(p.file_id.startswith("fake-file-") and p.file_unique_id for p in f.photos)
    assert f.notes == "党员带头,群众参与"
    assert report.reporter_id == org.secretary.id and report.created_at == NOW

    # the conversation is over: /report starts afresh, without offering to resume
    calls = await sim.send("/report", SECRETARY)
    assert QUESTION["date"] in said(calls)


async def test_date_reference_is_the_message_time_in_china(sim: Simulator, org: Org) -> None:
    # 00:30 in Shanghai is 16:30 UTC the day before: 昨天 must still be the 21st
    at(sim, datetime(2026, 11, 22, 0, 30, tzinfo=SH))
    await sim.send("/report", SECRETARY)
    calls = await sim.send("昨天", SECRETARY)
    assert "2026年11月21日星期六" in said(calls)
    await sim.press("返回", SECRETARY)
    calls = await sim.press("今天", SECRETARY)
    assert "2026年11月22日星期日" in said(calls)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("明天", "这个日期还没到"),
        ("2024年11月5日", "只能上报最近60天内"),
        ("随便写写", "没看懂这个日期。可以这样写:“昨天”或“11月20日”"),
        ("😀", "没看懂这个日期"),
    ],
)
async def test_dates_refused_with_the_reason_and_asked_again(sim: Simulator, org: Org, typed: str, says: str) -> None:
    await sim.send("/report", SECRETARY)
    calls = await sim.send(typed, SECRETARY)
    assert says in said(calls) and QUESTION["date"] in said(calls)
    calls = await sim.send("11月20号", SECRETARY)
    assert "2026年11月20日星期五" in said(calls) and QUESTION["category"] in said(calls)


async def test_a_township_admin_chooses_the_village_by_button_or_name(sim: Simulator, org: Org) -> None:
    calls = await sim.send("/report", TOWNSHIP_ADMIN)
    assert QUESTION["village"] in said(calls) and "第1步,共8步" in said(calls)
    assert {"红旗村", "向阳村"} <= set(labels(sim, TOWNSHIP_ADMIN))
    calls = await sim.send("向阳", TOWNSHIP_ADMIN)
    assert "✅ 村(社区):向阳村" in said(calls) and QUESTION["date"] in said(calls)
    await sim.press("返回", TOWNSHIP_ADMIN)
    calls = await sim.press("红旗村", TOWNSHIP_ADMIN)
    assert "✅ 村(社区):红旗村" in said(calls)
    await go(sim, TOWNSHIP_ADMIN, start=False)
    await sim.press("保存", TOWNSHIP_ADMIN)
    [report] = await saved_reports(sim, org.township_admin.id)
    assert report.fields.unit_id == org.village.id


async def test_a_forged_village_outside_the_area_is_refused(sim: Simulator, org: Org) -> None:
    other_town = await sim.app.services.repos.org.add_unit("西山镇", "township", org.district.id)
    far = await sim.app.services.repos.org.add_unit("远山村", "village", other_town.id)
    await sim.send("/report", TOWNSHIP_ADMIN)
    calls = await sim.click(f"report:village:{far.id}", TOWNSHIP_ADMIN)
    assert alerts(calls) == ["这个村不在您负责的范围内。"]
    assert asking(sim, TOWNSHIP_ADMIN, "village")


# -- participants, amounts, place -----------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "people"),
    [
        ("3 5 20", "干部3人,党员5人,群众20人(共28人)"),
        ("3，5，20", "干部3人,党员5人,群众20人(共28人)"),
        ("党员5人，干部3人，群众一百二十人", "干部3人,党员5人,群众120人(共128人)"),
    ],
)
async def test_participants_in_one_line(sim: Simulator, org: Org, typed: str, people: str) -> None:
    await go(sim, SECRETARY, "people")
    calls = await sim.send(typed, SECRETARY)
    assert people in said(calls) and QUESTION["amounts"] in said(calls)


async def test_villagers_are_always_asked(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "people")
    calls = await sim.send("干部3 党员12", SECRETARY)
    assert QUESTION["people_villagers"] in said(calls) and "干部3人,党员12人" in said(calls)
    calls = await sim.send("十五", SECRETARY)
    assert "干部3人,党员12人,群众15人(共30人)" in said(calls)


async def test_participants_one_by_one_with_chinese_numerals(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "people")
    await sim.press("一项一项填", SECRETARY)
    assert asking(sim, SECRETARY, "people_cadres")
    calls = await sim.send("三个", SECRETARY)
    assert QUESTION["people_members"] in said(calls)
    calls = await sim.send("很多", SECRETARY)
    assert "请输入一个数字" in said(calls) and QUESTION["people_members"] in said(calls)
    await sim.send("十五", SECRETARY)
    calls = await sim.send("一百二十", SECRETARY)
    assert "干部3人,党员15人,群众120人(共138人)" in said(calls)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("0 0 0", "参加人数不能都是0"),
        ("-3 5 20", "不能是负数"),
        ("3 5 20000", "每项不能超过10000人"),
        ("来了好多人", "没看懂人数"),
        ("3 5", "没看懂人数"),
    ],
)
async def test_bad_participants_are_refused(sim: Simulator, org: Org, typed: str, says: str) -> None:
    await go(sim, SECRETARY, "people")
    calls = await sim.send(typed, SECRETARY)
    assert says in said(calls) and QUESTION["people"] in said(calls)


async def test_amounts_are_optional_and_checked(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "amounts")
    calls = await sim.send("清运垃圾-5车", SECRETARY)
    assert "不能是负数" in said(calls)
    await sim.press("跳过", SECRETARY)
    await sim.press("不发照片", SECRETARY)
    await sim.press("跳过", SECRETARY)
    review = last_text(sim, SECRETARY)
    assert "工作量:未填" in review and "照片:无" in review and "备注:未填" in review
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    assert report.fields.garbage_trucks is None and report.fields.photos == () and report.fields.notes is None


async def test_a_shared_location_is_the_place(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "place")
    calls = await sim.location(34.5, 109.5, SECRETARY)
    assert "已记录您发送的位置" in said(calls)
    for step in ORDER[3:]:
        for kind, value in ANSWERS[step]:
            await act(sim, SECRETARY, kind, value)
    assert "位置:已发送定位(纬度34.50000,经度109.50000)" in last_text(sim, SECRETARY)
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    assert (report.fields.place, report.fields.latitude, report.fields.longitude) == (None, 34.5, 109.5)


async def test_other_needs_a_name_and_at_least_one_category(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "category")
    calls = await sim.press("下一步", SECRETARY)
    assert alerts(calls) == ["请至少选一项,再点“下一步”。"]
    await sim.press("其他", SECRETARY)
    await sim.press("下一步", SECRETARY)
    calls = await sim.send("很长" * 20, SECRETARY)
    assert "不要超过20个字" in said(calls) and QUESTION["other_name"] in said(calls)
    await sim.press("返回", SECRETARY)  # back to the categories, 其他 still chosen
    assert "✅ 其他" in labels(sim, SECRETARY)


async def test_same_as_last_time_prefills_place_and_people(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY)
    await sim.press("保存", SECRETARY)
    await go(sim, SECRETARY, "place")
    assert "上次:村东头坑塘" in last_text(sim, SECRETARY)
    calls = await sim.press("同上次", SECRETARY)
    assert "✅ 地点:村东头坑塘" in said(calls)
    assert "上次:干部3人,党员5人,群众20人" in said(calls)
    calls = await sim.press("同上次", SECRETARY)
    assert "✅ 参加人员:干部3人,党员5人,群众20人(共28人)" in said(calls)


async def test_same_as_last_time_for_the_village(sim: Simulator, org: Org) -> None:
    await sim.send("/report", TOWNSHIP_ADMIN)
    assert "同上次" not in labels(sim, TOWNSHIP_ADMIN)  # nothing reported yet
    await sim.press("向阳村", TOWNSHIP_ADMIN)
    await go(sim, TOWNSHIP_ADMIN, start=False)
    await sim.press("保存", TOWNSHIP_ADMIN)
    calls = await sim.send("/report", TOWNSHIP_ADMIN)
    assert "上次:向阳村" in said(calls)
    calls = await sim.press("同上次", TOWNSHIP_ADMIN)
    assert "✅ 村(社区):向阳村" in said(calls)


# -- edit from the review -------------------------------------------------------------------
EDITS = {
    "date": ([("press", "前天")], "日期:2026年11月20日星期五"),
    "category": ([("press", "垃圾清除"), ("press", "杂草杂物清理"), ("press", "下一步")], "类别:杂草杂物清理"),
    "place": ([("send", "村西口")], "地点:村西口"),
    "people": ([("send", "1 2 30")], "参加人员:干部1人,党员2人,群众30人(共33人)"),
    "amounts": ([("send", "整治面积300平方米")], "工作量:整治面积300平方米"),
    "photos": ([("photo", ""), ("press", "完成")], "照片:整治前1张,整治后0张"),
    "notes": ([("send", "改过的备注")], "备注:改过的备注"),
}
STORED = {
    "date": lambda f: f.work_date == date(2026, 11, 20),
    "category": lambda f: f.categories == ("weeds",),
    "place": lambda f: f.place == "村西口",
    "people": lambda f: (f.cadres, f.members, f.villagers) == (1, 2, 30),
    "amounts": lambda f: (f.area_m2, f.garbage_trucks, f.walls) == (300.0, None, None),
    "photos": lambda f: len(f.photos) == 1,
    "notes": lambda f: f.notes == "改过的备注",
}
FIELD_LABEL = {
    "date": "日期", "category": "整治类别", "place": "地点", "people": "参加人数",
    "amounts": "工作量", "photos": "照片", "notes": "备注",
}


@pytest.mark.parametrize("field", list(EDITS))
async def test_every_field_can_be_changed_from_the_review(sim: Simulator, org: Org, field: str) -> None:
    await go(sim, SECRETARY)
    await sim.press("修改", SECRETARY)
    assert asking(sim, SECRETARY, "edit")
    assert "村(社区)" not in labels(sim, SECRETARY)  # one village: nothing to change there
    await sim.press(FIELD_LABEL[field], SECRETARY)
    assert asking(sim, SECRETARY, field)
    actions, line = EDITS[field]
    for kind, value in actions:
        if kind == "photo":
            await sim.photo(SECRETARY)
        else:
            await act(sim, SECRETARY, kind, value)
    review = last_text(sim, SECRETARY)
    assert QUESTION["review"] in review and line in review  # straight back to the review
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    assert STORED[field](report.fields)


async def test_the_village_can_be_changed_from_the_review(sim: Simulator, org: Org) -> None:
    await sim.send("/report", TOWNSHIP_ADMIN)
    await sim.press("红旗村", TOWNSHIP_ADMIN)
    await go(sim, TOWNSHIP_ADMIN, start=False)
    await sim.press("修改", TOWNSHIP_ADMIN)
    await sim.press("村(社区)", TOWNSHIP_ADMIN)
    calls = await sim.press("向阳村", TOWNSHIP_ADMIN)
    assert "村(社区):向阳村" in said(calls) and QUESTION["review"] in said(calls)


async def test_back_from_an_edit_returns_to_the_review(sim: Simulator, org: Org) -> None:
    """The engine's one behaviour: 返回 from an edit returns to the review unchanged (it went
    back to the 修改 menu first)."""
    await go(sim, SECRETARY)
    await sim.press("修改", SECRETARY)
    await sim.press("地点", SECRETARY)
    await sim.press("返回", SECRETARY)
    assert asking(sim, SECRETARY, "review") and "地点:村东头坑塘" in last_text(sim, SECRETARY)
    await sim.press("修改", SECRETARY)
    await sim.press("返回", SECRETARY)  # from the menu too
    assert asking(sim, SECRETARY, "review")


# -- back at each step ----------------------------------------------------------------------
async def test_back_at_each_step_keeps_what_was_typed(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY)
    expected_back = ["notes", "photos", "amounts", "people", "place", "category", "date"]
    for step in expected_back:
        await sim.press("返回", SECRETARY)
        assert asking(sim, SECRETARY, step), (step, last_text(sim, SECRETARY))
    assert "返回" not in " ".join(labels(sim, SECRETARY))  # nothing before the first question
    # everything typed is still there: walk forward with 跳过/下一步 and review
    await sim.press("昨天", SECRETARY)
    assert "✅ 垃圾清除" in labels(sim, SECRETARY)
    await sim.press("下一步", SECRETARY)
    await sim.press("跳过", SECRETARY)  # place
    assert asking(sim, SECRETARY, "people")
    for step in ORDER[3:]:
        for kind, value in ANSWERS[step]:
            await act(sim, SECRETARY, kind, value)
    review = last_text(sim, SECRETARY)
    assert "类别:垃圾清除" in review and "地点:未填" in review


async def test_back_inside_the_one_by_one_counts(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "people")
    await sim.press("一项一项填", SECRETARY)
    await sim.send("3", SECRETARY)
    await sim.press("返回", SECRETARY)
    assert asking(sim, SECRETARY, "people_cadres")
    await sim.press("返回", SECRETARY)
    assert asking(sim, SECRETARY, "people")


# -- cancel ---------------------------------------------------------------------------------
async def test_cancel_command_ends_without_saving(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "amounts")
    calls = await sim.send("/cancel", SECRETARY)
    assert "已取消,这次填的内容没有保存" in said(calls)
    assert await saved_reports(sim, org.secretary.id) == []
    calls = await sim.send("清运垃圾5车", SECRETARY)  # the conversation is over
    assert QUESTION["notes"] not in said(calls)
    calls = await sim.send("/report", SECRETARY)  # no draft to resume
    assert QUESTION["date"] in said(calls)


async def test_cancel_button_on_the_review(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY)
    calls = await sim.press("取消", SECRETARY)
    assert "已取消" in said(calls) and calls[-1].buttons() == []
    assert await saved_reports(sim, org.secretary.id) == []


# -- wrong input ----------------------------------------------------------------------------
WRONG = ["sticker", "voice", "photo", "text"]


async def send_wrong(sim: Simulator, user: int, kind: str):
    if kind == "sticker":
        return await sim.sticker(user)
    if kind == "voice":
        return await sim.voice(user)
    if kind == "photo":
        return await sim.photo(user)
    return await sim.send("随便说点什么", user)


HINT = {  # the engine's hints (form.wrong.*); a photo is kept for the photo step (Form.aside)
    "sticker": "这一步需要您输入文字",
    "voice": "这一步需要您输入文字",
    "photo": "照片已收下",
    "text": "这一步请点上面的按钮来选择",
}


TEXT_STEPS = {"date", "place", "people", "amounts", "notes"}
WRONG_CASES = [
    (step, kind)
    for step in ("date", "category", "place", "people", "amounts", "photos", "notes", "review")
    for kind in WRONG
    # text where text is asked is parsed (tested above); a photo at the photo step is welcome
    if not (kind == "text" and step in TEXT_STEPS) and not (kind == "photo" and step == "photos")
]


@pytest.mark.parametrize(("step", "kind"), WRONG_CASES)
async def test_wrong_input_gets_a_hint_and_the_same_question(sim: Simulator, org: Org, step: str, kind: str) -> None:
    text_steps = TEXT_STEPS
    await go(sim, SECRETARY, step)
    calls = await send_wrong(sim, SECRETARY, kind)
    hint, reply = [c for c in calls if c.method == "sendMessage"]  # the hint, then the question
    if step == "photos":
        assert "这一步请发送照片" in hint.text
    elif kind in ("sticker", "voice") and step not in text_steps:
        assert "这一步请点上面的按钮来选择" in hint.text
    else:
        assert HINT[kind] in hint.text
    assert QUESTION[step] in reply.text and reply.buttons()  # the same question, buttons and all
    # and the question still works
    if step != "review":
        for action in ANSWERS[step]:
            await act(sim, SECRETARY, *action)
        assert not asking(sim, SECRETARY, step) or step == "category"


async def test_a_button_of_an_earlier_question_is_refused(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "place")
    calls = await sim.click("report:date:-1", SECRETARY)  # a button of an earlier question
    assert alerts(calls) == ["这个按钮已经失效了,请看最新的一条消息,或重新发送命令。"]  # the engine's form.stale
    assert asking(sim, SECRETARY, "place")


# -- who may report -------------------------------------------------------------------------
@pytest.mark.parametrize(("user", "says"), [(MEMBER, "仅限"), (STRANGER, "您还没有加入")])
async def test_members_and_strangers_are_refused(sim: Simulator, org: Org, user: int, says: str) -> None:
    calls = await sim.send("/report", user)
    assert says in said(calls)
    calls = await sim.send("昨天", user)
    assert QUESTION["category"] not in said(calls)


async def test_report_is_refused_in_a_group(sim: Simulator, org: Org) -> None:
    calls = await sim.send("/report", SECRETARY, chat_id=-100)
    assert "请在与我的私聊中使用" in said(calls)


async def test_a_district_admin_picks_among_all_villages(sim: Simulator, org: Org) -> None:
    calls = await sim.send("/report", DISTRICT_ADMIN)
    assert QUESTION["village"] in said(calls)
    assert {"红旗村", "向阳村"} <= set(labels(sim, DISTRICT_ADMIN))


async def test_the_window_of_days_is_configurable(sim: Simulator, org: Org) -> None:
    await sim.send("/report", SECRETARY)
    calls = await sim.send((TODAY - timedelta(days=61)).strftime("%Y年%m月%d日"), SECRETARY)
    assert "只能上报最近60天内" in said(calls)
    calls = await sim.send((TODAY - timedelta(days=60)).strftime("%Y-%m-%d"), SECRETARY)
    assert QUESTION["category"] in said(calls)


async def test_many_villages_are_paged(sim: Simulator, org: Org) -> None:
    repo = sim.app.services.repos.org
    for n in range(15):
        await repo.add_unit(f"新{n + 1:02d}村", "village", org.township.id)
    await sim.send("/report", TOWNSHIP_ADMIN)
    first_page = labels(sim, TOWNSHIP_ADMIN)
    assert "下一页 ➡️" in first_page and len([x for x in first_page if x.endswith("村")]) == 12
    calls = await sim.press("下一页", TOWNSHIP_ADMIN)
    second_page = [b["text"] for b in calls[-1].buttons()]
    assert "⬅️ 上一页" in second_page and len([x for x in second_page if x.endswith("村")]) == 5
    calls = await sim.press("新15村", TOWNSHIP_ADMIN)
    assert "✅ 村(社区):新15村" in said(calls)


async def test_the_conversation_speaks_english_when_chosen(sim: Simulator, org: Org) -> None:
    await sim.send("/lang", SECRETARY)
    await sim.press("English", SECRETARY)
    calls = await sim.send("/report", SECRETARY)
    assert "On which day was the work done?" in said(calls)
    assert labels(sim, SECRETARY)[:3] == ["Today", "Yesterday", "Day before yesterday"]
    calls = await sim.send("last Friday", SECRETARY)
    assert "Friday, November 20, 2026" in said(calls)


# -- amounts in each category's units and approximate head counts (issue 13 item 6) ----------
async def test_greening_amounts_and_an_approximate_head_count(sim: Simulator, org: Org) -> None:
    await sim.send("/report", SECRETARY)
    await sim.send("昨天", SECRETARY)
    await sim.press("村内绿化亮化", SECRETARY)
    await sim.press("下一步", SECRETARY)
    await sim.send("村主干道", SECRETARY)
    calls = await sim.send("干部3个,党员6名,群众二十多人", SECRETARY)
    assert "群众20余人" in said(calls) and "共约29人" in said(calls)
    # the amounts question shows the category's own units
    assert "栽植行道树120棵" in said(calls)
    calls = await sim.send("栽植行道树120棵,安装太阳能路灯15盏", SECRETARY)
    assert "✅ 工作量:栽树120棵、安装路灯15盏" in said(calls)
    await sim.press("不发照片", SECRETARY)
    await sim.press("跳过", SECRETARY)
    review = last_text(sim, SECRETARY)
    assert "群众20余人" in review and "栽树120棵、安装路灯15盏" in review
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    f = report.fields
    assert (f.cadres, f.members, f.villagers) == (3, 6, 20)
    assert f.people_approx == (("villagers", "more"),)
    assert dict(f.amounts_more) == {"trees": 120, "lights": 15}


async def test_an_amount_the_grammar_does_not_know_is_kept_as_text(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "amounts")
    calls = await sim.send("清运垃圾5车,拆了几间破房子", SECRETARY)
    assert "清运垃圾5车、“拆了几间破房子”(按原文记录)" in said(calls)
    assert QUESTION["photos"] in said(calls)  # not a dead end: the next question
    await sim.press("不发照片", SECRETARY)
    await sim.press("跳过", SECRETARY)
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    assert report.fields.garbage_trucks == 5
    assert dict(report.fields.amounts_more) == {"text": "拆了几间破房子"}


async def test_one_count_at_a_time_may_be_approximate(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "people")
    await sim.press("一项一项填", SECRETARY)
    await sim.send("3", SECRETARY)
    await sim.send("十来个", SECRETARY)
    calls = await sim.send("20余人", SECRETARY)
    assert "党员约10人" in said(calls) and "群众20余人" in said(calls)


@pytest.mark.parametrize(("step", "words"), [("place", "算了,不报了"), ("people", "取消"), ("date", "不填了")])
async def test_typed_cancel_words_end_the_report_at_any_step(sim: Simulator, org: Org, step: str, words: str) -> None:
    """Typed 取消 / 算了,不报了 is /cancel at every step: never stored as the place or refused as
    a head count; nothing is saved and nothing listens any more."""
    await go(sim, SECRETARY, until=step)
    (said,) = [c.text for c in await sim.send(words, SECRETARY) if c.text]
    assert "已取消" in said
    assert await saved_reports(sim, org.secretary.id) == []
    assert "report" not in sim.app.user_data.get(SECRETARY, {})
    await sim.send("三组", SECRETARY)  # nothing listens any more: not taken as an answer
    assert "report" not in sim.app.user_data.get(SECRETARY, {})
