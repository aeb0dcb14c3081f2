"""Issue 13 item 2 for notices: an event's page and its answers say which units' groups get the
notices and which cannot, and why (no group bound, the bot removed), never just "还没回复(0人)"."""

from __future__ import annotations

from bot.rules.recurrence import DEFAULT_EVENT_LEADS, MONTHLY_WEEKDAY, Rule
from bot.services import scheduler
from bot.simulator import Simulator
from tests.conftest import TOWNSHIP_ADMIN, Clock, Org
from tests.conftest import local as at
from tests.conftest import newest_text as last_text

RED_GROUP, GREEN_GROUP = -400001, -400003


async def test_the_answers_do_not_hide_villages_never_reached(sim: Simulator, org: Org) -> None:
    now = at(2026, 11, 25, 10)
    sim.app.services.extras["clock"] = Clock(now)
    repos = sim.app.services.repos
    green = await repos.org.add_unit("青山村", "village", org.township.id)
    await repos.chats.bind(RED_GROUP, "红旗村党员群", org.village.id, org.township_admin.id)
    await repos.chats.bind(GREEN_GROUP, "青山村党员群", green.id, org.township_admin.id)
    await repos.chats.set_active(GREEN_GROUP, False)  # the bot was removed
    rule = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30)
    await repos.events.create(
        token="lecture", title="书记讲给书记听", rule=rule.to_dict(), place="镇会议室", speaker="",
        leads=[lead.code for lead in DEFAULT_EVENT_LEADS], audience="secretaries",
        organiser=org.township_admin.id, scope_unit_id=org.township.id,
        unit_ids=[org.village.id, org.other_village.id, green.id], now=now,
    )
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    page = last_text(await sim.press("1", TOWNSHIP_ADMIN))
    assert "能收到通知的单位(1/3个):红旗村" in page
    assert "向阳村(没有绑定群)" in page and "青山村(机器人已被移出群)" in page and "/bind" in page

    await scheduler.run_due(sim.app, at(2026, 12, 1, 9))  # the notice goes out
    sim.app.services.extras["clock"] = Clock(at(2026, 12, 2, 10))
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    page = last_text(await sim.press("1", TOWNSHIP_ADMIN))
    assert "已送达1/3个单位:红旗村" in page
    answers = last_text(await sim.press("回复情况", TOWNSHIP_ADMIN))
    assert "还没回复" in answers and "收不到通知的单位(2个)" in answers
    assert "向阳村(没有绑定群)" in answers and "青山村(机器人已被移出群)" in answers


async def test_units_none_of_which_can_be_told_are_counted_once_and_listed_once(sim: Simulator, org: Org) -> None:
    """No group bound anywhere: the page says once how many cannot be told and lists them; the
    answers say on a line of their own that only units told are counted, and list them once."""
    now = at(2026, 11, 25, 10)
    sim.app.services.extras["clock"] = Clock(now)
    repos = sim.app.services.repos
    rule = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30)
    await repos.events.create(
        token="lecture", title="书记讲给书记听", rule=rule.to_dict(), place="镇会议室", speaker="",
        leads=[lead.code for lead in DEFAULT_EVENT_LEADS], audience="secretaries",
        organiser=org.township_admin.id, scope_unit_id=org.township.id,
        unit_ids=[org.village.id, org.other_village.id], now=now,
    )
    await sim.send("/schedule", TOWNSHIP_ADMIN)
    page = last_text(await sim.press("1", TOWNSHIP_ADMIN))
    assert "2个单位现在都收不到通知:" in page and "收不到通知的单位(2个)" not in page
    assert page.count("红旗村(没有绑定群)") == 1 and page.count("向阳村(没有绑定群)") == 1
    answers = last_text(await sim.press("回复情况", TOWNSHIP_ADMIN))
    assert "以上只算收到通知的单位。\n⚠️ 2个单位现在都收不到通知:" in answers
    assert answers.count("红旗村(没有绑定群)") == 1 and "收不到通知的单位(2个)" not in answers
