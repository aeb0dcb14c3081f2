"""Excel ledgers (台账) written as a stream: sheets of typed columns fed by row iterators.

Pure: no Telegram, no SQL. The caller gives the sheet titles and column headers (already in
the reader's language) and an *iterator* of rows per sheet; :func:`write_workbook` writes them
with XlsxWriter's constant-memory mode (each row goes to disk once the next one starts), so
memory stays flat however many rows there are (only the first :data:`SAMPLE_ROWS` rows of
each sheet are held, to fit the column widths). XlsxWriter writes a district's month about
four times faster than openpyxl's write-only mode did; openpyxl still reads files (rosters).

Every sheet gets a frozen, filtered header row and column widths fitted to the header and the
first rows (CJK characters count double). Column kinds:

* ``text``: strings (a leading ``=`` stays text: user input is never run as a formula);
* ``int`` / ``number``: numbers;
* ``date`` / ``datetime``: real Excel dates with a number format, in local time (aware
  datetimes and ISO strings ending in ``Z`` are converted to ``tz``; naive values are taken
  as local already);
* ``percent``: a fraction (0.85 shows as 85%);
* ``link``: a :class:`Link`, written as a ``HYPERLINK()`` formula with its label as the cached
  value (real hyperlinks are held in memory until the end, one per row, which would break the
  flat memory, and Excel takes at most 65,530 of them in a sheet).

Sheets print as a 台账 (ledger on paper): landscape A4, fitted to the page width, the header
row repeated on every page, thin borders round every cell, page numbers in the footer. A sheet
may carry a ``heading`` (its title row above the header: unit, period, 制表日期, merged across
the columns) and a ``totals`` label: then a last row sums the columns marked ``total``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from itertools import islice
from pathlib import Path
from typing import BinaryIO

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
# control characters an .xlsx cannot hold (tab, newline and carriage return it can)
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010\013\014\016-\037]")

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
    if text.isascii():
        return len(text)
    return _display_width(text)


@functools.lru_cache(maxsize=4096)  # names of villages, townships and people come back row after row
def _display_width(text: str) -> int:
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
    text = value if type(value) is str else str(value)
    if not text.isprintable():  # a quick test first: most text has no control character
        text = _ILLEGAL_CHARACTERS.sub("", text)
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS]


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


class _Formats:
    """The workbook's cell formats, one per (kind, totals row), made once and shared.

    Every data cell has a format (thin borders round every cell, empty ones too)."""

    def __init__(self, wb) -> None:
        self.wb = wb
        self.made: dict[tuple[str, bool], object] = {}
        self.header = wb.add_format({
            "bold": True, "bg_color": "#DDEBF7", "pattern": 1, "align": "center", "valign": "vcenter",
            "text_wrap": True, "border": 1,
        })
        self.heading = wb.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})

    def __call__(self, kind: str, total: bool = False):
        key = (kind, total)
        fmt = self.made.get(key)
        if fmt is None:
            spec: dict[str, object] = {"border": 1, "valign": "top"}
            if kind == "text":
                spec["text_wrap"] = True
            number_format = {"date": DATE_FORMAT, "datetime": DATETIME_FORMAT, "percent": PERCENT_FORMAT}.get(kind)
            if number_format:
                spec["num_format"] = number_format
            if kind == "link":
                spec.update(font_color="#0563C1", underline=1)
            if total:
                spec.update(bold=True, bg_color="#F2F2F2", pattern=1)
            fmt = self.made[key] = self.wb.add_format(spec)
        return fmt


def _cell_writer(ws, kind: str, fmt, tz: tzinfo) -> Callable[[int, int, object], None]:
    """A function writing one value of a column kind at (row, col) with the column's format.
    User text is always written as text (a leading ``=`` is never run as a formula)."""
    blank, string, number = ws.write_blank, ws.write_string, ws.write_number

    def text(row: int, col: int, value: object) -> None:
        if value is None or value == "":
            blank(row, col, None, fmt)
        else:
            string(row, col, clean_text(value), fmt)

    def numeric(row: int, col: int, value: object) -> None:
        if value is None or value == "":
            blank(row, col, None, fmt)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number(row, col, value, fmt)
        else:
            string(row, col, clean_text(value), fmt)

    def when(row: int, col: int, value: object) -> None:
        moment = None if value is None or value == "" else (
            local_date(value, tz) if kind == "date" else local_datetime(value, tz))
        if moment is None:
            blank(row, col, None, fmt)
        else:
            ws.write_datetime(row, col, moment, fmt)

    def percent(row: int, col: int, value: object) -> None:
        if value is None or value == "":
            blank(row, col, None, fmt)
        else:
            number(row, col, float(value), fmt)  # type: ignore[arg-type]

    def link(row: int, col: int, value: object) -> None:
        if value is None or value == "":
            blank(row, col, None, fmt)
            return
        if not isinstance(value, Link):
            raise TypeError(f"a link column takes Link values, not {value!r}")
        label = clean_text(value.label)
        # the label as the cached result: a viewer that does not recalculate shows it too
        ws.write_formula(row, col, f"=HYPERLINK({_formula_string(value.url)},{_formula_string(label)})", fmt, label)

    return {"text": text, "int": numeric, "number": numeric, "date": when, "datetime": when,
            "percent": percent, "link": link}[kind]


def _print_setup(ws, header_row: int) -> None:
    """A 台账 on paper: landscape A4, as wide as the page, the header on every page, numbered.
    (``header_row`` counts from 1, as Excel shows it.)"""
    ws.set_landscape()
    ws.set_paper(PAPER_A4)
    ws.fit_to_pages(1, 0)  # one page wide, as many pages down as it takes
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.repeat_rows(header_row - 1)
    ws.set_footer("&C&P / &N")


def _write_sheet(wb, formats: _Formats, sheet: Sheet, title: str, tz: tzinfo, sample_rows: int) -> int:
    ws = wb.add_worksheet(title)
    columns = list(sheet.columns)
    rows: Iterator[Sequence[object]] = iter(sheet.rows)
    sample = list(islice(rows, sample_rows))
    widths = fitted_widths(columns, sample)
    for index, width in enumerate(widths):
        ws.set_column(index, index, width)
    header_row = 2 if sheet.heading else 1  # as Excel counts rows (xlsxwriter counts from 0)
    _print_setup(ws, header_row)
    ws.freeze_panes(header_row, 0)
    kinds = [c.kind for c in columns]
    last = max(0, len(columns) - 1)
    if sheet.heading:
        ws.set_row(0, 28)
        if len(columns) > 1:
            ws.merge_range(0, 0, 0, last, clean_text(sheet.heading), formats.heading)
        else:
            ws.write_string(0, 0, clean_text(sheet.heading), formats.heading)
    # the header wraps: make its row tall enough for the longest header in its column
    lines = max((-(-display_width(c.header) // max(1, int(w) - 1)) for c, w in zip(columns, widths, strict=True)), default=1)
    ws.set_row(header_row - 1, LINE_HEIGHT * max(1, lines) + 4)
    for col, column in enumerate(columns):
        ws.write_string(header_row - 1, col, clean_text(column.header), formats.header)
    writers = list(enumerate(_cell_writer(ws, kind, formats(kind), tz) for kind in kinds))
    summed = [c.total and c.kind in ("int", "number") for c in columns]
    sum_at = [i for i, s in enumerate(summed) if s]
    sums: list[float] = [0] * len(columns)
    count = 0
    text_columns = [(i, max(1, int(w) - 1)) for i, (c, w) in enumerate(zip(columns, widths, strict=True)) if c.kind == "text"]
    row_info = getattr(ws, "row_info", None)  # xlsxwriter's row heights, kept until the end
    tall = -1
    for row in _chain(sample, rows):
        if len(row) != len(kinds):
            raise ValueError(f"sheet {title!r}: a row has {len(row)} values for {len(kinds)} columns")
        row_index = header_row + count  # 0-based: the first data row is under the header
        lines = wrapped_lines(row, text_columns)
        if lines > 1:  # wrapped text: the row grows
            ws.set_row(row_index, LINE_HEIGHT * lines + 2)
        for col, write in writers:
            write(row_index, col, row[col])
        if tall >= 0 and row_info is not None:
            row_info.pop(tall, None)  # that row is on disk now: forget its height (flat memory)
            tall = -1
        if lines > 1:
            tall = row_index
        for index in sum_at:
            value = row[index]
            if isinstance(value, int | float) and not isinstance(value, bool):
                sums[index] += value
        count += 1
    ws.autofilter(header_row - 1, 0, header_row - 1 + count, last)
    if sheet.totals is not None:
        row_index = header_row + count
        for i, kind in enumerate(kinds):
            if i == 0:
                _cell_writer(ws, "text", formats("text", True), tz)(row_index, 0, sheet.totals)
            else:
                _cell_writer(ws, kind, formats(kind, True), tz)(row_index, i, sums[i] if summed[i] else None)
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
    from xlsxwriter import Workbook  # here, not at start-up: only an export needs it

    wb = Workbook(target, {"constant_memory": True})
    wb.set_properties({"author": "cadre-bot"})
    formats = _Formats(wb)
    counts: dict[str, int] = {}
    taken: set[str] = set()
    try:
        for sheet in sheets:
            title = sheet_title(sheet.title, taken)
            counts[title] = _write_sheet(wb, formats, sheet, title, tz, sample_rows)
        if not counts:
            raise ValueError("a workbook needs at least one sheet")
        wb.close()
    except BaseException:
        _discard(wb)
        raise
    return counts


def _discard(wb) -> None:
    """After a failure: close the sheets' row streams and remove their temporary files."""
    for ws in wb.worksheets():
        fh, name = getattr(ws, "row_data_fh", None), getattr(ws, "row_data_filename", None)
        try:
            if fh is not None:
                fh.close()
        except Exception:  # the stream is broken anyway; what matters is the file below
            pass
        if name:
            Path(name).unlink(missing_ok=True)
