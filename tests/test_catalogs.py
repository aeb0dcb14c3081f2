"""The message catalogs: every key used in code exists with a non-empty translation in every
language, both languages define the same keys with the same placeholders."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.i18n import Catalogs
from bot.settings import SUPPORTED_LOCALES
from handlers import modules
from handlers.auth import COMMANDS
from storage.org import ROLES

ROOT = Path(__file__).resolve().parent.parent
KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
CATALOGS = Catalogs()


def placeholders(text: str | tuple[str, ...]) -> set[str]:
    texts = text if isinstance(text, tuple) else (text,)
    return {name for t in texts for _, name, _, _ in string.Formatter().parse(t) if name}


def keys_in_code() -> set[str]:
    """String literals in the code that look like catalog keys of a known domain prefix."""
    prefixes = {key.split(".")[0] for key in CATALOGS.keys("zh_CN")}
    found = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if KEY.match(node.value) and node.value.split(".")[0] in prefixes:
                        found.add(node.value)
    return found


@pytest.mark.parametrize("lang", SUPPORTED_LOCALES)
def test_every_key_used_in_code_is_translated(lang: str) -> None:
    modules()  # import every feature so that COMMANDS is complete
    used = keys_in_code() | {f"role.{r}" for r in ROLES} | {c.help_key for c in COMMANDS.values()}
    messages = CATALOGS.keys(lang)
    missing = sorted(k for k in used if k not in messages)
    empty = sorted(k for k in used if k in messages and not messages[k])
    assert not missing, f"missing in {lang}: {missing}"
    assert not empty, f"empty in {lang}: {empty}"


def fstring_prefixes() -> dict[str, list[str]]:
    """Keys built with f-strings (``t(f"hh.bad.{field}")``): the literal text before the first
    placeholder, when it starts like a key of a known domain, with where each is built."""
    prefixes = {key.split(".")[0] for key in CATALOGS.keys("zh_CN")}
    found: dict[str, list[str]] = {}
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.JoinedStr) or not node.values:
                    continue
                head = node.values[0]
                if isinstance(head, ast.Constant) and isinstance(head.value, str) and "." in head.value:
                    if re.match(r"^[a-z][a-z0-9_]*\.[a-z0-9_.]*$", head.value) and head.value.split(".")[0] in prefixes:
                        found.setdefault(head.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


# -- the values spread over the code (error codes, statuses), read from the code itself -----------
def trees(*folders: str) -> list[tuple[Path, ast.AST]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for folder in folders for path in (ROOT / folder).rglob("*.py")]


def strings_of(node: ast.AST | None) -> set[str]:
    """The string constants an expression may be: "a", or "a" if x else "b"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return strings_of(node.body) | strings_of(node.orelse)
    return set()


def callee(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def passed(name: str, position: int, *folders: str) -> tuple[str, ...]:
    """Every string constant passed as argument ``position`` of a call to ``name``."""
    found: set[str] = set()
    for _, tree in trees(*folders):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and callee(node) == name and len(node.args) > position:
                found |= strings_of(node.args[position])
    return tuple(sorted(found))


def function(path: str, name: str) -> ast.AST:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name)


def returned(path: str, name: str) -> tuple[str, ...]:
    """The string constants the function ``name`` returns (its reasons)."""
    nodes = ast.walk(function(path, name))
    return tuple(sorted(set().union(*(strings_of(n.value) for n in nodes if isinstance(n, ast.Return)))))


def appended(path: str, name: str) -> tuple[str, ...]:
    """The string constants the function ``name`` appends to a list (its codes)."""
    calls = [n for n in ast.walk(function(path, name)) if isinstance(n, ast.Call) and callee(n) == "append"]
    return tuple(sorted(set().union(*(strings_of(c.args[0]) for c in calls if c.args))))


def ledger_columns() -> tuple[str, ...]:
    """The keys of the ledger's columns: the first item of each (key, kind) given to _cols."""
    calls = [n for _, tree in trees("bot") for n in ast.walk(tree) if isinstance(n, ast.Call) and callee(n) == "_cols"]
    return tuple(sorted({a.elts[0].value for c in calls for a in c.args if isinstance(a, ast.Tuple)}))  # type: ignore[attr-defined]


def families() -> dict[str, tuple[str, ...] | None]:
    """Every family of keys built from a prefix, with every value the code may put after it:
    from the code's own constants, or read from the code (the codes its errors are raised
    with, the reasons a function returns...), so that a new value without its key fails."""
    from bot.rules import bulletin, reach, reports, stars
    from bot.rules.holidays import CODES as HOLIDAYS
    from bot.rules.numbers import APPROX_FORMS
    from bot.services.bulletin_docx import COLUMNS as DOCX_COLUMNS
    from handlers.households.edit import LIMITS
    from handlers.org.invites import SHEET_COLUMNS
    from handlers.org.people import FILTERS
    from handlers.oversight.review import REASONS
    from handlers.reports.admin import REVIEW_STATES, VOID_KEYS
    from handlers.reports.form import QUICK_LABELS
    from handlers.reports.from_text import NOTES_SHOWN, VISIT_NOTES
    from handlers.reports.render import AMOUNT_FIELDS
    from handlers.schedule.occurrence import HELD
    from handlers.schedule.reason import QUICK as WHY_QUICK
    from handlers.schedule.steps import KIND_CHOICES, NTHS
    from handlers.visits.ask import STEPS as VISIT_STEPS
    from handlers.visits.branch import REASONS as BRANCH_REASONS
    from storage.chats import KINDS as CHAT_KINDS
    from storage.events import AUDIENCES
    from storage.oversight import ACTIONS, ITEM_KINDS
    from storage.visits import OUTCOMES, ROLE_CODES

    every = ("", "_every")
    return {
        "holiday.": tuple(HOLIDAYS.values()),
        "sched.occ.held.": HELD,
        "sched.why.quick.": WHY_QUICK,
        "bind.kind.": tuple(CHAT_KINDS),
        "bulletin.praise.": tuple(bulletin.PRAISES),
        "bulletin.docx.col.": (*DOCX_COLUMNS, "stars"),
        "cmd.": tuple(c.name for c in COMMANDS.values()),
        "export.bad.": returned("handlers/oversight/export.py", "parse_period"),
        "hh.bad.": (*LIMITS, "phone"),
        "join.": ("revoked", "used", "bad_pick"),
        "ledger.col.": ledger_columns(),
        "ledger.review.": (*ACTIONS, "voided"),
        "ledger.task.": ("on_time", "late", "overdue", "open"),
        "orgcli.admin.": passed("AdminAdded", 0, "storage"),
        "people.filter.": tuple(FILTERS),
        "report.amount.": tuple(AMOUNT_FIELDS),
        "report.btn.": tuple(QUICK_LABELS.values()),
        "report.cat.": tuple(reports.CATEGORIES),
        "report.field.": tuple(reports.EDITABLE),
        "report.phase.": tuple(reports.PHASES),
        "reports.state.": (*REVIEW_STATES.values(), *reports.REVIEW_STATES),
        "reports.void_reason.": tuple(VOID_KEYS.values()),
        "stars.area.": stars.AREAS,
        "stars.basis.": stars.BASES,
        "report.count.": ("exact", *APPROX_FORMS),
        "report.amounts_example.": tuple(reports.CATEGORY_AMOUNTS),
        "report.offer.note.": tuple(NOTES_SHOWN),
        "visit.offer.note.": tuple(VISIT_NOTES),
        "reach.audience.": tuple(reach.AUDIENCES),
        "reach.why.": tuple(reach.REASONS),
        "review.list.": tuple(f"{kind}.{state}" for kind in ITEM_KINDS for state in ("pending", "returned")),
        "review.reason.": tuple(str(n) for n in range(1, REASONS + 1)),
        "branch.reason.": tuple(str(n) for n in range(1, BRANCH_REASONS + 1)),
        "invite.sheet.col.": SHEET_COLUMNS,
        "role.": tuple(ROLES),
        "roster.err.": passed("RowError", 1, "bot", "storage"),
        "roster.file.": passed("RosterFileError", 0, "bot", "storage"),
        "sched.audience.": tuple(AUDIENCES),
        "sched.kind.": tuple(code for code, _, _ in KIND_CHOICES),
        "sched.nth.": NTHS,
        "sched.rule.day": every,
        "sched.rule.last_day": every,
        "sched.rule.weekly": every,
        "stars.level.": ("1", "2", "3", "4", "5"),
        "stars.problem.": appended("bot/rules/bulletin.py", "pair_problems"),
        "visit.outcome.": tuple(OUTCOMES),
        "visit.refused.": passed("VisitRefused", 0, "storage"),
        "visit.role.": tuple(ROLE_CODES),
        "visit.step.": tuple(VISIT_STEPS),
        "visit.wrong.": tuple(VISIT_STEPS),
    }


def test_every_family_knows_its_values() -> None:
    """Each family names the values it is built with (none is left to "some key of the prefix")."""
    modules()
    assert {p: v for p, v in families().items() if not v} == {}
    assert {"work_date", "village"} <= set(ledger_columns())  # the scan finds the ledger's columns
    assert "not_a_period" in families()["export.bad."] and "bad_phone" in families()["roster.err."]


def suffixed() -> dict[str, list[str]]:
    """Keys built as f"{key}<suffix>" (hh.member_few): the literal suffix, with where."""
    found: dict[str, list[str]] = {}
    for path, tree in trees("bot", "handlers"):
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and len(node.values) == 2 and isinstance(node.values[0], ast.FormattedValue):
                tail = node.values[1]
                if isinstance(tail, ast.Constant) and re.fullmatch(r"_[a-z0-9_]+", str(tail.value)):
                    found.setdefault(tail.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def suffix_families() -> dict[str, tuple[str, ...]]:
    """For each suffix, the keys it is put after (member_line's keys: hh.member_few...)."""
    member_keys = passed("member_line", 1, "handlers")
    return {"_few": member_keys, "_many": member_keys}


def test_keys_built_with_a_suffix_are_declared_and_translated() -> None:
    modules()
    assert {s: w for s, w in suffixed().items() if s not in suffix_families()} == {}
    assert "hh.overview.member" in suffix_families()["_few"]
    for lang in SUPPORTED_LOCALES:
        messages = CATALOGS.keys(lang)
        missing = [key + suffix for suffix, keys in suffix_families().items() for key in keys if not messages.get(key + suffix)]
        assert missing == [], lang


def test_keys_built_from_a_prefix_are_declared() -> None:
    """A new f-string key family fails until its values are declared in families()."""
    modules()
    declared = families()  # built once: it reads the code
    undeclared = {p: where for p, where in fstring_prefixes().items() if p not in declared}
    assert undeclared == {}


def missing_from(messages: dict, declared: dict[str, tuple[str, ...] | None]) -> list[str]:
    missing = []
    for prefix, values in declared.items():
        if values is None:
            if not any(key.startswith(prefix) for key in messages):
                missing.append(prefix + "*")
            continue
        missing += [prefix + str(v) for v in values if not messages.get(prefix + str(v))]
    return missing


@pytest.mark.parametrize("lang", SUPPORTED_LOCALES)
def test_keys_built_from_a_prefix_are_translated(lang: str) -> None:
    modules()
    assert missing_from(CATALOGS.keys(lang), families()) == []


def test_the_prefix_checks_can_fail() -> None:
    assert "hh.bad." in fstring_prefixes()  # clean() builds hh.bad.<field>
    assert missing_from(CATALOGS.keys("zh_CN"), {"hh.bad.": ("head", "nope"), "nokey.": None}) == [
        "hh.bad.nope", "nokey.*"]


def test_languages_define_the_same_keys_and_placeholders() -> None:
    zh, en = CATALOGS.keys("zh_CN"), CATALOGS.keys("en")
    assert sorted(set(zh) ^ set(en)) == []
    mismatched = [k for k in zh if placeholders(zh[k]) != placeholders(en[k])]
    assert mismatched == []
    assert [k for k in zh if not zh[k] or not en[k]] == []


def test_scanner_would_notice_a_missing_key(tmp_path: Path) -> None:
    """The check above can fail: a key of a known prefix that is not in the catalog."""
    assert "error.not_in_any_catalog" not in CATALOGS.keys("zh_CN")
    assert KEY.match("error.not_in_any_catalog")


def test_translator_formats_and_falls_back() -> None:
    zh, en = CATALOGS.get("zh_CN"), CATALOGS.get("en")
    assert zh("auth.needs_role", command="report", roles="党员") == "/report 仅限党员使用。"
    assert en("auth.needs_role", command="report", roles="party member") == "/report is only for: party member."
    assert CATALOGS.get("en-US").lang == "en" and CATALOGS.get("zh-hans").lang == "zh_CN"
    assert CATALOGS.get(None).lang == "zh_CN"
