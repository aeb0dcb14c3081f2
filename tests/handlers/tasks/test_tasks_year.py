"""Issue 13 item 4: "11月底前" typed on 1 December is not silently 2027-11-30. A far deadline
whose year was not typed is asked about with buttons, and the examples name upcoming months."""

from __future__ import annotations

import pytest

from bot.simulator import Simulator, texts
from tests.conftest import TOWNSHIP_ADMIN, Clock, Org, setup_groups
from tests.conftest import local as at
from tests.conftest import newest_text as last_text

NOW = at(2026, 12, 1, 9)  # the first of December


@pytest.fixture
async def admin(sim: Simulator, org: Org) -> Org:
    sim.app.services.extras["clock"] = Clock(NOW)
    await setup_groups(sim, org)
    return org


async def to_deadline(sim: Simulator) -> str:
    await sim.send("/newtask", TOWNSHIP_ADMIN)
    await sim.send("整改三清单一台账", TOWNSHIP_ADMIN)
    await sim.press("全选", TOWNSHIP_ADMIN)
    return last_text(await sim.press("下一步", TOWNSHIP_ADMIN))


async def test_last_months_deadline_is_asked_about_not_taken(sim: Simulator, admin: Org) -> None:
    asked = await to_deadline(sim)
    assert "12月底前" in asked and "1月15日" in asked and "11月底前" not in asked  # upcoming months
    calls = await sim.send("11月底前", TOWNSHIP_ADMIN)
    question = last_text(calls)
    assert "2027年11月30日" in question and "还有364天" in question and "吗" in question
    assert {"是", "不是,重新输入"} <= {b["text"] for b in calls[-1].buttons()}
    again = last_text(await sim.press("不是,重新输入", TOWNSHIP_ADMIN))
    assert "截止时间是什么时候" in again
    assert "没看懂" in texts(await sim.send("12月低前", TOWNSHIP_ADMIN))[0]  # a typo: asked again
    echoed = last_text(await sim.send("12月底前", TOWNSHIP_ADMIN))  # this month: no question
    assert "✅ 截止时间:12月31日(周四) 23:59(还有30天)" in echoed
    assert texts(await sim.send("取消", TOWNSHIP_ADMIN)) == ["已取消,没有保存任何内容。"]
    assert await sim.app.services.repos.tasks.open_tasks() == []


async def test_yes_keeps_next_years_deadline_and_a_typed_year_is_not_asked(sim: Simulator, admin: Org) -> None:
    await to_deadline(sim)
    await sim.send("11月底前", TOWNSHIP_ADMIN)
    assert "2027年11月30日" in last_text(await sim.press("是", TOWNSHIP_ADMIN))
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("发布任务", TOWNSHIP_ADMIN)
    (task,) = await sim.app.services.repos.tasks.open_tasks()
    assert task.deadline == at(2027, 11, 30, 23, 59)
    await sim.send("/newtask", TOWNSHIP_ADMIN)
    await sim.send("另一个任务", TOWNSHIP_ADMIN)
    await sim.press("全选", TOWNSHIP_ADMIN)
    await sim.press("下一步", TOWNSHIP_ADMIN)
    assert "✅ 截止时间:2027年11月30日" in last_text(await sim.send("2027年11月底前", TOWNSHIP_ADMIN))


async def test_extend_asks_about_a_guessed_year_too(sim: Simulator, admin: Org) -> None:
    await to_deadline(sim)
    await sim.send("12月底前", TOWNSHIP_ADMIN)
    await sim.press("跳过", TOWNSHIP_ADMIN)
    await sim.press("发布任务", TOWNSHIP_ADMIN)
    (task,) = await sim.app.services.repos.tasks.open_tasks()
    asked = last_text(await sim.click(f"taskext:start:{task.id}", TOWNSHIP_ADMIN))
    assert "12月底前" in asked and "11月底前" not in asked
    assert "2027年11月30日" in last_text(await sim.send("11月底", TOWNSHIP_ADMIN))
    again = last_text(await sim.press("不是,重新输入", TOWNSHIP_ADMIN))
    assert "请输入新的截止时间" in again
    assert "2027年1月10日" in last_text(await sim.send("1月10日", TOWNSHIP_ADMIN))  # 40 days: no question
    assert texts(await sim.send("取消", TOWNSHIP_ADMIN))
    assert (await sim.app.services.repos.tasks.get(task.id)).deadline == at(2026, 12, 31, 23, 59)
