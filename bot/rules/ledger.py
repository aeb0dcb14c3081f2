"""Excel ledgers (台账) written as a stream: sheets of typed columns fed by row iterators.

Pure: no Telegram, no SQL. The caller gives the sheet titles and column headers (already in
the reader's language) and an *iterator* of rows per sheet; :func:`write_workbook` writes them
with XlsxWriter's constant-memory mode (each row goes to disk once the next one starts), so
memory stays flat however many rows there are (only the first :data:`SAMPLE_ROWS` rows of
each sheet are held, to fit the column widths). XlsxWriter writes a district's month about
four times faster than openpyxl's write-only mode did; openpyxl still reads files (rosters).
XlsxWriter makes the workbook (styles, print setup, the title, header and totals rows); the
data rows' XML is written by :class:`_RowsXml` straight into XlsxWriter's row file, the same
bytes its write_* calls would make, about three times faster for a whole ledger.

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
from math import isfinite
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


class _NarrowOnly(dict):
    """A str.translate table that drops wide (CJK, full-width) characters and keeps the others,
    filled as characters are met: a text's width is then counted at C speed."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.east_asian_width(chr(code)) in "WF" else code
        self[code] = kept
        return kept


_NARROW_ONLY = _NarrowOnly()


@functools.lru_cache(maxsize=4096)  # names of villages, townships and people come back row after row
def _display_width(text: str) -> int:
    return 2 * len(text) - len(text.translate(_NARROW_ONLY))  # a wide character counts two


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


# -- data rows as the sheet's XML --------------------------------------------------------------
# XlsxWriter's write_* calls cost about 15 µs a cell (argument checks, a cell tuple, then the
# row's XML built attribute by attribute): 85% of a district's month. :class:`_RowsXml` writes
# each data row's XML itself, into the file where XlsxWriter keeps a constant-memory sheet's
# rows, exactly as XlsxWriter writes it (tests/bot/services/test_ledger.py compares the two
# byte for byte), so the ledger holds the same cells, formats and row heights.
_XML_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")  # written as _xHHHH_, as Excel does
_XML_ESCAPED = re.compile(r"(_x[0-9a-fA-F]{4}_)")  # a literal _xHHHH_ keeps its text: _x005F_xHHHH_
_FORMULA_ERRORS = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"})
_XLSX_MAX_UTF16 = 32767
_XML_BATCH = 200  # rows joined into one write
_REMEMBERED, _REMEMBERED_CHARS = 4096, 64  # per column: how many short values' XML is kept


def _xml_data(text: str) -> str:
    if "&" in text or "<" in text or ">" in text:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _inline_string(text: str) -> str:
    """An inline string cell's tail after ``<c r=.. s=..``, as XlsxWriter writes it. Unlike
    XlsxWriter, a text that looks like rich-text XML (``<r>…</r>``) is escaped too: user text
    is never written into the file as markup."""
    if len(text) > _XLSX_MAX_UTF16 // 2 and len(text.encode("utf-16-le", "surrogatepass")) > 2 * _XLSX_MAX_UTF16:
        length = 0  # at most 32,767 UTF-16 units, a character above U+FFFF never split
        for index, char in enumerate(text):
            length += 2 if ord(char) > 0xFFFF else 1
            if length > _XLSX_MAX_UTF16:
                text = text[:index]
                break
    if "_x" in text or not text.isprintable():  # isprintable: no control character, no U+FFFE/F
        text = _XML_ESCAPED.sub(r"_x005F\1", text)
        text = _XML_CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    preserve = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f' t="inlineStr"><is><t{preserve}>{_xml_data(text)}</t></is></c>'


def _number(value: float) -> str:
    if not isfinite(value):
        raise TypeError("NAN/INF not supported in write_number() without 'nan_inf_to_errors' Workbook() option")
    return f"><v>{value:.16G}</v></c>"


class _RowsXml:
    """Writes a sheet's data rows as XML into XlsxWriter's row file (constant-memory mode).

    Made at the first data row (so formats get their style index in the order XlsxWriter
    would give them); :meth:`close` after the last one leaves the worksheet as the write_*
    calls would have (its dimensions, the next row to write)."""

    @staticmethod
    def usable(ws) -> bool:
        """The worksheet keeps its rows in a file, written one row at a time, as expected."""
        return (
            getattr(ws, "constant_memory", False) and getattr(ws, "row_data_fh", None) is not None
            and getattr(ws, "excel_version", None) == 2007 and not getattr(ws, "comments", True)
            and hasattr(ws, "_write_single_row") and hasattr(ws, "_convert_date_time")
            and getattr(ws, "previous_row", None) is not None
        )

    def __init__(self, ws, kinds: Sequence[str], formats: _Formats, tz: tzinfo, first_row: int) -> None:
        from xlsxwriter.utility import xl_col_to_name

        ws._write_single_row(first_row)  # the rows above (heading, header) go to the file first
        self.ws, self.fh = ws, ws.row_data_fh
        self.batch: list[str] = []
        self.last = -1
        self.cells = [
            self._cell(kind, f'<c r="{xl_col_to_name(col)}', f'" s="{formats(kind)._get_xf_index()}"', tz)
            for col, kind in enumerate(kinds)
        ]
        # a row's height shows unless it is the default one (xlsxwriter's _write_row)
        self.default_height, self.original_height = ws.default_row_height, ws.original_row_height
        self.custom_default = self.default_height != self.original_height

    def _cell(self, kind: str, pre: str, style: str, tz: tzinfo) -> Callable[[str, object], str]:
        """A function: (row number as Excel shows it, value) -> the cell's XML, as the column's
        :func:`_cell_writer` and XlsxWriter together would write it."""
        blank = style + "/>"
        convert = self.ws._convert_date_time

        seen: dict[object, str] = {}  # short values come back row after row: names, states, days

        def text(r: str, value: object) -> str:
            if type(value) is str and len(value) <= _REMEMBERED_CHARS:
                tail = seen.get(value)
                if tail is None:
                    tail = blank if value == "" else style + _inline_string(clean_text(value))
                    if len(seen) < _REMEMBERED:
                        seen[value] = tail
                return pre + r + tail
            if value is None or value == "":
                return pre + r + blank
            return pre + r + style + _inline_string(clean_text(value))

        def numeric(r: str, value: object) -> str:
            if type(value) is int:  # not a float: 0.0 and -0.0 are one key, not one number
                tail = seen.get(value)
                if tail is None:
                    tail = style + _number(value)
                    if len(seen) < _REMEMBERED:
                        seen[value] = tail
                return pre + r + tail
            if value is None or value == "":
                return pre + r + blank
            if isinstance(value, int | float) and not isinstance(value, bool):
                return pre + r + style + _number(value)
            return pre + r + style + _inline_string(clean_text(value))

        def day(r: str, value: object) -> str:
            if value is None or value == "":
                return pre + r + blank
            tail = seen.get(value)
            if tail is None:
                moment = local_date(value, tz)
                tail = blank if moment is None else style + _number(convert(moment))
                if len(seen) < _REMEMBERED:
                    seen[value] = tail
            return pre + r + tail

        def moment(r: str, value: object) -> str:
            when = None if value is None or value == "" else local_datetime(value, tz)
            if when is None:
                return pre + r + blank
            return pre + r + style + _number(convert(when))

        def percent(r: str, value: object) -> str:
            if value is None or value == "":
                return pre + r + blank
            return pre + r + style + _number(float(value))  # type: ignore[arg-type]

        def link(r: str, value: object) -> str:
            if value is None or value == "":
                return pre + r + blank
            if not isinstance(value, Link):
                raise TypeError(f"a link column takes Link values, not {value!r}")
            label = clean_text(value.label)
            formula = f"HYPERLINK({_formula_string(value.url)},{_formula_string(label)})"
            kind_attr = "" if label == "" else ' t="e"' if label in _FORMULA_ERRORS else ' t="str"'
            return f"{pre}{r}{style}{kind_attr}><f>{_xml_data(formula)}</f><v>{_xml_data(label)}</v></c>"

        return {"text": text, "int": numeric, "number": numeric, "date": day, "datetime": moment,
                "percent": percent, "link": link}[kind]

    def write(self, row_index: int, row: Sequence[object], points: float | None) -> None:
        """One data row; ``points``: its height (None: the default), as given to set_row."""
        r = str(row_index + 1)
        height = self.default_height if points is None else int(points * 4.0 / 3.0 + 0.5)  # pixels
        if height != self.original_height or self.custom_default:
            start = f'<row r="{r}" ht="{height * 0.75:.16g}" customHeight="1">'
        else:
            start = f'<row r="{r}">'
        self.batch.append(start + "".join([cell(r, value) for cell, value in zip(self.cells, row, strict=True)]) + "</row>")
        self.last = row_index
        if len(self.batch) >= _XML_BATCH:
            self.fh.write("".join(self.batch))
            self.batch.clear()

    def close(self) -> None:
        if self.batch:
            self.fh.write("".join(self.batch))
            self.batch.clear()
        ws = self.ws
        if self.last >= 0:
            ws.dim_rowmin = 0 if ws.dim_rowmin is None else ws.dim_rowmin
            ws.dim_rowmax = self.last if ws.dim_rowmax is None else max(ws.dim_rowmax, self.last)
            ws.dim_colmin = 0  # every data row has a cell in every column
            last_col = len(self.cells) - 1
            ws.dim_colmax = last_col if ws.dim_colmax is None else max(ws.dim_colmax, last_col)
            ws.previous_row = self.last + 1  # the rows up to here are in the file


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


def _write_sheet(
    wb, formats: _Formats, sheet: Sheet, title: str, tz: tzinfo, sample_rows: int, rows_as_xml: bool = True,
) -> int:
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
    wrapped = _Wrapped(text_columns)
    row_info = getattr(ws, "row_info", None)  # xlsxwriter's row heights, kept until the end
    tall = -1
    as_xml = rows_as_xml and _RowsXml.usable(ws)
    xml: _RowsXml | None = None
    for row in _chain(sample, rows):
        if len(row) != len(kinds):
            raise ValueError(f"sheet {title!r}: a row has {len(row)} values for {len(kinds)} columns")
        row_index = header_row + count  # 0-based: the first data row is under the header
        lines = wrapped(row)
        if as_xml:
            if xml is None:
                xml = _RowsXml(ws, kinds, formats, tz, row_index)
            xml.write(row_index, row, LINE_HEIGHT * lines + 2 if lines > 1 else None)  # wrapped text: the row grows
        else:
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
    if xml is not None:
        xml.close()
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


class _Wrapped:
    """:func:`wrapped_lines` with each column's short values remembered (the names of villages,
    townships and people come back row after row)."""

    def __init__(self, text_columns: Sequence[tuple[int, int]]) -> None:
        self.columns = [(index, width, {}) for index, width in text_columns]

    def __call__(self, row: Sequence[object]) -> int:
        lines = 1
        for index, width, seen in self.columns:
            value = row[index]
            if not isinstance(value, str) or (len(value) * 2 <= width and "\n" not in value):
                continue  # short enough for one line whatever its characters
            n = seen.get(value)
            if n is None:
                n = wrapped_lines((value,), ((0, width),))
                if len(value) <= _REMEMBERED_CHARS and len(seen) < _REMEMBERED:
                    seen[value] = n
            lines = max(lines, n)
        return lines


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
    rows_as_xml: bool = True,
) -> dict[str, int]:
    """Write the sheets in order; return the number of data rows written per sheet title.

    ``rows_as_xml=False`` writes the data rows through XlsxWriter's write_* calls (three times
    slower for a whole ledger) to the same file: the reference the XML rows are tested against,
    and what is done anyway when the worksheet is not as :class:`_RowsXml` expects."""
    from xlsxwriter import Workbook  # here, not at start-up: only an export needs it

    wb = Workbook(target, {"constant_memory": True})
    wb.set_properties({"author": "cadre-bot"})
    formats = _Formats(wb)
    counts: dict[str, int] = {}
    taken: set[str] = set()
    try:
        for sheet in sheets:
            title = sheet_title(sheet.title, taken)
            counts[title] = _write_sheet(wb, formats, sheet, title, tz, sample_rows, rows_as_xml)
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
