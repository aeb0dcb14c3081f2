"""Telegram users the bot has seen, and the language each one chose."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True)
class User:
    telegram_id: int
    first_name: str
    lang: str | None


class UsersRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, telegram_id: int) -> User | None:
        row = await self.db.fetchone(
            "SELECT telegram_id, first_name, lang FROM users WHERE telegram_id = ?", (telegram_id,)
        )
        return User(row[0], row[1], row[2]) if row else None

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
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (telegram_id, lang) VALUES (?, ?) "
                "ON CONFLICT (telegram_id) DO UPDATE SET lang = excluded.lang",
                (telegram_id, lang),
            )

    async def langs(self, telegram_ids: list[int]) -> dict[int, str]:
        if not telegram_ids:
            return {}
        marks = ",".join("?" * len(telegram_ids))
        rows = await self.db.fetchall(
            f"SELECT telegram_id, lang FROM users WHERE lang IS NOT NULL AND telegram_id IN ({marks})",
            telegram_ids,
        )
        return {row[0]: row[1] for row in rows}
