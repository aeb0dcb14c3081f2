"""Storage for the bot framework's own state: user/chat/bot data and conversation states.

Values are JSON text (never pickle): what the handlers keep in ``user_data`` must be plain
JSON data (dicts, lists, strings, numbers).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from storage.db import Database


class StateRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _load_map(self, table: str, key: str) -> dict[int, Any]:
        rows = await self.db.fetchall(f"SELECT {key} AS id, data FROM {table}")
        return {int(row["id"]): json.loads(row["data"]) for row in rows}

    async def user_data(self) -> dict[int, Any]:
        return await self._load_map("ptb_user_data", "user_id")

    async def chat_data(self) -> dict[int, Any]:
        return await self._load_map("ptb_chat_data", "chat_id")

    async def _put(self, table: str, key: str, ident: int, data: Any) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO {table} ({key}, data) VALUES (?, ?) "
                f"ON CONFLICT ({key}) DO UPDATE SET data = excluded.data",
                (ident, json.dumps(data, ensure_ascii=False)),
            )

    async def _drop(self, table: str, key: str, ident: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(f"DELETE FROM {table} WHERE {key} = ?", (ident,))

    async def put_user_data(self, user_id: int, data: Any) -> None:
        await self._put("ptb_user_data", "user_id", user_id, data)

    async def put_chat_data(self, chat_id: int, data: Any) -> None:
        await self._put("ptb_chat_data", "chat_id", chat_id, data)

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop("ptb_user_data", "user_id", user_id)

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._drop("ptb_chat_data", "chat_id", chat_id)

    async def singleton(self, table: str) -> Any | None:
        if table not in ("ptb_bot_data", "ptb_callback_data"):
            raise ValueError(f"no singleton table {table!r}")
        row = await self.db.fetchone(f"SELECT data FROM {table} WHERE id = 1")
        return json.loads(row["data"]) if row else None

    async def put_singleton(self, table: str, data: Any) -> None:
        if table not in ("ptb_bot_data", "ptb_callback_data"):
            raise ValueError(f"no singleton table {table!r}")
        await self._put(table, "id", 1, data)

    async def conversations(self, name: str) -> dict[tuple[int | str, ...], Any]:
        rows = await self.db.fetchall(
            "SELECT key, state FROM ptb_conversations WHERE name = ?", (name,)
        )
        return {tuple(json.loads(row["key"])): json.loads(row["state"]) for row in rows}

    async def put_conversation(self, name: str, key: tuple, state: Any | None) -> None:
        encoded_key = json.dumps(list(key))
        async with self.db.transaction() as conn:
            if state is None:
                await conn.execute(
                    "DELETE FROM ptb_conversations WHERE name = ? AND key = ?", (name, encoded_key)
                )
            else:
                await conn.execute(
                    "INSERT INTO ptb_conversations (name, key, state) VALUES (?, ?, ?) "
                    "ON CONFLICT (name, key) DO UPDATE SET state = excluded.state",
                    (name, encoded_key, json.dumps(state)),
                )

    @property
    def carries_inbox(self) -> bool:
        """Whether :meth:`write` takes inbox rows (kinds ``inbox``, ``inbox_done``)."""
        return self.db.flush_carries_inbox

    async def write(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        """Apply a whole persistence flush at once: rows ``(kind, name, key, data)``.

        kind is ``user``/``chat`` (key = id, data = JSON), ``user_drop``/``chat_drop``,
        ``bot`` (data), ``conv`` (name, key = JSON list, data = JSON state), ``conv_drop``,
        ``done`` (key = an inbox update id), or, when :attr:`carries_inbox`, ``inbox`` /
        ``inbox_done`` (an inbox row stored, not done / done: name = chat key or '', key =
        update id, data = its JSON). Up to :data:`ROWS_PER_STATEMENT` rows are one
        INSERT into the ``state_writes`` view, whose triggers route each row: one statement,
        one implicit transaction, one thread hop. More rows go in one explicit transaction.
        """
        if not rows:
            return
        if len(rows) <= ROWS_PER_STATEMENT:
            await self.db.write(_state_insert(len(rows)), [v for row in rows for v in row])
            return
        async with self.db.transaction() as conn:
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                chunk = rows[start : start + ROWS_PER_STATEMENT]
                await conn.execute(_state_insert(len(chunk)), [v for row in chunk for v in row])


ROWS_PER_STATEMENT = 4000  # 4 parameters a row, under SQLite's 32766


@functools.lru_cache(maxsize=64)
def _state_insert(n: int) -> str:
    return "INSERT INTO state_writes (kind, name, key, data) VALUES " + ", ".join(["(?, ?, ?, ?)"] * n)
