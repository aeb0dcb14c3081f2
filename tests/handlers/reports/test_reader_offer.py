"""A clean-up report from one message (issue 14 item 2): outside any flow, in a private chat,
a secretary's text that reads as a report, or photos with or without a caption, is offered as a
report with the filled review and [保存] [修改] [不是上报]; nothing is saved without a tap."""

from __future__ import annotations

import pytest

from bot.simulator import Simulator, texts
from tests.conftest import (
    MEMBER,
    NOW,
    OTHER_MEMBER,
    SECRETARY,
    STRANGER,
    TOWNSHIP_ADMIN,
    Org,
    alerts,
    at,
    labels,
    last_text,
)
from tests.helpers.reports import QUESTION, said, saved_reports

pytestmark = pytest.mark.usefixtures("fixed_clock")  # the users' messages carry NOW

OFFER = "要把这条作为整治上报吗?"


def answered_once(calls) -> bool:
    """Telegram refuses a second answer to one button press."""
    return [c.method for c in calls].count("answerCallbackQuery") == 1


async def test_one_sentence_and_one_tap(sim: Simulator, org: Org) -> None:
    calls = await sim.send("今天组织党员群众清理了3组的垃圾,拉了5车", SECRETARY)
    text = said(calls)
    assert text.startswith(OFFER)
    assert labels(sim, SECRETARY) == ["💾 保存", "✏️ 修改", "✖ 不是上报"]
    # the review, the lines read from the message marked
    assert "日期:2026年11月22日星期日 ✍️" in text
    assert "类别:垃圾清除 ✍️" in text
    assert "地点:3组 ✍️" in text
    assert "清运垃圾5车 ✍️" in text
    assert "还需要补充:参加人数" in text  # the message gave no head counts
    assert await saved_reports(sim, org.secretary.id) == []  # nothing saved without a tap
    # 保存 asks only for what is missing, then the review
    calls = await sim.press("保存", SECRETARY)
    assert answered_once(calls)
    assert "有多少人参加" in last_text(sim, SECRETARY)
    await sim.send("干部2 党员5 群众二十多人", SECRETARY)
    review = last_text(sim, SECRETARY)
    assert "请核对" in review and "群众20余人" in review and "地点:3组 ✍️" in review
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    f = report.fields
    assert (f.categories, f.place, f.garbage_trucks, f.villagers) == (("garbage",), "3组", 5, 20)
    assert f.notes == "今天组织党员群众清理了3组的垃圾,拉了5车"
    assert f"#{report.id}" in last_text(sim, SECRETARY) and "约27人参加,其中群众20余人" in last_text(sim, SECRETARY)


async def test_a_complete_message_is_saved_in_one_tap(sim: Simulator, org: Org) -> None:
    await sim.send("昨天在村东头拆除残墙3处,干部3个,党员6名,群众二十多人参加", SECRETARY)
    assert "还需要补充" not in last_text(sim, SECRETARY)
    assert answered_once(await sim.press("保存", SECRETARY))
    [report] = await saved_reports(sim, org.secretary.id)
    f = report.fields
    assert (f.work_date.isoformat(), f.categories, f.place, f.walls) == ("2026-11-21", ("walls",), "村东头", 3)
    assert (f.cadres, f.members, f.villagers, f.people_approx) == (3, 6, 20, (("villagers", "more"),))
    # a second tap on the offer's 保存 does not save twice, and says what was saved (Form.late)
    offer_call, _ = sim.last_keyboard(SECRETARY)
    calls = await sim.click(f"report:open:s{report.token}", SECRETARY, message_call=offer_call)
    assert answered_once(calls) and alerts(calls) == [f"这份上报已经保存过了,编号 #{report.id},不会重复保存。"]
    assert len(await saved_reports(sim, org.secretary.id)) == 1
    assert alerts(await sim.click(f"report:open:t{report.token}", SECRETARY)) == [  # its 修改 too
        f"这份上报已经保存过了,编号 #{report.id},不会重复保存。"]
    # someone else's tap on it (a forged payload) learns nothing
    assert alerts(await sim.click(f"report:open:s{report.token}", TOWNSHIP_ADMIN)) == [
        "这个按钮已经失效了,请看最新的一条消息,或重新发送命令。"]


async def test_edit_opens_the_normal_review_edit(sim: Simulator, org: Org) -> None:
    """修改 on the offer opens the /report form at its review (like the visit offer's; it opened
    the 修改 menu), whose 修改 edits a field."""
    await sim.send("今天清运垃圾8车", SECRETARY)
    assert answered_once(await sim.press("修改", SECRETARY))
    assert QUESTION["review"] in last_text(sim, SECRETARY)
    await sim.press("修改", SECRETARY)
    assert "要修改哪一项" in last_text(sim, SECRETARY)
    await sim.press("地点", SECRETARY)
    await sim.send("村委会门口", SECRETARY)
    review = last_text(sim, SECRETARY)
    assert "地点:村委会门口\n" in review  # typed now: no longer marked
    assert "清运垃圾8车 ✍️" in review


async def test_not_a_report_saves_nothing(sim: Simulator, org: Org) -> None:
    await sim.send("今天清运垃圾8车", SECRETARY)
    calls = await sim.press("不是上报", SECRETARY)
    assert answered_once(calls)
    assert "不作为上报" in said(calls)
    assert await saved_reports(sim, org.secretary.id) == []
    calls = await sim.click("report:open:s0000", SECRETARY)  # the old offer is gone
    assert alerts(calls)
    assert await saved_reports(sim, org.secretary.id) == []


async def test_photos_with_a_caption_and_an_album(sim: Simulator, org: Org) -> None:
    await sim.photo(SECRETARY, caption="今天3组坑塘清淤50方,整治后", media_group_id="album1")
    await sim.photo(SECRETARY, data=b"\x89PNG second", media_group_id="album1")
    offers = [c for c in sim.api.calls if c.method == "sendMessage" and OFFER in c.text]
    assert len(offers) == 1  # one offer for the album
    text = last_text(sim, SECRETARY)
    assert "照片:整治前0张,整治后2张 ✍️" in text
    assert "清淤50立方米" in text and "坑塘" in text
    await sim.press("保存", SECRETARY)
    await sim.send("群众10人", SECRETARY)
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    assert [p.phase for p in report.fields.photos] == ["after", "after"]
    assert dict(report.fields.amounts_more) == {"volume_m3": 50}


async def test_a_photo_sent_after_a_captioned_one_joins_its_offer(sim: Simulator, org: Org) -> None:
    """Two photos sent one by one (no album): the second joins the first's offer with a note;
    the caption's fields stay (a second, empty offer replaced them). Later than JOIN_MINUTES,
    or once the offer is saved, a photo is a new offer."""
    from datetime import timedelta

    from handlers.reports.from_text import JOIN_MINUTES

    await sim.photo(SECRETARY, caption="昨天在村东头拆除残垣断壁3处,干部3个,党员6名,群众二十多人")
    calls = await sim.photo(SECRETARY, data=b"\x89PNG second")
    assert not any(OFFER in (c.text or "") for c in calls if c.method == "sendMessage")  # no new offer
    assert [c.text for c in calls if c.method == "sendMessage"] == ["📎 照片已加到上面这条上报里(共2张)。"]
    offer = [c.text for c in calls if c.method == "editMessageText"][-1]
    assert offer.startswith(OFFER) and "照片:整治前0张,整治后2张 ✍️" in offer and "地点:村东头 ✍️" in offer
    assert "还需要补充" not in offer
    at(sim, NOW + timedelta(minutes=JOIN_MINUTES - 1))
    await sim.photo(SECRETARY, data=b"\x89PNG third")  # joins too (the window runs from the last photo)
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    assert (report.fields.place, report.fields.walls, len(report.fields.photos)) == ("村东头", 3, 3)
    calls = await sim.photo(SECRETARY, data=b"\x89PNG fourth")  # the offer was saved: a new one
    assert said(calls).startswith(OFFER) and "整治后1张" in said(calls)
    at(sim, NOW + timedelta(minutes=3 * JOIN_MINUTES))
    calls = await sim.photo(SECRETARY, data=b"\x89PNG fifth")  # long after: a new offer
    assert said(calls).startswith(OFFER) and "整治后1张" in said(calls)


async def test_a_photo_without_a_caption_is_offered_too(sim: Simulator, org: Org) -> None:
    calls = await sim.photo(SECRETARY)
    assert said(calls).startswith(OFFER) and "还需要补充:日期、整治类别、参加人数" in said(calls)
    # 保存 asks each missing answer in turn, then the review (not the review after the first)
    await sim.press("保存", SECRETARY)
    assert QUESTION["date"] in last_text(sim, SECRETARY)
    await sim.send("昨天", SECRETARY)
    assert QUESTION["category"] in last_text(sim, SECRETARY)
    await sim.press("垃圾清除", SECRETARY)
    await sim.press("下一步", SECRETARY)
    assert QUESTION["people"] in last_text(sim, SECRETARY)
    await sim.send("群众10人", SECRETARY)
    assert QUESTION["review"] in last_text(sim, SECRETARY)
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    assert (report.fields.categories, report.fields.villagers, len(report.fields.photos)) == (("garbage",), 10, 1)


async def test_never_in_a_group_and_never_for_chatter(sim: Simulator, org: Org) -> None:
    calls = await sim.send("今天清运垃圾8车", SECRETARY, chat_id=-100500)
    assert not any(OFFER in (c.text or "") for c in calls)
    calls = await sim.send("你好", SECRETARY)
    assert not any(OFFER in (c.text or "") for c in calls)
    # a member (who does not report) and a stranger get today's answer
    for user in (MEMBER, STRANGER):
        calls = await sim.send("今天清运垃圾8车", user)
        assert not any(OFFER in (c.text or "") for c in calls)


async def test_a_township_admin_with_several_villages_names_one(sim: Simulator, org: Org) -> None:
    text = (await sim.send("向阳村今天清运垃圾5车", TOWNSHIP_ADMIN))[-1].text
    assert "村(社区):向阳村 ✍️" in text
    text = (await sim.send("今天清运垃圾5车", TOWNSHIP_ADMIN))[-1].text
    assert "还需要补充:村(社区)" in text


async def test_an_unfinished_report_is_set_aside_and_comes_back(sim: Simulator, org: Org) -> None:
    await sim.send("/report", SECRETARY)
    await sim.send("昨天", SECRETARY)
    # the user wanders off: another command pauses the report, its draft kept
    await sim.send("/help", SECRETARY)
    await sim.send("昨天在村东头拆除残墙3处,群众10人", SECRETARY)
    await sim.press("保存", SECRETARY)
    assert len(await saved_reports(sim, org.secretary.id)) == 1
    calls = await sim.send("/report", SECRETARY)
    assert "要接着填吗" in said(calls)  # the first draft is still there


async def test_a_future_date_is_not_taken(sim: Simulator, org: Org) -> None:
    text = (await sim.send("明天清理杂草", SECRETARY))[-1].text
    assert text.startswith(OFFER) and "还需要补充:日期" in text


async def test_a_visit_is_not_offered_as_a_report(sim: Simulator, org: Org) -> None:
    calls = await sim.send("今天去张大爷家走访,他反映自家门前路灯不亮", SECRETARY)
    assert not any(OFFER in (c.text or "") for c in calls)
    assert calls  # today's answer instead


async def test_what_the_reader_could_not_place_is_said(sim: Simulator, org: Org) -> None:
    text = (await sim.send("昨天3组清运垃圾5车;今天5组拆除残墙2处", SECRETARY))[-1].text
    assert "消息里有两个日期" in text and "日期:未填" in text
    text = (await sim.send("明天清理杂草", SECRETARY))[-1].text
    assert "不能作为整治日期" in text
    text = (await sim.send("今天党员群众共40人清理房前屋后", SECRETARY))[-1].text
    assert "没分清是干部、党员还是群众" in text and "参加人员:未填" in text


# -- a visit from one message -----------------------------------------------------------------
VISIT_OFFER = "要把这条作为走访记录吗?"


async def member_homes(sim: Simulator, org: Org) -> list:
    from tests.helpers.visits import add_households

    return await add_households(sim, org.village.id, org.member.id, "张建国", "李秀英", "王福贵")


async def saved_visits(sim: Simulator, household_id: int) -> list:
    return await sim.app.services.repos.visits.of_household(household_id)


async def test_a_member_logs_a_visit_in_one_sentence_with_a_follow_up(sim: Simulator, org: Org) -> None:
    homes = await member_homes(sim, org)
    calls = await sim.send("昨天到李秀英家宣传医保政策,她想申请低保,需要跟进,下周三前回复", MEMBER)
    text = said(calls)
    assert text.startswith(VISIT_OFFER) and "李秀英" in text and "申请低保" in text
    assert "还需要补充" not in text
    assert await saved_visits(sim, homes[1].id) == []  # nothing saved without a tap
    calls = await sim.press("保存", MEMBER)
    assert answered_once(calls)
    [visit] = await saved_visits(sim, homes[1].id)
    assert (visit.visited_on.isoformat(), visit.roles, visit.outcome, visit.concern_text) == (
        "2026-11-21", ("policy",), "follow_up", "申请低保"
    )
    [followup] = await sim.app.services.repos.visits.open_followups(household_id=homes[1].id)
    assert followup.due_on.isoformat() == "2026-11-25"  # 下周三 from Sunday 22 November
    # the offer's 保存 tapped again: "already saved" (the form's late answer), nothing twice
    token = visit.token
    for payload in (f"visit:offer:{token}.save", f"visit:offer:{token}"):
        calls = await sim.click(payload, MEMBER)
        assert answered_once(calls) and alerts(calls) == ["这次走访已经保存过了,不会重复记录。"]
    assert len(await saved_visits(sim, homes[1].id)) == 1
    calls = await sim.click(f"visit:offer:{token}.save", OTHER_MEMBER)  # a forged tap learns nothing
    assert not any("已经保存过了" in str(c.params.get("text")) for c in calls)


async def test_a_visit_asks_only_what_is_missing(sim: Simulator, org: Org) -> None:
    homes = await member_homes(sim, org)
    text = (await sim.send("今天去王大爷家走访", MEMBER))[-1].text
    assert text.startswith(VISIT_OFFER) and "还需要补充:走访身份、群众诉求、处理结果" in text
    assert answered_once(await sim.press("保存", MEMBER))
    assert "做了哪些工作" in last_text(sim, MEMBER)  # the roles question of /visit
    assert await saved_visits(sim, homes[2].id) == []


async def test_a_household_not_the_members_is_never_shown(sim: Simulator, org: Org) -> None:
    await member_homes(sim, org)
    text = (await sim.send("今天走访了周大爷家,宣传政策", MEMBER))[-1].text
    assert text.startswith(VISIT_OFFER) and "不在您的联系户里" in text
    assert "周大爷" not in text and "农户:未填\n" in text  # the household line names nobody
    assert "结果:未填" in text  # not "无诉求": the message did not say
    calls = await sim.press("不是走访", MEMBER)
    assert "不作为走访记录" in said(calls)


async def test_no_visit_offer_without_households(sim: Simulator, org: Org) -> None:
    calls = await sim.send("今天去张大爷家走访", MEMBER)
    assert not any(VISIT_OFFER in (c.text or "") for c in calls)


async def test_edit_on_a_visit_opens_the_visit_review(sim: Simulator, org: Org) -> None:
    homes = await member_homes(sim, org)
    await sim.send("今天走访张建国家,调解邻里纠纷,当场解决", MEMBER)
    calls = await sim.press("修改", MEMBER)
    assert answered_once(calls)
    review = last_text(sim, MEMBER)
    assert "请核对这次走访" in review
    assert {"✏️ 改日期", "✏️ 改诉求", "✏️ 改结果"} <= set(labels(sim, MEMBER))  # the engine's edit buttons
    # what the message said is marked, as on /report's review (issue 14 item 4); the rest not
    lines = review.splitlines()
    assert {"农户:张建国家 ✍️", "身份:矛盾纠纷调解 ✍️", "结果:当场解决 ✍️"} <= set(lines)
    assert any(line.startswith("日期:") and line.endswith("✍️") for line in lines)
    assert "照片:无" in lines and "带 ✍️ 的是从您的消息里读出来的" in review
    await sim.press("✏️ 改身份", MEMBER)
    await sim.press("政策法规宣传", MEMBER)
    lines = texts(await sim.press("下一步", MEMBER))[-1].splitlines()
    assert "身份:政策法规宣传、矛盾纠纷调解" in lines and "农户:张建国家 ✍️" in lines  # answered: no mark
    await sim.press("保存", MEMBER)
    assert "农户反映了什么诉求" in last_text(sim, MEMBER)  # the one thing the message did not say
    await sim.send("和邻居为宅基地吵架", MEMBER)
    await sim.press("保存", MEMBER)
    [visit] = await saved_visits(sim, homes[0].id)
    assert (visit.roles, visit.outcome, visit.concern_text) == (("policy", "mediation"), "solved", "和邻居为宅基地吵架")


async def test_an_album_with_a_visit_caption_is_one_visit_offer(sim: Simulator, org: Org) -> None:
    homes = await member_homes(sim, org)
    await sim.photo(SECRETARY, caption="昨天3组清运垃圾5车", media_group_id="a2")
    await sim.photo(SECRETARY, data=b"\x89PNG other", caption="群众10人", media_group_id="a2")
    text = last_text(sim, SECRETARY)
    assert "清运垃圾5车" in text  # the first caption is kept, a later one does not replace it
    calls = await sim.photo(MEMBER, caption="今天走访张建国家,调解纠纷,当场解决", media_group_id="v1")
    calls += await sim.photo(MEMBER, data=b"\x89PNG two", media_group_id="v1")
    sent = [c.text for c in calls if c.method == "sendMessage"]
    assert len(sent) == 1 and sent[0].startswith(VISIT_OFFER) and "照片:1张" in sent[0]
    assert homes
    await sim.press("修改", MEMBER)  # the photo came with the message: marked on /visit's review too
    assert "照片:1张 ✍️" in last_text(sim, MEMBER).splitlines()


async def test_a_visit_offer_asks_every_missing_answer_before_the_review(sim: Simulator, org: Org) -> None:
    """"还需要补充:选农户、走访身份、群众诉求" and 保存: each is asked in turn (it went from the
    household straight to the review, 身份:- 诉求:无), then the review, then the save."""
    homes = await member_homes(sim, org)
    text = (await sim.send("今天去了周大爷家,没解决,下周五再去回访", MEMBER))[-1].text
    assert "还需要补充:选农户、走访身份、群众诉求" in text
    await sim.press("保存", MEMBER)
    assert "选" in last_text(sim, MEMBER) and "李秀英" in " ".join(labels(sim, MEMBER))
    await sim.press(next(b for b in labels(sim, MEMBER) if "李秀英" in b), MEMBER)
    assert "做了哪些工作" in last_text(sim, MEMBER)  # the roles, not the review
    await sim.press("政策法规宣传", MEMBER)
    await sim.press("下一步", MEMBER)
    assert "农户反映了什么诉求" in last_text(sim, MEMBER)  # the concern, not the review
    await sim.send("看病报销", MEMBER)
    review = last_text(sim, MEMBER)
    assert "请核对这次走访" in review and "身份:政策法规宣传" in review and "诉求:看病报销" in review
    await sim.press("保存", MEMBER)
    [visit] = await saved_visits(sim, homes[1].id)
    assert (visit.roles, visit.outcome, visit.concern_text) == (("policy",), "follow_up", "看病报销")


async def test_a_matter_asked_about_is_read_as_the_concern(sim: Simulator, org: Org) -> None:
    """"问了看病报销的事" is what the household raised: not asked again (it said 诉求:未填)."""
    await member_homes(sim, org)
    text = (await sim.send("今天去了周大爷家,问了看病报销的事,没解决,下周五再去回访", MEMBER))[-1].text
    assert "诉求:看病报销的事" in text and "还需要补充:选农户、走访身份。" in text
