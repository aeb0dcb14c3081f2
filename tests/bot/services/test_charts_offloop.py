"""Charts and the bulletin's Word document are made in the worker process
(:mod:`bot.services.offloop`), never in the bot's own: a chart that cannot be drawn leaves
the text answer as it was, and a worker that died is replaced for the next chart."""

from __future__ import annotations

import os
import signal
from concurrent.futures.process import BrokenProcessPool

import bot.services.charts as charts
from bot.services import offloop
from bot.services import roster as roster_service
from bot.simulator import Simulator, texts
from tests.conftest import TOWNSHIP_ADMIN, Org
from tests.helpers.org import xlsx

PNG = b"\x89PNG\r\n\x1a\n"


def chart() -> bytes | None:
    return charts.bar_chart(["红旗村", "向阳村"], [40.0, 75.0], title="覆盖率", percent=True)


def test_a_chart_is_drawn_in_the_worker_process(monkeypatch) -> None:
    def here(*args, **kwargs):
        raise AssertionError("drawn in the bot's process")

    monkeypatch.setattr(charts, "_bar_chart", here)  # only this process sees it
    png = chart()
    assert png is not None and png.startswith(PNG)
    assert offloop.in_process(os.getpid) != os.getpid()


def test_a_dead_worker_is_replaced(monkeypatch) -> None:
    assert chart() is not None
    (worker,) = offloop.process_pool()._processes  # type: ignore[attr-defined]
    os.kill(worker, signal.SIGKILL)
    after = [chart() for _ in range(2)]  # the call that finds it dead may go without a chart
    assert after[-1] is not None and after[-1].startswith(PNG)
    (replaced,) = offloop.process_pool()._processes  # type: ignore[attr-defined]
    assert replaced != worker


async def test_a_roster_after_a_dead_worker_is_read() -> None:
    assert chart() is not None
    (worker,) = offloop.process_pool()._processes  # type: ignore[attr-defined]
    os.kill(worker, signal.SIGKILL)
    data = xlsx([["乡镇", "村", "户主"], ["东风镇", "红旗村", "张大山"]])
    for _ in range(2):  # the first may find the worker dead (refused as too complex)
        try:
            roster = await roster_service.parse_off_loop(data, "r.xlsx")
            break
        except Exception:
            continue
    assert [r.head for r in roster.rows] == ["张大山"]


async def test_a_bulletin_whose_chart_fails_keeps_its_text_and_document(sim: Simulator, org: Org, monkeypatch) -> None:
    monkeypatch.setattr(offloop, "PROGRESS_AFTER", 3600.0)  # no "being made" message on a slow machine
    drawn = texts(await sim.send("/bulletin", TOWNSHIP_ADMIN))
    assert len(drawn) == 3  # the message, the chart's caption, the document's

    def dead(*args, **kwargs):
        raise BrokenProcessPool("the worker died")

    monkeypatch.setattr(offloop, "in_process", dead)
    calls = await sim.send("/bulletin", TOWNSHIP_ADMIN)
    assert not [c for c in calls if c.method == "sendPhoto"]
    assert texts(calls) == [drawn[0], drawn[2]]  # the same message and document, no chart
    (document,) = [c for c in calls if c.method == "sendDocument"]
    assert next(iter(document.files.values())).startswith(b"PK")  # a .docx (a zip)


def test_an_idle_worker_is_let_go_and_the_next_chart_starts_another(monkeypatch) -> None:
    armed = []

    class Timer:  # the idle timer, fired by the test (no waiting on the wall clock)
        def __init__(self, seconds, then) -> None:
            self.seconds, self.then, self.daemon = seconds, then, False

        def start(self) -> None:
            armed.append((self.seconds, self.then))

        def cancel(self) -> None:
            armed.remove((self.seconds, self.then))

    monkeypatch.setattr(offloop.threading, "Timer", Timer)
    monkeypatch.setattr(offloop, "_idle_timer", None)
    assert chart() is not None
    pool = offloop.process_pool()
    (seconds, then), = armed  # armed once the last job was done
    assert seconds == offloop.PROCESS_IDLE
    assert then() is True and offloop._process_pool is None  # let go
    assert pool._shutdown_thread  # type: ignore[attr-defined]
    monkeypatch.setattr(offloop, "_idle_timer", None)
    assert chart() is not None and offloop._process_pool is not pool  # a new worker
