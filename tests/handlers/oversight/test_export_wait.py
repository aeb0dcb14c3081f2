"""/export of a big ledger (issue 11, "bad input"): the admin is told how long it will take,
kept informed while it takes long, told when it waits behind another admin's, and told that
their first one is still being made when they ask twice; nobody else waits meanwhile.

No wall clock: the estimate (the row counts and the pace), the queue's clock and the ticks of
the progress messages are injected; the workbook is held in its worker thread by events."""

from __future__ import annotations

import asyncio
import io
import threading
from dataclasses import dataclass, field

import openpyxl
import pytest

import handlers.oversight.export as export
from bot.services import offloop
from bot.simulator import Simulator, texts
from tests.conftest import DISTRICT_ADMIN, MEMBER, TOWNSHIP_ADMIN, Org, local
from tests.helpers.ledger import seed

YEAR_COUNTS = {"reports": 30000, "visits": 140000, "followups": 7000, "tasks": 8000, "villages": 2000}


@dataclass
class Pace:
    """The estimate, injected: seconds per unit id; what was learnt."""

    seconds_of: dict[int, float]
    counts_of: dict[int, dict[str, int]]
    learnt: list[float] = field(default_factory=list)

    def seconds(self, counts) -> float:
        unit = next(u for u, c in self.counts_of.items() if c == counts)
        return self.seconds_of[unit]

    def learn(self, counts, took: float) -> None:
        self.learnt.append(took)


class Hand:
    """The workbook held in its worker thread, the queue's clock and the progress ticks, all
    moved by the test."""

    def __init__(self, monkeypatch, sim: Simulator) -> None:
        self.now = 1000.0
        self.entered: list[int] = []  # unit ids, in the order the worker took them
        self.inside = threading.Semaphore(0)
        self.release = threading.Event()
        self.written: dict[int, object] = {}
        self.paused: asyncio.Queue[float] = asyncio.Queue()
        self.ticks: asyncio.Queue[None] = asyncio.Queue()
        write = export.write_ledger

        def held(db_path, request, t, path, written):
            self.written[request.unit_id] = written
            self.entered.append(request.unit_id)
            self.inside.release()
            assert self.release.wait(30), "never released"
            return write(db_path, request, t, path)

        async def pause(seconds: float) -> None:
            self.paused.put_nowait(seconds)
            await self.ticks.get()

        monkeypatch.setattr(export, "write_ledger", held)
        monkeypatch.setattr(offloop, "clock", lambda: self.now)
        monkeypatch.setattr(offloop, "pause", pause)
        monkeypatch.setattr(sim, "settle", _no_wait)  # the test waits for the background itself
        self.sim = sim

    async def worker_took_one(self) -> None:
        assert await asyncio.to_thread(self.inside.acquire, True, 30), "the worker never took it"

    async def tick(self) -> None:
        """One progress tick; back once the progress message is edited and the next tick awaited."""
        self.ticks.put_nowait(None)
        await self.paused.get()

    async def finished(self) -> None:
        self.release.set()
        while self.sim.app.services.background:
            await asyncio.gather(*list(self.sim.app.services.background))


async def _no_wait() -> None:
    return None


def edits(sim: Simulator, chat: int) -> list[str]:
    return [c.params["text"] for c in sim.api.calls if c.method == "editMessageText" and c.chat_id == chat]


@pytest.fixture
def clocked(sim: Simulator) -> Simulator:
    sim.clock = lambda: local(2026, 12, 2, 9).timestamp()
    sim.app.services.extras["clock"] = lambda: local(2026, 12, 2, 9)  # the forms' clock
    return sim


async def test_a_district_years_ledger_says_how_long_keeps_the_admin_informed_and_arrives(
    clocked: Simulator, org: Org, monkeypatch
) -> None:
    sim = clocked
    await seed(sim.app.services.repos, org)
    district = org.district.id
    pace = Pace({district: 90.0}, {district: YEAR_COUNTS})
    monkeypatch.setattr(export, "PACE", pace)
    monkeypatch.setattr(export, "count_ledger", lambda db, request: dict(pace.counts_of[request.unit_id]))
    hand = Hand(monkeypatch, sim)

    await sim.send("/export", DISTRICT_ADMIN)
    await sim.press("示例区", DISTRICT_ADMIN)
    asked = len(edits(sim, DISTRICT_ADMIN))
    await sim.send("2026年", DISTRICT_ADMIN)  # a whole year, typed
    await hand.worker_took_one()
    await hand.paused.get()  # the progress ticker waits for its first tick
    (working,) = edits(sim, DISTRICT_ADMIN)[asked:]  # the question became the working message
    assert working.startswith("正在生成示例区2026年全年的台账(约187000行),大约需要2分钟。")
    assert "生成好后会直接发给您" in working

    # meanwhile the admin's own chat and everyone else's are answered
    assert texts(await sim.send("/help", MEMBER))
    assert texts(await sim.send("/help", DISTRICT_ADMIN))
    again = texts(await sim.send("/export", DISTRICT_ADMIN))
    assert len(again) == 1 and again[0].startswith("您上次要的台账还没生成好")
    assert "示例区2026年全年" in again[0]
    assert len(offloop.jobs(offloop.LEDGERS)) == 1, "asking twice makes no second ledger"

    # half of it written in 45 seconds: about 45 seconds left, said on the next tick
    hand.now += 45
    hand.written[district].rows = 93500
    await hand.tick()
    assert edits(sim, DISTRICT_ADMIN)[-1] == (
        "正在生成示例区2026年全年的台账:已写入93500行,共约187000行,还需大约45秒。"
    )
    await hand.tick()  # nothing moved: the message is not edited again
    assert len(edits(sim, DISTRICT_ADMIN)) == asked + 2

    before = len(sim.api.calls)
    await hand.finished()
    calls = sim.api.calls[before:]
    (doc,) = [c for c in calls if c.method == "sendDocument"]
    assert doc.params["caption"].startswith("示例区2026年全年台账:人居环境整治 3 条")
    assert openpyxl.load_workbook(io.BytesIO(doc.files["document"]))["人居环境整治"].max_row > 3
    assert "已发送示例区2026年全年的台账" in texts(calls)[-1]
    assert pace.learnt == [45.0], "the pace learns what this machine took"
    assert not offloop.jobs(offloop.LEDGERS)
    assert "导出哪个单位的台账" in texts(await sim.send("/export", DISTRICT_ADMIN))[-1]  # free again


async def test_two_admins_exporting_at_once_the_second_is_told_it_waits_and_how_long(
    clocked: Simulator, org: Org, monkeypatch
) -> None:
    """One ledger at a time (a workbook holds the GIL): the second admin is told plainly that
    one is before theirs and how long it all takes; both arrive, one after the other."""
    sim = clocked
    await seed(sim.app.services.repos, org)
    township, district = org.township.id, org.district.id
    counts = {township: {"reports": 1000, "visits": 9000, "followups": 0, "tasks": 0, "villages": 2},
              district: dict(YEAR_COUNTS)}
    pace = Pace({township: 30.0, district: 40.0}, counts)
    monkeypatch.setattr(export, "PACE", pace)
    monkeypatch.setattr(export, "count_ledger", lambda db, request: dict(counts[request.unit_id]))
    hand = Hand(monkeypatch, sim)

    await sim.send("/export", TOWNSHIP_ADMIN)
    await sim.press("2026年11月", TOWNSHIP_ADMIN)
    await hand.worker_took_one()
    assert edits(sim, TOWNSHIP_ADMIN)[-1].startswith("正在生成东风镇2026年11月的台账(约10002行),大约需要30秒。")
    hand.now += 10  # the township's has run 10 of its 30 seconds
    await sim.send("/export 2026年", DISTRICT_ADMIN)
    await sim.press("示例区", DISTRICT_ADMIN)
    queued = edits(sim, DISTRICT_ADMIN)[-1]
    assert queued.startswith("前面还有1份台账正在生成,示例区2026年全年的台账排在后面,全部大约需要1分钟。"), queued
    assert hand.entered == [township], "the second waits its turn, it is not written side by side"
    assert texts(await sim.send("/help", MEMBER)), "a member is answered meanwhile"

    before = len(sim.api.calls)
    await hand.finished()
    assert hand.entered == [township, district]
    documents = [c for c in sim.api.calls[before:] if c.method == "sendDocument"]
    assert [(d.chat_id, d.params["caption"].split("台账")[0]) for d in documents] == [
        (TOWNSHIP_ADMIN, "东风镇2026年11月"), (DISTRICT_ADMIN, "示例区2026年全年"),
    ]


async def test_a_ledger_that_fails_is_said_plainly_and_the_admin_may_ask_again(
    clocked: Simulator, org: Org, monkeypatch
) -> None:
    sim = clocked

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "write_ledger", broken)
    await sim.send("/export", TOWNSHIP_ADMIN)
    calls = await sim.press("2026年11月", TOWNSHIP_ADMIN)
    assert texts(calls)[-1].startswith("抱歉,东风镇2026年11月的台账没有生成成功")
    assert not export.making_of(sim.app.services)
    assert "导出东风镇哪段时间" in texts(await sim.send("/export", TOWNSHIP_ADMIN))[-1]


async def test_a_quick_ledger_just_says_it_is_being_made(clocked: Simulator, org: Org) -> None:
    sim = clocked
    await seed(sim.app.services.repos, org)
    await sim.send("/export", TOWNSHIP_ADMIN)
    calls = await sim.press("2026年11月", TOWNSHIP_ADMIN)
    assert texts(calls)[0] == "正在生成东风镇2026年11月的台账,请稍候……"
    assert [c.method for c in calls].count("sendDocument") == 1


@pytest.mark.parametrize(
    ("typed", "label"),
    [("2026年", "2026年全年"), ("去年", "2025年全年"), ("1月到11月", "2026年1月1日至2026年11月30日")],
)
async def test_a_typed_year_or_month_range(clocked: Simulator, org: Org, typed: str, label: str) -> None:
    sim = clocked
    await sim.send("/export", TOWNSHIP_ADMIN)
    calls = await sim.send(typed, TOWNSHIP_ADMIN)
    (doc,) = [c for c in calls if c.method == "sendDocument"]
    assert doc.params["caption"].startswith(f"东风镇{label}台账")
    assert "还没到" in texts(await sim.send("/export 2027年", TOWNSHIP_ADMIN))[-1]


async def test_a_ledger_cut_short_by_a_restart_is_said_at_the_next_start(
    clocked: Simulator, org: Org, settings, monkeypatch
) -> None:
    """The bot stops while a ledger is being made: at the next start its working message says
    it was not finished and how to ask again (not "正在生成…" forever)."""
    from tests.conftest import start_sim

    sim = clocked
    hand = Hand(monkeypatch, sim)
    await sim.send("/export", TOWNSHIP_ADMIN)
    calls = await sim.press("2026年11月", TOWNSHIP_ADMIN)
    await hand.worker_took_one()
    (working,) = [c for c in calls if c.method == "editMessageText" and "正在生成" in c.params["text"]]
    again = await start_sim(settings)  # the bot started again on the same database
    try:
        told = [c for c in again.api.calls if c.method in ("editMessageText", "sendMessage")]
        assert [c.params["text"] for c in told] == ["东风镇2026年11月的台账没有生成完:机器人中途重启了。请重新发送 /export 再要一次。"]
        if told[0].method == "editMessageText":
            assert told[0].params["message_id"] == working.params["message_id"]
        assert export.MARK not in again.app.user_data.get(TOWNSHIP_ADMIN, {})
    finally:
        await again.stop()
    await hand.finished()
    assert export.MARK not in sim.app.user_data[TOWNSHIP_ADMIN]  # sent: nothing left to say


def test_how_long_reads_in_fives_of_seconds_then_minutes() -> None:
    from bot.i18n import Catalogs

    zh, en = Catalogs().get("zh_CN"), Catalogs().get("en")
    assert [export.about(zh, s) for s in (0.5, 44, 45.1, 56, 89, 150)] == ["5秒", "45秒", "50秒", "1分钟", "1分钟", "3分钟"]
    assert [export.about(en, s) for s in (44, 60, 150)] == ["45 seconds", "1 minute", "3 minutes"]
