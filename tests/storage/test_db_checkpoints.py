"""WAL checkpoints off the bot's commits (``Database.checkpoint_in_background``).

SQLite checkpoints inside the commit that takes the WAL past 1,000 pages, so one update in a
couple of hundred waited for it. With checkpoints in the background, the connection's own
commits never checkpoint, and a passive checkpoint on a second connection follows every
``CHECKPOINT_AFTER_COMMITS`` commits.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import storage.db as db_module
from storage.db import Database

FRAME = 4096 + 24  # a WAL frame: one page and its header


async def opened(path: Path) -> Database:
    db = await Database.open(path, upgrade=False)
    await db.write("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    return db


async def commits(db: Database, n: int) -> None:
    for i in range(n):
        await db.write_batch([("INSERT INTO t (v) VALUES (?)", [(f"value {i}",)])])


def wal_frames(path: Path) -> int:
    return os.path.getsize(f"{path}-wal") // FRAME


async def test_the_commits_checkpoint_themselves_without_it(tmp_path: Path) -> None:
    """The control: SQLite's own checkpoints keep the WAL near 1,000 pages."""
    db = await opened(tmp_path / "a.db")
    try:
        await commits(db, 1500)
        assert wal_frames(tmp_path / "a.db") < 1100
    finally:
        await db.close()


async def test_commits_never_checkpoint_with_background_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_module, "CHECKPOINT_AFTER_COMMITS", 10**9)
    db = await opened(tmp_path / "a.db")
    try:
        await db.checkpoint_in_background()
        await commits(db, 1500)
        assert wal_frames(tmp_path / "a.db") >= 1500  # no commit checkpointed
        assert db.checkpointing is None
        busy, frames, done = await db.checkpoint()
        assert (busy, done) == (0, frames) and frames >= 1500
    finally:
        await db.close()


async def test_a_checkpoint_follows_every_so_many_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_module, "CHECKPOINT_AFTER_COMMITS", 100)
    db = await opened(tmp_path / "a.db")
    try:
        await db.checkpoint_in_background()
        await commits(db, 99)
        assert db.checkpointing is None
        await commits(db, 1)
        assert db.checkpointing is not None
        busy, frames, done = await db.checkpointing
        assert busy == 0 and frames == done > 0  # the whole WAL went into the database
        rows = await db.fetchall("SELECT count(*) AS n FROM t")
        assert rows[0]["n"] == 100
    finally:
        await db.close()
    assert not Path(f"{tmp_path / 'a.db'}-wal").exists()  # closed: the last connection checkpointed


async def test_the_wal_stays_bounded_when_writes_never_pause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits back to back: each background checkpoint sees new frames come in while it runs,
    so the WAL never starts again from its beginning; past CATCH_UP_FRAMES the connection's own
    thread catches up between two commits, and the WAL starts again."""
    monkeypatch.setattr(db_module, "CHECKPOINT_AFTER_COMMITS", 100)
    monkeypatch.setattr(db_module, "CATCH_UP_FRAMES", 500)
    db = await opened(tmp_path / "a.db")
    try:
        await db.checkpoint_in_background()
        await commits(db, 3000)
        assert wal_frames(tmp_path / "a.db") < 800
        rows = await db.fetchall("SELECT count(*) AS n FROM t")
        assert rows[0]["n"] == 3000
    finally:
        await db.close()
