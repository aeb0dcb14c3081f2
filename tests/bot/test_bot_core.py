"""The bot's core through the real Application and the in-memory Bot API: /start, /help,
/lang, unexpected input, the error handler, persistence across a restart."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.fakebot import FakeBotAPI
from bot.simulator import Simulator, texts
from tests.conftest import MEMBER, SECRETARY, STRANGER, make_settings, start_sim


async def test_start_for_a_stranger_explains_the_bot_in_chinese(sim: Simulator) -> None:
    replies = texts(await sim.send("/start", STRANGER))
    assert len(replies) == 1
    assert "邀请链接" in replies[0] and "人居环境整治" in replies[0]


async def test_help_for_a_stranger_says_how_to_join(sim: Simulator) -> None:
    (reply,) = texts(await sim.send("/help", STRANGER))
    assert "邀请链接" in reply and "/help" in reply and "/lang" in reply


async def test_start_for_a_known_person_greets_by_name_and_role(sim: Simulator, org) -> None:
    (reply,) = texts(await sim.send("/start", SECRETARY))
    assert "孙书记" in reply and "村(社区)党组织书记" in reply


async def test_lang_switches_and_is_remembered_across_restart(settings, org) -> None:
    first = await start_sim(settings)
    await first.send("/lang", MEMBER)
    reply = texts(await first.press("English", MEMBER))
    assert reply == ["Done: I will talk to you in English from now on."]
    (help_text,) = texts(await first.send("/help", MEMBER))
    assert help_text.startswith("Commands you can use")
    await first.stop()

    second = await start_sim(settings)
    try:
        (help_text,) = texts(await second.send("/help", MEMBER))
        assert help_text.startswith("Commands you can use")
        (other,) = texts(await second.send("/help", SECRETARY))
        assert other.startswith("可以使用的命令")
    finally:
        await second.stop()


async def test_lang_sets_the_users_command_menu(sim: Simulator, org) -> None:
    await sim.send("/lang", MEMBER)
    calls = await sim.press("English", MEMBER)
    menus = [c for c in calls if c.method == "setMyCommands"]
    assert menus and menus[-1].params["scope"]["chat_id"] == MEMBER
    assert "Commands you can use" in str(menus[-1].params["commands"])


async def test_startup_publishes_menus_per_language_and_scope(sim: Simulator) -> None:
    menus = [c for c in sim.api.calls if c.method == "setMyCommands"]
    scopes = {(c.params["scope"]["type"], c.params.get("language_code")) for c in menus}
    for lang in (None, "en"):  # Chinese is the default menu; English for English clients
        assert ("all_private_chats", lang) in scopes and ("all_group_chats", lang) in scopes


async def test_unexpected_input_in_private_gets_a_polite_hint(sim: Simulator) -> None:
    for calls in (await sim.sticker(STRANGER), await sim.voice(STRANGER), await sim.send("随便说点什么", STRANGER)):
        (text,) = texts(calls)
        assert text.startswith("您好!您还没有加入") and "邀请码" in text  # a stranger: how to join


async def test_quiet_in_groups_and_for_edits_and_channel_posts(sim: Simulator) -> None:
    assert texts(await sim.send("大家好", STRANGER, chat_id=-100500)) == []
    assert texts(await sim.sticker(STRANGER, chat_id=-100500)) == []
    assert texts(await sim.edit("改一下", STRANGER)) == []
    post = {"message_id": 1, "date": 0, "chat": {"id": -100900, "type": "channel", "title": "c"}, "text": "x"}
    assert texts(await sim.feed({"channel_post": post})) == []


async def test_cancel_with_nothing_in_progress(sim: Simulator) -> None:
    assert texts(await sim.send("/cancel", STRANGER)) == ["现在没有正在进行的操作,不需要取消。"]
    # typed, as on a phone: the same answer, not "I did not understand"
    assert texts(await sim.send("取消", STRANGER)) == ["现在没有正在进行的操作,不需要取消。"]
    assert texts(await sim.send("算了", STRANGER)) == ["现在没有正在进行的操作,不需要取消。"]


async def test_stale_button_is_answered(sim: Simulator) -> None:
    calls = await sim.click("gone:away:1", STRANGER)
    (answer,) = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "失效" in answer.params["text"]


async def test_error_handler_apologises_and_reports_to_admin_chat(tmp_path, caplog) -> None:
    settings = make_settings(tmp_path / "e.db", admin_chat=-100777)
    sim = await start_sim(settings)

    async def explode(update: Update, context) -> None:
        raise RuntimeError("kaputt 13800000001")

    prepend(sim, CommandHandler("explode", explode))
    try:
        with caplog.at_level(logging.ERROR, logger="cadre.errors"):
            calls = await sim.send("/explode", STRANGER)
        to_user = [c.text for c in calls if c.chat_id == STRANGER and c.method == "sendMessage"]
        assert to_user == ["抱歉,刚才出了点问题,您的操作没有完成。请稍后再试一次;如果还不行,请联系管理员。"]
        (report,) = [c.text for c in calls if c.chat_id == -100777]
        assert "RuntimeError" in report and "/explode" in report
        assert "Traceback" not in " ".join(to_user)
        assert any("kaputt" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    finally:
        await sim.stop()


def prepend_to(app, handler) -> None:
    """Add a test handler ahead of the real ones in group 0 (where the catch-all lives)."""
    app.add_handler(handler)
    app.handlers[0].remove(handler)
    app.handlers[0].insert(0, handler)


def prepend(sim: Simulator, handler) -> None:
    prepend_to(sim.app, handler)


PROBE_NAME, PROBE_AGE = range(2)


def probe_conversation() -> ConversationHandler:
    """A two-question conversation used to prove that states survive a restart."""

    async def begin(update: Update, context) -> int:
        context.user_data["probe"] = {"started": True}
        await update.effective_message.reply_text("name?")
        return PROBE_NAME

    async def got_name(update: Update, context) -> int:
        context.user_data["probe"]["name"] = update.effective_message.text
        await update.effective_message.reply_text("age?")
        return PROBE_AGE

    async def got_age(update: Update, context) -> int:
        probe = context.user_data["probe"]
        await update.effective_message.reply_text(f"{probe['name']} {update.effective_message.text}")
        return ConversationHandler.END

    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("probe", begin)],
        states={PROBE_NAME: [MessageHandler(text, got_name)], PROBE_AGE: [MessageHandler(text, got_age)]},
        fallbacks=[],
        name="probe",
        persistent=True,
    )


async def test_restart_mid_conversation_resumes_at_the_same_step(settings) -> None:
    first = await start_sim(settings, before_start=lambda app: prepend_to(app, probe_conversation()))
    await first.send("/probe", STRANGER)
    assert texts(await first.send("王大爷", STRANGER)) == ["age?"]
    # a hard stop: no graceful flush beyond what the processor already did after each update
    await first.app.services.repos.db.close()
    first.app.services.repos = None

    second = await start_sim(settings, before_start=lambda app: prepend_to(app, probe_conversation()))
    try:
        assert texts(await second.send("67", STRANGER)) == ["王大爷 67"]
    finally:
        await second.stop()


async def test_fake_bot_api_records_calls_and_serves_files() -> None:
    api = FakeBotAPI()
    from telegram import Bot

    async with Bot("1:x", request=api, get_updates_request=api) as bot:
        sent = await bot.send_message(42, "你好")
        await bot.edit_message_text("改了", chat_id=42, message_id=sent.message_id)
        photo = await bot.send_photo(42, b"png-bytes", caption="图")
        data = await (await bot.get_file(photo.photo[-1].file_id)).download_as_bytearray()
    assert [c.method for c in api.calls] == ["getMe", "sendMessage", "editMessageText", "sendPhoto", "getFile"]
    assert api.message(42, sent.message_id)["text"] == "改了"
    assert bytes(data) == b"png-bytes"
