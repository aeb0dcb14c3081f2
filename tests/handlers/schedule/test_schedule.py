"""/schedule: a recurring lecture set up in a few taps (or typed), its notices with 参加 / 请假
and a live count under concurrent presses, who answered, edit / pause / delete."""

from __future__ import annotations

import asyncio

from bot.services import scheduler
from bot.simulator import Simulator, texts
from tests.conftest import (
    NOW,
    OTHER_SECRETARY,
    SECRETARY,
    TOWN_GROUP,
    TOWNSHIP_ADMIN,
    Clock,
    Org,
    alerts,
)
from tests.conftest import local as at
from tests.conftest import newest_text as last_text
from tests.helpers.scheduler import add_lecture, notice_in_town_group


async def test_the_monthly_lecture_in_a_few_taps(sim: Simulator, admin: Org) -> None:
    assert "还没有定期活动" in texts(await sim.send("/schedule", TOWNSHIP_ADMIN))[0]
    await sim.press("新建", TOWNSHIP_ADMIN)
    await sim.send("五星支部创建大讲堂", TOWNSHIP_ADMIN)
    await sim.press("第几个星期几", TOWNSHIP_ADMIN)
    await sim.press("第一个", TOWNSHIP_ADMIN)
    await sim.press("星期五", TOWNSHIP_ADMIN)
    await sim.press("14:30", TOWNSHIP_ADMIN)
    await sim.send("镇党委会议室", TOWNSHIP_ADMIN)
    await sim.send("红旗村孙书记", TOWNSHIP_ADMIN)
    await sim.press("东风镇(本级)", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("下一步", TOWNSHIP_ADMIN))
    assert "每月第一个星期五 14:30" in review
    assert "12月4日(周五) 14:30、2027年1月1日(周五) 14:30" in review  # the engine's one date format
    assert "提前3天 09:00、提前2小时" in review and "各村(社区)书记" in review
    assert "已保存" in last_text(await sim.press("保存", TOWNSHIP_ADMIN))
    (event,) = await sim.app.services.repos.events.active()
    assert event.unit_ids == (admin.township.id,) and event.speaker == "红旗村孙书记"
    notice = await notice_in_town_group(sim, at(2026, 12, 1, 9))
    assert "活动通知" in notice.text and "2026年12月4日星期五 14:30" in notice.text and "镇党委会议室" in notice.text
    assert [b["text"] for b in notice.buttons()] == ["✅ 参加", "🙏 请假"]
    assert notice.buttons()[0]["callback_data"] == f"rsvp:yes:{event.id}.20261204"


async def test_a_typed_recurrence_with_its_time_skips_those_questions(sim: Simulator, admin: Org) -> None:
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("新建", TOWNSHIP_ADMIN)
    await sim.send("大讲堂", TOWNSHIP_ADMIN)
    assert "没看懂" in texts(await sim.send("每年一次", TOWNSHIP_ADMIN))[0]
    assert "在哪里举行" in last_text(await sim.send("每月最后一个周五下午3点", TOWNSHIP_ADMIN))
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("全选", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("下一步", TOWNSHIP_ADMIN))
    assert "每月最后一个星期五 15:00" in review and "11月27日(周五) 15:00" in review


async def test_every_two_months_starts_in_the_month_chosen(sim: Simulator, admin: Org) -> None:
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("新建", TOWNSHIP_ADMIN)
    await sim.send("双月观摩", TOWNSHIP_ADMIN)
    start = await sim.send("每两个月10号", TOWNSHIP_ADMIN)
    labels = [b["text"] for b in start[-1].buttons()]
    assert labels[:2] == ["从12月10日(周四)开始", "从2027年1月10日(周日)开始"]
    assert "几点开始" in last_text(await sim.press("从2027年1月10日", TOWNSHIP_ADMIN))
    assert "在哪里举行" in last_text(await sim.press("09:00", TOWNSHIP_ADMIN))
    await sim.send("镇政府", TOWNSHIP_ADMIN)
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("东风镇(本级)", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("下一步", TOWNSHIP_ADMIN))
    assert "每2个月的10日 09:00" in review
    assert "2027年1月10日(周日) 09:00、2027年3月10日(周三) 09:00、2027年5月10日(周一) 09:00" in review


async def test_day_31_and_back_and_cancel(sim: Simulator, admin: Org) -> None:
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("新建", TOWNSHIP_ADMIN)
    await sim.send("月底督导", TOWNSHIP_ADMIN)
    assert "31 表示每月最后一天" in last_text(await sim.press("每月固定日期", TOWNSHIP_ADMIN))
    assert "多久举行一次" in last_text(await sim.press("返回", TOWNSHIP_ADMIN))
    await sim.press("每月固定日期", TOWNSHIP_ADMIN)
    assert "几点开始" in last_text(await sim.press("31/月底", TOWNSHIP_ADMIN))
    assert "每月几号" in last_text(await sim.press("返回", TOWNSHIP_ADMIN))
    await sim.press("31/月底", TOWNSHIP_ADMIN)
    await sim.press("09:00", TOWNSHIP_ADMIN)
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("东风镇(本级)", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("下一步", TOWNSHIP_ADMIN))
    assert "每月最后一天 09:00" in review and "11月30日(周一) 09:00、12月31日(周四) 09:00" in review
    await sim.press("取消", TOWNSHIP_ADMIN)
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("新建", TOWNSHIP_ADMIN)
    assert texts(await sim.send("/cancel", TOWNSHIP_ADMIN)) == ["已取消,没有保存任何内容。"]
    assert await sim.app.services.repos.events.active() == []


async def test_only_admins_schedule(sim: Simulator, admin: Org) -> None:
    assert "仅限" in texts(await sim.send("/schedule", SECRETARY))[0]
    assert "仅限" in alerts(await sim.click("sched_ev:start:", SECRETARY))[0]


async def test_attend_and_excused_counts_under_concurrent_presses(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    notice = await notice_in_town_group(sim, at(2026, 12, 1, 9))
    users = list(range(2001, 2031))
    yes, no = users[:22], users[22:]
    presses = [sim.click(f"rsvp:yes:{event.id}.20261204", u, TOWN_GROUP, message_call=notice) for u in yes]
    presses += [sim.click(f"rsvp:no:{event.id}.20261204", u, TOWN_GROUP, message_call=notice) for u in no]
    await asyncio.gather(*presses)
    assert await sim.app.services.repos.events.counts(event.id, "2026-12-04") == (22, 8)
    shown = sim.api.message(TOWN_GROUP, notice.result["message_id"])
    assert "参加 22 人,请假 8 人" in shown["text"] and shown["reply_markup"]["inline_keyboard"]
    # changing one's mind counts once; the same answer twice changes nothing
    await asyncio.gather(
        sim.click(f"rsvp:no:{event.id}.20261204", 2001, TOWN_GROUP, message_call=notice),
        sim.click(f"rsvp:no:{event.id}.20261204", 2001, TOWN_GROUP, message_call=notice),
    )
    shown = sim.api.message(TOWN_GROUP, notice.result["message_id"])
    assert "参加 21 人,请假 9 人" in shown["text"]


async def test_answers_after_the_event_began_are_refused(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    notice = await notice_in_town_group(sim, at(2026, 12, 1, 9))
    sim.app.services.extras["clock"] = Clock(at(2026, 12, 4, 15))
    calls = await sim.click(f"rsvp:yes:{event.id}.20261204", SECRETARY, TOWN_GROUP, message_call=notice)
    assert "已经开始或结束" in alerts(calls)[0]
    assert await sim.app.services.repos.events.counts(event.id, "2026-12-04") == (0, 0)


async def test_the_organiser_sees_who_answered_and_who_did_not(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    notice = await notice_in_town_group(sim, at(2026, 12, 1, 9))
    await sim.click(f"rsvp:no:{event.id}.20261204", SECRETARY, TOWN_GROUP, message_call=notice)
    await sim.click(f"rsvp:yes:{event.id}.20261204", 3001, TOWN_GROUP, message_call=notice)
    sim.app.services.extras["clock"] = Clock(at(2026, 12, 2, 10))
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("1", TOWNSHIP_ADMIN)
    answers = last_text(await sim.press("回复情况", TOWNSHIP_ADMIN))
    assert "2026年12月4日星期五 14:30" in answers
    assert f"参加(1人):{sim.user(3001).first_name}" in answers and "请假(1人):孙书记" in answers
    assert "还没回复(1人):吴书记" in answers  # the other village's secretary
    assert "13800000001" not in answers


async def test_editing_updates_the_notices_already_sent(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    notice = await notice_in_town_group(sim, at(2026, 12, 1, 9))
    sim.app.services.extras["clock"] = Clock(at(2026, 12, 1, 10))
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("1", TOWNSHIP_ADMIN)
    await sim.press("修改", TOWNSHIP_ADMIN)
    await sim.press("改地点", TOWNSHIP_ADMIN)
    review = last_text(await sim.send("村委会二楼", TOWNSHIP_ADMIN))
    assert "村委会二楼" in review
    calls = await sim.press("保存", TOWNSHIP_ADMIN)
    assert "已修改" in last_text(calls)
    shown = sim.api.message(TOWN_GROUP, notice.result["message_id"])
    assert "村委会二楼" in shown["text"] and "镇党委会议室" not in shown["text"]
    # moved to Thursdays: the Friday notice says so and loses its buttons
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("1", TOWNSHIP_ADMIN)
    await sim.press("修改", TOWNSHIP_ADMIN)
    await sim.press("改时间规律", TOWNSHIP_ADMIN)
    await sim.press("第几个星期几", TOWNSHIP_ADMIN)
    await sim.press("第一个", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("星期四", TOWNSHIP_ADMIN))
    assert "每月第一个星期四 14:30" in review
    await sim.press("保存", TOWNSHIP_ADMIN)
    shown = sim.api.message(TOWN_GROUP, notice.result["message_id"])
    assert "已取消或改期" in shown["text"] and "reply_markup" not in shown
    assert (await sim.app.services.repos.events.get(event.id)).rule["weekday"] == 3


async def test_pause_resume_and_delete(sim: Simulator, admin: Org) -> None:
    await add_lecture(sim, admin, NOW)
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("1", TOWNSHIP_ADMIN)
    assert "已暂停" in alerts(await sim.press("暂停", TOWNSHIP_ADMIN))[0]
    sim.api.clear()
    await scheduler.run_due(sim.app, at(2026, 12, 1, 9))
    assert sim.api.sent() == []
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("1", TOWNSHIP_ADMIN)
    await sim.press("恢复", TOWNSHIP_ADMIN)
    notice = await notice_in_town_group(sim, at(2026, 12, 1, 10))
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("1", TOWNSHIP_ADMIN)
    await sim.press("删除", TOWNSHIP_ADMIN)
    assert "已删除" in last_text(await sim.press("确认删除", TOWNSHIP_ADMIN))
    shown = sim.api.message(TOWN_GROUP, notice.result["message_id"])
    assert "已取消或改期" in shown["text"]
    sim.api.clear()
    await scheduler.run_due(sim.app, at(2026, 12, 4, 12, 30))
    assert sim.api.sent() == []
    assert alerts(await sim.click(notice.buttons()[0]["callback_data"], OTHER_SECRETARY, TOWN_GROUP, message_call=notice))


async def test_the_form_takes_typed_cancel_a_typo_and_a_command_in_the_middle(sim: Simulator, admin: Org) -> None:
    """On the engine: a typo gets its hint and the same question, a command pauses the form
    (the draft stays; 新建 offers to go on), a typed 取消 ends it with nothing saved."""
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("新建", TOWNSHIP_ADMIN)
    await sim.send("党课", TOWNSHIP_ADMIN)
    await sim.send("每周三", TOWNSHIP_ADMIN)
    hint, again = texts(await sim.send("下五3点半", TOWNSHIP_ADMIN))
    assert "没看懂这个时间" in hint and "几点开始" in again
    paused, listing = texts(await sim.send("/schedule", TOWNSHIP_ADMIN))
    assert "暂停" in paused and "还没有定期活动" in listing
    assert "“党课”" in last_text(await sim.press("新建", TOWNSHIP_ADMIN))
    assert "几点开始" in last_text(await sim.press("继续填写", TOWNSHIP_ADMIN))
    assert "✅ 开始时间:15:30" in last_text(await sim.send("下午3点半", TOWNSHIP_ADMIN))
    assert texts(await sim.send("算了,不要了", TOWNSHIP_ADMIN)) == ["已取消,没有保存任何内容。"]
    assert await sim.app.services.repos.events.active() == []
    assert "sched_ev" not in sim.app.user_data[TOWNSHIP_ADMIN]


async def test_a_date_on_a_statutory_holiday_is_flagged_with_the_next_working_day(sim: Simulator, admin: Org) -> None:
    sim.app.services.extras["clock"] = Clock(at(2026, 9, 15, 10))
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("新建", TOWNSHIP_ADMIN)
    await sim.send("村务监督例会", TOWNSHIP_ADMIN)
    await sim.send("每月1号上午9点", TOWNSHIP_ADMIN)
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("东风镇(本级)", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("下一步", TOWNSHIP_ADMIN))
    assert "10月1日(周四)在国庆节假期里(法定节假日),之后第一个工作日是10月8日(周四)" in review
    assert "11月1日" in review and "11月1日(周日)在" not in review  # a plain Sunday is not flagged
    await sim.press("保存", TOWNSHIP_ADMIN)
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    assert next(b["text"] for b in sim.last_keyboard(TOWNSHIP_ADMIN)[1]) == "1. 村务监督例会"  # the title, not "1"
    page = last_text(await sim.press("村务监督例会", TOWNSHIP_ADMIN))
    assert "10月1日(周四)在国庆节假期里" in page


async def test_a_year_whose_holidays_are_not_known_is_said(sim: Simulator, admin: Org) -> None:
    await add_lecture(sim, admin, NOW)
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    page = last_text(await sim.press("五星支部创建大讲堂", TOWNSHIP_ADMIN))
    from datetime import date

    from bot.rules import holidays
    if not holidays.covered(date(2027, 1, 1)):
        assert "2027年的法定节假日还没有收录,从2027年1月1日(周五)起无法检查是否放假" in page


async def test_saving_a_lecture_says_whom_its_notices_reach(sim: Simulator, org: Org) -> None:
    """No group bound: the save says so per unit, never "会按时把通知发到相关的群"."""
    sim.app.services.extras["clock"] = Clock(NOW)
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("新建", TOWNSHIP_ADMIN)
    await sim.send("五星支部创建大讲堂", TOWNSHIP_ADMIN)
    await sim.press("第几个星期几", TOWNSHIP_ADMIN)
    await sim.press("第一个", TOWNSHIP_ADMIN)
    await sim.press("星期五", TOWNSHIP_ADMIN)
    await sim.press("14:30", TOWNSHIP_ADMIN)
    await sim.send("镇党委会议室", TOWNSHIP_ADMIN)
    await sim.send("红旗村孙书记", TOWNSHIP_ADMIN)
    await sim.press("东风镇(本级)", TOWNSHIP_ADMIN)
    await sim.press("下一步", TOWNSHIP_ADMIN)
    saved = last_text(await sim.press("保存", TOWNSHIP_ADMIN))
    assert "已保存" in saved and "相关的群" not in saved
    assert "通知送达情况" in saved and "没有绑定群" in saved
