"""Shared fixtures: settings on a temporary database, the real Application over the in-memory
Bot API (``sim``), and a small organisation to act in (``org``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import build_application
from bot.fakebot import FakeBotAPI
from bot.settings import Settings
from bot.simulator import Simulator
from storage.org import Person, Unit


def make_settings(db_path: Path, **overrides) -> Settings:
    values = dict(token="123456:TEST", db_path=db_path, tz=ZoneInfo("Asia/Shanghai"), locale="zh_CN")
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "cadre.db")


async def start_sim(
    settings: Settings, api: FakeBotAPI | None = None, *, before_start=None, jobs: bool = False
) -> Simulator:
    """A started Simulator over the real Application; ``before_start(app)`` may add handlers."""
    api = api or FakeBotAPI()
    app = build_application(settings, request=api, rate_limit=False)
    if before_start is not None:
        before_start(app)
    return await Simulator(app, api).start(jobs=jobs)


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
