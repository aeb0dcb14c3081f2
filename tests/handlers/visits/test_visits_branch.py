"""The village branch verifies its members' closed follow-ups (issue 13, item 10): the
secretary sees the closed, unverified follow-ups of their own village's members (never another
village's, never their own closings, never a phone number), verifies one or sends it back with
a reason; the township's /review then lists it under 村支部已核实 instead of waiting for it."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.simulator import Simulator, texts
from tests.conftest import (
    MEMBER,
    NOW,
    OTHER_MEMBER,
    SECRETARY,
    TODAY,
    TOWNSHIP_ADMIN,
    Clock,
    Org,
    at,
)
from tests.conftest import labels as keyboard_labels
from tests.helpers.visits import CALLED_BACK, add_households, call_back, log_visit


async def closed(sim: Simulator, org: Org) -> dict[str, int]:
    """李党员 closes 张三's 修路灯 in /followups; 周党员 (向阳村) closes 赵六's; the secretary
    closes their own household's. Returns the follow-up ids by household head."""
    at(sim, NOW)
    repos = sim.app.services.repos
    (zhang,) = await add_households(sim, org.village.id, org.member.id, "张三", phone="13912345678")
    (zhao,) = await add_households(sim, org.other_village.id, org.other_member.id, "赵六")
    (own,) = await add_households(sim, org.village.id, org.secretary.id, "书记联系户")
    for member, household, concern in ((org.member.id, zhang, "修路灯"), (org.other_member.id, zhao, "外村的事"),
                                       (org.secretary.id, own, "书记自己的")):
        await log_visit(sim, member, household.id, TODAY - timedelta(days=3), due=TODAY + timedelta(days=2), concern=concern)
    ids = {f.household_head: f.id for f in await repos.visits.open_followups()}
    await sim.send("/followups", MEMBER)
    await sim.press("办结第1项", MEMBER)
    await sim.send("换了灯泡,晚上能亮了", MEMBER)
    await call_back(sim, MEMBER, CALLED_BACK, "😟 不满意")  # the call-back (回访) the branch is shown
    await repos.visits.close_followup(ids["赵六"], by_person_id=org.other_member.id, closed_at=NOW, text="办了")
    await repos.visits.close_followup(ids["书记联系户"], by_person_id=org.secretary.id, closed_at=NOW, text="办好了",
                                      called_back=True, satisfied=True)
    return ids


async def test_the_secretary_verifies_and_the_township_sees_it_was_the_branch(sim: Simulator, org: Org) -> None:
    ids = await closed(sim, org)
    await sim.send("/followups", SECRETARY)
    assert "✅ 支部核实(1件)" in keyboard_labels(sim, SECRETARY)
    (waiting,) = texts(await sim.press("支部核实", SECRETARY))
    assert "共 1 件" in waiting
    assert keyboard_labels(sim, SECRETARY) == ["张三家:修路灯(李党员)"]  # not 赵六 (向阳村), not their own
    (detail,) = texts(await sim.press("张三家", SECRETARY))
    assert "办理结果:换了灯泡,晚上能亮了" in detail and "联户党员:李党员" in detail
    assert "回访:回访过了、😟 不满意" in detail and "未记录" not in detail
    assert "13912345678" not in detail
    (done,) = texts(await sim.press("核实无误", SECRETARY))
    assert done.startswith("✅ 已核实:张三家:修路灯(李党员)") and "本村没有等待支部核实" in done
    (event,) = await sim.app.services.repos.oversight.history("followup", ids["张三"])
    assert (event.action, event.by_person) == ("verified", org.secretary.id)

    (home,) = texts(await sim.send("/review", TOWNSHIP_ADMIN))
    assert "诉求办结 2 件" in home  # 赵六 and the secretary's own: 张三 no longer waits for the township
    assert "村支部已核实的诉求(1)" in keyboard_labels(sim, TOWNSHIP_ADMIN)
    (branch_list,) = texts(await sim.press("村支部已核实的诉求", TOWNSHIP_ADMIN))
    assert "村党支部已核实的诉求办结(1件)" in branch_list
    (item,) = texts(await sim.press("张三家", TOWNSHIP_ADMIN))
    assert "孙书记" in item and "已核实" in item and "回访:回访过了、😟 不满意" in item  # /review shows it too
    assert "↩️ 退回" in keyboard_labels(sim, TOWNSHIP_ADMIN)  # the township may still send it back
    assert "✅ 已核实" not in keyboard_labels(sim, TOWNSHIP_ADMIN)


async def test_the_branch_sends_one_back_and_the_redone_closing_comes_back_to_it(sim: Simulator, org: Org) -> None:
    ids = await closed(sim, org)
    await sim.send("/followups", SECRETARY)
    await sim.press("支部核实", SECRETARY)
    await sim.press("张三家", SECRETARY)
    (q,) = texts(await sim.press("退回重办", SECRETARY))
    assert "会发给联户党员" in q
    await sim.press("还没有回访农户", SECRETARY)
    calls = await sim.press("确认退回", SECRETARY)
    told = [c.params["text"] for c in calls if c.chat_id == MEMBER and c.method == "sendMessage"]
    assert told and "被村党支部(孙书记)退回" in told[0] and "还没有回访农户" in told[0]
    assert any("已退回" in c.params.get("text", "") for c in calls if c.chat_id == SECRETARY)
    followup = await sim.app.services.repos.visits.followup(ids["张三"])
    assert followup.closed_at is None  # reopened for the member

    await sim.press("重新办理", MEMBER)
    await sim.send("上门回访过了,农户说灯亮了", MEMBER)
    calls = await call_back(sim, MEMBER, CALLED_BACK, "😊 满意")  # saved (and the branch told) with the last answer
    (notice,) = [c for c in calls if c.chat_id == SECRETARY]
    assert "李党员重新办理了" in notice.params["text"]
    (again,) = texts(await sim.press("查看并核实", SECRETARY))  # opens the branch's screen, not the township's
    assert "上门回访过了" in again and "待支部核实" in again and "回访:回访过了、😊 满意" in again
    await sim.press("核实无误", SECRETARY)
    events = await sim.app.services.repos.oversight.history("followup", ids["张三"])
    assert [e.action for e in events] == ["closed", "returned", "resubmitted", "verified"]


async def test_no_other_village_no_own_closing_no_member(sim: Simulator, org: Org) -> None:
    ids = await closed(sim, org)
    await sim.send("/followups", SECRETARY)
    for forged in (f"fubranch:ok:{ids['赵六']}", f"fubranch:ok:{ids['书记联系户']}", f"fubranch:item:{ids['赵六']}"):
        calls = await sim.click(forged, SECRETARY)
        assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == [
            "这件诉求不归本支部核实(别村的、您自己办结的,或已经核实、退回过了)。"
        ]
    await sim.click(f"fubranchret:start:{ids['赵六']}", SECRETARY)
    await sim.send("理由", SECRETARY)
    assert (await sim.app.services.repos.visits.followup(ids["赵六"])).closed_at is not None
    for who in (MEMBER, OTHER_MEMBER):
        calls = await sim.click(f"fubranch:ok:{ids['张三']}", who)
        (alert,) = [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]
        assert "党组织书记使用" in alert
    assert await sim.app.services.repos.oversight.history("followup", ids["张三"]) == []


async def test_the_closing_and_its_trail_use_the_forms_date_format(sim: Simulator, org: Org) -> None:
    """办结时间 and the 核实记录 lines read 11月22日(周日) 11:00, as every other date; not 2026-11-22 11:00."""
    sim.app.services.extras["clock"] = Clock(NOW + timedelta(hours=1, seconds=37))  # the presses' time
    await closed(sim, org)
    await sim.send("/followups", SECRETARY)
    await sim.press("支部核实", SECRETARY)
    (detail,) = texts(await sim.press("张三家", SECRETARY))
    assert "办结时间:11月22日(周日) 11:00\n" in detail
    assert not re.search(r"\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d", detail)
    await sim.press("核实无误", SECRETARY)
    await sim.send("/review", TOWNSHIP_ADMIN)
    await sim.press("村支部已核实的诉求", TOWNSHIP_ADMIN)
    (item,) = texts(await sim.press("张三家", TOWNSHIP_ADMIN))
    assert "办结时间:11月22日(周日) 11:00\n" in item
    assert "· 11月22日(周日) 11:00 孙书记" in item  # the trail: the branch's check
    assert not re.search(r"\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d", item)
