"""House rules that code review would otherwise have to catch: Telegram stays at the edge and
all SQL lives in storage/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQL = re.compile(
    r"(SELECT\s.+\sFROM\s|INSERT\s+(OR\s+\w+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s"
    r"|CREATE\s+(TABLE|INDEX|UNIQUE)|ALTER\s+TABLE|PRAGMA\s+\w+)",
    re.S,
)


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def pure_files() -> list[Path]:
    return [*(ROOT / "storage").rglob("*.py"), *(ROOT / "bot" / "rules").rglob("*.py"), ROOT / "bot" / "services" / "charts.py"]


def test_rules_and_storage_never_import_telegram() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in pure_files()
        if any(name == "telegram" or name.startswith("telegram.") for name in imports(p))
    ]
    assert offenders == []


def test_sql_lives_only_in_storage() -> None:
    offenders = []
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_no_process_wide_gettext() -> None:
    for folder in ("bot", "handlers", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            assert "gettext.install" not in path.read_text(encoding="utf-8"), path


def test_bot_imports_handlers_only_in_app() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "bot").rglob("*.py")
        if p.name != "app.py" and any(name == "handlers" or name.startswith("handlers.") for name in imports(p))
    ]
    assert offenders == []
