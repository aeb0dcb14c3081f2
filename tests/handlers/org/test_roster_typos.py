"""A roster's likely typos are asked about, not imported as new villages: a name one
character away from a village that exists (or from another in the same file)."""

from __future__ import annotations

from bot.rules.roster import parse_roster
from bot.simulator import Simulator, texts
from tests.conftest import DISTRICT_ADMIN, Org

ROSTER = "区,乡镇,村,户主,地址,联户党员\n示例区,东风镇,向阳材,吴新户,二组,周党员\n示例区,东风镇,胜利村,郑大,一组,王党员\n"


async def test_a_typo_of_an_existing_village_is_not_a_new_village(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    result = await repos.roster.import_roster(parse_roster(ROSTER.encode()), scope_unit_id=org.district.id)
    assert not result.committed
    assert [(e.line, e.code, e.value) for e in result.errors] == [(2, "close_name", "向阳材→向阳村")]
    assert await repos.org.units_named("向阳材") == []


async def test_the_admin_is_asked_and_can_confirm_the_names(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    calls = await sim.document(ROSTER.encode(), "名册.csv", DISTRICT_ADMIN)
    reply = texts(calls)[-1]
    assert "第 2 行" in reply and "“向阳材→向阳村”:这两个名字只差一个字" in reply
    labels = [b["text"] for b in calls[-1].buttons()]
    assert labels[0] == "名字没错,照常导入"
    # importing only the good rows leaves the doubtful one out
    assert await repos.org.units_named("向阳材") == []
    await sim.press("名字没错,照常导入", DISTRICT_ADMIN)
    created = await repos.org.units_named("向阳材")
    assert len(created) == 1 and created[0].parent_id == org.township.id
    assert len(await repos.org.units_named("胜利村")) == 1


async def test_good_rows_only_skip_the_doubtful_names(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await sim.document(ROSTER.encode(), "名册.csv", DISTRICT_ADMIN)
    await sim.press("只导入没有错误", DISTRICT_ADMIN)
    assert await repos.org.units_named("向阳材") == [] and len(await repos.org.units_named("胜利村")) == 1
