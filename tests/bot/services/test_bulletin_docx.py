"""The monthly bulletin as a Word document: sent by /bulletin, with the same figures as the
message, its tables and chart, laid out for A4 paper."""

from __future__ import annotations

import io
from datetime import date

import docx
from docx.oxml.ns import qn

from bot.i18n import Catalogs
from bot.rules.bulletin import VillageMonth, compute, month_bounds
from bot.services.bulletin import render
from bot.services.bulletin_docx import bulletin_docx, plain
from bot.simulator import Simulator
from storage.org import Unit
from tests.conftest import DISTRICT_ADMIN, TOWNSHIP_ADMIN, Org, local
from tests.helpers.ledger import seed

ZH = Catalogs().get("zh_CN")


def document_of(calls) -> tuple[docx.document.Document, dict]:
    call = next(c for c in calls if c.method == "sendDocument")
    return docx.Document(io.BytesIO(call.files["document"])), call.params


def table_rows(doc) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for table in doc.tables for row in table.rows]


async def test_bulletin_command_sends_a_word_document_with_tables_and_chart(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await seed(repos, org)
    sim.clock = lambda: local(2026, 12, 2, 9).timestamp()
    doc, params = document_of(await sim.send("/bulletin", TOWNSHIP_ADMIN))
    assert params["caption"] == "📄 东风镇2026年11月工作通报(Word 文档,可直接打印存档)"
    paragraphs = [p.text for p in doc.paragraphs]
    assert paragraphs[0] == "东风镇2026年11月党建引领乡村振兴工作通报"  # no emoji on paper
    assert "2026年12月2日" in paragraphs[1]  # the date it was made
    rows = table_rows(doc)
    assert rows[0][:4] == ["星级", "村(社区)", "走访覆盖率", "已走访/联系户"]
    assert [r[:2] for r in rows[1:]] == [["三星", "红旗村"], ["二星", "向阳村"], ["", "合计"]]
    assert rows[1][2:7] == ["75%", "3/4户", "1", "1", "1/1/0"] and rows[0][6] == "任务(按时/逾期/未完成)"
    assert rows[-1][2:4] == ["60%", "3/5户"]
    assert any("三星村" in p for p in paragraphs) and any("本月暂无工作记录的村" in p for p in paragraphs)
    assert len(doc.inline_shapes) == 1  # the chart
    section = doc.sections[0]
    assert round(section.page_width.cm) == 21 and round(section.page_height.cm) == 30
    assert doc.tables[0].rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # header on every page
    footer = section.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer


async def test_the_district_document_lists_townships(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await seed(repos, org)
    sim.clock = lambda: local(2026, 12, 2, 9).timestamp()
    doc, _ = document_of(await sim.send("/bulletin", DISTRICT_ADMIN))
    rows = table_rows(doc)
    assert rows[0][0] == "乡镇(街道)" and rows[1][0] == "东风镇" and rows[1][1] == "60%"


def test_no_households_and_english() -> None:
    start, end = month_bounds(2026, 11)
    b = compute(start, end, [VillageMonth(1, "Red Flag", township="East Wind", households=0)])
    en = Catalogs().get("en")
    unit = Unit(9, 1, "township", "East Wind")
    data = bulletin_docx(en, unit, b, chart=render(en, unit, b).chart, made=date(2026, 12, 1))
    doc = docx.Document(io.BytesIO(data))
    assert doc.paragraphs[0].text.startswith("East Wind")
    row = next(r for r in table_rows(doc) if r[0] == "Red Flag")
    assert row[1] == "no households yet"


def test_plain_drops_emoji_only() -> None:
    assert plain("⭐⭐⭐ 三星村(2个)") == "三星村(2个)"
    assert plain("👍 值得肯定") == "值得肯定" and plain("红旗村:75%") == "红旗村:75%"
