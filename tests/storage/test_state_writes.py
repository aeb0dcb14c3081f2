"""The persistence flush in one transaction and one thread hop: ``Database.run``,
``Database.write_batch`` and ``StateRepo.write``."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from storage.db import Database
from storage.state import StateRepo


@pytest.fixture
async def db(tmp_path: Path):
    db = await Database.open(tmp_path / "s.db")
    try:
        yield db
    finally:
        await db.close()


async def test_run_calls_the_function_in_the_database_thread(db: Database) -> None:
    def where(conn: sqlite3.Connection, n: int) -> tuple[int, int]:
        return threading.get_ident(), conn.execute("SELECT ?", (n,)).fetchone()[0]

    (first, one), (second, two) = await db.run(where, 1), await db.run(where, 2)
    assert first == second != threading.get_ident()
    assert (one, two) == (1, 2)


async def test_a_batch_is_one_transaction_and_one_hop(db: Database) -> None:
    before = db.stats.hops
    await db.write_batch([
        ("INSERT INTO ptb_user_data (user_id, data) VALUES (?, ?)", [(1, "{}"), (2, "{}")]),
        ("INSERT INTO ptb_chat_data (chat_id, data) VALUES (?, ?)", [(3, "{}")]),
        ("DELETE FROM ptb_chat_data WHERE chat_id = ?", []),  # nothing to run
    ])
    assert db.stats.hops - before == 1
    assert [r[0] for r in await db.fetchall("SELECT user_id FROM ptb_user_data ORDER BY 1")] == [1, 2]
    with pytest.raises(sqlite3.IntegrityError):  # the second statement fails: the first is undone
        await db.write_batch([
            ("INSERT INTO ptb_user_data (user_id, data) VALUES (?, ?)", [(4, "{}")]),
            ("INSERT INTO ptb_chat_data (chat_id, data) VALUES (?, ?)", [(3, "{}")]),
        ])
    assert [r[0] for r in await db.fetchall("SELECT user_id FROM ptb_user_data ORDER BY 1")] == [1, 2]
    assert not db.conn.in_transaction
    await db.write_batch([("INSERT INTO ptb_user_data (user_id, data) VALUES (?, ?)", [(4, "{}")])])  # usable


async def test_a_batch_waits_for_another_writer(db: Database, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.3, other.execute, "ROLLBACK")
    try:
        await db.write_batch([("INSERT INTO ptb_user_data (user_id, data) VALUES (?, ?)", [(9, "{}")])])
    finally:
        other.close()
    assert (await db.fetchone("SELECT count(*) FROM ptb_user_data"))[0] == 1


async def inbox(db: Database) -> dict[int, tuple[str, int]]:
    rows = await db.fetchall("SELECT update_id, data, done FROM inbox ORDER BY update_id")
    return {r[0]: (r[1], r[2]) for r in rows}


async def test_a_whole_flush_in_one_hop(db: Database) -> None:
    state = StateRepo(db)
    await db.write("INSERT INTO inbox (update_id, chat_key, data) VALUES (5, 7, 'five')")
    await db.write("INSERT INTO inbox (update_id, chat_key, data) VALUES (6, 7, 'six')")
    await state.write([("conv", "forms", "[9]", json.dumps("old")), ("user", "", "8", "{}")])
    before = db.stats.hops
    await state.write([
        ("inbox", "7", "10", "ten"),  # arrived meanwhile: stored, not done
        ("inbox_done", "", "11", "eleven"),  # the update this flush ends, not stored before
        ("inbox_done", "7", "6", "six again"),  # stored already (a redelivery): kept, and done
        ("user", "", "1", json.dumps({"a": "甲"}, ensure_ascii=False)),
        ("user_drop", "", "8", ""),
        ("chat", "", "-100", "{}"),
        ("bot", "", "1", '{"b": 1}'),
        ("conv", "forms", "[1, 1]", json.dumps("form:date")),
        ("conv_drop", "forms", "[9]", ""),
        ("done", "", "5", ""),
    ])
    assert db.stats.hops - before == 1
    assert await inbox(db) == {5: ("five", 1), 6: ("six", 1), 10: ("ten", 0), 11: ("eleven", 1)}
    assert await state.user_data() == {1: {"a": "甲"}}
    assert await state.chat_data() == {-100: {}}
    assert await state.singleton("ptb_bot_data") == {"b": 1}
    assert await state.conversations("forms") == {(1, 1): "form:date"}
    with pytest.raises(ValueError):
        await state.write([("nonsense", "", "1", "")])


async def test_a_done_row_older_than_a_day_is_a_new_update(db: Database) -> None:
    state = StateRepo(db)
    await db.write(
        "INSERT INTO inbox (update_id, chat_key, data, done, received_at) VALUES"
        " (1, 7, 'last week', 1, '2026-01-01T00:00:00Z'), (2, 7, 'just now', 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),"
        " (3, 7, 'last week too', 1, '2026-01-01T00:00:00Z')"
    )
    await state.write([("inbox", "7", "1", "new one"), ("inbox_done", "7", "2", "redelivered"),
                       ("inbox_done", "8", "3", "new and done")])
    assert await inbox(db) == {1: ("new one", 0), 2: ("just now", 1), 3: ("new and done", 1)}
    [(chat, received)] = await db.fetchall("SELECT chat_key, received_at FROM inbox WHERE update_id = 3")
    assert chat == 8 and received > "2026-01-02"


async def test_a_transaction_in_the_thread_moves_the_generations_of_what_it_wrote(db: Database) -> None:
    def add_unit(conn, name: str) -> int:
        conn.execute("SELECT count(*) FROM people JOIN units ON units.id = people.unit_id").fetchone()
        return conn.execute("INSERT INTO units (name, level) VALUES (?, 'district') RETURNING id", (name,)).fetchone()[0]

    def read(conn) -> int:
        return conn.execute("SELECT count(*) FROM units, people, reports").fetchone()[0]

    generation, reports, hops = db.generation, db.reports_generation, db.stats.hops
    assert await db.transact(read) == 0
    assert (db.generation, db.reports_generation) == (generation, reports)  # a read changes nothing
    assert await db.transact(add_unit, "示例区") > 0
    assert (db.generation, db.reports_generation) == (generation + 1, reports)
    assert db.stats.hops - hops == 2
