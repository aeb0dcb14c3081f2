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


def families() -> dict[str, tuple[str, ...] | None]:
    """Every family of keys built from a prefix, with the values the code may put after it
    (taken from the code's own constants where there are some). ``None``: the values are spread
    over the code (error codes, statuses); then at least the prefix must name keys."""
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
    from storage.oversight import ACTIONS
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
        "export.bad.": None,
        "hh.bad.": (*LIMITS, "phone"),
        "join.": ("revoked", "used", "bad_pick"),
        "ledger.col.": None,
        "ledger.review.": (*ACTIONS, "voided"),
        "ledger.task.": ("on_time", "late", "overdue", "open"),
        "orgcli.admin.": None,
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
        "review.list.": None,
        "review.reason.": tuple(str(n) for n in range(1, REASONS + 1)),
        "branch.reason.": tuple(str(n) for n in range(1, BRANCH_REASONS + 1)),
        "invite.sheet.col.": SHEET_COLUMNS,
        "role.": tuple(ROLES),
        "roster.err.": None,
        "roster.file.": None,
        "sched.audience.": tuple(AUDIENCES),
        "sched.kind.": tuple(code for code, _, _ in KIND_CHOICES),
        "sched.nth.": NTHS,
        "sched.rule.day": every,
        "sched.rule.last_day": every,
        "sched.rule.weekly": every,
        "stars.level.": ("1", "2", "3", "4", "5"),
        "stars.problem.": None,
        "visit.outcome.": tuple(OUTCOMES),
        "visit.refused.": None,
        "visit.role.": tuple(ROLE_CODES),
        "visit.step.": tuple(VISIT_STEPS),
        "visit.wrong.": tuple(VISIT_STEPS),
    }


def test_keys_built_from_a_prefix_are_declared() -> None:
    """A new f-string key family fails until its values are declared in families()."""
    modules()
    undeclared = {p: where for p, where in fstring_prefixes().items() if p not in families()}
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
