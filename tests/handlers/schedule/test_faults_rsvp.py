"""参加 / 请假 presses are checked against the event's groups and occurrences: a forged id or
date, an old notice, a notice pressed in a group the event does not target all get a polite
answer and record nothing."""

from __future__ import annotations

import pytest

from bot.simulator import Simulator
from tests.conftest import NOW, RED_GROUP, SECRETARY, TOWN_GROUP, Org, alerts
from tests.conftest import local as at
from tests.helpers.scheduler import add_lecture, notice_in_town_group


async def counts(sim: Simulator, event_id: int, day: str) -> tuple[int, int]:
    return await sim.app.services.repos.events.counts(event_id, day)


async def test_a_real_notice_press_counts(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    notice = await notice_in_town_group(sim, at(2026, 12, 1, 9))
    calls = await sim.click(f"rsvp:yes:{event.id}.20261204", SECRETARY, TOWN_GROUP, message_call=notice)
    assert "已记录" in alerts(calls)[0] or any(c.method == "answerCallbackQuery" for c in calls)
    assert await counts(sim, event.id, "2026-12-04") == (1, 0)


@pytest.mark.parametrize(
    "day",
    [
        "20261205",  # not one of the event's days (a Saturday)
        "20270101",  # one of its days, but no notice of it was sent
        "20261304",  # no such date
        "2026120",  # too short
        "２０２６１２０４",  # full-width digits
    ],
)
async def test_a_forged_or_unannounced_date_is_refused(sim: Simulator, admin: Org, day: str) -> None:
    event = await add_lecture(sim, admin, NOW)
    notice = await notice_in_town_group(sim, at(2026, 12, 1, 9))
    calls = await sim.click(f"rsvp:yes:{event.id}.{day}", SECRETARY, TOWN_GROUP, message_call=notice)
    assert alerts(calls), "a polite answer"
    assert "已记录" not in alerts(calls)[0]
    assert await counts(sim, event.id, "2026-12-04") == (0, 0)
    assert await counts(sim, event.id, "2027-01-01") == (0, 0)


async def test_a_notice_pressed_in_a_group_the_event_does_not_target(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    await notice_in_town_group(sim, at(2026, 12, 1, 9))
    # the same payload under some other bot message in a village group (not a target)
    sent = await sim.send("/help", SECRETARY, RED_GROUP)
    other = next(c for c in sent if c.method == "sendMessage")
    calls = await sim.click(f"rsvp:no:{event.id}.20261204", SECRETARY, RED_GROUP, message_call=other)
    assert "不属于本群" in alerts(calls)[0]
    assert await counts(sim, event.id, "2026-12-04") == (0, 0)


async def test_a_press_under_a_message_that_is_not_the_notice(sim: Simulator, admin: Org) -> None:
    event = await add_lecture(sim, admin, NOW)
    await notice_in_town_group(sim, at(2026, 12, 1, 9))
    sent = await sim.send("/help", SECRETARY, TOWN_GROUP)
    other = next(c for c in sent if c.method == "sendMessage")  # a target group, but not the notice
    calls = await sim.click(f"rsvp:yes:{event.id}.20261204", SECRETARY, TOWN_GROUP, message_call=other)
    assert alerts(calls) and "已记录" not in alerts(calls)[0]
    assert await counts(sim, event.id, "2026-12-04") == (0, 0)


@pytest.mark.parametrize("event_id", ["99999999999999999999", "-1", "0", "", "x"])
async def test_forged_event_ids(sim: Simulator, admin: Org, event_id: str) -> None:
    await add_lecture(sim, admin, NOW)
    notice = await notice_in_town_group(sim, at(2026, 12, 1, 9))
    calls = await sim.click(f"rsvp:yes:{event_id}.20261204", SECRETARY, TOWN_GROUP, message_call=notice)
    assert "取消" in alerts(calls)[0]
