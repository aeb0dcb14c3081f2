"""A command in the middle of a conversation pauses it and runs at once; later answers go to
the conversation the user is in now, never to a forgotten one."""

from __future__ import annotations

from bot.simulator import Simulator, texts
from tests.conftest import SECRETARY, Org


async def test_visit_command_during_a_report_pauses_the_report_and_starts_the_visit(sim: Simulator, org: Org) -> None:
    await sim.send("/report", SECRETARY)
    await sim.send("昨天", SECRETARY)

    replies = texts(await sim.send("/households", SECRETARY))
    assert "填写先暂停" in replies[0] and "/report" in replies[0]  # the engine's form.paused
    assert "红旗村" in replies[1]  # the household list answered right away
    (found,) = texts(await sim.send("张三", SECRETARY))  # typed text goes to the household search
    assert "张三" in found and "农户" in found

    # /report leaves the household search (as every command in a form) and offers to go on
    left, offer = texts(await sim.send("/report", SECRETARY))
    assert "已退出农户管理" in left
    assert "还没保存的上报" in offer and "红旗村" in offer
    assert [b["text"] for b in sim.last_keyboard(SECRETARY)[1]] == ["继续填写", "重新开始"]



async def test_help_during_a_task_runs_help_and_keeps_the_draft(sim: Simulator, org: Org) -> None:
    from tests.conftest import TOWNSHIP_ADMIN

    await sim.send("/newtask", TOWNSHIP_ADMIN)
    await sim.send("拿出特色产业发展措施", TOWNSHIP_ADMIN)
    paused, help_text = texts(await sim.send("/help", TOWNSHIP_ADMIN))
    assert "暂停" in paused and "/newtask" in help_text
    (offer,) = texts(await sim.send("/newtask", TOWNSHIP_ADMIN))
    assert "拿出特色产业发展措施" in offer or any(
        "接着" in b["text"] or "继续" in b["text"] for b in sim.last_keyboard(TOWNSHIP_ADMIN)[1]
    )


async def test_text_that_looks_like_an_invite_code_stays_in_the_conversation(sim: Simulator, org: Org) -> None:
    from tests.conftest import TOWNSHIP_ADMIN

    await sim.send("/newtask", TOWNSHIP_ADMIN)
    replies = texts(await sim.send("ABCD2345", TOWNSHIP_ADMIN))  # the task's title, not a join code
    assert not any("邀请码" in r for r in replies)
    assert sim.app.user_data[TOWNSHIP_ADMIN]["newtask"]["title"] == "ABCD2345"
    assert "哪些单位负责" in replies[0]  # and the conversation went on to its next question


async def test_starting_a_conversation_closes_the_one_left_open(sim: Simulator, org: Org) -> None:
    """/report (registered before /newtask) started in the middle of /newtask: once the report
    is cancelled, later text is not swallowed as the forgotten task's title."""
    from tests.conftest import TOWNSHIP_ADMIN

    await sim.send("/newtask", TOWNSHIP_ADMIN)
    await sim.send("/report", TOWNSHIP_ADMIN)
    await sim.send("/cancel", TOWNSHIP_ADMIN)
    (reply,) = texts(await sim.send("整顿摘帽", TOWNSHIP_ADMIN))
    assert "没看懂" in reply
    (offer,) = texts(await sim.send("/newtask", TOWNSHIP_ADMIN))  # its draft is still offered
    assert "任务名称" in offer or any("继续" in b["text"] or "接着" in b["text"] for b in sim.last_keyboard(TOWNSHIP_ADMIN)[1])
