"""One parser for ids from payloads and deep links (bot.rules.ids), and a sweep that feeds
huge, negative, non-digit and empty ids to every callback pattern the Application registers:
no press may reach the error handler."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot.forms.ptb import FormsHandler
from bot.rules.ids import MAX_ID, id_or_zero, parse_id, parse_ids, parse_numbers, parse_page
from bot.simulator import Simulator
from tests.conftest import (
    DISTRICT_ADMIN,
    MEMBER,
    SECRETARY,
    STRANGER,
    TOWNSHIP_ADMIN,
    Org,
    make_settings,
    start_sim,
)

ROOT = Path(__file__).resolve().parent.parent
# Flows fed bad ids whose errors are not asserted: none left, every flow parses its ids with
# bot.rules.ids.
LEFT_ALONE: set[str] = set()
MEMBER_FLOWS = {"visit", "followup", "hh", "join", "rsvp", "myreports", "lang"}
BAD_IDS = [
    "99999999999999999999",
    str(MAX_ID + 1),
    "-1",
    "-99999999999999999999",
    "0",
    "",
    "abc",
    "²",
    "１２",
    "1.99999999999999999999",
    "99999999999999999999.1",
]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", 1),
        ("42", 42),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("99999999999999999999", None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        ("", None),
        (" 1", None),
        ("1 ", None),
        ("²", None),
        ("١٢", None),
        ("１２", None),
        ("1e3", None),
        ("0x10", None),
        (None, None),
        (12, None),
    ],
)
def test_parse_id(text, expected) -> None:
    assert parse_id(text) == expected
    assert id_or_zero(text) == (expected or 0)


def test_pages_and_lists() -> None:
    assert parse_page("0") == 0 and parse_page("3") == 3 and parse_page("x") == 0 and parse_page("-1", 7) == 7
    assert parse_page("99999999999999999999") == 0
    assert parse_ids("7.12") == [7, 12] and parse_ids("7.") is None and parse_ids("7.0") is None
    assert parse_numbers("7.0") == [7, 0] and parse_numbers("7.x") is None


def walk(handlers):
    for handler in handlers:
        if isinstance(handler, ConversationHandler | FormsHandler):
            yield from walk(handler.entry_points)
            for state in handler.states.values():
                yield from walk(state)
            yield from walk(handler.fallbacks)
        elif isinstance(handler, CallbackQueryHandler):
            yield handler


def actions_in_source() -> dict[str, set[str]]:
    """Every ``cb("flow", "action"`` written in the code, so a pattern like ``^ppl:`` is fed
    with each of its real actions."""
    found: dict[str, set[str]] = {}
    for folder in ("handlers", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            for flow, action in re.findall(r'cb\(\s*"(\w+)",\s*"(\w+)"', source):
                found.setdefault(flow, set()).add(action)
            own = re.search(r'^FLOW = "(\w+)"', source, re.M)
            if own:
                for action in re.findall(r'cb\(\s*FLOW,\s*"(\w+)"', source):
                    found.setdefault(own[1], set()).add(action)
    return found


def prefixes(pattern: str, actions: dict[str, set[str]]) -> set[str]:
    """Payload prefixes (``flow:action:``) a pattern accepts, expanded from its alternations."""
    text = pattern.lstrip("^")
    text = text.replace("(:|$)", ":")
    parts: list[list[str]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            end = text.index(")", i)
            parts.append(text[i + 1 : end].split("|"))
            i = end + 1
        elif ch == "[":
            end = text.index("]", i)
            parts.append(list(text[i + 1 : end]))
            i = end + 1
        elif ch == "." or ch == "\\" or ch == "$":
            if ch == ".":
                parts.append(["t"])
                i += 1
                continue
            break
        else:
            parts.append([ch])
            i += 1
    out = {"".join(p) for p in itertools.product(*parts)}
    full = set()
    for prefix in out:
        flow, _, rest = prefix.partition(":")
        if rest == "" and prefix.endswith(":"):
            full |= {f"{flow}:{a}:" for a in actions.get(flow, set())} | {prefix}
        elif prefix.count(":") == 1 and not prefix.endswith(":"):
            full.add(prefix + ":")
        else:
            full.add(prefix)
    return full


async def test_every_callback_pattern_survives_bad_ids(tmp_path: Path) -> None:
    errors: list[tuple[str, BaseException]] = []
    current: list[str] = [""]

    async def record(update, context) -> None:
        errors.append((current[0], context.error))

    def hook(app) -> None:
        app.add_error_handler(record)

    sim: Simulator = await start_sim(make_settings(tmp_path / "ids.db"), before_start=hook)
    try:
        org = await _org(sim)
        patterns = {
            h.pattern.pattern
            for group in sim.app.handlers.values()
            for h in walk(group)
            if h.pattern is not None and hasattr(h.pattern, "pattern")
        }
        actions = actions_in_source()
        payloads = sorted(
            {p + arg for pattern in patterns for p in prefixes(pattern, actions) for arg in BAD_IDS}
        )
        payloads = [p for p in payloads if len(p.encode()) <= 64]
        assert len(payloads) > 1000, len(payloads)
        fed = 0
        for payload in payloads:
            flow = payload.split(":")[0]
            for user in (DISTRICT_ADMIN, SECRETARY, MEMBER) if flow in MEMBER_FLOWS else (DISTRICT_ADMIN, SECRETARY):
                current[0] = f"{payload} by {user}"
                await sim.click(payload, user)
                fed += 1
        for user in (TOWNSHIP_ADMIN, STRANGER):
            for payload in ("myreports:view:99999999999999999999", "join:pick:ABCD2345.99999999999999999999"):
                current[0] = f"{payload} by {user}"
                await sim.click(payload, user)
        for payload in ("rpt_99999999999999999999", "fu_0", "vst_99999999999999999999", "tsk_99999999999999999999"):
            current[0] = f"/start {payload}"
            await sim.send(f"/start {payload}", DISTRICT_ADMIN)
        assert org is not None
    finally:
        await sim.stop()
    mine = [(where, repr(error)) for where, error in errors if where.split(":")[0] not in LEFT_ALONE]
    assert mine == [], mine[:10]


async def test_a_huge_report_id_gets_the_polite_answer(sim: Simulator, org: Org) -> None:
    calls = await sim.click("myreports:view:99999999999999999999", SECRETARY)
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers and answers[0].params.get("text")
    assert not any("抱歉" in c.text for c in calls if c.method == "sendMessage")


async def _org(sim: Simulator) -> Org:
    repo = sim.app.services.repos.org
    district = await repo.add_unit("示例区", "district")
    township = await repo.add_unit("东风镇", "township", district.id)
    village = await repo.add_unit("红旗村", "village", township.id, stars=3)
    other = await repo.add_unit("向阳村", "village", township.id, stars=2)
    return Org(
        district, township, village, other,
        await repo.add_person("赵区长", "district_admin", district.id, telegram_id=DISTRICT_ADMIN),
        await repo.add_person("钱镇长", "township_admin", township.id, telegram_id=TOWNSHIP_ADMIN),
        await repo.add_person("孙书记", "secretary", village.id, telegram_id=SECRETARY),
        await repo.add_person("李党员", "member", village.id, telegram_id=MEMBER, phone="13800000001"),
        await repo.add_person("周党员", "member", other.id, telegram_id=105),
    )
