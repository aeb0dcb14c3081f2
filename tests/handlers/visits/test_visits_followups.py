"""/followups and the follow-up storage the scheduler uses: overdue first, closing asks what
was done and stores it, a member closes only their own, a secretary their village's."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.i18n import Catalogs
from bot.simulator import Simulator, texts
from handlers.visits.common import RETURN_REASON_CHARS, returned_note
from storage.visits import Closing, NewVisit
from tests.conftest import MEMBER, NOW, OTHER_MEMBER, SECRETARY, TODAY, Org, at
from tests.conftest import TZ as SH
from tests.conftest import labels as keyboard_labels
from tests.helpers.visits import (
    CALLED_BACK,
    NOT_YET,
    SATISFIED,
    SKIP,
    add_households,
    call_back,
    log_visit,
)


async def seed(sim: Simulator, org: Org):
    at(sim, NOW)
    zhang, li = await add_households(sim, org.village.id, org.member.id, "张三", "李四")
    (zhao,) = await add_households(sim, org.other_village.id, org.other_member.id, "赵六")
    await log_visit(sim, org.member.id, zhang.id, TODAY - timedelta(days=10), due=TODAY + timedelta(days=3), concern="想申请低保")
    await log_visit(sim, org.member.id, li.id, TODAY - timedelta(days=9), due=TODAY - timedelta(days=2), concern="屋顶漏雨")
    await log_visit(sim, org.other_member.id, zhao.id, TODAY - timedelta(days=5), due=TODAY - timedelta(days=1), concern="外村的事")
    return zhang, li, zhao


async def test_my_followups_overdue_first_and_closing_stores_what_was_done(sim: Simulator, org: Org) -> None:
    zhang, li, _ = await seed(sim, org)
    repo = sim.app.services.repos.visits
    (li_fu,) = await repo.open_followups(household_id=li.id)
    (listing,) = texts(await sim.send("/followups", MEMBER))
    assert "共 2 项,其中逾期 1 项" in listing
    first, second = listing.splitlines()[1:3]
    assert first.startswith("1. 李四家:屋顶漏雨") and "已逾期2天" in first
    assert second.startswith("2. 张三家:想申请低保") and "逾期" not in second
    assert "外村的事" not in listing
    (q,) = texts(await sim.press("办结第1项", MEMBER))
    assert "屋顶漏雨" in q and "办了什么" in q
    hint_text, again = texts(await sim.sticker(MEMBER))  # the engine: the hint, then the question again
    assert "办了什么" in hint_text and "屋顶漏雨" in again
    (called,) = texts(await sim.send("找人把屋顶补好了", MEMBER))  # then the call-back (回访), with buttons
    assert "有没有回访这一户" in called and keyboard_labels(sim, MEMBER)[:2] == [CALLED_BACK, NOT_YET]
    (happy,) = texts(await sim.press(CALLED_BACK, MEMBER))
    assert "农户对办理结果满意吗" in happy and SKIP in " ".join(keyboard_labels(sim, MEMBER))
    (done,) = texts(await call_back(sim, MEMBER, SATISFIED))  # the confirmation and the list, one message
    assert done.startswith("✅ 已办结:李四家「屋顶漏雨」") and "回访:回访过了、😊 满意" in done and "共 1 项" in done
    stored = await repo.followup(li_fu.id)
    assert (stored.resolution, stored.called_back, stored.satisfied) == ("找人把屋顶补好了", True, True)
    assert [f.household_id for f in await repo.open_followups(member_id=org.member.id)] == [zhang.id]
    closed = (await repo.followups_due(NOW + timedelta(days=30)))
    assert li.id not in {d.household_id for d in closed}


async def test_a_secretary_sees_and_closes_the_villages_followups(sim: Simulator, org: Org) -> None:
    zhang, _, _ = await seed(sim, org)
    repo = sim.app.services.repos.visits
    (zhang_fu,) = await repo.open_followups(household_id=zhang.id)
    (listing,) = texts(await sim.send("/followups", SECRETARY))
    assert "李党员" in listing and "屋顶漏雨" in listing and "外村的事" not in listing
    await sim.press("办结第2项", SECRETARY)
    await sim.voice(SECRETARY)
    (done,) = texts(await call_back(sim, SECRETARY, NOT_YET))  # not called back: satisfaction is not asked
    assert "已办结:张三家" in done and "回访:还没回访" in done
    (left,) = await repo.open_followups(village_id=org.village.id)
    assert left.concern_text == "屋顶漏雨"
    stored = await repo.followup(zhang_fu.id)
    assert (stored.resolution_voice is not None, stored.called_back, stored.satisfied) == (True, False, None)


async def test_closing_someone_elses_followup_by_a_forged_payload_is_refused(sim: Simulator, org: Org) -> None:
    _, _, zhao = await seed(sim, org)
    (theirs,) = await sim.app.services.repos.visits.open_followups(household_id=zhao.id)
    await sim.send("/followups", MEMBER)
    calls = await sim.click(f"followup:redo:{theirs.id}", MEMBER)
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == ["这条跟进事项不归您管,不能办结。"]
    await sim.send("我来办结", MEMBER)  # not taken as a resolution for it
    assert len(await sim.app.services.repos.visits.open_followups(household_id=zhao.id)) == 1
    await sim.send("/followups", SECRETARY)
    await sim.click(f"followup:redo:{theirs.id}", SECRETARY)  # another village's
    assert len(await sim.app.services.repos.visits.open_followups(household_id=zhao.id)) == 1


async def test_nothing_open(sim: Simulator, org: Org) -> None:
    (reply,) = texts(await sim.send("/followups", OTHER_MEMBER))
    assert reply == "没有待办的跟进事项。👍"
    assert keyboard_labels(sim, OTHER_MEMBER) == []


async def test_followups_due_and_close_for_the_scheduler(sim: Simulator, org: Org) -> None:
    _, _, zhao = await seed(sim, org)
    repo = sim.app.services.repos.visits
    due = await repo.followups_due(NOW)
    assert [(d.household_head, d.member_telegram_id, d.due_on) for d in due] == [
        ("李四", MEMBER, TODAY - timedelta(days=2)),
        ("赵六", OTHER_MEMBER, TODAY - timedelta(days=1)),
    ]
    assert due[0].due_at == datetime.combine(TODAY - timedelta(days=2), datetime.min.time(), SH).replace(hour=23, minute=59)
    assert due[0].concern_text == "屋顶漏雨" and due[0].member_name == "李党员"
    later = await repo.followups_due(NOW + timedelta(days=4))
    assert [d.household_head for d in later] == ["李四", "赵六", "张三"]
    assert await repo.close_followup(due[0].followup_id, by_person_id=org.member.id, closed_at=NOW, text="已修好")
    assert not await repo.close_followup(due[0].followup_id, by_person_id=org.member.id, closed_at=NOW, text="再次")
    closed = await repo.followup(due[0].followup_id)
    assert closed.resolution == "已修好" and closed.closed_at == NOW
    await sim.app.services.repos.households.set_archived(zhao.id, True)
    assert [d.household_head for d in await repo.followups_due(NOW + timedelta(days=4))] == ["张三"]



async def test_reopening_keeps_the_closing_in_the_trail_once(sim: Simulator, org: Org) -> None:
    """A reviewer returns a closed follow-up: it is open again (lists and reminders see it),
    and the closing it had (text or voice, on which visit) stays in the review trail."""
    zhang, li, _ = await seed(sim, org)
    repos = sim.app.services.repos
    repo = repos.visits
    fid = next(f.id for f in await repo.open_followups(member_id=org.member.id) if f.household_id == li.id)
    assert not await repo.reopen_followup(fid, by=org.township_admin.id, at=NOW)  # open: nothing to reopen
    saved = await repo.save(NewVisit(
        token="again", member_id=org.member.id, household_id=li.id, visited_on=TODAY, roles=("survey",),
        outcome="solved", closes=(Closing(fid, voice="vf1"),)), now=NOW - timedelta(hours=2))
    returned_at = NOW + timedelta(hours=1)
    assert await repo.reopen_followup(fid, by=org.township_admin.id, at=returned_at, reason="没说清楚", token="t1")
    assert not await repo.reopen_followup(fid, by=org.township_admin.id, at=returned_at, reason="没说清楚", token="t1")
    reopened = await repo.followup(fid)
    assert reopened.closed_at is None and reopened.resolution is None and reopened.resolution_voice is None
    assert fid in {d.followup_id for d in await repo.followups_due(NOW)}  # overdue again: reminded again
    closed, returned = await repos.oversight.history("followup", fid)
    assert (closed.action, closed.by_name, closed.comment, closed.voice, closed.visit_id, closed.at) == (
        "closed", "李党员", "", "vf1", saved.visit.id, NOW - timedelta(hours=2),
    )
    assert (returned.action, returned.by_name, returned.comment, returned.at) == ("returned", "钱镇长", "没说清楚", returned_at)
    # the member sees it in /followups again; closing it from the list asks it as a redo
    (listing,) = texts(await sim.send("/followups", MEMBER))
    assert "屋顶漏雨" in listing and "共 2 项" in listing
    assert "↩︎ 被退回:没说清楚,请重新办理" in listing and listing.count("被退回") == 1
    (q,) = texts(await sim.press("办结第1项", MEMBER))
    assert "被退回了,理由:没说清楚" in q and "上次说的办理情况:[语音]" in q
    await sim.send("补好了,拍了照片给书记", MEMBER)
    await sim.press(CALLED_BACK, MEMBER)
    done = texts([c for c in await call_back(sim, MEMBER, SKIP) if c.chat_id == MEMBER])[0]  # satisfaction skipped
    assert "已重新办结:李四家「屋顶漏雨」" in done and "回访:回访过了" in done and "满意" not in done
    assert ((await repo.followup(fid)).called_back, (await repo.followup(fid)).satisfied) == (True, None)
    assert [e.action for e in await repos.oversight.history("followup", fid)] == ["closed", "returned", "resubmitted"]
    # an ordinary follow-up closes as before, with nothing in a review trail
    await sim.send("/followups", MEMBER)
    (q,) = texts(await sim.press("办结第1项", MEMBER))
    assert "张三家" in q and "退回" not in q
    await sim.send("递交了低保申请", MEMBER)
    assert "已办结:张三家" in texts(await call_back(sim, MEMBER, NOT_YET))[0]
    assert [f for f in await repo.open_followups() if f.household_id == zhang.id] == []


def test_the_returned_note_without_a_reason_and_with_a_long_one() -> None:
    t = Catalogs().get("zh_CN")
    assert returned_note(t, "  ") == "   ↩︎ 被退回,请重新办理"
    long = returned_note(t, "理" * 200)
    assert long == "   ↩︎ 被退回:" + "理" * (RETURN_REASON_CHARS - 1) + "…,请重新办理"
    assert returned_note(Catalogs().get("en"), "") == "   ↩︎ Returned by the reviewer. Please do it again"


async def test_closing_is_a_form_typed_cancel_and_a_command_in_the_middle(sim: Simulator, org: Org) -> None:
    """On the engine: a typed 取消 leaves the follow-up open; a command in the middle pauses the
    closing (the command runs at once) and what is typed next is not taken for an answer."""
    await seed(sim, org)
    await sim.send("/followups", MEMBER)
    await sim.press("办结第1项", MEMBER)
    assert texts(await sim.send("算了", MEMBER)) == ["已取消,没有保存任何内容。"]
    assert len(await sim.app.services.repos.visits.open_followups(member_id=org.member.id)) == 2
    await sim.send("/followups", MEMBER)
    await sim.press("办结第1项", MEMBER)
    paused, helped = texts(await sim.send("/help", MEMBER))
    assert "放一放" in paused and "/followups" in helped
    assert "没看懂" in texts(await sim.send("屋顶修好了", MEMBER))[0]  # not taken as what was done
    await sim.send("/followups", MEMBER)
    await sim.press("办结第1项", MEMBER)
    await sim.send("屋顶修好了", MEMBER)
    assert "已办结" in texts(await call_back(sim, MEMBER, NOT_YET))[0]
    (left,) = await sim.app.services.repos.visits.open_followups(member_id=org.member.id)
    assert left.concern_text == "想申请低保"


async def test_the_call_back_is_asked_with_buttons_and_back_changes_the_answer(sim: Simulator, org: Org) -> None:
    """回访 then 满意 (only when called back): 返回 from the second changes the first; until the
    last answer nothing is closed."""
    _, li, _ = await seed(sim, org)
    repo = sim.app.services.repos.visits
    (li_fu,) = await repo.open_followups(household_id=li.id)
    await sim.send("/followups", MEMBER)
    await sim.press("办结第1项", MEMBER)
    await sim.send("修好了", MEMBER)
    hint, asked = texts(await sim.send("回访过了", MEMBER))  # typed, not tapped: the hint, the question again
    assert "请点上面的按钮" in hint and "有没有回访这一户" in asked
    (happy,) = texts(await sim.press(CALLED_BACK, MEMBER))
    assert "满意吗" in happy and (await repo.followup(li_fu.id)).closed_at is None
    (again,) = texts(await sim.press("返回", MEMBER))
    assert "有没有回访这一户" in again
    (done,) = texts(await call_back(sim, MEMBER, NOT_YET))
    assert "回访:还没回访" in done
    stored = await repo.followup(li_fu.id)
    assert (stored.resolution, stored.called_back, stored.satisfied) == ("修好了", False, None)
