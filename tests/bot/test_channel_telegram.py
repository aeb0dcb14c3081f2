"""The Telegram adapter of the channel port: the Bot API's refusals in the port's words, the
port's keyboards as Telegram's, the jobs on PTB's JobQueue by name."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.channel import Button, Failed, Moved, Rejected, Uncertain, Unreachable
from bot.channel_telegram import _translated, markup
from bot.simulator import Simulator


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), Unreachable),
        (BadRequest("Bad Request: chat not found"), Unreachable),
        (BadRequest("Bad Request: have no rights to send a message"), Unreachable),
        (BadRequest("Bad Request: message text is empty"), Rejected),
        (TimedOut(), Uncertain),
        (NetworkError("connection reset"), Uncertain),
        (RetryAfter(30), Failed),
    ],
)
def test_the_bot_apis_refusals_become_the_ports(error: Exception, kind: type) -> None:
    assert type(_translated(error)) is kind


def test_a_timeout_keeps_its_name_for_the_push_log() -> None:
    assert str(_translated(TimedOut())).startswith("TimedOut: ")


def test_a_migrated_chat_carries_its_new_id() -> None:
    moved = _translated(ChatMigrated(-100123))
    assert isinstance(moved, Moved) and moved.new_chat_id == -100123


def test_other_errors_pass_unchanged() -> None:
    error = ValueError("a bug")
    assert _translated(error) is error


def test_keyboards_become_inline_keyboards() -> None:
    assert markup(None) is None and markup(()) is None
    got = markup(((Button("✅ 已完成", data="task:done:1.2"), Button("📖 说明", url="https://example.org")),))
    (row,) = got.inline_keyboard
    assert (row[0].text, row[0].callback_data, row[0].url) == ("✅ 已完成", "task:done:1.2", None)
    assert (row[1].text, row[1].callback_data, row[1].url) == ("📖 说明", None, "https://example.org")


async def test_jobs_are_named_and_replaced(sim: Simulator) -> None:
    jobs = sim.app.services.jobs
    ran: list[str] = []

    async def one() -> None:
        ran.append("one")

    jobs.once("x", 3600, one)
    jobs.once("x", 3600, one)
    assert len(sim.app.job_queue.get_jobs_by_name("x")) == 2
    jobs.once("x", 3600, one, replace=True)
    live = [j for j in sim.app.job_queue.get_jobs_by_name("x") if not j.removed]
    assert len(live) == 1
    await live[0].run(sim.app)
    assert ran == ["one"]
    jobs.every("y", 60, 1, one)
    jobs.every("y", 60, 1, one)
    assert len([j for j in sim.app.job_queue.get_jobs_by_name("y") if not j.removed]) == 1
    jobs.cancel("y")
    assert not [j for j in sim.app.job_queue.get_jobs_by_name("y") if not j.removed]
