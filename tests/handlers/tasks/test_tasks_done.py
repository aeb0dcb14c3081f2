"""已完成 under a reminder (in the group, or privately with an optional note or photo), the
creator told once, and /tasks: my open tasks, an admin's completion view, remind now, extend,
close."""

from __future__ import annotations

import pytest

from bot.services import scheduler
from bot.simulator import Simulator, texts
from tests.conftest import (
    DISTRICT_ADMIN,
    MEMBER,
    OTHER_SECRETARY,
    RED_GROUP,
    SECRETARY,
    SUN_GROUP,
    TOWNSHIP_ADMIN,
    Clock,
    Org,
    alerts,
    setup_groups,
)
from tests.conftest import local as at
from tests.conftest import newest_text as last_text
from tests.helpers.scheduler import add_task

NOW = at(2026, 11, 22, 10)


@pytest.fixture
async def task(sim: Simulator, org: Org):
    """A task of 红旗村 and 向阳村 due 30 November, announced to their groups and secretaries."""
    sim.app.services.extras["clock"] = Clock(NOW)
    await setup_groups(sim, org)
    task = await add_task(sim, org, deadline=at(2026, 11, 30, 23, 59), created=NOW)
    await scheduler.run_due(sim.app, NOW)
    return task


def said_to(calls, chat_id: int) -> list[str]:
    return texts([c for c in calls if c.chat_id == chat_id])


async def unit_done(sim: Simulator, task, unit_id: int):
    return await sim.app.services.repos.tasks.task_unit(task.id, unit_id)


async def test_one_tap_in_the_group_marks_the_unit_done_and_tells_the_creator(sim, org, task) -> None:
    calls = await sim.press("已完成", SECRETARY, chat_id=RED_GROUP)
    assert alerts(calls) == ["已记录:红旗村已完成,谢谢!"]
    edited = [c for c in calls if c.method == "editMessageText" and c.chat_id == RED_GROUP]
    assert edited and "✅ 红旗村已完成(由孙书记标记)" in edited[0].text and not edited[0].buttons()
    (told,) = [c for c in calls if c.chat_id == TOWNSHIP_ADMIN]
    assert "红旗村已完成任务“村级活动场所规范化建设”" in told.text and "1/2" in told.text
    assert (await unit_done(sim, task, org.village.id)).done
    # another tap (say, on the private copy): polite, nothing twice
    again = await sim.press("已完成", SECRETARY)
    assert alerts(again) == ["红旗村已经标记过完成了,谢谢!"]
    assert [c for c in again if c.chat_id == TOWNSHIP_ADMIN] == []


async def test_only_the_units_secretary_may_mark_it(sim, org, task) -> None:
    assert alerts(await sim.press("已完成", MEMBER, chat_id=RED_GROUP)) == ["只有红旗村的书记可以标记这项任务完成。"]
    assert alerts(await sim.click(f"task:done:{task.id}.{org.other_village.id}", SECRETARY))[0].startswith("只有向阳村")
    assert not (await unit_done(sim, task, org.village.id)).done


async def test_privately_with_a_photo_as_the_note(sim, org, task) -> None:
    assert "确认红旗村已经完成" in last_text(await sim.press("已完成", SECRETARY))
    assert "一句说明或一张照片" in last_text(await sim.press("先附说明或照片", SECRETARY))
    calls = await sim.photo(SECRETARY, data=b"\x89PNG after", caption="残垣断壁已拆除")
    assert "说明已附上" in said_to(calls, SECRETARY)[-1]
    part = await unit_done(sim, task, org.village.id)
    assert part.done and part.note == "残垣断壁已拆除" and part.photo_file_id
    (photo,) = [c for c in calls if c.method == "sendPhoto"]
    assert photo.chat_id == TOWNSHIP_ADMIN and "残垣断壁已拆除" in photo.text
    assert any(c.method == "editMessageReplyMarkup" for c in calls)  # the question's buttons go away
    after = await sim.send("还有一句", SECRETARY)  # no longer awaited: not taken as a note
    assert "没看懂" in texts(after)[0]


async def test_privately_without_a_note(sim, org, task) -> None:
    await sim.press("已完成", SECRETARY)
    assert "已记录" in said_to(await sim.press("确认完成", SECRETARY), SECRETARY)[-1]
    assert (await unit_done(sim, task, org.village.id)).note == ""
    await sim.press("已完成", OTHER_SECRETARY)
    back = await sim.press("返回", OTHER_SECRETARY)
    assert "任务提醒" in last_text(back) and [b["text"] for b in back[-1].buttons()] == ["✅ 已完成"]
    assert not (await unit_done(sim, task, org.other_village.id)).done


async def test_a_command_while_a_note_is_awaited_is_handled_and_ends_the_wait(sim, org, task) -> None:
    await sim.press("已完成", SECRETARY)
    await sim.press("先附说明或照片", SECRETARY)
    listing = texts(await sim.send("/tasks", SECRETARY))
    assert "红旗村的任务" in listing[0]
    assert "没看懂" in texts(await sim.send("已清理", SECRETARY))[0]
    assert not (await unit_done(sim, task, org.village.id)).done


async def test_done_in_the_middle_of_another_conversation_does_not_break_it(sim, org) -> None:
    """The township admin, halfway through /newtask, marks the township's own task done."""
    sim.app.services.extras["clock"] = Clock(NOW)
    await setup_groups(sim, org)
    district_task, _ = await sim.app.services.repos.tasks.create(
        token="d1", title="储备项目不少于3个", description="", deadline=at(2026, 12, 31, 23, 59),
        leads=["d3@09:00"], created_by=org.district_admin.id, scope_unit_id=org.district.id,
        unit_ids=[org.township.id], now=NOW,
    )
    await sim.send("/newtask", TOWNSHIP_ADMIN)
    await sim.send("整顿摘帽", TOWNSHIP_ADMIN)
    await sim.press("全选", TOWNSHIP_ADMIN)
    await sim.press("下一步", TOWNSHIP_ADMIN)  # now /newtask waits for a deadline
    await scheduler.run_due(sim.app, NOW)  # the district's task arrives
    await sim.press("已完成", TOWNSHIP_ADMIN)
    await sim.press("先附说明或照片", TOWNSHIP_ADMIN)
    noted = await sim.send("已储备4个项目", TOWNSHIP_ADMIN)
    assert "说明已附上" in said_to(noted, TOWNSHIP_ADMIN)[-1]
    assert (await sim.app.services.repos.tasks.task_unit(district_task.id, org.township.id)).note == "已储备4个项目"
    assert any(c.chat_id == DISTRICT_ADMIN for c in noted)
    answer = await sim.send("12月15日", TOWNSHIP_ADMIN)  # the /newtask question, still waiting
    assert "12月15日(周二) 23:59" in last_text(answer)


async def test_my_tasks_show_the_days_left(sim, org, task) -> None:
    sim.app.services.extras["clock"] = Clock(at(2026, 11, 29, 20))
    calls = await sim.send("/tasks", SECRETARY)
    assert "村级活动场所规范化建设" in calls[-1].text and "明天截止" in calls[-1].text and "未完成" in calls[-1].text
    assert [b["text"] for b in calls[-1].buttons()] == ["✅ 第1项已完成"]
    member = await sim.send("/tasks", MEMBER)
    assert "村级活动场所规范化建设" in member[-1].text and member[-1].buttons() == []


async def test_an_admin_sees_completion_and_reminds_the_late_ones_now(sim, org, task) -> None:
    await sim.press("已完成", SECRETARY, chat_id=RED_GROUP)
    sim.app.services.extras["clock"] = Clock(at(2026, 12, 2, 15))
    listing = await sim.send("/tasks", TOWNSHIP_ADMIN)
    assert "已完成 1/2;逾期未完成:向阳村" in listing[-1].text and "已逾期2天" in listing[-1].text
    page = await sim.press("第1项", TOWNSHIP_ADMIN)
    labels = [b["text"] for b in page[-1].buttons()]
    assert "🔔 现在提醒未完成的单位" in labels and "📅 延期" in labels and "结束任务" in labels
    assert "✅ 红旗村" in last_text(page)
    sim.api.clear()
    nudge = next(b["callback_data"] for b in page[-1].buttons() if "现在提醒" in b["text"])
    nudged = await sim.click(nudge, TOWNSHIP_ADMIN, message_call=page[-1])
    assert alerts(nudged) == ["已提醒1个未完成的单位。"]
    assert {c.chat_id for c in sim.api.sent()} == {SUN_GROUP, OTHER_SECRETARY}
    assert all("温馨提示" in c.text for c in sim.api.sent())
    again = await sim.click(nudge, TOWNSHIP_ADMIN, message_call=page[-1])
    assert alerts(again) == ["这一小时内已经提醒过了,请稍后再试。"]
    # the secretary's view of a village is not the admin's
    assert "仅限" in alerts(await sim.click(f"tasks:view:{task.id}", SECRETARY))[0]


async def test_extend_asks_for_a_date_confirms_and_tells_the_units(sim, org, task) -> None:
    await sim.send("/tasks", TOWNSHIP_ADMIN)
    await sim.press("第1项", TOWNSHIP_ADMIN)
    assert "目前的截止时间是11月30日(周一) 23:59" in last_text(await sim.press("延期", TOWNSHIP_ADMIN))
    assert "没看懂" in texts(await sim.send("过几天", TOWNSHIP_ADMIN))[0]
    confirm = await sim.send("12月20日", TOWNSHIP_ADMIN)
    assert "12月20日(周日) 23:59" in last_text(confirm)
    assert "已延期" in last_text(await sim.press("确认延期", TOWNSHIP_ADMIN))
    updated = await sim.app.services.repos.tasks.get(task.id)
    assert updated.deadline == at(2026, 12, 20, 23, 59) and updated.extended
    sim.api.clear()
    await scheduler.run_due(sim.app, NOW)
    sent = sim.api.sent()
    assert {c.chat_id for c in sent} == {RED_GROUP, SECRETARY, SUN_GROUP, OTHER_SECRETARY}
    assert all("任务延期" in c.text and "2026年12月20日" in c.text for c in sent)


async def test_closing_a_task_stops_its_reminders(sim, org, task) -> None:
    await sim.send("/tasks", TOWNSHIP_ADMIN)
    await sim.press("第1项", TOWNSHIP_ADMIN)
    await sim.press("结束任务", TOWNSHIP_ADMIN)
    assert "已结束" in last_text(await sim.press("确认结束", TOWNSHIP_ADMIN))
    sim.api.clear()
    await scheduler.run_due(sim.app, at(2026, 11, 27, 9))
    assert sim.api.sent() == []
    assert "已经结束" in alerts(await sim.click(f"task:done:{task.id}.{org.village.id}", SECRETARY))[0]


async def test_an_extension_paused_by_a_command_is_offered_again_by_its_button(sim, org, task) -> None:
    await sim.send("/tasks", TOWNSHIP_ADMIN)
    page = await sim.press("第1项", TOWNSHIP_ADMIN)
    await sim.press("延期", TOWNSHIP_ADMIN)
    await sim.send("12月20日", TOWNSHIP_ADMIN)
    paused, _ = texts(await sim.send("/help", TOWNSHIP_ADMIN))
    assert "延期先暂停" in paused and "📅 延期" in paused
    extend = next(b["callback_data"] for b in page[-1].buttons() if "延期" in b["text"])
    offer = await sim.click(extend, TOWNSHIP_ADMIN, message_call=page[-1])
    assert "村级活动场所规范化建设" in last_text(offer) and "继续填写" in str(offer[-1].buttons())
    review = await sim.press("继续填写", TOWNSHIP_ADMIN)
    assert "12月20日(周日) 23:59" in last_text(review)
    assert "已延期" in last_text(await sim.press("确认延期", TOWNSHIP_ADMIN))
