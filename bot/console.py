"""The offline console: the whole bot in a terminal, no token, no network.

The same application, handlers and database as in production, driven through
:class:`bot.simulator.Simulator` over the in-memory Bot API. Lines typed (or piped in) become
messages; ``#N`` presses button N of the newest keyboard; a few slash commands of the console's
own send a photo, a location or a file, switch user or chat, or move the clock. End of input
exits cleanly.

What is scheduled shows up too:

* input is read in a thread (:class:`LineReader`), so the event loop keeps running while the
  console waits for a line: the JobQueue's sweeps, wake-ups and the monthly bulletin run on time;
* every message the bot sends is printed when it is sent (:class:`ConsoleBotAPI` tells the
  console), a reply or a push to the console's user or groups alike;
* ``/time 2026-12-24 09:00`` (also ``12月24日9点``, ``下月1日``, ``+3d``, ``+2h``) moves the clock
  forward: the console's :class:`ConsoleClock` is the application's clock
  (``services.extras["clock"]``, read by :func:`bot.services.scheduler.now_of`) and the date of
  the messages the console user sends; then the periodic checks (the scheduler's sweep, the
  bulletin's check...) run at once, so the reminders, overdue notices and bulletins due at
  that moment arrive. While the clock is ahead of the wall clock the console itself wakes the
  checks when the next push falls due (the JobQueue counts in wall-clock time).
"""

from __future__ import annotations

import asyncio
import re
import shlex
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, TextIO

from apscheduler.triggers.date import DateTrigger

from bot.app import build_application
from bot.fakebot import Call, FakeBotAPI
from bot.i18n import Translator
from bot.rules.dates import parse_when
from bot.services import scheduler
from bot.settings import Settings
from bot.simulator import Simulator

CONSOLE_COMMANDS = ("/photo", "/location", "/file", "/voice", "/as", "/chat", "/time", "/quit")
PRINTED = frozenset({"sendMessage", "editMessageText", "sendPhoto", "sendDocument", "sendMediaGroup", "sendLocation"})
SHIFT = re.compile(r"^\+\s*(\d+)\s*([dhm])$", re.I)  # /time +3d, +2h, +30m
DEFAULT_TIME = time(9, 0)  # a day without a time: 09:00, when most pushes go out
IDLE_SECONDS = 60.0  # while the clock is ahead: look for due pushes at least this often


class ConsoleClock:
    """The wall clock, moved forward by ``/time``: ``now()`` is aware, in the bot's zone."""

    def __init__(self, tz: tzinfo, wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.tz = tz
        self.wall = wall
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return (self.wall() + self.offset).astimezone(self.tz)

    def timestamp(self) -> float:
        return self.now().timestamp()

    def move_to(self, moment: datetime) -> None:
        self.offset = max(timedelta(0), moment - self.wall())


def parse_moment(text: str, now: datetime, tz_name: str) -> datetime | None:
    """A moment after ``now`` typed leniently: ``2026-12-24 09:00``, ``12月24日9点``, ``+3d``."""
    text = text.strip()
    shift = SHIFT.match(text)
    if shift:
        amount, unit = int(shift.group(1)), shift.group(2).lower()
        field = {"d": "days", "h": "hours", "m": "minutes"}[unit]
        return now + timedelta(**{field: amount})
    when = parse_when(text, now, want="future", tz=tz_name)
    if not when.ok:
        when = parse_when(text.replace("T", " "), now, want="future", tz=tz_name)
    if not when.ok or when.value is None:
        return None
    moment = when.value if when.has_time else datetime.combine(when.value.date(), DEFAULT_TIME, when.value.tzinfo)
    return moment if moment > now else None


class ConsoleBotAPI(FakeBotAPI):
    """The in-memory Bot API that tells the console about every call as it is made."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.listeners: list[Callable[[Call], None]] = []

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        before = len(self.calls)
        answer = await super().do_request(url, method, request_data, *args, **kwargs)
        names = {}  # the file names of uploads (kept so the console saves 通报.docx, not "document")
        if request_data is not None and request_data.contains_files:
            for value in (request_data.multipart_data or {}).values():
                if isinstance(value, tuple) and value and isinstance(value[0], str):
                    names.setdefault("filename", value[0])
        for call in self.calls[before:]:
            if names and "filename" not in call.params:
                call.params["filename"] = names["filename"]
            for listener in self.listeners:
                listener(call)
        return answer


class LineReader:
    """Lines of a (blocking) text stream, read in a daemon thread, awaited without blocking
    the event loop; ``None`` at end of input."""

    def __init__(self, stream: TextIO, loop: asyncio.AbstractEventLoop) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.stream = stream
        self.loop = loop
        self.thread = threading.Thread(target=self._read, name="console-stdin", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for line in iter(self.stream.readline, ""):
                self.loop.call_soon_threadsafe(self.queue.put_nowait, line)
        except (OSError, ValueError):
            pass
        finally:
            try:
                self.loop.call_soon_threadsafe(self.queue.put_nowait, None)
            except RuntimeError:  # the loop is already closed: the console has ended
                pass

    async def readline(self) -> str | None:
        return await self.queue.get()


class Console:
    def __init__(
        self,
        sim: Simulator,
        t: Translator,
        out: TextIO,
        *,
        user_id: int,
        chat_id: int | None,
        clock: ConsoleClock | None = None,
    ) -> None:
        self.sim = sim
        self.t = t
        self.out = out
        self.user_id = user_id
        self.chat_id = chat_id if chat_id is not None else user_id
        self.downloads = Path(tempfile.mkdtemp(prefix="cadre-console-"))
        self.known_groups: set[int] = set()
        self.clock = clock
        self.prompt = False  # interactive: a "> " is waiting for input

    def say(self, text: str) -> None:
        if self.prompt:  # a push arrived while the user was typing: start a fresh line
            print(file=self.out)
            self.prompt = False
        print(text, file=self.out, flush=True)

    def heard(self, call: Call) -> None:
        """The Bot API was called (listener of :class:`ConsoleBotAPI`): print what it shows."""
        if call.method in PRINTED or (call.method == "answerCallbackQuery" and call.params.get("text")):
            waiting = self.prompt
            self.render([call])
            if waiting:
                print("> ", end="", file=self.out, flush=True)
                self.prompt = True

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
        """One input line; False to stop. What the bot answers is printed as it is sent."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("#") and line[1:].isdigit():
            try:
                await self.sim.press(int(line[1:]), self.user_id, self.chat_id)
            except LookupError:
                self.say(self.t("console.no_button", number=line[1:]))
        else:
            word = line.split()[0]
            if word in CONSOLE_COMMANDS:
                if not await self.console_command(word, line):
                    return False
            else:
                await self.sim.send(line, self.user_id, self.chat_id)
        await self.run_jobs_due()
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
                await self.sim.photo(self.user_id, self.chat_id, data=data, caption=" ".join(args[1:]) or None)
            elif word == "/location":
                await self.sim.location(float(args[0]), float(args[1]), self.user_id, self.chat_id)
            elif word == "/file":
                path = Path(args[0])
                await self.sim.document(path.read_bytes(), path.name, self.user_id, self.chat_id)
            elif word == "/voice":
                await self.sim.voice(self.user_id, self.chat_id)
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
                    await self.sim.bot_added(self.chat_id, self.user_id)
                self.say(self.t("console.now_chat", chat=self.chat_id))
            elif word == "/time":
                await self.move_clock(line.split(maxsplit=1)[1] if len(line.split(maxsplit=1)) > 1 else "")
        except (IndexError, ValueError, OSError) as exc:
            self.say(self.t("console.bad_command", command=word, error=str(exc)))
        return True

    # -- the clock ----------------------------------------------------------------------------
    @property
    def app(self) -> Any:
        return self.sim.app

    def show_time(self) -> None:
        if self.clock is None:
            raise RuntimeError("unexpected: self.clock is None")
        self.say(self.t("console.time_now", time=self.clock.now().strftime("%Y-%m-%d %H:%M")))

    async def move_clock(self, text: str) -> None:
        """``/time`` alone: the console's time; ``/time MOMENT``: move there and run the checks."""
        if self.clock is None:
            return
        if not text.strip():
            self.show_time()
            return
        settings = self.app.services.settings
        moment = parse_moment(text, self.clock.now(), settings.tz_name)
        if moment is None:
            self.say(self.t("console.time_bad", text=text.strip()))
            return
        self.clock.move_to(moment)
        self.show_time()
        await self.run_checks()

    async def run_checks(self) -> None:
        """Run every periodic job once now (the scheduler's sweep, the bulletin's check...):
        each sends what is due at the console's time, once (the push log sees to it)."""
        queue = self.app.job_queue
        if queue is None:
            return
        for job in queue.jobs():
            # conversation timeouts (bot.jobs.TimeoutJob, no APScheduler job) keep their own timers
            if job.job is not None and not isinstance(job.job.trigger, DateTrigger):
                await job.run(self.app)
        await self.sim.settle()

    async def run_jobs_due(self) -> None:
        """One-off jobs already due (a poke after an admin saved a task): run them before the
        next line, so piped scripts see their pushes in order."""
        queue = self.app.job_queue
        if queue is None or not queue.scheduler.running:
            return
        wall = datetime.now(UTC)
        for job in queue.jobs():
            if job.job is not None and isinstance(job.job.trigger, DateTrigger) and job.next_t is not None and job.next_t <= wall:
                job.schedule_removal()
                await job.run(self.app)
        await self.sim.settle()

    async def keep_time(self) -> None:
        """While the clock is ahead of the wall clock, the JobQueue's wake-ups come late: look
        for pushes due at the console's time when the next one falls due (at least every
        :data:`IDLE_SECONDS`)."""
        if self.clock is None:
            raise RuntimeError("unexpected: self.clock is None")
        while True:
            delay = IDLE_SECONDS
            if self.clock.offset:
                now = self.clock.now()
                at = await scheduler.next_push_at(self.app, now)
                if at is not None:
                    delay = min(IDLE_SECONDS, max(1.0, (at - now).total_seconds()))
            await asyncio.sleep(delay)
            if self.clock.offset:
                await self.run_checks()


async def run_console(
    settings: Settings,
    *,
    user_id: int,
    name: str | None,
    chat_id: int | None = None,
    demo: bool = False,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    wall: Callable[[], datetime] | None = None,
) -> int:
    """Run until end of input or /quit; returns the exit code. ``wall`` replaces the wall clock
    (tests: a fixed moment)."""
    api = ConsoleBotAPI()
    app = build_application(settings, request=api, rate_limit=False)
    clock = ConsoleClock(settings.tz, wall) if wall is not None else ConsoleClock(settings.tz)
    app.services.extras["clock"] = clock.now  # read by bot.services.scheduler.now_of
    sim = Simulator(app, api, clock=clock.timestamp)
    await sim.start(jobs=True)
    keeper: asyncio.Task | None = None
    try:
        t = app.services.catalogs.get(settings.locale)
        name = name or t("console.default_name")
        kept = False
        if demo:
            from bot.demo import seed_demo

            if await app.services.repos.org.districts():  # --db PATH holds a district: use it as it is
                kept = True
            else:
                await seed_demo(app.services.repos, console_user=user_id, console_name=name)
        sim.user(user_id, name)
        console = Console(sim, t, stdout, user_id=user_id, chat_id=chat_id, clock=clock)
        api.listeners.append(console.heard)
        if kept:
            console.say(t("console.demo_kept", path=str(settings.db_path)))
        console.say(t("console.hint"))
        console.say(t("console.hint_time"))
        keeper = asyncio.create_task(console.keep_time())
        interactive = stdin.isatty()
        reader = LineReader(stdin, asyncio.get_running_loop())
        while True:
            if interactive:
                print("> ", end="", file=stdout, flush=True)
                console.prompt = True
            line = await reader.readline()
            console.prompt = False
            if line is None:
                break
            if not interactive:
                console.say(f"> {line.rstrip()}")
            if not await console.handle(line):
                break
    finally:
        if keeper is not None:
            keeper.cancel()
        await sim.stop()
    return 0
