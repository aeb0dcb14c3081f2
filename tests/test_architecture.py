"""House rules that code review would otherwise have to catch: Telegram stays at the edge, all
SQL lives in storage/, and imports point down the layers (a new upward import fails)."""

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
    """The channel-free code: rules, storage, the services, the engine's core, the shared runtime."""
    return [
        *(ROOT / "storage").rglob("*.py"),
        *(ROOT / "bot" / "rules").rglob("*.py"),
        *(ROOT / "bot" / "services").rglob("*.py"),
        ROOT / "bot" / "forms" / "core.py",  # the engine's core is channel-free
        ROOT / "bot" / "runtime.py",
        ROOT / "bot" / "channel.py",
        ROOT / "bot" / "i18n.py",
        ROOT / "bot" / "settings.py",
    ]


def talks_telegram(names: set[str]) -> bool:
    return any(name == "telegram" or name.startswith("telegram.") for name in names)


# The import layers, lowest first: a module may import its own layer and the ones below.
# A module belongs to the layer of the longest prefix that names it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("rules", ("bot.rules",)),  # pure rules: dates, numbers, coverage, recurrence...
    ("storage", ("storage",)),  # all SQL
    # what every layer above shares: settings, catalogs, the callback context, persistence,
    # the update processor, the job queue, the in-memory Bot API and the simulator, the demo data
    ("support", ("bot.settings", "bot.i18n", "bot.channel", "bot.runtime", "bot.context", "bot.persistence", "bot.processor",
                 "bot.ratelimit", "bot.jobs", "bot.fakebot", "bot.simulator", "bot.demo", "bot.errors")),
    ("services", ("bot.services",)),  # scheduler, delivery, notices, ledger export, charts
    ("adapter", ("bot.channel_telegram",)),  # the channel port's Telegram side (bot.channel)
    ("engine", ("bot.forms",)),  # the form engine: core + python-telegram-bot adapter
    ("handlers", ("handlers",)),  # one package per feature
    ("app", ("bot", "bot.app", "bot.cli", "bot.console", "bot.orgcli", "bot.__main__")),
]
# Upward imports that predate the table, owned elsewhere; each is to be removed, none added.
KNOWN_UPWARD: set[tuple[str, str]] = set()
# Nothing in bot/ imports handlers/ except the composition root (and, for now, these).
KNOWN_BOT_TO_HANDLERS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return None if best is None else best[1]


def internal_imports() -> list[tuple[str, str]]:
    """(importer, imported) for every import between the project's own modules."""
    out = []
    for folder in ("bot", "handlers", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            importer = module_name(path)
            for name in imports(path):
                if name.split(".")[0] in {"bot", "handlers", "storage"}:
                    out.append((importer, name))
    return out


def upward(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    found = []
    for importer, imported in pairs:
        low, high = layer_of(importer), layer_of(imported)
        if low is None or high is None:
            found.append((importer, imported))  # every module must have a layer
        elif high > low and (importer, imported) not in KNOWN_UPWARD:
            found.append((importer, imported))
    return found


def test_every_module_has_a_layer_and_imports_point_down() -> None:
    assert upward(internal_imports()) == []


def test_the_layer_check_can_fail() -> None:
    """A rule importing storage, storage importing the engine, the engine importing a handler."""
    assert upward([("bot.rules.dates", "storage.db"), ("storage.tasks", "bot.forms.core"),
                   ("bot.forms.ptb", "handlers.flow"), ("handlers.tasks.newtask", "bot.app")]) == [
        ("bot.rules.dates", "storage.db"), ("storage.tasks", "bot.forms.core"),
        ("bot.forms.ptb", "handlers.flow"), ("handlers.tasks.newtask", "bot.app")]
    assert upward([("handlers.tasks.newtask", "bot.forms.core"), ("bot.forms.core", "bot.rules.dates")]) == []


def test_only_the_composition_root_imports_handlers() -> None:
    offenders = {
        (importer, imported)
        for importer, imported in internal_imports()
        if importer.startswith("bot") and imported.split(".")[0] == "handlers" and importer != "bot.app"
    }
    assert offenders - KNOWN_BOT_TO_HANDLERS == set()


def test_the_engine_core_imports_neither_telegram_nor_the_adapter() -> None:
    names = imports(ROOT / "bot" / "forms" / "core.py")
    assert not {n for n in names if n.split(".")[0] in {"telegram", "handlers"} or n == "bot.forms.ptb"}


def test_rules_storage_and_services_never_import_telegram() -> None:
    """Not even through a module of the project: WeCom stays one adapter away (bot.channel)."""
    paths = {module_name(p): p for folder in ("bot", "handlers", "storage") for p in (ROOT / folder).rglob("*.py")}

    def reaches_telegram(module: str, seen: set[str]) -> bool:
        if module in seen or module not in paths:
            return False
        seen.add(module)
        names = imports(paths[module])
        return talks_telegram(names) or any(reaches_telegram(n, seen) for n in names)

    offenders = [str(p.relative_to(ROOT)) for p in pure_files() if reaches_telegram(module_name(p), set())]
    assert offenders == []
    assert reaches_telegram("bot.channel_telegram", set())  # the check can fail


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


def asserts_in(folders: tuple[str, ...]) -> list[str]:
    found = []
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Assert):
                    found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}")
    return found


def test_no_assert_for_runtime_checks() -> None:
    """``python -O`` removes asserts: the bot's code raises a proper error instead."""
    offenders = asserts_in(("bot", "storage", "handlers"))
    assert offenders == []
    assert asserts_in(("tests",))  # the check sees asserts (the tests are full of them)


def test_no_test_module_imports_another() -> None:
    """Shared test helpers live in tests/conftest.py or tests/helpers/, never in a test module
    (pytest imports a test module under its own name, so a second import runs it twice)."""

    def is_test_module(dotted: str) -> bool:
        return dotted.rsplit(".", 1)[-1].startswith("test_")

    offenders = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                # ``from tests.test_x import y``, ``from .test_x import y``, ``from tests import test_x``
                names = [node.module or ""] + [f"{node.module or ''}.{a.name}" for a in node.names]
            else:
                continue
            if any(is_test_module(name) for name in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
