"""Group chats: binding, who may bind, the bot added / removed / made admin, and a group
upgraded to a supergroup."""

from __future__ import annotations

from bot.simulator import Simulator, texts
from tests.conftest import MEMBER, SECRETARY, STRANGER, TOWNSHIP_ADMIN, Org

GROUP, SUPERGROUP = -555, -100555


async def bind(sim: Simulator, user: int, group: int = GROUP, unit: str | None = None) -> list:
    await sim.send("/bind", user, group)
    if unit:
        await sim.press(unit, user, group)
    return await sim.press("保存", user, group)


async def test_only_leaders_bind_and_only_in_groups(sim: Simulator, org: Org) -> None:
    await sim.bot_added(GROUP, MEMBER, title="红旗村党员群")
    assert texts(await sim.send("/bind", MEMBER, GROUP)) == ["/bind 仅限区级管理员、村(社区)党组织书记、乡镇(街道)管理员使用。"]
    assert "还没有加入" in texts(await sim.send("/bind", STRANGER, GROUP))[0]
    assert texts(await sim.send("/bind", SECRETARY)) == ["/bind 只能在群聊中使用。"]
    chat = await sim.app.services.repos.chats.get(GROUP)
    assert chat is not None and chat.unit_id is None


async def test_a_township_admin_picks_a_village_and_what_the_group_receives(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await sim.bot_added(GROUP, TOWNSHIP_ADMIN, title="向阳村群")
    calls = await sim.send("/bind", TOWNSHIP_ADMIN, GROUP)
    labels = [b["text"] for b in calls[-1].buttons()]
    assert "✅ 就选“东风镇”" in labels and {"红旗村", "向阳村"} <= set(labels)
    await sim.press("向阳村", TOWNSHIP_ADMIN, GROUP)
    # someone else's taps on these buttons do nothing
    calls = await sim.press("任务提醒", SECRETARY, GROUP)
    assert any("别人发起" in str(c.params.get("text")) for c in calls)
    await sim.press("任务提醒", TOWNSHIP_ADMIN, GROUP)
    await sim.press("活动通知", TOWNSHIP_ADMIN, GROUP)
    await sim.press("月度通报", TOWNSHIP_ADMIN, GROUP)
    calls = await sim.press("保存", TOWNSHIP_ADMIN, GROUP)
    assert any("请至少选择一项" in str(c.params.get("text")) for c in calls)
    await sim.press("活动通知", TOWNSHIP_ADMIN, GROUP)
    calls = await sim.press("保存", TOWNSHIP_ADMIN, GROUP)
    assert texts(calls)[-1] == "✅ 本群已绑定到 示例区 › 东风镇 › 向阳村,将接收:活动通知。"
    chat = await repos.chats.get(GROUP)
    assert chat is not None and chat.unit_id == org.other_village.id
    assert (chat.reminders, chat.notices, chat.bulletins) == (False, True, False)
    assert chat.bound_by == org.township_admin.id


async def test_a_group_bound_by_someone_else_cannot_be_taken_over(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    other_secretary = 701
    await repos.org.add_person("吴书记", "secretary", org.other_village.id, telegram_id=other_secretary)
    await sim.bot_added(GROUP, SECRETARY)
    await bind(sim, SECRETARY)
    assert "不在您的管理范围内" in texts(await sim.send("/bind", other_secretary, GROUP))[0]
    assert "不在您的管理范围内" in texts(await sim.send("/unbind", other_secretary, GROUP))[0]
    assert (await repos.chats.get(GROUP)).unit_id == org.village.id  # type: ignore[union-attr]
    # the township admin above both may rebind or unbind it
    calls = await sim.send("/unbind", TOWNSHIP_ADMIN, GROUP)
    assert "已解除绑定" in texts(calls)[0] and "红旗村" in texts(calls)[0]
    assert (await repos.chats.get(GROUP)).unit_id is None  # type: ignore[union-attr]
    assert "还没有绑定" in texts(await sim.send("/unbind", SECRETARY, GROUP))[0]


async def test_removed_from_a_group_it_goes_inactive_and_the_binder_is_told(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await sim.bot_added(GROUP, SECRETARY, title="红旗村党员群")
    await bind(sim, SECRETARY)
    calls = await sim.bot_removed(GROUP, MEMBER)
    told = [c for c in calls if c.method == "sendMessage"]
    assert [c.chat_id for c in told] == [SECRETARY]
    assert "红旗村党员群" in told[0].text and "示例区 › 东风镇 › 红旗村" in told[0].text
    chat = await repos.chats.get(GROUP)
    assert chat is not None and not chat.active and chat.unit_id == org.village.id
    assert await repos.chats.receiving([org.village.id], "reminders") == []
    # added back, it keeps its binding
    calls = await sim.bot_added(GROUP, SECRETARY, title="红旗村党员群")
    assert "仍绑定到 示例区 › 东风镇 › 红旗村" in texts(calls)[0]
    assert [c.chat_id for c in await repos.chats.receiving([org.village.id], "reminders")] == [GROUP]


async def test_made_admin_is_noticed_quietly(sim: Simulator, org: Org) -> None:
    await sim.bot_added(GROUP, SECRETARY)
    calls = await sim._my_chat_member(GROUP, SECRETARY, "member", "administrator")
    assert texts(calls) == []
    # the status is recorded (administrator), the group stays active
    chat = await sim.app.services.repos.chats.get(GROUP)
    assert chat is not None and chat.active


async def test_a_group_upgraded_to_a_supergroup_keeps_its_binding(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await sim.bot_added(GROUP, SECRETARY, title="红旗村党员群")
    await bind(sim, SECRETARY)
    sim.app.chat_data[GROUP]["note"] = "kept"
    await sim.migrate_group(GROUP, SUPERGROUP, SECRETARY)
    assert await repos.chats.get(GROUP) is None
    chat = await repos.chats.get(SUPERGROUP)
    assert chat is not None and chat.unit_id == org.village.id and chat.active
    assert [c.chat_id for c in await repos.chats.receiving([org.village.id], "notices")] == [SUPERGROUP]
    assert sim.app.chat_data[SUPERGROUP].get("note") == "kept"
    # Telegram also says it from the new chat (migrate_from_chat_id): nothing changes
    await sim.feed({"message": {
        "message_id": 99, "date": 0, "chat": {"id": SUPERGROUP, "type": "supergroup", "title": "红旗村党员群"},
        "from": {"id": SECRETARY, "is_bot": False, "first_name": "孙"}, "migrate_from_chat_id": GROUP,
    }})
    chat = await repos.chats.get(SUPERGROUP)
    assert chat is not None and chat.unit_id == org.village.id
    assert sim.app.chat_data[SUPERGROUP].get("note") == "kept"
    # the group commands work in the supergroup
    assert "已解除绑定" in texts(await sim.send("/unbind", SECRETARY, SUPERGROUP))[0]


async def test_migration_when_the_bot_saw_the_supergroup_first(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await sim.bot_added(GROUP, SECRETARY)
    await bind(sim, SECRETARY)
    await repos.chats.seen(SUPERGROUP, "红旗村党员群")
    await sim.migrate_group(GROUP, SUPERGROUP, SECRETARY)
    chat = await repos.chats.get(SUPERGROUP)
    assert chat is not None and chat.unit_id == org.village.id and chat.bound_by == org.secretary.id
    assert await repos.chats.get(GROUP) is None
