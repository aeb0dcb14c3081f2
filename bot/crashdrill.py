"""Kill the real bot process right after its replies and check that nothing is lost or doubled.

:func:`drill` runs a conversation (``REPORT`` or ``VISIT``) against the bot started as a process
(``sys.executable -m bot run``) over :class:`bot.apiserver.LocalBotAPIServer` on a copy of a
seeded database, and the same conversation in process on another copy without faults (the
reference). The process gets a SIGKILL
the moment one of the chosen steps' first reply reaches the server (before the bot even gets
the HTTP answer, so before its state can have been flushed), then a restart. A step is
checked once its inbox row is done; then the next one is sent.

Reported (:class:`DrillResult`): kills tried, steps never made durable (lost), steps whose
answers differ from the reference (an answer landed in the wrong step), records saved (expected: one), whether the saved draft
was offered again, updates handled more than once, and the time from each restart to the
killed step being done. Used by tests/bot/test_durability_crash.py (small) and bench/crash.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.apiserver import LocalBotAPIServer, RemoteUsers
from bot.fakebot import SENDING_METHODS, Call
from storage import Database, Repos
from storage.inbox import done_in_file, records_in_file

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:DRILLabcdefghijklmnopqrstuvwxyz0123"
SECRETARY, MEMBER = 103, 104
REPLIES = SENDING_METHODS | {"editMessageText", "editMessageReplyMarkup", "answerCallbackQuery"}

# (kind, value): send a text, press a button of the newest keyboard (by label), or a photo; the
# user's answers (in Chinese, as a secretary and a member type them) and the small village they
# act in are data: crashdrill.json
_SCRIPTS = json.loads(Path(__file__).with_name("crashdrill.json").read_text(encoding="utf-8"))
REPORT: tuple[tuple[str, str], ...] = tuple((kind, value) for kind, value in _SCRIPTS["report"])
VISIT: tuple[tuple[str, str], ...] = tuple((kind, value) for kind, value in _SCRIPTS["visit"])
FLOWS = {"report": (REPORT, SECRETARY), "visit": (VISIT, MEMBER)}


async def seed(path: Path) -> None:
    """A township with one village, its secretary and a member with three households."""
    db = await Database.open(path)
    try:
        repos = Repos.over(db)
        org = _SCRIPTS["seed"]
        district = await repos.org.add_unit(org["district"], "district")
        township = await repos.org.add_unit(org["township"], "township", district.id)
        village = await repos.org.add_unit(org["village"], "village", township.id, stars=3)
        await repos.org.add_person(org["secretary"], "secretary", village.id, telegram_id=SECRETARY)
        member = await repos.org.add_person(org["member"], "member", village.id, telegram_id=MEMBER, phone="13800000001")
        for i, head in enumerate(org["households"]):
            await repos.households.add(village.id, head, address=org["address"].format(n=i + 1), member_id=member.id)
    finally:
        await db.close()


class BotProcess:
    """``python -m bot run`` against the local server, on ``db``; its output goes to ``log``."""

    def __init__(self, server: LocalBotAPIServer, db: Path, log: Path, *, extra_env: dict[str, str] | None = None):
        self.server = server
        self.db = db
        self.log = log
        self.extra_env = extra_env or {}
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": self.server.base_url,
            "TELEGRAM_BASE_FILE_URL": self.server.base_file_url,
            "CADRE_DB": str(self.db),
            "CADRE_TZ": "Asia/Shanghai",
            "CADRE_LOCALE": "zh_CN",
            **self.extra_env,
        }
        env.pop("TELEGRAM_WEBHOOK_URL", None)
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=str(ROOT), env=env, stdout=out, stderr=out
            )
        self.starts += 1

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            os.kill(self.proc.pid, signal.SIGKILL)

    async def wait(self, within: float = 30.0) -> int:
        if self.proc is None:
            raise RuntimeError("unexpected: self.proc is None")
        return await asyncio.wait_for(self.proc.wait(), within)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await self.wait(20)
            except TimeoutError:
                self.kill()
                await self.wait()


async def wait_done(db: Path, update_id: int, bot: BotProcess, within: float = 60.0) -> None:
    """Poll the database until the inbox row of ``update_id`` is done (the bot must live)."""
    deadline = time.monotonic() + within
    delay = 0.005
    while not done_in_file(db, update_id):
        if bot.proc is not None and bot.proc.returncode is not None:
            raise RuntimeError(f"the bot exited ({bot.proc.returncode}); see {bot.log}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"update {update_id} not done within {within} s; see {bot.log}")
        await asyncio.sleep(delay)  # polling the file: there is no event to wait on across processes
        delay = min(delay * 2, 0.05)


def dedup(texts: Iterable[str]) -> list[str]:
    """Consecutive repeats dropped: a step handled again sends the same screen again."""
    out: list[str] = []
    for text in texts:
        if not out or out[-1] != text:
            out.append(text)
    return out


def shown(calls: list[Call]) -> list[str]:
    return [c.text for c in calls if c.method in REPLIES and c.text]


@dataclass
class DrillResult:
    flow: str
    steps: int
    kills: int = 0
    wrong_steps: list[int] = field(default_factory=list)
    lost_steps: list[int] = field(default_factory=list)
    records: int = 0
    draft_offered_again: bool = False
    redelivered: int = 0
    catch_up: list[float] = field(default_factory=list)
    transcript: list[list[str]] = field(default_factory=list)


async def run_flow(
    flow: str, db: Path, log: Path, *, kill_at: set[int] | None = None, step_timeout: float = 30.0
) -> DrillResult:
    steps, user = FLOWS[flow]
    kill_at = kill_at or set()
    result = DrillResult(flow, len(steps))
    async with LocalBotAPIServer() as server:
        people = RemoteUsers(server)
        people.user(user, _SCRIPTS["seed"]["names"]["secretary" if user == SECRETARY else "member"])
        bot = BotProcess(server, db, log)
        armed = {"on": False}

        def on_call(call: Call) -> None:
            if armed["on"] and call.method in REPLIES:
                armed["on"] = False
                bot.kill()  # before the bot hears that its reply was delivered
                result.kills += 1

        server.on_call = on_call
        await bot.start()
        try:
            for index, (kind, value) in enumerate(steps):
                before = len(server.api.calls)
                armed["on"] = index in kill_at
                if kind == "send":
                    await people.send(value, user)
                elif kind == "photo":
                    await people.photo(user)
                else:
                    await people.press(value, user)
                update_id = people.pushed[-1]
                try:
                    if index in kill_at:
                        await bot.wait()
                        restarted = time.monotonic()
                        await bot.start()
                        await wait_done(db, update_id, bot, step_timeout)
                        result.catch_up.append(time.monotonic() - restarted)
                    else:
                        await wait_done(db, update_id, bot, step_timeout)
                except TimeoutError:
                    result.lost_steps.append(index)  # never made durable: lost
                result.transcript.append(dedup(shown(server.api.calls[before:])))
        finally:
            armed["on"] = False
            await bot.stop()
        result.redelivered = sum(1 for n in server.delivered.values() if n > 1)
    result.records = records_in_file(db)["reports" if flow == "report" else "visits"]
    return result


async def reference_run(flow: str, db: Path) -> DrillResult:
    """The same conversation in process (the real Application over the in-memory Bot API)."""
    from bot.app import build_application
    from bot.fakebot import FakeBotAPI
    from bot.settings import Settings
    from bot.simulator import Simulator

    steps, user = FLOWS[flow]
    settings = Settings.from_env(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "CADRE_DB": str(db), "CADRE_TZ": "Asia/Shanghai", "CADRE_LOCALE": "zh_CN"},
        dotenv=None,
    )
    api = FakeBotAPI()
    sim = await Simulator(build_application(settings, request=api, rate_limit=False), api).start()
    sim.user(user, _SCRIPTS["seed"]["names"]["secretary" if user == SECRETARY else "member"])
    result = DrillResult(flow, len(steps))
    try:
        for kind, value in steps:
            if kind == "send":
                calls = await sim.send(value, user)
            elif kind == "photo":
                calls = await sim.photo(user)
            else:
                calls = await sim.press(value, user)
            result.transcript.append(dedup(shown(calls)))
    finally:
        await sim.stop()
    return result


async def drill(
    flow: str, workdir: Path, *, kill_at: Iterable[int] | None = None, step_timeout: float = 30.0
) -> tuple[DrillResult, DrillResult]:
    """(reference run, run with kills); ``kill_at`` = step indexes (default: every step)."""
    steps, _ = FLOWS[flow]
    base = workdir / "seed.db"
    if not base.exists():
        await seed(base)
    ref_db, crash_db = workdir / f"{flow}-ref.db", workdir / f"{flow}-crash.db"
    shutil.copy(base, ref_db)
    shutil.copy(base, crash_db)
    reference = await reference_run(flow, ref_db)
    kills = set(range(len(steps))) if kill_at is None else set(kill_at)
    crashed = await run_flow(flow, crash_db, workdir / f"{flow}-crash.log", kill_at=kills, step_timeout=step_timeout)
    crashed.wrong_steps = [
        i for i, (want, got) in enumerate(zip(reference.transcript, crashed.transcript, strict=True)) if want != got
    ]
    last_ref, last = reference.transcript[-1], crashed.transcript[-1]
    crashed.draft_offered_again = last != last_ref
    return reference, crashed
