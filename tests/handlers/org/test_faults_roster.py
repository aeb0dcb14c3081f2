"""Rosters off the event loop: the file is read in a worker while other chats get answers, a
progress message when it takes a while, and a zip bomb or an over-stretched sheet told what
is wrong with it (not "too large (max 5 MB)" for a 0.2 MB file)."""

from __future__ import annotations

import asyncio
import io
import zipfile
from dataclasses import replace

import pytest
from openpyxl import Workbook

from bot.rules.roster import RosterFileError, RowError, parse_roster
from bot.services import offloop
from bot.services import roster as service
from bot.simulator import Simulator, texts
from tests.conftest import ADMIN, STRANGER
from tests.helpers.org import hold_roster_reading, when_called, xlsx


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (90 * 1024 * 1024))
    return out.getvalue()


async def test_a_zip_bomb_is_told_what_is_wrong(sim: Simulator, district) -> None:
    data = zip_bomb()
    assert len(data) < 300 * 1024
    text = texts(await sim.document(data, "r.xlsx", ADMIN))[-1]
    assert "解压后有 90 MB" in text and "超过了 80 MB" in text
    assert "不能超过 5 MB" not in text and "文件太大了" not in text


def test_a_sheet_formatted_to_the_last_row_is_told_its_used_range() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["乡镇", "村", "户主"])
    sheet.append(["东风镇", "红旗村", "张大山"])
    sheet.cell(row=60_000, column=1).number_format = "0.00"  # formatting stretches the range
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(RosterFileError) as caught:
        parse_roster(out.getvalue(), "r.xlsx")
    assert caught.value.code == "sheet_too_big" and caught.value.params["rows"] == 60_000


async def test_parsing_runs_in_the_worker_process() -> None:
    data = xlsx([["乡镇", "村", "户主"], ["东风镇", "红旗村", "张大山"]])
    roster = await service.parse_off_loop(data, "r.xlsx")
    assert [r.head for r in roster.rows] == ["张大山"]
    assert offloop._process_pool is not None  # the process pool, not the event loop's thread
    with pytest.raises(RosterFileError) as caught:
        await service.parse_off_loop(b"PK\x03\x04 broken", "r.xlsx")
    assert caught.value.code == "xlsx_broken"


async def test_other_chats_are_answered_while_a_roster_is_read_and_the_admin_told_to_wait(
    sim: Simulator, district, monkeypatch
) -> None:
    """The reading is held (a worker blocked on an event) until another chat was answered;
    the admin gets the progress message first and the result after."""
    release, pool = hold_roster_reading(monkeypatch)
    monkeypatch.setattr(service, "PROGRESS_AFTER", 0.0)
    data = xlsx([["区", "乡镇", "村", "户主"], ["示例区", "东风镇", "红旗村", "张大山"]])
    told = when_called(sim, monkeypatch, lambda c: "正在读取" in c.text)  # the progress message
    importing = asyncio.ensure_future(sim.document(data, "r.xlsx", ADMIN))
    await asyncio.wait_for(told.wait(), 30)  # a bound for a broken build, not a timing
    assert any("正在读取" in c.text and "秒" in c.text for c in sim.api.calls)
    other = await sim.send("/help", STRANGER)  # another chat, answered meanwhile
    assert texts(other) and not importing.done()
    release.set()
    calls = await importing
    assert texts(calls)  # the result, after the reading finished
    assert await sim.app.services.repos.org.units_named("红旗村")  # and the roster imported
    pool.shutdown()


async def test_a_roster_from_the_worker_is_unpickled_a_part_at_a_time(monkeypatch) -> None:
    """Unpickling a whole province-sized roster held the GIL for 0.4-0.7 s: the worker hands it
    back in parts, and the event loop turns between two parts; the roster is the same."""
    rows = [["乡镇", "村", "户主"]] + [["东风镇", "红旗村", f"户主{n}"] for n in range(230)]
    data = xlsx(rows)
    monkeypatch.setattr(service, "PACKED", 50)
    parts = service.packed(parse_roster(data, "r.xlsx"))
    assert [kind for kind, _ in parts] == ["rest"] + ["rows"] * 5
    turns = 0

    async def ticker() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    ticking = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    before = turns
    roster = await service.unpacked(parts)
    ticking.cancel()
    assert turns - before >= 5
    assert roster == parse_roster(data, "r.xlsx")
    assert roster == await service.parse_off_loop(data, "r.xlsx")
    with_errors = replace(roster, errors=tuple(RowError(line=n, code="no_village") for n in range(120)))
    assert await service.unpacked(service.packed(with_errors)) == with_errors  # errors come back in parts too


def test_the_collector_pause_is_counted() -> None:
    """Two imports at once: the collector runs again only when both are done (and stays off if it
    was off before)."""
    import gc

    assert gc.isenabled()
    with service.collector_paused():
        with service.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with service.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_a_roster_is_imported_with_the_collector_paused_and_it_runs_again_after(
    sim: Simulator, district, monkeypatch
) -> None:
    """Full collections walked the half million objects of a big import (22-66 ms each, on the
    event loop): the reading and the import run with the collector paused; it runs again after,
    also when the file is refused."""
    import gc

    from storage.roster import RosterRepo

    seen: list[bool] = []
    real = RosterRepo.import_roster

    async def import_roster(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(RosterRepo, "import_roster", import_roster)
    data = xlsx([["区", "乡镇", "村", "户主"], ["示例区", "东风镇", "红旗村", "张大山"]])
    assert texts(await sim.document(data, "r.xlsx", ADMIN))
    assert seen == [False] and gc.isenabled()
    assert await sim.app.services.repos.org.units_named("红旗村")
    await sim.document(b"PK\x03\x04 broken", "r.xlsx", ADMIN)  # refused while reading
    assert gc.isenabled()
