"""The main menu: each role's main actions as a persistent keyboard whose buttons work like
their commands (in every language), /help in the order of the role's work, and a useful
answer to text outside any conversation."""

from __future__ import annotations

import re

from bot.i18n import Catalogs
from bot.simulator import Simulator, texts
from handlers.auth import MAIN_ACTIONS, commands_for, menu_command
from tests.conftest import MEMBER, SECRETARY, STRANGER, TOWNSHIP_ADMIN, Org
from tests.helpers.org import invite_member_of_village


def keyboard_of(sim: Simulator, chat_id: int) -> dict:
    call, _ = sim.last_keyboard(chat_id)
    assert call is not None
    return call.reply_markup or {}


def labels(markup: dict) -> list[str]:
    return [b["text"] for row in markup.get("keyboard", []) for b in row]


async def test_secretary_gets_a_persistent_menu_of_main_actions(sim: Simulator, org: Org) -> None:
    await sim.send("/start", SECRETARY)
    markup = keyboard_of(sim, SECRETARY)
    assert markup.get("is_persistent") and markup.get("resize_keyboard")
    assert labels(markup) == ["📝 上报整治", "🏠 登记走访", "📌 我的任务", "📞 待办跟进"]


async def test_a_menu_button_works_like_its_command(sim: Simulator, org: Org) -> None:
    by_button = texts(await sim.send("📌 我的任务", SECRETARY))
    by_command = texts(await sim.send("/tasks", SECRETARY))
    assert by_button == by_command and by_button
    started = texts(await sim.send("📝 上报整治", SECRETARY))
    assert started and "我没看懂" not in started[0]


async def test_a_menu_button_in_the_middle_of_a_report_switches_to_it(sim: Simulator, org: Org) -> None:
    await sim.send("/report", SECRETARY)
    switched = "\n".join(texts(await sim.send("📌 我的任务", SECRETARY)))
    assert "暂停" in switched and "/report" in switched  # paused, not answered with the button's text


async def test_menu_labels_of_every_language_map_back() -> None:
    catalogs = Catalogs()
    for lang in catalogs.languages:
        t = catalogs.get(lang)
        for actions in MAIN_ACTIONS.values():
            for name in actions:
                assert menu_command(t(f"menu.btn.{name}"), catalogs) == name
    assert menu_command("上报整治吧", catalogs) is None and menu_command(None, catalogs) is None


async def test_an_english_menu_still_works_after_switching_to_chinese(sim: Simulator, org: Org) -> None:
    assert texts(await sim.send("📌 My tasks", SECRETARY)) == texts(await sim.send("/tasks", SECRETARY))


async def test_help_lists_commands_in_the_order_of_the_work(sim: Simulator, org: Org) -> None:
    (secretary_help,) = texts(await sim.send("/help", SECRETARY))
    assert re.findall(r"^/(\w+)", secretary_help, re.M)[:3] == ["report", "myreports", "visit"]
    (admin_help,) = texts(await sim.send("/help", TOWNSHIP_ADMIN))
    listed = re.findall(r"^/(\w+)", admin_help, re.M)
    assert listed[0] == "review" and listed.index("stars") > listed.index("export")
    assert listed[-1] == "cancel"
    (member_help,) = texts(await sim.send("/help", MEMBER))
    assert re.findall(r"^/(\w+)", member_help, re.M)[:3] == ["visit", "followups", "tasks"]
    assert labels(keyboard_of(sim, MEMBER)) == ["🏠 登记走访", "📞 待办跟进", "📌 我的任务"]
    assert [c.name for c in commands_for(None, in_group=False)][:2] == ["start", "help"]


async def test_a_stranger_saying_hello_is_told_how_to_join(sim: Simulator, org: Org) -> None:
    (answer,) = texts(await sim.send("你好", STRANGER))
    assert "邀请" in answer and "邀请码" in answer and "我没看懂" not in answer
    call, _ = sim.last_keyboard(STRANGER)
    assert call is None  # no menu for someone who has not joined


async def test_joined_users_unrecognised_text_gets_the_main_actions(sim: Simulator, org: Org) -> None:
    calls = await sim.send("今天天气不错", SECRETARY)
    assert "点下方的按钮" in texts(calls)[0]
    assert labels(calls[-1].reply_markup or {}) == ["📝 上报整治", "🏠 登记走访", "📌 我的任务", "📞 待办跟进"]



async def test_a_newcomer_gets_the_menu_when_joining(sim: Simulator, org: Org) -> None:
    await sim.app.services.repos.org.add_person("钱多多", "member", org.village.id)
    code = await invite_member_of_village(sim, org, "钱多多")
    calls = await sim.send(f"/start {code}", 4242)
    assert "钱多多,欢迎您" in texts(calls)[0]
    menu = next(c for c in calls if (c.reply_markup or {}).get("keyboard"))
    assert labels(menu.reply_markup) == ["🏠 登记走访", "📞 待办跟进", "📌 我的任务"]
