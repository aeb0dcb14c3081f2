"""/visit end to end through the real Application and the in-memory Bot API: the household
buttons, every step, back, edit from the review, cancel, one visit per save, bad input,
privacy against forged payloads, the idle timeout with a resumable draft, restart.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.app import build_application
from bot.fakebot import FakeBotAPI
from bot.simulator import Simulator, texts
from storage.visits import Household
from tests.conftest import (
    DISTRICT_ADMIN,
    MEMBER,
    NOW,
    OTHER_MEMBER,
    SECRETARY,
    TODAY,
    Org,
    at,
    start_sim,
)
from tests.conftest import TZ as SH
from tests.conftest import labels as keyboard_labels
from tests.helpers.visits import add_households, log_visit


@pytest.fixture
async def homes(sim: Simulator, org: Org) -> list[Household]:
    """MEMBER holds 张三 (visited 32 days ago), 李四 (never), 王五 (visited 3 days ago)."""
    at(sim, NOW)
    households = await add_households(sim, org.village.id, org.member.id, "张三", "李四", "王五")
    await log_visit(sim, org.member.id, households[0].id, TODAY - timedelta(days=32))
    await log_visit(sim, org.member.id, households[2].id, TODAY - timedelta(days=3))
    return households


async def fill_to_review(sim: Simulator, *, household: str = "张三", concern: str = "路灯坏了") -> list:
    await sim.send("/visit", MEMBER)
    await sim.press(household, MEMBER)
    await sim.press("昨天", MEMBER)
    await sim.press("社情民意调研", MEMBER)
    await sim.press("政策法规宣传", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.send(concern, MEMBER)
    await sim.press("当场解决", MEMBER)
    return await sim.press("跳过", MEMBER)


# -- the whole conversation ---------------------------------------------------------------------
async def test_household_buttons_are_mine_longest_unvisited_first(sim: Simulator, org: Org, homes) -> None:
    other = await add_households(sim, org.other_village.id, org.other_member.id, "赵六")
    (question,) = texts(await sim.send("/visit", MEMBER))
    assert "3户" in question
    labels = keyboard_labels(sim, MEMBER)
    assert labels[:3] == ["李四家 · 从未走访", "张三家 · 32天未走访", "王五家 · 3天未走访"]
    assert not any("赵六" in label for label in labels) and other


async def test_a_visit_from_start_to_save(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    (q,) = texts(await sim.press("张三", MEMBER))
    assert "哪天走访的张三家" in q
    (q,) = texts(await sim.send("昨天", MEMBER))
    assert "哪些工作" in q
    await sim.press("矛盾纠纷调解", MEMBER)
    assert "☑ 矛盾纠纷调解" in keyboard_labels(sim, MEMBER)  # the engine's ☑ means selected
    (q,) = texts(await sim.press("下一步", MEMBER))
    assert "诉求" in q
    (q,) = texts(await sim.send("家门口的路灯坏了", MEMBER))
    assert "家门口的路灯坏了" in q and "解决了吗" in q
    (q,) = texts(await sim.press("需要跟进", MEMBER))
    assert "哪天之前办结" in q
    (q,) = texts(await sim.send("下周三", MEMBER))
    assert "照片" in q
    (review,) = texts(await sim.photo(MEMBER))
    for part in ("张三家", "11月21日(周六)", "矛盾纠纷调解", "家门口的路灯坏了", "11月25日(周三)", "1张"):
        assert part in review, part
    (saved,) = texts(await sim.press("保存", MEMBER))
    assert "已保存" in saved and "近30天您已走访 2/3 户" in saved and "11月25日" in saved

    visits = await sim.app.services.repos.visits.of_household(homes[0].id)
    assert len(visits) == 2  # the seeded one 32 days ago and this one
    visit = visits[0]
    assert visit.visited_on == date(2026, 11, 21) and visit.roles == ("mediation",)
    assert visit.concern_text == "家门口的路灯坏了" and visit.outcome == "follow_up" and visit.photo
    (followup,) = await sim.app.services.repos.visits.open_followups(household_id=homes[0].id)
    assert followup.due_on == date(2026, 11, 25) and followup.visit_id == visit.id
    assert "visit" not in sim.app.user_data[MEMBER]  # the draft is gone


async def test_saving_twice_stores_one_visit(sim: Simulator, org: Org, homes) -> None:
    await fill_to_review(sim)
    call, buttons = sim.last_keyboard(MEMBER)
    payload = next(b["callback_data"] for b in buttons if "保存" in b["text"])
    first = await sim.click(payload, MEMBER, message_call=call)
    second = await sim.click(payload, MEMBER, message_call=call)
    assert any("已保存" in text for text in texts(first))
    alerts = [c.params.get("text") for c in second if c.method == "answerCallbackQuery"]
    assert alerts == ["这次走访已经保存过了,不会重复记录。"]  # the form's late answer, not form.stale
    assert len(await sim.app.services.repos.visits.of_household(homes[0].id)) == 2
    # someone else's old 保存 (a forged payload) learns nothing: the stale answer
    calls = await sim.click(payload, OTHER_MEMBER)
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == [
        "这个按钮已经失效了,请看最新的一条消息,或重新发送命令。"
    ]


async def test_back_goes_one_step_and_review_edits_return_to_review(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    await sim.press("张三", MEMBER)
    await sim.press("今天", MEMBER)
    (q,) = texts(await sim.press("返回", MEMBER))
    assert "哪天走访" in q
    await sim.press("昨天", MEMBER)
    await sim.press("政策法规宣传", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.press("无诉求", MEMBER)  # nothing raised: no outcome question
    (review,) = texts(await sim.press("跳过", MEMBER))
    assert "11月21日(周六)" in review and "诉求:无" in review and "结果:无诉求" in review
    assert "改结果" not in keyboard_labels(sim, MEMBER)
    await sim.press("改日期", MEMBER)
    (review,) = texts(await sim.send("11月18日", MEMBER))
    assert "请核对" in review and "11月18日(周三)" in review
    await sim.press("改诉求", MEMBER)
    (q,) = texts(await sim.send("想了解养老保险", MEMBER))
    assert "解决了吗" in q  # a 诉求 now: the outcome is asked, then back to the review
    (review,) = texts(await sim.press("当场解决", MEMBER))
    assert "想了解养老保险" in review and "当场解决" in review
    await sim.press("保存", MEMBER)
    (visit, _) = await sim.app.services.repos.visits.of_household(homes[0].id)
    assert visit.visited_on == date(2026, 11, 18) and visit.outcome == "solved"


async def test_cancel_saves_nothing(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    await sim.press("李四", MEMBER)
    await sim.press("今天", MEMBER)
    (reply,) = texts(await sim.send("/cancel", MEMBER))
    assert "已取消" in reply
    assert await sim.app.services.repos.visits.of_household(homes[1].id) == []
    assert texts(await sim.send("昨天", MEMBER)) == ["我没看懂这句话。请点下方的按钮选择要做的事,或者发送 /help 查看全部命令。"]
    await sim.send("/visit", MEMBER)
    (reply,) = texts(await sim.press("取消", MEMBER))
    assert "已取消" in reply


async def test_reference_time_is_the_messages_date_in_cadre_tz(sim: Simulator, org: Org, homes) -> None:
    at(sim, datetime(2026, 11, 22, 0, 30, tzinfo=SH))  # still 11-21 in UTC
    await sim.send("/visit", MEMBER)
    assert keyboard_labels(sim, MEMBER)[1] == "张三家 · 32天未走访"
    await sim.press("张三", MEMBER)
    await sim.press("今天", MEMBER)
    await sim.press("政策法规宣传", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.press("无诉求", MEMBER)
    (review,) = texts(await sim.press("跳过", MEMBER))
    assert "11月22日(周日)" in review


# -- bad input ----------------------------------------------------------------------------------
async def test_a_follow_up_date_in_the_past_is_refused(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    await sim.press("张三", MEMBER)
    await sim.press("今天", MEMBER)
    await sim.press("政策法规宣传", MEMBER)
    await sim.press("下一步", MEMBER)
    await sim.send("要修水渠", MEMBER)
    await sim.press("需要跟进", MEMBER)
    complaint, question = texts(await sim.send("昨天", MEMBER))
    assert "跟进日期要在以后" in complaint and "哪天之前办结" in question
    complaint, _ = texts(await sim.send("随便", MEMBER))
    assert "没看懂" in complaint
    complaint, _ = texts(await sim.send("11月20日", MEMBER))  # read as next year's: far away
    assert "2027年11月20日" in complaint and "超过半年" in complaint
    (q,) = texts(await sim.send("3天后", MEMBER))
    assert "照片" in q
    (review,) = texts(await sim.press("跳过", MEMBER))
    assert "11月25日(周三)" in review


async def test_a_voice_note_is_taken_as_the_concern(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    await sim.press("王五", MEMBER)
    await sim.press("今天", MEMBER)
    await sim.press("社情民意调研", MEMBER)
    await sim.press("下一步", MEMBER)
    (q,) = texts(await sim.voice(MEMBER, duration=7))
    assert "语音留言(7秒)" in q
    await sim.press("当场解决", MEMBER)
    await sim.press("跳过", MEMBER)
    await sim.press("保存", MEMBER)
    (visit, _) = await sim.app.services.repos.visits.of_household(homes[2].id)
    assert visit.concern_voice and visit.concern_voice.startswith("fake-file-") and visit.concern_text is None


async def test_a_voice_note_where_a_date_is_asked_gets_a_hint(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    await sim.press("张三", MEMBER)
    hint_text, question = texts(await sim.voice(MEMBER))
    assert "日期" in hint_text and "哪天走访" in question
    hint_text, question = texts(await sim.sticker(MEMBER))
    assert "日期" in hint_text and "哪天走访" in question
    complaint, _ = texts(await sim.send("下周一", MEMBER))
    assert "不能是以后" in complaint


async def test_roles_need_at_least_one(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    await sim.press("张三", MEMBER)
    await sim.press("今天", MEMBER)
    calls = await sim.press("下一步", MEMBER)
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == ["请至少选择一项。"]


async def test_a_member_without_households_is_told_whom_to_ask(sim: Simulator, org: Org) -> None:
    (reply,) = texts(await sim.send("/visit", MEMBER))
    assert "孙书记" in reply and "联系户" in reply
    (reply,) = texts(await sim.send("/visit", SECRETARY))
    assert "/households" in reply


async def test_an_archived_household_cannot_be_visited(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    await sim.app.services.repos.households.set_archived(homes[1].id, True)
    calls = await sim.press("李四", MEMBER)
    alerts = [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]
    assert alerts and "归档" in alerts[0]
    assert not any("李四" in label for label in keyboard_labels(sim, MEMBER))  # the list is redrawn
    assert await sim.app.services.repos.visits.of_household(homes[1].id) == []


async def test_archived_between_review_and_save_is_not_saved(sim: Simulator, org: Org, homes) -> None:
    await fill_to_review(sim, household="李四")
    await sim.app.services.repos.households.set_archived(homes[1].id, True)
    await sim.press("保存", MEMBER)
    assert await sim.app.services.repos.visits.of_household(homes[1].id) == []
    assert not any("李四" in label for label in keyboard_labels(sim, MEMBER))


async def test_admins_may_not_log_visits_and_groups_are_refused(sim: Simulator, org: Org, homes) -> None:
    (reply,) = texts(await sim.send("/visit", DISTRICT_ADMIN))
    assert "仅限" in reply and "党员" in reply
    (reply,) = texts(await sim.send("/visit", MEMBER, chat_id=-100777))
    assert "私聊" in reply


async def test_many_households_are_paged_by_eight(sim: Simulator, org: Org) -> None:
    await add_households(sim, org.village.id, org.member.id, *[f"户{i:02d}" for i in range(11)])
    await sim.send("/visit", MEMBER)
    labels = keyboard_labels(sim, MEMBER)
    assert sum("户" in label and "家" in label for label in labels) == 8
    assert any("下一页" in label for label in labels)
    await sim.press("下一页", MEMBER)
    labels = keyboard_labels(sim, MEMBER)
    assert sum("家 ·" in label for label in labels) == 3 and any("上一页" in label for label in labels)
    await sim.press("户10", MEMBER)
    assert "哪天走访的户10家" in texts(sim.api.calls[-1:])[0]


# -- privacy --------------------------------------------------------------------------------------
async def test_a_forged_payload_for_someone_elses_household_is_refused(sim: Simulator, org: Org, homes) -> None:
    (theirs,) = await add_households(sim, org.other_village.id, org.other_member.id, "赵六")
    await sim.send("/visit", MEMBER)
    calls = await sim.click(f"visit:hh:{theirs.id}", MEMBER)
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == [
        "这一户不在您的联系户里,不能为它登记走访。"
    ]
    assert not sim.app.user_data[MEMBER]["visit"].get("household_id")
    # the other member cannot log for MEMBER's household either, nor save MEMBER's draft
    await sim.send("/visit", OTHER_MEMBER)
    await sim.click(f"visit:hh:{homes[0].id}", OTHER_MEMBER)
    await fill_to_review(sim, household="李四")
    token = sim.app.user_data[MEMBER]["visit"]["token"]
    await sim.click(f"visit:save:{token}", OTHER_MEMBER)
    assert await sim.app.services.repos.visits.of_household(homes[1].id) == []
    assert await sim.app.services.repos.visits.of_household(theirs.id) == []
    assert len(await sim.app.services.repos.visits.of_household(homes[0].id)) == 1  # only the seed


async def test_payloads_of_another_step_do_nothing(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    await sim.press("张三", MEMBER)
    calls = await sim.click("visit:pick:solved", MEMBER)  # the outcome's payload, at the date step
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == [
        "这个按钮已经失效了,请看最新的一条消息,或重新发送命令。"
    ]
    assert sim.app.user_data[MEMBER]["visit"].get("outcome") is None


# -- interruptions --------------------------------------------------------------------------------
async def test_another_command_pauses_the_visit_and_keeps_the_draft(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/visit", MEMBER)
    await sim.press("张三", MEMBER)
    paused, help_text = texts(await sim.send("/help", MEMBER))  # the command runs at once
    assert "暂停" in paused and help_text.startswith("可以使用的命令")
    (q,) = texts(await sim.send("/visit", MEMBER))
    assert "张三家" in q and "接着填写" in q
    (q,) = texts(await sim.press("继续填写", MEMBER))
    assert "哪天走访的张三家" in q


async def test_idle_timeout_keeps_a_resumable_draft(settings, org: Org) -> None:
    sim = await fresh(settings).start(jobs=True)
    try:
        at(sim, NOW)
        await add_households(sim, org.village.id, org.member.id, "张三")
        await sim.send("/visit", MEMBER)
        await sim.press("张三", MEMBER)
        await sim.press("今天", MEMBER)
        jobs = timeout_jobs(sim)
        assert len(jobs) == 1 and jobs[0].next_t - datetime.now(SH) > timedelta(minutes=29)
        before = len(sim.api.calls)
        await jobs[0].run(sim.app)
        (note,) = texts(sim.api.calls[before:])
        assert "30分钟" in note and "/visit" in note  # the engine's form.timeout
        assert texts(await sim.send("昨天", MEMBER)) == ["我没看懂这句话。请点下方的按钮选择要做的事,或者发送 /help 查看全部命令。"]
        (offer,) = texts(await sim.send("/visit", MEMBER))
        assert "张三家" in offer
        (q,) = texts(await sim.press("继续填写", MEMBER))
        assert "哪些工作" in q
        assert sim.app.user_data[MEMBER]["visit"]["date"] == TODAY.isoformat()
    finally:
        await sim.stop()


def timeout_jobs(sim: Simulator) -> list:
    """The conversations' idle-timeout jobs (other features schedule jobs of their own)."""
    return [j for j in sim.app.job_queue.jobs() if getattr(j.callback, "__name__", "") == "_trigger_timeout"]


def fresh(settings) -> Simulator:
    """A simulator whose job queue runs (start it with ``jobs=True``), as in production."""
    api = FakeBotAPI()
    return Simulator(build_application(settings, request=api, rate_limit=False), api)


async def test_idle_timeout_before_any_answer_offers_no_resume(settings, org: Org) -> None:
    sim = await fresh(settings).start(jobs=True)
    try:
        await add_households(sim, org.village.id, org.member.id, "张三")
        await sim.send("/visit", MEMBER)
        before = len(sim.api.calls)
        (job,) = timeout_jobs(sim)
        await job.run(sim.app)
        (note,) = texts(sim.api.calls[before:])
        assert "30分钟" in note  # the engine's one timeout note; nothing answered, so no resume offer
        (question,) = texts(await sim.send("/visit", MEMBER))
        assert "请选择这次走访的农户" in question
    finally:
        await sim.stop()


async def test_the_visit_resumes_after_a_restart(settings, org: Org) -> None:
    first = await start_sim(settings)
    at(first, NOW)
    (home,) = await add_households(first, org.village.id, org.member.id, "张三")
    await first.send("/visit", MEMBER)
    await first.press("张三", MEMBER)
    asked = await first.press("昨天", MEMBER)
    await first.stop()

    second = await start_sim(settings)
    at(second, NOW)
    try:
        # the buttons of the message that asked still work after the restart (a forged press is stale)
        assert "失效" in str([c.params for c in await second.click("visit:pick:survey", MEMBER)])
        (q,) = texts(await second.click("visit:pick:survey", MEMBER, message_call=asked[-1]))
        assert "哪些工作" in q and "☑ 社情民意调研" in keyboard_labels(second, MEMBER)
        await second.press("下一步", MEMBER)
        await second.send("无", MEMBER)
        (review,) = texts(await second.send("跳过", MEMBER))
        assert "11月21日(周六)" in review and "诉求:无" in review
        await second.press("保存", MEMBER)
        (visit,) = await second.app.services.repos.visits.of_household(home.id)
        assert visit.visited_on == date(2026, 11, 21) and visit.outcome == "none"
    finally:
        await second.stop()


async def test_a_secretary_logs_visits_to_their_own_linked_households(sim: Simulator, org: Org, homes) -> None:
    (own,) = await add_households(sim, org.village.id, org.secretary.id, "书记联系户")
    await sim.send("/visit", SECRETARY)
    assert keyboard_labels(sim, SECRETARY)[0] == "书记联系户家 · 从未走访"
    assert not any("张三" in label for label in keyboard_labels(sim, SECRETARY))  # a member's, not theirs
    calls = await sim.click(f"visit:hh:{homes[0].id}", SECRETARY)
    assert "不在您的联系户里" in str([c.params for c in calls])
    await sim.press("书记联系户", SECRETARY)
    await sim.press("今天", SECRETARY)
    await sim.press("专家服务联络", SECRETARY)
    (q,) = texts(await sim.press("下一步", SECRETARY))
    assert "哪个专家服务组" in q  # 专家服务联络 asks which field (issue 13, item 10)
    assert keyboard_labels(sim, SECRETARY)[:5] == ["粮油", "蔬菜", "果树", "畜牧", "林水"]
    await sim.press("果树", SECRETARY)
    await sim.press("无诉求", SECRETARY)
    (review,) = texts(await sim.press("跳过", SECRETARY))
    assert "身份:专家服务联络(果树)" in review
    (saved,) = texts(await sim.press("保存", SECRETARY))
    assert "近30天您已走访 1/1 户" in saved
    (visit,) = await sim.app.services.repos.visits.of_household(own.id)
    assert visit.member_id == org.secretary.id and visit.roles == ("expert",) and visit.expert_field == "fruit"


async def test_the_visit_speaks_english_when_chosen(sim: Simulator, org: Org, homes) -> None:
    await sim.send("/lang", MEMBER)
    await sim.press("English", MEMBER)
    (question,) = texts(await sim.send("/visit", MEMBER))
    assert "Which household did you visit?" in question
    assert keyboard_labels(sim, MEMBER)[:2] == ["李四 household · never visited", "张三 household · 32 days since last visit"]
    (q,) = texts(await sim.press("张三", MEMBER))
    assert "When did you visit" in q and "Yesterday" in keyboard_labels(sim, MEMBER)
