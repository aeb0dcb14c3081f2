"""Drive the real Application with real ``Update`` objects, offline.

The tests and the console both use :class:`Simulator`: it builds updates the way Telegram
would send them (messages, button presses, photos, locations, documents, group events), feeds
them through the application's own update processor (so ordering and persistence behave as in
production) and returns what the bot answered, as recorded by :class:`bot.fakebot.FakeBotAPI`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.request import BaseRequest

from bot.fakebot import BOT_ID, BOT_USERNAME, Call, FakeBotAPI


@dataclass
class Person:
    id: int
    first_name: str
    language_code: str = "zh-hans"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }


class Simulator:
    def __init__(self, app: Any, api: FakeBotAPI, *, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.api = api
        self.clock = clock
        self._update_ids = itertools.count(1)
        self.people: dict[int, Person] = {}
        self.group_titles: dict[int, str] = {}
        self.started = False
        # True: every update first goes into the application's durable inbox, as the polling
        # and webhook paths do (``CadreApplication.accept_update``)
        self.durable = False
        # True (a started application): every update goes the way PTB's polling takes it, put
        # on the application's ``update_queue`` (the bot's :class:`bot.inbox.DurableQueue`
        # stores it) and handled by PTB's update fetcher in a task of its own; ``feed`` waits
        # for the queue to be done with it (``Queue.join``)
        self.via_queue = False

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, *, jobs: bool = False) -> Simulator:
        await self.app.initialize()
        if self.app.post_init:
            await self.app.post_init(self.app)
        if jobs:
            await self.app.start()
        self.started = True
        return self

    async def stop(self) -> None:
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        self.started = False

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- who ------------------------------------------------------------------------------
    def user(self, user_id: int, first_name: str | None = None) -> Person:
        if user_id not in self.people:
            self.people[user_id] = Person(user_id, first_name or f"User {user_id}")
        elif first_name:
            self.people[user_id].first_name = first_name
        return self.people[user_id]

    def _chat(self, chat_id: int, user: Person) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": user.first_name}
        return {"id": chat_id, "type": "supergroup", "title": self.group_titles.get(chat_id, f"Group {-chat_id}")}

    # -- feeding updates ------------------------------------------------------------------
    async def feed(self, payload: dict[str, Any], *, settle: bool = True) -> list[Call]:
        """Process one raw update (a Bot API JSON dict without update_id); return the calls
        (with ``settle``, also those of the work it started in the background)."""
        before = len(self.api.calls)
        data = {"update_id": next(self._update_ids), **payload}
        if self.via_queue:
            await self._through_queue(data)
        else:
            update = Update.de_json(data, self.app.bot)
            if self.durable and not self.app.admit_update(update):
                return []  # a redelivery the inbox holds
            await self._process(update, data)
        if settle:
            await self.settle()
        return self.api.calls[before:]

    async def _process(self, update: Update, data: dict[str, Any]) -> None:
        """Straight to the update processor; ``durable``: as DurableQueue.put, queued (the
        application's task handles it), then stored."""
        processing = self.app.update_processor.process_update(update, self.app.process_update(update))
        if not self.durable:
            await processing
            return
        handling = asyncio.ensure_future(processing)
        try:
            await self.app.store_update(update, json.dumps(data, ensure_ascii=False))
        finally:
            await handling

    async def _through_queue(self, data: dict[str, Any]) -> None:
        """As polling: the getUpdates answer (its bytes, as they come from Telegram) parsed as
        the application's getUpdates connection parses it (the bot's keeps each update's text
        for its inbox row; a bare PTB application's is ``BaseRequest.parse_json_payload``),
        the update read from it, put on the queue, then until PTB's fetcher has handled it."""
        answer = json.dumps({"ok": True, "result": [data]}, ensure_ascii=False).encode()
        raw = getattr(self.app, "raw_updates", None)
        parsed = raw.answer_of(answer) if raw is not None else BaseRequest.parse_json_payload(answer)
        update = Update.de_json(parsed["result"][0], self.app.bot)
        queue = self.app.update_queue
        await queue.put(update)
        await queue.join()

    async def settle(self) -> None:
        """Wait for work the update started in the background (e.g. a handed-over command)."""
        services = getattr(self.app, "services", None)  # a bare Application (benchmarks) has none
        background = services.background if services is not None else ()
        while background:
            await asyncio.gather(*list(background), return_exceptions=True)

    def _message(self, user_id: int, chat_id: int | None, **content: Any) -> dict[str, Any]:
        user = self.user(user_id)
        chat_id = user_id if chat_id is None else chat_id
        return {
            "message_id": self.api.next_message_id(chat_id),
            "date": int(self.clock()),
            "chat": self._chat(chat_id, user),
            "from": user.as_dict(),
            **content,
        }

    async def send(self, text: str, user_id: int, chat_id: int | None = None, *, settle: bool = True) -> list[Call]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split()[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        payload = {"message": self._message(user_id, chat_id, **content)}
        if not settle:  # (a subclass's feed may not take the keyword: RemoteUsers)
            return await self.feed(payload, settle=False)
        return await self.feed(payload)

    async def photo(
        self,
        user_id: int,
        chat_id: int | None = None,
        *,
        data: bytes = b"\x89PNG fake",
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> list[Call]:
        file = self.api.store_file(data)
        photo = [file | {"width": 1280, "height": 960}]
        content: dict[str, Any] = {"photo": photo}
        if caption:
            content["caption"] = caption
        if media_group_id:
            content["media_group_id"] = media_group_id
        return await self.feed({"message": self._message(user_id, chat_id, **content)})

    async def location(self, lat: float, lon: float, user_id: int, chat_id: int | None = None) -> list[Call]:
        content = {"location": {"latitude": lat, "longitude": lon}}
        return await self.feed({"message": self._message(user_id, chat_id, **content)})

    async def document(
        self, data: bytes, file_name: str, user_id: int, chat_id: int | None = None, mime_type: str | None = None
    ) -> list[Call]:
        file = self.api.store_file(data)
        content = {"document": file | {"file_name": file_name, "mime_type": mime_type or "application/octet-stream"}}
        return await self.feed({"message": self._message(user_id, chat_id, **content)})

    async def voice(self, user_id: int, chat_id: int | None = None, *, duration: int = 3) -> list[Call]:
        file = self.api.store_file(b"OggS fake voice")
        content = {"voice": file | {"duration": duration, "mime_type": "audio/ogg"}}
        return await self.feed({"message": self._message(user_id, chat_id, **content)})

    async def sticker(self, user_id: int, chat_id: int | None = None) -> list[Call]:
        file = self.api.store_file(b"sticker")
        sticker = file | {"width": 512, "height": 512, "is_animated": False, "is_video": False, "type": "regular"}
        return await self.feed({"message": self._message(user_id, chat_id, sticker=sticker)})

    async def edit(self, text: str, user_id: int, chat_id: int | None = None) -> list[Call]:
        message = self._message(user_id, chat_id, text=text) | {"edit_date": int(self.clock())}
        return await self.feed({"edited_message": message})

    # -- buttons --------------------------------------------------------------------------
    def last_keyboard(self, chat_id: int) -> tuple[Call | None, list[dict[str, Any]]]:
        """The newest message in the chat with buttons, and its buttons."""
        for call in reversed(self.api.calls):
            if call.chat_id == chat_id and call.method != "answerCallbackQuery":
                buttons = call.buttons()
                if buttons:
                    return call, buttons
        return None, []

    async def press(self, label: str | int, user_id: int, chat_id: int | None = None) -> list[Call]:
        """Press a button of the newest keyboard: by 1-based number, exact text or callback data."""
        chat_id = user_id if chat_id is None else chat_id
        call, buttons = self.last_keyboard(chat_id)
        if call is None:
            raise LookupError(f"no keyboard in chat {chat_id}")
        button = self._find(buttons, label)
        if "callback_data" not in button:
            return await self.send(button["text"], user_id, chat_id)
        return await self.click(button["callback_data"], user_id, chat_id, message_call=call)

    @staticmethod
    def _find(buttons: list[dict[str, Any]], label: str | int) -> dict[str, Any]:
        if isinstance(label, int) or (isinstance(label, str) and label.isdigit()):
            index = int(label) - 1
            if not 0 <= index < len(buttons):
                raise LookupError(f"there is no button {label}")
            return buttons[index]
        for button in buttons:
            if button.get("text") == label or button.get("callback_data") == label:
                return button
        for button in buttons:
            if label in button.get("text", ""):
                return button
        raise LookupError(f"no button {label!r} among {[b.get('text') for b in buttons]}")

    async def click(
        self, data: str, user_id: int, chat_id: int | None = None, *, message_call: Call | None = None
    ) -> list[Call]:
        """Send a callback query with any payload (also a forged one)."""
        chat_id = user_id if chat_id is None else chat_id
        if message_call is None:
            message_call, _ = self.last_keyboard(chat_id)
        message = None
        if message_call is not None and isinstance(message_call.result, dict):
            message = self.api.message(chat_id, message_call.result["message_id"]) or message_call.result
        if message is None:
            message = self._message(BOT_ID, chat_id, text="…")
        user = self.user(user_id)
        query = {
            "id": str(next(self._update_ids) * 7919),
            "from": user.as_dict(),
            "chat_instance": str(chat_id),
            "data": data,
            "message": message,
        }
        return await self.feed({"callback_query": query})

    # -- groups ---------------------------------------------------------------------------
    async def bot_added(self, chat_id: int, by_user: int, *, title: str | None = None, status: str = "member") -> list[Call]:
        if title:
            self.group_titles[chat_id] = title
        return await self._my_chat_member(chat_id, by_user, "left", status)

    async def bot_removed(self, chat_id: int, by_user: int) -> list[Call]:
        return await self._my_chat_member(chat_id, by_user, "member", "kicked")

    async def _my_chat_member(self, chat_id: int, by_user: int, old: str, new: str) -> list[Call]:
        user = self.user(by_user)
        bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Cadre", "username": BOT_USERNAME}

        def member(status: str) -> dict[str, Any]:
            base: dict[str, Any] = {"status": status, "user": bot_user}
            if status == "kicked":
                base["until_date"] = 0
            if status == "administrator":
                base |= {
                    "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                    "can_delete_messages": True, "can_manage_video_chats": False,
                    "can_restrict_members": False, "can_promote_members": False,
                    "can_change_info": False, "can_invite_users": True, "can_post_stories": False,
                    "can_edit_stories": False, "can_delete_stories": False,
                }
            return base

        payload = {
            "chat": self._chat(chat_id, user),
            "from": user.as_dict(),
            "date": int(self.clock()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return await self.feed({"my_chat_member": payload})

    async def migrate_group(self, old_chat_id: int, new_chat_id: int, by_user: int) -> list[Call]:
        """A group upgraded to a supergroup: Telegram sends migrate_to_chat_id in the old chat."""
        user = self.user(by_user)
        message = {
            "message_id": self.api.next_message_id(old_chat_id),
            "date": int(self.clock()),
            "chat": {"id": old_chat_id, "type": "group", "title": self.group_titles.get(old_chat_id, "group")},
            "from": user.as_dict(),
            "migrate_to_chat_id": new_chat_id,
        }
        return await self.feed({"message": message})


def texts(calls: list[Call]) -> list[str]:
    """The texts (or captions) of the messages among ``calls``, in order."""
    return [c.text for c in calls if c.method in {"sendMessage", "editMessageText", "sendPhoto", "sendDocument"}]
