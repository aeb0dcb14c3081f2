"""Three small additions to the engine, each for a form that needs it (first /visit): the time
of the user's message as the form's "now", a voice note as an input, and a Custom step that
names the step to ask next (a sub-question that comes back to its list)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.forms import core
from bot.forms.core import Custom, Env, Form, Input, Outcome, Saved, Screen, Text, When
from bot.i18n import Catalogs

TZ = ZoneInfo("Asia/Shanghai")
CLOCK = datetime(2026, 12, 1, 0, 5, tzinfo=TZ)  # the bot's clock: already the 1st
SENT = datetime(2026, 11, 30, 15, 58, tzinfo=ZoneInfo("UTC"))  # sent 23:58 on the 30th, Shanghai
ENV = Env(t=Catalogs().get("zh_CN"), now=CLOCK, tz="Asia/Shanghai")


async def save(env: Env, draft: dict) -> Saved:
    return Saved(Screen(f"saved {draft['day'][:10]} {draft.get('items')}"))


async def list_show(env: Env, draft: dict) -> Screen:
    return Screen(f"items: {draft.get('items') or []}", [[core.Button("add", "x:add:1"), core.Button("on", "x:on:1")]])


async def list_handle(env: Env, draft: dict, inp: Input) -> Outcome:
    if inp.action == "add":
        return Outcome(done=True, then="item")  # a sub-question, then back here
    return Outcome(done=True)


async def item_show(env: Env, draft: dict) -> Screen:
    return Screen("which item? (text or voice)")


async def item_handle(env: Env, draft: dict, inp: Input) -> Outcome:
    if inp.kind == "voice":
        draft.setdefault("items", []).append(f"voice {inp.voice} {inp.seconds}s")
    elif inp.kind == "text":
        draft.setdefault("items", []).append(inp.text)
    else:
        return Outcome(note="text or voice, please")
    return Outcome(done=True, then="items")


def form(message_clock: bool) -> Form:
    return Form(
        "x",
        steps=[
            When("day", ask="toy.ask.day", label="toy.field.day", want="past"),
            Custom("items", show=list_show, handle=list_handle),
            Custom("item", show=item_show, handle=item_handle, kind_="text", review_only=True, editable=False),
            Text("note", ask="toy.ask.title", label="toy.field.title"),
        ],
        review=None,
        save=save,
        message_clock=message_clock,
    )


async def test_a_message_clock_form_reads_today_from_the_message_and_remembers_it_for_presses() -> None:
    clocked = form(True)
    reply = await core.open_form(clocked, ENV, None, at=SENT)
    assert reply.draft["now"].startswith("2026-11-30T23:58")
    reply = await core.handle(clocked, ENV, reply.draft, Input("text", text="今天", at=SENT + timedelta(minutes=1)))
    assert reply.draft["day"].startswith("2026-11-30")  # the message's day, not the clock's
    # a press carries no time: the remembered one is used
    draft = reply.draft
    draft["asked"] = 7
    reply = await core.handle(clocked, ENV, draft, Input("button", payload="x:on:1", message_id=7))
    assert reply.draft["now"].startswith("2026-11-30T23:59") and reply.state == "x:note"

    plain = form(False)  # every other form: the bot's clock
    reply = await core.open_form(plain, ENV, None, at=SENT)
    assert "now" not in reply.draft
    reply = await core.handle(plain, ENV, reply.draft, Input("text", text="今天", at=SENT))
    assert reply.draft["day"].startswith("2026-12-01")


async def test_a_custom_step_names_the_next_step_and_a_voice_note_is_an_input() -> None:
    x = form(False)
    reply = await core.open_form(x, ENV, None)
    reply = await core.handle(x, ENV, reply.draft, Input("text", text="昨天"))
    assert reply.state == "x:items"
    reply = await core.handle(x, ENV, reply.draft, Input("button", payload="x:add:1"))
    assert reply.state == "x:item" and "which item" in reply.screen.text
    reply = await core.handle(x, ENV, reply.draft, Input("photos", photos=("p",)))
    assert reply.state == "x:item" and reply.notes == ["text or voice, please"]
    reply = await core.handle(x, ENV, reply.draft, Input("voice", voice="v1", seconds=7))
    assert reply.state == "x:items" and "voice v1 7s" in reply.screen.text
    reply = await core.handle(x, ENV, reply.draft, Input("button", payload="x:back"))
    assert reply.state == "x:item"  # 返回 goes back through the sub-question
    reply = await core.handle(x, ENV, reply.draft, Input("text", text="修水渠"))
    reply = await core.handle(x, ENV, reply.draft, Input("button", payload="x:on:1"))
    assert reply.state == "x:note" and reply.draft["items"] == ["voice v1 7s", "修水渠"]
    # a voice note where text is asked gets the text hint, the draft unchanged
    reply = await core.handle(x, ENV, reply.draft, Input("voice", voice="v2", seconds=2))
    assert reply.state == "x:note" and reply.notes == [ENV.t("form.wrong.text")]


async def test_setup_may_refuse_with_a_screen() -> None:
    async def nobody(env: Env, draft: dict) -> Screen:
        return Screen("您名下还没有联系户,请找本村书记孙书记。")

    refusing = Form("x", steps=[Text("note")], save=save, setup=nobody)
    reply = await core.open_form(refusing, ENV, None)
    assert reply.draft is None and reply.state is None and reply.screen.text.startswith("您名下还没有联系户")


async def test_the_rest_of_an_album_is_ignored_after_a_step_took_one_photo() -> None:
    async def one_photo(env: Env, draft: dict, inp: Input) -> Outcome:
        if inp.kind != "photos":
            return Outcome(note="a photo, please")
        draft.update(photo=inp.photos[0], album=inp.album)
        return Outcome(done=True)

    async def show(env: Env, draft: dict) -> Screen:
        return Screen("photo?")

    async def review(env: Env, draft: dict) -> str:
        return f"review {draft['photo']}"

    x = Form("x", steps=[Custom("photo", show=show, handle=one_photo, kind_="photos")], save=save, review=review)
    reply = await core.open_form(x, ENV, None)
    reply = await core.handle(x, ENV, reply.draft, Input("photos", photos=("p1",), album="a1"))
    assert reply.state == "x:review" and reply.screen.text == "review p1"
    reply = await core.handle(x, ENV, reply.draft, Input("photos", photos=("p2",), album="a1"))
    assert reply.state == "x:review" and reply.screen is None and not reply.notes and reply.draft["photo"] == "p1"
    reply = await core.handle(x, ENV, reply.draft, Input("photos", photos=("p3",), album="other"))
    assert reply.notes == [ENV.t("form.wrong.buttons")]  # a new photo at the review: the usual hint


# -- quick_or_typed: a quick answer's button or a typed one (the return reasons) ---------------
async def test_quick_or_typed_takes_a_quick_button_or_a_typed_answer_and_refuses_the_rest() -> None:
    buttons, handle = core.quick_or_typed("toyret", "review.reason.", 4, max_len=10)
    rows = buttons(ENV.t)
    assert [r[0].payload for r in rows] == [f"toyret:why:{n}" for n in range(1, 5)]
    assert rows[0][0].label == ENV.t("review.reason.1")

    draft: dict = {}
    assert (await handle(ENV, draft, Input("button", payload="toyret:why:2"))).done
    assert draft["reason"] == ENV.t("review.reason.2")
    for bad in ("toyret:why:5", "toyret:why:0", "toyret:why:x", "toyret:other:1"):
        outcome = await handle(ENV, draft, Input("button", payload=bad))
        assert not outcome.done and outcome.alert == ENV.t("form.stale"), bad

    assert (await handle(ENV, draft, Input("text", text="  照片   不清楚 "))).done
    assert draft["reason"] == "照片 不清楚"  # one line
    too_long = await handle(ENV, draft, Input("text", text="太" * 11))
    assert not too_long.done and too_long.note == ENV.t("review.bad_reason", max=10)
    assert not (await handle(ENV, draft, Input("photos", photos=("p",)))).done
