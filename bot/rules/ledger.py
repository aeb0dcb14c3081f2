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

Sheets print as a 台账 (ledger on paper): landscape A4, fitted to the page width, the header
row repeated on every page, thin borders round every cell, page numbers in the footer. A sheet
may carry a ``heading`` (its title row above the header: unit, period, 制表日期, merged across
the columns) and a ``totals`` label: then a last row sums the columns marked ``total``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from bot.rules.roster import deep_link

KINDS = frozenset({"text", "int", "number", "date", "datetime", "percent", "link"})
SAMPLE_ROWS = 200
MIN_WIDTH, MAX_WIDTH = 6, 30
HEADER_ONE_LINE = 8  # a header up to this width stays on one line
LINE_HEIGHT = 14  # points, one line of 11-point text
MAX_ROW_LINES = 15  # Excel's row height is at most 409 points
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0%"
MAX_CELL_CHARS = 32767
_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEADER_ALIGN = Alignment(vertical="center")
_LINK_FONT = Font(color="0563C1", underline="single")
_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_ALIGN_WRAP = Alignment(vertical="center", horizontal="center", wrap_text=True)
_TEXT_ALIGN = Alignment(vertical="top", wrap_text=True)
_TOP_ALIGN = Alignment(vertical="top")
_HEADING_FONT = Font(bold=True, size=14)
_HEADING_ALIGN = Alignment(horizontal="center", vertical="center")
_TOTAL_FONT = Font(bold=True)
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
PAPER_A4 = 9


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"
    total: bool = False  # summed in the sheet's totals row (int and number columns)

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
    heading: str | None = None  # the title row above the header (unit, period, 制表日期)
    totals: str | None = None  # the label of a last row summing the ``total`` columns


def bot_link(bot_username: str, payload: str) -> str:
    """A deep link that opens the bot with ``/start <payload>`` (the one form: :func:`deep_link`)."""
    return deep_link(bot_username, payload)


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


def header_width(header: str) -> int:
    """The width a header needs: it wraps, so a long one takes two lines (half its width)."""
    width = display_width(header)
    return width if width <= HEADER_ONE_LINE else max(HEADER_ONE_LINE, -(-width // 2))


def fitted_widths(columns: Sequence[Column], sample: Sequence[Sequence[object]]) -> list[float]:
    """Widths from the header and the first rows, at most :data:`MAX_WIDTH` (longer text wraps),
    so that a ledger fitted to the page width stays readable on paper."""
    widths = []
    for index, column in enumerate(columns):
        longest = header_width(column.header)
        for row in sample:
            if index < len(row):
                text = shown(row[index], column.kind)
                longest = max(longest, max((display_width(p) for p in text.split("\n")), default=0))
        widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))))
    return widths


class _CellMaker:
    """Turns one value of a column kind into a bordered write-only cell.

    Each kind's style (border, alignment, number format, link font) is made once on a
    prototype cell and copied onto every cell of that kind: setting styles cell by cell
    (each assignment looks the style up again) would triple the time of a large ledger.
    """

    def __init__(self, ws, tz: tzinfo) -> None:
        self.ws = ws
        self.tz = tz
        self.styles: dict[tuple[str, bool], object] = {}

    def header(self, text: str) -> Cell:
        cell = WriteOnlyCell(self.ws, clean_text(text))
        cell.data_type = "s"
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN_WRAP
        cell.border = _BORDER
        return cell

    def heading(self, text: str) -> Cell:
        cell = WriteOnlyCell(self.ws, clean_text(text))
        cell.data_type = "s"
        cell.font, cell.alignment = _HEADING_FONT, _HEADING_ALIGN
        return cell

    def style(self, kind: str, total: bool) -> object:
        key = (kind, total)
        style = self.styles.get(key)
        if style is None:
            proto = WriteOnlyCell(self.ws, None)
            proto.border = _BORDER
            proto.alignment = _TEXT_ALIGN if kind == "text" else _TOP_ALIGN
            fmt = {"date": DATE_FORMAT, "datetime": DATETIME_FORMAT, "percent": PERCENT_FORMAT}.get(kind)
            if fmt:
                proto.number_format = fmt
            if kind == "link":
                proto.font = _LINK_FONT
            if total:
                proto.font, proto.fill = _TOTAL_FONT, _TOTAL_FILL
            style = self.styles[key] = proto._style
        return style

    def total(self, value: object, kind: str) -> Cell:
        return self(value, kind, total=True)

    def __call__(self, value: object, kind: str, *, total: bool = False) -> Cell:
        text_value = False
        if value is None or value == "":
            value = None
        elif kind == "date":
            value = local_date(value, self.tz)
        elif kind == "datetime":
            value = local_datetime(value, self.tz)
        elif kind == "percent":
            value = float(value)  # type: ignore[arg-type]
        elif kind == "link":
            if not isinstance(value, Link):
                raise TypeError(f"a link column takes Link values, not {value!r}")
            value = f"=HYPERLINK({_formula_string(value.url)},{_formula_string(clean_text(value.label))})"
        elif not (kind in ("int", "number") and isinstance(value, int | float) and not isinstance(value, bool)):
            value = clean_text(value)
            text_value = value.startswith("=")
        cell = WriteOnlyCell(self.ws, value)
        if text_value:
            cell.data_type = "s"  # user input is text, never a formula
        cell._style = copy(self.style(kind, total))  # type: ignore[attr-defined]
        return cell

    framed = __call__


def _print_setup(ws, header_row: int) -> None:
    """A 台账 on paper: landscape A4, as wide as the page, the header on every page, numbered.
    (Set before the first row: a write-only sheet writes its properties with it.)"""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it takes
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.oddFooter.center.text = "&P / &N"


def _write_sheet(wb: Workbook, sheet: Sheet, title: str, tz: tzinfo, sample_rows: int) -> int:
    ws = wb.create_sheet(title)
    columns = list(sheet.columns)
    rows: Iterator[Sequence[object]] = iter(sheet.rows)
    sample = list(islice(rows, sample_rows))
    widths = fitted_widths(columns, sample)
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    header_row = 2 if sheet.heading else 1
    # the header wraps: make its row tall enough for the longest header in its column
    lines = max((-(-display_width(c.header) // max(1, int(w) - 1)) for c, w in zip(columns, widths, strict=True)), default=1)
    ws.row_dimensions[header_row].height = LINE_HEIGHT * max(1, lines) + 4
    _print_setup(ws, header_row)
    ws.freeze_panes = f"A{header_row + 1}"
    make = _CellMaker(ws, tz)
    kinds = [c.kind for c in columns]
    last = get_column_letter(max(1, len(columns)))
    if sheet.heading:
        ws.row_dimensions[1].height = 28
        ws.append([make.heading(sheet.heading)])
        if len(columns) > 1:
            ws.merged_cells.add(f"A1:{last}1")
    ws.append([make.header(c.header) for c in columns])
    summed = [c.total and c.kind in ("int", "number") for c in columns]
    sums: list[float] = [0] * len(columns)
    count = 0
    text_columns = [(i, max(1, int(w) - 1)) for i, (c, w) in enumerate(zip(columns, widths, strict=True)) if c.kind == "text"]
    for row in _chain(sample, rows):
        if len(row) != len(kinds):
            raise ValueError(f"sheet {title!r}: a row has {len(row)} values for {len(kinds)} columns")
        row_index = header_row + count + 1
        lines = wrapped_lines(row, text_columns)
        if lines > 1:  # wrapped text: the row grows (set just for this row, then forgotten)
            ws.row_dimensions[row_index].height = LINE_HEIGHT * lines + 2
        ws.append([make.framed(value, kind) for value, kind in zip(row, kinds, strict=True)])
        ws.row_dimensions.pop(row_index, None)
        for index, value in enumerate(row):
            if summed[index] and isinstance(value, int | float) and not isinstance(value, bool):
                sums[index] += value
        count += 1
    ws.auto_filter.ref = f"A{header_row}:{last}{count + header_row}"
    if sheet.totals is not None:
        cells = [
            make.total(sheet.totals if i == 0 else (sums[i] if summed[i] else None), "text" if i == 0 else kind)
            for i, kind in enumerate(kinds)
        ]
        ws.append(cells)
    return count


def wrapped_lines(row: Sequence[object], text_columns: Sequence[tuple[int, int]]) -> int:
    """How many lines the row's wrapped text cells take (``text_columns``: index, width)."""
    lines = 1
    for index, width in text_columns:
        value = row[index]
        if not isinstance(value, str) or (len(value) * 2 <= width and "\n" not in value):
            continue  # short enough for one line whatever its characters
        lines = max(lines, sum(max(1, -(-display_width(part) // width)) for part in value.split("\n")))
    return min(lines, MAX_ROW_LINES)


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
