"""Storage for the bot framework's own state: user/chat/bot data and conversation states.

Values are JSON text (never pickle): what the handlers keep in ``user_data`` must be plain
JSON data (dicts, lists, strings, numbers).
"""

from __future__ import annotations

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
        update id, data = its JSON). All in one transaction and one thread hop
        (``Database.write_batch``): the inbox rows first, then the state, then the "done"
        marks, each kind one prepared statement (``executemany``).

        An inbox row already there is kept (a redelivery) unless it is a done row older than a
        day (ids come round again, as in ``InboxRepo.add``); ``inbox_done`` marks it done.
        """
        if not rows:
            return
        by_kind: dict[str, list[tuple]] = {}
        for kind, name, key, data in rows:
            if kind not in _WRITES:
                raise ValueError(f"no state write of kind {kind!r}")
            by_kind.setdefault(kind, []).append(_params(kind, name, key, data))
        statements = []
        for kind, sql in _WRITES.items():
            params = by_kind.get(kind)
            if params:
                statements.append((sql, params))
        await self.db.write_batch(statements)


def _params(kind: str, name: str, key: str, data: str) -> tuple:
    if kind in ("inbox", "inbox_done"):
        return (int(key), int(name) if name else None, data)
    if kind in ("user", "chat"):
        return (int(key), data)
    if kind in ("user_drop", "chat_drop", "done"):
        return (int(key),)
    if kind == "bot":
        return (data,)
    if kind == "conv":
        return (name, key, data)
    return (name, key)  # conv_drop


# an inbox row already there is kept (a redelivery) unless it is a done row older than a day
_OLD_DONE_ROW = "inbox.done = 1 AND inbox.received_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')"
_INBOX_ROW = "INSERT INTO inbox (update_id, chat_key, data, done) VALUES (?, ?, ?, {done}) ON CONFLICT (update_id)"
# one statement per kind, in the order they run (inbox rows before the marks of their updates)
_WRITES = {
    "inbox": _INBOX_ROW.format(done=0) + " DO UPDATE SET chat_key = excluded.chat_key, data = excluded.data,"
    f" received_at = excluded.received_at, done = 0 WHERE {_OLD_DONE_ROW}",
    # done in any case: a row kept has its data, the others the new one
    "inbox_done": _INBOX_ROW.format(done=1) + " DO UPDATE SET"
    f" chat_key = iif({_OLD_DONE_ROW}, excluded.chat_key, inbox.chat_key),"
    f" data = iif({_OLD_DONE_ROW}, excluded.data, inbox.data),"
    f" received_at = iif({_OLD_DONE_ROW}, excluded.received_at, inbox.received_at), done = 1",
    "user": "INSERT INTO ptb_user_data (user_id, data) VALUES (?, ?)"
    " ON CONFLICT (user_id) DO UPDATE SET data = excluded.data",
    "user_drop": "DELETE FROM ptb_user_data WHERE user_id = ?",
    "chat": "INSERT INTO ptb_chat_data (chat_id, data) VALUES (?, ?)"
    " ON CONFLICT (chat_id) DO UPDATE SET data = excluded.data",
    "chat_drop": "DELETE FROM ptb_chat_data WHERE chat_id = ?",
    "bot": "INSERT INTO ptb_bot_data (id, data) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
    "conv": "INSERT INTO ptb_conversations (name, key, state) VALUES (?, ?, ?)"
    " ON CONFLICT (name, key) DO UPDATE SET state = excluded.state",
    "conv_drop": "DELETE FROM ptb_conversations WHERE name = ? AND key = ?",
    "done": "UPDATE inbox SET done = 1 WHERE update_id = ?",
}
