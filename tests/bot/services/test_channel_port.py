"""The services talk to a channel only through bot.channel: another channel (WeCom) is one
adapter away. A channel that is not Telegram at all gets the scheduler's pushes, and its
refusals (in the port's own words) are handled as delivery promises."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.channel import Failed, Keyboard, Moved, Rejected, Uncertain, Unreachable
from bot.services import scheduler
from bot.simulator import Simulator
from storage.pushes import PushKey
from tests.conftest import OTHER_SECRETARY, RED_GROUP, SECRETARY, SUN_GROUP, Org, setup_groups
from tests.conftest import local as at
from tests.helpers.scheduler import add_task


class OtherChannel:
    """A channel of another platform: records what it is asked, refuses where told to."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, Keyboard | None]] = []
        self.refuse: dict[int, Exception] = {}
        self.next_id = 100

    async def send(self, chat_id, text, *, keyboard=None, photo=None) -> int:
        if chat_id in self.refuse:
            raise self.refuse.pop(chat_id)
        self.sent.append((chat_id, text, keyboard))
        self.next_id += 1
        return self.next_id

    async def edit(self, chat_id, message_id, text, *, keyboard=None) -> None:
        self.sent.append((chat_id, text, keyboard))


@pytest.fixture
async def other(sim: Simulator, org: Org) -> OtherChannel:
    await setup_groups(sim, org)
    channel = OtherChannel()
    sim.app.services.channel = channel
    sim.api.clear()
    return channel


async def test_the_scheduler_sends_through_whatever_channel_is_set(sim: Simulator, org: Org, other: OtherChannel) -> None:
    created = at(2026, 11, 22, 10)
    await add_task(sim, org, deadline=at(2026, 11, 30, 23, 59), created=created)
    outcome = await scheduler.run_due(sim.app, created)
    assert sorted(chat for chat, _, _ in other.sent) == sorted([RED_GROUP, SECRETARY, SUN_GROUP, OTHER_SECRETARY])
    assert len(outcome.sent) == 4
    assert not [c for c in sim.api.calls if c.method in ("sendMessage", "sendPhoto")]  # nothing went to Telegram
    (buttons,) = [kb for chat, _, kb in other.sent if chat == SECRETARY]
    assert [[(b.label, b.data) for b in row] for row in buttons] == [[("✅ 已完成", f"task:done:1.{org.village.id}")]]
    records = {r.key.chat_id: r for r in await sim.app.services.repos.pushes.messages("task_new", 1)}
    assert records[SECRETARY].message_id > 100  # the id the channel answered is what the log keeps


async def test_the_ports_refusals_mean_what_they_say(sim: Simulator, org: Org, other: OtherChannel) -> None:
    created = at(2026, 11, 22, 10)
    await add_task(sim, org, deadline=at(2026, 11, 30, 23, 59), created=created)
    other.refuse = {
        RED_GROUP: Unreachable("the bot was removed"),
        SUN_GROUP: Uncertain("timed out"),
        SECRETARY: Failed("flood control"),
        OTHER_SECRETARY: Rejected("malformed"),
    }
    outcome = await scheduler.run_due(sim.app, created)
    key = lambda chat: PushKey("task_new", 1, "2026-11-30T23:59", "", chat)  # noqa: E731
    assert set(outcome.dropped) == {key(RED_GROUP), key(OTHER_SECRETARY)}  # never retried
    assert set(outcome.failed) == {key(SUN_GROUP), key(SECRETARY)}  # retried
    assert outcome.uncertain == [key(SUN_GROUP)]
    assert RED_GROUP in outcome.gone_chats
    chat = await sim.app.services.repos.chats.get(RED_GROUP)
    assert chat is not None and not chat.active  # a group that is gone is marked inactive
    await scheduler.run_due(sim.app, created + timedelta(minutes=5))
    assert sorted(c for c, _, _ in other.sent if c in (SUN_GROUP, SECRETARY)) == sorted([SUN_GROUP, SECRETARY])


async def test_a_moved_chat_is_followed(sim: Simulator, org: Org, other: OtherChannel) -> None:
    created = at(2026, 11, 22, 10)
    await add_task(sim, org, deadline=at(2026, 11, 30, 23, 59), created=created)
    other.refuse = {RED_GROUP: Moved("became a supergroup", -1009999)}
    await scheduler.run_due(sim.app, created)
    await scheduler.run_due(sim.app, created + timedelta(minutes=5))
    assert -1009999 in [c for c, _, _ in other.sent]
