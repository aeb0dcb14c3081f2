"""/report on the form engine, issue 14 item 3: one sentence at the first question fills every
field it states and the form asks the first one missing; a photo at any step is kept for the
photo step ("照片已收下"); a photo's caption at the first question is read like a message."""

from __future__ import annotations

import pytest

from bot.simulator import Simulator, texts
from tests.conftest import SECRETARY, TOWNSHIP_ADMIN, Org, last_text
from tests.helpers.reports import QUESTION, asking, saved_reports

pytestmark = pytest.mark.usefixtures("fixed_clock")  # the users' messages carry NOW


async def test_one_sentence_at_the_first_question_fills_the_fields_it_states(sim: Simulator, org: Org) -> None:
    await sim.send("/report", SECRETARY)
    note, question = texts(await sim.send("今天组织党员群众清理了3组的垃圾,拉了5车", SECRETARY))
    assert "读到了" in note and "日期" in note and "整治类别" in note and "工作量" in note
    assert QUESTION["people"] in question  # how many took part was not said: the first question missing
    await sim.send("干部2 党员6 群众15", SECRETARY)
    assert asking(sim, SECRETARY, "photos")  # the amounts and the notes were read too
    await sim.press("不发照片", SECRETARY)
    review = last_text(sim, SECRETARY)
    assert QUESTION["review"] in review and "垃圾清除 ✍️" in review and "清运垃圾5车 ✍️" in review
    assert "干部2人" in review and "干部2人,党员6人,群众15人(共23人) ✍️" not in review  # typed: not marked
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    f = report.fields
    assert (f.categories, f.garbage_trucks, f.place, f.villagers) == (("garbage",), 5, "3组", 15)


async def test_a_plain_date_at_the_first_question_is_just_the_date(sim: Simulator, org: Org) -> None:
    await sim.send("/report", SECRETARY)
    (q,) = texts(await sim.send("昨天", SECRETARY))
    assert "读到了" not in q and QUESTION["category"] in q


async def test_the_village_is_read_too_for_someone_with_several(sim: Simulator, org: Org) -> None:
    await sim.send("/report", TOWNSHIP_ADMIN)
    note, question = texts(await sim.send("昨天向阳村清运垃圾3车", TOWNSHIP_ADMIN))
    assert "村(社区)" in note and QUESTION["place"] in question


async def test_a_photo_at_any_step_is_kept_for_the_photo_step(sim: Simulator, org: Org) -> None:
    await sim.send("/report", SECRETARY)
    await sim.send("昨天", SECRETARY)
    kept, question = texts(await sim.photo(SECRETARY))
    assert "照片已收下" in kept and QUESTION["category"] in question
    await sim.press("垃圾清除", SECRETARY)
    await sim.press("下一步", SECRETARY)
    await sim.send("村口", SECRETARY)
    await sim.send("3 5 20", SECRETARY)
    await sim.press("跳过", SECRETARY)
    assert "已收到:整治前1张" in last_text(sim, SECRETARY)  # the photo step has it
    await sim.press("完成", SECRETARY)
    await sim.press("跳过", SECRETARY)
    await sim.press("保存", SECRETARY)
    [report] = await saved_reports(sim, org.secretary.id)
    assert len(report.fields.photos) == 1


async def test_a_caption_at_the_first_question_is_read_like_a_message(sim: Simulator, org: Org) -> None:
    await sim.send("/report", SECRETARY)
    calls = await sim.photo(SECRETARY, caption="今天村东头清理坑塘2个,整治后")
    kept, note, question = texts(calls)
    assert "照片已收下" in kept and "读到了" in note and QUESTION["people"] in question
    await sim.send("干部1 党员2 群众3", SECRETARY)
    assert "整治后1张" in last_text(sim, SECRETARY)  # the caption says which photos these are
