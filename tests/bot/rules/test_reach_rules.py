"""bot.rules.reach and the deadline year check, without the bot: where a unit's pushes go for
an audience, why a unit cannot be reached, and when a typed deadline's year is asked about."""

from __future__ import annotations

from bot.rules import reach as r
from bot.rules.dates import parse_when
from bot.rules.deadlines import example_months, year_to_confirm
from tests.conftest import local as at


def test_each_place_once_and_why_not() -> None:
    facts = r.UnitFacts(1, leaders=(10, 11), groups=(-1,), binders=(10,))
    assert r.unit_reach(1, "红旗村", facts).chats == (-1, 11)  # 10 bound the group: there only
    assert r.unit_reach(1, "红旗村", facts, groups=False).chats == (10, 11)  # people only: both privately
    assert r.unit_reach(2, "向阳村", None).why == r.NOBODY_NO_GROUP
    assert r.unit_reach(2, "向阳村", None, groups=False).why == r.NOBODY_JOINED
    assert r.unit_reach(2, "向阳村", None, people=False).why == r.NO_GROUP
    removed = r.UnitFacts(3, removed=(-3,))
    assert r.unit_reach(3, "青山村", removed).why == r.BOT_REMOVED
    assert r.unit_reach(3, "青山村", removed, groups=False).why == r.NOBODY_JOINED


def test_delivered_by_the_push_log() -> None:
    result = r.reach([(1, "红旗村"), (2, "向阳村"), (3, "白石村")],
                     {1: r.UnitFacts(1, leaders=(10,)), 3: r.UnitFacts(3, groups=(-3,))})
    done, waiting = r.delivered(result, {10})
    assert [u.name for u in done] == ["红旗村"] and [u.name for u in waiting] == ["白石村"]
    assert [u.name for u in result.missed] == ["向阳村"]


def test_rectification_is_people_only_and_hurry_only_near_the_deadline() -> None:
    assert r.default_audience("软弱涣散村党组织整顿提升") == "people"
    assert r.default_audience("整改三清单一台账") == "groups"
    assert r.urgent(7) and not r.urgent(120)
    assert r.announce_to_groups(1) and not r.announce_to_groups(27 * 24)


def test_a_far_deadline_whose_year_was_guessed_is_asked_about() -> None:
    now = at(2026, 12, 1, 9)
    when = parse_when("11月底前", now, want="future")
    assert when.year_inferred and year_to_confirm(when.value, when.year_inferred, now)
    typed = parse_when("2027年11月底前", now, want="future")
    assert not typed.year_inferred and not year_to_confirm(typed.value, typed.year_inferred, now)
    soon = parse_when("1月底", now, want="future")
    assert soon.year_inferred and not year_to_confirm(soon.value, True, now)  # 61 days: no question
    assert not parse_when("下周五", now, want="future").year_inferred
    assert example_months(now) == (12, 1) and example_months(at(2026, 12, 28, 9)) == (1, 2)
