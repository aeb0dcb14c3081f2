"""A whole district brought in through the bot: roster file → invites → joined people → a bound
group, with the in-memory Bot API (the way an office would actually do it)."""

from __future__ import annotations

import asyncio
import io
import re

from openpyxl import Workbook

from bot.fakebot import BOT_USERNAME, Call
from bot.simulator import Simulator, texts
from storage.org import Unit
from tests.conftest import ADMIN
from tests.helpers.org import xlsx

SECRETARY, MEMBER_A, MEMBER_B, GROUP = 502, 503, 504, -100777

ROSTER = """示例区党员联户花名册(2026年)
区,乡镇,村,星级,书记,户主,地址,网格,电话,联户党员,党员电话
示例区,东风镇,红旗村,3,孙红梅,,,,,,
示例区,东风镇,红旗村,,,张大山,一组,第一网格,13900000001,李建国,13700000001
示例区,东风镇,红旗村,,,刘小河,二组,第一网格,,李建国,
示例区,东风镇,红旗村,,,王秋菊,三组,第二网格,13900000003,赵春兰,13700000002
示例区,东风镇,向阳村,2,周志强,,,,,,
示例区,东风镇,向阳村,,,陈长顺,一组,,,吴国华,
示例区,西岭乡,青山村,4,,,,,,,
"""


def code_from(calls: list[Call]) -> str:
    photo = next(c for c in calls if c.method == "sendPhoto")
    assert photo.files.get("photo", b"").startswith(b"\x89PNG"), "the QR code is a PNG"
    match = re.search(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Z2-9]{{8}})", photo.text)
    assert match, photo.text
    assert match[1] in photo.text.replace(match[0], "")  # the bare code is shown too
    return match[1]


def menu_for(calls: list[Call], user_id: int) -> list[str]:
    """The commands of the menu set for one user's private chat (BotCommandScopeChat)."""
    for call in calls:
        scope = call.params.get("scope") or {}
        if call.method == "setMyCommands" and scope.get("chat_id") == user_id:
            return [c["command"] for c in call.params["commands"]]
    raise AssertionError(f"no command menu was set for {user_id}")


async def test_a_district_from_a_gb18030_roster_to_a_bound_group(sim: Simulator, district: Unit) -> None:
    repos = sim.app.services.repos
    # 1. the admin sends the office's roster (CSV as Excel in China saves it)
    calls = await sim.document(ROSTER.encode("gb18030"), "花名册.csv", ADMIN)
    reply = texts(calls)[-1]
    assert "已导入 7 行" in reply
    assert "单位:新建 5,更新 0,未变 1" in reply  # 2 townships, 3 villages; the district existed
    assert "农户:新建 4" in reply and "人员(书记和党员):新建 5" in reply
    assert {u.name for u in await repos.org.subtree(district.id, "village")} == {"红旗村", "向阳村", "青山村"}

    # 2. the same file again changes nothing, and says so
    reply = texts(await sim.document(ROSTER.encode("gb18030"), "花名册.csv", ADMIN))[-1]
    assert "没有任何变化" in reply and "农户 4 户" in reply

    # 3. the admin invites the roster's secretary of 红旗村
    await sim.send("/invite", ADMIN)
    await sim.press("东风镇", ADMIN)
    await sim.press("红旗村", ADMIN)
    calls = await sim.press("村(社区)党组织书记", ADMIN)
    assert "孙红梅" in texts(calls)[-1] or any(b["text"] == "孙红梅" for b in calls[-1].buttons())
    calls = await sim.press("孙红梅", ADMIN)
    code = code_from(calls)

    # 4. she opens the link: bound at once, greeted with what she can do, her menu set
    calls = await sim.send(f"/start {code}", SECRETARY)
    welcome = texts(calls)[0]
    assert "孙红梅" in welcome and "示例区 › 东风镇 › 红旗村" in welcome and "/invite" in welcome
    assert "/import" not in welcome  # admins only
    menu = menu_for(calls, SECRETARY)
    assert {"invite", "invites", "people", "me", "help"} <= set(menu)
    assert not {"import", "bind", "unbind"} & set(menu)  # admins only; group commands
    assert any(c.chat_id == ADMIN and "孙红梅 已通过您的邀请加入" in c.text for c in calls)
    secretary = await repos.org.person_by_telegram(SECRETARY)
    assert secretary is not None and secretary.role == "secretary" and secretary.name == "孙红梅"

    # 5. she makes one code for all party members of her village
    await sim.send("/invite", SECRETARY)
    code = code_from(await sim.press("全村党员通用邀请码", SECRETARY))
    calls = await sim.send(f"/start {code}", MEMBER_A)
    assert [b["text"] for b in calls[-1].buttons()][:2] == ["李建国", "赵春兰"]
    await sim.press("李建国", MEMBER_A)
    calls = await sim.press("是我", MEMBER_A)
    assert "李建国" in texts(calls)[0] and "党员" in texts(calls)[0]
    assert "me" in menu_for(calls, MEMBER_A) and "invite" not in menu_for(calls, MEMBER_A)
    # the second member uses the same code; the name taken is no longer offered
    calls = await sim.send(code, MEMBER_B)  # the bare code typed in works too
    assert calls[-1].buttons()[0]["text"] == "赵春兰"
    await sim.press("赵春兰", MEMBER_B)
    await sim.press("是我", MEMBER_B)
    assert (await repos.org.person_by_telegram(MEMBER_B)).name == "赵春兰"  # type: ignore[union-attr]

    # 6. she adds the bot to the village group and binds it
    calls = await sim.bot_added(GROUP, SECRETARY, title="红旗村党员群")
    assert "/bind" in texts(calls)[0]
    calls = await sim.send("/bind", SECRETARY, GROUP)
    assert "红旗村" in texts(calls)[0]
    await sim.press("月度通报", SECRETARY, GROUP)  # switch bulletins off
    calls = await sim.press("保存", SECRETARY, GROUP)
    assert "本群已绑定到 示例区 › 东风镇 › 红旗村,将接收:任务提醒、活动通知" in texts(calls)[-1]
    chat = await repos.chats.get(GROUP)
    assert chat is not None and chat.unit_id == secretary.unit_id and chat.reminders and not chat.bulletins
    assert [c.chat_id for c in await repos.chats.receiving([secretary.unit_id], "notices")] == [GROUP]
    for call in sim.api.sent(GROUP):
        assert not re.search(r"1[3-9]\d{9}", call.text), "no phone number in a group, ever"


async def test_an_xlsx_roster_with_merged_cells_and_an_edited_reimport(sim: Simulator, district: Unit) -> None:
    repos = sim.app.services.repos
    rows = [
        ["乡镇(街道)", "村(社区)", "星级", "户主", "地址", "联户党员"],
        ["城关街道", "南关社区", 3, "马德明", "1组", "林玉珍"],
        [None, None, None, "高立新", "2组", "林玉珍"],  # merged below: same street and community
        [None, None, None, "罗淑芬", "3组", "林玉珍"],
    ]
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    sheet.merge_cells("A2:A4")
    sheet.merge_cells("B2:B4")
    out = io.BytesIO()
    book.save(out)
    reply = texts(await sim.document(out.getvalue(), "名册.xlsx", ADMIN))[-1]
    assert "已导入 3 行" in reply and "农户:新建 3" in reply

    edited = xlsx([
        ["乡镇(街道)", "村(社区)", "星级", "户主", "地址", "联户党员"],
        ["城关街道", "南关社区", 4, "马德明", "1组", "林玉珍"],
        ["城关街道", "南关社区", None, "高立新", "5组", "林玉珍"],  # moved
        ["城关街道", "南关社区", None, "罗淑芬", "3组", "何文博"],  # another member
    ])
    reply = texts(await sim.document(edited, "名册.xlsx", ADMIN))[-1]
    assert "单位:新建 0,更新 0" in reply  # the 星级 on a household's row is not the community's
    assert "农户:新建 0,更新 2,未变 1" in reply
    assert "人员(书记和党员):新建 1,更新 0,未变 1" in reply
    street = await repos.org.find_unit("城关街道", district.id)
    assert street is not None
    community = await repos.org.find_unit("南关社区", street.id)
    assert community is not None and community.stars is None
    # on the community's own row (no household; or its secretary's) the stars are its stars
    stars_row = xlsx([["乡镇(街道)", "村(社区)", "星级", "书记"], ["城关街道", "南关社区", 4, "石书记"]])
    assert "单位:新建 0,更新 1" in texts(await sim.document(stars_row, "星级.xlsx", ADMIN))[-1]
    community = await repos.org.find_unit("南关社区", street.id)
    assert community is not None and community.stars == 4


async def test_a_roster_with_errors_keeps_nothing_until_the_good_rows_are_chosen(sim: Simulator, district: Unit) -> None:
    repos = sim.app.services.repos
    bad = (
        "乡镇,村,户主,地址,电话,联户党员,党员电话\n"
        "东风镇,红旗村,张大山,一组,13900000001,李建国,\n"
        "东风镇,红旗村,张大山,一组,,李建国,\n"  # duplicate household (line 3)
        "东风镇,红旗村,,二组,13900000002,,\n"  # empty household head (line 4)
        "东风镇,红旗村,王秋菊,三组,12345,李建国,\n"  # bad phone (line 5)
        "东风镇,红旗村,刘小河,四组,=HYPERLINK(\"x\"),李建国,\n"  # a formula (line 6)
        "东风镇,向阳村,陈长顺,一组,,,\n"
    )
    calls = await sim.document(bad.encode("utf-8-sig"), "roster.csv", ADMIN)
    reply = texts(calls)[-1]
    assert "有 4 处错误" in reply and "什么都没有保存" in reply
    assert "第 3 行:户主“张大山”与第 2 行重复" in reply
    assert "第 4 行:有地址或电话,但户主姓名是空的" in reply
    assert "第 5 行:“电话”列的电话号码“12345”格式不对" in reply
    assert "第 6 行:“电话”列是公式" in reply
    assert "如果只导入没有错误的 2 行" in reply
    assert await repos.org.subtree(district.id, "village") == []  # nothing kept
    calls = await sim.press("只导入没有错误的 2 行", ADMIN)
    reply = texts(calls)[-1]
    assert "跳过了 4 处有错误的行" in reply and "农户:新建 2" in reply
    assert len(await repos.org.subtree(district.id, "village")) == 2
    # the button works once
    calls = await sim.click("roster:good:" + "0" * 8, ADMIN)
    assert any("失效" in str(c.params.get("text", "")) for c in calls)


async def test_files_refused_whole(sim: Simulator, district: Unit) -> None:
    repos = sim.app.services.repos
    # a 50 MB file is refused from its announced size, before anything is downloaded
    update = {
        "message": {
            "message_id": 1, "date": 0, "chat": {"id": ADMIN, "type": "private"},
            "from": {"id": ADMIN, "is_bot": False, "first_name": "A"},
            "document": {"file_id": "big", "file_unique_id": "big", "file_name": "all.xlsx", "file_size": 50 * 1024 * 1024},
        }
    }
    calls = await sim.feed(update)
    assert "文件太大了(50.0 MB)" in texts(calls)[0] and "不能超过 5 MB" in texts(calls)[0]
    assert not any(c.method == "getFile" for c in calls)
    # a roster in Big5 (not what Excel in mainland China saves): said plainly
    calls = await sim.document("鄉鎮,村,戶主\n東風鎮,紅旗村,張大山\n".encode("big5"), "r.csv", ADMIN)
    assert "编码无法识别" in texts(calls)[-1]
    calls = await sim.document(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls", ADMIN)
    assert "旧版的 Excel" in texts(calls)[-1]
    calls = await sim.document(b"PK\x03\x04 broken", "r.xlsx", ADMIN)
    assert "打不开" in texts(calls)[-1]
    calls = await sim.document("姓名,年龄\n张三,50\n".encode(), "r.csv", ADMIN)
    assert "没有找到表头" in texts(calls)[-1]
    assert await repos.org.subtree(district.id) == [district]


async def test_xlsx_formulas_and_unknown_or_foreign_units(sim: Simulator, district: Unit) -> None:
    repos = sim.app.services.repos
    other = await repos.org.add_unit("邻区", "district")
    await repos.org.add_unit("邻镇", "township", other.id)
    book = xlsx([
        ["区", "乡镇", "村", "户主", "联户党员"],
        ["示例区", "东风镇", "红旗村", "=CONCAT(\"张\",\"三\")", "李建国"],
        ["邻区", "邻镇", "某村", "王五", ""],
        ["别的区", "某镇", "某村", "赵六", ""],
        ["示例区", "东风镇", "红旗村", "刘七", "李建国"],
    ])
    reply = texts(await sim.document(book, "r.xlsx", ADMIN))[-1]
    assert "第 2 行:“户主”列是公式" in reply
    assert "第 3 行:“某村”不在您管理的范围内" in reply
    assert "第 4 行:没有“别的区”这个单位" in reply
    assert await repos.org.subtree(other.id, "village") == []


async def test_only_admins_import(sim: Simulator, district: Unit) -> None:
    repos = sim.app.services.repos
    village = await repos.org.add_unit("红旗村", "village", (await repos.org.add_unit("东风镇", "township", district.id)).id)
    await repos.org.add_person("孙红梅", "secretary", village.id, telegram_id=SECRETARY)
    calls = await sim.document(ROSTER.encode("gb18030"), "花名册.csv", SECRETARY)
    assert texts(calls) == ["/import 仅限区级管理员、乡镇(街道)管理员使用。"]
    assert not any(c.method == "getFile" for c in calls)
    calls = await sim.document(ROSTER.encode("gb18030"), "花名册.csv", 999)
    assert "还没有加入" in texts(calls)[0]


async def test_import_explains_and_sends_a_template_that_reads_back(sim: Simulator, district: Unit) -> None:
    calls = await sim.send("/import", ADMIN)
    assert "联户党员" in texts(calls)[0]
    template = next(c for c in calls if c.method == "sendDocument")
    data = template.files["document"]
    reply = texts(await sim.document(data, "名册模板.xlsx", ADMIN))[-1]
    assert "只有模板自带的示例行" in reply  # sent back as it came: the samples are never imported
    assert await sim.app.services.repos.org.units_named("红旗村") == []



async def test_an_admin_added_while_the_bot_was_down_gets_their_menu_at_start(settings) -> None:
    from storage import Database, Repos
    from tests.conftest import start_sim

    db = await Database.open(settings.db_path)
    assert (await Repos.over(db).org.add_admin(ADMIN, "赵区长", "示例区")).status == "added"
    await db.close()
    sim = await start_sim(settings)
    try:
        menu = menu_for(sim.api.calls, ADMIN)
        assert {"import", "invite", "invites", "people", "me"} <= set(menu) and "bind" not in menu
        calls = await sim.send("/start", ADMIN)
        assert "赵区长您好" in texts(calls)[0] and "/import" in texts(calls)[0]
    finally:
        await sim.stop()


async def test_a_restart_publishes_only_the_admin_menus_that_changed(settings) -> None:
    """The first start publishes the admin's menu; the next one, with nothing changed, does not
    (a province's ~1,700 admins would hold every start for a minute); a new language does."""
    from storage import Database, Repos
    from tests.conftest import start_sim

    db = await Database.open(settings.db_path)
    assert (await Repos.over(db).org.add_admin(ADMIN, "赵区长", "示例区")).status == "added"
    await db.close()
    sim = await start_sim(settings)
    assert menu_for(sim.api.calls, ADMIN)
    await sim.stop()
    sim = await start_sim(settings)
    try:
        mine = [c for c in sim.api.calls if c.method == "setMyCommands" and c.params["scope"].get("chat_id") == ADMIN]
        assert mine == []
        await sim.app.services.repos.users.set_lang(ADMIN, "en")
        from handlers.org.ui import publish_menu

        sim.api.clear()
        await publish_menu(sim.app, ADMIN)
        assert menu_for(sim.api.calls, ADMIN)  # its menu changed: published again
    finally:
        await sim.stop()


async def test_many_changed_admin_menus_are_published_after_the_bot_is_ready(settings, monkeypatch) -> None:
    """Past a few, changed menus go on in the background: start-up does not wait for a
    province's ~1,700 Telegram calls; each is published once, and none again at the next start."""
    import handlers.org.ui
    from storage import Database, Repos
    from tests.conftest import start_sim

    admins = [ADMIN + k for k in range(5)]
    db = await Database.open(settings.db_path)
    for k, admin in enumerate(admins):
        assert (await Repos.over(db).org.add_admin(admin, f"赵区长{k}", "示例区")).status == "added"
    await db.close()
    monkeypatch.setattr(handlers.org.ui, "MENUS_AT_START", 2)
    release, publish = asyncio.Event(), handlers.org.ui._set_menu

    async def held(app, telegram_id, commands, digest) -> None:
        if telegram_id in admins[2:]:
            await release.wait()  # Telegram is slow today
        await publish(app, telegram_id, commands, digest)

    monkeypatch.setattr(handlers.org.ui, "_set_menu", held)
    sim = await start_sim(settings)  # ready while three menus are still held
    try:
        ready = {c.params["scope"].get("chat_id") for c in sim.api.calls if c.method == "setMyCommands"}
        assert ready & set(admins) == set(admins[:2])  # published before the bot was ready
        assert texts(await sim.send("/help", admins[0]))  # answering meanwhile
        (task,) = sim.app.services.extras["background"]
        assert not task.done()
        release.set()
        await task
        assert all(menu_for(sim.api.calls, admin) for admin in admins)
        assert len([c for c in sim.api.calls if c.method == "setMyCommands"
                    and c.params["scope"].get("chat_id") in admins]) == len(admins)
    finally:
        await sim.stop()
    sim = await start_sim(settings)
    try:
        assert not [c for c in sim.api.calls if c.method == "setMyCommands" and c.params["scope"].get("chat_id") in admins]
        assert "background" not in sim.app.services.extras
    finally:
        await sim.stop()
