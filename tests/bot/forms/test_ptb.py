"""The toy form (tests/helpers/forms.py) through the real Application and the in-memory Bot API: every
generic behaviour of the engine, tested once, here."""

from __future__ import annotations

import json

import pytest

from bot.simulator import Simulator, texts
from handlers import flow
from handlers.auth import Command
from tests.conftest import RED_GROUP, SECRETARY, TOWNSHIP_ADMIN, Clock, Org, alerts, start_sim
from tests.conftest import local as at
from tests.helpers.forms import RECORDS, TOY, toy_read

NOW = at(2026, 11, 22, 10)
USER = SECRETARY


def not_listening(reply: str) -> bool:
    """The general fallback answered (no form took the message): how to join, for a stranger;
    the main actions, for someone who has joined."""
    return "还没有加入" in reply or "没看懂这句话" in reply


def use_toy(monkeypatch) -> None:
    """Register the toy form, with a command of the bot's table (anybody may use it)."""
    monkeypatch.setattr(flow, "EXTRA_FORMS", [TOY])
    monkeypatch.setattr(TOY, "command", Command("toy"))


@pytest.fixture
async def sim(settings, monkeypatch):
    use_toy(monkeypatch)
    simulator = await start_sim(settings, jobs=True)
    simulator.app.services.extras["clock"] = Clock(NOW)
    try:
        yield simulator
    finally:
        await simulator.stop()


def labels(sim: Simulator, user: int = USER) -> list[str]:
    return [b["text"] for b in sim.last_keyboard(user)[1]]


def draft(sim: Simulator, user: int = USER) -> dict | None:
    return sim.app.user_data[user].get("toy")


async def to_review(sim: Simulator) -> None:
    await sim.send("/toy", USER)
    await sim.send("村民代表会", USER)
    await sim.send("12", USER)
    await sim.send("下周五", USER)


async def test_walk_back_skip_edit_and_a_double_tapped_save(sim: Simulator) -> None:
    (q,) = texts(await sim.send("/toy", USER))
    assert "(第1步,共3步)" in q and "toy.ask.title" in q
    (q,) = texts(await sim.send("会议", USER))
    assert "✅ toy.field.title:会议" in q and "toy.ask.people" in q
    (q,) = texts(await sim.press("返回", USER))
    assert "toy.ask.title" in q
    await sim.send("村民代表会", USER)
    await sim.press("跳过", USER)
    (review,) = texts(await sim.send("下周五", USER))
    assert "✅ toy.field.day:11月27日(周五) 23:59" in review and "review: 村民代表会 / None / 2026-11-27" in review
    await sim.press("改toy.field.people", USER)
    (review,) = texts(await sim.send("十二", USER))
    assert "review: 村民代表会 / 12" in review
    token = draft(sim)["token"]
    saved = await sim.press("保存", USER)
    assert texts(saved) == ["saved: 村民代表会"] and draft(sim) is None
    again = await sim.click(f"toy:save:{token}", USER, message_call=saved[-1])  # double tap
    assert alerts(again) == ["这个按钮已经失效了,请看最新的一条消息,或重新发送命令。"]
    assert list(RECORDS).count(token) == 1 and RECORDS[token]["people"] == 12


async def test_stale_buttons_and_payloads_of_a_form_never_opened(sim: Simulator) -> None:
    assert alerts(await sim.click("toy:save:abc", USER))  # never opened
    first = await sim.send("/toy", USER)
    await sim.send("会议", USER)
    calls = await sim.click("toy:back:", USER, message_call=first[-1])  # the first question's message
    assert alerts(calls) == ["这个按钮已经失效了,请看最新的一条消息,或重新发送命令。"]
    assert draft(sim)["history"] == ["title", "people"]


@pytest.mark.parametrize("words", ["取消", "算了,不报了"])
async def test_typed_cancel_at_a_text_step_and_a_count_step(sim: Simulator, words: str) -> None:
    await sim.send("/toy", USER)
    assert texts(await sim.send(words, USER)) == ["已取消,没有保存任何内容。"]
    assert draft(sim) is None
    await sim.send("/toy", USER)
    await sim.send("会议", USER)
    assert texts(await sim.send(words, USER)) == ["已取消,没有保存任何内容。"]
    assert draft(sim) is None
    assert not_listening(texts(await sim.send("会议", USER))[0])  # nothing listens any more


async def test_cancel_button_and_command(sim: Simulator) -> None:
    await sim.send("/toy", USER)
    assert texts(await sim.press("取消", USER)) == ["已取消,没有保存任何内容。"]
    await sim.send("/toy", USER)
    assert texts(await sim.send("/cancel", USER)) == ["已取消,没有保存任何内容。"]


async def test_a_command_pauses_runs_at_once_and_the_form_offers_to_go_on(sim: Simulator) -> None:
    await sim.send("/toy", USER)
    await sim.send("会议", USER)
    paused, helped = texts(await sim.send("/help", USER))
    assert paused == "⏸ 填写先暂停,内容都保留着;之后发送 /toy 可以接着填写。" and "/help" not in paused and helped
    assert not_listening(texts(await sim.send("12", USER))[0])  # the form no longer listens
    (offer,) = texts(await sim.send("/toy", USER))
    assert "“会议”" in offer and labels(sim) == ["继续填写", "重新开始"]
    (q,) = texts(await sim.press("继续填写", USER))
    assert "toy.ask.people" in q


async def test_wrong_input_hints(sim: Simulator) -> None:
    await sim.send("/toy", USER)
    hint, q = texts(await sim.sticker(USER))
    assert hint == "这一步需要您输入文字或点按钮,请按提示操作。" and "toy.ask.title" in q
    await sim.send("会议", USER)
    hint, _ = texts(await sim.send("很多", USER))
    assert "没看懂这个数" in hint


async def test_resume_after_a_restart(settings, monkeypatch) -> None:
    use_toy(monkeypatch)
    first = await start_sim(settings)
    first.app.services.extras["clock"] = Clock(NOW)
    await first.send("/toy", USER)
    asked = await first.send("会议", USER)
    await first.stop()
    second = await start_sim(settings)
    second.app.services.extras["clock"] = Clock(NOW)
    try:
        (q,) = texts(await second.send("8", USER))  # the answer lands in the step it was asked in
        assert "✅ toy.field.people:8" in q and "toy.ask.day" in q
        stale = await second.click("toy:skip:", USER, message_call=asked[-1])
        assert alerts(stale)  # the people question's message is older than the day question
        (offer,) = texts(await second.send("/toy", USER))  # its own command inside: the offer
        assert "“会议”" in offer
        (q,) = texts(await second.press("继续填写", USER))
        assert "toy.ask.day" in q
    finally:
        await second.stop()


async def test_timeout_pauses_and_keeps_the_draft(sim: Simulator) -> None:
    await sim.send("/toy", USER)
    await sim.send("会议", USER)
    (job,) = [j for j in sim.app.job_queue.jobs() if j.name == "_trigger_timeout"]
    sim.api.clear()
    await job.run(sim.app)
    assert "30分钟" in sim.api.sent()[0].text
    assert draft(sim)["title"] == "会议"
    assert not_listening(texts(await sim.send("12", USER))[0])
    (offer,) = texts(await sim.send("/toy", USER))
    assert "“会议”" in offer


async def test_one_conversation_at_a_time_with_the_old_flows(sim: Simulator, org: Org) -> None:
    # an old conversation, then a form: once the form is over, the old one no longer listens
    await sim.send("/report", USER)
    paused, asked = texts(await sim.send("/toy", USER))
    assert "暂停" in paused and "/report" in paused and "toy.ask.title" in asked  # told, like a form's pause
    assert "toy.ask.title" in texts(await sim.send("/toy", USER))[0]
    await sim.send("/cancel", USER)
    assert not_listening(texts(await sim.send("昨天", USER))[0])
    # a form, then an old conversation: the form is paused, its draft kept
    await sim.send("/toy", USER)
    await sim.send("会议", USER)
    replies = texts(await sim.send("/report", USER))
    assert replies[0].startswith("⏸") and len(replies) >= 2
    await sim.send("/cancel", USER)
    assert not_listening(texts(await sim.send("12", USER))[0])
    assert draft(sim)["title"] == "会议"


async def test_the_form_s_permission_check(sim: Simulator, org: Org, monkeypatch) -> None:
    from handlers.auth import ADMINS

    monkeypatch.setattr(TOY, "command", Command("toy", ADMINS))
    assert "仅限" in texts(await sim.send("/toy", USER))[0]
    assert "toy.ask.title" in texts(await sim.send("/toy", TOWNSHIP_ADMIN))[0]


async def test_an_older_entry_button_of_another_form_takes_over_from_a_form(sim: Simulator, org: Org) -> None:
    await sim.send("/toy", USER)
    await sim.send("会议", USER)
    await sim.click("hh:menu:", USER)  # the /households overview's button before the engine (an alias)
    (found,) = texts(await sim.send("张三", USER))  # typed text goes to the household search
    assert "张三" in found and "toy.ask" not in found
    assert draft(sim)["title"] == "会议"  # the form was paused, its draft kept


async def test_a_form_whose_draft_was_wiped_lets_the_message_go_on(sim: Simulator) -> None:
    await sim.send("/toy", USER)
    sim.app.user_data[USER].pop("toy")
    assert not_listening(texts(await sim.send("会议", USER))[0])
    assert alerts(await sim.press("取消", USER))  # the old question's button is stale
    assert "toy.ask.title" in texts(await sim.send("/toy", USER))[0]


def test_a_voice_note_becomes_a_voice_input() -> None:
    from telegram import Update

    from bot.forms.ptb import to_input

    data = {"update_id": 1, "message": {"message_id": 5, "date": 0, "chat": {"id": 7, "type": "private"},
                                        "voice": {"file_id": "vf", "file_unique_id": "u", "duration": 3}}}
    inp = to_input(Update.de_json(data, None))
    assert (inp.kind, inp.voice) == ("voice", "vf")


async def test_an_older_payload_of_the_entry_button_opens_the_form(settings, monkeypatch) -> None:
    """``Form.aliases``: a button on a message sent before the form existed still opens it."""
    use_toy(monkeypatch)
    monkeypatch.setattr(TOY, "entry", "start")
    monkeypatch.setattr(TOY, "aliases", ("oldtoy:go",))
    simulator = await start_sim(settings)
    simulator.app.services.extras["clock"] = Clock(NOW)
    try:
        (q,) = texts(await simulator.click("oldtoy:go:7", USER))
        assert "toy.ask.title" in q and draft(simulator)["arg"] == "7"
    finally:
        await simulator.stop()


async def test_a_late_press_gets_the_form_s_own_answer_through_the_adapter(sim: Simulator, monkeypatch) -> None:
    async def saved_as(env, inp):
        return f"已保存:{inp.arg}" if inp.action == "save" and inp.arg in RECORDS else None

    monkeypatch.setattr(TOY, "late", saved_as)
    await to_review(sim)
    token = draft(sim)["token"]
    saved = await sim.press("保存", USER)
    again = await sim.click(f"toy:save:{token}", USER, message_call=saved[-1])  # double tap, form closed
    assert alerts(again) == [f"已保存:{token}"]
    other = await sim.click("toy:back:", USER, message_call=saved[-1])
    assert alerts(other) == ["这个按钮已经失效了,请看最新的一条消息,或重新发送命令。"]
    assert list(RECORDS).count(token) == 1


async def test_an_album_with_a_caption_at_the_first_question_through_the_adapter(sim: Simulator, monkeypatch) -> None:
    from bot.forms.core import Outcome

    async def keep(env, draft, inp):
        if inp.kind != "photos":
            return None
        first = inp.album is None or draft.get("album") != inp.album
        draft["album"], draft["pics"] = inp.album, [*(draft.get("pics") or []), *inp.photos]
        return Outcome(note="照片已收下" if first else None, quiet=not first)

    monkeypatch.setattr(TOY, "aside", keep)
    monkeypatch.setattr(TOY, "read", toy_read)
    await sim.send("/toy", USER)
    kept, read, q = texts(await sim.photo(USER, caption="村民大会 明天开", media_group_id="m1"))
    assert kept == "照片已收下" and "toy.field.title、toy.field.day" in read and "toy.ask.people" in q
    assert texts(await sim.photo(USER, media_group_id="m1")) == []  # the rest of the album: quiet
    assert len(draft(sim)["pics"]) == 2 and draft(sim)["title"] == "村民大会"
    (review,) = texts(await sim.send("12", USER))
    assert "review: 村民大会 / 12 / 2026-11-23" in review


async def test_a_draft_kept_by_closed_is_offered_again(sim: Simulator, monkeypatch) -> None:
    half = {"token": "t0", "history": ["title", "people"], "title": "半截的会", "arg": ""}

    async def come_back(env, draft):
        return dict(half), "另一份还在"

    monkeypatch.setattr(TOY, "closed", come_back)
    await sim.send("/toy", USER)
    (cancelled,) = texts(await sim.send("取消", USER))
    assert cancelled == "已取消,没有保存任何内容。\n\n另一份还在" and draft(sim)["title"] == "半截的会"
    (offer,) = texts(await sim.send("/toy", USER))
    assert "“半截的会”" in offer and labels(sim) == ["继续填写", "重新开始"]


def timeout_jobs(sim: Simulator) -> list:
    return [j for j in sim.app.job_queue.jobs() if j.name == "_trigger_timeout"]


async def test_the_open_form_is_the_user_s_marker_saved_with_the_drafts(sim: Simulator) -> None:
    """No state of the handler's own: which form is open is in user_data, committed with the
    draft after each update; the idle timer goes when the form closes."""
    await sim.send("/toy", USER)
    await sim.send("会议", USER)
    [(data,)] = await sim.app.services.repos.db.fetchall("SELECT data FROM ptb_user_data WHERE user_id = ?", (USER,))
    stored = json.loads(data)
    assert stored["open_form"] == "toy" and stored["toy"]["title"] == "会议"
    assert await sim.app.services.repos.state.conversations("forms") == {}
    [job] = timeout_jobs(sim)
    await sim.press("取消", USER)
    assert timeout_jobs(sim) == [] and job.removed
    assert "open_form" not in sim.app.user_data[USER]
    sim.api.clear()
    await job.run(sim.app)  # a timer of a closed form says nothing
    assert sim.api.sent() == []


async def test_a_group_message_or_press_neither_reaches_nor_closes_the_private_form(sim: Simulator, org: Org) -> None:
    await sim.send("/toy", USER)
    await sim.send("会议", USER, RED_GROUP)  # said in a group: not the form's answer
    assert "title" not in (draft(sim) or {})
    refused = await sim.click("rsvp_why:start:1.20261122.ill", USER, RED_GROUP)  # a form's entry, in a group
    assert alerts(refused)
    assert sim.app.user_data[USER]["open_form"] == "toy"
    (q,) = texts(await sim.send("会议", USER))  # in private, the form still takes the answer
    assert "✅ toy.field.title:会议" in q
