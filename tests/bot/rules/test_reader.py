"""The one-message reader (bot/rules/reader.py): scored on the hand-written messages of
tests/data/reader_cases.json (at least 90% of the stated fields right, and never a field the
message did not state), and on bad input: it never crashes, never returns a household that is
not the sender's, and never takes a later day for the day of the work."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.reader import load, score
from bot.rules.reader import MAX_CHARS, Household, ReaderContext, read, read_report, read_visit

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Tuesday
HOUSEHOLDS = (Household(1, "张建国"), Household(2, "李秀英"), Household(3, "王福贵"))
SECRETARY = ReaderContext(now=NOW, villages=("红旗村",))
MEMBER = ReaderContext(now=NOW, villages=("红旗村",), households=HOUSEHOLDS)


@pytest.fixture(scope="module")
def result():
    cases, contexts = load()
    return score(cases, contexts)


def test_there_are_enough_varied_cases() -> None:
    cases, _ = load()
    assert len(cases) >= 150
    kinds = [c["kind"] for c in cases]
    assert kinds.count("report") >= 80 and kinds.count("visit") >= 50 and kinds.count(None) >= 10


def test_at_least_90_percent_of_the_stated_fields_are_right(result) -> None:
    assert result["fields_right"] >= 0.90, result["wrong"][:20]


def test_it_never_invents_a_field_the_message_did_not_state(result) -> None:
    assert result["invented"] == []
    assert result["not_invented"] == 1.0


def test_every_field_is_scored_on_enough_cases(result) -> None:
    for name in ("date", "categories", "place", "people", "amounts", "household", "roles", "concern",
                 "outcome", "followup"):
        stated, _ = result["per_field"][name]
        assert stated >= 10, name


# -- what a reading carries -------------------------------------------------------------------
def test_each_field_has_the_span_it_came_from() -> None:
    text = "昨天在村东头拆除残墙3处,干部3个,党员6名,群众二十多人参加"
    reading = read(text, SECRETARY)
    assert reading.kind == "report"
    spans = {name: [text[a:b] for a, b in f.spans] for name, f in reading.fields.items()}
    assert spans["date"] == ["昨天"]
    assert spans["place"] == ["村东头"]
    assert spans["categories"] == ["残墙"]
    assert spans["amounts"] == ["3处"]
    assert "群众二十多人" in spans["people"]
    assert reading.fields["people"].value == {
        "cadres": 3, "members": 6, "villagers": 20, "approx": {"villagers": "more"}
    }


def test_a_later_day_is_never_the_day_of_the_work() -> None:
    reading = read_report("明天清理杂草", SECRETARY)
    assert "date" not in reading.fields and "future_date" in reading.notes


def test_two_reports_in_one_message_leave_the_date_and_place_for_the_form() -> None:
    reading = read_report("昨天3组清运垃圾5车;今天5组拆除残墙2处", SECRETARY)
    assert "date" not in reading.fields and "place" not in reading.fields
    assert "several_dates" in reading.notes


def test_a_household_that_is_not_the_members_is_never_guessed() -> None:
    for text in ("今天走访了周大爷家", "今天去吴桂兰家宣传政策", "走访赵桂兰家"):
        reading = read_visit(text, MEMBER)
        assert "household" not in reading.fields, text
    assert "unknown_household" in read_visit("今天走访了周大爷家", MEMBER).notes


def test_households_are_matched_with_kin_words_and_one_wrong_character() -> None:
    for text, expected in [("去张大爷家", 1), ("走访李秀影家", 2), ("王福责家调解纠纷", 3), ("建国家里", 1), ("老王家", 3)]:
        assert read_visit(text, MEMBER).values().get("household") == expected, text


def test_two_households_with_one_surname_are_not_chosen_between() -> None:
    ctx = ReaderContext(now=NOW, households=(Household(1, "张建国"), Household(2, "张红霞")))
    reading = read_visit("今天去张大爷家走访", ctx)
    assert "household" not in reading.fields and "ambiguous_household" in reading.notes


def test_a_visit_with_a_follow_up_and_its_due_date() -> None:
    reading = read("昨天到李秀英家宣传医保政策,她想申请低保,需要跟进,下周三前回复", MEMBER)
    assert reading.kind == "visit"
    assert reading.values() | {} == {
        "date": "2026-11-23", "household": 2, "roles": ["policy"], "concern": "申请低保",
        "outcome": "follow_up", "followup": "2026-12-02",
    }


def test_a_visit_by_someone_without_households_is_not_a_report() -> None:
    reading = read("今天去张大爷家走访,他反映自家门前路灯不亮", SECRETARY)
    assert reading.kind == "visit" and "household" not in reading.fields
    assert "categories" not in reading.fields


def test_a_very_long_text_is_read_up_to_the_limit() -> None:
    text = "今天清运垃圾5车" + "真的辛苦" * 5000
    reading = read_report(text, SECRETARY)
    assert reading.values()["amounts"] == {"garbage_trucks": 5}
    assert "truncated" in reading.notes
    for f in reading.fields.values():
        assert all(b <= MAX_CHARS for _, b in f.spans)


TEXTS = st.text(
    alphabet=st.sampled_from(list("今天昨前明上周五号月日清运垃圾车处个残墙坑塘党员群众干部村民二十多余来约3组东头张建国大爷家走访反映解决跟进,。 🙂\n0123456789"))
    | st.characters(),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_it_never_crashes_and_every_span_is_in_the_text(text: str) -> None:
    for reading in (read(text, MEMBER), read_report(text, SECRETARY), read_visit(text, MEMBER)):
        assert reading.kind in (None, "report", "visit")
        for f in reading.fields.values():
            for a, b in f.spans:
                assert 0 <= a < b <= len(text)


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.lists(st.text(alphabet="张王李赵建国秀英福贵红霞", min_size=2, max_size=3), max_size=4))
def test_the_household_is_always_one_of_the_senders(text: str, heads: list[str]) -> None:
    ctx = ReaderContext(now=NOW, households=tuple(Household(i, h) for i, h in enumerate(heads, 1)))
    household = read_visit(text, ctx).values().get("household")
    assert household is None or household in {h.id for h in ctx.households}


@pytest.mark.parametrize("name", ["HELD_OUT", "BLIND"])
def test_the_messages_written_after_the_reader_score_too(name: str) -> None:
    import bench.reader

    cases, contexts = load(getattr(bench.reader, name))
    result = score(cases, contexts)
    assert len(cases) >= 30
    assert result["fields_right"] >= 0.90, result["wrong"]
    assert result["not_invented"] >= 0.95, result["invented"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("十一月二十日清运垃圾十二车", {"date": "2026-11-20", "amounts": {"garbage_trucks": 12}}),
        ("三天前拆除残墙两处", {"date": "2026-11-21", "amounts": {"walls": 2}}),
        ("昨天 群众二十多人 党员五名", {"people": {"members": 5, "villagers": 20, "approx": {"villagers": "more"}}}),
        ("清运垃圾５车,干部３人", {"amounts": {"garbage_trucks": 5}, "people": {"cadres": 3}}),  # full-width
        ("栽树一百二十棵", {"amounts": {"trees": 120}}),
    ],
)
def test_chinese_numerals_everywhere(text: str, expected: dict) -> None:
    values = read_report(text, SECRETARY).values()
    for name, value in expected.items():
        assert values[name] == value, (text, name)


def test_spans_index_the_text_as_typed() -> None:
    text = "昨天清运垃圾５车"  # a full-width digit is folded without moving the spans
    found = read_report(text, SECRETARY).fields["amounts"]
    assert [text[a:b] for a, b in found.spans] == ["５车"]
