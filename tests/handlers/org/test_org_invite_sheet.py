"""A township admin invites every village secretary of the township at once (issue 13, item 11):
one code per person (an open one reused), one link each in the chat, and a printable sheet
(XLSX with a QR code per row, and a PDF); the codes work like any other invite."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from bot.fakebot import BOT_USERNAME
from bot.i18n import Catalogs
from bot.simulator import Simulator, texts
from tests.conftest import MEMBER, SECRETARY, TOWNSHIP_ADMIN, Org

NEWCOMER = 701
NOT_YOURS = Catalogs().get("zh_CN")("org.not_yours")
LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Z2-9]{{8}})")


async def township(sim: Simulator, org: Org):
    """红旗村's secretary has joined; its first secretary and 向阳村's secretary have not;
    团结村 has no secretary in the roster."""
    repo = sim.app.services.repos.org
    first = await repo.add_person("吴第一", "secretary", org.village.id, first_secretary=True)
    chen = await repo.add_person("陈书记", "secretary", org.other_village.id, phone="13700000077")
    await repo.add_unit("团结村", "village", org.township.id)
    return first, chen


async def make_sheet(sim: Simulator) -> list:
    await sim.send("/invite", TOWNSHIP_ADMIN)
    return await sim.press("一次邀请东风镇全部村书记", TOWNSHIP_ADMIN)


async def test_one_press_makes_a_code_each_and_a_printable_sheet(sim: Simulator, org: Org) -> None:
    first, chen = await township(sim, org)
    repos = sim.app.services.repos
    calls = await make_sheet(sim)
    said = "\n".join(texts(calls))
    assert "这次共 2 份邀请;已经加入的书记 1 人" in said
    assert "花名册里还没有书记名字的村:团结村" in said
    links = [line for line in said.splitlines() if LINK.search(line)]
    assert len(links) == 2 and links[0].startswith("吴第一(红旗村):") and links[1].startswith("陈书记(向阳村):")
    codes = [LINK.search(line)[1] for line in links]
    assert [(await repos.invites.get(c)).person_id for c in codes] == [first.id, chen.id]
    assert "13700000077" not in said

    documents = [c for c in calls if c.method == "sendDocument"]
    assert [d.params.get("caption") for d in documents] == ["东风镇村书记邀请表:2人。打印出来,每人扫自己那一行的二维码加入。"] * 2
    xlsx, pdf = (d.files["document"] for d in documents)
    ws = load_workbook(io.BytesIO(xlsx)).active
    assert ws.cell(1, 1).value.startswith("东风镇村党组织书记加入邀请表")
    assert [c.value for c in ws[3]] == ["序号", "姓名", "村(社区)", "职务", "邀请码", "加入链接", "有效期至", "二维码"]
    assert [[c.value for c in ws[r]][:6] for r in (4, 5)] == [
        [1, "吴第一", "红旗村", "驻村第一书记", codes[0], f"https://t.me/{BOT_USERNAME}?start={codes[0]}"],
        [2, "陈书记", "向阳村", "村(社区)党组织书记", codes[1], f"https://t.me/{BOT_USERNAME}?start={codes[1]}"],
    ]
    assert len(ws._images) == 2  # a QR code per row
    assert ws.print_title_rows == "$3:$3" and ws.page_setup.orientation == "landscape"
    assert pdf.startswith(b"%PDF") and b"SimHei" in pdf

    again = "\n".join(texts(await make_sheet(sim)))  # the same codes again: one code per person
    assert [LINK.search(line)[1] for line in again.splitlines() if LINK.search(line)] == codes


async def test_a_code_from_the_sheet_joins_its_person(sim: Simulator, org: Org) -> None:
    _, chen = await township(sim, org)
    said = "\n".join(texts(await make_sheet(sim)))
    code = next(LINK.search(line)[1] for line in said.splitlines() if line.startswith("陈书记"))
    await sim.send(f"/start {code}", NEWCOMER)
    joined = await sim.app.services.repos.org.person_by_telegram(NEWCOMER)
    assert joined is not None and joined.id == chen.id
    said = "\n".join(texts(await make_sheet(sim)))
    assert "这次共 1 份邀请;已经加入的书记 2 人" in said and "陈书记" not in said


async def test_only_who_may_invite_secretaries_gets_the_sheet(sim: Simulator, org: Org) -> None:
    await township(sim, org)
    await sim.send("/invite", SECRETARY)
    calls = await sim.click(f"inv:sheet:{org.township.id}", SECRETARY)
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == [NOT_YOURS]
    assert not [c for c in calls if c.method == "sendDocument"]
    calls = await sim.click(f"inv:sheet:{org.township.id}", MEMBER)
    assert not [c for c in calls if c.method == "sendDocument"]
    other = await sim.app.services.repos.org.add_unit("西岭乡", "township", org.district.id)
    await sim.send("/invite", TOWNSHIP_ADMIN)
    calls = await sim.click(f"inv:sheet:{other.id}", TOWNSHIP_ADMIN)  # not their township
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == [NOT_YOURS]
    assert not [c for c in calls if c.method == "sendDocument"]
