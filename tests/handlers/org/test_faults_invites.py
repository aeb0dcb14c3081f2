"""One lockout for every path that tries an invite code (typed, /start CODE, the join:list /
join:pick buttons), and join:pick answers only for the people the code's list offers."""

from __future__ import annotations

import pytest

from bot.simulator import Simulator, texts
from tests.conftest import MEMBER, SECRETARY, STRANGER, Org, alerts
from tests.helpers.org import NEWCOMER, code_of, invite_member_of_village


async def multi_code(sim: Simulator) -> str:
    await sim.send("/invite", SECRETARY)
    return code_of(await sim.press("全村党员通用邀请码", SECRETARY))


def said(calls) -> str:
    return " ".join(texts(calls) + alerts(calls))


@pytest.mark.parametrize(
    "guess",
    [
        lambda sim, n: sim.click(f"join:list:WRNG{n + 2}22.0", STRANGER),
        lambda sim, n: sim.click(f"join:pick:WRNG{n + 2}22.1", STRANGER),
        lambda sim, n: sim.send(f"/start WRNG{n + 2}222", STRANGER),
        lambda sim, n: sim.send(f"WRNG{n + 2}222", STRANGER),
    ],
    ids=["list", "pick", "start", "typed"],
)
async def test_every_path_shares_one_lockout(sim: Simulator, org: Org, guess) -> None:
    code = await multi_code(sim)
    for n in range(5):
        assert "次数太多" not in said(await guess(sim, n))
    # locked on every path now, even with the right code
    assert "次数太多" in said(await sim.click(f"join:list:{code}.0", STRANGER))
    assert "次数太多" in said(await sim.click(f"join:pick:{code}.{org.member.id}", STRANGER))
    assert "次数太多" in said(await sim.send(f"/start {code}", STRANGER))
    assert "次数太多" in said(await sim.send(code, STRANGER))


async def test_two_hundred_button_guesses_do_not_find_the_code(sim: Simulator, org: Org) -> None:
    code = await multi_code(sim)
    await sim.app.services.repos.org.add_person("钱多多", "member", org.village.id)
    names = []
    for n in range(200):
        calls = await sim.click(f"join:list:{n:04d}AAAA.0", STRANGER)
        names += [b["text"] for c in calls for b in c.buttons()]
    calls = await sim.click(f"join:list:{code}.0", STRANGER)
    assert "次数太多" in said(calls)
    assert "钱多多" not in names + [b["text"] for c in calls for b in c.buttons()]


async def test_pick_answers_only_for_the_people_the_list_offers(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    waiting = await repos.org.add_person("钱多多", "member", org.village.id)
    gone = await repos.org.add_person("离开了", "member", org.village.id)
    async with repos.org.db.transaction() as conn:  # deactivated (as a roster import does)
        await conn.execute("UPDATE people SET active = 0 WHERE id = ?", (gone.id,))
    code = await multi_code(sim)
    await sim.send(f"/start {code}", NEWCOMER)
    ok = await sim.click(f"join:pick:{code}.{waiting.id}", NEWCOMER)
    assert "钱多多" in said(ok) and "请确认" in said(ok)
    for person in (org.secretary, org.member, org.other_member):  # leader, joined, other village
        calls = await sim.click(f"join:pick:{code}.{person.id}", NEWCOMER)
        assert person.name not in said(calls), person.name
    calls = await sim.click(f"join:pick:{code}.{gone.id}", NEWCOMER)
    assert "离开了" not in said(calls)


async def test_a_personal_code_has_no_roster_list(sim: Simulator, org: Org) -> None:
    await sim.app.services.repos.org.add_person("钱多多", "member", org.village.id)
    await sim.app.services.repos.org.add_person("王五", "member", org.village.id)
    code = await invite_member_of_village(sim, org, "钱多多")
    calls = await sim.click(f"join:list:{code}.0", NEWCOMER)
    assert "王五" not in [b["text"] for c in calls for b in c.buttons()]
    assert "不对" in said(calls)


async def test_the_member_who_joined_is_not_offered_again(sim: Simulator, org: Org) -> None:
    code = await multi_code(sim)
    calls = await sim.click(f"join:pick:{code}.{org.member.id}", STRANGER)
    assert org.member.name not in said(calls)
    assert (await sim.app.services.repos.org.person_by_telegram(MEMBER)).id == org.member.id


async def test_a_forged_yes_for_a_joined_member_reveals_nothing_and_tells_nobody(sim: Simulator, org: Org) -> None:
    code = await multi_code(sim)
    sim.api.clear()
    calls = await sim.click(f"join:yes:{code}.{org.member.id}", STRANGER)
    assert org.member.name not in said(calls)
    assert not sim.api.sent(SECRETARY)  # the code's maker is not bothered
