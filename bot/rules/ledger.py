"""Excel ledgers (台账) written as a stream: sheets of typed columns fed by row iterators.

Pure: no Telegram, no SQL. The caller gives the sheet titles and column headers (already in
the reader's language) and an *iterator* of rows per sheet; :func:`write_workbook` writes them
with openpyxl's write-only mode, so memory stays flat however many rows there are (only the
first :data:`SAMPLE_ROWS` rows of each sheet are held, to fit the column widths).

Every sheet gets a frozen, filtered header row and column widths fitted to the header and the
first rows (CJK characters count double). Column kinds:

* ``text``: strings (a leading ``=`` stays text: user input is never run as a formula);
* ``int`` / ``number``: numbers;
* ``date`` / ``datetime``: real Excel dates with a number format, in local time (aware
  datetimes and ISO strings ending in ``Z`` are converted to ``tz``; naive values are taken
  as local already);
* ``percent``: a fraction (0.85 shows as 85%);
* ``link``: a :class:`Link`, written as a ``HYPERLINK()`` formula (openpyxl keeps real
  hyperlink objects in memory until the end, one per row, which would break the flat memory).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

KINDS = frozenset({"text", "int", "number", "date", "datetime", "percent", "link"})
SAMPLE_ROWS = 200
MIN_WIDTH, MAX_WIDTH = 6, 50
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0%"
MAX_CELL_CHARS = 32767
_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BOT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEADER_ALIGN = Alignment(vertical="center")
_LINK_FONT = Font(color="0563C1", underline="single")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass(frozen=True)
class Link:
    """A clickable link in a cell: ``label`` shown, ``url`` opened."""

    url: str
    label: str


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[object]]


def bot_link(bot_username: str, payload: str) -> str:
    """A deep link that opens the bot with ``/start <payload>`` (Telegram allows [A-Za-z0-9_-])."""
    if not _BOT_NAME.fullmatch(bot_username):
        raise ValueError(f"not a bot username: {bot_username!r}")
    if not _PAYLOAD.fullmatch(payload):
        raise ValueError(f"a start payload is 1-64 of A-Z a-z 0-9 _ -: {payload!r}")
    return f"https://t.me/{bot_username}?start={payload}"


def display_width(text: str) -> int:
    """Columns the text takes in a spreadsheet: wide (CJK, full-width) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def sheet_title(title: str, taken: set[str]) -> str:
    """A valid, unique sheet title: no []:*?/\\, at most 31 characters."""
    base = _SHEET_TITLE_BAD.sub("_", title).strip("'") or "Sheet"
    base = base[:31]
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f"({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def local_datetime(value: object, tz: tzinfo) -> datetime | None:
    """A naive datetime in local time (what Excel stores), from a datetime or an ISO string."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(tz)
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise TypeError(f"not a date or time: {value!r}")


def local_date(value: object, tz: tzinfo) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        return date.fromisoformat(value)
    moment = local_datetime(value, tz)
    return moment.date() if moment else None


def clean_text(value: object) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return text[:MAX_CELL_CHARS]


def _formula_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def shown(value: object, kind: str) -> str:
    """The text a cell shows, for fitting the width."""
    if value is None:
        return ""
    if kind == "date":
        return "2026-11-30"
    if kind == "datetime":
        return "2026-11-30 23:59"
    if kind == "percent":
        return "100%"
    if isinstance(value, Link):
        return value.label
    return str(value)


def fitted_widths(columns: Sequence[Column], sample: Sequence[Sequence[object]]) -> list[float]:
    widths = []
    for index, column in enumerate(columns):
        longest = display_width(column.header)
        for row in sample:
            if index < len(row):
                text = shown(row[index], column.kind)
                longest = max(longest, max((display_width(p) for p in text.split("\n")), default=0))
        widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))))
    return widths


class _CellMaker:
    """Turns one value of a column kind into what write-only ``append`` takes."""

    def __init__(self, ws, tz: tzinfo) -> None:
        self.ws = ws
        self.tz = tz

    def header(self, text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, clean_text(text))
        cell.data_type = "s"
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN
        return cell

    def __call__(self, value: object, kind: str) -> object:
        if value is None or value == "":
            return None
        if kind == "date":
            cell = WriteOnlyCell(self.ws, local_date(value, self.tz))
            cell.number_format = DATE_FORMAT
            return cell
        if kind == "datetime":
            cell = WriteOnlyCell(self.ws, local_datetime(value, self.tz))
            cell.number_format = DATETIME_FORMAT
            return cell
        if kind == "percent":
            cell = WriteOnlyCell(self.ws, float(value))  # type: ignore[arg-type]
            cell.number_format = PERCENT_FORMAT
            return cell
        if kind == "link":
            if not isinstance(value, Link):
                raise TypeError(f"a link column takes Link values, not {value!r}")
            formula = f"=HYPERLINK({_formula_string(value.url)},{_formula_string(clean_text(value.label))})"
            cell = WriteOnlyCell(self.ws, formula)
            cell.font = _LINK_FONT
            return cell
        if kind in ("int", "number") and isinstance(value, int | float) and not isinstance(value, bool):
            return value
        text = clean_text(value)
        if text.startswith("="):
            cell = WriteOnlyCell(self.ws, text)
            cell.data_type = "s"  # user input is text, never a formula
            return cell
        return text


def _write_sheet(wb: Workbook, sheet: Sheet, title: str, tz: tzinfo, sample_rows: int) -> int:
    ws = wb.create_sheet(title)
    columns = list(sheet.columns)
    rows: Iterator[Sequence[object]] = iter(sheet.rows)
    sample = list(islice(rows, sample_rows))
    for index, width in enumerate(fitted_widths(columns, sample), start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    make = _CellMaker(ws, tz)
    kinds = [c.kind for c in columns]
    ws.append([make.header(c.header) for c in columns])
    count = 0
    for row in _chain(sample, rows):
        if len(row) != len(kinds):
            raise ValueError(f"sheet {title!r}: a row has {len(row)} values for {len(kinds)} columns")
        ws.append([make(value, kind) for value, kind in zip(row, kinds, strict=True)])
        count += 1
    last = get_column_letter(max(1, len(columns)))
    ws.auto_filter.ref = f"A1:{last}{count + 1}"
    return count


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    first.clear()  # the sample is written: let it go
    yield from rest


def write_workbook(
    target: str | Path | BinaryIO,
    sheets: Iterable[Sheet],
    *,
    tz: tzinfo = UTC,
    sample_rows: int = SAMPLE_ROWS,
) -> dict[str, int]:
    """Write the sheets in order; return the number of data rows written per sheet title."""
    wb = Workbook(write_only=True)
    wb.properties.creator = "cadre-bot"
    counts: dict[str, int] = {}
    taken: set[str] = set()
    try:
        for sheet in sheets:
            title = sheet_title(sheet.title, taken)
            counts[title] = _write_sheet(wb, sheet, title, tz, sample_rows)
        if not counts:
            raise ValueError("a workbook needs at least one sheet")
        wb.save(target)
    except BaseException:
        _discard(wb)
        raise
    return counts


def _discard(wb: Workbook) -> None:
    """After a failure: close the sheets' streams and remove their temporary files."""
    for ws in wb.worksheets:
        writer = getattr(ws, "_writer", None)
        if writer is None:
            continue
        rows = getattr(ws, "_rows", None)
        try:
            if rows is not None:
                rows.close()
            writer.close()
        except Exception:  # the stream is broken anyway; what matters is the file below
            pass
        try:
            writer.cleanup()
        except OSError:
            pass
