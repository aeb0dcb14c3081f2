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


# -- star ratings per area (issue 13 item 12) --------------------------------------------------
def test_the_overall_star_is_the_number_of_areas_met_once_all_five_are_rated() -> None:
    from bot.rules.stars import AREAS, missing_areas, overall_stars, unrated_areas

    assert AREAS == ("party", "economy", "industry", "village", "governance")
    assert overall_stars(dict.fromkeys(AREAS, True), None) == 5
    assert overall_stars(dict.fromkeys(AREAS, True), 2) == 5
    assert overall_stars(dict.fromkeys(AREAS, False), 3) is None  # all rated, none met: 未评星
    assert overall_stars({"party": True, "economy": False, "industry": True, "village": False,
                          "governance": True}, 5) == 3
    assert overall_stars({**dict.fromkeys(AREAS, True), "nonsense": True}, 1) == 5
    assert missing_areas({"party": True, "village": True}) == ["economy", "industry", "governance"]
    assert unrated_areas({"party": True, "village": False}) == ["economy", "industry", "governance"]
    assert unrated_areas(dict.fromkeys(AREAS, False)) == []


def test_an_area_not_rated_yet_keeps_the_overall_star() -> None:
    """Recording good news never lowers a star: four areas 还没评 are not four areas unmet."""
    from bot.rules.stars import AREAS, overall_stars

    assert overall_stars({"party": True}, 2) == 2  # was 1 (the bug): 二星 → 一星
    assert overall_stars({"party": False}, 4) == 4
    assert overall_stars({}, 3) == 3
    assert overall_stars({}, None) is None
    assert overall_stars({"party": True, "nonsense": True}, None) is None
    four = {a: True for a in AREAS if a != "governance"}
    assert overall_stars(four, 2) == 2
    assert overall_stars(four | {"governance": True}, 2) == 5


async def test_an_admin_rates_the_five_areas_and_the_overall_star_follows(sim: Simulator, org) -> None:
    repos = sim.app.services.repos
    await sim.send("/stars", TOWNSHIP_ADMIN)
    await sim.press("分项评星", TOWNSHIP_ADMIN)
    calls = await sim.press("红旗村", TOWNSHIP_ADMIN)
    screen = texts(calls)[-1]
    assert "⭐ 红旗村分项评星(总星级:三星)" in screen and "基层党建:还没评" in screen
    assert "五项都达标就是五星支部" in screen
    await sim.press("基层党建", TOWNSHIP_ADMIN)
    await sim.press("✅ 达标", TOWNSHIP_ADMIN)
    calls = await sim.press("月度督导检查", TOWNSHIP_ADMIN)
    review = texts(calls)[-1]
    assert "由“还没评”改为“达标”" in review and "依据:月度督导检查" in review
    assert "其余4项还没评,总星级暂不变(现为三星)" in review and "→" not in review
    calls = await sim.press("确认", TOWNSHIP_ADMIN)
    assert "已保存:红旗村基层党建达标。其余4项还没评,总星级暂不变(现为三星)" in texts(calls)[-1]
    assert "基层党建:✅达标(" in texts(calls)[-1] and "依据:月度督导检查" in texts(calls)[-1]
    assert (await repos.org.unit(org.village.id)).stars == 3
    # the other four met, by buttons too: once the fifth is rated, five-star branch
    for area in ("集体经济", "产业发展", "美丽村庄", "基层治理"):
        await sim.press(area, TOWNSHIP_ADMIN)
        await sim.press("✅ 达标", TOWNSHIP_ADMIN)
        review = texts(await sim.press("年度考评", TOWNSHIP_ADMIN))[-1]
        assert (await repos.org.unit(org.village.id)).stars == 3  # nothing saved before 确认
        await sim.press("确认", TOWNSHIP_ADMIN)
    assert "总星级:三星 → 五星" in review  # the admin sees what the overall star becomes
    assert (await repos.org.unit(org.village.id)).stars == 5
    # one falls back: four stars; every change is kept with its date and basis
    await sim.press("美丽村庄", TOWNSHIP_ADMIN)
    await sim.press("❌ 未达标", TOWNSHIP_ADMIN)
    await sim.press("群众评议", TOWNSHIP_ADMIN)
    calls = await sim.press("确认", TOWNSHIP_ADMIN)
    assert "美丽村庄:❌未达标(" in texts(calls)[-1]
    assert (await repos.org.unit(org.village.id)).stars == 4
    history = await repos.oversight.area_history(org.village.id)
    assert [(h.area, h.met, h.basis) for h in history][-1] == ("village", False, "appraisal")
    assert len(history) == 6 and all(h.by_person == org.township_admin.id for h in history)
    assert [c.new_stars for c in await repos.oversight.star_changes(org.village.id)] == [5, 4]
    calls = await sim.press("变更记录", TOWNSHIP_ADMIN)
    assert "美丽村庄:未达标(依据:群众评议,钱镇长)" in texts(calls)[-1]


async def test_area_buttons_for_another_township_are_refused(sim: Simulator, org) -> None:
    west = await sim.app.services.repos.org.add_unit("西岭镇", "township", org.district.id)
    far = await sim.app.services.repos.org.add_unit("远山村", "village", west.id)
    calls = await sim.click(f"stars:ak:{far.id}.0.1.0", TOWNSHIP_ADMIN)
    assert any(c.method == "answerCallbackQuery" and c.params.get("show_alert") for c in calls)
    assert await sim.app.services.repos.oversight.area_history(far.id) == []


async def test_the_bulletins_star_groups_say_what_the_stars_mean(sim: Simulator, org) -> None:
    from tests.conftest import local
    from tests.helpers.ledger import seed

    await seed(sim.app.services.repos, org)
    sim.clock = lambda: local(2026, 12, 2, 9).timestamp()
    message = texts(await sim.send("/bulletin", TOWNSHIP_ADMIN))[0]
    legend = "星级说明:星级按五项(基层党建、集体经济、产业发展、美丽村庄、基层治理)达标的项数评定"
    assert legend in message and message.index(legend) < message.index("⭐⭐⭐ 三星村")
    district = texts(await sim.send("/bulletin", DISTRICT_ADMIN))[0]
    assert legend in district


async def test_rating_an_area_again_on_a_new_basis_says_so_and_is_kept(sim: Simulator, org) -> None:
    repos = sim.app.services.repos
    await sim.click(f"stars:ak:{org.village.id}.0.1.0", TOWNSHIP_ADMIN)
    calls = await sim.click(f"stars:ab:{org.village.id}.0.1.1", TOWNSHIP_ADMIN)
    assert "基层党建:仍为“达标”(重新评定" in texts(calls)[-1] and "依据:年度考评" in texts(calls)[-1]
    await sim.press("确认", TOWNSHIP_ADMIN)
    assert [h.basis for h in await repos.oversight.area_history(org.village.id)] == ["inspection", "annual"]


async def test_rating_one_area_met_does_not_lower_a_two_star_village(sim: Simulator, org) -> None:
    """Issue 13 item 12: 向阳村 (二星, set as an overall star) gets 基层党建 ✅ 达标; the four
    areas 还没评 do not count as unmet, so it stays 二星 until all five are rated."""
    repos = sim.app.services.repos
    village = org.other_village.id
    await sim.send("/stars", DISTRICT_ADMIN)
    await sim.press("分项评星", DISTRICT_ADMIN)
    await sim.press("向阳村(二星)", DISTRICT_ADMIN)
    await sim.press("基层党建", DISTRICT_ADMIN)
    await sim.press("✅ 达标", DISTRICT_ADMIN)
    review = texts(await sim.press("月度督导检查", DISTRICT_ADMIN))[-1]
    assert "基层党建:由“还没评”改为“达标”" in review and "依据:月度督导检查" in review
    assert "其余4项还没评,总星级暂不变(现为二星)" in review
    assert "一星" not in review
    saved = texts(await sim.press("确认", DISTRICT_ADMIN))[-1]
    assert "已保存:向阳村基层党建达标。其余4项还没评,总星级暂不变(现为二星)" in saved
    assert "⭐ 向阳村分项评星(总星级:二星)" in saved
    assert (await repos.org.unit(village)).stars == 2
    assert await repos.oversight.star_changes(village) == []
    history = await repos.oversight.area_history(village)
    assert [(h.area, h.met, h.basis, h.by_person) for h in history] == [
        ("party", True, "inspection", org.district_admin.id)]
    # a fall-back while others are blank does not lower it either; the count says how many remain
    for area, met, left in (("集体经济", "❌ 未达标", 3), ("产业发展", "✅ 达标", 2), ("美丽村庄", "✅ 达标", 1)):
        await sim.press(area, DISTRICT_ADMIN)
        await sim.press(met, DISTRICT_ADMIN)
        review = texts(await sim.press("年度考评", DISTRICT_ADMIN))[-1]
        assert f"其余{left}项还没评,总星级暂不变(现为二星)" in review
        await sim.press("确认", DISTRICT_ADMIN)
    assert (await repos.org.unit(village)).stars == 2
    # the fifth area rated: now the overall star derives from the five, and the review shows it
    await sim.press("基层治理", DISTRICT_ADMIN)
    await sim.press("✅ 达标", DISTRICT_ADMIN)
    review = texts(await sim.press("年度考评", DISTRICT_ADMIN))[-1]
    assert "总星级:二星 → 四星" in review and "暂不变" not in review
    saved = texts(await sim.press("确认", DISTRICT_ADMIN))[-1]
    assert "已保存:向阳村基层治理达标,总星级现在是四星" in saved
    assert (await repos.org.unit(village)).stars == 4
    changes = await repos.oversight.star_changes(village)
    assert [(c.old_stars, c.new_stars) for c in changes] == [(2, 4)]
    assert len(await repos.oversight.area_history(village)) == 5
