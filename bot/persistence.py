"""PTB persistence in the bot's own SQLite file (JSON values, never pickle).

Conversation states, ``user_data``, ``chat_data``, ``bot_data`` go to the ``ptb_*`` tables
through :class:`storage.state.StateRepo`. PTB's ``update_*`` calls only *stage* the changes in
memory; :meth:`SQLitePersistence.commit` writes everything staged in one transaction and one
thread hop (``StateRepo.write``), together with the "done" mark of the update it finishes,
or its inbox row as done when that row was not stored yet (see ``bot.inbox``). The application commits after every update, so a crash or restart in the
middle of a conversation resumes at the same step, and the update is handled again if its
effects were not all made durable.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from copy import deepcopy
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from storage.state import StateRepo

Row = tuple[str, str, str, str]


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, tuples, scalars), much quicker than
    :func:`copy.deepcopy` (no memo); anything else is copied by :func:`copy.deepcopy`."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict or kind is UserData:
        return {k: copy_json(v) for k, v in value.items()}
    if kind is list:
        return [copy_json(v) for v in value]
    if kind is tuple:
        return tuple(copy_json(v) for v in value)
    return deepcopy(value)


class Snapshot(str):
    """A ``user_data`` as it is stored: its JSON text. PTB deep-copies the data of every
    update's user for the persistence; the text is that copy (made in C, and compared and
    written as it is, so one ``json.dumps`` per update is all the copying there is)."""


def snapshot(data: Any) -> str:
    return data if isinstance(data, Snapshot) else json.dumps(data, ensure_ascii=False)


class UserData(dict):
    """``context.user_data``: PTB deep-copies it for the persistence after every update that
    touched it; the data is JSON (it is stored so), so the copy is its :class:`Snapshot`."""

    def __deepcopy__(self, memo: dict) -> Snapshot:
        return Snapshot(json.dumps(self, ensure_ascii=False))
InboxRow = tuple[int, int | None, str]  # update id, chat key, JSON (bot.inbox.Row)


def staging(method: Callable[..., None]) -> Callable[..., Awaitable[None]]:
    """One of PTB's ``update_*`` / ``drop_*`` calls, whose work here is synchronous (it stages
    rows in memory): it returns a future already done rather than a coroutine.

    PTB gathers these calls after every update (``Application.update_persistence``): a
    coroutine becomes a task there, run one event-loop turn later and collected one more turn
    later; a done future is neither (three tasks and a loop turn less per update). An error is
    set on the future, so PTB hands it to the error handlers as it did with the coroutine's.
    """

    @functools.wraps(method)
    def call(self: SQLitePersistence, *args: Any, **kwargs: Any) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        try:
            method(self, *args, **kwargs)
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(None)
        return future

    return call


class SQLitePersistence(BasePersistence[dict, dict, dict]):
    def __init__(self, repo: Callable[[], StateRepo], update_interval: float = 60) -> None:
        # bot_data is not used by the bot: not storing it spares a copy and a write per update
        super().__init__(
            store_data=PersistenceInput(bot_data=False, callback_data=False), update_interval=update_interval
        )
        self._repo = repo
        self._user_data: dict[int, dict] | None = None
        self._user_text: dict[int, str] = {}  # the stored text of each user's data, once known
        self._chat_data: dict[int, dict] | None = None
        self._bot_data: dict | None = None
        self._states_of: dict[str, ConversationDict] = {}
        # what is waiting for the next commit, by the row it replaces (the newest wins)
        self._staged: dict[tuple[str, str, str], Row] = {}

    @property
    def repo(self) -> StateRepo:
        return self._repo()

    @property
    def staged(self) -> int:
        """How many writes wait for :meth:`commit`."""
        return len(self._staged)

    def _stage(self, table: str, name: str, key: str, row: Row) -> None:
        self._staged[(table, name, key)] = row

    @property
    def carries_inbox(self) -> bool:
        """Whether :meth:`commit` can store inbox rows (``arrived``) in its transaction."""
        return self.repo.carries_inbox

    async def commit(self, *, done: int | None = None, arrived: Sequence[InboxRow] = ()) -> None:
        """Write everything staged (and mark inbox update ``done``) in one transaction (one thread hop).

        ``arrived``: inbox rows not stored yet (see ``bot.inbox.InboxWriter``), written first
        in the same transaction, the one of ``done`` as done already (only if
        :attr:`carries_inbox`). On failure the staged rows (with the "done" mark) go back to
        the stage unless something newer replaced them, so the next commit writes them all, and
        the error propagates (the caller gives ``arrived`` back to the inbox writer).
        """
        taken, self._staged = self._staged, {}
        mark = ("done", "", str(done))
        if done is not None:
            taken[mark] = ("done", "", str(done), "")
        rows: list[Row] = []
        for update_id, chat_key, data in arrived:
            kind = "inbox"
            if update_id == done:
                kind = "inbox_done"
                del taken[mark]  # the row goes in done
            rows.append((kind, "" if chat_key is None else str(chat_key), str(update_id), data))
        try:
            await self.repo.write(rows + list(taken.values()))
        except BaseException:
            if done is not None:
                taken[mark] = ("done", "", str(done), "")
            for key, row in taken.items():
                self._staged.setdefault(key, row)
            raise

    async def get_user_data(self) -> dict[int, dict]:
        if self._user_data is None:
            self._user_data = await self.repo.user_data()
        for user_id, text in self._user_text.items():  # the newest data, kept as text since
            self._user_data[user_id] = json.loads(text)
        return {user_id: UserData(copy_json(data)) for user_id, data in self._user_data.items()}

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
        if name not in self._states_of:
            self._states_of[name] = await self.repo.conversations(name)
        return dict(self._states_of[name])

    @staging
    def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:  # type: ignore[override]
        known = self._states_of.setdefault(name, {})
        if known.get(key) == new_state and (new_state is not None or key not in known):
            return
        encoded = json.dumps(list(key))
        if new_state is None:
            known.pop(key, None)
            self._stage("conv", name, encoded, ("conv_drop", name, encoded, ""))
        else:
            known[key] = new_state
            self._stage("conv", name, encoded, ("conv", name, encoded, json.dumps(new_state)))

    def stage_user_data(self, user_id: int, data: dict) -> None:
        """Stage a user's data for the next commit unless it is what is stored already."""
        text = snapshot(data)
        known = self._user_text.get(user_id)
        if known is None and self._user_data is not None and user_id in self._user_data:
            known = json.dumps(self._user_data[user_id], ensure_ascii=False)
        if known == text:
            return
        self._user_text[user_id] = text
        self._stage("user", "", str(user_id), ("user", "", str(user_id), text))

    @staging
    def update_user_data(self, user_id: int, data: dict) -> None:  # type: ignore[override]
        # PTB hands over the copy it made for this call (a Snapshot from UserData): no other
        self.stage_user_data(user_id, data)

    def stage_chat_data(self, chat_id: int, data: dict) -> None:
        """Stage a chat's data (a copy of it) for the next commit unless it is stored already."""
        if self._chat_data is not None:
            if self._chat_data.get(chat_id) == data:
                return
            self._chat_data[chat_id] = copy_json(data)
        self._stage("chat", "", str(chat_id), ("chat", "", str(chat_id), json.dumps(data, ensure_ascii=False)))

    @staging
    def update_chat_data(self, chat_id: int, data: dict) -> None:  # type: ignore[override]
        self.stage_chat_data(chat_id, data)

    @staging
    def update_bot_data(self, data: dict) -> None:  # type: ignore[override]
        if self._bot_data == data:
            return
        self._bot_data = data
        self._stage("bot", "", "1", ("bot", "", "1", json.dumps(data, ensure_ascii=False)))

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    @staging
    def drop_chat_data(self, chat_id: int) -> None:  # type: ignore[override]
        if self._chat_data is not None:
            self._chat_data.pop(chat_id, None)
        self._stage("chat", "", str(chat_id), ("chat_drop", "", str(chat_id), ""))

    @staging
    def drop_user_data(self, user_id: int) -> None:  # type: ignore[override]
        if self._user_data is not None:
            self._user_data.pop(user_id, None)
        self._user_text.pop(user_id, None)
        self._stage("user", "", str(user_id), ("user_drop", "", str(user_id), ""))

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict) -> None:
        return None

    async def flush(self) -> None:
        await self.commit()
