"""Telegram users the bot has seen, and the language each one chose."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from storage.db import Database

CACHE_SIZE = 10_000


@dataclass(frozen=True)
class User:
    telegram_id: int
    first_name: str
    lang: str | None


class UsersRepo:
    def __init__(self, db: Database) -> None:
        self.db = db
        # telegram id -> (db generation, user, person): who sent an update, without a query
        self._who: OrderedDict[int, tuple[int, User, Any]] = OrderedDict()

    async def who(
        self, telegram_id: int, first_name: str, person_of: Callable[[int], Awaitable[Any]]
    ) -> tuple[User, Any]:
        """The user (recorded once, see :meth:`seen`) and ``person_of(telegram_id)``, cached.

        The cache is keyed by the database's ``generation``, which moves on any write to
        people or units (and on another process's commit, within a second); a language set
        here drops the user's entry. So a change is seen at the next update. Lookups that fail raise: nobody is taken for a stranger by mistake.
        """
        generation = await self.db.current_generation()
        cached = self._who.get(telegram_id)
        if cached is not None and cached[0] == generation:
            self._who.move_to_end(telegram_id)
            return cached[1], cached[2]
        user = await self.seen(telegram_id, first_name)
        person = await person_of(telegram_id)
        # kept under the generation read *before* the lookups: a change committed while they
        # ran (another update's write, or another process's) makes the next update look again
        self._who[telegram_id] = (generation, user, person)
        self._who.move_to_end(telegram_id)
        while len(self._who) > CACHE_SIZE:
            self._who.popitem(last=False)
        return user, person

    def cached_lang(self, telegram_id: int) -> str | None:
        """The language of a user seen lately (no query; None if unknown)."""
        cached = self._who.get(telegram_id)
        return cached[1].lang if cached is not None else None

    async def get(self, telegram_id: int) -> User | None:
        row = await self.db.fetchone(
            "SELECT telegram_id, first_name, lang FROM users WHERE telegram_id = ?", (telegram_id,)
        )
        return User(row["telegram_id"], row["first_name"], row["lang"]) if row else None

    async def seen(self, telegram_id: int, first_name: str) -> User:
        """Record the user (once); return them with their language."""
        user = await self.get(telegram_id)
        if user is not None:
            return user
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT OR IGNORE INTO users (telegram_id, first_name) VALUES (?, ?)",
                (telegram_id, first_name),
            )
        return User(telegram_id, first_name, None)

    async def set_lang(self, telegram_id: int, lang: str) -> None:
        self._who.pop(telegram_id, None)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (telegram_id, lang) VALUES (?, ?) "
                "ON CONFLICT (telegram_id) DO UPDATE SET lang = excluded.lang",
                (telegram_id, lang),
            )
        self._who.pop(telegram_id, None)

    async def langs(self, telegram_ids: list[int]) -> dict[int, str]:
        if not telegram_ids:
            return {}
        marks = ",".join("?" * len(telegram_ids))
        rows = await self.db.fetchall(
            f"SELECT telegram_id, lang FROM users WHERE lang IS NOT NULL AND telegram_id IN ({marks})",
            telegram_ids,
        )
        return {row["telegram_id"]: row["lang"] for row in rows}

    # -- the command menu last published to a private chat ----------------------------------------
    async def menu_digest(self, telegram_id: int) -> str | None:
        row = await self.db.fetchone("SELECT digest FROM published_menus WHERE telegram_id = ?", (telegram_id,))
        return row[0] if row else None

    async def set_menu_digest(self, telegram_id: int, digest: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO published_menus (telegram_id, digest) VALUES (?, ?)"
                " ON CONFLICT (telegram_id) DO UPDATE SET digest = excluded.digest",
                (telegram_id, digest),
            )

    async def published_menus_of(self, roles: tuple[str, ...]) -> list[tuple[int, str, str | None, str | None]]:
        """(telegram id, role, language, digest of the menu last published) of everyone active of
        these roles with a Telegram account: start-up's check of the admins' menus, one query."""
        marks = ",".join("?" * len(roles))
        rows = await self.db.fetchall(
            "SELECT p.telegram_id, p.role, u.lang, m.digest FROM people p"
            " LEFT JOIN users u ON u.telegram_id = p.telegram_id"
            " LEFT JOIN published_menus m ON m.telegram_id = p.telegram_id"
            f" WHERE p.active = 1 AND p.telegram_id IS NOT NULL AND p.role IN ({marks}) ORDER BY p.id",
            roles,
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]
