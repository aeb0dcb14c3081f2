"""Roster files for the bot and the command line: parsing off the event loop, the admin kept
informed of a long import, and the texts of an import (problems with the file, row errors,
the summary).

Reading an XLSX with openpyxl costs about 40-50 µs a cell, all of it Python under the GIL: read
on the event loop (or in a thread) it stalls every other chat. :func:`parse_off_loop` reads it
in the worker process (:func:`bot.services.offloop.process_pool`: one worker, started on first
use and kept, the charts' too), with the garbage collector paused (openpyxl's many small
objects made each full collection walk all of them: the reading grew faster than the rows), so
the bot keeps answering.

How long it will take is known before reading (:func:`estimate_seconds`: the rows counted
cheaply, :func:`count_cells`, times the pace measured by ``bench/roster_stall.py``). An import
expected to take over :data:`TELL_AFTER` seconds is told at once how long; any other that is
still reading after :data:`PROGRESS_AFTER` seconds is told then; and the message is edited
every :data:`EVERY` seconds with how far it is (:class:`Tracker`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import io
import logging
import math
import pickle
import re
import time
import zipfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace

from bot.i18n import Translator
from bot.rules.roster import MAX_BYTES, Roster, RosterFileError, RowError, parse_roster
from bot.rules.roster_files import MAX_UNZIPPED_BYTES
from bot.services import offloop
from storage.roster import ImportResult

SHOWN_ERRORS = 30
PROGRESS_AFTER = 2.0  # seconds of reading before the admin is told to wait
TELL_AFTER = 3.0  # seconds: an import expected to take longer is told at once
EVERY = 15.0  # seconds between two progress edits of that message
TICK = 1.0  # seconds between two looks at the clock while the file is read (tests: 0)
# The pace, measured with bench/roster_stall.py (2 cores shared, the reading in the worker
# process with the collector paused): openpyxl 32-48 µs a cell, flat from 5,000 to 50,000 rows;
# a CSV 50-70 µs a row; the import after reading 40-80 µs a row. The busier end is used: an
# estimate a little long is better than one the admin sees run out.
XLSX_SECONDS_PER_CELL = 50e-6
CSV_SECONDS_PER_ROW = 70e-6
IMPORT_SECONDS_PER_ROW = 80e-6
PACKED = 500  # rows (or row errors) per part handed back by the worker process: a few ms to unpickle
XLSX_SECONDS_PER_MB = 11  # when a sheet does not say its size: about 11 s a MB at 12-49 columns
log = logging.getLogger("cadre.roster")
CLOCK: Callable[[], float] = time.monotonic  # the trackers' clock (tests set their own)


_pauses = 0  # imports running with the collector paused (collector_paused)
_was_enabled = True


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The garbage collector paused while a roster is unpacked and imported in the bot's process.

    A 30,000-row roster is about half a million objects alive at once (rows, then the import's
    units, people and households); each full collection walked all of them on the event loop,
    22-66 ms several times per import (bench/roster_stall.py: another chat's /help waited up to
    120-150 ms). They are freed by reference counting once the import is done (no cycles), so
    the collector is not needed for them; other chats' cyclic garbage waits the few seconds.
    Counted: two imports at once, the collector runs again when both are done."""
    global _pauses, _was_enabled
    if _pauses == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _pauses += 1
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0 and _was_enabled:
            gc.enable()


def _executor() -> concurrent.futures.Executor:
    return offloop.process_pool()


def _reset() -> None:
    offloop.reset_process_pool()


def _parse(data: bytes, filename: str) -> list[tuple[str, bytes]]:
    """:func:`parse_roster` with the garbage collector paused (in the worker process; its
    garbage is collected once, after), the roster handed back :func:`packed`."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return packed(parse_roster(data, filename))
    finally:
        if enabled:
            gc.enable()
        gc.collect()


def packed(roster: Roster) -> list[tuple[str, bytes]]:
    """The roster as pickled parts of :data:`PACKED` rows or errors each, and the rest.

    The result of the worker process is unpickled in the bot's process, holding the GIL: a
    whole 50,000-row roster (half a million small objects) took 0.4-0.7 s there, a stall for
    every chat. Parts are bytes (unpickled at once); :func:`unpacked` makes the rows of one
    part at a time, with the event loop turning in between (a part: a few ms)."""
    parts = [("rest", pickle.dumps(replace(roster, rows=(), errors=())))]
    for kind, items in (("rows", roster.rows), ("errors", roster.errors)):
        parts += [(kind, pickle.dumps(items[i : i + PACKED])) for i in range(0, len(items), PACKED)]
    return parts


async def unpacked(parts: list[tuple[str, bytes]]) -> Roster:
    """The roster of :func:`packed`, one part at a time (the loop turns after each)."""
    rest: Roster | None = None
    items: dict[str, list] = {"rows": [], "errors": []}
    for kind, part in parts:
        if kind == "rest":
            rest = pickle.loads(part)
        else:
            items[kind].extend(pickle.loads(part))
            await asyncio.sleep(0)
    if rest is None:
        raise ValueError("a packed roster without its rest")
    return replace(rest, rows=tuple(items["rows"]), errors=tuple(items["errors"]))


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+(?::([A-Z]+)(\d+))?"')
_FIRST_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\br:id="([^"]+)"')
_TARGET = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"|'
                     rb'<Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="([^"]+)"')


def count_cells(data: bytes, filename: str = "") -> tuple[int, int] | None:
    """(rows, columns) of a roster file, counted without reading it, or None when that cannot
    be known cheaply. A CSV: its lines (a line break is never part of another character in
    UTF-8 or GB18030; UTF-16 is decoded first). An XLSX: the ``<dimension ref="A1:L50001">``
    its first sheet declares at its top (the first 4 KB of it, unzipped from a stream, so a
    zip bomb costs nothing here), columns from its last column's letters."""
    if data[:4] == b"PK\x03\x04":
        try:
            return _xlsx_dimension(data)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, RuntimeError, NotImplementedError):
            return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            return None
        first = text.split("\n", 1)[0]
        return text.count("\n") + (not text.endswith("\n")), first.count(",") + first.count("\t") + 1
    first = data.split(b"\n", 1)[0]
    return data.count(b"\n") + (not data.endswith(b"\n")), first.count(b",") + first.count(b"\t") + 1


def _xlsx_dimension(data: bytes) -> tuple[int, int] | None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        sheet = "xl/worksheets/sheet1.xml"
        if "xl/workbook.xml" in names and "xl/_rels/workbook.xml.rels" in names:
            with archive.open("xl/workbook.xml") as f:
                first = _FIRST_SHEET.search(f.read(64 * 1024))
            with archive.open("xl/_rels/workbook.xml.rels") as f:
                rels = f.read(64 * 1024)
            targets = {}
            for m in _TARGET.finditer(rels):
                ident, target = (m[1], m[2]) if m[1] else (m[4], m[3])
                targets[ident] = target.decode()
            if first and first[1] in targets:
                target = targets[first[1]]
                sheet = target.lstrip("/") if target.startswith("/") else "xl/" + target
        if sheet not in names:
            return None
        with archive.open(sheet) as f:
            head = f.read(4096)
    found = _DIMENSION.search(head)
    if found is None:
        return None
    if found[2] is None:  # "A1": an empty sheet, or a writer that does not say
        return None
    columns = 0
    for letter in found[1].decode():
        columns = columns * 26 + ord(letter) - 64
    return int(found[2]), columns


def estimate_seconds(data: bytes, filename: str = "") -> float:
    """How long reading and importing the file will take: its rows counted
    (:func:`count_cells`) times the measured pace; by its size when they cannot be counted."""
    counted = count_cells(data, filename)
    xlsx = data[:4] == b"PK\x03\x04"
    if counted is None:
        if not xlsx:
            return len(data) / 1024 / 1024 * 2  # not reached for a CSV: its lines always count
        return len(data) / 1024 / 1024 * XLSX_SECONDS_PER_MB
    rows, columns = counted
    reading = rows * columns * XLSX_SECONDS_PER_CELL if xlsx else rows * CSV_SECONDS_PER_ROW
    return reading + rows * IMPORT_SECONDS_PER_ROW


def shown_seconds(seconds: float) -> int:
    """Seconds as the admin is told them: up to the next 5, at least 5."""
    return max(5, math.ceil(seconds / 5) * 5)


class Tracker:
    """Keeps the admin informed of one import: :meth:`begin` tells at once when it is expected
    to take over :data:`TELL_AFTER` seconds; :meth:`slow` (reading still going after
    :data:`PROGRESS_AFTER` seconds) tells then if not told yet; :meth:`reading` and
    :meth:`rows` edit that message at most every :data:`EVERY` seconds, with the time so far
    and (importing) the rows done. ``send(text)`` returns the message's id, ``edit(id, text)``
    changes it (the handler's, best effort); ``clock`` is injected by tests."""

    def __init__(
        self,
        t: Translator,
        send: Callable[[str], Awaitable[int]],
        edit: Callable[[int, str], Awaitable[object]],
        *,
        seconds: float,
        rows: int | None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.t, self.send, self.edit, self.clock = t, send, edit, clock or CLOCK
        self.seconds, self.counted = seconds, rows
        self.started = self.last = self.clock()
        self.message: int | None = None

    def _expected(self, elapsed: float) -> int:
        return shown_seconds(max(self.seconds, elapsed + 5))  # later than said: say so

    async def _tell(self) -> None:
        elapsed = self.clock() - self.started
        if self.counted:
            text = self.t("roster.reading_counted", rows=self.counted, seconds=self._expected(elapsed))
        else:
            text = self.t("roster.reading", seconds=self._expected(elapsed))
        self.message = await self.send(text)
        self.last = self.clock()

    async def begin(self) -> None:
        if self.seconds > TELL_AFTER:
            await self._tell()

    async def slow(self) -> None:
        if self.message is None:
            await self._tell()

    def _due(self) -> bool:
        return self.message is not None and self.clock() - self.last >= EVERY

    async def reading(self) -> None:
        if self._due():
            elapsed = self.clock() - self.started
            await self._edit(self.t("roster.reading_progress", elapsed=round(elapsed),
                                    seconds=self._expected(elapsed)))

    async def rows(self, done: int, total: int) -> None:
        """The import's progress: ``done`` of ``total`` steps (two a row: checked, written)."""
        if self.message is None and self.clock() - self.started > TELL_AFTER:
            await self._tell()
            return
        if self._due():
            rows = total // 2
            await self._edit(self.t("roster.importing_progress", done=rows * done // max(total, 1), total=rows,
                                    elapsed=round(self.clock() - self.started)))

    async def _edit(self, text: str) -> None:
        self.last = self.clock()
        if self.message is not None:
            await self.edit(self.message, text)


async def parse_off_loop(
    data: bytes,
    filename: str,
    *,
    on_slow: Callable[[], Awaitable[object]] | None = None,
    slow_after: float | None = None,
    on_tick: Callable[[], Awaitable[object]] | None = None,
) -> Roster:
    """:func:`bot.rules.roster.parse_roster` in the worker process; file problems are raised
    as :exc:`RosterFileError` as usual. A worker that died (out of memory on a hostile file)
    is replaced and the file refused as too complex. ``on_slow()`` once after ``slow_after``
    seconds; then ``on_tick()`` every :data:`TICK` seconds until the file is read."""
    loop = asyncio.get_running_loop()
    try:
        future = loop.run_in_executor(_executor(), _parse, data, filename)
    except RuntimeError:  # the pool was shut down (interpreter exit, a dead worker)
        _reset()
        future = loop.run_in_executor(_executor(), _parse, data, filename)
    wait = PROGRESS_AFTER if slow_after is None else slow_after
    try:
        if on_slow is not None:
            done, _ = await asyncio.wait({future}, timeout=wait)
            if not done:
                await on_slow()
        if on_tick is not None:
            while not future.done():
                done, _ = await asyncio.wait({future}, timeout=TICK)
                if not done:
                    await on_tick()
        return await unpacked(await future)
    except concurrent.futures.process.BrokenProcessPool as exc:
        _reset()
        raise RosterFileError("too_complex") from exc


# -- texts ----------------------------------------------------------------------------------
def error_lines(t: Translator, errors: tuple[RowError, ...] | list[RowError], limit: int = SHOWN_ERRORS) -> str:
    lines = [
        t(
            "roster.error_line",
            line=e.line,
            reason=t(f"roster.err.{e.code}", column=e.column or "-", value=e.value, other=e.other_line),
        )
        for e in errors[:limit]
    ]
    if len(errors) > limit:
        lines.append(t("roster.more_errors", count=len(errors) - limit))
    return "\n".join(lines)


def summary(t: Translator, result: ImportResult) -> str:
    key = "roster.summary" if result.changed else "roster.unchanged"
    if not result.committed:
        key = "roster.would_import"
    u, h, p = result.units, result.households, result.people
    return t(
        key,
        rows=result.good_rows,
        units_created=u.created, units_updated=u.updated, units_unchanged=u.unchanged,
        households_created=h.created, households_updated=h.updated, households_unchanged=h.unchanged,
        people_created=p.created, people_updated=p.updated, people_unchanged=p.unchanged,
    )


def file_problem(t: Translator, problem: RosterFileError) -> str:
    values = {"max_mb": MAX_BYTES // 1024 // 1024, "max_unzipped_mb": MAX_UNZIPPED_BYTES // 1024 // 1024}
    return t(f"roster.file.{problem.code}", **{**values, **problem.params})


def report(t: Translator, result: ImportResult, ignored: tuple[str, ...] = ()) -> str:
    """The whole answer to an import, for the bot and the command line."""
    parts = []
    if result.errors:
        parts.append(
            t("roster.has_errors", count=len(result.errors), total=result.total_rows)
            if not result.committed
            else t("roster.skipped_errors", count=len(result.errors))
        )
        parts.append(error_lines(t, result.errors))
    parts.append(summary(t, result))
    if ignored:
        parts.append(t("roster.ignored_columns", columns=t("list.sep").join(ignored)))
    return "\n\n".join(parts)
