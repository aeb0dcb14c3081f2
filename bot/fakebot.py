"""An in-memory Telegram Bot API.

``FakeBotAPI`` is a :class:`telegram.request.BaseRequest` that answers the Bot API methods the
bot uses with well-formed results and records every call, so the real ``Application`` runs
with no network: the tests and the offline console both use it.

Optional knobs for benchmarks:

* ``latency``: seconds every answer takes (simulates Telegram's round trip);
* ``limits``: simulate Telegram's flood limits as sliding windows and answer 429 with
  ``retry_after`` when a window would be exceeded;
* ``clock``: the time source for those windows (defaults to ``time.monotonic``).

Fault injection: ``accept_then_time_out[chat_id] = n`` makes the next ``n`` sends to that
chat be accepted (recorded, the message exists) and then answered with
:exc:`telegram.error.TimedOut`, as when Telegram's answer is lost on the way back.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

BOT_ID = 7000000001
BOT_USERNAME = "cadre_demo_bot"


@dataclass
class Call:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]
    result: Any = None
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None and str(value).lstrip("-").isdigit() else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        return markup

    def buttons(self) -> list[dict[str, Any]]:
        """Inline buttons (dicts with text/callback_data/url) or reply keyboard buttons."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        out: list[dict[str, Any]] = []
        for row in rows:
            for button in row:
                out.append(button if isinstance(button, dict) else {"text": str(button)})
        return out


@dataclass
class FloodLimits:
    """Telegram's documented limits, as sliding windows."""

    per_second_overall: int = 30
    per_minute_per_group: int = 20
    per_second_per_chat: int = 1  # groups; a private chat takes a short burst:
    private_burst: int = 3  # ...this many messages in any window of this many seconds


ALERT_MAX = 200  # Telegram's limit on answerCallbackQuery's text (an alert or a toast)
SENDING_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendMediaGroup",
        "sendDocument",
        "sendLocation",
        "sendVoice",
        "copyMessage",
        "forwardMessage",
    }
)


class FakeBotAPI(BaseRequest):
    """Answers Bot API calls in memory and keeps a log of them."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        limits: FloodLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        forbidden_chats: set[int] | None = None,
    ) -> None:
        self.latency = latency
        self.limits = limits
        self.clock = clock
        self.calls: list[Call] = []
        self.forbidden_chats: set[int | str] = set(forbidden_chats or ())
        self.too_many_requests = 0
        self.accept_then_time_out: dict[int, int] = {}
        self.timed_out: list[Call] = []  # sends accepted but answered with TimedOut
        self.files: dict[str, bytes] = {}
        self._message_ids: dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._file_ids = itertools.count(1)
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._sent_overall: deque[float] = deque()
        self._sent_per_chat: dict[int | str, deque[float]] = defaultdict(deque)

    # -- BaseRequest ----------------------------------------------------------------------
    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:  # File.download_*: answer with the stored bytes
            return 200, self.files.get(url.rsplit("/", 1)[-1], b"")
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        files: dict[str, bytes] = {}
        if request_data and request_data.contains_files:
            for name, value in (request_data.multipart_data or {}).items():
                if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[1], bytes):
                    files[name] = value[1]
        if self.latency:
            await asyncio.sleep(self.latency)
        call = Call(api_method, params, files=files)
        refusal = self._refusal(api_method, params)
        if refusal is not None:
            call.result = refusal
            self.calls.append(call)
            return refusal[0], json.dumps(refusal[1]).encode()
        handler = getattr(self, f"_api_{api_method}", None)
        result = handler(params, files) if handler else True
        call.result = result
        self.calls.append(call)
        if api_method in SENDING_METHODS and self.accept_then_time_out.get(call.chat_id or 0, 0) > 0:
            self.accept_then_time_out[call.chat_id or 0] -= 1
            self.timed_out.append(call)
            raise TimedOut("the answer was lost after Telegram accepted the message")
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # -- test helpers ---------------------------------------------------------------------
    def clear(self) -> None:
        self.calls.clear()

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Calls that put something in front of a user (messages, photos, edits)."""
        kinds = SENDING_METHODS | {"editMessageText", "editMessageReplyMarkup"}
        return [
            c
            for c in self.calls
            if c.method in kinds
            and not isinstance(c.result, tuple)
            and (chat_id is None or c.chat_id == chat_id)
        ]

    def next_message_id(self, chat_id: int) -> int:
        """Message ids are per chat and shared by the bot's and the users' messages."""
        return next(self._message_ids[chat_id])

    def store_file(self, data: bytes) -> dict[str, Any]:
        """Keep a file a user "uploaded"; returns file_id/file_unique_id/file_size."""
        return self._new_file(data)

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        return self._messages.get((chat_id, message_id))

    # -- flood limits ---------------------------------------------------------------------
    def _refusal(self, api_method: str, params: dict[str, Any]) -> tuple[int, dict] | None:
        if api_method == "answerCallbackQuery" and len(str(params.get("text") or "")) > ALERT_MAX:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: MESSAGE_TOO_LONG"}
        if api_method not in SENDING_METHODS:
            return None
        raw = params.get("chat_id", 0)
        chat_id: int | str = int(raw) if str(raw).lstrip("-").isdigit() else str(raw)
        is_group = isinstance(chat_id, str) or chat_id < 0  # "@channel" or a group id
        if chat_id in self.forbidden_chats:
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was kicked from the group chat",
            }
        if self.limits is None:
            return None
        now = self.clock()
        windows = [(self._sent_overall, 1.0, self.limits.per_second_overall)]
        chat_window = self._sent_per_chat[chat_id]
        if is_group:
            windows.append((chat_window, 1.0, self.limits.per_second_per_chat))
            windows.append((chat_window, 60.0, self.limits.per_minute_per_group))
        else:
            burst = self.limits.private_burst
            windows.append((chat_window, float(burst), burst))
        for window, span, limit in windows:
            recent = [t for t in window if now - t < span]
            if len(recent) >= limit:
                self.too_many_requests += 1
                retry_after = max(1, int(span - (now - recent[-limit])) + 1)
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                }
        self._sent_overall.append(now)
        chat_window.append(now)
        while self._sent_overall and now - self._sent_overall[0] >= 1.0:
            self._sent_overall.popleft()
        while chat_window and now - chat_window[0] >= 60.0:
            chat_window.popleft()
        if len(self._sent_per_chat) > 1024:  # bounded memory: forget chats quiet for a minute
            for key in [k for k, w in self._sent_per_chat.items() if not w or now - w[-1] >= 60.0]:
                del self._sent_per_chat[key]
        return None

    # -- methods --------------------------------------------------------------------------
    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message_id = next(self._message_ids[chat_id])
        chat: dict[str, Any] = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = f"group {chat_id}"
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Cadre", "username": BOT_USERNAME},
            **extra,
        }
        if "reply_markup" in params and params["reply_markup"] is not None:
            markup = params["reply_markup"]
            markup = json.loads(markup) if isinstance(markup, str) else markup
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup
        self._messages[(chat_id, message_id)] = message
        return message

    def _new_file(self, data: bytes | None = None) -> dict[str, Any]:
        n = next(self._file_ids)
        file_id = f"fake-file-{n}"
        if data is not None:
            self.files[file_id] = data
        return {"file_id": file_id, "file_unique_id": f"u{n}", "file_size": len(data or b"")}

    def _api_getMe(self, params: dict, files: dict) -> dict:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Cadre",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_sendMessage(self, params: dict, files: dict) -> dict:
        return self._message(params, text=str(params.get("text", "")))

    def _api_sendLocation(self, params: dict, files: dict) -> dict:
        return self._message(
            params, location={"latitude": params["latitude"], "longitude": params["longitude"]}
        )

    def _media(self, value: Any, files: dict[str, bytes], name: str = "") -> dict[str, Any]:
        if value is None and name in files:
            return self._new_file(files[name])
        if isinstance(value, str) and value.startswith("attach://"):
            return self._new_file(files.get(value[len("attach://") :], b""))
        if isinstance(value, str):
            return {"file_id": value, "file_unique_id": "u" + value[-8:], "file_size": 0}
        return self._new_file(b"")

    def _api_sendPhoto(self, params: dict, files: dict) -> dict:
        photo = self._media(params.get("photo"), files, "photo") | {"width": 640, "height": 480}
        return self._message(params, photo=[photo], caption=params.get("caption"))

    def _api_sendDocument(self, params: dict, files: dict) -> dict:
        document = self._media(params.get("document"), files, "document")
        return self._message(params, document=document, caption=params.get("caption"))

    def _api_sendVoice(self, params: dict, files: dict) -> dict:
        voice = self._media(params.get("voice"), files, "voice") | {"duration": 1}
        return self._message(params, voice=voice)

    def _api_sendMediaGroup(self, params: dict, files: dict) -> list[dict]:
        media = params.get("media") or []
        if isinstance(media, str):
            media = json.loads(media)
        out = []
        for item in media:
            photo = self._media(item.get("media"), files) | {"width": 640, "height": 480}
            out.append(self._message(params, photo=[photo], caption=item.get("caption")))
        return out

    def _edit(self, params: dict, **changes: Any) -> dict | bool:
        if "inline_message_id" in params:
            return True
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self._messages.get(key)
        if message is None:
            message = self._message({"chat_id": key[0]})
            self._messages[key] = message
        message.update(changes)
        markup = params.get("reply_markup")
        if markup is not None:
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return message

    def _api_editMessageText(self, params: dict, files: dict) -> dict | bool:
        return self._edit(params, text=str(params.get("text", "")))

    def _api_editMessageReplyMarkup(self, params: dict, files: dict) -> dict | bool:
        return self._edit(params)

    def _api_editMessageCaption(self, params: dict, files: dict) -> dict | bool:
        return self._edit(params, caption=str(params.get("caption", "")))

    def _api_getFile(self, params: dict, files: dict) -> dict:
        file_id = str(params["file_id"])
        return {
            "file_id": file_id,
            "file_unique_id": "u" + file_id[-8:],
            "file_size": len(self.files.get(file_id, b"")),
            "file_path": f"files/{file_id}",
        }

    def _api_getUpdates(self, params: dict, files: dict) -> list:
        return []

    def _api_getChat(self, params: dict, files: dict) -> dict:
        chat_id = int(params["chat_id"])
        kind = "private" if chat_id > 0 else "supergroup"
        return {"id": chat_id, "type": kind, "title": None if chat_id > 0 else f"group {chat_id}"}

    def _api_getChatMember(self, params: dict, files: dict) -> dict:
        return {
            "status": "administrator" if int(params["user_id"]) != BOT_ID else "member",
            "user": {"id": int(params["user_id"]), "is_bot": False, "first_name": "User"},
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
        }

    def _api_getMyCommands(self, params: dict, files: dict) -> list:
        return []
