"""The form engine's core, without Telegram: a toy three-question form (tests/helpers/forms.py,
the ~40 lines a newcomer needs for a new form) gets every generic behaviour for free."""

from __future__ import annotations

import subprocess
import sys

from bot.forms import core
from bot.forms.core import (
    Choice,
    Env,
    Form,
    Input,
    Location,
    Photos,
    Saved,
    Screen,
    Text,
)
from tests.helpers.forms import ENV, RECORDS, TOY, User


async def walk_to_review(user: User) -> None:
    await user.open()
    await user.say("村民代表会")
    await user.say("12")
    await user.say("下周五")


async def test_three_questions_with_progress_echo_review_and_one_save() -> None:
    user = User()
    await user.open()
    assert user.state == "toy:title" and "(第1步,共3步)" in user.text() and "toy.ask.title" in user.text()
    assert "‹ 返回" not in user.labels() and "✖ 取消" in user.labels()
    await user.say("  村民代表会 ")
    assert user.state == "toy:people" and "✅ toy.field.title:村民代表会" in user.text()
    assert "跳过 ›" in user.labels() and "‹ 返回" in user.labels()
    await user.say("十二")
    assert user.draft["people"] == 12 and user.state == "toy:day"
    await user.say("下周五")
    assert user.state == "toy:review" and "✅ toy.field.day:11月27日(周五) 23:59" in user.text()
    assert "review: 村民代表会 / 12 / 2026-11-27" in user.text()
    token = user.draft["token"]
    reply = await user.press("保存")
    assert reply.state is None and reply.draft is None and reply.record == token
    assert RECORDS[token] == {"title": "村民代表会", "people": 12, "day": "2026-11-27T23:59:00+08:00"}


async def test_back_and_skip() -> None:
    user = User()
    await user.open()
    await user.say("会议")
    await user.press("返回")
    assert user.state == "toy:title"
    await user.say("会议二")
    await user.press("跳过")
    assert user.state == "toy:day" and user.draft["people"] is None
    await user.press("toy.quick.tomorrow")  # a quick button of the When step
    assert user.state == "toy:review" and user.draft["day"].startswith("2026-11-23")
    await user.press("返回")
    assert user.state == "toy:day"


async def test_edit_from_the_review_returns_to_the_review() -> None:
    user = User()
    await walk_to_review(user)
    await user.press("改toy.field.title")
    assert user.state == "toy:title"
    await user.say("党员大会")
    assert user.state == "toy:review" and "党员大会 / 12" in user.text()
    await user.press("改toy.field.people")
    await user.press("返回")  # back from an edit: the review again, nothing changed
    assert user.state == "toy:review" and "党员大会 / 12" in user.text()


async def test_stale_buttons_are_refused_and_change_nothing() -> None:
    user = User()
    await walk_to_review(user)
    before = dict(user.draft)
    reply = await user.press("保存", message_id=user.message_id - 1)  # an older message
    assert reply.alert == ENV.t("form.stale") and reply.state == "toy:review" and user.draft == before
    reply = await user.go(Input("button", payload="other:save:x", message_id=user.message_id))
    assert reply.alert == ENV.t("form.stale")
    reply = await core.handle(TOY, ENV, None, Input("button", payload="toy:save:", message_id=1))
    assert reply.alert == ENV.t("form.stale") and reply.state is None  # a form never opened


async def test_typed_cancel_words_are_never_an_answer() -> None:
    assert core.is_cancel_words("算了,不报了") and core.is_cancel_words("取消") and core.is_cancel_words("先不填了吧。")
    assert not core.is_cancel_words("取消的会") and not core.is_cancel_words("。") and not core.is_cancel_words("了")
    user = User()
    await user.open()
    reply = await user.say("算了,不报了")
    assert reply.state is None and reply.draft is None and reply.screen.text == "已取消,没有保存任何内容。"
    await user.open()
    await user.say("会议")
    reply = await user.say("取消")  # at the count step: not "not a number"
    assert reply.state is None and reply.draft is None


async def test_wrong_input_gets_a_hint_from_the_step_kind() -> None:
    user = User()
    await user.open()
    reply = await user.go(Input("photos", photos=("f1",)))
    assert reply.notes == ["这一步需要您输入文字或点按钮,请按提示操作。"] and user.state == "toy:title"
    await user.say("会议")
    reply = await user.say("很多人")
    assert "没看懂这个数" in reply.notes[0] and user.state == "toy:people"
    await user.say("3")
    reply = await user.say("昨天")
    assert reply.notes == ["这个时间已经过去了,请输入以后的时间。"]
    await user.say("明天")
    reply = await user.say("保存")  # text at the review: use the buttons
    assert reply.notes == ["这一步请点上面的按钮来选择。"] and user.state == "toy:review"
    reply = await user.say("x" * 30)
    assert user.state == "toy:review"


async def test_another_command_pauses_and_the_form_offers_to_go_on() -> None:
    user = User()
    await user.open()
    await user.say("会议")
    reply = await user.say("/help")
    assert reply.hand_over and reply.state is None and reply.draft["title"] == "会议"
    assert reply.notes == ["⏸ 填写先暂停,内容都保留着;之后发送 /toy 可以接着填写。"]
    await user.open()
    assert user.state == "toy:resume" and "“会议”" in user.text()
    await user.press("继续填写")
    assert user.state == "toy:people"
    await user.say("/help")
    await user.open()
    await user.press("重新开始")
    assert user.state == "toy:title" and "title" not in user.draft


async def test_timeout_keeps_the_draft() -> None:
    user = User()
    await user.open()
    await user.say("会议")
    reply = core.timeout(TOY, ENV, user.draft)
    assert reply.state is None and reply.draft["title"] == "会议" and "30分钟" in reply.notes[0]


def test_buttons_fit_in_64_bytes() -> None:
    core.payload("toy", "edit", "x" * 50)
    try:
        core.payload("toy", "edit", "x" * 60)
    except ValueError:
        return
    raise AssertionError("a payload of 64 bytes or more was accepted")


def test_the_core_never_imports_telegram() -> None:
    code = "import sys, bot.forms.core; sys.exit('telegram' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- the other step kinds, on a second small form: a paged choice, photos only when they apply,
#    an optional location, and no review (saved after the last answer) --------------------------
async def kinds(env: Env, draft: dict) -> list[tuple[str, str]]:
    return [(c, f"kind {c}") for c in ("a", "b", "c", "d", "none")]


async def snap_save(env: Env, draft: dict) -> Saved:
    return Saved(Screen(f"snap saved: {draft['kind']} {len(draft.get('pics') or [])} {draft.get('where')}"))


SNAP = Form(
    "snap",
    steps=[
        Choice("kind", ask="snap.ask.kind", options=kinds, page_size=2),
        Photos("pics", ask="snap.ask.pics", when=lambda draft: draft.get("kind") != "none"),
        Location("where", ask="snap.ask.where", optional=True),
    ],
    save=snap_save,
)


async def test_a_paged_choice_an_album_acknowledged_once_and_a_location() -> None:
    user = User(SNAP)
    await user.open()
    assert user.labels()[:3] == ["kind a", "kind b", "下一页 ›"]
    reply = await user.say("kind a")
    assert reply.notes == ["这一步请点上面的按钮来选择。"]
    await user.press("下一页")
    assert user.labels()[:4] == ["kind c", "kind d", "‹ 上一页", "下一页 ›"]
    await user.press("kind c")
    assert user.state == "snap:pics"
    assert (await user.say("照片在这")).notes == ["这一步请发送照片,或点上面的按钮。"]
    replies = [await user.go(Input("photos", photos=(f"f{i}",), album="g1")) for i in range(3)]
    assert [r.screen is not None for r in replies] == [True, False, False] and user.draft["pics"] == ["f0", "f1", "f2"]
    await user.go(Input("photos", photos=("f3",)))  # a single photo later is acknowledged
    await user.press("好了")
    assert user.state == "snap:where"
    assert (await user.say("村口")).notes == ["这一步请发送位置(点 📎 → 位置),或点上面的按钮。"]
    reply = await user.go(Input("location", location=(34.5, 109.5)))
    assert reply.state is None and reply.screen.text == "snap saved: c 4 {'lat': 34.5, 'lon': 109.5}"


async def test_a_step_that_does_not_apply_is_skipped_and_not_counted() -> None:
    user = User(SNAP)
    await user.open()
    assert "(第1步,共3步)" in user.text()
    await user.press("下一页")
    await user.press("下一页")
    await user.press("kind none")
    assert user.state == "snap:where" and "(第2步,共2步)" in user.text()
    reply = await user.press("跳过")
    assert reply.screen.text == "snap saved: none 0 None"


async def test_back_from_the_review_after_edits_goes_to_the_last_question() -> None:
    user = User()
    await walk_to_review(user)
    await user.press("改toy.field.title")
    await user.say("党员大会")
    await user.press("改toy.field.people")
    await user.say("20")
    assert user.draft["history"] == ["title", "people", "day", "review"]
    await user.press("返回")
    assert user.state == "toy:day"


async def test_an_entry_button_pressed_inside_its_form_opens_it_for_that_argument() -> None:
    from dataclasses import replace

    form = replace(TOY, entry="start")  # e.g. 延期 on a task's page: toy:start:<task id>
    user = User(form)
    await user.go(core.open_form(form, ENV, None, "1"))
    await user.say("会议")
    await user.go(Input("button", payload="toy:start:2", message_id=99))  # another task's button
    assert user.state == "toy:title" and user.draft["arg"] == "2"
    await user.say("别的会")
    await user.go(Input("button", payload="toy:start:2", message_id=99))
    assert user.state == "toy:resume" and "“别的会”" in user.text()


async def test_a_step_an_earlier_answer_filled_is_not_asked_but_stays_editable() -> None:
    """``skip_answered``: a typed 每周三 14:30 answers the time too; 每周三 alone does not."""

    async def rule_show(env: Env, draft: dict) -> Screen:
        return Screen("rule?")

    async def rule_handle(env: Env, draft: dict, inp: Input) -> core.Outcome:
        rule, _, at = inp.text.partition(" ")
        draft["rule"], draft["at"] = rule, at or None
        return core.Outcome(done=True)

    async def review(env: Env, draft: dict) -> str:
        return f"{draft['rule']} {draft['at']}"

    async def save(env: Env, draft: dict) -> Saved:
        return Saved(Screen("ok"))

    form = Form("pre", steps=[
        core.Custom("rule", label="pre.rule", show=rule_show, handle=rule_handle, kind_="text"),
        Text("at", ask="pre.ask.at", label="pre.at", skip_answered=True),
    ], review=review, save=save)
    user = User(form)
    await user.open()
    await user.say("每周三 14:30")
    assert user.state == "pre:review" and "每周三 14:30" in user.text()
    await user.press("改pre.at")
    assert user.state == "pre:at"
    await user.say("15:00")
    assert user.state == "pre:review" and "每周三 15:00" in user.text()
    user = User(form)
    await user.open()
    await user.say("每周三")
    assert user.state == "pre:at"


async def test_a_voice_note_reaches_a_custom_step() -> None:
    async def show(env: Env, draft: dict) -> Screen:
        return Screen("what was done?")

    async def handle(env: Env, draft: dict, inp: Input) -> core.Outcome:
        draft["done"] = inp.voice if inp.kind == "voice" else inp.text
        return core.Outcome(done=True)

    async def save(env: Env, draft: dict) -> Saved:
        return Saved(Screen(f"closed with {draft['done']}"))

    form = Form("vo", steps=[core.Custom("done", show=show, handle=handle, kind_="text")], save=save)
    user = User(form)
    await user.open()
    reply = await user.go(Input("voice", voice="file-1"))
    assert reply.state is None and reply.screen.text == "closed with file-1"
