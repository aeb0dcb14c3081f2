"""The SQLite database: connection, pragmas, migrations and backup.

Migrations are the numbered files in ``storage/migrations`` (``0001_name.sql``...). They are
append-only: a landed file is never edited; a change is a new file. Each runs in its own
transaction together with ``PRAGMA user_version = N``, so a failing migration leaves the
database at the previous version.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# SQLite's own wait for a lock blocks the one database thread (every chat waits behind it), so
# it is kept short; longer waits for another process's write lock happen in :meth:`_retry`,
# on the event loop, with backoff.
BUSY_TIMEOUT_MS = 100
# every connection of the bot's (the file keeps journal_mode = WAL itself)
_PRAGMAS = (f"busy_timeout = {BUSY_TIMEOUT_MS}", "foreign_keys = ON", "synchronous = NORMAL")
LOCK_WAIT_SECONDS = 30.0
LOCK_NOTICE_AFTER = 2.0

# Set per update by the application: awaited once when a write has waited LOCK_NOTICE_AFTER
# seconds for another process's lock (the bot tells the user to wait a moment).
lock_notice: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("lock_notice", default=None)

log = logging.getLogger("cadre.db")
T = TypeVar("T")
R = TypeVar("R")


Row = sqlite3.Row  # every connection's row factory (aiosqlite.Row is the same class)


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.init)


def record(cls: type[R], row: Row, **given: Any) -> R:
    """A dataclass built from ``row`` by column name: each field takes the column of its own
    name (alias the column in the SELECT when it differs), or the value in ``given`` (a value
    converted from its column: a date, a flag). Never by position, so a column added to a
    SELECT cannot shift the others."""
    return cls(**{name: given[name] if name in given else row[name] for name in _field_names(cls)})


class DatabaseError(Exception):
    """The database cannot be opened or upgraded; the message says why, for a person."""


class DatabaseDamaged(DatabaseError):
    """The database file is not a (complete) SQLite database; it was left untouched."""


class StorageError(sqlite3.OperationalError):
    """A write could not be made; nothing of it was saved (its transaction was rolled back).

    A subclass of ``sqlite3.OperationalError``, so code that catches that still catches it.
    """


class StorageBusy(StorageError):
    """Another program held the database's write lock for longer than LOCK_WAIT_SECONDS."""


class StorageFull(StorageError):
    """The disk or the database is full."""


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _is_full(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower()


def _translate(exc: BaseException) -> BaseException:
    if _is_full(exc):
        return StorageFull(str(exc))
    if _is_locked(exc):
        return StorageBusy(str(exc))
    return exc


def check_file(path: str | Path) -> None:
    """Refuse a file that is not a whole SQLite database, without writing to it.

    Reads the 100-byte header only: the magic string, the page size and the page count the
    header promises (valid when its version-valid-for field matches the change counter). A
    garbage file or one cut short raises :class:`DatabaseDamaged`; a missing or empty file is
    a new database.
    """
    path = Path(path)
    if str(path) == ":memory:" or not path.is_file():
        return
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb") as f:
        header = f.read(100)
    advice = f"restore it from a copy made with `cadre-bot db backup` (see `cadre-bot db check --db {path}`)"
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise DatabaseDamaged(f"the database file {path} is damaged (not an SQLite database): {advice}")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    change_counter = int.from_bytes(header[24:28], "big")
    pages = int.from_bytes(header[28:32], "big")
    valid_for = int.from_bytes(header[92:96], "big")
    if page_size < 512 or page_size & (page_size - 1):
        raise DatabaseDamaged(f"the database file {path} is damaged (bad header): {advice}")
    if pages and valid_for == change_counter and size < pages * page_size:
        raise DatabaseDamaged(
            f"the database file {path} is damaged (cut short: {size} of {pages * page_size} bytes): {advice}"
        )


def integrity_check(path: str | Path) -> list[str]:
    """SQLite's ``PRAGMA integrity_check`` on the file, read-only: ``["ok"]`` when healthy."""
    path = Path(path)
    if not path.is_file():
        return [f"{path}: no such file"]
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            return [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]


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


# Writes whose SQL names these tables change who a Telegram user is (see ``generation``), or
# the reports (see ``reports_generation``).
_WATCHED = re.compile(r"\b(people|units)\b", re.IGNORECASE)
_WATCHED_REPORTS = re.compile(r"\breports\b", re.IGNORECASE)
OTHER_WRITERS_CHECK_SECONDS = 1.0


@functools.lru_cache(maxsize=512)
def _watched(sql: str) -> tuple[bool, bool]:
    """Whether ``sql`` names people/units, and reports (the statements are few and come again)."""
    return bool(_WATCHED.search(sql)), bool(_WATCHED_REPORTS.search(sql))
# With checkpoints in the background (Database.checkpoint_in_background): one after this many
# commits, about SQLite's own 1,000 WAL pages at a flush's five or so.
CHECKPOINT_AFTER_COMMITS = 200
# ... and when writes never pause, the WAL cannot start again from its beginning (a commit comes
# while each checkpoint runs): once it holds this many frames (about 16 MB), the connection's
# own thread checkpoints the little the background left, between two commits.
CATCH_UP_FRAMES = 4000


@dataclass
class DbStats:
    """What went through the wrapper: thread hops (each call that waits for the database thread)
    and statements (an ``executemany`` counts its rows). Tests compare these, never times."""

    hops: int = 0
    statements: int = 0

    def count(self, hops: int = 1, statements: int = 1) -> None:
        self.hops += hops
        self.statements += statements


class _WatchedConnection:
    """The connection as a transaction body sees it: notes writes to the watched tables."""

    __slots__ = ("_conn", "_db")

    def __init__(self, conn: aiosqlite.Connection, db: Database) -> None:
        self._conn = conn
        self._db = db

    def execute(self, sql: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        self._db._note(sql)
        self._db.stats.count()
        return self._conn.execute(sql, *args, **kwargs)

    def executemany(self, sql: str, params: Sequence, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        self._db._note(sql)
        params = params if isinstance(params, list | tuple) else list(params)
        self._db.stats.count(statements=len(params))
        return self._conn.executemany(sql, params, *args, **kwargs)

    def execute_fetchall(self, sql: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        self._db._note(sql)
        self._db.stats.count()
        return self._conn.execute_fetchall(sql, *args, **kwargs)

    def execute_insert(self, sql: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        self._db._note(sql)
        self._db.stats.count()
        return self._conn.execute_insert(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


class ThreadConnection:
    """The connection as a function given to :meth:`Database.transact` sees it, in the database
    thread: ``execute`` and ``executemany`` of the plain :class:`sqlite3.Connection`, their SQL
    kept for the database's generations and counted (settled on the event loop afterwards)."""

    __slots__ = ("_conn", "sqls", "statements")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.sqls: list[str] = []
        self.statements = 0

    def execute(self, sql: str, params: Sequence | dict = ()) -> sqlite3.Cursor:
        if sql.lstrip()[:6].upper() != "SELECT":  # a read changes nothing
            self.sqls.append(sql)
        self.statements += 1
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> sqlite3.Cursor:
        rows = rows if isinstance(rows, list | tuple) else list(rows)
        self.sqls.append(sql)
        self.statements += len(rows)
        return self._conn.executemany(sql, rows)


def _transact(conn: sqlite3.Connection, fn: Callable[..., T], args: tuple) -> tuple[T, ThreadConnection]:
    """In the database thread: ``fn(connection, *args)`` in one transaction (``Database.transact``)."""
    view = ThreadConnection(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(view, *args)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result, view


def _checkpoint_here(conn: sqlite3.Connection) -> tuple[int, int, int]:
    busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(busy), int(frames), int(done)


def _batch(conn: ThreadConnection, statements: Sequence[tuple[str, Sequence[Sequence]]]) -> None:
    for sql, rows in statements:
        conn.executemany(sql, rows)


class Database:
    """One aiosqlite connection; writes go through :meth:`transaction` (serialised).

    ``generation`` grows whenever a write may have changed who a Telegram user is (a write
    naming ``people`` or ``units``, or any commit by another process, seen through
    ``PRAGMA data_version`` at most once a second): caches of users and people compare it.
    ``reports_generation`` grows likewise on a write naming ``reports`` (and on another
    process's commit, once ``current_generation`` saw it): caches of reports compare both.
    """

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()
        self.lock_wait = LOCK_WAIT_SECONDS  # how long a write waits for another process's lock
        self.lock_notice_after = LOCK_NOTICE_AFTER
        self.generation = 0
        self.reports_generation = 0
        self._touched = False
        self._touched_reports = False
        self._data_version: int | None = None
        self._checked_at = 0.0
        self.flush_carries_inbox = False  # the schema is current: a flush may store inbox rows
        self.stats = DbStats()
        self._background_checkpoints = False
        self._commits = 0  # since the last background checkpoint
        self._checkpointer: aiosqlite.Connection | None = None
        self._side: aiosqlite.Connection | None = None  # side_transaction's connection, opened on first use
        self._checkpointing: asyncio.Task | None = None

    def _note(self, sql: str) -> None:
        people, reports = _watched(sql)
        if people:
            self._touched = True
        if reports:
            self._touched_reports = True

    def _settle_generation(self) -> None:
        if self._touched:
            self._touched = False
            self.generation += 1
        if self._touched_reports:
            self._touched_reports = False
            self.reports_generation += 1

    async def current_generation(self, *, fresh: bool = False) -> int:
        """``generation``, after looking (at most once a second, or now if ``fresh``) for
        other processes' commits."""
        now = time.monotonic()
        if fresh or now - self._checked_at >= OTHER_WRITERS_CHECK_SECONDS:
            self._checked_at = now
            self.stats.count()
            rows = await self.conn.execute_fetchall("PRAGMA data_version")
            version = int(rows[0][0])
            if self._data_version is not None and version != self._data_version:
                self.generation += 1
                self.reports_generation += 1
            self._data_version = version
        return self.generation

    @classmethod
    async def open(cls, path: str | Path, *, upgrade: bool = True) -> Database:
        path = str(path)
        if path != ":memory:":
            parent = Path(path).resolve().parent
            if not parent.is_dir():
                raise DatabaseError(f"the folder for the database does not exist: {parent}")
            check_file(path)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open the database {path}: {exc}") from exc
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            await conn.execute("PRAGMA journal_mode = WAL")  # kept in the file: the other connections have it
            for pragma in _PRAGMAS:
                await conn.execute(f"PRAGMA {pragma}")
            if upgrade:
                await db.upgrade()
                db.flush_carries_inbox = True
        except sqlite3.OperationalError as exc:
            await conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise DatabaseError(f"the database {path} is locked by another program") from exc
            raise DatabaseError(f"cannot use the database {path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
            await conn.close()
            raise DatabaseDamaged(
                f"the database file {path} is damaged ({exc}): restore it from a copy made with"
                f" `cadre-bot db backup` (see `cadre-bot db check --db {path}`)"
            ) from exc
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        if self._side is not None:
            await self._side.close()
            self._side = None
        self._background_checkpoints = False
        if self._checkpointing is not None:
            await asyncio.gather(self._checkpointing, return_exceptions=True)
        if self._checkpointer is not None:
            await self._checkpointer.close()  # first: the last connection to close checkpoints
            self._checkpointer = None
        await self.conn.close()

    # -- WAL checkpoints off the commits ----------------------------------------------------
    async def checkpoint_in_background(self) -> None:
        """Take the WAL checkpoints off this connection's commits (the bot's, on every update).

        SQLite checkpoints in the commit that takes the WAL past 1,000 pages: one update in
        about two hundred waited 5-15 ms for it, and it was half the time all commits took.
        Here this connection never checkpoints; after every :data:`CHECKPOINT_AFTER_COMMITS`
        commits a passive checkpoint runs on a second connection, in its own thread
        (:meth:`checkpoint`), while commits go on (a passive checkpoint takes no write lock).
        Other programs' connections (the CLI, an export) keep SQLite's automatic checkpoints.
        """
        if self.path == ":memory:":
            return
        await self.conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._background_checkpoints = True

    @property
    def checkpointing(self) -> asyncio.Task | None:
        """The newest background checkpoint (done or running), if one was started."""
        return self._checkpointing

    def _committed(self) -> None:
        if not self._background_checkpoints:
            return
        self._commits += 1
        if self._commits >= CHECKPOINT_AFTER_COMMITS and (self._checkpointing is None or self._checkpointing.done()):
            self._commits = 0
            self._checkpointing = asyncio.get_running_loop().create_task(self.checkpoint())

    async def checkpoint(self) -> tuple[int, int, int]:
        """One passive WAL checkpoint on the checkpointing connection: SQLite's
        ``(busy, frames in the WAL, frames checkpointed)``; a failure is logged, not raised
        (the next one tries again), as ``(1, -1, -1)``."""
        try:
            if self._checkpointer is None:
                self._checkpointer = await self._another_connection()
            rows = await self._checkpointer.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            log.warning("a background checkpoint failed", exc_info=True)
            return (1, -1, -1)
        busy, frames, done = (int(v) for v in next(iter(rows)))
        if frames >= CATCH_UP_FRAMES and self._background_checkpoints:
            try:  # in this connection's thread, between two transactions: the next write restarts the WAL
                async with self._write_lock:
                    busy, frames, done = await self.run(_checkpoint_here)
            except sqlite3.Error:
                log.warning("a checkpoint failed", exc_info=True)
        return busy, frames, done

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

    async def _retry(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` until another process's write lock lets it through.

        Backoff from 50 ms to 1 s, for up to ``lock_wait`` seconds; after ``lock_notice_after``
        seconds the update's :data:`lock_notice` is awaited once. A full disk raises :class:`StorageFull`, a lock held
        too long :class:`StorageBusy`.
        """
        started = time.monotonic()
        delay = 0.05
        noticed = False
        while True:
            try:
                return await attempt()
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc):
                    raise _translate(exc) from exc
                waited = time.monotonic() - started
                if waited >= self.lock_wait:
                    raise StorageBusy(f"the database stayed locked for {waited:.0f} s") from exc
                if not noticed and waited >= self.lock_notice_after:
                    noticed = True
                    notice = lock_notice.get()
                    if notice is not None:
                        try:
                            await notice()
                        except Exception:  # telling the user is best effort
                            log.warning("could not tell the user to wait", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction; commits on success, rolls back on any exception.

        Waits (see :meth:`_retry`) while another process holds the write lock. SQLite errors
        of a full disk or a lock are raised as :class:`StorageFull` / :class:`StorageBusy`
        after the rollback, so nothing of a failed transaction stays.
        """
        async with self._write_lock:
            await self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
            self.stats.count()
            try:
                yield _WatchedConnection(self.conn, self)  # type: ignore[misc]
                self.stats.count()
                await self.conn.execute("COMMIT")
                self._settle_generation()
                self._committed()
            except BaseException as exc:
                self._settle_generation()
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                translated = _translate(exc)
                if translated is not exc:
                    raise translated from exc
                raise

    @asynccontextmanager
    async def side_transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction on a connection of its own, in its own thread, for a long write
        (a roster import): reads on this connection go on beside it (they do not wait behind
        its statements in the one database thread) and see none of it until it commits. Writes
        on this connection wait for it (the write lock), as they wait for :meth:`transaction`;
        otherwise the same (retries, rollback, errors, the generations). ``:memory:`` is one
        database per connection: there it is :meth:`transaction`."""
        if self.path == ":memory:":
            async with self.transaction() as conn:
                yield conn
            return
        async with self._write_lock:
            side = await self._side_connection()
            await self._retry(lambda: side.execute("BEGIN IMMEDIATE"))
            self.stats.count()
            try:
                yield _WatchedConnection(side, self)  # type: ignore[misc]
                self.stats.count()
                await side.execute("COMMIT")
                self._settle_generation()
                self._committed()
            except BaseException as exc:
                self._settle_generation()
                if side.in_transaction:
                    await side.execute("ROLLBACK")
                translated = _translate(exc)
                if translated is not exc:
                    raise translated from exc
                raise

    async def _side_connection(self) -> aiosqlite.Connection:
        if self._side is None:
            self._side = await self._another_connection()
        return self._side

    async def _another_connection(self) -> aiosqlite.Connection:
        """A second connection to the same file (its own thread), set up as this one is."""
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in _PRAGMAS:
            await conn.execute(f"PRAGMA {pragma}")
        if self._background_checkpoints:  # checkpoints are the checkpointer's, on every connection
            await conn.execute("PRAGMA wal_autocheckpoint = 0")
        return conn

    async def write(self, sql: str, params: Sequence | dict = ()) -> list[aiosqlite.Row]:
        """One write statement on its own (its own implicit transaction): one thread hop.

        Returns the rows of a ``RETURNING`` clause. Waits for another process's lock like
        :meth:`transaction`.
        """
        self.stats.count()
        async with self._write_lock:
            self._note(sql)  # under the lock: another write's settling must not take the mark
            try:
                rows = list(await self._retry(lambda: self.conn.execute_fetchall(sql, params)))
            finally:
                self._settle_generation()
            self._committed()
            return rows

    async def write_batch(self, statements: Sequence[tuple[str, Sequence[Sequence]]]) -> None:
        """Several writes in one transaction and ONE thread hop: ``(sql, rows of parameters)``,
        each statement run for each of its rows (``executemany``), in order.

        The whole transaction (``BEGIN IMMEDIATE`` to ``COMMIT``) runs in the database thread
        at once, so nothing else on the connection comes between its statements. On any error
        it is rolled back there; a lock held by another process is waited for and the whole
        batch tried again, like :meth:`transaction`.
        """
        statements = [(sql, rows) for sql, rows in statements if rows]
        if statements:
            await self.transact(_batch, statements)

    async def transact(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(connection, *args)`` in one write transaction run whole in the database thread:
        ONE thread hop for all its statements (where :meth:`transaction` costs one a statement).

        ``fn`` gets a :class:`ThreadConnection` (``execute``, ``executemany``; the rows are
        :class:`sqlite3.Row`), must do SQLite work only, and may run more than once: a lock
        held by another process is waited for and the whole transaction tried again, like
        :meth:`transaction`. Any error rolls it back in the thread and is raised here.
        """
        async with self._write_lock:
            result, view = await self._retry(lambda: self.run(_transact, fn, args))
            for sql in view.sqls:
                self._note(sql)
            self.stats.statements += 2 + view.statements  # with BEGIN and COMMIT
            self._settle_generation()
            self._committed()
            return result

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(connection, *args)`` in the database thread, where aiosqlite runs each statement
        (the plain :class:`sqlite3.Connection` is handed to ``fn``): several statements for one
        thread hop. ``fn`` must only do quick SQLite work, and writes belong in
        :meth:`transact` (the write lock, the retries). aiosqlite has no public name for its
        queue of calls; ``Connection._execute`` (the method behind every public one, in 0.22
        at least) is used here and nowhere else, and ``tests/storage/test_state_writes.py``
        checks that it runs ``fn`` in the connection's thread."""
        self.stats.hops += 1
        conn = self.conn
        return await conn._execute(fn, conn._conn, *args)

    # One thread hop per read (``execute`` + ``fetch`` + ``close`` of a cursor are three).
    async def fetchall(self, sql: str, params: Sequence | dict = ()) -> list[aiosqlite.Row]:
        self.stats.count()
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence | dict = ()) -> aiosqlite.Row | None:
        """The first row: for queries of one row (by key, an aggregate or ``LIMIT 1``), as all
        rows are fetched in the one hop."""
        self.stats.count()
        rows = await self.conn.execute_fetchall(sql, params)
        return rows[0] if rows else None

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
