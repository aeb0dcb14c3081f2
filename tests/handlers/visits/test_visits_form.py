"""/visit on the form engine, what issue 13 (item 10) added: the expert service group asked
only with 专家服务联络 (and again when the role is added from the review), the follow-up
date's quick buttons, closing a household's follow-up on a visit with the call-back and
whether the household is satisfied, typed 取消 and a typo on the way."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.simulator import Simulator, texts
from tests.conftest import MEMBER, NOW, TODAY, Org, at
from tests.conftest import labels as keyboard_labels
from tests.helpers.visits import add_households, log_visit


@pytest.fixture
async def homes(sim: Simulator, org: Org) -> list:
    """MEMBER holds 张三 (visited 32 days ago), 李四 (never), 王五 (visited 3 days ago)."""
    at(sim, NOW)
    households = await add_households(sim, org.village.id, org.member.id, "张三", "李四", "王五")
    await log_visit(sim, org.member.id, households[0].id, TODAY - timedelta(days=32))
    await log_visit(sim, org.member.id, households[2].id, TODAY - timedelta(days=3))
    return households


async def to_roles(sim: Simulator, household: str = "张三") -> None:
    await sim.send("/visit", MEMBER)
    await sim.press(household, MEMBER)
    await sim.press("今天", MEMBER)


async def test_the_expert_group_is_asked_only_with_the_expert_role(sim: Simulator, org: Org, homes) -> None:
    await to_roles(sim)
    await sim.press("政策法规宣传", MEMBER)
    (q,) = texts(await sim.press("下一步", MEMBER))
    assert "诉求" in q and "专家服务组" not in q  # no expert role: not asked
    await sim.press("无诉求", MEMBER)
    (review,) = texts(await sim.press("跳过", MEMBER))
    assert "✏️ 改专家服务组" not in keyboard_labels(sim, MEMBER)
    await sim.press("改身份", MEMBER)
    await sim.press("专家服务联络", MEMBER)
    (q,) = texts(await sim.press("下一步", MEMBER))
    assert "哪个专家服务组" in q  # the role added from the review opens its question
    (review,) = texts(await sim.press("畜牧", MEMBER))
    assert "身份:政策法规宣传、专家服务联络(畜牧)" in review and "✏️ 改专家服务组" in keyboard_labels(sim, MEMBER)
    await sim.press("保存", MEMBER)
    visit, _ = await sim.app.services.repos.visits.of_household(homes[0].id)
    assert visit.roles == ("policy", "expert") and visit.expert_field == "livestock"


async def test_the_follow_up_date_has_quick_buttons(sim: Simulator, org: Org, homes) -> None:
    await to_roles(sim)
    await sim.press("社情民意调研", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.send("想修一下门前的水渠", MEMBER)
    await sim.press("需要跟进", MEMBER)
    labels = keyboard_labels(sim, MEMBER)
    assert labels[:5] == ["明天", "3天后", "一周后", "月底前", "下月底前"]
    (q,) = texts(await sim.press("3天后", MEMBER))
    assert "✅ 跟进日期:11月25日(周三)" in q and "照片" in q
    (review,) = texts(await sim.press("跳过", MEMBER))
    assert "需要跟进(11月25日(周三)前办结)" in review
    await sim.press("改跟进日期", MEMBER)
    (review,) = texts(await sim.press("月底前", MEMBER))
    assert "11月30日(周一)前办结" in review
    await sim.press("保存", MEMBER)
    (followup,) = await sim.app.services.repos.visits.open_followups(household_id=homes[0].id)
    assert followup.due_on == date(2026, 11, 30)


async def test_closing_a_follow_up_on_a_visit_records_the_call_back_and_satisfaction(sim: Simulator, org: Org, homes) -> None:
    await log_visit(sim, org.member.id, homes[1].id, TODAY - timedelta(days=5), due=TODAY + timedelta(days=2), concern="低保材料")
    (open_one,) = await sim.app.services.repos.visits.open_followups(household_id=homes[1].id)
    await sim.send("/visit", MEMBER)
    (q,) = texts(await sim.press("李四", MEMBER))
    assert "低保材料" in q
    (q,) = texts(await sim.press("第1项这次办结了", MEMBER))
    assert "怎么办结的" in q
    (q,) = texts(await sim.send("材料已经交到镇里", MEMBER))
    assert "满意" in q  # the call-back: is the household satisfied?
    (q,) = texts(await sim.press("不满意", MEMBER))
    assert "这次办结:材料已经交到镇里" in q
    await sim.press("继续登记走访", MEMBER)
    await sim.press("今天", MEMBER)
    await sim.press("社情民意调研", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.press("无诉求", MEMBER)
    (review,) = texts(await sim.press("跳过", MEMBER))
    assert "办结跟进:低保材料 → 材料已经交到镇里(农户不满意)" in review
    await sim.press("保存", MEMBER)
    assert await sim.app.services.repos.visits.open_followups(household_id=homes[1].id) == []
    followup = await sim.app.services.repos.visits.followup(open_one.id)
    assert followup.closed_at and followup.called_back is True and followup.satisfied is False


async def test_typed_cancel_and_a_typo_in_chinese(sim: Simulator, org: Org, homes) -> None:
    await to_roles(sim)
    await sim.press("社情民意调研", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.send("路灯坏了", MEMBER)
    await sim.press("需要跟进", MEMBER)
    complaint, question = texts(await sim.send("下周三三", MEMBER))  # a typo
    assert "没看懂" in complaint and "哪天之前办结" in question
    (reply,) = texts(await sim.send("算了,不填了", MEMBER))
    assert "已取消" in reply
    assert len(await sim.app.services.repos.visits.of_household(homes[0].id)) == 1  # only the seed


async def test_storage_keeps_the_call_back_clears_it_on_return_and_checks_the_expert_field(sim: Simulator, org: Org, homes) -> None:
    """The hook for /followups closing: close_followup(called_back=, satisfied=)."""
    from storage.visits import NewVisit, VisitRefused

    repos = sim.app.services.repos
    await log_visit(sim, org.member.id, homes[1].id, TODAY, due=TODAY + timedelta(days=2))
    (followup,) = await repos.visits.open_followups(household_id=homes[1].id)
    assert followup.called_back is None and followup.satisfied is None
    assert await repos.visits.close_followup(followup.id, by_person_id=org.member.id, closed_at=NOW, text="办好了",
                                             called_back=True, satisfied=True)
    closed = await repos.visits.followup(followup.id)
    assert closed.called_back is True and closed.satisfied is True
    assert await repos.visits.reopen_followup(followup.id, by=org.secretary.id, at=NOW, reason="没回访")
    reopened = await repos.visits.followup(followup.id)
    assert reopened.closed_at is None and reopened.called_back is None and reopened.satisfied is None
    base = dict(member_id=org.member.id, household_id=homes[0].id, visited_on=TODAY, outcome="none")
    for roles, field in ((("survey",), "fruit"), (("expert",), "space")):
        try:
            await repos.visits.save(NewVisit(token=f"x-{field}", roles=roles, expert_field=field, **base), now=NOW)
        except VisitRefused as exc:
            assert exc.reason == "bad"
        else:
            raise AssertionError(f"{roles} {field} was stored")
    saved = await repos.visits.save(NewVisit(token="x-ok", roles=("expert",), expert_field="grain", **base), now=NOW)
    assert saved.visit.expert_field == "grain"


async def test_back_from_the_satisfaction_question_asks_what_was_done_again(sim: Simulator, org: Org, homes) -> None:
    await log_visit(sim, org.member.id, homes[1].id, TODAY - timedelta(days=5), due=TODAY + timedelta(days=2), concern="低保材料")
    await sim.send("/visit", MEMBER)
    await sim.press("李四", MEMBER)
    await sim.press("第1项这次办结了", MEMBER)
    await sim.send("交了", MEMBER)
    (q,) = texts(await sim.press("返回", MEMBER))
    assert "「低保材料」是怎么办结的" in q
    await sim.send("材料交到镇里了", MEMBER)
    (q,) = texts(await sim.press("没问", MEMBER))
    assert "这次办结:材料交到镇里了" in q


async def test_the_village_branch_verifies_its_members_closed_follow_ups(sim: Simulator, org: Org, homes) -> None:
    """Storage for the branch's verification: it takes the follow-up off the township's queue."""
    repos = sim.app.services.repos
    await log_visit(sim, org.member.id, homes[0].id, TODAY, due=TODAY + timedelta(days=2), concern="修路灯")
    (mine,) = await add_households(sim, org.village.id, org.secretary.id, "书记联系户")
    await log_visit(sim, org.secretary.id, mine.id, TODAY, due=TODAY + timedelta(days=2), concern="书记自己的")
    followups = await repos.visits.open_followups(village_id=org.village.id)
    member_fu = next(f for f in followups if f.member_id == org.member.id)
    own_fu = next(f for f in followups if f.member_id == org.secretary.id)
    await repos.visits.close_followup(member_fu.id, by_person_id=org.member.id, closed_at=NOW, text="换了灯泡",
                                      called_back=True, satisfied=True)
    await repos.visits.close_followup(own_fu.id, by_person_id=org.secretary.id, closed_at=NOW, text="办好了")
    waiting = await repos.visits.branch_waiting(org.village.id, reviewer_id=org.secretary.id)
    assert [f.id for f in waiting] == [member_fu.id]  # not the secretary's own closing
    since = TODAY - timedelta(days=30)
    queue, _ = await repos.oversight.queue(org.township.id, "followup", "pending", since=since, limit=10)
    assert member_fu.id in queue
    assert not await repos.visits.branch_verify(member_fu.id, village_id=org.other_village.id, by=org.secretary.id, at=NOW)
    assert not await repos.visits.branch_verify(own_fu.id, village_id=org.village.id, by=org.secretary.id, at=NOW)
    assert await repos.visits.branch_verify(member_fu.id, village_id=org.village.id, by=org.secretary.id, at=NOW, token="t1")
    assert not await repos.visits.branch_verify(member_fu.id, village_id=org.village.id, by=org.secretary.id, at=NOW, token="t1")
    queue, _ = await repos.oversight.queue(org.township.id, "followup", "pending", since=since, limit=10)
    assert member_fu.id not in queue and own_fu.id in queue  # the township waits only for the rest
    (event,) = await repos.oversight.history("followup", member_fu.id)
    assert event.action == "verified" and event.by_person == org.secretary.id
    assert await repos.visits.branch_waiting(org.village.id, reviewer_id=org.secretary.id) == []


async def test_a_draft_of_the_old_visit_conversation_gets_one_resume_offer(sim: Simulator, org: Org, homes) -> None:
    """A user who was in the middle of /visit before the port: the draft is kept and goes on."""
    sim.app.user_data[MEMBER]["visit"] = {
        "token": "old-draft", "v": 1, "roles": ["survey"], "closes": {}, "page": 0, "reviewed": False,
        "now": NOW.isoformat(), "history": ["household", "date", "roles", "concern", "outcome"],
        "household_id": homes[0].id, "head": "张三", "has_followups": False,
        "date": "2026-11-21", "concern": {"text": "路灯坏了"},
    }
    (offer,) = texts(await sim.send("/visit", MEMBER))
    assert "张三家" in offer
    (q,) = texts(await sim.press("继续填写", MEMBER))
    assert "诉求:路灯坏了" in q and "解决了吗" in q
    await sim.press("当场解决", MEMBER)
    await sim.press("跳过", MEMBER)
    await sim.press("保存", MEMBER)
    visit, _ = await sim.app.services.repos.visits.of_household(homes[0].id)
    assert visit.token == "old-draft" and visit.outcome == "solved" and visit.visited_on == date(2026, 11, 21)


async def test_a_forged_follow_up_of_another_household_is_refused(sim: Simulator, org: Org, homes) -> None:
    await log_visit(sim, org.member.id, homes[1].id, TODAY, due=TODAY + timedelta(days=2), concern="李四的事")
    (theirs,) = await add_households(sim, org.other_village.id, org.other_member.id, "赵六")
    await log_visit(sim, org.other_member.id, theirs.id, TODAY, due=TODAY + timedelta(days=2), concern="别人的事")
    (other_fu,) = await sim.app.services.repos.visits.open_followups(household_id=theirs.id)
    await sim.send("/visit", MEMBER)
    (q,) = texts(await sim.press("李四", MEMBER))
    assert "李四的事" in q and "别人的事" not in q
    calls = await sim.click(f"visit:fu:{other_fu.id}", MEMBER)
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == ["这条跟进事项不属于这一户,或者已经办结了。"]
    assert sim.app.user_data[MEMBER]["visit"]["closes"] == {} and "closing" not in sim.app.user_data[MEMBER]["visit"]
    calls = await sim.click("visit:sat:yes", MEMBER)  # a payload of another question
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == [
        "这个按钮已经失效了,请看最新的一条消息,或重新发送命令。"
    ]


async def test_the_call_back_steps_for_a_closing_form() -> None:
    """The hook for /followups: its closing form adds callback_steps() and stores callback_of()."""
    from bot.forms import core
    from bot.forms.core import Env, Form, Input, Saved, Screen, Text
    from bot.i18n import Catalogs
    from handlers.visits.ask import callback_of, callback_steps

    stored = []

    async def save(env: Env, draft: dict) -> Saved:
        stored.append(callback_of(draft))
        return Saved(Screen("ok"))

    closing = Form("fuclose", steps=[Text("done", ask="visit.ask.followup_done"), *callback_steps()], save=save)
    env = Env(t=Catalogs().get("zh_CN"), now=NOW, tz="Asia/Shanghai")
    for answers, expected in ((("yes", "no"), (True, False)), (("no",), (False, None))):
        reply = await core.open_form(closing, env, None)
        reply = await core.handle(closing, env, reply.draft, Input("text", text="办好了"))
        assert "回访" in reply.screen.text
        for answer in answers:
            reply = await core.handle(closing, env, reply.draft, Input("button", payload=f"fuclose:pick:{answer}"))
        assert reply.state is None and stored[-1] == expected


async def test_an_album_at_the_photo_question_keeps_its_first_photo_and_one_review(sim: Simulator, org: Org, homes) -> None:
    await to_roles(sim)
    await sim.press("社情民意调研", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.press("无诉求", MEMBER)
    (review,) = texts(await sim.photo(MEMBER, media_group_id="album-1"))
    assert "照片:1张" in review
    assert texts(await sim.photo(MEMBER, media_group_id="album-1")) == []  # the rest: taken already
    assert texts(await sim.photo(MEMBER, media_group_id="album-1")) == []
    await sim.press("保存", MEMBER)
    visit, _ = await sim.app.services.repos.visits.of_household(homes[0].id)
    assert visit.photo and visit.photo.startswith("fake-file-")


# -- issue 14 item 3: several answers from the first one, a photo kept from any step ---------------
async def test_a_sentence_at_the_first_question_fills_several_answers(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    (note, q) = texts(await sim.send("昨天走访了李四家,宣传了医保政策,没有诉求", MEMBER))
    assert "读到了" in note and "户" in note and "日期" in note
    assert "照片" in q  # household, date, roles and the concern are read: the photo is what is left
    (review,) = texts(await sim.press("跳过", MEMBER))
    assert "李四" in review and "11月21日" in review and "政策法规宣传" in review
    await sim.press("保存", MEMBER)
    (visit,) = await sim.app.services.repos.visits.of_household(homes[1].id)
    assert visit.visited_on == TODAY - timedelta(days=1) and visit.roles == ("policy",)


async def test_a_sentence_that_is_not_a_visit_gets_the_question_s_hint(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    (hint, _q) = texts(await sim.send("你好", MEMBER))
    assert "读到了" not in hint and "张三" in str(keyboard_labels(sim, MEMBER))


async def test_a_household_not_the_member_s_is_never_read(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    calls = await sim.send("今天走访了赵六家,调解纠纷", MEMBER)
    assert "赵六" not in "".join(texts(calls))
    assert any("张三" in label for label in keyboard_labels(sim, MEMBER))  # still the household question


async def test_a_photo_at_any_step_is_kept_for_the_photo_step(sim: Simulator, org: Org, homes) -> None:
    await to_roles(sim)
    (kept, q) = texts(await sim.photo(MEMBER, media_group_id="alb"))
    assert "照片已收下" in kept and "做了哪些工作" in q
    assert texts(await sim.photo(MEMBER, data=b"\x89PNG two", media_group_id="alb")) == []  # the rest of the album
    await sim.press("社情民意调研", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.press("无诉求", MEMBER)
    assert "保留这张照片" in keyboard_labels(sim, MEMBER)  # the photo step offers the kept photo
    (review,) = texts(await sim.press("保留这张照片", MEMBER))
    assert "照片:1张" in review
    await sim.press("保存", MEMBER)
    visit, _ = await sim.app.services.repos.visits.of_household(homes[0].id)
    assert visit.photo


async def test_a_caption_at_the_first_question_is_read_like_a_message(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    calls = await sim.photo(MEMBER, caption="今天走访王五家,调解纠纷,当场解决")
    kept, note, q = texts(calls)
    assert "照片已收下" in kept and "读到了" in note
    assert "诉求" in q  # household, date, role and outcome read; the concern was not said
    await sim.send("邻里宅基地纠纷", MEMBER)
    (review,) = texts(await sim.press("保留这张照片", MEMBER))  # the outcome was read too
    assert "王五" in review and "矛盾纠纷调解" in review and "照片:1张" in review


# -- issue 14 item 4: the review marks what was read from the message; 修改 fixes a wrong guess ---
async def test_the_review_marks_what_was_read_and_an_edit_takes_the_mark_away(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    await sim.send("昨天走访了李四家,宣传了医保政策,他反映路灯不亮,已经解决了", MEMBER)
    (review,) = texts(await sim.press("跳过", MEMBER))  # the photo, the one thing not said
    lines = review.splitlines()
    assert "农户:李四家 ✍️" in lines and "日期:11月21日(周六) ✍️" in lines
    assert "身份:政策法规宣传 ✍️" in lines and "结果:当场解决 ✍️" in lines
    assert any(line.startswith("诉求:") and line.endswith(" ✍️") for line in lines)
    assert "照片:无" in lines  # answered with 跳过: not read
    assert review.endswith("带 ✍️ 的是从您的消息里读出来的,请核对;不对的点“修改”。")
    # a wrong guess is fixed with 修改 like any field: once answered, its mark goes
    await sim.press("✏️ 改日期", MEMBER)
    (review,) = texts(await sim.press("今天", MEMBER))
    lines = review.splitlines()
    assert "日期:11月22日(周日)" in lines and "农户:李四家 ✍️" in lines
    await sim.press("✏️ 改结果", MEMBER)
    await sim.press("需要跟进", MEMBER)
    (review,) = texts(await sim.press("明天", MEMBER))
    assert "结果:需要跟进(11月23日(周一)前办结)" in review.splitlines()
    await sim.press("✏️ 改农户", MEMBER)
    await sim.press("李四", MEMBER)
    await sim.press("✏️ 改身份", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.press("✏️ 改诉求", MEMBER)
    review = texts(await sim.send("路灯不亮", MEMBER))[-1]
    assert "请核对这次走访" in review
    assert "✍️" not in review  # every line answered by the member now: no marks, no legend
    await sim.press("保存", MEMBER)
    (visit,) = await sim.app.services.repos.visits.of_household(homes[1].id)
    assert (visit.visited_on, visit.outcome, visit.concern_text) == (TODAY, "follow_up", "路灯不亮")


async def test_a_visit_typed_step_by_step_has_no_marks(sim: Simulator, org: Org, homes) -> None:
    await to_roles(sim)
    await sim.press("社情民意调研", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.press("无诉求", MEMBER)
    (review,) = texts(await sim.press("跳过", MEMBER))
    assert "✍️" not in review and "请核对这次走访" in review
