"""A township's invite sheet (邀请表): every secretary of its villages on one printable page,
each row with the name, village, role, the invite code, the deep link and its QR code, as an
XLSX workbook (openpyxl) and a PDF (reportlab), for the township admin to print and hand out
at a meeting, or to send on.

Pure rendering: rows and labels come in already translated (the handler's catalogs), bytes go
out; no Telegram, no SQL. The CJK font of the PDF is SimHei, shipped by the ``mplfonts``
package (a dependency; see :mod:`bot.services.charts`), embedded as a subset so the page
prints the same on any machine. QR codes are PNGs made offline by ``qrcode`` with Pillow.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

QR_PX = 110  # a QR code's size in the workbook (pixels)
QR_MM = 26  # and on the PDF page (millimetres): phones read it from print at arm's length


@dataclass(frozen=True)
class SheetRow:
    name: str
    village: str
    role: str
    code: str
    link: str
    expires: str


@dataclass(frozen=True)
class SheetText:
    """The sheet's translated words: title (unit and date), a line on how to join, the column
    headers (序号, 姓名, 村(社区), 职务, 邀请码, 加入链接, 有效期至, 二维码) and the sheet's name."""

    title: str
    how: str
    headers: tuple[str, str, str, str, str, str, str, str]
    sheet_name: str


def qr_png(text: str, *, box_size: int = 8) -> bytes:
    """The QR code of ``text`` as PNG bytes."""
    import qrcode

    image = qrcode.make(text, box_size=box_size, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def _cells(n: int, row: SheetRow) -> list[object]:
    return [n, row.name, row.village, row.role, row.code, row.link, row.expires]


def sheet_xlsx(rows: Sequence[SheetRow], text: SheetText) -> bytes:
    """One worksheet, ready to print: a title row, the header repeated on every page,
    landscape, fitted to the page width, borders, a QR code in the last column of each row."""
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = text.sheet_name[:31]
    width = len(text.headers)
    ws.cell(1, 1, text.title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(2, 1, text.how).alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.row_dimensions[2].height = 32
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for col, header in enumerate(text.headers, start=1):
        cell = ws.cell(3, col, header)
        cell.font = Font(bold=True)
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for n, row in enumerate(rows, start=1):
        r = n + 3
        for col, value in enumerate([*_cells(n, row), ""], start=1):
            cell = ws.cell(r, col, value)
            cell.border = border
            cell.alignment = Alignment(vertical="center", wrap_text=col == 6)
        ws.cell(r, 5).font = Font(bold=True, size=13)  # the code, read aloud or typed
        ws.cell(r, 6).hyperlink = row.link
        image = Image(io.BytesIO(qr_png(row.link, box_size=4)))
        image.width = image.height = QR_PX
        ws.add_image(image, f"{get_column_letter(width)}{r}")
        ws.row_dimensions[r].height = QR_PX * 0.78  # points: the image's height and a margin
    for col, chars in enumerate((5, 10, 14, 10, 12, 36, 12, 17), start=1):
        ws.column_dimensions[get_column_letter(col)].width = chars
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@lru_cache(maxsize=1)
def _pdf_font() -> str:
    """Register the CJK font with reportlab once; its name."""
    import mplfonts
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = Path(mplfonts.__file__).parent / "fonts" / "SimHei.ttf"
    pdfmetrics.registerFont(TTFont("SimHei", str(path)))
    return "SimHei"


def sheet_pdf(rows: Sequence[SheetRow], text: SheetText) -> bytes:
    """The same sheet as an A4 landscape PDF: title, how to join, a table whose header repeats
    on every page, a QR code per row."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _pdf_font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=10, wordWrap="CJK")
    code = ParagraphStyle("code", fontName=font, fontSize=13, leading=16)

    def esc(value: object) -> str:
        return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    data: list[list[object]] = [[Paragraph(esc(h), body) for h in text.headers]]
    for n, row in enumerate(rows, start=1):
        cells = _cells(n, row)
        data.append([
            Paragraph(esc(cells[0]), body), Paragraph(esc(row.name), body), Paragraph(esc(row.village), body),
            Paragraph(esc(row.role), body), Paragraph(esc(row.code), code), Paragraph(esc(row.link), small),
            Paragraph(esc(row.expires), body),
            Image(io.BytesIO(qr_png(row.link, box_size=4)), width=QR_MM * mm, height=QR_MM * mm),
        ])
    widths = [m * mm for m in (10, 26, 34, 24, 30, 70, 28, QR_MM + 4)]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
    ]))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=text.title)
    doc.build([Paragraph(esc(text.title), title), Paragraph(esc(text.how), body), Spacer(1, 4 * mm), table])
    return out.getvalue()
