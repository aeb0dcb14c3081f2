"""/stars: admins set star levels and record 先进带后进 pairs; a pair off the rule gets a
warning but can still be saved; nothing is stored before 确认; other units are refused."""

from __future__ import annotations

from bot.rules.bulletin import helper_shortfall, pair_problems
from bot.simulator import Simulator, texts
from tests.conftest import DISTRICT_ADMIN, MEMBER, SECRETARY, TOWNSHIP_ADMIN


def test_pair_rule_five_helps_two_four_helps_three() -> None:
    assert pair_problems(5, 2) == []
    assert pair_problems(4, 3) == []
    assert pair_problems(4, 3, [3]) == ["four_has_one"]
    assert pair_problems(5, 3) == ["not_rule"]
    assert pair_problems(2, 4) == ["not_stronger", "not_rule"]
    assert pair_problems(None, 2) == ["helper_unrated"]
    assert pair_problems(5, None) == ["helped_unrated"]
    assert helper_shortfall(5, [2]) == 1
    assert helper_shortfall(5, [2, 2, 2]) == 0
    assert helper_shortfall(4, []) == 1
    assert helper_shortfall(3, []) == 0


async def test_township_admin_sets_a_star_level_after_a_review(sim: Simulator, org) -> None:
    calls = await sim.send("/stars", TOWNSHIP_ADMIN)
    overview = texts(calls)[0]
    assert "三星(1个):红旗村" in overview and "二星(1个):向阳村" in overview
    await sim.press("设置星级", TOWNSHIP_ADMIN)
    await sim.press("红旗村", TOWNSHIP_ADMIN)
    calls = await sim.press("四星", TOWNSHIP_ADMIN)
    assert "由“三星”改为“四星”" in texts(calls)[-1]
    repo = sim.app.services.repos
    assert (await repo.org.unit(org.village.id)).stars == 3  # nothing saved before 确认
    calls = await sim.press("确认保存", TOWNSHIP_ADMIN)
    assert "红旗村现在是四星" in texts(calls)[-1]
    assert (await repo.org.unit(org.village.id)).stars == 4
    changes = await repo.oversight.star_changes(org.village.id)
    assert [(c.old_stars, c.new_stars, c.by_person) for c in changes] == [(3, 4, org.township_admin.id)]


async def test_back_returns_to_the_previous_screen(sim: Simulator, org) -> None:
    await sim.send("/stars", TOWNSHIP_ADMIN)
    await sim.press("设置星级", TOWNSHIP_ADMIN)
    await sim.press("向阳村", TOWNSHIP_ADMIN)
    calls = await sim.press("返回", TOWNSHIP_ADMIN)
    assert "请选择要设置星级的村" in texts(calls)[-1]
    calls = await sim.press("返回", TOWNSHIP_ADMIN)
    assert "各村星级" in texts(calls)[-1]


async def test_a_pair_off_the_rule_is_warned_about_but_can_be_saved(sim: Simulator, org) -> None:
    await sim.send("/stars", TOWNSHIP_ADMIN)
    await sim.press("新增帮带结对", TOWNSHIP_ADMIN)
    await sim.press("红旗村", TOWNSHIP_ADMIN)  # three stars
    calls = await sim.press("向阳村", TOWNSHIP_ADMIN)  # two stars
    review = texts(calls)[-1]
    assert "红旗村(三星) 帮带 向阳村(二星)" in review
    assert "五星村帮带二星村、四星村帮带三星村" in review
    repo = sim.app.services.repos.oversight
    assert await repo.pairs(org.township.id) == []
    calls = await sim.press("确认保存", TOWNSHIP_ADMIN)
    assert "已登记帮带结对" in texts(calls)[-1]
    pairs = await repo.pairs(org.township.id)
    assert [(p.helper.name, p.helped.name) for p in pairs] == [("红旗村", "向阳村")]


async def test_a_five_star_pair_fits_and_the_overview_asks_for_a_second(sim: Simulator, org) -> None:
    repo = sim.app.services.repos.oversight
    from datetime import UTC, datetime

    await repo.set_stars(org.village.id, 5, by=None, at=datetime.now(UTC))
    await sim.send("/stars", TOWNSHIP_ADMIN)
    await sim.press("新增帮带结对", TOWNSHIP_ADMIN)
    await sim.press("红旗村", TOWNSHIP_ADMIN)
    review = texts(await sim.press("向阳村", TOWNSHIP_ADMIN))[-1]
    assert "⚠️" not in review
    saved = texts(await sim.press("确认保存", TOWNSHIP_ADMIN))[-1]
    assert "红旗村是五星村,按要求还应再结对帮带1个二星村" in saved
    # ending the pair: a confirmation, then it leaves the list but keeps its record
    await sim.press("结束帮带结对", TOWNSHIP_ADMIN)
    await sim.press("红旗村 → 向阳村", TOWNSHIP_ADMIN)
    ended = texts(await sim.press("确认结束", TOWNSHIP_ADMIN))[-1]
    assert "已结束帮带结对" in ended and "还没有登记" in ended
    assert await repo.pairs(org.township.id) == []


async def test_villages_of_another_unit_are_refused_even_with_forged_buttons(sim: Simulator, org) -> None:
    repo = sim.app.services.repos.org
    other_township = await repo.add_unit("西山镇", "township", org.district.id)
    far = await repo.add_unit("远山村", "village", other_township.id, stars=1)
    await sim.send("/stars", TOWNSHIP_ADMIN)
    calls = await sim.click(f"stars:save:{far.id}.5", TOWNSHIP_ADMIN)
    assert any("不在您的管辖范围" in str(c.params.get("text")) for c in calls)
    assert (await repo.unit(far.id)).stars == 1
    # the district admin sees both townships' villages
    overview = texts(await sim.send("/stars", DISTRICT_ADMIN))[0]
    assert "远山村" in overview and "红旗村" in overview


async def test_only_admins_may_use_stars(sim: Simulator, org) -> None:
    for user in (SECRETARY, MEMBER):
        calls = await sim.send("/stars", user)
        assert "仅限" in texts(calls)[0]
