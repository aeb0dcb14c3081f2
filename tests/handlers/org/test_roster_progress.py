"""A big roster through the real Application: how long it will take is told before reading,
from the rows counted in the file, and the message is edited with the progress (an injected
clock, no waiting on the wall clock)."""

from __future__ import annotations

import asyncio

import pytest

import storage.roster as roster_storage
from bot.services import roster as service
from bot.simulator import Simulator, texts
from tests.conftest import ADMIN
from tests.helpers.org import hold_roster_reading, when_called, xlsx


def csv_rows(rows: int) -> bytes:
    lines = ["区,乡镇,村,户主,地址"] + [f"示例区,东风镇,红旗村,户主{n},{n % 9}组" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


class FakeClock:
    """Twenty seconds pass between two looks at it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 20.0
        return self.now


def test_rows_are_counted_without_reading_the_file() -> None:
    assert service.count_cells(csv_rows(7)) == (8, 5)
    assert service.count_cells(csv_rows(7).decode().encode("utf-16")) == (8, 5)
    assert service.count_cells(csv_rows(7).decode().replace("\n", "\r\n").encode("gb18030")) == (8, 5)
    sheet = [["区", "乡镇", "村", "户主", "地址", "备注"]] + [["示例区", "东风镇", "红旗村", f"户主{n}", "", "x"] for n in range(30)]
    assert service.count_cells(xlsx(sheet), "r.xlsx") == (31, 6)
    assert service.count_cells(b"PK\x03\x04 broken", "r.xlsx") is None
    # the estimate follows the rows counted, not the bytes
    small, big = service.estimate_seconds(csv_rows(100)), service.estimate_seconds(csv_rows(1000))
    assert big == pytest.approx(small * 1001 / 101)
    cells = service.estimate_seconds(xlsx(sheet), "r.xlsx")
    assert cells == pytest.approx(31 * (6 * service.XLSX_SECONDS_PER_CELL + service.IMPORT_SECONDS_PER_ROW))


async def test_a_big_roster_is_told_at_once_how_long_from_its_rows(sim: Simulator, district, monkeypatch) -> None:
    data = csv_rows(4)
    calls = await sim.document(data, "r.csv", ADMIN)  # small: no waiting message
    assert not any("名册约有" in c.text for c in calls) and "导入" in texts(calls)[-1]
    monkeypatch.setattr(service, "CSV_SECONDS_PER_ROW", 2.0)  # as if each row took 2 s to read
    data = csv_rows(6)
    seconds = service.shown_seconds(service.estimate_seconds(data, "r.csv"))
    assert seconds == 15  # 7 lines x 2 s, up to the next 5
    said = texts(await sim.document(data, "r2.csv", ADMIN))
    assert "名册约有 6 行" in said[0] and f"大约需要 {seconds} 秒" in said[0]
    assert len(said) == 2 and "户" in said[1]  # then the result


async def test_the_message_is_edited_with_the_rows_imported(sim: Simulator, district, monkeypatch) -> None:
    monkeypatch.setattr(service, "CSV_SECONDS_PER_ROW", 2.0)
    monkeypatch.setattr(service, "CLOCK", FakeClock())
    monkeypatch.setattr(roster_storage, "CHUNK", 2)
    calls = await sim.document(csv_rows(6), "r.csv", ADMIN)
    told = [c for c in calls if c.method == "sendMessage" and "名册约有 6 行" in c.text]
    edits = [c.text for c in calls if c.method == "editMessageText" and "正在导入" in c.text]
    assert len(told) == 1
    assert edits and all("/6 行" in e for e in edits), edits
    done = [int(e.split("正在导入:")[1].split("/")[0]) for e in edits]
    assert done == sorted(done) and done[-1] == 6
    assert await sim.app.services.repos.org.units_named("红旗村")


async def test_a_long_reading_is_edited_with_the_time_so_far(sim: Simulator, district, monkeypatch) -> None:
    """The reading is held (a worker thread blocked on an event) until the progress edit is seen."""
    release, pool = hold_roster_reading(monkeypatch)
    monkeypatch.setattr(service, "CSV_SECONDS_PER_ROW", 2.0)
    monkeypatch.setattr(service, "TICK", 0.0)
    monkeypatch.setattr(service, "CLOCK", FakeClock())
    edited = when_called(sim, monkeypatch, lambda c: c.method == "editMessageText" and "还在读取" in c.text)
    importing = asyncio.ensure_future(sim.document(csv_rows(6), "r.csv", ADMIN))
    await asyncio.wait_for(edited.wait(), 30)  # a bound for a broken build, not a timing
    edit = next(c for c in sim.api.calls if c.method == "editMessageText")
    assert "已用" in edit.text and "预计共需约" in edit.text and not importing.done()
    release.set()
    assert "户" in texts(await importing)[-1]
    pool.shutdown()


