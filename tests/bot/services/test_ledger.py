"""The Excel ledger (台账): the streaming writer on its own, then whole workbooks written from a
database seeded through the features' own repositories and read back cell by cell; /export
and ``cadre-bot export`` deliver the same workbook."""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest

from bot.i18n import Catalogs
from bot.rules.ledger import Column, Link, Sheet, bot_link, display_width, write_workbook
from bot.services.ledger import LedgerRequest, write_ledger
from bot.simulator import Simulator, texts
from tests.conftest import DISTRICT_ADMIN, MEMBER, SECRETARY, TOWNSHIP_ADMIN, TZ, Org, local
from tests.helpers.ledger import seed

ZH = Catalogs().get("zh_CN")


# -- the writer on its own -----------------------------------------------------------------------
def write(tmp_path: Path, sheets: list[Sheet], **kw) -> openpyxl.Workbook:
    path = tmp_path / "w.xlsx"
    write_workbook(path, sheets, tz=TZ, **kw)
    return openpyxl.load_workbook(path)


def width(ws, letter: str) -> float:
    """A column's width as Excel shows it: the file stores it with the cell padding (5 pixels
    of a 7-pixel digit), to the 1/256th."""
    return round(ws.column_dimensions[letter].width - 5 / 7, 2)


def test_header_is_frozen_filtered_and_widths_fit_cjk(tmp_path: Path) -> None:
    columns = [Column("村"), Column("Notes"), Column("人数", "int")]
    rows = iter([["红旗村红旗村红旗村", "abc", 3], ["向阳村", "a" * 20, 12]])
    ws = write(tmp_path, [Sheet("台账", columns, rows)])["台账"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:C3"
    assert [c.value for c in ws[1]] == ["村", "Notes", "人数"]
    assert ws[1][0].font.b
    # nine CJK characters take 18 columns (+2 of padding); 20 Latin letters take 20 (+2)
    assert width(ws, "A") == 20
    assert width(ws, "B") == 22
    assert width(ws, "C") == 6  # the minimum
    assert display_width("红旗村 ab") == 9


def test_widths_come_from_the_first_rows_only(tmp_path: Path) -> None:
    rows = iter([["短"]] * 3 + [["很长很长很长很长很长很长很长很长很长很长"]])
    ws = write(tmp_path, [Sheet("s", [Column("名")], rows)], sample_rows=3)["s"]
    assert width(ws, "A") == 6
    assert ws.max_row == 5  # every row is written, not only the sample


def test_dates_are_real_excel_dates_in_local_time(tmp_path: Path) -> None:
    columns = [Column("提交时间", "datetime"), Column("日期", "date"), Column("文本时间", "datetime")]
    rows = iter([[datetime(2026, 11, 20, 17, 30, tzinfo=UTC), date(2026, 11, 21), "2026-11-20T16:05:00Z"]])
    ws = write(tmp_path, [Sheet("s", columns, rows)])["s"]
    moment, day, text = ws[2]
    assert moment.value == datetime(2026, 11, 21, 1, 30)  # 17:30 UTC is 01:30 the next day in Beijing
    assert moment.number_format == "yyyy-mm-dd hh:mm" and moment.is_date
    assert day.value == datetime(2026, 11, 21) and day.number_format == "yyyy-mm-dd"
    assert text.value == datetime(2026, 11, 21, 0, 5)


def test_user_text_is_never_a_formula_and_links_are(tmp_path: Path) -> None:
    url = bot_link("cadre_demo_bot", "rpt_7")
    columns = [Column("备注"), Column("查看", "link"), Column("比例", "percent")]
    rows = iter([['=HYPERLINK("http://evil")', Link(url, "查看"), 0.5], ["\x07铃声", None, None]])
    ws = write(tmp_path, [Sheet("s", columns, rows)])["s"]
    note, link, share = ws[2]
    assert note.value == '=HYPERLINK("http://evil")' and note.data_type == "s"
    assert link.data_type == "f"
    assert link.value == '=HYPERLINK("https://t.me/cadre_demo_bot?start=rpt_7","查看")'
    assert share.value == 0.5 and share.number_format == "0%"
    assert ws["A3"].value == "铃声"  # control characters Excel refuses are dropped


def test_sheet_titles_are_made_valid_and_unique(tmp_path: Path) -> None:
    column = [Column("a")]
    wb = write(tmp_path, [Sheet("整治:报告/11月", column, iter([])), Sheet("整治:报告/11月", column, iter([]))])
    assert wb.sheetnames == ["整治_报告_11月", "整治_报告_11月(2)"]
    assert wb["整治_报告_11月"].auto_filter.ref == "A1"  # the header alone


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        Column("x", "colour")
    with pytest.raises(ValueError):
        bot_link("cadre_demo_bot", "has space")
    with pytest.raises(ValueError):
        write_workbook(io.BytesIO(), [], tz=TZ)
    with pytest.raises(ValueError, match="2 values for 1 columns"):
        write_workbook(io.BytesIO(), [Sheet("s", [Column("a")], iter([[1, 2]]))], tz=TZ)


def test_a_failure_midway_leaves_no_temporary_files(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    def rows():
        yield [1]
        raise RuntimeError("the database went away")

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the writer keeps its rows
    seen = []

    def watched():
        seen.extend(scratch.iterdir())  # the first sheet's rows are on disk by now
        yield from rows()

    sheets = [Sheet("a", [Column("x", "int")], iter([[1]])), Sheet("b", [Column("x", "int")], watched())]
    with pytest.raises(RuntimeError):
        write_workbook(io.BytesIO(), sheets, tz=TZ)
    assert seen, "the rows were streamed to temporary files"
    assert list(scratch.iterdir()) == []


def test_rows_written_as_xml_are_the_files_xlsxwriter_writes(tmp_path: Path) -> None:
    """The data rows go into the sheet as XML written by the ledger itself (five times faster
    than a write_* call per cell): the same file, byte for byte, as XlsxWriter's own calls."""
    long_text = "长" * 32000 + "\U0001F600" * 400 + "尾"  # over 32,767 UTF-16 units: cut, no emoji split
    texts = ["红旗村", "第一行\n第二行\n第三行", " 前空格", "a & b < c > d \"q\"", "_x0041_ 字面", "回车\r后空格 ",
             "\x07铃声", "非字符\ufffe\uffff", "=1+1", "很长的一句话" * 12, long_text, 12, True, None, ""]
    numbers = [7, 0.1, 1e20, -3.5, 12345678901234567, True, "未填", None, "", 0, 2.5, None, 3, 4, 5]
    dates = [date(2026, 11, 21), "2026-11-21", datetime(2026, 11, 20, 17, 30, tzinfo=UTC), "2026-11-20T16:05:00Z",
             None, "", "2026-11-21", date(2026, 1, 1), None, "2026-10-31", None, None, None, None, None]
    moments = [datetime(2026, 11, 20, 17, 30, tzinfo=UTC), datetime(2026, 11, 20, 9, 15), "2026-11-20T16:05:00Z",
               date(2026, 11, 3), None, "", "2026-11-30T15:59:59Z", None, None, None, None, None, None, None, None]
    percents = [0.5, 1, 0, None, "", 0.333333, None, None, None, None, None, None, None, None, None]
    url = bot_link("cadre_demo_bot", "rpt_7")
    links = [Link(url, "查看"), None, "", Link(url, 'A & "B" <C>'), Link(url, ""), Link(url, "#N/A"),
             *[Link(bot_link("cadre_demo_bot", f"vst_{i}"), "查看") for i in range(9)]]
    columns = [Column("备注"), Column("数量", "int"), Column("吨", "number"), Column("日期", "date"),
               Column("时间", "datetime"), Column("比例", "percent"), Column("查看", "link")]
    rows = [list(r) for r in zip(texts, numbers, numbers[::-1], dates, moments, percents, links, strict=True)]

    def sheets() -> list[Sheet]:
        return [
            Sheet("台账", columns, iter([list(r) for r in rows + rows]), heading="东风镇 2026年11月", totals="合计"),
            Sheet("plain", columns, iter([list(r) for r in rows])),
            Sheet("空表", columns, iter([]), heading="空", totals="合计"),
            Sheet("一列", [Column("名")], iter([["甲"], ["乙\n丙"]]), heading="一列", totals="合计"),
        ]

    def parts(**kw) -> dict[str, bytes]:
        target = io.BytesIO()
        write_workbook(target, sheets(), tz=TZ, sample_rows=3, **kw)
        with zipfile.ZipFile(target) as z:
            return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}  # core: its creation time

    fast, reference = parts(), parts(rows_as_xml=False)
    assert list(fast) == list(reference)
    for name in fast:
        assert fast[name] == reference[name], name
    assert b'<row r="4" ht="44.25" customHeight="1">' in fast["xl/worksheets/sheet1.xml"]  # three lines: 44 points
    ws = openpyxl.load_workbook(io.BytesIO(write_bytes(sheets())))["台账"]
    assert ws["A4"].value == "第一行\n第二行\n第三行" and ws["A6"].value == 'a & b < c > d "q"'
    assert len(ws["A13"].value.encode("utf-16-le")) // 2 == 32766  # the emoji that would pass 32,767 is cut


def test_the_installed_xlsxwriter_takes_rows_as_xml(monkeypatch) -> None:
    """A ledger's rows do go as XML with the XlsxWriter installed: the files above would not
    tell the three times slower write_* calls apart."""
    from bot.rules import ledger

    made = []
    init = ledger._RowsXml.__init__

    def spy(self, *args, **kw) -> None:
        made.append(args[-1])  # the first data row, counted from 0
        init(self, *args, **kw)

    monkeypatch.setattr(ledger._RowsXml, "__init__", spy)
    write_bytes([Sheet("s", [Column("名")], iter([["甲"], ["乙"]]), heading="标题"), Sheet("空", [Column("名")], iter([]))])
    assert made == [2]  # under the title and the header; an empty sheet needs none


def write_bytes(sheets: list[Sheet]) -> bytes:
    target = io.BytesIO()
    write_workbook(target, sheets, tz=TZ)
    return target.getvalue()


def test_user_text_that_looks_like_markup_stays_text(tmp_path: Path) -> None:
    """XlsxWriter writes a string that starts with <r> and ends with </r> into the file as rich
    text markup; a user's text never becomes markup (it could carry a formula into the sheet)."""
    evil = '<r><t>x</t></r></is></c><c r="B9"><f>cmd|"/c calc"!A1</f></c><c r="C9"><is><r><t>y</t></r>'
    ws = openpyxl.load_workbook(io.BytesIO(write_bytes([Sheet("s", [Column("备注")], iter([[evil], ["<r>ok</r>"]]))])))["s"]
    assert ws["A2"].value == evil and ws["A3"].value == "<r>ok</r>"
    assert ws["B9"].value is None


# -- a seeded database -------------------------------------------------------------------------
def rows_of(ws) -> list[list[object]]:
    """The data rows of a ledger sheet: under its title and header rows, above its totals."""
    return [[c.value for c in row] for row in ws.iter_rows(min_row=3, max_row=ws.max_row - 1)]


def headers(ws) -> list[str]:
    return [c.value for c in ws[2]]


NOVEMBER = dict(start=date(2026, 11, 1), end=date(2026, 12, 1), tz=TZ, now=local(2026, 11, 30, 20))


async def test_workbook_matches_the_seeded_database_cell_by_cell(sim: Simulator, org: Org, tmp_path: Path) -> None:
    repos = sim.app.services.repos
    s = await seed(repos, org)
    path = tmp_path / "ledger.xlsx"
    request = LedgerRequest(unit_id=org.township.id, bot_username="cadre_demo_bot", **NOVEMBER)
    counts = write_ledger(repos.db.path, request, ZH, path)
    assert counts == {"人居环境整治": 2, "党员联户走访": 3, "诉求跟进办理": 2, "任务完成情况": 3, "各村汇总": 2}
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(counts)

    reports = wb["人居环境整治"]
    assert headers(reports) == [
        "编号", "乡镇(街道)", "村(社区)", "整治日期", "整治类别", "地点", "干部(人)", "党员(人)",
        "群众(人)", "参与合计(人)", "清运垃圾(车)", "清运垃圾(吨)", "整治面积(平方米)",
        "拆除残垣断壁(处)", "治理坑塘(个)", "整治前照片(张)", "整治后照片(张)", "备注", "上报人",
        "上报时间", "修改次数", "审核状态", "审核记录", "在机器人中查看",
    ]
    link = '=HYPERLINK("https://t.me/cadre_demo_bot?start=rpt_{}","查看")'
    assert rows_of(reports) == [
        [s.reports[0], "东风镇", "红旗村", datetime(2026, 11, 3), "垃圾清除、清理河道",
         "村东头 (34.50000, 109.50000)", 3, 5, 20, 28, 4.5, None, None, None, None, 2, 1,
         '=cmd|"/c calc"!A1', "孙书记", datetime(2026, 11, 3, 18, 5), 1, "已核实",
         "2026-11-04 09:00 钱镇长 已退回:请补充整治后照片\n2026-11-04 10:00 孙书记 已重新提交\n"
         "2026-11-05 09:00 钱镇长 已核实", link.format(s.reports[0])],
        [s.reports[1], "东风镇", "红旗村", datetime(2026, 11, 12), "残垣断壁拆除", None, 2, 0, 6, 8,
         None, None, None, 3, None, 0, 0, None, "孙书记", datetime(2026, 11, 12, 8), 0, "未审核",
         None, link.format(s.reports[1])],
    ]
    assert reports["R2"].data_type == "s"  # the notes that look like a formula stay text
    assert reports.freeze_panes == "A3" and reports.auto_filter.ref == "A2:X4"

    visits = wb["党员联户走访"]
    assert headers(visits)[:12] == [
        "编号", "乡镇(街道)", "村(社区)", "网格", "户主", "走访日期", "联户党员", "走访身份",
        "群众诉求", "办理情况", "照片(张)", "录入时间",
    ]
    got = rows_of(visits)
    assert [r[0] for r in got] == s.visits  # October's visit is not in November's ledger
    assert got[0][3:11] == ["一网格", "王大山", datetime(2026, 11, 2), "李党员",
                            "社情民意调研、政策法规宣传", "路灯坏了", "当场解决", 0]
    # a visit's follow-up as it stands: closed on 8 November, not "需要跟进"; the other one overdue
    assert got[1][9] == "已办结" and got[2][9] == "逾期未办结"

    followups = wb["诉求跟进办理"]
    got = rows_of(followups)
    assert [r[0] for r in got] == [s.followup, s.open_followup]
    assert got[0][3:14] == ["刘二妹", "李党员", datetime(2026, 11, 3), "低保申请", datetime(2026, 11, 10),
                            "已办结", datetime(2026, 11, 8, 15, 20), "李党员", "已帮助提交材料", "已核实",
                            "2026-11-09 09:00 钱镇长 已核实"]
    assert got[1][8] == "逾期未办结" and got[1][9] is None and got[1][12] == "未审核"

    tasks = wb["任务完成情况"]
    got = rows_of(tasks)
    assert [(r[0], r[4], r[5]) for r in got] == [
        (s.tasks[0], "向阳村", "逾期未完成"), (s.tasks[0], "红旗村", "按时完成"), (s.tasks[1], "红旗村", "逾期完成"),
    ]
    assert got[1][1:4] == ["清理村内垃圾死角", datetime(2026, 11, 15, 23, 59), "东风镇"]
    assert got[1][6:10] == [datetime(2026, 11, 14, 16), "孙书记", "已清理5处", 0]
    assert got[1][10] == f'=HYPERLINK("https://t.me/cadre_demo_bot?start=tsk_{s.tasks[0]}","查看")'

    # household phone numbers never reach a ledger
    everything = [str(c.value) for ws in wb for row in ws.iter_rows() for c in row]
    assert not any("1390000000" in v for v in everything)


async def test_a_village_sees_only_its_own_rows_and_english_headers(sim: Simulator, org: Org, tmp_path: Path) -> None:
    repos = sim.app.services.repos
    await seed(repos, org)
    en = Catalogs().get("en")
    path = tmp_path / "v.xlsx"
    counts = write_ledger(repos.db.path, LedgerRequest(unit_id=org.other_village.id, **NOVEMBER), en, path)
    assert counts == {"Clean-up reports": 0, "Household visits": 0, "Follow-ups": 0, "Tasks": 1, "Summary by village": 1}
    wb = openpyxl.load_workbook(path)
    assert headers(wb["Tasks"])[:3] == ["Task No.", "Task", "Deadline"]
    assert "View in the bot" not in headers(wb["Clean-up reports"])  # no bot name: no links


async def test_export_command_sends_the_workbook_as_a_document(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    s = await seed(repos, org)
    sim.clock = lambda: local(2026, 12, 2, 9).timestamp()
    sim.app.services.extras["clock"] = lambda: local(2026, 12, 2, 9)  # the forms' clock
    calls = await sim.send("/export", TOWNSHIP_ADMIN)
    assert "导出东风镇哪段时间的台账" in texts(calls)[-1]
    calls = await sim.press("2026年11月", TOWNSHIP_ADMIN)
    documents = [c for c in calls if c.method == "sendDocument"]
    assert len(documents) == 1
    doc = documents[0]
    assert doc.params["caption"].startswith("东风镇2026年11月台账:人居环境整治 2 条,联户走访 3 条")
    wb = openpyxl.load_workbook(io.BytesIO(doc.files["document"]))
    assert [r[0] for r in rows_of(wb["人居环境整治"])] == s.reports


async def test_export_opens_on_last_month_in_a_months_first_days(sim: Simulator, org: Org) -> None:
    """The walk on 1 December: the first button was 2026年12月, an empty ledger. In a month's
    first days /export opens on the month before, as /reports does; later on this month."""
    from tests.conftest import labels

    for day, first, absent in ((1, "2026年11月", "2026年12月"), (5, "2026年11月", "2026年12月"), (6, "2026年12月", None)):
        sim.clock = lambda day=day: local(2026, 12, day, 9).timestamp()
        sim.app.services.extras["clock"] = lambda day=day: local(2026, 12, day, 9)  # the forms' clock
        await sim.send("/export", TOWNSHIP_ADMIN)
        months = [label for label in labels(sim, TOWNSHIP_ADMIN) if "年" in label]
        assert months[0] == first, (day, months)
        assert absent not in months
        await sim.send("/cancel", TOWNSHIP_ADMIN)


async def test_export_takes_a_typed_range_and_refuses_nonsense(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    s = await seed(repos, org)
    sim.clock = lambda: local(2026, 11, 30, 9).timestamp()
    sim.app.services.extras["clock"] = lambda: local(2026, 11, 30, 9)  # the forms' clock
    await sim.send("/export", TOWNSHIP_ADMIN)
    calls = await sim.send("随便", TOWNSHIP_ADMIN)
    assert "没看懂这个时间段" in texts(calls)[0]
    calls = await sim.send("11月10日到11月13日", TOWNSHIP_ADMIN)
    doc = next(c for c in calls if c.method == "sendDocument")
    assert "2026年11月10日至2026年11月13日" in doc.params["caption"]  # a Chinese date, not 2026-11-10
    wb = openpyxl.load_workbook(io.BytesIO(doc.files["document"]))
    assert [r[0] for r in rows_of(wb["人居环境整治"])] == [s.reports[1]]


async def test_district_admin_picks_a_township_and_month_in_the_command(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await seed(repos, org)
    sim.clock = lambda: local(2026, 12, 2, 9).timestamp()
    sim.app.services.extras["clock"] = lambda: local(2026, 12, 2, 9)  # the forms' clock
    calls = await sim.send("/export 2026年10月", DISTRICT_ADMIN)
    assert "导出哪个单位的台账" in texts(calls)[-1]
    calls = await sim.press("东风镇", DISTRICT_ADMIN)
    doc = next(c for c in calls if c.method == "sendDocument")
    assert "2026年10月" in doc.params["caption"]
    wb = openpyxl.load_workbook(io.BytesIO(doc.files["document"]))
    assert len(rows_of(wb["人居环境整治"])) == 1 and len(rows_of(wb["党员联户走访"])) == 1


async def test_export_cancel_and_roles(sim: Simulator, org: Org) -> None:
    await sim.send("/export", TOWNSHIP_ADMIN)
    calls = await sim.send("/cancel", TOWNSHIP_ADMIN)
    assert texts(calls) == ["已取消导出。"]
    for user in (SECRETARY, MEMBER):
        assert "仅限" in texts(await sim.send("/export", user))[0]


async def test_cli_export_writes_the_same_workbook(sim: Simulator, org: Org, tmp_path: Path, monkeypatch) -> None:
    from bot.cli import main

    repos = sim.app.services.repos
    s = await seed(repos, org)
    out = tmp_path / "cli.xlsx"
    monkeypatch.setenv("CADRE_DB", str(repos.db.path))
    code = await asyncio.to_thread(
        main, ["export", "--unit", "东风镇", "--month", "2026-11", "--out", str(out), "--bot", "cadre_demo_bot"]
    )
    assert code == 0
    wb = openpyxl.load_workbook(out)
    assert [r[0] for r in rows_of(wb["人居环境整治"])] == s.reports


async def test_cli_export_says_plainly_what_is_wrong(sim: Simulator, org: Org, tmp_path: Path, monkeypatch, capsys) -> None:
    from bot.cli import main

    repos = sim.app.services.repos
    await repos.org.add_unit("东风镇", "township", (await repos.org.add_unit("另一区", "district")).id)
    monkeypatch.setenv("CADRE_DB", str(repos.db.path))
    out = str(tmp_path / "x.xlsx")
    assert await asyncio.to_thread(main, ["export", "--unit", "东风镇", "--month", "2026-11", "--out", out]) == 1
    err = capsys.readouterr().err
    assert "several units are named '东风镇'" in err and "示例区/东风镇" in err and "另一区/东风镇" in err
    assert await asyncio.to_thread(main, ["export", "--unit", "示例区/东风镇", "--month", "2026-11", "--out", out]) == 0
    assert await asyncio.to_thread(main, ["export", "--unit", "无此镇", "--month", "2026-11", "--out", out]) == 1
    assert await asyncio.to_thread(main, ["export", "--unit", "东风镇", "--month", "11", "--out", out]) == 2
    assert await asyncio.to_thread(
        main, ["export", "--unit", "示例区/东风镇", "--from", "2026-11-01", "--to", "2026-11-15", "--out", out]) == 0


async def test_the_ledger_prints_as_a_ledger(sim: Simulator, org: Org, tmp_path: Path) -> None:
    """Landscape, one page wide, header repeated, borders, a title row and a totals row."""
    repos = sim.app.services.repos
    await seed(repos, org)
    path = tmp_path / "paper.xlsx"
    write_ledger(repos.db.path, LedgerRequest(unit_id=org.township.id, **NOVEMBER), ZH, path)
    wb = openpyxl.load_workbook(path)
    for ws in wb:
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage and (ws.page_setup.fitToWidth or 1) == 1  # absent is 1
        assert ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$2:$2"
        assert ws.oddFooter.center.text == "&P / &N"
        assert [str(r) for r in ws.merged_cells.ranges] == [f"A1:{ws.cell(2, ws.max_column).column_letter}1"]
    reports = wb["人居环境整治"]
    assert reports["A1"].value == "东风镇人居环境整治台账(2026年11月)    制表日期:2026-11-30"
    assert all(reports.cell(row, col).border.left.style == "thin"
               for row in range(2, reports.max_row + 1) for col in range(1, reports.max_column + 1))
    total = [c.value for c in reports[reports.max_row]]
    assert total[0] == "合计" and total[6:10] == [5, 5, 26, 36]  # 干部, 党员, 群众, 参与合计
    assert total[15:17] == [2, 1] and total[1] is None  # photos; no sum of text
    tasks = wb["任务完成情况"]
    assert tasks.cell(tasks.max_row, 1).value == "合计" and tasks.cell(tasks.max_row, 10).value == 0


async def test_the_summary_sheet_counts_each_village(sim: Simulator, org: Org, tmp_path: Path) -> None:
    repos = sim.app.services.repos
    await seed(repos, org)
    path = tmp_path / "summary.xlsx"
    write_ledger(repos.db.path, LedgerRequest(unit_id=org.township.id, **NOVEMBER), ZH, path)
    ws = openpyxl.load_workbook(path)["各村汇总"]
    head = headers(ws)
    assert head[:3] == ["乡镇(街道)", "村(社区)", "整治上报(次)"] and head[3].startswith("其中:")
    rows = {r[1]: dict(zip(head, r, strict=True)) for r in rows_of(ws)}
    red, sun = rows["红旗村"], rows["向阳村"]
    assert red["整治上报(次)"] == 2 and red["其中:垃圾清除"] == 1 and red["其中:残垣断壁拆除"] == 1
    assert red["走访(次)"] == 3 and red["联系户(户)"] == 4 and red["已走访(户)"] == 3
    assert red["走访覆盖率"] == 0.75
    assert red["诉求办理中(件)"] == 1 and red["诉求已办结(件)"] == 1
    assert (red["到期任务(项)"], red["按时完成(项)"], red["逾期完成(项)"], red["未完成(项)"]) == (2, 1, 1, 0)
    assert sun["整治上报(次)"] == 0 and sun["联系户(户)"] == 1 and sun["走访覆盖率"] == 0
    assert (sun["到期任务(项)"], sun["未完成(项)"]) == (1, 1)
    total = dict(zip(head, [c.value for c in ws[ws.max_row]], strict=True))
    assert total["乡镇(街道)"] == "合计" and total["整治上报(次)"] == 2 and total["联系户(户)"] == 5
    assert total["走访覆盖率"] is None


async def test_export_form_back_typed_cancel_a_typo_and_a_command_in_the_middle(sim: Simulator, org: Org) -> None:
    sim.clock = lambda: local(2026, 12, 2, 9).timestamp()
    sim.app.services.extras["clock"] = lambda: local(2026, 12, 2, 9)
    assert "导出哪个单位的台账" in texts(await sim.send("/export", DISTRICT_ADMIN))[-1]
    assert "导出东风镇哪段时间" in texts(await sim.press("东风镇", DISTRICT_ADMIN))[-1]
    assert "导出哪个单位的台账" in texts(await sim.press("返回", DISTRICT_ADMIN))[-1]
    await sim.press("示例区", DISTRICT_ADMIN)
    hint, again = texts(await sim.send("11月1号到11越15号", DISTRICT_ADMIN))
    assert "没看懂这个时间段" in hint and "导出示例区哪段时间" in again
    paused, helped = texts(await sim.send("/help", DISTRICT_ADMIN))
    assert "暂停" in paused and "/export" in paused and helped
    assert "“示例区”" in texts(await sim.send("/export", DISTRICT_ADMIN))[-1]  # the resume offer
    assert "导出示例区哪段时间" in texts(await sim.press("继续填写", DISTRICT_ADMIN))[-1]
    assert texts(await sim.send("不要了,取消", DISTRICT_ADMIN)) == ["已取消导出。"]
    assert "export" not in sim.app.user_data[DISTRICT_ADMIN]
    assert "没看懂这个时间段" in texts(await sim.send("/export 随便", TOWNSHIP_ADMIN))[-1]
    calls = await sim.send("2026年11月", TOWNSHIP_ADMIN)
    assert [c.method for c in calls].count("sendDocument") == 1 and "已发送东风镇2026年11月的台账" in texts(calls)[-1]
