"""Roster files for the bot and the command line: parsing off the event loop, and the texts of
an import (problems with the file, row errors, the summary).

A 3 MB XLSX of 20,000 rows takes about 20 s to read with openpyxl, all of it Python under the
GIL: read on the event loop (or in a thread) it stalls every other chat. :func:`parse_off_loop`
reads it in the worker process (:func:`bot.services.offloop.process_pool`: one worker, started
on first use and kept, the charts' too), so the bot keeps
answering; when the reading takes longer than :data:`PROGRESS_AFTER` seconds, ``on_slow`` is
called once (the handler tells the admin how long it will take).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable

from bot.i18n import Translator
from bot.rules.roster import MAX_BYTES, Roster, RosterFileError, RowError, parse_roster
from bot.rules.roster_files import MAX_UNZIPPED_BYTES
from bot.services import offloop
from storage.roster import ImportResult

SHOWN_ERRORS = 30
PROGRESS_AFTER = 2.0  # seconds of reading before the admin is told to wait
SECONDS_PER_MB = 8  # measured: about 21 s for a 3 MB XLSX of 20k rows x 49 columns



def _executor() -> concurrent.futures.Executor:
    return offloop.process_pool()


def _reset() -> None:
    offloop.reset_process_pool()


def estimate_seconds(size: int) -> int:
    """A rough reading time for a file of ``size`` bytes, for the "please wait" message."""
    return max(5, round(size / 1024 / 1024 * SECONDS_PER_MB / 5) * 5)


async def parse_off_loop(
    data: bytes,
    filename: str,
    *,
    on_slow: Callable[[], Awaitable[object]] | None = None,
    slow_after: float | None = None,
) -> Roster:
    """:func:`bot.rules.roster.parse_roster` in the worker process; file problems are raised
    as :exc:`RosterFileError` as usual. A worker that died (out of memory on a hostile file)
    is replaced and the file refused as too complex."""
    loop = asyncio.get_running_loop()
    try:
        future = loop.run_in_executor(_executor(), parse_roster, data, filename)
    except RuntimeError:  # the pool was shut down (interpreter exit, a dead worker)
        _reset()
        future = loop.run_in_executor(_executor(), parse_roster, data, filename)
    wait = PROGRESS_AFTER if slow_after is None else slow_after
    try:
        if on_slow is not None:
            done, _ = await asyncio.wait({future}, timeout=wait)
            if not done:
                await on_slow()
        return await future
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
