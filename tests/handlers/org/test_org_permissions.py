"""Every command, every role: who may not use a command is refused with the role it needs and
nothing else happens; private commands in a group are refused without personal data; /help
and the menus list exactly what a role may use.

The table is built from ``handlers.auth.COMMANDS`` after importing every feature, so commands
that other features add later are covered without editing this file.
"""

from __future__ import annotations

import re

import pytest

from bot.fakebot import BOT_USERNAME
from bot.simulator import Simulator, texts
from handlers import modules
from handlers.auth import COMMANDS, commands_for
from tests.conftest import DISTRICT_ADMIN, MEMBER, SECRETARY, STRANGER, TOWNSHIP_ADMIN, Org

modules()  # import every feature: COMMANDS is complete
USERS = {
    "district_admin": DISTRICT_ADMIN,
    "township_admin": TOWNSHIP_ADMIN,
    "secretary": SECRETARY,
    "member": MEMBER,
    None: STRANGER,
}
GROUP = -100555
PRIVATE_REFUSALS = [
    (name, role)
    for name, cmd in sorted(COMMANDS.items())
    for role in USERS
    if cmd.private and not cmd.allowed(role)
]
GROUP_ONLY = [(name, role) for name, cmd in sorted(COMMANDS.items()) for role in USERS if not cmd.private]
PRIVATE_ONLY = [(name, role) for name, cmd in sorted(COMMANDS.items()) for role in USERS if not cmd.group]
PERSONAL = re.compile(r"1[3-9]\d{9}|赵区长|钱镇长|孙书记|李党员|周党员")


def role_label(role: str) -> str:
    return {
        "district_admin": "区级管理员",
        "township_admin": "乡镇(街道)管理员",
        "secretary": "村(社区)党组织书记",
        "member": "党员",
    }[role]


def test_the_table_is_not_empty() -> None:
    """The parametrised tests below can fail: there are commands each role may not use."""
    assert {"invite", "people", "import", "bind", "unbind", "me"} <= set(COMMANDS)
    assert len(PRIVATE_REFUSALS) > 10 and GROUP_ONLY and PRIVATE_ONLY


@pytest.mark.parametrize(("name", "role"), PRIVATE_REFUSALS)
async def test_a_command_is_refused_for_a_role_that_may_not_use_it(
    sim: Simulator, org: Org, name: str, role: str | None
) -> None:
    sim.api.clear()
    calls = await sim.send(f"/{name}", USERS[role])
    sent = [c for c in calls if c.method not in ("getMe",)]
    assert [c.method for c in sent] == ["sendMessage"], f"/{name} as {role}: {[(c.method, c.text) for c in sent]}"
    text = sent[0].text
    if role is None:
        assert "还没有加入" in text
    else:
        needed = [role_label(r) for r in sorted(COMMANDS[name].roles)]
        assert text.startswith(f"/{name} 仅限") and all(label in text for label in needed), text
    assert sim.app.user_data.get(USERS[role], {}) in ({}, {"join_failures": []})  # nothing started


@pytest.mark.parametrize(("name", "role"), GROUP_ONLY)
async def test_a_group_command_in_a_private_chat_says_where_it_works(
    sim: Simulator, org: Org, name: str, role: str | None
) -> None:
    calls = await sim.send(f"/{name}", USERS[role])
    assert texts(calls) == [f"/{name} 只能在群聊中使用。"]


@pytest.mark.parametrize(("name", "role"), PRIVATE_ONLY)
async def test_a_private_command_in_a_group_shows_nothing_personal(
    sim: Simulator, org: Org, name: str, role: str | None
) -> None:
    """Refused in a group: a pointer to the private chat, never anything personal, and nothing
    starts."""
    await sim.bot_added(GROUP, SECRETARY, title="红旗村党员群")
    before = {uid: dict(sim.app.user_data.get(uid, {})) for uid in USERS.values()}
    calls = await sim.send(f"/{name}", USERS[role], GROUP)
    refusal = f"/{name} 请在与我的私聊中使用,这里是群聊。点下面的按钮打开私聊,再点“开始”就能直接用。"
    assert texts(calls) == [refusal]
    (button,) = calls[-1].buttons()  # opens the private chat, where the command then starts
    assert button == {"text": f"👉 去私聊使用 /{name}", "url": f"https://t.me/{BOT_USERNAME}?start=cmd_{name}"}
    assert {c.method for c in calls} <= {"sendMessage"}
    assert all(c.chat_id == GROUP for c in calls)
    assert not any(PERSONAL.search(c.text) for c in calls)
    assert {uid: dict(sim.app.user_data.get(uid, {})) for uid in USERS.values()} == before


@pytest.mark.parametrize("role", list(USERS))
async def test_help_lists_exactly_what_the_role_may_use(sim: Simulator, org: Org, role: str | None) -> None:
    text = texts(await sim.send("/help", USERS[role]))[0]
    listed = set(re.findall(r"^/(\w+)", text, re.M))
    assert listed == {c.name for c in commands_for(role, in_group=False)}
    group_text = texts(await sim.send("/help", USERS[role], GROUP))[0]
    assert set(re.findall(r"^/(\w+)", group_text, re.M)) == {c.name for c in commands_for(role, in_group=True)}
    assert not PERSONAL.search(group_text)


async def test_menus_per_scope_and_language(sim: Simulator) -> None:
    scopes = {}
    for call in sim.api.calls:
        if call.method == "setMyCommands":
            scope = call.params["scope"]["type"]
            scopes[(str(scope), call.params.get("language_code"))] = [c["command"] for c in call.params["commands"]]
    admins = [v for (scope, _), v in scopes.items() if "administrators" in scope]
    assert admins and all({"bind", "unbind"} <= set(v) for v in admins)
    privates = [v for (scope, _), v in scopes.items() if "all_private_chats" in scope]
    assert privates and all("bind" not in v and "me" in v for v in privates)
    assert {lang for (_, lang) in scopes} == {None, "en"}


async def test_me_shows_who_the_bot_thinks_you_are(sim: Simulator, org: Org) -> None:
    text = texts(await sim.send("/me", MEMBER))[0]
    assert "李党员" in text and "党员" in text and "示例区 › 东风镇 › 红旗村" in text
    assert "13800000001" in text and str(MEMBER) in text and "联系的农户:0 户" in text
    text = texts(await sim.send("/me", TOWNSHIP_ADMIN))[0]
    assert "乡镇(街道)管理员" in text and "管理范围:2 个村" in text
    text = texts(await sim.send("/me", STRANGER))[0]
    assert "还没有加入" in text and str(STRANGER) in text


async def test_the_group_button_opens_the_private_chat_and_starts_the_command(sim: Simulator, org: Org) -> None:
    """Issue 13, item 8: /report in a group answers with a button to the private chat; its
    link (/start cmd_report) starts /report there, as if typed."""
    await sim.bot_added(GROUP, SECRETARY, title="红旗村党员群")
    calls = await sim.send("/report", SECRETARY, GROUP)
    (button,) = calls[-1].buttons()
    payload = button["url"].rsplit("?start=", 1)[1]
    (question,) = texts(await sim.send(f"/start {payload}", SECRETARY))
    assert "哪一天做的整治" in question
    unknown = "\n".join(texts(await sim.send("/start cmd_nosuch", SECRETARY)))  # not a command: the usual welcome
    assert "哪一天做的整治" not in unknown and "/report" in unknown
    calls = await sim.send("/start cmd_bind", SECRETARY)  # a group-only command is not started in private
    assert not any("只能在群聊中使用" in c.text for c in calls if c.method == "sendMessage")
