"""The form engine's core, without Telegram: a toy three-question form (tests/helpers/forms.py,
the ~40 lines a newcomer needs for a new form) gets every generic behaviour for free."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

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
from tests.conftest import TZ
from tests.helpers.forms import ENV, RECORDS, TOY, User, toy_read


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


# -- what /report needs without report-only options: a Custom photo step that takes an album
#    quietly (Outcome.quiet), photos kept from any step for the photo step (Form.aside), and a
#    better answer than form.stale for a second 保存 after the form ended (Form.late) ---------------
async def album_handle(env: Env, draft: dict, inp: Input) -> core.Outcome:
    if inp.kind == "photos":
        first = inp.album is None or draft.get("album") != inp.album
        draft["album"] = inp.album
        draft["pics"] = [*(draft.get("pics") or []), *inp.photos]
        return core.Outcome(quiet=not first, note=None if not first else f"got {len(draft['pics'])}")
    return core.Outcome(done=inp.action == "ok" and bool(draft.get("pics")), alert="none yet")


async def album_show(env: Env, draft: dict) -> Screen:
    return Screen(f"photos: {len(draft.get('pics') or [])}", [[core.Button("done", core.payload("pics", "ok"))]])


async def keep_photos(env: Env, draft: dict, inp: Input) -> core.Outcome | None:
    if inp.kind != "photos":
        return None  # not for the form: the wrong-input hint
    first = inp.album is None or draft.get("album") != inp.album
    draft["album"] = inp.album
    draft["pics"] = [*(draft.get("pics") or []), *inp.photos]
    return core.Outcome(note="kept for later" if first else None, quiet=not first)


async def saved_as(env: Env, inp: Input) -> str | None:
    return f"already saved: {inp.arg}" if inp.action == "save" and inp.arg in RECORDS else None


async def pics_save(env: Env, draft: dict) -> Saved:
    RECORDS[draft["token"]] = {"place": draft["place"], "pics": draft["pics"]}
    return Saved(Screen("pics saved"))


async def pics_review(env: Env, draft: dict) -> str:
    return f"review {draft['place']} {len(draft['pics'])}"


PICS = Form(
    "pics",
    steps=[
        Text("place", ask="pics.ask.place", label="pics.field.place"),
        core.Custom("pics", show=album_show, handle=album_handle, kind_="photos", label="pics.field.pics"),
    ],
    review=pics_review,
    save=pics_save,
    aside=keep_photos,
    late=saved_as,
)


async def test_a_custom_photo_step_takes_an_album_quietly_and_photos_are_kept_from_any_step() -> None:
    user = User(PICS)
    await user.open()
    reply = await user.go(Input("photos", photos=("a0",), album="g1"))  # at the text step
    assert reply.notes == ["kept for later"] and user.state == "pics:place" and reply.screen is not None
    reply = await user.go(Input("photos", photos=("a1",), album="g1"))
    assert reply.screen is None and reply.notes == [] and user.state == "pics:place"
    await user.say("村口")
    assert user.state == "pics:pics" and "photos: 2" in user.text()
    replies = [await user.go(Input("photos", photos=(f"b{i}",), album="g2")) for i in range(3)]
    assert [r.notes for r in replies] == [["got 3"], [], []]
    assert [r.screen is None for r in replies] == [False, True, True] and len(user.draft["pics"]) == 5
    await user.go(Input("button", payload="pics:ok:", message_id=user.draft["asked"]))  # on the album's screen
    assert user.state == "pics:review"


async def test_without_aside_a_photo_at_a_text_step_gets_the_hint() -> None:
    from dataclasses import replace

    user = User(replace(PICS, aside=None))
    await user.open()
    reply = await user.go(Input("photos", photos=("a0",)))
    assert reply.notes == ["这一步需要您输入文字或点按钮,请按提示操作。"] and "pics" not in user.draft


async def test_a_late_press_gets_the_form_s_own_answer_else_stale() -> None:
    user = User(PICS)
    await user.open()
    await user.say("村口")
    await user.go(Input("photos", photos=("a0",)))
    await user.press("done")
    token = user.draft["token"]
    reply = await user.press("💾")
    assert reply.state is None and RECORDS[token]["pics"] == ["a0"]
    again = await core.handle(PICS, ENV, None, Input("button", payload=f"pics:save:{token}", message_id=1))
    assert again.alert == f"already saved: {token}" and again.draft is None
    other = await core.late(PICS, ENV, Input("button", payload="pics:back:", message_id=1))
    assert other.alert == "这个按钮已经失效了,请看最新的一条消息,或重新发送命令。"


async def test_an_entry_button_its_setup_refuses_gets_the_late_answer_when_there_is_one() -> None:
    """An offer's 保存 tapped again: the setup refuses (the offer is used up), and the form's
    ``late`` answer replaces the refusal; without one, or for another input, the refusal stays."""
    from dataclasses import replace

    RECORDS["tok1"] = {}

    async def offer_late(env: Env, inp: Input) -> str | None:
        return f"already saved: {inp.arg}" if inp.action == "open" and inp.arg in RECORDS else None

    async def used_up(env: Env, draft: dict) -> str:
        return "form.stale"

    form = replace(PICS, entry="open", setup=used_up, late=offer_late)
    press = Input("button", payload="pics:open:tok1", message_id=1)
    reply = await core.open_form(form, ENV, None, "tok1", inp=press)
    assert reply.alert == "already saved: tok1" and reply.state is None and reply.draft is None
    other = await core.open_form(form, ENV, None, "tok2", inp=Input("button", payload="pics:open:tok2", message_id=1))
    assert other.alert == "这个按钮已经失效了,请看最新的一条消息,或重新发送命令。"
    plain = await core.open_form(replace(form, late=None), ENV, None, "tok1", inp=press)
    assert plain.alert == "这个按钮已经失效了,请看最新的一条消息,或重新发送命令。"


# -- Form.read: several fields in one answer at the first question (issue 14, item 3) ------------
async def test_a_first_answer_with_several_fields_jumps_to_the_first_missing_one() -> None:
    from dataclasses import replace

    user = User(replace(TOY, read=toy_read))
    await user.open()
    reply = await user.say("村民大会 明天开")
    assert reply.notes == ["✅ 从您的消息里读到了:toy.field.title、toy.field.day。不对的地方可以在最后核对时修改。"]
    assert user.state == "toy:people" and user.draft["filled"] == ["title", "day"]
    await user.say("12")
    assert user.state == "toy:review" and "review: 村民大会 / 12 / 2026-11-23" in user.text()
    await user.press("返回")
    assert user.state == "toy:people"
    await user.press("返回")
    assert user.state == "toy:title"  # the first question, where the message was typed


async def test_a_first_answer_with_every_field_goes_to_the_review_and_an_edit_unmarks_it() -> None:
    from dataclasses import replace

    user = User(replace(TOY, read=toy_read))
    await user.open()
    await user.say("党员会 明天 20人")
    assert user.state == "toy:review" and "review: 党员会 / 20 / 2026-11-23" in user.text()
    await user.press("改toy.field.people")
    await user.say("25")
    assert user.state == "toy:review" and user.draft["filled"] == ["title", "day"]


async def test_the_reader_only_at_the_first_question_and_only_when_it_found_something() -> None:
    from dataclasses import replace

    user = User(replace(TOY, read=toy_read))
    await user.open()
    await user.say("支部会")  # one field: the title, as usual
    assert user.state == "toy:people" and user.draft["title"] == "支部会" and "filled" not in user.draft
    reply = await user.say("党员会 明天 20人")  # not the first question: a count step's answer
    assert user.state == "toy:people" and reply.notes == ["没看懂这个数,请输入0到500之间的数字,例如:12。"]
    assert user.draft["title"] == "支部会" and "day" not in user.draft


async def test_a_caption_is_read_like_a_message_and_its_photos_are_kept() -> None:
    from dataclasses import replace

    async def read_place(env: Env, draft: dict, inp: Input) -> list[str]:
        if "村口" in inp.text:
            draft["place"] = "村口"
            return ["place"]
        return []

    user = User(replace(PICS, read=read_place))
    await user.open()
    reply = await user.go(Input("photos", photos=("c0",), album="g9", text="村口清理"))
    assert user.state == "pics:pics" and user.draft["place"] == "村口" and user.draft["pics"] == ["c0"]
    assert reply.notes[0] == "kept for later" and "pics.field.place" in reply.notes[1]
    await user.go(Input("photos", photos=("c1",), album="g9"))
    assert user.draft["pics"] == ["c0", "c1"] and user.state == "pics:pics"


# -- a form opened on a prepared draft (a report offered from one message, a correction of a
#    saved one): the setup fills it and marks it ``filled``; only what is missing is asked -------
async def test_a_prepared_draft_asks_only_what_is_missing_or_opens_at_the_review() -> None:
    from dataclasses import replace

    async def from_message(env: Env, draft: dict) -> None:
        draft.update(title="党员会", day=datetime(2026, 11, 23, 23, 59, tzinfo=TZ).isoformat())
        draft["filled"] = ["title", "day"]
        if draft["arg"] == "all":  # e.g. a saved report to correct
            draft["people"], draft["filled"] = 9, ["title", "people", "day"]

    form = replace(TOY, setup=from_message, entry="offer")
    user = User(form)
    await user.go(core.open_form(form, ENV, None, "some"))
    assert user.state == "toy:people" and "(第2步,共3步)" in user.text()
    await user.say("12")
    assert user.state == "toy:review" and "review: 党员会 / 12 / 2026-11-23" in user.text()
    other = User(form)
    await other.go(core.open_form(form, ENV, None, "all"))
    assert other.state == "toy:review" and "review: 党员会 / 9" in other.text()
    await other.press("改toy.field.day")
    await other.say("后天")
    assert other.state == "toy:review" and other.draft["filled"] == ["title", "people"]


# -- Form.closed: a draft set aside while another one of the same form was open (a correction of a
#    saved report while a new one was half filled) comes back when the form ends -------------------
async def test_a_draft_set_aside_comes_back_when_the_form_is_saved_or_cancelled() -> None:
    from dataclasses import replace

    aside: dict[str, dict] = {}

    async def come_back(env: Env, draft: dict) -> tuple[dict | None, str]:
        kept = aside.pop("toy", None)
        return kept, "your other draft is kept" if kept else ""

    form = replace(TOY, closed=come_back)
    half = {"token": "t0", "history": ["title", "people"], "title": "半截的会", "arg": ""}
    for how in ("cancel", "save"):
        aside["toy"] = dict(half)
        user = User(form)
        await walk_to_review(user)
        reply = await (user.press("取消") if how == "cancel" else user.press("💾"))
        assert reply.state is None and reply.draft["title"] == "半截的会", how
        assert reply.screen.text.endswith("\n\nyour other draft is kept"), how
    user = User(form)  # nothing set aside: the form ends as usual
    await walk_to_review(user)
    reply = await user.press("取消")
    assert reply.draft is None and reply.screen.text == "已取消,没有保存任何内容。"
    user = User(form)  # typed cancel words too
    await user.open()
    aside["toy"] = dict(half)
    reply = await user.say("算了")
    assert reply.draft["title"] == "半截的会"


# -- Outcome.then: a Custom step may open another step, e.g. one 修改 button on the review that
#    opens a menu of the fields (as /report has) instead of one button per field ------------------
async def menu_show(env: Env, draft: dict) -> Screen:
    return Screen("which one?", [[core.Button(n, core.payload("toy", "field", n)) for n in ("title", "people")]])


async def menu_handle(env: Env, draft: dict, inp: Input) -> core.Outcome:
    return core.Outcome(done=True, then=inp.arg) if inp.action == "field" else core.Outcome(alert="pick one")


async def test_a_menu_step_opens_the_field_and_the_answer_returns_to_the_review() -> None:
    from dataclasses import replace

    steps = [replace(s, editable=False) for s in TOY.steps]
    menu = core.Custom("menu", show=menu_show, handle=menu_handle, review_only=True, label="toy.field.menu")
    user = User(replace(TOY, steps=[*steps, menu]))
    await walk_to_review(user)
    assert [label for label in user.labels() if "改" in label] == ["✏️ 改toy.field.menu"]
    await user.press("改toy.field.menu")
    assert user.state == "toy:menu" and user.text().endswith("which one?")
    await user.press("toy:field:people")
    assert user.state == "toy:people"
    await user.say("30")
    assert user.state == "toy:review" and "/ 30 /" in user.text()
    await user.press("改toy.field.menu")
    await user.press("toy:field:title")
    await user.press("返回")
    assert user.state == "toy:review" and "/ 30 /" in user.text()


# -- Step.substep: a follow-up question keeps the number of the step it belongs to -----------------
async def test_a_substep_is_not_counted_and_shows_its_step_s_number() -> None:
    from dataclasses import replace

    extra = Text("venue", ask="toy.ask.venue", label="toy.field.venue", substep=True,
                 when=lambda draft: (draft.get("title") or "").endswith("会"))
    title, people, day = TOY.steps
    user = User(replace(TOY, steps=[title, extra, people, day]))
    await user.open()
    assert "(第1步,共3步)" in user.text()
    await user.say("党员会")
    assert user.state == "toy:venue" and "(第1步,共3步)" in user.text()
    await user.say("村部")
    assert user.state == "toy:people" and "(第2步,共3步)" in user.text()


async def test_an_old_save_button_pressed_during_the_next_draft_gets_the_late_answer() -> None:
    user = User(PICS)
    await user.open()
    await user.say("村口")
    await user.go(Input("photos", photos=("a0",)))
    await user.press("done")
    token, review_id = user.draft["token"], user.draft["asked"]
    await user.press("💾")
    await user.open()  # a new draft, at its first question
    reply = await user.go(Input("button", payload=f"pics:save:{token}", message_id=review_id))
    assert reply.alert == f"already saved: {token}" and user.state == "pics:place" and user.draft["token"] != token
    reply = await user.go(Input("button", payload="pics:ok:", message_id=review_id))
    assert reply.alert == "这个按钮已经失效了,请看最新的一条消息,或重新发送命令。" and user.state == "pics:place"


# -- Form.missing: a refused save asks what it still needs, one after another, then the review ----
async def test_a_refused_save_asks_each_missing_answer_then_the_review() -> None:
    from dataclasses import replace

    from bot.forms.core import OPEN_AT, SAVE, Retry

    def missing(env: Env, draft: dict) -> str | None:
        return next((name for name in ("title", "day") if not draft.get(name)), None)

    async def refusing_save(env: Env, draft: dict):
        step = missing(env, draft)
        return Retry(step, "form.wrong.text") if step else await TOY.save(env, draft)

    async def from_message(env: Env, draft: dict) -> None:  # a message that gave only the head count
        draft.update(people=7, filled=["people"])
        draft[OPEN_AT] = SAVE

    async def review(env: Env, draft: dict) -> str:
        return f"review: {draft.get('title')} / {draft.get('people')} / {(draft.get('day') or '-')[:10]}"

    form = replace(TOY, setup=from_message, entry="offer", save=refusing_save, missing=missing, review=review)
    user = User(form)
    await user.go(core.open_form(form, ENV, None, "x"))
    assert user.state == "toy:title"
    await user.say("党员会")
    assert user.state == "toy:day"  # the next missing answer, not the review
    await user.say("后天")
    assert user.state == "toy:review" and "review: 党员会 / 7" in user.text()
    # without the hook an answer goes back to the review (and its 保存 asks the next one)
    old = User(replace(form, missing=None))
    await old.go(core.open_form(old.form, ENV, None, "x"))
    await old.say("党员会")
    assert old.state == "toy:review"
