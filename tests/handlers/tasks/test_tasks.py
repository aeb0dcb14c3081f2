"""/newtask: a township admin gives villages a task in a few taps, with the deadline typed in
Chinese; review, edit, back, cancel, resume after a restart; one task per draft."""

from __future__ import annotations

from bot.services import scheduler
from bot.simulator import Simulator, texts
from tests.conftest import (
    DISTRICT_ADMIN,
    OTHER_SECRETARY,
    RED_GROUP,
    SECRETARY,
    STRANGER,
    SUN_GROUP,
    TOWN_GROUP,
    TOWNSHIP_ADMIN,
    Clock,
    Org,
    alerts,
    setup_groups,
    start_clocked,
)
from tests.conftest import local as at
from tests.conftest import newest_text as last_text

NOW = at(2026, 11, 22, 10)  # a Sunday


async def walk_to_review(sim: Simulator, title: str = "软弱涣散村整顿摘帽") -> list:
    await sim.send("/newtask", TOWNSHIP_ADMIN)
    await sim.send(title, TOWNSHIP_ADMIN)
    await sim.press("全选", TOWNSHIP_ADMIN)
    await sim.press("下一步", TOWNSHIP_ADMIN)
    await sim.send("11月底前", TOWNSHIP_ADMIN)
    return await sim.press("跳过", TOWNSHIP_ADMIN)


async def test_a_task_in_a_few_taps_with_the_deadline_echoed_in_full(sim: Simulator, admin: Org) -> None:
    assert "任务名称" in texts(await sim.send("/newtask", TOWNSHIP_ADMIN))[0]
    units = await sim.send("软弱涣散村整顿摘帽", TOWNSHIP_ADMIN)
    labels = [b["text"] for b in units[-1].buttons()]
    assert "☐ 红旗村" in labels and "☐ 向阳村" in labels and "东风镇(本级)" not in " ".join(labels)
    assert alerts(await sim.press("下一步", TOWNSHIP_ADMIN)) == ["请至少选择一个负责单位。"]
    calls = await sim.press("全选", TOWNSHIP_ADMIN)
    assert {"☑ 红旗村", "☑ 向阳村"} <= {b["text"] for b in calls[-1].buttons()}
    assert "截止时间是什么时候" in last_text(await sim.press("下一步", TOWNSHIP_ADMIN))
    assert "没看懂" in texts(await sim.send("尽快", TOWNSHIP_ADMIN))[0]
    assert "已经过去" in texts(await sim.send("2024年底", TOWNSHIP_ADMIN))[0]
    echoed = last_text(await sim.send("11月底前", TOWNSHIP_ADMIN))
    assert "✅ 截止时间:11月30日(周一) 23:59(还有8天)" in echoed  # the engine's one date format
    review = last_text(await sim.press("跳过", TOWNSHIP_ADMIN))
    assert "软弱涣散村整顿摘帽" in review and "东风镇全部2个村" in review
    assert "提前7天 09:00、提前3天 09:00、提前1天 09:00、当天 09:00" in review
    await sim.press("改截止时间", TOWNSHIP_ADMIN)
    review = last_text(await sim.send("12月15日", TOWNSHIP_ADMIN))
    assert "请核对任务" in review and "12月15日(周二) 23:59" in review
    published = await sim.press("发布任务", TOWNSHIP_ADMIN)
    assert "已发布" in last_text(published)
    assert alerts(await sim.click("newtask:save:", TOWNSHIP_ADMIN, message_call=published[-1]))  # double tap
    (task,) = await sim.app.services.repos.tasks.open_tasks()
    assert task.title == "软弱涣散村整顿摘帽" and task.deadline == at(2026, 12, 15, 23, 59)
    assert len(await sim.app.services.repos.tasks.units(task.id)) == 2
    sim.api.clear()
    await scheduler.run_due(sim.app, NOW)
    # a rectification task (软弱涣散): its people only, never the villages' members' groups
    sent = {c.chat_id for c in sim.api.sent()}
    assert sent == {SECRETARY, OTHER_SECRETARY} and not sent & {RED_GROUP, SUN_GROUP}


async def test_reminder_times_can_be_changed_on_the_review(sim: Simulator, admin: Org) -> None:
    await walk_to_review(sim)
    await sim.press("改提醒时间", TOWNSHIP_ADMIN)
    await sim.press("提前7天", TOWNSHIP_ADMIN)
    await sim.press("提前14天", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("好了", TOWNSHIP_ADMIN))
    assert "提前14天 09:00、提前3天 09:00、提前1天 09:00、当天 09:00" in review
    await sim.press("发布任务", TOWNSHIP_ADMIN)
    (task,) = await sim.app.services.repos.tasks.open_tasks()
    assert sorted(task.leads) == ["d0@09:00", "d14@09:00", "d1@09:00", "d3@09:00"]


async def test_back_and_cancel_at_every_step(sim: Simulator, admin: Org) -> None:
    await sim.send("/newtask", TOWNSHIP_ADMIN)
    await sim.send("任务甲", TOWNSHIP_ADMIN)
    assert "任务名称" in last_text(await sim.press("返回", TOWNSHIP_ADMIN))
    await sim.send("任务乙", TOWNSHIP_ADMIN)
    await sim.press("红旗村", TOWNSHIP_ADMIN)
    await sim.press("下一步", TOWNSHIP_ADMIN)
    assert "哪些单位" in last_text(await sim.press("返回", TOWNSHIP_ADMIN))
    assert texts(await sim.send("/cancel", TOWNSHIP_ADMIN)) == ["已取消,没有保存任何内容。"]
    assert await sim.app.services.repos.tasks.open_tasks() == []
    assert "任务名称" in texts(await sim.send("/newtask", TOWNSHIP_ADMIN))[0]  # a fresh start


async def test_only_admins_give_tasks(sim: Simulator, admin: Org) -> None:
    assert "仅限" in texts(await sim.send("/newtask", SECRETARY))[0]
    assert "还没有加入" in texts(await sim.send("/newtask", STRANGER))[0]


async def test_a_district_admin_can_give_a_township_a_task(sim: Simulator, admin: Org) -> None:
    await sim.send("/newtask", DISTRICT_ADMIN)
    await sim.send("每个乡储备项目不少于3个", DISTRICT_ADMIN)
    await sim.press("东风镇 ›", DISTRICT_ADMIN)
    await sim.press("东风镇(本级)", DISTRICT_ADMIN)
    await sim.press("下一步", DISTRICT_ADMIN)
    await sim.send("年底前", DISTRICT_ADMIN)
    await sim.press("跳过", DISTRICT_ADMIN)
    await sim.press("发布任务", DISTRICT_ADMIN)
    (task,) = await sim.app.services.repos.tasks.open_tasks()
    assert [u.unit_name for u in await sim.app.services.repos.tasks.units(task.id)] == ["东风镇"]
    sim.api.clear()
    await scheduler.run_due(sim.app, NOW)
    assert {c.chat_id for c in sim.api.sent()} == {TOWNSHIP_ADMIN, TOWN_GROUP}


async def test_an_interrupted_task_resumes_after_a_restart(settings, org: Org) -> None:
    clock = Clock(NOW)
    first = await start_clocked(settings, clock)
    await setup_groups(first, org)
    await first.send("/newtask", TOWNSHIP_ADMIN)
    asked = await first.send("整改三清单一台账", TOWNSHIP_ADMIN)
    await first.stop()
    second = await start_clocked(settings, clock)
    try:  # the buttons of the message that asked still work after the restart (others are stale)
        assert alerts(await second.click(f"newtask:ua:{org.township.id}", TOWNSHIP_ADMIN))
        await second.click(f"newtask:ua:{org.township.id}", TOWNSHIP_ADMIN, message_call=asked[-1])
        assert "截止时间" in last_text(await second.click("newtask:uk:", TOWNSHIP_ADMIN))
        resumed = texts(await second.send("/newtask", TOWNSHIP_ADMIN))
        assert "整改三清单一台账" in resumed[0]
        assert "截止时间" in last_text(await second.press("继续填写", TOWNSHIP_ADMIN))
    finally:
        await second.stop()


async def test_the_save_is_refused_if_the_deadline_passed_meanwhile(sim: Simulator, admin: Org) -> None:
    await walk_to_review(sim)
    sim.app.services.extras["clock"] = Clock(at(2026, 12, 2, 9))
    calls = await sim.press("发布任务", TOWNSHIP_ADMIN)
    assert alerts(calls) and "已经过去" in alerts(calls)[0]
    assert await sim.app.services.repos.tasks.open_tasks() == []
    assert "截止时间是什么时候" in last_text(calls)


async def test_a_deadline_typed_as_tonight_is_seven_sharp_not_the_seconds_of_now(sim: Simulator, admin: Org) -> None:
    typed = at(2026, 11, 22, 14, 3, 37)  # the messages' and the bot's time, seconds and all
    sim.clock = lambda: typed.timestamp()
    sim.app.services.extras["clock"] = Clock(typed)
    await sim.send("/newtask", TOWNSHIP_ADMIN)
    await sim.send("上报人居环境整治照片", TOWNSHIP_ADMIN)
    await sim.press("全选", TOWNSHIP_ADMIN)
    await sim.press("下一步", TOWNSHIP_ADMIN)
    echoed = last_text(await sim.send("今晚7点", TOWNSHIP_ADMIN))
    assert "✅ 截止时间:11月22日(周日) 19:00(今天截止)" in echoed and ":37" not in echoed
    review = last_text(await sim.press("跳过", TOWNSHIP_ADMIN))
    assert "11月22日(周日) 19:00" in review and ":37" not in review
    await sim.press("发布任务", TOWNSHIP_ADMIN)
    (task,) = await sim.app.services.repos.tasks.open_tasks()
    assert task.deadline == at(2026, 11, 22, 19) and task.deadline.second == 0


async def test_typing_where_only_buttons_answer_says_to_use_the_buttons(sim: Simulator, admin: Org) -> None:
    await sim.send("/newtask", TOWNSHIP_ADMIN)
    await sim.send("拿出特色产业发展措施", TOWNSHIP_ADMIN)  # the title; next: units, by buttons
    hint, question = texts(await sim.send("红旗村", TOWNSHIP_ADMIN))
    assert hint == "这一步请点上面的按钮来选择。"
    assert "哪些单位负责" in question
    await sim.press("红旗村", TOWNSHIP_ADMIN)
    await sim.press("下一步", TOWNSHIP_ADMIN)
    calls = await sim.sticker(TOWNSHIP_ADMIN)  # the deadline takes text: the general hint
    assert texts(calls)[0] == "这一步需要您输入文字或点按钮,请按提示操作。"


async def test_a_draft_left_by_the_old_newtask_conversation_gets_one_resume_offer(sim: Simulator, admin: Org) -> None:
    """Before the engine, /newtask kept the same draft shape (answers under the step names, a
    history of step names); a user mid-flow at the upgrade is offered to go on."""
    await sim.send("/help", TOWNSHIP_ADMIN)
    sim.app.user_data[TOWNSHIP_ADMIN]["newtask"] = {
        "token": "0123456789abcdef", "history": ["title", "units"], "title": "旧的任务", "units": [],
        "browse": admin.township.id, "page": 0, "leads": ["d1@09:00"],
    }
    assert "没看懂" in texts(await sim.send("11月底前", TOWNSHIP_ADMIN))[0]  # the old state is gone
    (offer,) = texts(await sim.send("/newtask", TOWNSHIP_ADMIN))
    assert "旧的任务" in offer
    assert "哪些单位负责" in last_text(await sim.press("继续填写", TOWNSHIP_ADMIN))
