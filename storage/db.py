"""The SQLite database: connection, pragmas, migrations and backup.

Migrations are the numbered files in ``storage/migrations`` (``0001_name.sql``...). They are
append-only: a landed file is never edited; a change is a new file. Each runs in its own
transaction together with ``PRAGMA user_version = N``, so a failing migration leaves the
database at the previous version.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 5000


class DatabaseError(Exception):
    """The database cannot be opened or upgraded; the message says why, for a person."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", path.name)
        if not match:
            raise DatabaseError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise DatabaseError(f"migrations must be numbered 1..N without gaps, found {versions}")
    return found


class Database:
    """One aiosqlite connection; writes go through :meth:`transaction` (serialised)."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, *, upgrade: bool = True) -> Database:
        path = str(path)
        if path != ":memory:":
            parent = Path(path).resolve().parent
            if not parent.is_dir():
                raise DatabaseError(f"the folder for the database does not exist: {parent}")
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open the database {path}: {exc}") from exc
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA synchronous = NORMAL")
            if upgrade:
                await db.upgrade()
        except sqlite3.OperationalError as exc:
            await conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise DatabaseError(f"the database {path} is locked by another program") from exc
            raise DatabaseError(f"cannot use the database {path}: {exc}") from exc
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        await self.conn.close()

    async def user_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0])

    async def upgrade(self, migrations: Sequence[Migration] | None = None) -> list[int]:
        """Apply pending migrations, each in its own transaction; return the versions applied."""
        migrations = load_migrations() if migrations is None else migrations
        applied = []
        async with self._write_lock:
            current = await self.user_version()
            latest = max((m.version for m in migrations), default=0)
            if current > latest:
                raise DatabaseError(
                    f"the database is at version {current}, newer than this program ({latest})"
                )
            for migration in migrations:
                if migration.version <= current:
                    continue
                script = (
                    "BEGIN IMMEDIATE;\n"
                    f"{migration.sql}\n;\n"
                    f"PRAGMA user_version = {migration.version};\n"
                    "COMMIT;"
                )
                try:
                    await self.conn.executescript(script)
                except sqlite3.Error as exc:
                    if self.conn.in_transaction:
                        await self.conn.execute("ROLLBACK")
                    raise DatabaseError(
                        f"migration {migration.version} ({migration.name}) failed: {exc}"
                    ) from exc
                applied.append(migration.version)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction; commits on success, rolls back on any exception."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    async def fetchall(self, sql: str, params: Sequence | dict = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Sequence | dict = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def backup(self, target: str | Path) -> None:
        """Copy the live database with SQLite's online backup API (safe while the bot runs)."""
        target = Path(target)
        if target.exists():
            target.unlink()
        dest = await aiosqlite.connect(str(target))
        try:
            await self.conn.backup(dest)
        finally:
            await dest.close()
