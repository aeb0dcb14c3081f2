"""PTB persistence in the bot's own SQLite file (JSON values, never pickle).

Conversation states, ``user_data``, ``chat_data``, ``bot_data`` and callback data go to the
``ptb_*`` tables through :class:`storage.state.StateRepo`. The application flushes after every
update (see ``bot.app``), so a crash or restart in the middle of a conversation resumes at the
same step.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from storage.state import StateRepo


class SQLitePersistence(BasePersistence[dict, dict, dict]):
    def __init__(self, repo: Callable[[], StateRepo], update_interval: float = 60) -> None:
        super().__init__(store_data=PersistenceInput(callback_data=False), update_interval=update_interval)
        self._repo = repo
        self._user_data: dict[int, dict] | None = None
        self._chat_data: dict[int, dict] | None = None
        self._bot_data: dict | None = None
        self._conversations: dict[str, ConversationDict] = {}

    @property
    def repo(self) -> StateRepo:
        return self._repo()

    async def get_user_data(self) -> dict[int, dict]:
        if self._user_data is None:
            self._user_data = await self.repo.user_data()
        return deepcopy(self._user_data)

    async def get_chat_data(self) -> dict[int, dict]:
        if self._chat_data is None:
            self._chat_data = await self.repo.chat_data()
        return deepcopy(self._chat_data)

    async def get_bot_data(self) -> dict:
        if self._bot_data is None:
            self._bot_data = await self.repo.singleton("ptb_bot_data") or {}
        return deepcopy(self._bot_data)

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        if name not in self._conversations:
            self._conversations[name] = await self.repo.conversations(name)
        return dict(self._conversations[name])

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        known = self._conversations.setdefault(name, {})
        if known.get(key) == new_state and (new_state is not None or key not in known):
            return
        if new_state is None:
            known.pop(key, None)
        else:
            known[key] = new_state
        await self.repo.put_conversation(name, key, new_state)

    async def update_user_data(self, user_id: int, data: dict) -> None:
        if self._user_data is not None and self._user_data.get(user_id) == data:
            return
        if self._user_data is not None:
            self._user_data[user_id] = deepcopy(data)
        await self.repo.put_user_data(user_id, data)

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        if self._chat_data is not None and self._chat_data.get(chat_id) == data:
            return
        if self._chat_data is not None:
            self._chat_data[chat_id] = deepcopy(data)
        await self.repo.put_chat_data(chat_id, data)

    async def update_bot_data(self, data: dict) -> None:
        if self._bot_data == data:
            return
        self._bot_data = deepcopy(data)
        await self.repo.put_singleton("ptb_bot_data", data)

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        if self._chat_data is not None:
            self._chat_data.pop(chat_id, None)
        await self.repo.drop_chat_data(chat_id)

    async def drop_user_data(self, user_id: int) -> None:
        if self._user_data is not None:
            self._user_data.pop(user_id, None)
        await self.repo.drop_user_data(user_id)

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict) -> None:
        return None

    async def flush(self) -> None:
        return None

