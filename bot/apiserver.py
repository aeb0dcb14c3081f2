"""A local Bot API server over HTTP, on 127.0.0.1, for running the real bot as a process.

:class:`LocalBotAPIServer` answers the Bot API over HTTP/1.1 with the in-memory logic of
:class:`bot.fakebot.FakeBotAPI` (same results, same call log) and keeps an update queue with
Telegram's ``getUpdates`` semantics: updates stay until the bot asks with an offset above their
id (that is how it confirms them), and a long poll waits until an update arrives or its
timeout ends. Point the bot at it with ``TELEGRAM_BASE_URL=http://127.0.0.1:PORT/bot``.

:class:`RemoteUsers` builds the updates people send exactly as :class:`bot.simulator.Simulator`
does (messages, photos, button presses on the newest keyboard) and queues them on the server
instead of feeding an in-process application.

``on_call`` (a callable given each :class:`bot.fakebot.Call` before it is answered) lets a test
act at a precise point, e.g. kill the bot the moment a reply reaches "Telegram". Used by the
fault tests (tests/bot/test_durability_crash.py) and bench/crash.py.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from bot.fakebot import Call, FakeBotAPI
from bot.simulator import Simulator


class _Data:
    """What ``FakeBotAPI.do_request`` reads of PTB's RequestData."""

    def __init__(self, parameters: dict[str, Any], files: dict[str, tuple[str, bytes, str]]) -> None:
        self.parameters = parameters
        self.multipart_data = files
        self.contains_files = bool(files)


class LocalBotAPIServer:
    def __init__(self, api: FakeBotAPI | None = None, *, host: str = "127.0.0.1") -> None:
        self.api = api or FakeBotAPI()
        self.host = host
        self.port = 0
        self.updates: list[dict[str, Any]] = []  # not confirmed yet, oldest first
        self.delivered: dict[int, int] = {}  # update id -> how many times getUpdates returned it
        self.on_call: Callable[[Call], object] | None = None
        self.polls = 0
        self._next_id = 1
        self._arrived = asyncio.Condition()
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> LocalBotAPIServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> LocalBotAPIServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    # -- updates --------------------------------------------------------------------------
    async def push(self, payload: dict[str, Any]) -> int:
        """Queue an update (a Bot API JSON dict; its update_id is given here); return the id."""
        update_id = self._next_id
        self._next_id += 1
        self.updates.append({**payload, "update_id": update_id})
        async with self._arrived:
            self._arrived.notify_all()
        return update_id

    def _confirm(self, offset: int) -> None:
        self.updates = [u for u in self.updates if u["update_id"] >= offset]

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.polls += 1
        offset = int(params.get("offset") or 0)
        if offset:
            self._confirm(offset)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        if not self.updates and timeout > 0:
            async with self._arrived:
                try:
                    await asyncio.wait_for(self._arrived.wait_for(lambda: bool(self.updates)), timeout)
                except TimeoutError:
                    pass
        batch = self.updates[:limit]
        for update in batch:
            self.delivered[update["update_id"]] = self.delivered.get(update["update_id"], 0) + 1
        return batch

    # -- waiting --------------------------------------------------------------------------
    async def wait_for_call(
        self, predicate: Callable[[Call], bool], *, after: int = 0, within: float = 20.0
    ) -> Call:
        """The first call (from index ``after``) matching ``predicate``; waits for it."""
        deadline = time.monotonic() + within
        while True:
            for call in self.api.calls[after:]:
                if predicate(call):
                    return call
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching Bot API call within {within} s")
            async with self._arrived:
                try:
                    await asyncio.wait_for(self._arrived.wait(), max(0.01, deadline - time.monotonic()))
                except TimeoutError:
                    pass

    # -- HTTP -----------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                _, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                status, payload = await self._answer(target, headers.get("content-type", ""), body)
                head = (
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                    "Connection: keep-alive\r\n\r\n"
                )
                writer.write(head.encode("latin-1") + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            return  # the bot went away (or was killed), or the server stops
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, target: str, content_type: str, body: bytes) -> tuple[int, bytes]:
        path = urllib.parse.urlsplit(target).path
        method = path.rsplit("/", 1)[-1]
        params, files = parse_body(content_type, body)
        if "/file/bot" in path:
            return 200, self.api.files.get(method, b"")
        if method == "getUpdates":
            result = await self._get_updates(params)
            return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()
        before = len(self.api.calls)
        status, payload = await self.api.do_request(
            f"{self.base_url}/{method}", "POST", _Data(params, files)  # type: ignore[arg-type]
        )
        if self.on_call is not None:
            for call in self.api.calls[before:]:
                self.on_call(call)
        async with self._arrived:
            self._arrived.notify_all()
        return status, payload


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, tuple[str, bytes, str]]]:
    """Form or multipart parameters (as strings, the way PTB sends them) and uploaded files."""
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[str(name)] = (part.get_filename(), data, part.get_content_type())
            else:
                params[str(name)] = data.decode()
    elif content_type.startswith("application/json") and body:
        params = json.loads(body)
    elif body:
        params = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
    return params, files


class RemoteUsers(Simulator):
    """People talking to a bot that runs elsewhere: their updates go to the server's queue."""

    def __init__(self, server: LocalBotAPIServer) -> None:
        super().__init__(None, server.api)
        self.server = server
        self.pushed: list[int] = []

    async def start(self, *, jobs: bool = False) -> RemoteUsers:  # nothing to start here
        return self

    async def stop(self) -> None:
        return None

    async def feed(self, payload: dict[str, Any]) -> list[Call]:
        self.pushed.append(await self.server.push(payload))
        return []
