"""The monthly bulletin (通报) as a Word document, ready to print and file.

The same figures as the text bulletin (:class:`bot.rules.bulletin.Bulletin`, the words of
:mod:`bot.services.bulletin`) laid out as an office would file it: A4 portrait, a centred
title, the unit and the date it was made, the overall figures, the praise, a table per star
group (a township's villages) or of the townships (the district's), the help pairs, the
villages with nothing recorded, the chart, and the footnote on how the ranking is made; page
numbers in the footer. No Telegram here: :func:`bulletin_docx` returns the file's bytes.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from datetime import date

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from bot.i18n import Translator
from bot.rules.bulletin import Bulletin, VillageMonth, percent, total
from bot.services.bulletin import (
    docx_filename,
    group_heading,
    outcome_line,
    pair_lines,
    praise_lines,
    quiet_lines,
    star_label,
    townships,
)
from storage.org import Unit

FONT = "SimSun"  # 宋体: the usual face of printed government documents (a font name, not UI text)
TITLE_FONT = "SimHei"  # 黑体
BODY_PT, TITLE_PT, TABLE_PT = 12, 18, 10.5
COLUMNS = ("coverage", "visited", "solved", "overdue", "tasks", "reports", "people")  # after the name
# column widths in cm (the text is 16 cm wide): [stars,] name, then COLUMNS
WIDTHS = (2.6, 1.8, 1.9, 1.6, 1.6, 2.6, 1.6, 1.6)
STARS_WIDTH, NAME_GIVES = 1.3, 0.6


def _font(run, name: str = FONT, size: float = BODY_PT, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    props = run._element.get_or_add_rPr()
    fonts = props.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        props.append(fonts)
    fonts.set(qn("w:eastAsia"), name)  # Chinese characters take the East Asian font


def plain(text: str) -> str:
    """The text without the emoji the chat messages carry (📋, 👍, ⭐…): paper is printed in black."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) != "So" and ch not in "\ufe0f\u200d")
    return kept.strip()


def _paragraph(doc, text: str, *, size: float = BODY_PT, bold: bool = False, centre: bool = False,
               font: str = FONT, space_after: float = 4):
    p = doc.add_paragraph()
    p.paragraph_format.space_after = Pt(space_after)
    if centre:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run(plain(text)), font, size, bold)
    return p


def _page_numbers(section) -> None:
    """A centred PAGE field in the footer."""
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._element.append(element)
    _font(run, size=TABLE_PT)


def _row_values(t: Translator, v: VillageMonth, name: str) -> list[str]:
    coverage = percent(v.coverage) if v.households else t("bulletin.docx.none")
    visited = t("bulletin.docx.visited", visited=v.visited, households=v.households) if v.households else "—"
    tasks = t("bulletin.docx.tasks", on_time=v.tasks_on_time, late=v.tasks_late, not_done=v.tasks_not_done) \
        if v.tasks_due else "—"
    return [name, coverage, visited, str(v.followups_closed), str(v.followups_overdue), tasks, str(v.reports),
            str(v.people)]


def _table(
    doc,
    t: Translator,
    rows: Sequence[tuple[str, VillageMonth]],
    first_header: str,
    totals: VillageMonth,
    stars: Sequence[str] | None = None,
) -> None:
    """One row per village (or township) and a totals row; ``stars``: a first column with each
    row's star level (a township's villages, grouped by stars)."""
    headers = [first_header, *(t(f"bulletin.docx.col.{c}") for c in COLUMNS)]
    if stars is not None:
        headers.insert(0, t("bulletin.docx.col.stars"))
    widths = [*((STARS_WIDTH,) if stars is not None else ()), *WIDTHS]
    if stars is not None:
        widths[1] -= NAME_GIVES  # the name column gives the star column some of its room
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)  # the grid LibreOffice and Word lay out by
    for cell, text, width in zip(table.rows[0].cells, headers, widths, strict=True):
        cell.width = Cm(width)
        cell.text = ""
        cell.paragraphs[0].paragraph_format.keep_together = True
        _font(cell.paragraphs[0].add_run(text), size=TABLE_PT, bold=True)
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    header_props = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")  # the header row again on every page
    repeat.set(qn("w:val"), "true")
    header_props.append(repeat)
    levels = list(stars) if stars is not None else None
    body = [(name, v, False) for name, v in rows] + [(t("ledger.totals"), totals, True)]
    for index, (name, v, bold) in enumerate(body):
        cells = table.add_row().cells
        values = _row_values(t, v, name)
        if levels is not None:
            values.insert(0, levels[index] if index < len(levels) else "")
        for n, (cell, text) in enumerate(zip(cells, values, strict=True)):
            cell.width = Cm(widths[n])
            cell.text = ""
            _font(cell.paragraphs[0].add_run(text), size=TABLE_PT, bold=bold)
            if n:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph().paragraph_format.space_after = Pt(2)


def bulletin_docx(
    t: Translator,
    unit: Unit,
    b: Bulletin,
    *,
    chart: bytes | None,
    made: date,
    partial_to: str | None = None,
) -> bytes:
    """The bulletin of ``unit`` as a .docx file (its bytes)."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.2)
    _page_numbers(section)

    month = t("export.month", year=b.start.year, month=b.start.month)
    _paragraph(doc, t("bulletin.docx.title", unit=unit.name, month=month), size=TITLE_PT, bold=True, centre=True,
               font=TITLE_FONT, space_after=6)
    _paragraph(doc, t("bulletin.docx.issued", unit=unit.name, made=t.date(made)), size=BODY_PT, centre=True,
               space_after=12)
    if partial_to:
        _paragraph(doc, t("bulletin.partial", day=partial_to))

    _paragraph(doc, t("bulletin.docx.overall"), bold=True, font=TITLE_FONT)
    _paragraph(doc, t("bulletin.total", figures=outcome_line(t, b.totals)))
    for line in praise_lines(t, b, township=unit.level == "district"):
        if line:
            _paragraph(doc, line, bold=line == t("bulletin.praise_title"), font=TITLE_FONT if line == t("bulletin.praise_title") else FONT)

    if unit.level == "district":
        _paragraph(doc, t("bulletin.townships_title"), bold=True, font=TITLE_FONT)
        towns = townships(b)
        _table(doc, t, [(name, total(vs, name)) for name, vs in towns], t("bulletin.docx.col.township"), b.totals)
        if b.groups:
            _paragraph(doc, t("bulletin.groups_title"), bold=True, font=TITLE_FONT)
            for g in b.groups:
                _paragraph(doc, group_heading(t, g))
    elif b.groups:
        _paragraph(doc, t("bulletin.villages_title"), bold=True, font=TITLE_FONT)
        for g in b.groups:
            _paragraph(doc, group_heading(t, g))
        villages = [(v, g.stars) for g in b.groups for v in g.villages]
        _table(doc, t, [(v.name, v) for v, _ in villages], t("bulletin.docx.col.village"), b.totals,
               stars=[star_label(t, level) for _, level in villages])
    else:
        _paragraph(doc, t("bulletin.villages_title"), bold=True, font=TITLE_FONT)
        _table(doc, t, [(v.name, v) for v in b.villages], t("bulletin.docx.col.village"), b.totals)

    for line in [*pair_lines(t, b), *quiet_lines(t, b, township=unit.level == "district")]:
        if line:
            _paragraph(doc, line, bold=line == t("bulletin.pairs_title"), font=TITLE_FONT if line == t("bulletin.pairs_title") else FONT)

    if chart:
        doc.add_picture(io.BytesIO(chart), width=Cm(15.5))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(doc, t("bulletin.footnote"), size=TABLE_PT)
    doc.core_properties.title = t("bulletin.docx.title", unit=unit.name, month=month)
    doc.core_properties.author = "cadre-bot"
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


filename = docx_filename  # the document's file name (in bot.services.bulletin: no python-docx needed)

