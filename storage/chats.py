"""Group chats the bot is in: which unit each belongs to and what it receives."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from bot.rules.reach import UnitFacts
from storage.db import Database, Row, record
from storage.timefmt import SQL_NOW

KINDS = ("reminders", "notices", "bulletins")


@dataclass(frozen=True)
class Chat:
    chat_id: int
    title: str
    unit_id: int | None
    reminders: bool
    notices: bool
    bulletins: bool
    bound_by: int | None
    active: bool


_COLS = "chat_id, title, unit_id, reminders, notices, bulletins, bound_by, active"


def _chat(row: Row) -> Chat:
    flags = {name: bool(row[name]) for name in ("reminders", "notices", "bulletins", "active")}
    return record(Chat, row, **flags)


class ChatsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, chat_id: int) -> Chat | None:
        row = await self.db.fetchone(f"SELECT {_COLS} FROM chats WHERE chat_id = ?", (chat_id,))
        return _chat(row) if row else None

    async def seen(self, chat_id: int, title: str, *, active: bool = True, status: str = "member") -> None:
        """The bot is in (or was removed from) this group."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO chats (chat_id, title, active, bot_status) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET title = excluded.title, active = excluded.active,"
                " bot_status = excluded.bot_status,"
                f" updated_at = {SQL_NOW}",
                (chat_id, title, int(active), status),
            )

    async def bind(
        self, chat_id: int, title: str, unit_id: int, bound_by: int, kinds: Iterable[str] = KINDS
    ) -> Chat:
        kinds = set(kinds)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO chats (chat_id, title, unit_id, bound_by, reminders, notices, bulletins,"
                f" active, bound_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, {SQL_NOW})"
                " ON CONFLICT (chat_id) DO UPDATE SET"
                " title = excluded.title, unit_id = excluded.unit_id, bound_by = excluded.bound_by,"
                " reminders = excluded.reminders, notices = excluded.notices,"
                " bulletins = excluded.bulletins, active = 1,"
                f" bound_at = {SQL_NOW},"
                f" updated_at = {SQL_NOW}",
                (chat_id, title, unit_id, bound_by, *(int(k in kinds) for k in KINDS)),
            )
        chat = await self.get(chat_id)
        if chat is None:
            raise RuntimeError("unexpected: chat is None")
        return chat

    async def unbind(self, chat_id: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE chats SET unit_id = NULL, bound_by = NULL, bound_at = NULL,"
                f" updated_at = {SQL_NOW} WHERE chat_id = ?",
                (chat_id,),
            )

    async def set_active(self, chat_id: int, active: bool) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE chats SET active = ? WHERE chat_id = ?", (int(active), chat_id))

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> Chat | None:
        """A group became a supergroup: its id changed; keep its binding and settings.

        Telegram tells both chats (``migrate_to_chat_id`` in the old one, ``migrate_from_chat_id``
        in the new one) in either order, and the new chat may already have a row (the bot saw
        it first): the old row's binding wins over an unbound new row. Safe to repeat.
        """
        async with self.db.transaction() as conn:
            async with conn.execute(f"SELECT {_COLS} FROM chats WHERE chat_id = ?", (old_chat_id,)) as cur:
                old_row = await cur.fetchone()
            async with conn.execute(f"SELECT {_COLS} FROM chats WHERE chat_id = ?", (new_chat_id,)) as cur:
                new_row = await cur.fetchone()
            if old_row is not None and new_row is None:
                await conn.execute(
                    "UPDATE chats SET chat_id = ?, active = 1,"
                    f" updated_at = {SQL_NOW} WHERE chat_id = ?",
                    (new_chat_id, old_chat_id),
                )
            elif old_row is not None and new_row is not None:
                old, new = _chat(old_row), _chat(new_row)
                if new.unit_id is None and old.unit_id is not None:
                    await conn.execute(
                        "UPDATE chats SET unit_id = ?, bound_by = ?, reminders = ?, notices = ?,"
                        " bulletins = ?, active = 1, bound_at = (SELECT bound_at FROM chats"
                        " WHERE chat_id = ?) WHERE chat_id = ?",
                        (old.unit_id, old.bound_by, int(old.reminders), int(old.notices),
                         int(old.bulletins), old_chat_id, new_chat_id),
                    )
                await conn.execute("DELETE FROM chats WHERE chat_id = ?", (old_chat_id,))
        return await self.get(new_chat_id)

    async def bound_to(self, unit_ids: Iterable[int]) -> list[Chat]:
        """Groups bound to these units (active or not), for listings."""
        ids = list(unit_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = await self.db.fetchall(
            f"SELECT {_COLS} FROM chats WHERE unit_id IN ({marks}) ORDER BY unit_id, chat_id", ids
        )
        return [_chat(r) for r in rows]

    async def receiving(self, unit_ids: Iterable[int], kind: str) -> list[Chat]:
        """Active bound chats of these units that receive ``kind`` (reminders/notices/bulletins)."""
        if kind not in KINDS:
            raise ValueError(f"no kind of push {kind!r}")
        ids = list(unit_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = await self.db.fetchall(
            f"SELECT {_COLS} FROM chats WHERE active = 1 AND {kind} = 1 AND unit_id IN ({marks})"
            " ORDER BY chat_id",
            ids,
        )
        return [_chat(r) for r in rows]

    async def reach_facts(self, unit_ids: Iterable[int], kind: str = "reminders") -> dict[int, UnitFacts]:
        """What reaches each unit, in one query: its joined leaders (private chats), its bound
        groups receiving ``kind`` the bot is in (with who bound them), and those it was removed
        from. Read by :func:`bot.rules.reach.unit_reach`."""
        if kind not in KINDS:
            raise ValueError(f"no kind of push {kind!r}")
        ids = json.dumps(sorted({int(u) for u in unit_ids}))
        rows = await self.db.fetchall(
            "WITH ids(id) AS (SELECT value FROM json_each(?))"
            " SELECT c.unit_id, 0, c.chat_id, c.active, b.telegram_id FROM chats c"
            " LEFT JOIN people b ON b.id = c.bound_by AND b.active = 1"
            f" WHERE c.unit_id IN (SELECT id FROM ids) AND c.{kind} = 1"
            " UNION ALL"
            " SELECT p.unit_id, 1, p.telegram_id, 1, NULL FROM ids JOIN units u ON u.id = ids.id"
            " JOIN people p ON p.unit_id = u.id AND p.active = 1"
            " WHERE p.telegram_id IS NOT NULL AND p.role = CASE u.level"
            "  WHEN 'township' THEN 'township_admin' WHEN 'district' THEN 'district_admin'"
            "  ELSE 'secretary' END"
            " ORDER BY 1, 2, 3",
            (ids,),
        )
        parts: dict[int, dict[str, list[int]]] = {}
        for unit_id, part, chat_id, active, binder in rows:
            p = parts.setdefault(unit_id, {"leaders": [], "groups": [], "binders": [], "removed": []})
            if part == 1:
                p["leaders"].append(chat_id)
            elif active:
                p["groups"].append(chat_id)
                if binder is not None:
                    p["binders"].append(binder)
            else:
                p["removed"].append(chat_id)
        return {
            unit_id: UnitFacts(unit_id, tuple(p["leaders"]), tuple(p["groups"]), tuple(p["binders"]), tuple(p["removed"]))
            for unit_id, p in parts.items()
        }

    async def unit_names(self, unit_ids: Iterable[int]) -> list[tuple[int, str]]:
        """(id, name) of these units, by name: what a reach is listed by."""
        rows = await self.db.fetchall(
            "SELECT id, name FROM units WHERE id IN (SELECT value FROM json_each(?)) ORDER BY name, id",
            (json.dumps(sorted({int(u) for u in unit_ids})),),
        )
        return [(r["id"], r["name"]) for r in rows]
