"""Keys this feature builds at run time (error codes, kinds, statuses) exist in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.i18n import Catalogs
from bot.settings import SUPPORTED_LOCALES
from handlers.org.people import FILTERS
from storage.chats import KINDS

ROOT = Path(__file__).resolve().parents[3]
CATALOGS = Catalogs()


def codes(pattern: str, *files: str) -> set[str]:
    found: set[str] = set()
    for name in files:
        found |= set(re.findall(pattern, (ROOT / name).read_text(encoding="utf-8")))
    return found


ROW_ERRORS = codes(r'RowError\([^)]*?"([a-z_]+)"', "bot/rules/roster.py", "storage/roster.py")
FILE_ERRORS = codes(
    r'RosterFileError\("([a-z_]+)"', "bot/rules/roster.py", "bot/rules/roster_files.py", "handlers/org/roster.py"
)
ADMIN_STATUSES = codes(r'AdminAdded\("([a-z_]+)"', "storage/org.py") | {"added", "bound", "already", "bound_elsewhere"}
DYNAMIC = (
    {f"roster.err.{c}" for c in ROW_ERRORS}
    | {f"roster.file.{c}" for c in FILE_ERRORS}
    | {f"orgcli.admin.{s}" for s in ADMIN_STATUSES}
    | {f"bind.kind.{k}" for k in KINDS}
    | {f"people.filter.{f}" for f in FILTERS}
    | {f"join.{s}" for s in ("revoked", "used", "bad_pick", "expired", "not_found", "bound_elsewhere")}
)


def test_the_scan_finds_the_codes() -> None:
    assert {"formula", "duplicate_household", "out_of_scope", "unknown_unit"} <= ROW_ERRORS
    assert {"too_large", "encoding", "no_header", "old_xls"} <= FILE_ERRORS


@pytest.mark.parametrize("lang", SUPPORTED_LOCALES)
def test_every_dynamic_key_is_translated(lang: str) -> None:
    messages = CATALOGS.keys(lang)
    assert sorted(k for k in DYNAMIC if not messages.get(k)) == []
