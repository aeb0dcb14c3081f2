"""One occurrence of the monthly lecture arranged on its own ("书记讲给书记听": the speaker
rotates): its own speaker and topic, skipped, or moved; 请假 with a reason; a date on a
statutory holiday moved to the next working day. Through the real Application, the clock
moved by the test (``run_due(app, now)``)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from bot.rules import holidays
from bot.rules.recurrence import MONTHLY_WEEKDAY, Rule, arranged
from bot.services import scheduler
from bot.simulator import Simulator, texts
from tests.conftest import (
    OTHER_SECRETARY,
    SECRETARY,
    TOWN_GROUP,
    TOWNSHIP_ADMIN,
    TZ,
    Clock,
    Org,
    alerts,
    setup_groups,
)
from tests.conftest import local as at
from tests.conftest import newest_text as last_text
from tests.helpers.scheduler import add_lecture

NOW = at(2026, 11, 22, 10)  # the lecture: first Friday 14:30, next on 4 December


@pytest.fixture
async def admin(sim: Simulator, org: Org) -> Org:
    sim.app.services.extras["clock"] = Clock(NOW)
    await setup_groups(sim, org)
    return org


def group_sends(sim: Simulator) -> list[str]:
    """What the township group got since the last clear (the calls are kept for the test)."""
    return [c.text for c in sim.api.calls if c.chat_id == TOWN_GROUP and c.method == "sendMessage"]


async def run(sim: Simulator, *moment: int) -> list[str]:
    """Move the clock to ``moment``, run the scheduler; what the township group got."""
    now = at(*moment)
    sim.app.services.extras["clock"] = Clock(now)
    sim.api.clear()
    await scheduler.run_due(sim.app, now)
    return group_sends(sim)


async def open_next(sim: Simulator) -> str:
    """The admin opens the lecture's page and 安排下一次: the review of that one date."""
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("五星支部创建大讲堂", TOWNSHIP_ADMIN)
    return last_text(await sim.press("安排下一次", TOWNSHIP_ADMIN))


def test_arranged_occurrences_follow_their_changes() -> None:
    rule = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30)
    changes = {date(2026, 12, 4): SimpleNamespace(skipped=False, moved_to=at(2026, 12, 11, 9)),
               date(2027, 1, 1): SimpleNamespace(skipped=True, moved_to=None)}
    assert arranged(rule, changes, NOW, TZ, 2) == [(date(2026, 12, 4), at(2026, 12, 11, 9)), (date(2027, 2, 5), at(2027, 2, 5, 14, 30))]
    assert [d for d, _ in arranged(rule, changes, NOW, TZ, 2, skipped=True)] == [date(2026, 12, 4), date(2027, 1, 1)]
    # moved past its own date: still to come until its new moment
    assert arranged(rule, changes, at(2026, 12, 5), TZ, 1) == [(date(2026, 12, 4), at(2026, 12, 11, 9))]


async def test_the_notice_of_a_moved_occurrence_goes_at_the_new_time(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    review = await open_next(sim)
    assert "原定时间:12月4日(周五) 14:30" in review and "照原定时间" in review
    when = last_text(await sim.press("改日期时间", TOWNSHIP_ADMIN))
    assert "只写日期就还是14:30开始" in when
    review = last_text(await sim.send("12月11日", TOWNSHIP_ADMIN))
    assert "这一次:12月11日(周五) 14:30" in review
    assert "改到12月11日(周五) 14:30" in last_text(await sim.press("保存", TOWNSHIP_ADMIN))
    assert await run(sim, 2026, 12, 1, 9) == []  # the old date's notice time: nothing
    assert await run(sim, 2026, 12, 4, 12, 30) == []
    (notice,) = await run(sim, 2026, 12, 8, 9)  # three days before the new date
    assert "2026年12月11日星期五 14:30" in notice and "已改期(原定2026年12月4日星期五 14:30)" in notice
    (call,) = [c for c in sim.api.calls if c.chat_id == TOWN_GROUP]
    assert call.buttons()[1]["callback_data"] == f"rsvp:no:{event.id}.20261204"  # its answers keep its key
    assert await run(sim, 2026, 12, 8, 9, 5) == []  # nothing twice
    (soon,) = await run(sim, 2026, 12, 11, 12, 30)
    assert "即将开始" in soon and "14:30" in soon
    assert "下次:2026年12月11日星期五 14:30" in last_text(await sim.send("/schedule", TOWNSHIP_ADMIN))
    sim.app.services.extras["clock"] = Clock(at(2026, 12, 11, 15))
    assert "下次:2027年1月1日星期五 14:30" in last_text(await sim.send("/schedule", TOWNSHIP_ADMIN))  # the rule's again


async def test_a_skipped_occurrence_sends_nothing(sim: Simulator, admin: Org) -> None:
    await add_lecture(sim, admin, NOW)
    await open_next(sim)
    await sim.press("改是否举行", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("这一次不举行", TOWNSHIP_ADMIN))
    assert "📅 这一次:取消,不举行" in review
    assert "这一次已取消" in last_text(await sim.press("保存", TOWNSHIP_ADMIN))
    assert await run(sim, 2026, 12, 1, 9) == []
    assert await run(sim, 2026, 12, 4, 12, 30) == []
    (january,) = await run(sim, 2026, 12, 29, 9)  # the next month's goes as usual
    assert "2027年1月1日星期五 14:30" in january
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    page = last_text(await sim.press("五星支部创建大讲堂", TOWNSHIP_ADMIN))
    assert "2027年1月1日星期五 14:30" in page


async def test_skipping_after_the_notice_went_tells_the_group_once_and_closes_the_answers(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    assert len(await run(sim, 2026, 12, 1, 9)) == 1
    (notice_call,) = [c for c in sim.api.calls if c.chat_id == TOWN_GROUP]
    sim.app.services.extras["clock"] = Clock(at(2026, 12, 1, 9, 30))
    await open_next(sim)
    await sim.press("改是否举行", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("这一次不举行", TOWNSHIP_ADMIN))
    assert "已经有1个群收到了这一次的通知" in review
    await sim.press("保存", TOWNSHIP_ADMIN)
    shown = sim.api.message(TOWN_GROUP, notice_call.result["message_id"])
    assert "这一次活动取消" in shown["text"] and "reply_markup" not in shown
    (told,) = await run(sim, 2026, 12, 1, 10)
    assert "活动取消" in told and "2026年12月4日星期五 14:30" in told
    assert await run(sim, 2026, 12, 1, 10, 5) == []  # told once
    assert await run(sim, 2026, 12, 4, 12, 30) == []  # no "即将开始"
    calls = await sim.click(f"rsvp:yes:{event.id}.20261204", SECRETARY, TOWN_GROUP, message_call=notice_call)
    assert "取消" in alerts(calls)[0]
    assert await sim.app.services.repos.events.counts(event.id, "2026-12-04") == (0, 0)
    records = await sim.app.services.repos.pushes.records("event_change")
    assert [(r.key.slot, r.key.chat_id, r.status) for r in records] == [("skip", TOWN_GROUP, "sent")]  # recorded


async def test_moving_after_the_notice_went_edits_it_and_nothing_is_sent_twice(sim: Simulator, admin: Org) -> None:
    await add_lecture(sim, admin, NOW)
    await run(sim, 2026, 12, 1, 9)
    (notice_call,) = [c for c in sim.api.calls if c.chat_id == TOWN_GROUP]
    sim.app.services.extras["clock"] = Clock(at(2026, 12, 1, 9, 30))
    await open_next(sim)
    await sim.press("改日期时间", TOWNSHIP_ADMIN)
    await sim.send("12月7日上午9点", TOWNSHIP_ADMIN)
    await sim.press("保存", TOWNSHIP_ADMIN)
    shown = sim.api.message(TOWN_GROUP, notice_call.result["message_id"])
    assert "2026年12月7日星期一 09:00" in shown["text"] and shown["reply_markup"]["inline_keyboard"]
    (told,) = await run(sim, 2026, 12, 1, 10)
    assert "活动改期" in told and "改到:2026年12月7日星期一 09:00" in told
    assert await run(sim, 2026, 12, 4, 9) == []  # the 3-days-before notice went already: not again
    assert await run(sim, 2026, 12, 4, 12, 30) == []  # nothing at the old time
    (soon,) = await run(sim, 2026, 12, 7, 7)
    assert "即将开始" in soon and "2026年12月7日星期一 09:00" in soon


async def test_a_speaker_of_one_occurrence_appears_in_that_notice_only(sim: Simulator, admin: Org) -> None:
    await add_lecture(sim, admin, NOW)
    await open_next(sim)
    ask = last_text(await sim.press("改主讲人", TOWNSHIP_ADMIN))
    assert "红旗村孙书记" in ask  # what 跳过 keeps
    await sim.send("向阳村吴书记", TOWNSHIP_ADMIN)
    await sim.press("改题目", TOWNSHIP_ADMIN)
    review = last_text(await sim.send("发动群众参与人居环境整治", TOWNSHIP_ADMIN))
    assert "这一次主讲:向阳村吴书记" in review and "这一次题目:发动群众参与人居环境整治" in review
    await sim.press("保存", TOWNSHIP_ADMIN)
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    page = last_text(await sim.press("五星支部创建大讲堂", TOWNSHIP_ADMIN))
    assert "12月4日星期五 14:30(主讲:向阳村吴书记)" in page
    await sim.press("其他日期", TOWNSHIP_ADMIN)
    assert any("主讲:向阳村吴书记" in b["text"] for b in sim.last_keyboard(TOWNSHIP_ADMIN)[1])
    (december,) = await run(sim, 2026, 12, 1, 9)
    assert "主讲:向阳村吴书记" in december and "题目:发动群众参与人居环境整治" in december
    assert "孙书记" not in december
    (january,) = await run(sim, 2026, 12, 29, 9)
    assert "主讲:红旗村孙书记" in january and "吴书记" not in january and "题目" not in january


async def test_the_card_names_the_next_dates_own_speaker_and_topic(sim: Simulator, admin: Org) -> None:
    await add_lecture(sim, admin, NOW)
    await open_next(sim)
    await sim.press("改主讲人", TOWNSHIP_ADMIN)
    await sim.send("向阳村何书记", TOWNSHIP_ADMIN)
    await sim.press("改题目", TOWNSHIP_ADMIN)
    await sim.send("红旗村网格化治理的做法", TOWNSHIP_ADMIN)
    await sim.press("保存", TOWNSHIP_ADMIN)
    card = last_text(await sim.press("回到活动", TOWNSHIP_ADMIN))
    assert "🎤 主讲:红旗村孙书记(12月4日(周五)这一次:向阳村何书记)" in card
    assert "📖 12月4日(周五)这一次题目:红旗村网格化治理的做法" in card
    # once that date is past, the card is back to the event's own speaker, no topic
    await run(sim, 2026, 12, 5, 9)
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    card = last_text(await sim.press("五星支部创建大讲堂", TOWNSHIP_ADMIN))
    assert "🎤 主讲:红旗村孙书记\n" in card and "何书记" not in card and "这一次题目" not in card


async def test_an_arrangement_of_a_later_date_is_not_shown_as_the_next(sim: Simulator, admin: Org) -> None:
    await add_lecture(sim, admin, NOW)
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("五星支部创建大讲堂", TOWNSHIP_ADMIN)
    await sim.press("其他日期", TOWNSHIP_ADMIN)
    await sim.press("2027年1月1日", TOWNSHIP_ADMIN)
    await sim.press("改主讲人", TOWNSHIP_ADMIN)
    await sim.send("前进村李书记", TOWNSHIP_ADMIN)
    await sim.press("保存", TOWNSHIP_ADMIN)
    card = last_text(await sim.press("回到活动", TOWNSHIP_ADMIN))
    assert "🎤 主讲:红旗村孙书记\n" in card and "这一次:前进村李书记" not in card


async def test_a_chosen_later_date_is_arranged_from_other_dates(sim: Simulator, admin: Org) -> None:
    await add_lecture(sim, admin, NOW)
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("五星支部创建大讲堂", TOWNSHIP_ADMIN)
    await sim.press("其他日期", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("2027年2月5日", TOWNSHIP_ADMIN))
    assert "原定时间:2027年2月5日(周五) 14:30" in review
    await sim.press("改主讲人", TOWNSHIP_ADMIN)
    await sim.send("前进村李书记", TOWNSHIP_ADMIN)
    await sim.press("保存", TOWNSHIP_ADMIN)
    (december,) = await run(sim, 2026, 12, 1, 9)
    assert "李书记" not in december
    (february,) = await run(sim, 2027, 2, 2, 9)
    assert "主讲:前进村李书记" in february


async def test_a_reason_given_with_qingjia_shows_in_the_status(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    await run(sim, 2026, 12, 1, 9)
    (notice_call,) = [c for c in sim.api.calls if c.chat_id == TOWN_GROUP]
    no = f"rsvp:no:{event.id}.20261204"
    calls = await sim.click(no, SECRETARY, TOWN_GROUP, message_call=notice_call)
    assert "私聊" in alerts(calls)[0]
    (asked,) = [c for c in calls if c.chat_id == SECRETARY and c.method == "sendMessage"]
    assert "您已请假:五星支部创建大讲堂" in asked.text
    assert [b["text"] for b in asked.buttons()] == ["身体不适", "外出办事", "村里有急事", "✍️ 写别的原因", "跳过"]
    assert "已记下请假原因:身体不适" in last_text(await sim.press("身体不适", SECRETARY))
    # another writes a reason; a third skips it
    await sim.click(no, OTHER_SECRETARY, TOWN_GROUP, message_call=notice_call)
    ask = last_text(await sim.press("写别的原因", OTHER_SECRETARY))
    assert "请简单写一下请假原因" in ask
    assert "已记下请假原因:去县里参加培训" in last_text(await sim.send("去县里参加培训", OTHER_SECRETARY))
    await sim.click(no, 3001, TOWN_GROUP, message_call=notice_call)
    assert "不写原因也没关系" in last_text(await sim.press("跳过", 3001))
    # the group sees the counts only, never the reasons
    shown = sim.api.message(TOWN_GROUP, notice_call.result["message_id"])
    assert "请假 3 人" in shown["text"] and "身体不适" not in shown["text"]
    sim.app.services.extras["clock"] = Clock(at(2026, 12, 2, 10))
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("五星支部创建大讲堂", TOWNSHIP_ADMIN)
    answers = last_text(await sim.press("回复情况", TOWNSHIP_ADMIN))
    assert "请假(3人):" in answers
    assert "孙书记(身体不适)" in answers and "吴书记(去县里参加培训)" in answers
    # tapping 请假 again does not ask again; changing to 参加 drops the reason
    calls = await sim.click(no, SECRETARY, TOWN_GROUP, message_call=notice_call)
    assert not [c for c in calls if c.chat_id == SECRETARY and c.method == "sendMessage"]
    await sim.click(f"rsvp:yes:{event.id}.20261204", SECRETARY, TOWN_GROUP, message_call=notice_call)
    (mine,) = [a for a in await sim.app.services.repos.events.answers(event.id, "2026-12-04") if a.telegram_id == SECRETARY]
    assert mine.answer == "yes" and mine.reason == ""
    # the old question's buttons now say there is nothing to explain
    assert "不是请假状态" in alerts(await sim.click(f"rsvp_why:start:{event.id}.20261204.ill", SECRETARY))[0]


async def test_only_those_who_manage_the_event_arrange_it(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    assert "仅限" in alerts(await sim.click(f"sched_occ:start:{event.id}.20261204", SECRETARY))[0]
    for forged in (f"{event.id}.20261205", f"{event.id}.2026120", "x.20261204", f"{event.id}.20261204.q"):
        assert alerts(await sim.click(f"sched_occ:start:{forged}", TOWNSHIP_ADMIN))
    assert await sim.app.services.repos.events.occurrence(event.id, "2026-12-05") is None
    # a typed date in the past is refused with the question again
    await open_next(sim)
    await sim.press("改日期时间", TOWNSHIP_ADMIN)
    hint, again = texts(await sim.send("11月20日", TOWNSHIP_ADMIN))  # next year's 20 November: refused
    assert "2027年11月20日(周六)离原定的12月4日(周五)太远了" in hint and "改到什么时候" in again
    hint, again = texts(await sim.send("今天上午8点", TOWNSHIP_ADMIN))
    assert "已经过去" in hint and "改到什么时候" in again


async def test_a_date_on_a_holiday_is_offered_the_next_working_day(sim: Simulator, admin: Org) -> None:
    sim.app.services.extras["clock"] = Clock(at(2026, 9, 15, 10))
    rule = Rule("monthly_day", day=1, hour=9)
    event, _ = await sim.app.services.repos.events.create(
        token="supervision", title="村务监督例会", rule=rule.to_dict(), place="", speaker="", leads=["d3@09:00"],
        audience="secretaries", organiser=admin.township_admin.id, scope_unit_id=admin.township.id,
        unit_ids=[admin.township.id], now=at(2026, 9, 15, 10),
    )
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    page = last_text(await sim.press("村务监督例会", TOWNSHIP_ADMIN))
    assert "10月1日(周四)在国庆节假期里" in page
    review = last_text(await sim.press("10月1日(周四)放假,改到10月8日(周四)", TOWNSHIP_ADMIN))
    assert "这一次:10月8日(周四) 09:00" in review and "假期里" not in review
    await sim.press("保存", TOWNSHIP_ADMIN)
    assert await run(sim, 2026, 9, 28, 9) == []  # three days before 1 October: nothing
    (notice,) = await run(sim, 2026, 10, 5, 9)
    assert "2026年10月8日星期四 09:00" in notice
    # typed onto a holiday: flagged, and the step offers the next working day
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("村务监督例会", TOWNSHIP_ADMIN)
    await sim.press("其他日期", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("2027年1月1日", TOWNSHIP_ADMIN))
    if not holidays.covered(date(2027, 1, 1)):  # a year not covered is said to be unknown, never guessed
        assert "2027年的法定节假日还没有收录,无法检查2027年1月1日(周五)是不是放假" in review
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("村务监督例会", TOWNSHIP_ADMIN)
    await sim.press("其他日期", TOWNSHIP_ADMIN)
    await sim.press("11月1日", TOWNSHIP_ADMIN)
    await sim.press("改日期时间", TOWNSHIP_ADMIN)
    review = last_text(await sim.send("10月6日", TOWNSHIP_ADMIN))
    assert "10月6日(周二)在国庆节假期里(法定节假日),之后第一个工作日是10月8日(周四)" in review
    step = last_text(await sim.press("改日期时间", TOWNSHIP_ADMIN))
    assert "改到什么时候" in step
    review = last_text(await sim.press("改到下一个工作日", TOWNSHIP_ADMIN))
    assert "这一次:10月8日(周四) 09:00" in review
    assert (await sim.app.services.repos.events.get(event.id)) is not None


async def test_a_review_left_open_past_the_new_time_is_not_saved(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    await open_next(sim)
    await sim.press("改日期时间", TOWNSHIP_ADMIN)
    await sim.send("11月24日上午9点", TOWNSHIP_ADMIN)
    sim.app.services.extras["clock"] = Clock(at(2026, 11, 25, 10))
    calls = await sim.press("保存", TOWNSHIP_ADMIN)
    assert "这个时间已经过去了" in alerts(calls)[0] and "改到什么时候" in last_text(calls)
    assert await sim.app.services.repos.events.occurrence(event.id, "2026-12-04") is None


async def test_qingjia_from_someone_the_bot_cannot_write_to_is_still_recorded(sim: Simulator, admin: Org) -> None:
    """A member who never opened a private chat with the bot: the 请假 counts, the question of
    why is dropped (recorded in the push log, never retried), and the alert does not promise one."""
    event = await add_lecture(sim, admin, NOW)
    await run(sim, 2026, 12, 1, 9)
    (notice_call,) = [c for c in sim.api.calls if c.chat_id == TOWN_GROUP]
    sim.api.forbidden_chats.add(3002)
    calls = await sim.click(f"rsvp:no:{event.id}.20261204", 3002, TOWN_GROUP, message_call=notice_call)
    assert alerts(calls) == ["已记录:请假。"]
    assert await sim.app.services.repos.events.counts(event.id, "2026-12-04") == (0, 1)
    (asked,) = await sim.app.services.repos.pushes.records("rsvp_why")
    assert asked.status == "dropped" and asked.key.chat_id == 3002


async def test_a_change_in_the_same_second_as_the_notice_is_still_told(sim: Simulator, admin: Org) -> None:
    """The push log keeps seconds: a date skipped in the second its notice went out is told too."""
    await add_lecture(sim, admin, NOW)
    assert len(await run(sim, 2026, 12, 1, 9)) == 1
    await open_next(sim)  # the clock still at 09:00:00
    await sim.press("改是否举行", TOWNSHIP_ADMIN)
    await sim.press("这一次不举行", TOWNSHIP_ADMIN)
    await sim.press("保存", TOWNSHIP_ADMIN)
    (told,) = await run(sim, 2026, 12, 1, 9, 1)
    assert "活动取消" in told


async def test_a_moved_date_cancelled_later_names_its_new_time(sim: Simulator, admin: Org) -> None:
    await add_lecture(sim, admin, NOW)
    await open_next(sim)
    await sim.press("改日期时间", TOWNSHIP_ADMIN)
    await sim.send("12月11日", TOWNSHIP_ADMIN)
    await sim.press("保存", TOWNSHIP_ADMIN)
    assert len(await run(sim, 2026, 12, 8, 9)) == 1
    sim.app.services.extras["clock"] = Clock(at(2026, 12, 8, 10))
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    await sim.press("五星支部创建大讲堂", TOWNSHIP_ADMIN)
    await sim.press("安排下一次", TOWNSHIP_ADMIN)
    await sim.press("改是否举行", TOWNSHIP_ADMIN)
    await sim.press("这一次不举行", TOWNSHIP_ADMIN)
    await sim.press("保存", TOWNSHIP_ADMIN)
    (told,) = await run(sim, 2026, 12, 8, 10, 1)
    assert "原定2026年12月11日星期五 14:30的这一次活动取消" in told
    assert await run(sim, 2026, 12, 11, 12, 30) == []
