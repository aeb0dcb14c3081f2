"""The import itself (storage): counts, matching by path and names, one transaction, the
importing admin's units; the command line (admin add, org import); the demo district."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.demo import demo_data, roster_csv, seed_demo
from bot.rules.roster import parse_roster
from bot.simulator import Simulator, texts
from storage import Repos

BASE = (
    "区,乡镇,村,星级,书记,户主,地址,网格,电话,联户党员,党员电话\n"
    "示例区,东风镇,红旗村,3,孙红梅,张大山,一组,一网格,13900000001,李建国,13700000001\n"
    "示例区,东风镇,红旗村,,,刘小河,二组,,,李建国,\n"
    "示例区,东风镇,向阳村,,,陈长顺,一组,,,孙红梅,\n"
)


async def load(repos: Repos, text: str, **kwargs):
    return await repos.roster.import_roster(parse_roster(text.encode("gb18030")), **kwargs)


async def test_counts_and_a_reimport_that_changes_nothing(repos: Repos) -> None:
    first = await load(repos, BASE)
    assert first.committed and first.changed
    assert (first.units.created, first.households.created, first.people.created) == (4, 3, 3)
    again = await load(repos, BASE)
    assert again.committed and not again.changed
    assert (again.units.unchanged, again.households.unchanged, again.people.unchanged) == (4, 3, 3)


async def test_an_edited_roster_updates_only_what_changed(repos: Repos) -> None:
    await load(repos, BASE)
    edited = (
        BASE.replace(",3,孙红梅", ",4,孙红梅")  # stars
        .replace("刘小河,二组,,", "刘小河,五组,,")  # the only row of this head: address moved
        .replace("13700000001\n", "13700000099\n")  # member's phone
        + "示例区,东风镇,向阳村,,,吴新户,二组,,,,\n"
    )
    result = await load(repos, edited)
    assert (result.units.updated, result.units.created) == (1, 0)
    assert (result.households.created, result.households.updated, result.households.unchanged) == (1, 1, 2)
    assert (result.people.updated, result.people.created) == (1, 0)
    hongqi = (await repos.org.units_named("红旗村"))[0]
    assert hongqi.stars == 4
    member = await repos.org.find_person(hongqi.id, "李建国", "member")
    assert member is not None and member.phone == "13700000099"
    # empty cells change nothing: a file without the phone columns keeps the phones
    result = await load(repos, "乡镇,村,户主,地址\n东风镇,红旗村,张大山,一组\n")
    assert not result.changed
    assert (await repos.org.find_person(hongqi.id, "李建国", "member")).phone == "13700000099"  # type: ignore[union-attr]


async def test_a_member_who_is_the_secretary_is_one_person(repos: Repos) -> None:
    await load(repos, "区,乡镇,村,书记,户主,联户党员\n示例区,东风镇,红旗村,孙红梅,张大山,孙红梅\n")
    hongqi = (await repos.org.units_named("红旗村"))[0]
    people = await repos.org.people_in(hongqi.id)
    assert [(p.name, p.role) for p in people] == [("孙红梅", "secretary")]
    assert await repos.org.households_held(people[0].id) == 1


async def test_errors_keep_nothing_unless_the_good_rows_are_asked_for(repos: Repos) -> None:
    bad = BASE + "示例区,东风镇,红旗村,,,张大山,一组,,,,\n"
    result = await load(repos, bad)
    assert not result.committed and [(e.line, e.code) for e in result.errors] == [(5, "duplicate_household")]
    assert result.good_rows == 3 and result.households.created == 3  # what the good rows would do
    assert await repos.org.districts() == []
    result = await load(repos, bad, good_rows=True)
    assert result.committed and result.households.created == 3
    assert len(await repos.org.districts()) == 1


async def test_a_row_reported_skipped_is_never_written_and_a_village_there_is_not_the_typo(repos: Repos) -> None:
    """Two villages one character apart in a file (红旗村 and 红旗材): when 红旗村 is there
    already, only the new spelling is the likely typo; importing the good rows writes exactly
    the rows it says it keeps (a row it reported skipped had been written all the same)."""
    await load(repos, BASE)
    more = "区,乡镇,村,户主,地址\n示例区,东风镇,红旗村,王新户,三组\n示例区,东风镇,红旗材,赵新户,二组\n"
    result = await load(repos, more)
    assert [(e.line, e.code) for e in result.errors] == [(3, "close_name")]
    assert result.good_rows == 1 and result.households.created == 1
    result = await load(repos, more, good_rows=True)
    assert result.committed and result.households.created == 1
    village = (await repos.org.units_named("红旗村"))[0]
    assert await repos.households.find(village.id, "王新户", "三组") is not None
    assert await repos.org.units_named("红旗材") == []
    # both spellings new: the file's own check flags the rarer one; its row is not written
    pair = "区,乡镇,村,户主\n示例区,东风镇,石桥村,甲\n示例区,东风镇,石桥村,乙\n示例区,东风镇,石乔村,丙\n"
    result = await load(repos, pair, good_rows=True)
    assert [(e.line, e.code) for e in result.errors] == [(4, "close_name")]
    assert result.households.created == 2 and await repos.org.units_named("石乔村") == []


async def test_an_admin_imports_only_into_their_units(repos: Repos) -> None:
    await load(repos, BASE + "示例区,西岭乡,青山村,,,,,,,,\n")
    township = (await repos.org.units_named("东风镇"))[0]
    text = (
        "村,户主\n"
        "红旗村,新户甲\n"  # no township column: the admin's own township
        "石桥村,新户乙\n"  # a new village in their township
    )
    result = await load(repos, text, scope_unit_id=township.id)
    assert result.committed and result.units.created == 1 and result.households.created == 2
    result = await load(repos, "乡镇,村,户主\n西岭乡,青山村,某户\n", scope_unit_id=township.id)
    assert [e.code for e in result.errors] == ["out_of_scope"]
    result = await load(repos, "区,乡镇,村\n别的区,某镇,某村\n", scope_unit_id=township.id)
    assert [e.code for e in result.errors] == ["unknown_unit"]
    result = await load(repos, "乡镇,村\n红旗村,某村\n", scope_unit_id=township.id)  # a village as a township
    assert [e.code for e in result.errors] == ["out_of_scope"]
    district = (await repos.org.districts())[0]
    result = await load(repos, "乡镇,村\n东风镇,东风镇\n", scope_unit_id=district.id)
    assert result.committed  # a village may share its township's name


async def test_level_mismatch_and_missing_district(repos: Repos) -> None:
    await load(repos, BASE)
    await repos.org.add_unit("第二区", "district")
    result = await load(repos, "乡镇,村,户主\n东风镇,红旗村,某户\n")  # two districts: which one?
    assert [e.code for e in result.errors] == ["missing_district"]
    await repos.org.add_unit("孤立镇", "township")  # a township with no district above it
    result = await load(repos, "区,乡镇\n孤立镇,某镇\n")
    assert [e.code for e in result.errors] == ["level_mismatch"]


async def test_the_demo_district_is_built_by_the_roster_import(repos: Repos) -> None:
    result = await seed_demo(repos, console_user=4242, console_name="测试书记")
    assert result.committed and not result.errors
    district = (await repos.org.units_named(demo_data().district))[0]
    townships = await repos.org.children(district.id)
    assert [t.name for t in townships] == [name for name, _ in demo_data().units]
    villages = await repos.org.subtree(district.id, "village")
    assert len(villages) == 12 and all(v.stars for v in villages)
    secretary = await repos.org.person_by_telegram(4242)
    assert secretary is not None and secretary.role == "secretary" and secretary.name == "测试书记"
    first = await repos.org.unit(secretary.unit_id)
    assert first is not None and first.name == demo_data().units[0][1][0]
    members = await repos.org.people_in(district.id, "member")
    held = [await repos.org.households_held(m.id) for m in members]
    assert len(members) == 24 and all(5 <= n <= 10 for n in held)
    # the same roster through the same code: a second run changes nothing
    again = await repos.roster.import_roster(parse_roster(roster_csv("测试书记")))
    assert again.committed and not again.changed


async def test_the_demo_console_user_acts_as_secretary(sim: Simulator) -> None:
    await seed_demo(sim.app.services.repos, console_user=4242, console_name="测试书记")
    text = texts(await sim.send("/people", 4242))[0]
    assert "示例区 › 东风乡 › 红旗村" in text and "共 3 人:已加入 1,未加入 2" in text  # her and two members
    assert "红旗村" in texts(await sim.send("/me", 4242))[0]
    # and has households of her own, so the demo shows /visit at once
    await sim.send("/visit", 4242)
    assert len([b for b in sim.last_keyboard(4242)[1] if "未走访" in b["text"]]) == 3


def test_command_line_bootstrap_and_import(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.setenv("CADRE_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("CADRE_LOCALE", "zh_CN")
    monkeypatch.chdir(tmp_path)
    assert main(["admin", "add", "101", "--name", "赵区长"]) == 1
    assert "还没有任何区" in capsys.readouterr().out
    assert main(["admin", "add", "101", "--name", "赵区长", "--unit", "示例区"]) == 0
    assert "已添加区级管理员:赵区长(Telegram ID 101),单位:示例区" in capsys.readouterr().out
    assert main(["admin", "add", "101", "--name", "赵区长", "--unit", "示例区"]) == 0
    assert "没有改动" in capsys.readouterr().out
    roster = tmp_path / "花名册.csv"
    roster.write_bytes(BASE.encode("gb18030"))
    assert main(["org", "import", str(roster)]) == 0
    assert "农户:新建 3" in capsys.readouterr().out
    assert main(["org", "import", str(roster)]) == 0
    assert "没有任何变化" in capsys.readouterr().out
    roster.write_bytes((BASE + "示例区,东风镇,红旗村,,,,二组,,13900000002,,\n").encode("gb18030"))
    assert main(["org", "import", str(roster)]) == 1
    out = capsys.readouterr().out
    assert "第 5 行:有地址或电话,但户主姓名是空的" in out and "--good-rows" in out
    assert main(["org", "import", str(roster), "--good-rows"]) == 0
    assert "跳过了 1 处" in capsys.readouterr().out
    assert main(["admin", "add", "102", "--name", "钱镇长", "--unit", "示例区/东风镇"]) == 0
    assert "乡镇(街道)管理员" in capsys.readouterr().out
    assert main(["admin", "add", "103", "--name", "某人", "--unit", "红旗村"]) == 1
    assert "管理员只能属于区或乡镇" in capsys.readouterr().out
    # a name not found (a typo, or a township written without its district) makes no district
    assert main(["admin", "add", "104", "--name", "孙镇长", "--unit", "东风乡"]) == 1
    out = capsys.readouterr().out
    assert "找不到单位“东风乡”" in out and "现有的区:示例区" in out and "--new-district" in out
    assert main(["admin", "add", "104", "--name", "孙区长", "--unit", "新区", "--new-district"]) == 0
    assert "已添加区级管理员:孙区长(Telegram ID 104),单位:新区" in capsys.readouterr().out
    assert main(["org", "import", str(tmp_path / "none.csv")]) == 1
    assert "找不到文件" in capsys.readouterr().out
