"""Reading roster files (pure): encodings, headers, merged cells, formulas and every row error."""

from __future__ import annotations

import io

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from bot.rules.roster import (
    MAX_BYTES,
    RosterFileError,
    close_names,
    deep_link,
    normalise_phone,
    one_apart,
    parse_roster,
    parse_stars,
    template_xlsx,
)

CSV = "乡镇,村,户主,地址,联户党员\n东风镇,红旗村,张大山,一组,李建国\n"


def xlsx(rows: list[list[object]], merges: tuple[str, ...] = ()) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def codes(data: bytes, name: str = "r.csv") -> list[tuple[int, str]]:
    return [(e.line, e.code) for e in parse_roster(data, name).errors]


@pytest.mark.parametrize(
    "data",
    [
        CSV.encode("utf-8"),
        CSV.encode("utf-8-sig"),
        CSV.encode("gb18030"),
        CSV.encode("utf-16"),  # Excel's "Unicode text", with its BOM
        CSV.replace(",", "\t").encode("utf-8"),
        CSV.replace(",", ";").encode("gb18030"),
    ],
    ids=["utf8", "utf8-bom", "gb18030", "utf16", "tabs", "semicolons"],
)
def test_encodings_and_separators_offices_produce(data: bytes) -> None:
    roster = parse_roster(data, "r.csv")
    assert [(r.township, r.village, r.head, r.address, r.member) for r in roster.rows] == [
        ("东风镇", "红旗村", "张大山", "一组", "李建国")
    ]
    assert roster.errors == ()


def test_english_headers_a_title_row_and_ignored_columns() -> None:
    text = (
        "Roster of 2026,,,\n"
        "township,village,household_head,group,phone,member,member_phone,stars,remarks\n"
        "Dongfeng,Hongqi,Zhang San,1,138 0000 0001,Li Si,+86 137-0000-0002,★★★,x\n"
    )
    roster = parse_roster(text.encode(), "r.csv")
    row = roster.rows[0]
    # the stars on a household's row are not the village's (item 11 of issue 13): ignored
    assert (row.village, row.head, row.phone, row.member_phone, row.stars) == ("Hongqi", "Zhang San", "13800000001", "13700000002", None)
    assert roster.header_line == 2 and roster.ignored == ("remarks",)


def test_headers_with_notes_and_a_second_phone_column() -> None:
    text = "乡镇(街道)*,村(社区)(必填),户主姓名,电话,联户党员,电话\n东风镇,红旗村,张三,13800000001,李四,13700000002\n"
    row = parse_roster(text.encode(), "r.csv").rows[0]
    assert (row.phone, row.member, row.member_phone) == ("13800000001", "李四", "13700000002")


def test_xlsx_merged_cells_fill_down_and_numbers_read_as_text() -> None:
    data = xlsx(
        [["乡镇", "村", "户主", "电话"], ["东风镇", "红旗村", "张三", 13800000001], [None, None, "李四", 13800000002.0]],
        merges=("A2:A3", "B2:B3"),
    )
    roster = parse_roster(data, "r.xlsx")
    assert [(r.township, r.village, r.head, r.phone) for r in roster.rows] == [
        ("东风镇", "红旗村", "张三", "13800000001"),
        ("东风镇", "红旗村", "李四", "13800000002"),
    ]
    assert roster.kind == "xlsx"


def test_xlsx_formulas_are_refused_with_their_cell() -> None:
    data = xlsx([["乡镇", "村", "户主", "星级"], ["东风镇", "红旗村", "张三", "=1+2"], ["东风镇", "红旗村", "=B3", 3]])
    errors = parse_roster(data, "r.xlsx").errors
    assert [(e.line, e.code, e.column) for e in errors] == [(2, "formula", "星级"), (3, "formula", "户主")]
    assert errors[0].value == "=1+2"


def test_every_row_error_has_its_line() -> None:
    text = (
        "区,乡镇,村,星级,户主,地址,电话,联户党员,党员电话,书记,书记电话\n"
        "示例区,东风镇,红旗村,3,张三,一组,,李四,13700000001,,\n"  # 2: fine
        "示例区,东风镇,红旗村,,张三,一组,,,,,\n"  # 3: duplicate of 2
        "示例区,东风镇,红旗村,,,二组,13800000001,,,,\n"  # 4: no head
        "示例区,东风镇,红旗村,六星,,,,,,王五,\n"  # 5: stars
        "示例区,东风镇,红旗村,4,赵六,,,,,,\n"  # 6: a household's stars: ignored, not the village's
        "示例区,东风镇,红旗村,,钱七,,,李四,13700000009,,\n"  # 7: member phone differs
        "示例区,东风镇,,,孙八,,,,,,\n"  # 8: no village
        "示例区,,红旗村,,周九,,,,,,\n"  # 9: no township
        "示例区,东风镇,红旗村,,吴十,,110,,,,\n"  # 10: bad phone
        "示例区,东风镇,红旗村,,,,,,13700000003,,\n"  # 11: member phone without member
        "示例区,东风镇,红旗村,,,,,,,,13700000004\n"  # 12: secretary phone without secretary
        "示例区,东风镇,红旗村,,12345,,,,,,\n"  # 13: a number is not a name
        ",,,,,,,,,,\n"  # empty: skipped
        "示例区,东风镇,红旗村,,郑十一,,,,,,\n"  # 15: fine
    )
    assert codes(text.encode("gb18030")) == [
        (3, "duplicate_household"),
        (4, "missing_head"),
        (5, "bad_stars"),
        (7, "conflicting_phone"),
        (8, "missing_village"),
        (9, "missing_township"),
        (10, "bad_phone"),
        (11, "missing_member"),
        (12, "missing_secretary"),
        (13, "bad_name"),
    ]
    roster = parse_roster(text.encode("gb18030"))
    assert [r.line for r in roster.good_rows] == [2, 6, 15] and roster.total == 13
    assert [r.stars for r in roster.good_rows] == [None, None, None]


def test_csv_formula_and_overlong_cells() -> None:
    text = "乡镇,村,户主\n东风镇,红旗村,=cmd|' /C calc'!A0\n东风镇,红旗村," + "张" * 31 + "\n"
    assert codes(text.encode()) == [(2, "formula"), (3, "too_long")]


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"x" * (MAX_BYTES + 1), "big.csv", "too_large"),
        (b"  \n ", "e.csv", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "r.xls", "old_xls"),
        (b"PK\x03\x04 not really", "r.xlsx", "xlsx_broken"),
        (b"not a zip", "r.xlsx", "xlsx_broken"),
        ("鄉鎮,村,戶主\n東風鎮,紅旗村,張大山\n".encode("big5"), "r.csv", "encoding"),
        (b"\xff\xfe\x00\xd8", "r.csv", "encoding"),
        ("村,户主\n红旗村,张三\n".encode("utf-16-le"), "r.csv", "encoding"),  # no BOM: NULs
        ("姓名,年龄\n张三,50\n".encode(), "r.csv", "no_header"),
        ("乡镇,村,户主\n,,\n".encode(), "r.csv", "no_rows"),
    ],
)
def test_files_refused_whole(data: bytes, name: str, code: str) -> None:
    with pytest.raises(RosterFileError) as caught:
        parse_roster(data, name)
    assert caught.value.code == code


def test_a_zip_bomb_is_refused_before_it_is_opened() -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (90 * 1024 * 1024))
    with pytest.raises(RosterFileError) as caught:
        parse_roster(out.getvalue(), "r.xlsx")
    assert caught.value.code == "unzipped_too_large"


@pytest.mark.parametrize(("text", "stars"), [("3", 3), ("三星", 3), ("五星级", 5), ("★★", 2), ("1星", 1), ("", None)])
def test_star_levels_as_offices_write_them(text: str, stars: int | None) -> None:
    assert parse_stars(text) == stars


@pytest.mark.parametrize("text", ["0", "6", "六星", "★★★★★★", "很好"])
def test_star_levels_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_stars(text)


@pytest.mark.parametrize(
    ("text", "phone"),
    [("13800000001", "13800000001"), ("138 0000 0001", "13800000001"), ("+8613800000001", "13800000001"),
     ("0913-1234567", "0913-1234567"), ("(0913)1234567", "0913-1234567"), ("", "")],
)
def test_phone_numbers(text: str, phone: str) -> None:
    assert normalise_phone(text) == phone


def test_the_template_reads_back_in_both_languages_and_its_samples_are_never_imported() -> None:
    for lang in ("zh_CN", "en"):
        with pytest.raises(RosterFileError) as raised:  # the template as sent: samples only
            parse_roster(template_xlsx(lang), "t.xlsx")
        assert raised.value.code == "only_samples"
    # filled in under the samples the office forgot to delete: the samples are skipped
    wb = openpyxl.load_workbook(io.BytesIO(template_xlsx("zh_CN")))
    wb.active.append(["示例区", "东风乡", "胜利村", "4", "陈书记", "", "", "", "", "", "", ""])
    wb.active.append(["示例区", "东风乡", "胜利村", "", "", "", "黄大海", "一组", "", "", "何党员", ""])
    out = io.BytesIO()
    wb.save(out)
    roster = parse_roster(out.getvalue(), "filled.xlsx")
    assert roster.samples == 3 and [r.village for r in roster.rows] == ["胜利村", "胜利村"]
    assert roster.rows[0].stars == 4 and roster.rows[1].member == "何党员"


def test_village_names_one_character_apart_are_reported() -> None:
    text = (
        "乡镇,村,户主,联户党员\n"
        "东风镇,向阳村,张三,李四\n东风镇,向阳村,王五,李四\n"
        "东风镇,向阳材,赵六,李四\n"  # a typo: reported, not a new village
        "东风镇,东庄村,钱七,孙八\n东风镇,西庄村,周九,孙八\n"  # neighbours told apart by 东/西: fine
    )
    assert codes(text.encode()) == [(4, "close_name")]
    roster = parse_roster(text.encode())
    assert roster.errors[0].value == "向阳材→向阳村"
    assert close_names(["向阳材"], known=["向阳村"]) == {"向阳材": "向阳村"}
    assert close_names(["红旗村", "红旗新村", "上王村", "下王村"]) == {}
    assert one_apart("红旗", "红旗村") and not one_apart("光明村", "光明社区")


def test_deep_links_have_one_form() -> None:
    assert deep_link("cadre_demo_bot", "AB23CD45") == "https://t.me/cadre_demo_bot?start=AB23CD45"
    with pytest.raises(ValueError):
        deep_link("cadre_demo_bot", "has space")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_rows_or_a_file_error_never_a_crash(data: bytes) -> None:
    try:
        parse_roster(data, "r.csv")
    except RosterFileError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.text(max_size=8), min_size=3, max_size=3), max_size=6))
def test_any_cells_under_a_header_give_rows_or_errors(cells: list[list[str]]) -> None:
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["乡镇", "村", "户主"])
    writer.writerows(cells)
    try:
        roster = parse_roster(out.getvalue().encode(), "r.csv")
    except RosterFileError as problem:
        assert problem.code in {"no_rows", "not_a_table", "encoding", "no_header", "empty"}
        return
    assert {r.line for r in roster.rows}.isdisjoint(roster.bad_lines)


def test_a_real_row_that_shares_a_samples_names_is_kept() -> None:
    """The demo district reuses the template's names (东风乡/红旗村/王书记): only a row equal to a
    sample in every cell (phones and stars too) is a sample."""
    text = "区,乡镇,村,星级,书记\n示例区,东风乡,红旗村,2,王书记\n示例区,东风乡,红旗村,3,王书记\n"
    roster = parse_roster(text.encode(), "r.csv")
    assert [r.stars for r in roster.rows] == [2] and roster.samples == 0
    assert [e.code for e in roster.errors] == ["conflicting_stars"]


def _close_names_by_pairs(names: list[str], known: list[str]) -> dict[str, str]:
    """The reference: every name against every other, in the order close_names tries them."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    known_set = set(known)
    out: dict[str, str] = {}
    for name in counts:
        if name in known_set:
            continue
        for other in [*known_set, *counts]:
            if other == name or not one_apart(name, other):
                continue
            if other in known_set or counts[other] > counts[name] or (counts[other] == counts[name] and other < name):
                out[name] = other
                break
    return out


_NAME = st.text(alphabet="红旗向阳村材东西新", min_size=1, max_size=4)


@given(st.lists(_NAME, max_size=30), st.lists(_NAME, max_size=8))
@settings(max_examples=300, deadline=None)
def test_close_names_through_the_index_finds_what_comparing_every_pair_finds(names, known) -> None:
    assert close_names(names, known) == _close_names_by_pairs(names, known)


def test_close_names_compares_each_name_with_a_few_not_with_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear in the names: the comparisons per name stay flat as a township's names grow
    (no timing: one_apart calls are counted)."""
    import bot.rules.roster as rules

    calls = 0
    real = rules.one_apart

    def counted(a: str, b: str) -> bool:
        nonlocal calls
        calls += 1
        return real(a, b)

    monkeypatch.setattr(rules, "one_apart", counted)

    def per_name(count: int) -> float:
        nonlocal calls
        calls = 0
        names = ["村" + "".join(d * 2 for d in str(n)) for n in range(count)]  # none one apart
        assert rules.close_names(names, names[: count // 10]) == {}
        return calls / count

    assert per_name(2000) <= per_name(200) * 1.5 + 1
