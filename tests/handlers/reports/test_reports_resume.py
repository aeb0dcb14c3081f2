"""/report survives interruptions and repeats: the 30-minute idle timeout (run directly, no
sleeping) with a draft /report offers to resume, a restart mid-flow (a second Application over
the same file), one report per double tap or redelivered update, and photo albums
acknowledged once."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from bot.simulator import Simulator
from handlers.reports.form import ALBUM_JOB
from tests.conftest import NOW, SECRETARY, Org, alerts, at, labels, last_text, start_sim
from tests.helpers.reports import ANSWERS, ORDER, QUESTION, act, asking, go, said, saved_reports

pytestmark = pytest.mark.usefixtures("fixed_clock")  # the users' messages carry NOW


async def with_jobs(sim: Simulator) -> Simulator:
    """Start the application (and so its job queue) of the ``sim`` fixture."""
    await sim.app.start()
    return sim


def timeout_job(sim: Simulator):
    [job] = [j for j in sim.app.job_queue.jobs() if j.name == "_trigger_timeout"]
    return job


# -- timeout and resume ---------------------------------------------------------------------
async def test_idle_timeout_keeps_the_draft_and_report_offers_to_resume(sim: Simulator, org: Org) -> None:
    await with_jobs(sim)
    await go(sim, SECRETARY, "place")
    job = timeout_job(sim)
    # scheduled 30 minutes ahead (the job queue's clock is the real one; nothing waits for it)
    assert abs((job.next_t - datetime.now(UTC)).total_seconds() - 30 * 60) < 60
    before = len(sim.api.calls)
    await job.run(sim.app)  # as if 30 minutes passed
    [told] = sim.api.calls[before:]
    assert "30分钟没有操作" in told.text and "/report" in told.text

    calls = await sim.send("村东头坑塘", SECRETARY)  # the conversation has ended
    assert QUESTION["people"] not in said(calls)

    calls = await sim.send("/report", SECRETARY)
    assert QUESTION["resume"] in said(calls) and "红旗村" in said(calls)  # the engine's offer: the form's title
    assert labels(sim, SECRETARY) == ["继续填写", "重新开始"]
    calls = await sim.press("继续填写", SECRETARY)
    assert QUESTION["place"] in said(calls)  # the same step
    for step in ORDER[2:]:
        for action in ANSWERS[step]:
            await act(sim, SECRETARY, *action)
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    assert report.fields.categories == ("garbage",) and report.fields.place == "村东头坑塘"


async def test_timeout_then_start_over(sim: Simulator, org: Org) -> None:
    await with_jobs(sim)
    await go(sim, SECRETARY, "people")
    await timeout_job(sim).run(sim.app)
    await sim.send("/report", SECRETARY)
    calls = await sim.press("重新开始", SECRETARY)
    assert QUESTION["date"] in said(calls)
    await go(sim, SECRETARY, start=False)
    assert "地点:村东头坑塘" in last_text(sim, SECRETARY)


async def test_report_mid_conversation_offers_to_resume_too(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "amounts")
    calls = await sim.send("/report", SECRETARY)
    assert QUESTION["resume"] in said(calls)
    calls = await sim.send("随便", SECRETARY)  # text where the two buttons are expected
    assert "这一步请点上面的按钮来选择" in said(calls) and QUESTION["resume"] in said(calls)
    calls = await sim.press("继续填写", SECRETARY)
    assert QUESTION["amounts"] in said(calls)


async def test_an_answer_resets_the_idle_timer(sim: Simulator, org: Org) -> None:
    await with_jobs(sim)
    await go(sim, SECRETARY, "place")
    first = timeout_job(sim)
    await sim.send("村口", SECRETARY)
    second = timeout_job(sim)
    assert second is not first
    await first.run(sim.app)  # a stale timer does nothing
    assert asking(sim, SECRETARY, "people")
    calls = await sim.send("3 5 20", SECRETARY)
    assert QUESTION["amounts"] in said(calls)


# -- restart --------------------------------------------------------------------------------
async def test_a_restart_mid_conversation_resumes_at_the_same_step(sim: Simulator, org: Org, settings) -> None:
    await go(sim, SECRETARY, "people")
    api = sim.api
    await sim.stop()

    second = await start_sim(settings, api)
    at(second, NOW)
    try:
        calls = await second.send("干部3 党员5 群众20", SECRETARY)
        assert QUESTION["amounts"] in said(calls)
        for step in ORDER[4:]:
            for action in ANSWERS[step]:
                await act(second, SECRETARY, *action)
        review = last_text(second, SECRETARY)
        assert "日期:2026年11月21日星期六" in review and "地点:村东头坑塘" in review
        await second.press("保存", SECRETARY)
        [report] = await saved_reports(second, org.secretary.id)
        assert report.fields.work_date.isoformat() == "2026-11-21" and report.fields.villagers == 20
    finally:
        await second.stop()


async def test_a_restart_at_the_photo_step_keeps_the_photos(sim: Simulator, org: Org, settings) -> None:
    await go(sim, SECRETARY, "photos")
    await sim.photo(SECRETARY)
    await sim.press("整治后", SECRETARY)
    api = sim.api
    await sim.stop()
    second = await start_sim(settings, api)
    at(second, NOW)
    try:
        calls = await second.photo(SECRETARY)
        assert "收到一张照片(整治后)" in said(calls) and "整治前1张,整治后1张" in said(calls)
    finally:
        await second.stop()


# -- one report per save --------------------------------------------------------------------
async def test_a_double_tap_on_save_stores_one_report(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY)
    review_call, buttons = sim.last_keyboard(SECRETARY)
    [save] = [b["callback_data"] for b in buttons if b["text"] == "💾 保存"]
    first = await sim.click(save, SECRETARY, message_call=review_call)
    second = await sim.click(save, SECRETARY, message_call=review_call)
    assert "已保存,编号 #1" in first[-1].text
    assert alerts(second) == ["这份上报已经保存过了,编号 #1,不会重复保存。"]
    assert len(await saved_reports(sim, org.secretary.id)) == 1


async def test_a_redelivered_update_stores_one_report(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY)
    review_call, buttons = sim.last_keyboard(SECRETARY)
    [save] = [b["callback_data"] for b in buttons if b["text"] == "💾 保存"]
    payload = {
        "callback_query": {
            "id": "4242",
            "from": sim.user(SECRETARY).as_dict(),
            "chat_instance": str(SECRETARY),
            "data": save,
            "message": copy.deepcopy(sim.api.message(SECRETARY, review_call.result["message_id"])),
        }
    }
    await sim.feed(copy.deepcopy(payload))
    again = await sim.feed(copy.deepcopy(payload))
    assert alerts(again) == ["这份上报已经保存过了,编号 #1,不会重复保存。"]
    assert len(await saved_reports(sim, org.secretary.id)) == 1


async def test_an_old_save_button_during_a_new_report(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY)
    review_call, buttons = sim.last_keyboard(SECRETARY)
    [save] = [b["callback_data"] for b in buttons if b["text"] == "💾 保存"]
    await sim.click(save, SECRETARY, message_call=review_call)
    await go(sim, SECRETARY, "place")  # a second report in progress
    calls = await sim.click(save, SECRETARY, message_call=review_call)
    assert alerts(calls) == ["这份上报已经保存过了,编号 #1,不会重复保存。"]
    assert asking(sim, SECRETARY, "place")
    calls = await sim.send("村口", SECRETARY)
    assert QUESTION["people"] in said(calls)


# -- photos and albums ----------------------------------------------------------------------
def album_jobs(sim: Simulator):
    return [j for j in sim.app.job_queue.jobs() if j.name and j.name.startswith(ALBUM_JOB)]


async def test_an_album_is_acknowledged_once(sim: Simulator, org: Org) -> None:
    await with_jobs(sim)
    await go(sim, SECRETARY, "photos")
    replies = []
    for _ in range(4):
        replies += await sim.photo(SECRETARY, media_group_id="album-1")
    assert [c for c in replies if c.method == "sendMessage"] == []  # nothing per photo
    [job] = album_jobs(sim)  # one debounced job for the whole album
    before = len(sim.api.calls)
    await job.run(sim.app)
    [ack] = sim.api.calls[before:]
    assert "收到一组照片,共4张(整治前)" in ack.text and "整治前4张,整治后0张" in ack.text
    assert "✅ 完成" in [b["text"] for b in ack.buttons()]
    await job.run(sim.app)  # running it again says nothing more
    assert len(sim.api.calls) == before + 1

    await sim.press("整治后", SECRETARY)
    for _ in range(3):
        await sim.photo(SECRETARY, media_group_id="album-2")
    calls = await sim.press("完成", SECRETARY)  # before the album's job ran
    assert "照片:整治前4张,整治后3张" in said(calls)
    before = len(sim.api.calls)
    for job in album_jobs(sim):
        await job.run(sim.app)
    assert len(sim.api.calls) == before  # already acknowledged by the answer to 完成
    await sim.send("无", SECRETARY)
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    assert [p.phase for p in report.fields.photos] == ["before"] * 4 + ["after"] * 3


async def test_at_most_ten_photos(sim: Simulator, org: Org) -> None:
    await with_jobs(sim)
    await go(sim, SECRETARY, "photos")
    for _ in range(8):
        await sim.photo(SECRETARY, media_group_id="big")
    for _ in range(4):
        await sim.photo(SECRETARY, media_group_id="big2")
    [job] = album_jobs(sim)[-1:]
    before = len(sim.api.calls)
    await job.run(sim.app)
    [ack] = sim.api.calls[before:]
    assert "收到2张照片;最多只能10张,另外2张没有收下" in ack.text
    calls = await sim.photo(SECRETARY)
    assert "最多只能10张照片,这张没有收下" in said(calls)
    calls = await sim.press("清空照片重新发", SECRETARY)
    assert "已收到" not in said(calls) and "不发照片" in labels(sim, SECRETARY)


async def test_without_the_job_queue_the_next_input_acknowledges(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "photos")
    for _ in range(3):
        assert [c for c in await sim.photo(SECRETARY, media_group_id="a") if c.method == "sendMessage"] == []
    calls = await sim.photo(SECRETARY)  # a single photo after the album
    assert "整治前4张" in said(calls)


async def test_an_album_at_another_step_is_kept_with_one_note(sim: Simulator, org: Org) -> None:
    """Issue 14: a photo at any step is kept for the photo step (was: refused with a hint)."""
    await go(sim, SECRETARY, "notes")
    sent = []
    for n in range(3):
        sent += [c for c in await sim.photo(SECRETARY, data=b"\x89PNG %d" % n, media_group_id="late") if c.method == "sendMessage"]
    note, question = sent
    assert "照片已收下" in note.text and QUESTION["notes"] in question.text
    await sim.press("跳过", SECRETARY)
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    assert len(report.fields.photos) == 3


async def test_a_photo_sent_as_a_file_is_explained(sim: Simulator, org: Org) -> None:
    await go(sim, SECRETARY, "photos")
    calls = await sim.document(b"\xff\xd8jpeg", "IMG_1.jpg", SECRETARY, mime_type="image/jpeg")
    # the specific hint (report.hint.photo_as_file, as before the port), not form.wrong.photos
    assert "请以“照片”方式发送,不要选“文件”" in said(calls) and QUESTION["photos"] in said(calls)
    assert "这一步请发送照片" not in said(calls)
    assert sim.app.user_data[SECRETARY]["report"]["photos"] == []  # nothing kept
    calls = await sim.sticker(SECRETARY)  # anything else at the photo step: the general hint
    assert "这一步请发送照片" in said(calls)
