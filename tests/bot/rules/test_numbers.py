"""Tests for bot.rules.numbers (pure number parsing)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.numbers import (
    AMOUNT_LIMITS,
    MAX_PARTICIPANTS,
    Amounts,
    Participants,
    chinese_int,
    format_amounts,
    format_participants,
    parse_amounts,
    parse_count,
    parse_count_approx,
    parse_participants,
    read_amounts,
)

# ---------------------------------------------------------------- reference formatter

_REF_DIGITS = "零一二三四五六七八九"


def _ref_section(n: int) -> str:
    """1..9999 in canonical Chinese, with one 零 for each run of inner zeros."""
    out = ""
    pending_zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            pending_zero = pending_zero or bool(out)
            continue
        if pending_zero:
            out += "零"
            pending_zero = False
        out += _REF_DIGITS[digit] + unit
    return out


def ref_chinese(n: int) -> str:
    """Independent canonical formatter for 0..99999 (一十五 is written 十五)."""
    assert 0 <= n <= 99999
    if n == 0:
        return "零"
    high, low = divmod(n, 10000)
    if high == 0:
        text = _ref_section(low)
    else:
        text = _ref_section(high) + "万"
        if low:
            text += ("零" if low < 1000 else "") + _ref_section(low)
    if text.startswith("一十"):
        text = text[1:]
    return text


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "零"), (10, "十"), (15, "十五"), (105, "一百零五"), (1005, "一千零五"),
     (1050, "一千零五十"), (10010, "一万零一十"), (11000, "一万一千"), (99999, "九万九千九百九十九")],
)  # fmt: skip
def test_reference_formatter(n: int, text: str) -> None:
    assert ref_chinese(n) == text


# ---------------------------------------------------------------- chinese_int

CHINESE_INT_CASES = [
    ("三", 3),
    ("十五", 15),
    ("二十", 20),
    ("一百二十", 120),
    ("两百", 200),
    ("一百零五", 105),
    ("十", 10),
    ("零", 0),
    ("两", 2),
    ("一十五", 15),
    ("一百一十五", 115),
    ("一千零五", 1005),
    ("两千", 2000),
    ("一万", 10000),
    ("两万", 20000),
    ("一万零五十", 10050),
    ("十万", 100000),
    ("一百二", 120),  # colloquial: the last unit is left out
    ("三千五", 3500),
    ("一万五", 15000),
    ("二〇二四", 2024),  # digit by digit
    ("一零五", 105),
    ("3千", 3000),
    ("0", 0),
    ("15", 15),
    ("００７", 7),
    ("１５", 15),
    (" 15 ", 15),
    ("", None),
    ("-3", None),
    ("+3", None),
    ("3.5", None),
    ("百", None),
    ("十十", None),
    ("百十", None),
    ("一万五十", None),  # ambiguous: 10050 is 一万零五十
    ("三人", None),
    ("abc", None),
    ("万", None),
    ("一万万", None),
    ("٣", None),  # other scripts' digits are not accepted
    ("9" * 19, None),
]


@pytest.mark.parametrize(("text", "expected"), CHINESE_INT_CASES)
def test_chinese_int(text: str, expected: int | None) -> None:
    assert chinese_int(text) == expected


def test_chinese_int_roundtrip_exhaustive() -> None:
    for n in range(100000):
        assert chinese_int(ref_chinese(n)) == n, n


@given(st.integers(0, 99999))
def test_chinese_int_roundtrip_property(n: int) -> None:
    assert chinese_int(ref_chinese(n)) == n
    assert chinese_int(str(n)) == n
    full_width = "".join(chr(ord(c) - ord("0") + ord("０")) for c in str(n))
    assert chinese_int(full_width) == n


@given(st.text(max_size=40))
def test_chinese_int_never_raises(text: str) -> None:
    result = chinese_int(text)
    assert result is None or (isinstance(result, int) and result >= 0)


# ---------------------------------------------------------------- parse_count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("十二", 12),
        ("12人", 12),
        ("３个", 3),
        ("五名", 5),
        ("  20 人 ", 20),
        ("20。", 20),
        ("0", 0),
        ("", None),
        ("-1", None),
        ("1.5", None),
        ("十二三", None),
        ("12 人 5", None),
        ("abc", None),
    ],
)
def test_parse_count(text: str, expected: int | None) -> None:
    assert parse_count(text) == expected


@given(st.text(max_size=40))
def test_parse_count_never_raises(text: str) -> None:
    result = parse_count(text)
    assert result is None or (isinstance(result, int) and result >= 0)


@given(st.integers(0, 99999), st.sampled_from(["", "人", "个"]))
def test_parse_count_roundtrip(n: int, suffix: str) -> None:
    assert parse_count(f"{n}{suffix}") == n
    assert parse_count(f"{ref_chinese(n)}{suffix}") == n


# ---------------------------------------------------------------- participants


def P(c: int, m: int, v: int) -> Participants:
    return Participants(cadres=c, members=m, villagers=v)


PARTICIPANT_CASES = [
    ("干部3 党员5 群众20", P(3, 5, 20)),
    ("干部3人 党员5人 群众二十人", P(3, 5, 20)),
    ("3 5 20", P(3, 5, 20)),
    ("3，5，20", P(3, 5, 20)),
    ("3,5,20", P(3, 5, 20)),
    ("3、5、20", P(3, 5, 20)),
    ("3人 5人 20人", P(3, 5, 20)),
    ("三 五 二十", P(3, 5, 20)),
    ("干部三 党员五 村民二十", P(3, 5, 20)),
    ("群众20 干部3 党员5", P(3, 5, 20)),  # any order
    ("党员五人，干部三人", P(3, 5, 0)),  # missing labelled group = 0
    ("党员12", P(0, 12, 0)),
    ("干部：3 党员：5", P(3, 5, 0)),
    ("干部=3,党员=5,群众=20", P(3, 5, 20)),
    ("３名干部 ５名党员 ２０名群众", P(3, 5, 20)),  # number first
    ("参会干部3人，党员5人，群众20人。", P(3, 5, 20)),
    ("村干部3 党员5 村民20", P(3, 5, 20)),
    ("干部0 党员0 群众0", P(0, 0, 0)),
    ("干部10000 党员0 群众0", P(10000, 0, 0)),
    ("干部一百零五", P(105, 0, 0)),
    # refusals
    ("", "empty"),
    ("  。 ", "empty"),
    ("3 5", "not_understood"),  # two bare numbers are ambiguous
    ("20", "not_understood"),
    ("3 5 20 7", "not_understood"),
    ("干部3 5 20", "not_understood"),  # labelled and bare mixed
    ("干部3 5名党员", "not_understood"),  # mixed orientation
    ("干部3 干部5", "not_understood"),  # label twice
    ("群众3 村民4", "not_understood"),  # 村民 is 群众
    ("干部3.5", "not_understood"),
    ("干部 党员 群众", "not_understood"),
    ("很多人", "not_understood"),
    ("干部3 老师5", "not_understood"),
    ("干部-3 党员5", "negative"),
    ("-3 5 20", "negative"),
    ("3-5-20", "not_understood"),
    ("干部10001", "too_large"),
    ("3 5 20000", "too_large"),
    ("干部两万", "too_large"),
]


@pytest.mark.parametrize(("text", "expected"), PARTICIPANT_CASES)
def test_parse_participants(text: str, expected: Participants | str) -> None:
    assert parse_participants(text) == expected


def test_format_participants() -> None:
    assert format_participants(P(3, 5, 20)) == "干部3 党员5 群众20"
    assert P(3, 5, 20).total == 28


COUNTS = st.integers(0, MAX_PARTICIPANTS)


@given(st.builds(Participants, cadres=COUNTS, members=COUNTS, villagers=COUNTS))
def test_participants_roundtrip(p: Participants) -> None:
    assert parse_participants(format_participants(p)) == p


@given(st.text(max_size=60))
def test_parse_participants_never_raises(text: str) -> None:
    result = parse_participants(text)
    assert isinstance(result, (Participants, str))
    if isinstance(result, Participants):
        for v in (result.cadres, result.members, result.villagers):
            assert isinstance(v, int) and 0 <= v <= MAX_PARTICIPANTS
    else:
        assert result in ("empty", "not_understood", "negative", "too_large")


@settings(max_examples=300)
@given(st.text(alphabet="干部党员群众村民0123456789三五十二百 ,，、:-人名", max_size=30))
def test_parse_participants_never_raises_on_near_misses(text: str) -> None:
    assert isinstance(parse_participants(text), (Participants, str))


# ---------------------------------------------------------------- amounts

AMOUNT_CASES = [
    ("清运垃圾5车 拆除残墙2处 整治坑塘1个", Amounts(garbage_trucks=5, walls=2, ponds=1)),
    ("垃圾3吨", Amounts(garbage_tons=3)),
    ("清运垃圾2.5吨", Amounts(garbage_tons=2.5)),
    ("绿化200平方米", Amounts(area_m2=200)),
    ("200平米", Amounts(area_m2=200)),
    ("200㎡", Amounts(area_m2=200)),
    ("200m²", Amounts(area_m2=200)),
    ("200 m2", Amounts(area_m2=200)),
    ("硬化地面150.5平方", Amounts(area_m2=150.5)),
    ("拆除残垣断壁三处", Amounts(walls=3)),
    ("坑塘2个", Amounts(ponds=2)),
    ("2处残墙", Amounts(walls=2)),  # keyword after the number
    ("危墙两堵", Amounts(walls=2)),
    ("填平废弃坑塘1处，清理垃圾十车", Amounts(garbage_trucks=10, ponds=1)),
    ("清运垃圾5车3吨", Amounts(garbage_trucks=5, garbage_tons=3)),
    ("清运垃圾５车，拆除残墙２处。", Amounts(garbage_trucks=5, walls=2)),
    ("垃圾0车", Amounts(garbage_trucks=0)),
    ("垃圾1.234吨", Amounts(garbage_tons=1.23)),  # rounded to 0.01
    ("残墙3", Amounts(walls=3)),  # keyword, no unit
    # refusals
    ("", "empty"),
    ("5", "not_understood"),
    ("清运垃圾", "not_understood"),
    ("清运垃圾5", "not_understood"),  # trucks or tons?
    ("整治5处", "not_understood"),  # walls or ponds?
    ("拆除残墙填平坑塘2处", "not_understood"),  # both keywords
    ("残墙1.5处", "not_understood"),
    ("垃圾5车 垃圾3车", "not_understood"),  # same field twice
    ("3 tons", "not_understood"),
    ("垃圾-5车", "negative"),
    ("垃圾1001车", "too_large"),
    ("垃圾10001吨", "too_large"),
    ("2000000平方米", "too_large"),
    ("残墙1001处", "too_large"),
]


@pytest.mark.parametrize(("text", "expected"), AMOUNT_CASES)
def test_parse_amounts(text: str, expected: Amounts | str) -> None:
    assert parse_amounts(text) == expected


def test_format_amounts() -> None:
    a = Amounts(garbage_trucks=5.0, garbage_tons=2.5, area_m2=200.0, walls=2, ponds=1)
    assert (
        format_amounts(a) == "清运垃圾5车 清运垃圾2.5吨 整治面积200平方米 拆除残墙2处 整治坑塘1个"
    )
    assert format_amounts(Amounts(walls=2)) == "拆除残墙2处"
    assert format_amounts(Amounts()) == ""
    assert Amounts().is_empty()
    assert parse_amounts(format_amounts(a)) == a


def _cents(limit: float) -> st.SearchStrategy[float | None]:
    return st.none() | st.integers(0, int(limit * 100)).map(lambda c: c / 100)


def _count(limit: float) -> st.SearchStrategy[int | None]:
    return st.none() | st.integers(0, int(limit))


AMOUNTS = st.builds(
    Amounts,
    garbage_trucks=_cents(AMOUNT_LIMITS["garbage_trucks"]),
    garbage_tons=_cents(AMOUNT_LIMITS["garbage_tons"]),
    area_m2=_cents(AMOUNT_LIMITS["area_m2"]),
    walls=_count(AMOUNT_LIMITS["walls"]),
    ponds=_count(AMOUNT_LIMITS["ponds"]),
).filter(lambda a: not a.is_empty())


@settings(max_examples=300)
@given(AMOUNTS)
def test_amounts_roundtrip(a: Amounts) -> None:
    assert parse_amounts(format_amounts(a)) == a


@given(st.text(max_size=60))
def test_parse_amounts_never_raises(text: str) -> None:
    result = parse_amounts(text)
    assert isinstance(result, (Amounts, str))
    if isinstance(result, str):
        assert result in ("empty", "not_understood", "negative", "too_large")
    else:
        assert not result.is_empty()


@settings(max_examples=300)
@given(st.text(alphabet="垃圾车吨平方米㎡残墙处坑塘个0123456789.三十百万 ,-", max_size=30))
def test_parse_amounts_never_raises_on_near_misses(text: str) -> None:
    assert isinstance(parse_amounts(text), (Amounts, str))


# ---------------------------------------------------------------- as villages write them


def PA(c: int, m: int, v: int, **approx: str) -> Participants:
    return Participants(c, m, v, approx=tuple((g, approx[g]) for g in ("cadres", "members", "villagers") if g in approx))


VILLAGE_PARTICIPANTS = [
    ("干部3个,党员6名,群众二十多人", PA(3, 6, 20, villagers="more")),
    ("群众20余人", PA(0, 0, 20, villagers="more")),
    ("干部3人 党员十来个 群众五十人左右", PA(3, 10, 50, members="about", villagers="about")),
    ("约30名群众", PA(0, 0, 30, villagers="about")),
    ("两委干部5人,党员二十几人,村民100多人", PA(5, 20, 100, members="more", villagers="more")),
    ("3 5 二十多", PA(3, 5, 20, villagers="more")),
    ("干部3 党员5 群众20", P(3, 5, 20)),  # exact stays exact
]


@pytest.mark.parametrize(("text", "expected"), VILLAGE_PARTICIPANTS)
def test_participants_as_villages_write_them(text: str, expected: Participants) -> None:
    assert parse_participants(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", (12, None)), ("十来个", (10, "about")), ("二十多人", (20, "more")), ("20余人", (20, "more")),
     ("约15人", (15, "about")), ("很多", None), ("-3", None)],
)
def test_parse_count_approx(text: str, expected) -> None:
    assert parse_count_approx(text) == expected


FORMS = st.sampled_from([None, "more", "about"])


@settings(max_examples=200)
@given(COUNTS, COUNTS, COUNTS, FORMS, FORMS, FORMS)
def test_approximate_participants_roundtrip(c: int, m: int, v: int, fc, fm, fv) -> None:
    approx = tuple((g, f) for g, f in (("cadres", fc), ("members", fm), ("villagers", fv)) if f)
    p = Participants(c, m, v, approx=approx)
    assert parse_participants(format_participants(p)) == p


CATEGORY_AMOUNTS = [
    # (category codes, text, expected)
    (("green",), "栽植行道树120棵,安装太阳能路灯15盏", Amounts(trees=120, lights=15)),
    (("green",), "种树200株 路灯10个", Amounts(trees=200, lights=10)),
    (("walls",), "拆除5处", Amounts(walls=5)),  # the category names the counter
    (("walls",), "拆除残墙3处 共60米", Amounts(walls=3, length_m=60)),
    (("ponds",), "整治2个 清淤30方 疏通沟渠200米", Amounts(ponds=2, volume_m3=30, length_m=200)),
    (("idle",), "整治废弃地3亩", Amounts(area_mu=3)),
    (("garbage",), "拉了5车", Amounts(garbage_trucks=5)),
    ((), "整治5处", "not_understood"),  # without a category: walls or ponds?
    (("walls", "ponds"), "整治5处", "not_understood"),
]


@pytest.mark.parametrize(("categories", "text", "expected"), CATEGORY_AMOUNTS)
def test_amounts_in_each_categorys_units(categories, text: str, expected) -> None:
    assert parse_amounts(text, categories) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("清运垃圾5车,拆了几间破房子", Amounts(garbage_trucks=5, text="拆了几间破房子")),
        ("整治5处", Amounts(text="整治5处")),
        ("干了一上午", Amounts(text="干了一上午")),
        ("垃圾5车 垃圾3车", Amounts(garbage_trucks=5, text="垃圾3车")),
        ("清运垃圾5车", Amounts(garbage_trucks=5)),
        ("垃圾-5车", "negative"),
        ("", "empty"),
        ("好" * 250, "too_long"),
    ],
)
def test_read_amounts_keeps_what_it_cannot_read(text: str, expected) -> None:
    assert read_amounts(text) == expected


@given(st.text(max_size=80), st.lists(st.sampled_from(["walls", "ponds", "green", "garbage"]), max_size=2))
def test_read_amounts_is_never_a_dead_end(text: str, categories: list[str]) -> None:
    result = read_amounts(text, categories)
    if isinstance(result, str):
        assert result in ("empty", "negative", "too_large", "too_long")
    else:
        assert not result.is_empty()
        if result.text is not None:  # what is kept is words of the message, as typed
            typed = unicodedata.normalize("NFKC", text)
            for word in result.text.split(" "):
                assert word in typed


NEW_FIELDS = st.builds(
    Amounts,
    trees=_count(AMOUNT_LIMITS["trees"]),
    lights=_count(AMOUNT_LIMITS["lights"]),
    length_m=_cents(AMOUNT_LIMITS["length_m"]),
    area_mu=_cents(AMOUNT_LIMITS["area_mu"]),
    volume_m3=_cents(AMOUNT_LIMITS["volume_m3"]),
    walls=_count(AMOUNT_LIMITS["walls"]),
).filter(lambda a: not a.is_empty())


@settings(max_examples=200)
@given(NEW_FIELDS)
def test_new_amounts_roundtrip(a: Amounts) -> None:
    assert parse_amounts(format_amounts(a)) == a


def test_the_amount_columns_are_the_report_fields_of_the_amounts() -> None:
    """One AMOUNT_FIELDS: its first five are exactly the amount columns of a report."""
    from dataclasses import fields

    from bot.rules.numbers import AMOUNT_COLUMNS, AMOUNT_FIELDS, Amounts
    from storage.reports import ReportFields

    report = {f.name for f in fields(ReportFields)}
    assert [f for f in AMOUNT_FIELDS if f in report] == list(AMOUNT_COLUMNS)
    assert {f.name for f in fields(Amounts)} - {"text"} == set(AMOUNT_FIELDS)
