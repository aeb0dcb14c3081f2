"""/households for a village secretary: overview with the 5-to-10 warning, add step by step,
find, edit, link and re-link with buttons, archive and restore; only their own village."""

from __future__ import annotations

from bot.simulator import Simulator, texts
from tests.conftest import MEMBER, NOW, OTHER_MEMBER, SECRETARY, TOWNSHIP_ADMIN, Org, at
from tests.conftest import labels as keyboard_labels
from tests.helpers.visits import add_households


def alerts(calls) -> list[str]:
    return [c.params.get("text") for c in calls if c.method == "answerCallbackQuery" and c.params.get("text")]


async def test_overview_counts_households_per_member_and_warns(sim: Simulator, org: Org) -> None:
    await add_households(sim, org.village.id, org.member.id, *"甲乙丙丁戊己庚辛壬癸子")  # 11
    await add_households(sim, org.village.id, None, "无主")
    await add_households(sim, org.other_village.id, org.other_member.id, "外村户")
    (overview,) = texts(await sim.send("/households", SECRETARY))
    assert "红旗村共有 12 户" in overview
    assert "李党员:11户 ⚠️多于10户" in overview
    assert "还没有联系党员的:1户" in overview
    assert "周党员" not in overview and "外村户" not in overview


async def test_only_secretaries_manage_households(sim: Simulator, org: Org) -> None:
    (reply,) = texts(await sim.send("/households", MEMBER))
    assert "仅限" in reply
    (reply,) = texts(await sim.send("/households", TOWNSHIP_ADMIN))
    assert "仅限" in reply


async def test_add_a_household_step_by_step(sim: Simulator, org: Org) -> None:
    await add_households(sim, org.village.id, org.member.id, "甲", "乙", "丙", "丁", grid="一网格")
    await sim.send("/households", SECRETARY)
    (q,) = texts(await sim.press("添加农户", SECRETARY))
    assert "户主姓名" in q
    (q,) = texts(await sim.send("吴八", SECRETARY))
    assert "吴八家住在哪儿" in q
    (q,) = texts(await sim.send("5组", SECRETARY))
    assert "微网格" in q and "一网格" in keyboard_labels(sim, SECRETARY)
    await sim.press("一网格", SECRETARY)
    await sim.send("139 1234 5678", SECRETARY)
    (q,) = texts(await sim.press("返回", SECRETARY))  # back to the phone question
    assert "电话" in q
    complaint = texts(await sim.send("12", SECRETARY))[0]
    assert "电话号码看起来不对" in complaint
    await sim.send("13912345678", SECRETARY)
    assert "⚠️ 李党员(4户)" in keyboard_labels(sim, SECRETARY)
    (review,) = texts(await sim.press("李党员", SECRETARY))
    for part in ("吴八", "5组", "一网格", "13912345678", "李党员"):
        assert part in review
    (card,) = texts(await sim.press("保存", SECRETARY))
    assert "已添加吴八家" in card and "⚠️" not in card  # 李党员 now holds 5
    (hh,) = [s.household for s in await sim.app.services.repos.households.of_member(org.member.id) if s.household.head == "吴八"]
    assert (hh.address, hh.grid, hh.phone) == ("5组", "一网格", "13912345678")


async def test_adding_the_same_household_twice_shows_the_existing_one(sim: Simulator, org: Org) -> None:
    await add_households(sim, org.village.id, None, "张三")  # address 1组
    await sim.send("/households", SECRETARY)
    await sim.press("添加农户", SECRETARY)
    await sim.send("张三", SECRETARY)
    await sim.send("1组", SECRETARY)
    await sim.press("跳过", SECRETARY)
    await sim.press("跳过", SECRETARY)
    await sim.press("暂不安排党员", SECRETARY)
    (card,) = texts(await sim.press("保存", SECRETARY))
    assert "已经有张三家" in card and "户主:张三" in card
    assert len(await sim.app.services.repos.households.in_village(org.village.id)) == 1


async def test_find_edit_and_relink_with_warnings(sim: Simulator, org: Org) -> None:
    at(sim, NOW)
    homes = await add_households(sim, org.village.id, org.member.id, "张三", "李四", "王五", "赵六", "钱七", phone="13900000000")
    wang = await sim.app.services.repos.org.add_person("王党员", "member", org.village.id, telegram_id=106)
    await sim.send("/households", SECRETARY)
    (found,) = texts(await sim.send("张", SECRETARY))
    assert "找到 1 户" in found and keyboard_labels(sim, SECRETARY)[0] == "张三 · 1组"
    (card,) = texts(await sim.press("张三", SECRETARY))
    assert "13900000000" in card and "李党员" in card and "从未走访" in card
    await sim.press("改地址", SECRETARY)
    (card,) = texts(await sim.send("东街12号", SECRETARY))
    assert "已修改" in card and "东街12号" in card
    await sim.press("更换联系党员", SECRETARY)
    (card,) = texts(await sim.press("王党员", SECRETARY))
    assert "张三家已交给王党员联系" in card
    assert "王党员现在联系1户,少于5户" in card and "李党员现在联系4户,少于5户" in card
    assert (await sim.app.services.repos.households.get(homes[0].id)).member_id == wang.id
    # MEMBER no longer sees it in /visit
    await sim.send("/visit", MEMBER)
    assert not any("张三" in label for label in keyboard_labels(sim, MEMBER))


async def test_archive_and_restore(sim: Simulator, org: Org) -> None:
    (home, _) = await add_households(sim, org.village.id, org.member.id, "张三", "李四")
    await sim.send("/households", SECRETARY)
    await sim.send("张三", SECRETARY)
    await sim.press("张三", SECRETARY)
    (q,) = texts(await sim.press("归档", SECRETARY))
    assert "确定把张三家归档吗" in q
    (card,) = texts(await sim.press("确定归档", SECRETARY))
    assert "已归档" in card and "恢复" in str(keyboard_labels(sim, SECRETARY))
    assert (await sim.app.services.repos.households.get(home.id)).archived
    await sim.send("/visit", MEMBER)
    assert not any("张三" in label for label in keyboard_labels(sim, MEMBER))
    await sim.send("/households", SECRETARY)
    (listing,) = texts(await sim.press("已归档的", SECRETARY))
    assert "已归档的农户" in listing
    await sim.press("张三", SECRETARY)
    (card,) = texts(await sim.press("恢复", SECRETARY))
    assert "已恢复" in card and not (await sim.app.services.repos.households.get(home.id)).archived


async def test_list_a_members_households_and_the_unlinked(sim: Simulator, org: Org) -> None:
    await add_households(sim, org.village.id, org.member.id, "张三", "李四")
    await add_households(sim, org.village.id, None, "孤户")
    await sim.send("/households", SECRETARY)
    await sim.press("按党员查看", SECRETARY)
    (listing,) = texts(await sim.press("李党员", SECRETARY))
    assert "李党员联系的农户(2户,⚠️少于5户)" in listing
    assert keyboard_labels(sim, SECRETARY)[:2] == ["张三 · 1组", "李四 · 2组"]
    await sim.press("回到总览", SECRETARY)
    (listing,) = texts(await sim.press("没有联系党员的", SECRETARY))
    assert keyboard_labels(sim, SECRETARY)[0] == "孤户 · 1组"


async def test_forged_payloads_for_another_village_are_refused(sim: Simulator, org: Org) -> None:
    (theirs,) = await add_households(sim, org.other_village.id, org.other_member.id, "外村户", phone="13700000000")
    (mine,) = await add_households(sim, org.village.id, org.member.id, "张三")
    await sim.send("/households", SECRETARY)
    for payload in (f"hh:card:{theirs.id}", f"hhedit:start:phone.{theirs.id}", f"hh:archyes:{theirs.id}", f"hh:to:{theirs.id}.{org.member.id}"):
        calls = await sim.click(payload, SECRETARY)
        assert alerts(calls) == ["这一户不是您村里的,不能查看或修改。"], payload
        assert "13700000000" not in str([c.params for c in calls])
    calls = await sim.click(f"hh:to:{mine.id}.{org.other_member.id}", SECRETARY)
    assert alerts(calls) == ["这位党员不是您村里的。"]
    after = await sim.app.services.repos.households.get(theirs.id)
    assert after.member_id == org.other_member.id and not after.archived
    assert (await sim.app.services.repos.households.get(mine.id)).member_id == org.member.id
    # a member forging a secretary's payload is refused by role
    calls = await sim.click(f"hh:archyes:{mine.id}", OTHER_MEMBER)
    assert alerts(calls) and not (await sim.app.services.repos.households.get(mine.id)).archived


async def test_another_command_leaves_households(sim: Simulator, org: Org) -> None:
    await sim.send("/households", SECRETARY)
    left, coverage = texts(await sim.send("/coverage", SECRETARY))  # the command runs at once
    assert "已退出农户管理" in left and "红旗村" in coverage
    (reply,) = texts(await sim.send("张", SECRETARY))
    assert "没看懂" in reply


async def test_the_overview_ends_as_every_form_and_reopens_from_any_card(sim: Simulator, org: Org) -> None:
    await add_households(sim, org.village.id, org.member.id, "张三")
    await sim.send("/households", SECRETARY)
    (bye,) = texts(await sim.send("算了", SECRETARY))  # typed cancel words, as in every form
    assert "需要时再发 /households" in bye
    (reply,) = texts(await sim.send("张", SECRETARY))  # no longer a search
    assert "没看懂" in reply
    await sim.send("/households", SECRETARY)
    await sim.send("张", SECRETARY)
    await sim.press("张三", SECRETARY)
    await sim.press("改电话", SECRETARY)  # another form (it ends the overview's)...
    await sim.send("13912345678", SECRETARY)
    (overview,) = texts(await sim.press("回到总览", SECRETARY))  # ...and the saved card's 回到总览 opens it again
    assert "红旗村共有 1 户" in overview
    hint, again = texts(await sim.sticker(SECRETARY))
    assert "打字查找农户" in hint and "红旗村共有 1 户" in again
    (found,) = texts(await sim.send("张", SECRETARY))
    assert "找到 1 户" in found
    (bye,) = texts(await sim.press("完成", SECRETARY))
    assert "需要时再发 /households" in bye
    (reply,) = texts(await sim.send("张", SECRETARY))
    assert "没看懂" in reply
