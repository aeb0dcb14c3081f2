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
