"""/people: the people of my units, joined or not, search, a card per person, resend an invite,
unlink an account; nobody sees people outside their units."""

from __future__ import annotations

import re

from bot.simulator import Simulator, texts
from handlers.auth import commands_for
from tests.conftest import DISTRICT_ADMIN, MEMBER, SECRETARY, TOWNSHIP_ADMIN, Org


async def test_a_secretary_sees_her_village_joined_or_not(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await repos.org.add_person("钱多多", "member", org.village.id, phone="13700000009")
    calls = await sim.send("/people", SECRETARY)
    text, labels = texts(calls)[0], [b["text"] for b in calls[-1].buttons()]
    assert "示例区 › 东风镇 › 红旗村" in text and "共 3 人:已加入 2,未加入 1" in text
    assert labels[:3] == ["✅ 孙书记 · 红旗村 · 村(社区)党组织书记", "✅ 李党员 · 红旗村 · 党员", "⏳ 钱多多 · 红旗村 · 党员"]
    assert not any("周党员" in label for label in labels)  # another village
    calls = await sim.press("未加入", SECRETARY)
    labels = [b["text"] for b in calls[-1].buttons()]
    assert [label for label in labels if label.startswith(("✅", "⏳"))] == ["⏳ 钱多多 · 红旗村 · 党员"]
    calls = await sim.press("钱多多", SECRETARY)
    assert "13700000009" in texts(calls)[0] and "还没有加入" in texts(calls)[0]
    calls = await sim.press("发送邀请", SECRETARY)
    code = re.search(r"start=([A-Z2-9]{8})", texts(calls)[0])
    assert code
    # sending it again resends the same open code rather than making a new one
    calls = await sim.click(f"people:invite:{(await repos.org.find_person(org.village.id, '钱多多', 'member')).id}", SECRETARY)  # type: ignore[union-attr]
    assert code[1] in texts(calls)[0]


async def test_search_by_name_or_phone(sim: Simulator, org: Org) -> None:
    text = texts(await sim.send("/people 李", TOWNSHIP_ADMIN))[0]
    assert "查找“李”:共 1 人" in text
    text = texts(await sim.send("/people 13800000001", TOWNSHIP_ADMIN))[0]
    assert "共 1 人" in text
    calls = await sim.press("清除查找", TOWNSHIP_ADMIN)
    assert "共 4 人" in texts(calls)[0]  # secretary, two members, and the township admin


async def test_another_unit_of_mine(sim: Simulator, org: Org) -> None:
    await sim.send("/people", DISTRICT_ADMIN)
    await sim.press("换单位", DISTRICT_ADMIN)
    await sim.press("东风镇", DISTRICT_ADMIN)
    calls = await sim.press("向阳村", DISTRICT_ADMIN)
    assert "向阳村" in texts(calls)[0] and "共 1 人" in texts(calls)[0]
    calls = await sim.click(f"ppl:pick:{org.district.id}", TOWNSHIP_ADMIN)  # above the township
    assert any("不在您管理的范围" in str(c.params.get("text")) for c in calls)


async def test_cards_of_people_outside_my_units_are_refused(sim: Simulator, org: Org) -> None:
    await sim.send("/people", SECRETARY)
    calls = await sim.click(f"people:card:{org.other_member.id}", SECRETARY)
    assert any("不在您管理的范围" in str(c.params.get("text")) for c in calls)
    assert not any("周党员" in c.text for c in calls)
    # a secretary cannot unlink a township admin, even inside her view
    calls = await sim.click(f"people:unlink_ok:{org.township_admin.id}", SECRETARY)
    assert any("不在您管理的范围" in str(c.params.get("text")) for c in calls)


async def test_unlinking_an_account_for_a_new_phone(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await sim.send("/people", SECRETARY)
    await sim.press("李党员", SECRETARY)
    calls = await sim.press("解除 Telegram 绑定", SECRETARY)
    assert "确定要解除 李党员" in texts(calls)[0]
    calls = await sim.press("确定解除", SECRETARY)
    assert any(c.chat_id == MEMBER and "解除绑定" in c.text for c in calls)  # the member is told
    menu = next(c for c in calls if c.method == "setMyCommands")
    assert menu.params["scope"]["chat_id"] == MEMBER
    stranger_menu = {c.name for c in commands_for(None, in_group=False)}
    assert {c["command"] for c in menu.params["commands"]} == stranger_menu
    assert await repos.org.person_by_telegram(MEMBER) is None
    assert "发送邀请" in calls[-1].buttons()[0]["text"]
    # nobody unlinks themselves
    secretary = await repos.org.person_by_telegram(SECRETARY)
    calls = await sim.click(f"people:unlink_ok:{secretary.id}", SECRETARY)  # type: ignore[union-attr]
    assert await repos.org.person_by_telegram(SECRETARY) is not None


async def test_members_cannot_list_people(sim: Simulator, org: Org) -> None:
    assert "仅限" in texts(await sim.send("/people", MEMBER))[0]
    calls = await sim.click(f"people:card:{org.secretary.id}", MEMBER)
    assert any("仅限" in str(c.params.get("text")) for c in calls)
