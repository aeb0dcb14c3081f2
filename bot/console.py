"""The offline console: the whole bot in a terminal, no token, no network.

The same application, handlers and database as in production, driven through
:class:`bot.simulator.Simulator` over the in-memory Bot API. Lines typed (or piped in) become
messages; ``#N`` presses button N of the newest keyboard; a few slash commands of the console's
own send a photo, a location or a file, or switch user or chat. End of input exits cleanly.
"""

from __future__ import annotations

import shlex
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from bot.app import build_application
from bot.fakebot import Call, FakeBotAPI
from bot.i18n import Translator
from bot.settings import Settings
from bot.simulator import Simulator

CONSOLE_COMMANDS = ("/photo", "/location", "/file", "/voice", "/as", "/chat", "/quit")


class Console:
    def __init__(self, sim: Simulator, t: Translator, out: TextIO, *, user_id: int, chat_id: int | None) -> None:
        self.sim = sim
        self.t = t
        self.out = out
        self.user_id = user_id
        self.chat_id = chat_id if chat_id is not None else user_id
        self.downloads = Path(tempfile.mkdtemp(prefix="cadre-console-"))
        self.known_groups: set[int] = set()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def render(self, calls: list[Call]) -> None:
        for call in calls:
            if isinstance(call.result, tuple) or call.method in ("answerCallbackQuery", "getFile", "getMe"):
                if call.method == "answerCallbackQuery" and call.params.get("text"):
                    self.say(f"  ({call.params['text']})")
                continue
            where = "" if call.chat_id in (None, self.user_id) else f"[{call.chat_id}] "
            if call.method == "sendMessage":
                self.say(f"🤖 {where}{call.text}")
            elif call.method == "editMessageText":
                self.say(f"🤖 {where}✎ {call.text}")
            elif call.method in ("sendPhoto", "sendDocument", "sendMediaGroup"):
                self.say(f"🤖 {where}{self._attachment(call)}")
            elif call.method == "sendLocation":
                self.say(f"🤖 {where}📍 {call.params.get('latitude')}, {call.params.get('longitude')}")
            else:
                continue
            buttons = call.buttons()
            if buttons:
                self.say("   " + "  ".join(f"[#{i}] {b.get('text', '')}" for i, b in enumerate(buttons, 1)))

    def _attachment(self, call: Call) -> str:
        kind = {"sendPhoto": "photo", "sendDocument": "document"}.get(call.method, "photos")
        saved = []
        for name, data in call.files.items():
            filename = call.params.get("filename") or name
            path = self.downloads / f"{len(list(self.downloads.iterdir())) + 1}-{Path(str(filename)).name}"
            path.write_bytes(data)
            saved.append(str(path))
        caption = call.text
        return self.t("console.attachment", kind=kind, caption=caption, path=", ".join(saved) or "-")

    async def handle(self, line: str) -> bool:
        """One input line; False to stop."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("#") and line[1:].isdigit():
            try:
                self.render(await self.sim.press(int(line[1:]), self.user_id, self.chat_id))
            except LookupError:
                self.say(self.t("console.no_button", number=line[1:]))
            return True
        word = line.split()[0]
        if word in CONSOLE_COMMANDS:
            return await self.console_command(word, line)
        self.render(await self.sim.send(line, self.user_id, self.chat_id))
        return True

    async def console_command(self, word: str, line: str) -> bool:
        try:
            args = shlex.split(line)[1:]
        except ValueError:
            args = line.split()[1:]
        try:
            if word == "/quit":
                return False
            if word == "/photo":
                data = Path(args[0]).read_bytes() if args else b"\x89PNG demo"
                self.render(await self.sim.photo(self.user_id, self.chat_id, data=data, caption=" ".join(args[1:]) or None))
            elif word == "/location":
                self.render(await self.sim.location(float(args[0]), float(args[1]), self.user_id, self.chat_id))
            elif word == "/file":
                path = Path(args[0])
                self.render(await self.sim.document(path.read_bytes(), path.name, self.user_id, self.chat_id))
            elif word == "/voice":
                self.render(await self.sim.voice(self.user_id, self.chat_id))
            elif word == "/as":
                self.user_id = int(args[0])
                self.sim.user(self.user_id, " ".join(args[1:]) or None)
                if self.chat_id > 0:
                    self.chat_id = self.user_id
                self.say(self.t("console.now_user", user=self.user_id))
            elif word == "/chat":
                self.chat_id = int(args[0]) if args else self.user_id
                if self.chat_id < 0 and self.chat_id not in self.known_groups:
                    self.known_groups.add(self.chat_id)
                    self.render(await self.sim.bot_added(self.chat_id, self.user_id))
                self.say(self.t("console.now_chat", chat=self.chat_id))
        except (IndexError, ValueError, OSError) as exc:
            self.say(self.t("console.bad_command", command=word, error=str(exc)))
        return True


async def run_console(
    settings: Settings,
    *,
    user_id: int,
    name: str | None,
    chat_id: int | None = None,
    demo: bool = False,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    """Run until end of input or /quit; returns the exit code."""
    api = FakeBotAPI()
    app = build_application(settings, request=api, rate_limit=False)
    sim = Simulator(app, api)
    await sim.start(jobs=True)
    try:
        t = app.services.catalogs.get(settings.locale)
        name = name or t("console.default_name")
        if demo:
            from bot.demo import seed_demo

            await seed_demo(app.services.repos, console_user=user_id, console_name=name)
        sim.user(user_id, name)
        console = Console(sim, t, stdout, user_id=user_id, chat_id=chat_id)
        console.say(t("console.hint"))
        interactive = stdin.isatty()
        while True:
            if interactive:
                print("> ", end="", file=stdout, flush=True)
            line = stdin.readline()
            if not line:
                break
            if not interactive:
                console.say(f"> {line.rstrip()}")
            if not await console.handle(line):
                break
    finally:
        await sim.stop()
    return 0
