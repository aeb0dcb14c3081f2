"""Faults of the database: another process holding the write lock, a full database, a damaged
file at start."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.simulator import Simulator, texts
from storage.db import Database, DatabaseDamaged, integrity_check
from tests.conftest import SECRETARY, Org

HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


class LockHolder:
    """Another process holding the database's write lock (BEGIN IMMEDIATE) until released."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(10)


async def until(predicate, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def tr(sim: Simulator, key: str) -> str:
    return sim.app.services.catalogs.get(None)(key)


async def test_a_write_waits_for_another_process_and_the_user_is_told_once(sim: Simulator, org: Org) -> None:
    db = sim.app.services.repos.db
    db.lock_notice_after = 0.05  # 2 s in production
    await report_to_review(sim, "无")
    holder = LockHolder(Path(db.path))
    try:
        before = len(sim.api.calls)
        step = asyncio.ensure_future(sim.press("保存", SECRETARY))
        await until(lambda: tr(sim, "db.wait") in texts(sim.api.calls[before:]))
        assert not step.done()  # still waiting for the lock
        assert (await counts(db))[0] == 0
    finally:
        holder.release()
    await step
    said = texts(sim.api.calls[before:])
    assert said.count(tr(sim, "db.wait")) == 1
    assert "已保存" in said[-1]  # the input was handled once the lock cleared
    assert (await counts(db))[0] == 1
    assert not any(tr(sim, "start.unknown") in t or tr(sim, "auth.not_joined") in t for t in said)
    assert "哪一天" in texts(await sim.send("/report", SECRETARY))[-1]  # the saved draft is not offered


async def test_a_lock_held_too_long_gets_a_clear_message_not_a_stranger(sim: Simulator, org: Org) -> None:
    db = sim.app.services.repos.db
    db.lock_wait, db.lock_notice_after = 0.3, 0.05
    holder = LockHolder(Path(db.path))  # the user was never seen: recording them must wait
    try:
        said = texts(await sim.send("/report", SECRETARY))
    finally:
        holder.release()
    assert tr(sim, "db.busy") in said
    assert not any(tr(sim, "start.unknown") in t or tr(sim, "auth.not_joined") in t for t in said)
    assert "哪一天" in texts(await sim.send("/report", SECRETARY))[-1]  # fine once the lock is gone


async def test_a_failed_lookup_never_makes_a_known_user_a_stranger(sim: Simulator, org: Org, monkeypatch) -> None:
    async def broken(telegram_id: int):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sim.app.services.repos.org, "person_by_telegram", broken)
    said = texts(await sim.send("/start", SECRETARY))
    assert said == [tr(sim, "db.busy")]


async def test_the_person_cache_follows_changes(sim: Simulator, org: Org) -> None:
    assert "孙书记" in texts(await sim.send("/start", SECRETARY))[0]
    assert "孙书记" in texts(await sim.send("/start", SECRETARY))[0]  # from the cache
    await sim.app.services.repos.org.unbind_telegram(org.secretary.id)
    assert texts(await sim.send("/start", SECRETARY))[0] == tr(sim, "start.unknown")
    await sim.app.services.repos.org.bind_telegram(org.secretary.id, SECRETARY)
    assert "孙书记" in texts(await sim.send("/start", SECRETARY))[0]


async def test_the_person_cache_sees_another_process(sim: Simulator, org: Org, monkeypatch) -> None:
    import storage.db

    monkeypatch.setattr(storage.db, "OTHER_WRITERS_CHECK_SECONDS", 0.0)  # once a second in production
    assert "孙书记" in texts(await sim.send("/start", SECRETARY))[0]
    other = sqlite3.connect(sim.app.services.repos.db.path)
    with other:
        other.execute("UPDATE people SET telegram_id = NULL WHERE telegram_id = ?", (SECRETARY,))
    other.close()
    assert texts(await sim.send("/start", SECRETARY))[0] == tr(sim, "start.unknown")


async def report_to_review(sim: Simulator, notes: str) -> None:
    await sim.send("/report", SECRETARY)
    await sim.press("昨天", SECRETARY)
    await sim.press("垃圾清除", SECRETARY)
    await sim.press("下一步", SECRETARY)
    await sim.send("村东头坑塘", SECRETARY)
    await sim.send("干部3 党员5 群众20", SECRETARY)
    await sim.send("清运垃圾5车", SECRETARY)
    await sim.press("不发照片", SECRETARY)
    await sim.send(notes, SECRETARY)


async def counts(db: Database) -> tuple[int, int]:
    reports = (await db.fetchone("SELECT count(*) FROM reports"))[0]
    categories = (await db.fetchone("SELECT count(*) FROM report_categories"))[0]
    return reports, categories


async def test_a_full_database_gets_a_clear_message_and_nothing_half_saved(sim: Simulator, org: Org) -> None:
    db = sim.app.services.repos.db
    notes = "整" * 500  # rows of ~1.6 KB: the third does not fit in the reports table's one page
    for _ in range(2):
        await report_to_review(sim, notes)
        await sim.press("保存", SECRETARY)
    await report_to_review(sim, notes)
    before = await counts(db)
    await db.conn.execute("VACUUM")
    pages = (await db.fetchone("PRAGMA page_count"))[0]
    await db.conn.execute(f"PRAGMA max_page_count = {pages}")
    said = texts(await sim.press("保存", SECRETARY))
    assert said == [tr(sim, "db.full")]
    assert await counts(db) == before  # nothing of the report (nor its categories) stayed
    await db.conn.execute(f"PRAGMA max_page_count = {pages + 1000}")
    (saved,) = texts(await sim.press("保存", SECRETARY))  # the draft is still there: save again
    assert "已保存" in saved
    assert (await counts(db))[0] == before[0] + 1


# -- a damaged file at start -------------------------------------------------------------------
def good_file(path: Path) -> None:
    async def make() -> None:
        await (await Database.open(path)).close()

    asyncio.run(make())


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_file_is_refused_in_one_line_untouched(damage: str, tmp_path: Path, capsys, monkeypatch) -> None:
    path = tmp_path / "cadre.db"
    if damage == "truncated":
        good_file(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(b"this is not a database, just some text that was copied over it\n" * 200)
    original = path.read_bytes()
    with pytest.raises(DatabaseDamaged):
        asyncio.run(Database.open(path))
    monkeypatch.setenv("CADRE_DB", str(path))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST")
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err and "cadre-bot db backup" in err and "Traceback" not in err
    assert path.read_bytes() == original
    assert not (tmp_path / "cadre.db-wal").exists()
    assert main(["db", "check", "--db", str(path)]) == 2


def test_db_check_runs_the_integrity_check(tmp_path: Path, capsys) -> None:
    path = tmp_path / "ok.db"
    good_file(path)
    assert integrity_check(path) == ["ok"]
    assert main(["db", "check", "--db", str(path)]) == 0
    assert "ok" in capsys.readouterr().out
