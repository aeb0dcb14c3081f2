"""Issue 13 items 2 and 8: an admin is never told a task reached people it did not reach, and a
rectification task goes to its people only, each of them once.

东风镇 gives a task to four villages: 红旗村 (secretary joined), 白石村 (no secretary, a bound
group), 青山村 (its group removed the bot), 向阳村 (nobody joined, no group)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.services import scheduler
from bot.simulator import Simulator
from tests.conftest import SECRETARY, TOWNSHIP_ADMIN, Clock, Org, alerts
from tests.conftest import local as at
from tests.conftest import newest_text as last_text

NOW = at(2026, 12, 1, 9)
RED_GROUP, WHITE_GROUP, GREEN_GROUP = -300001, -300002, -300003


@pytest.fixture
async def four(sim: Simulator, org: Org) -> Org:
    sim.app.services.extras["clock"] = Clock(NOW)
    repos = sim.app.services.repos
    white = await repos.org.add_unit("白石村", "village", org.township.id)
    green = await repos.org.add_unit("青山村", "village", org.township.id)
    await repos.chats.bind(WHITE_GROUP, "白石村党员群", white.id, org.township_admin.id)
    await repos.chats.bind(GREEN_GROUP, "青山村党员群", green.id, org.township_admin.id)
    await repos.chats.set_active(GREEN_GROUP, False)  # the bot was removed from it
    return org


async def publish(sim: Simulator, title: str) -> list:
    await sim.send("/newtask", TOWNSHIP_ADMIN)
    await sim.send(title, TOWNSHIP_ADMIN)
    await sim.press("全选", TOWNSHIP_ADMIN)
    await sim.press("下一步", TOWNSHIP_ADMIN)
    await sim.send("12月20日", TOWNSHIP_ADMIN)
    review = last_text(await sim.press("跳过", TOWNSHIP_ADMIN))
    assert "收不到通知的单位" in review  # said before publishing too
    return await sim.press("发布任务", TOWNSHIP_ADMIN)


async def test_publishing_says_who_it_reaches_who_not_and_why_with_invite_buttons(sim: Simulator, four: Org) -> None:
    saved = await publish(sim, "三资清理台账")
    text = last_text(saved)
    assert "4个负责单位马上会收到通知" not in text
    assert "能收到通知的单位(2/4个):白石村、红旗村" in text
    assert "青山村(机器人已被移出群)" in text and "向阳村(书记还没有加入,也没有绑定群)" in text
    assert "发给负责人,也发到单位的群" in text
    buttons = saved[-1].buttons()
    assert {"text": "📨 邀请向阳村加入", "callback_data": f"inv:pick:{four.other_village.id}"} in buttons
    invite = await sim.press("邀请向阳村加入", TOWNSHIP_ADMIN)  # the /invite flow, for that village
    assert "向阳村" in last_text(invite)

    sim.api.clear()
    await scheduler.run_due(sim.app, NOW)
    assert {c.chat_id for c in sim.api.sent()} == {SECRETARY, WHITE_GROUP}
    await sim.send("/tasks", TOWNSHIP_ADMIN)
    listing = last_text(sim.api.calls)
    assert "2个单位收不到通知" in listing and "向阳村" in listing
    card = last_text(await sim.press("1", TOWNSHIP_ADMIN))
    assert "已送达2/4个单位:白石村、红旗村" in card and "青山村(机器人已被移出群)" in card
    assert "邀请向阳村加入" in str(sim.api.calls[-1].buttons())

    said = alerts(await sim.press("现在提醒", TOWNSHIP_ADMIN))
    assert said and "已提醒2个未完成的单位" in said[0] and "2个收不到提醒" in said[0]
    assert "向阳村(书记还没有加入,也没有绑定群)" in said[0] and "青山村" in said[0]


async def test_a_rectification_task_goes_to_its_people_only_once(sim: Simulator, four: Org) -> None:
    repos = sim.app.services.repos
    await repos.chats.bind(RED_GROUP, "红旗村党员群", four.village.id, four.secretary.id)  # the secretary is in it
    text = last_text(await publish(sim, "软弱涣散村党组织整顿提升"))
    assert "只发给负责人本人(不发到群)" in text
    assert "能收到通知的单位(1/4个):红旗村" in text and "白石村(书记还没有加入)" in text
    sim.api.clear()
    await scheduler.run_due(sim.app, NOW)
    assert [c.chat_id for c in sim.api.sent()] == [SECRETARY]  # never a members' group

    # another task, to the groups too: the secretary who bound 红旗村's group gets it there once
    await publish(sim, "三资清理台账")
    sim.api.clear()
    await scheduler.run_due(sim.app, NOW + timedelta(minutes=1))
    got = [c.chat_id for c in sim.api.sent()]
    assert sorted(got) == sorted([RED_GROUP, WHITE_GROUP])


async def test_a_group_bound_weeks_later_gets_no_old_announcement(sim: Simulator, four: Org) -> None:
    repos = sim.app.services.repos
    await publish(sim, "三资清理台账")
    await scheduler.run_due(sim.app, NOW)
    await repos.chats.bind(RED_GROUP, "红旗村党员群", four.village.id, four.township_admin.id)  # days later
    sim.api.clear()
    later = NOW + timedelta(days=10)  # no reminder due yet (7 days before: 12-13 09:00)
    await scheduler.run_due(sim.app, later)
    assert [c for c in sim.api.sent() if c.chat_id == RED_GROUP] == []
    await scheduler.run_due(sim.app, at(2026, 12, 13, 9))  # the next reminder reaches it
    assert [c.chat_id for c in sim.api.sent() if c.chat_id == RED_GROUP] == [RED_GROUP]


async def test_a_reminder_pressed_months_early_does_not_say_hurry(sim: Simulator, four: Org) -> None:
    await sim.send("/newtask", TOWNSHIP_ADMIN)
    await sim.send("三资清理台账", TOWNSHIP_ADMIN)
    await sim.press("红旗村", TOWNSHIP_ADMIN)
    await sim.press("下一步", TOWNSHIP_ADMIN)
    await sim.send("2027年3月31日", TOWNSHIP_ADMIN)  # 120 days away
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("发布任务", TOWNSHIP_ADMIN)
    await scheduler.run_due(sim.app, NOW)
    await sim.send("/tasks", TOWNSHIP_ADMIN)
    await sim.press("1", TOWNSHIP_ADMIN)
    await sim.press("现在提醒", TOWNSHIP_ADMIN)
    (nudge,) = [c for c in sim.api.sent() if c.chat_id == SECRETARY and "【提醒】" in (c.text or "")]
    assert "请抓紧落实" not in nudge.text and "请按计划推进" in nudge.text and "还有120天" in nudge.text
