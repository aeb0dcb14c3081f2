"""Shared fixtures: settings on a temporary database, the real Application over the in-memory
Bot API (``sim``), and a small organisation to act in (``org``); the clock, the people and the
groups every feature's tests share, and what the user sees in a chat.

Plain helpers of one feature (filling the report form, seeding visits...) are in
tests/helpers/. A test module never imports another test module (tests/test_architecture.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import build_application
from bot.fakebot import FakeBotAPI
from bot.i18n import Catalogs
from bot.settings import Settings
from bot.simulator import Simulator
from storage.org import Person, Unit

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=TZ)  # a Sunday
TODAY = NOW.date()


def make_settings(db_path: Path, **overrides) -> Settings:
    values = dict(token="123456:TEST", db_path=db_path, tz=ZoneInfo("Asia/Shanghai"), locale="zh_CN")
    values.update(overrides)
    return Settings(**values)


# The tests' databases live on a tmpfs where there is one: the same SQLite file and code path,
# without waiting on the disk for SQLite's fsyncs (test_reports.py: 608 fdatasync calls, 2.7 s
# on the disk, 0.02 s on /dev/shm).
TMPFS = Path("/dev/shm")


@pytest.fixture
def db_dir(tmp_path: Path):
    """A folder for the test's database: on the tmpfs if there is one, else ``tmp_path``."""
    if not (TMPFS.is_dir() and os.access(TMPFS, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="cadre-test-", dir=TMPFS))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def settings(db_dir: Path) -> Settings:
    return make_settings(db_dir / "cadre.db")


@cache
def shared_catalogs(default: str) -> Catalogs:
    """The catalogs parsed once per test run (per default language), as the bot parses them once
    at start: parsing them again for every Application was most of a simulator's start."""
    return Catalogs(default)


async def start_sim(
    settings: Settings, api: FakeBotAPI | None = None, *, before_start=None, jobs: bool = False
) -> Simulator:
    """A started Simulator over the real Application; ``before_start(app)`` may add handlers."""
    api = api or FakeBotAPI()
    app = build_application(settings, request=api, catalogs=shared_catalogs(settings.locale), rate_limit=False)
    if before_start is not None:
        before_start(app)
    return await Simulator(app, api).start(jobs=jobs)


async def start_clocked(settings, clock: Clock, api: FakeBotAPI | None = None) -> Simulator:
    """A Simulator whose application reads ``clock`` from the start (before on_startup)."""
    api = api or FakeBotAPI()
    app = build_application(settings, request=api, catalogs=shared_catalogs(settings.locale), rate_limit=False)
    app.services.extras["clock"] = clock
    return await Simulator(app, api).start()


def local(*args: int) -> datetime:
    """A moment in China: ``local(2026, 11, 22, 10)``."""
    return datetime(*args, tzinfo=TZ)


def at(sim: Simulator, moment: datetime) -> None:
    """The time the simulated users' messages carry."""
    sim.clock = lambda: moment.timestamp()


class Clock:
    """The bot's idea of now (``services.extras["clock"]``), moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fixed_clock(sim: Simulator) -> None:
    """The users' messages carry NOW (a module opts in with ``usefixtures("fixed_clock")``)."""
    at(sim, NOW)


def last_text(sim: Simulator, chat_id: int) -> str:
    """The newest message text the user sees in the chat (sent or edited)."""
    for call in reversed(sim.api.calls):
        if call.chat_id == chat_id and call.method in {"sendMessage", "editMessageText"}:
            return call.text
    return ""


def newest_text(calls) -> str:
    """The last text sent or edited among ``calls``."""
    return [c.text for c in calls if c.method in ("sendMessage", "editMessageText")][-1]


def labels(sim: Simulator, chat_id: int) -> list[str]:
    """The buttons of the newest keyboard in the chat."""
    _, buttons = sim.last_keyboard(chat_id)
    return [b["text"] for b in buttons]


def alerts(calls) -> list[str]:
    """The texts of the button answers (toasts) among ``calls``."""
    return [c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery" and c.params.get("text")]


@pytest.fixture
async def repos(tmp_path: Path):
    """The repositories over a fresh database file of their own (no Application)."""
    from storage import Database, Repos

    db = await Database.open(tmp_path / "repos.db")
    try:
        yield Repos.over(db)
    finally:
        await db.close()


@pytest.fixture
async def sim(settings: Settings):
    simulator = await start_sim(settings)
    try:
        yield simulator
    finally:
        await simulator.stop()


@dataclass
class Org:
    district: Unit
    township: Unit
    village: Unit
    other_village: Unit
    district_admin: Person
    township_admin: Person
    secretary: Person
    member: Person
    other_member: Person


# Telegram user ids used by the tests
DISTRICT_ADMIN, TOWNSHIP_ADMIN, SECRETARY, MEMBER, OTHER_MEMBER, STRANGER = 101, 102, 103, 104, 105, 999


@pytest.fixture
async def org(sim: Simulator) -> Org:
    repo = sim.app.services.repos.org
    district = await repo.add_unit("示例区", "district")
    township = await repo.add_unit("东风镇", "township", district.id)
    village = await repo.add_unit("红旗村", "village", township.id, stars=3)
    other = await repo.add_unit("向阳村", "village", township.id, stars=2)
    return Org(
        district,
        township,
        village,
        other,
        await repo.add_person("赵区长", "district_admin", district.id, telegram_id=DISTRICT_ADMIN),
        await repo.add_person("钱镇长", "township_admin", township.id, telegram_id=TOWNSHIP_ADMIN),
        await repo.add_person("孙书记", "secretary", village.id, telegram_id=SECRETARY),
        await repo.add_person("李党员", "member", village.id, telegram_id=MEMBER, phone="13800000001"),
        await repo.add_person("周党员", "member", other.id, telegram_id=OTHER_MEMBER),
    )


# 向阳村's secretary, and the bound groups of 红旗村, 向阳村 and 东风镇's secretaries
OTHER_SECRETARY = 106
RED_GROUP, SUN_GROUP, TOWN_GROUP = -100101, -100102, -100100


async def setup_groups(sim: Simulator, org: Org) -> None:
    """红旗村 and 向阳村 each have a bound group (bound by the township admin: a secretary who
    bound their group gets its pushes there only); 东风镇 has its secretaries' group; 向阳村 a
    secretary."""
    repos = sim.app.services.repos
    await repos.org.add_person("吴书记", "secretary", org.other_village.id, telegram_id=OTHER_SECRETARY)
    await repos.chats.bind(RED_GROUP, "红旗村党员群", org.village.id, org.township_admin.id)
    await repos.chats.bind(SUN_GROUP, "向阳村党员群", org.other_village.id, org.township_admin.id)
    await repos.chats.bind(TOWN_GROUP, "东风镇书记群", org.township.id, org.district_admin.id)


@pytest.fixture
async def admin(sim: Simulator, org: Org) -> Org:
    """The org with its groups, the bot's clock at NOW."""
    sim.app.services.extras["clock"] = Clock(NOW)
    await setup_groups(sim, org)
    return org


# The first district admin of a bot with no organisation yet (onboarding)
ADMIN = 501


@pytest.fixture
async def district(sim: Simulator) -> Unit:
    added = await sim.app.services.repos.org.add_admin(ADMIN, "赵区长", "示例区")
    assert added.status == "added"
    assert added.unit is not None
    return added.unit
