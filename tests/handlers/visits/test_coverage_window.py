"""Coverage as a rolling window (issue 13 item 1), as a secretary and a member meet it on a clock
moved across a month end: /coverage on 1 December does not start again from 0%, last month's
figures are a button away, a member is named only after a full window without a visit, a
household visited yesterday reads "昨天走访过", the line after a saved visit counts a visit
dated 30 November saved on 1 December. Also a slow view is announced with "正在生成…"."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import handlers.visits.coverage
from bot.services import offloop
from bot.simulator import Simulator, texts
from tests.conftest import MEMBER, SECRETARY, TOWNSHIP_ADMIN, Org, at
from tests.conftest import TZ as SH
from tests.conftest import labels as keyboard_labels
from tests.helpers.visits import add_households, log_visit

DEC_1 = datetime(2026, 12, 1, 9, 0, tzinfo=SH)


async def old_roster(sim: Simulator) -> None:
    async with sim.app.services.repos.db.transaction() as conn:
        await conn.execute("UPDATE people SET created_at = '2026-01-05T00:00:00Z'")


async def test_on_the_first_of_the_month_coverage_keeps_last_weeks_visits(sim: Simulator, org: Org) -> None:
    at(sim, DEC_1)
    homes = await add_households(sim, org.village.id, org.member.id, "张三", "李四", "王五", "赵六")
    await log_visit(sim, org.member.id, homes[0].id, date(2026, 11, 30))
    await log_visit(sim, org.member.id, homes[1].id, date(2026, 11, 2))  # 29 days ago: in the window
    await log_visit(sim, org.member.id, homes[2].id, date(2026, 11, 1))  # 30 days ago: out
    await old_roster(sim)
    (text,) = texts(await sim.send("/coverage", SECRETARY))
    assert "近30天" in text and "全村近30天已走访 2/4 户(50%)" in text
    assert "0/4" not in text
    labels = keyboard_labels(sim, SECRETARY)
    assert "📅 看2026年11月" in labels
    (text,) = texts(await sim.press("看2026年11月", SECRETARY))
    assert "2026年11月" in text and "全村2026年11月已走访 3/4 户(75%)" in text
    (text,) = texts(await sim.press("看近30天", SECRETARY))
    assert "全村近30天已走访 2/4 户" in text


async def test_a_member_is_named_only_after_a_full_window_without_a_visit(sim: Simulator, org: Org) -> None:
    at(sim, DEC_1)
    repos = sim.app.services.repos
    newcomer = await repos.org.add_person("新党员", "member", org.village.id)
    (old,) = await add_households(sim, org.village.id, org.member.id, "张三")
    (new,) = await add_households(sim, org.village.id, newcomer.id, "李四")
    async with repos.db.transaction() as conn:
        await conn.execute("UPDATE people SET created_at = '2026-01-05T00:00:00Z' WHERE id != ?", (newcomer.id,))
        await conn.execute("UPDATE people SET created_at = '2026-11-25T02:00:00Z' WHERE id = ?", (newcomer.id,))
    await log_visit(sim, org.member.id, old.id, date(2026, 10, 30))  # last visit over 30 days ago
    (text,) = texts(await sim.send("/coverage", SECRETARY))
    idle = next(line for line in text.splitlines() if line.startswith("近30天一次也没走访过联系户的党员"))
    assert org.member.name in idle and "新党员" not in idle
    assert "另有1名党员还没走访,加入不满30天" in text
    await log_visit(sim, org.member.id, old.id, date(2026, 11, 20))
    (text,) = texts(await sim.send("/coverage", SECRETARY))
    assert "一次也没走访过联系户的党员" not in text, "visited 11 days ago: not named on the 1st"
    assert new


async def test_a_household_visited_yesterday_reads_visited_yesterday(sim: Simulator, org: Org) -> None:
    at(sim, DEC_1)
    homes = await add_households(sim, org.village.id, org.member.id, "张三", "李四", "王五")
    await log_visit(sim, org.member.id, homes[0].id, date(2026, 11, 30))
    await log_visit(sim, org.member.id, homes[1].id, date(2026, 12, 1))
    (text,) = texts(await sim.send("/coverage 1", SECRETARY))
    assert "· 张三家(李党员):昨天走访过" in text
    assert "1天未走访" not in text and "0天未走访" not in text
    await sim.send("/visit", MEMBER)
    labels = keyboard_labels(sim, MEMBER)
    assert "张三家 · 昨天走访过" in labels and "李四家 · 今天走访过" in labels


async def test_a_visit_dated_30_november_saved_on_1_december_is_counted(sim: Simulator, org: Org) -> None:
    at(sim, DEC_1)
    await add_households(sim, org.village.id, org.member.id, "张三", "李四", "王五", "赵六", "钱七", "孙八")
    await sim.send("/visit", MEMBER)
    await sim.press("张三", MEMBER)
    await sim.send("11月30日", MEMBER)
    await sim.press("社情民意调研", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.press("无诉求", MEMBER)
    await sim.press("跳过", MEMBER)
    (saved,) = texts(await sim.press("保存", MEMBER))
    assert "近30天您已走访 1/6 户" in saved


async def test_a_slow_view_says_it_is_being_made(sim: Simulator, org: Org, monkeypatch) -> None:
    """Over PROGRESS_AFTER seconds: "正在生成…" first, then the figures (no wall clock: the
    worker waits for the progress message to be sent)."""
    at(sim, DEC_1)
    await add_households(sim, org.village.id, org.member.id, "张三")
    build = handlers.visits.coverage.build

    def progress_sent() -> bool:
        return any("正在生成" in str(c.params) for c in list(sim.api.calls))

    def slow_build(*args, **kwargs):
        for _ in range(500):  # waits for the event loop to send the progress message
            if progress_sent():
                return build(*args, **kwargs)
            time.sleep(0.01)
        raise AssertionError("the progress message never came")

    monkeypatch.setattr(handlers.visits.coverage, "build", slow_build)
    monkeypatch.setattr(offloop, "PROGRESS_AFTER", 0.0)
    replies = texts(await sim.send("/coverage", TOWNSHIP_ADMIN))
    assert "正在生成" in replies[0] and "东风镇" in replies[0]
    assert "联户走访情况" in replies[1]


def test_window_edges() -> None:
    from bot.rules.coverage import Window

    w = Window.last_days(date(2026, 12, 1))
    assert (w.first, w.last, w.days) == (date(2026, 11, 2), date(2026, 12, 1), 30)
    assert date(2026, 11, 2) in w and date(2026, 11, 1) not in w and date(2026, 12, 2) not in w
    m = Window.previous_month(date(2026, 1, 3))
    assert (m.first, m.last, m.rolling) == (date(2025, 12, 1), date(2025, 12, 31), False)
    assert Window.month(date(2026, 2, 1), date(2026, 3, 1)).days == 28
    assert timedelta(days=w.days - 1) == w.last - w.first


async def test_a_newcomer_at_no_visits_is_counted_once_and_not_named(sim: Simulator, org: Org) -> None:
    """The walk's screen on 1 December: a member who joined today was listed "张志强:0/6 户(0%)"
    by name and ALSO counted in "另有2名党员还没走访…暂不列名". Each member is either named or
    counted, never both; a newcomer's row comes back once they have visited."""
    at(sim, DEC_1)
    repos = sim.app.services.repos
    newcomer = await repos.org.add_person("新党员", "member", org.village.id)
    (old,) = await add_households(sim, org.village.id, org.member.id, "张三")
    (new,) = await add_households(sim, org.village.id, newcomer.id, "李四")
    async with repos.db.transaction() as conn:
        await conn.execute("UPDATE people SET created_at = '2026-01-05T00:00:00Z' WHERE id != ?", (newcomer.id,))
        await conn.execute("UPDATE people SET created_at = '2026-12-01T00:30:00Z' WHERE id = ?", (newcomer.id,))
    (text,) = texts(await sim.send("/coverage", SECRETARY))
    member_rows = [line for line in text.splitlines() if line.startswith("· ") and "户(" in line]
    assert not any("新党员" in line for line in member_rows), "joined today, no visit yet: counted, not named"
    assert "新党员:" not in text
    assert f"· {org.member.name}:0/1 户(0%)" in text, "a full window without a visit: named"
    assert "另有1名党员还没走访,加入不满30天" in text
    await log_visit(sim, newcomer.id, new.id, date(2026, 12, 1))
    (text,) = texts(await sim.send("/coverage", SECRETARY))
    assert "· 新党员:1/1 户(100%)" in text
    assert "另有" not in text and "暂不列名" not in text
    assert old
