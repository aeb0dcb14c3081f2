"""Reading a roster file into rows of text cells: CSV in the encodings offices produce, or the
first sheet of an XLSX (merged cells filled in from their top-left cell). Pure: no Telegram,
no SQL. Problems with the whole file raise :class:`RosterFileError` (catalog key
``roster.file.<code>``); a cell holding a formula is kept as :class:`Formula` for the row
checks in :mod:`bot.rules.roster` to refuse.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

MAX_BYTES = 5 * 1024 * 1024  # a district's roster of 100,000 households is well under this
MAX_ROWS = 50_000
MAX_UNZIPPED_BYTES = 80 * 1024 * 1024  # an XLSX is a zip: refuse zip bombs before opening
MAX_COLUMNS = 200  # a roster has a dozen columns; a sheet formatted to column XFD is refused
HEADER_SEARCH_ROWS = 20


class RosterFileError(Exception):
    """The file as a whole cannot be read; ``code`` is a catalog key ``roster.file.<code>``."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula instead of a value."""

    text: str


# -- reading the table ------------------------------------------------------------------------
Cell = str | Formula
Table = list[tuple[int, list[Cell]]]  # (row number as Excel shows it, cells)


def read_table(data: bytes, filename: str = "") -> tuple[str, Table]:
    """The rows of the file's first sheet (or the CSV), as text cells; ``(kind, rows)``."""
    if len(data) > MAX_BYTES:
        raise RosterFileError("too_large", size_mb=round(len(data) / 1024 / 1024, 1), max_mb=MAX_BYTES // 1024 // 1024)
    if not data.strip():
        raise RosterFileError("empty")
    if data[:4] == b"PK\x03\x04":
        return "xlsx", read_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise RosterFileError("old_xls")
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise RosterFileError("xlsx_broken")
    text, encoding = decode(data)
    return f"csv-{encoding}", read_csv(text)


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030; anything else is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, encoding = data.decode("utf-16"), "utf16"
        except UnicodeDecodeError as exc:
            raise RosterFileError("encoding") from exc
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise RosterFileError("encoding")
        encoding = encoding.replace("-sig", "").replace("-", "")
    if "\x00" in text or "\ufffd" in text:
        raise RosterFileError("encoding")
    return text, encoding


def read_csv(text: str) -> Table:
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",\t;，")
    except csv.Error:
        dialect = csv.excel
    if getattr(dialect, "delimiter", ",") == "，":  # a full-width comma sniffed: not a table
        dialect = csv.excel
    rows: Table = []
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for number, cells in enumerate(reader, start=1):
            if number > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise RosterFileError("too_many_rows", max_rows=MAX_ROWS)
            rows.append((number, [Formula(c) if c.strip().startswith("=") else c for c in cells]))
    except csv.Error as exc:
        raise RosterFileError("not_a_table") from exc
    return rows


def read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
            if unzipped > MAX_UNZIPPED_BYTES:
                raise RosterFileError(
                    "unzipped_too_large",
                    size_mb=round(len(data) / 1024 / 1024, 1),
                    unzipped_mb=round(unzipped / 1024 / 1024),
                    max_unzipped_mb=MAX_UNZIPPED_BYTES // 1024 // 1024,
                )
        workbook = load_workbook(io.BytesIO(data), data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, OSError, SyntaxError) as exc:
        # SyntaxError: the XML parser's ParseError for a damaged sheet
        raise RosterFileError("xlsx_broken") from exc
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise RosterFileError("empty")
    if sheet.max_row > MAX_ROWS + HEADER_SEARCH_ROWS or sheet.max_column > MAX_COLUMNS:
        # the sheet's used range, which formatting of whole rows or columns stretches
        raise RosterFileError(
            "sheet_too_big", rows=sheet.max_row, columns=sheet.max_column, max_rows=MAX_ROWS, max_columns=MAX_COLUMNS
        )
    merged: dict[tuple[int, int], tuple[int, int]] = {}
    for cell_range in sheet.merged_cells.ranges:
        top, left = cell_range.min_row, cell_range.min_col
        for row in range(cell_range.min_row, cell_range.max_row + 1):
            for col in range(cell_range.min_col, cell_range.max_col + 1):
                if (row, col) != (top, left):
                    merged[(row, col)] = (top, left)
    values: dict[tuple[int, int], Cell] = {}
    rows: Table = []
    for row in sheet.iter_rows():
        cells: list[Cell] = []
        for cell in row:
            value = cell.value
            if isinstance(value, ArrayFormula | DataTableFormula) or (
                cell.data_type == "f" or (isinstance(value, str) and value.startswith("="))
            ):
                text: Cell = Formula(str(getattr(value, "text", value)))
            else:
                text = cell_text(value)
            values[(cell.row, cell.column)] = text
            cells.append(text)
        if row:
            number = row[0].row
            for index in range(len(cells)):
                source = merged.get((number, index + 1))
                if source is not None:
                    cells[index] = values.get(source, "")
            rows.append((number, cells))
    return rows


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


