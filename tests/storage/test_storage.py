"""The database: pragmas, migrations step by step, a failing migration, backup, locking."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import Database, DatabaseError, Migration, load_migrations

MIGRATIONS = load_migrations()
LATEST = MIGRATIONS[-1].version


async def tables(db: Database) -> set[str]:
    rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r[0] for r in rows}


async def test_empty_database_upgrades_to_latest(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "a.db")
    try:
        assert await db.user_version() == LATEST
        assert {"users", "units", "people", "households", "chats", "ptb_conversations"} <= await tables(db)
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
        # short: longer waits for a lock happen with backoff on the event loop (storage.db._retry)
        assert (await db.fetchone("PRAGMA busy_timeout"))[0] >= 50
        assert await db.upgrade() == []  # idempotent
    finally:
        await db.close()


@pytest.mark.parametrize("start", range(LATEST))
async def test_database_at_every_older_version_upgrades(tmp_path: Path, start: int) -> None:
    """Build a database at version ``start`` with the migrations of that time, then upgrade."""
    path = tmp_path / f"v{start}.db"
    db = await Database.open(path, upgrade=False)
    await db.upgrade(MIGRATIONS[:start])
    assert await db.user_version() == start
    await db.close()

    db = await Database.open(path)
    try:
        assert await db.user_version() == LATEST
    finally:
        await db.close()


async def test_each_migration_step_applies_alone(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "steps.db", upgrade=False)
    try:
        for migration in MIGRATIONS:
            assert await db.upgrade(MIGRATIONS[: migration.version]) == [migration.version]
            assert await db.user_version() == migration.version
    finally:
        await db.close()


async def test_failed_migration_leaves_previous_version(tmp_path: Path) -> None:
    broken = Migration(LATEST + 1, "broken", "CREATE TABLE half_done (x INTEGER);\nINSERT INTO nowhere VALUES (1);")
    db = await Database.open(tmp_path / "b.db")
    try:
        with pytest.raises(DatabaseError, match="broken"):
            await db.upgrade([*MIGRATIONS, broken])
        assert await db.user_version() == LATEST
        assert "half_done" not in await tables(db)
        # and the connection is still usable
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO users (telegram_id) VALUES (1)")
    finally:
        await db.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "n.db")
    await db.conn.execute(f"PRAGMA user_version = {LATEST + 5}")
    await db.close()
    with pytest.raises(DatabaseError, match="newer"):
        await Database.open(tmp_path / "n.db")


def test_migration_files_are_numbered_without_gaps() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "t.db")
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO users (telegram_id) VALUES (7)")
                raise RuntimeError("boom")
        assert await db.fetchone("SELECT 1 FROM users WHERE telegram_id = 7") is None
    finally:
        await db.close()


async def test_backup_copies_a_live_database(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "live.db")
    try:
        await db.conn.execute("INSERT INTO users (telegram_id, first_name) VALUES (5, 'x')")
        await db.backup(tmp_path / "copy.db")
    finally:
        await db.close()
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT first_name FROM users WHERE telegram_id = 5").fetchone() == ("x",)
    assert copy.execute("PRAGMA user_version").fetchone()[0] == LATEST
    copy.close()


async def test_locked_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    await (await Database.open(path)).close()  # create it at the latest version
    holder = sqlite3.connect(path, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        db = await Database.open(path, upgrade=False)
        await db.conn.execute("PRAGMA busy_timeout = 50")
        db.lock_wait = 0.2
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO users (telegram_id) VALUES (1)")
        await db.close()
    finally:
        holder.rollback()
        holder.close()


async def test_the_forms_old_conversation_states_go_and_others_stay(tmp_path: Path) -> None:
    """0019: the forms' states were PTB's ConversationHandler "forms" (now the marker in
    user_data is all there is); another conversation's rows are kept."""
    path = tmp_path / "forms.db"
    db = await Database.open(path, upgrade=False)
    await db.upgrade(MIGRATIONS[:18])
    await db.write("INSERT INTO ptb_conversations (name, key, state) VALUES"
                   " ('forms', '[1, 1]', '\"report:date\"'), ('probe', '[1, 1]', '0')")
    await db.close()
    db = await Database.open(path)
    try:
        assert [tuple(r) for r in await db.fetchall("SELECT name FROM ptb_conversations")] == [("probe",)]
    finally:
        await db.close()
