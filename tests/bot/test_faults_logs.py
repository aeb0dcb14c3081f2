"""Logs at DEBUG carry no bot token and no personal data (phones, household heads, concerns).

The whole bot runs in process over real HTTP (httpx, which logs request URLs holding the
token) against the local Bot API server, with every logger at DEBUG (PTB logs each call's
parameters, aiosqlite each statement's parameters), through a /visit and a /report.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.apiserver import LocalBotAPIServer
from bot.app import build_application
from bot.crashdrill import MEMBER, SECRETARY
from bot.simulator import Simulator, texts
from storage import Database, Repos
from tests.conftest import make_settings

TOKEN = "7000000001:AAHk3-realistic_TokenValue0123456789"
PHONE = "13912345678"
HEAD = "欧阳春花"
CONCERN = "家门口的路灯坏了好几天"


async def seed(path: Path) -> None:
    db = await Database.open(path)
    try:
        repos = Repos.over(db)
        district = await repos.org.add_unit("示例区", "district")
        township = await repos.org.add_unit("东风镇", "township", district.id)
        village = await repos.org.add_unit("红旗村", "village", township.id)
        await repos.org.add_person("孙书记", "secretary", village.id, telegram_id=SECRETARY)
        member = await repos.org.add_person("李党员", "member", village.id, telegram_id=MEMBER, phone=PHONE)
        await repos.households.add(village.id, HEAD, address="1组", member_id=member.id, phone=PHONE)
    finally:
        await db.close()


@pytest.fixture
def everything_at_debug(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "aiosqlite", "telegram", "apscheduler"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


async def test_a_full_run_at_debug_logs_no_token_and_no_personal_data(tmp_path: Path, everything_at_debug) -> None:
    caplog = everything_at_debug
    db = tmp_path / "cadre.db"
    async with LocalBotAPIServer() as server:
        app = build_application(make_settings(db, token=TOKEN, base_url=server.base_url), rate_limit=False)
        await seed(db)
        sim = await Simulator(app, server.api).start()
        try:
            await sim.send("/visit", MEMBER)
            await sim.press(HEAD, MEMBER)
            await sim.press("昨天", MEMBER)
            await sim.press("矛盾纠纷调解", MEMBER)
            await sim.press("下一步", MEMBER)
            await sim.send(f"{CONCERN},电话{PHONE}", MEMBER)
            await sim.press("当场解决", MEMBER)
            await sim.press("跳过", MEMBER)
            (saved,) = texts(await sim.press("保存", MEMBER))
            assert "已保存" in saved
            await sim.send("/report", SECRETARY)
            await sim.press("昨天", SECRETARY)
            await sim.send("/cancel", SECRETARY)
            logging.getLogger("cadre.test").error("failed", exc_info=RuntimeError(f"boom {TOKEN} {PHONE}"))
        finally:
            await sim.stop()
    assert any(r.name.startswith("httpx") for r in caplog.records)  # the URLs were logged
    assert any(r.name.startswith("aiosqlite") for r in caplog.records)  # and the statements
    assert any(r.name.startswith("telegram") and r.levelno == logging.DEBUG for r in caplog.records)
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for secret in (TOKEN, TOKEN.split(":")[1], PHONE, HEAD, CONCERN, "孙书记", "李党员"):
        assert secret not in logged, secret
    assert "sendMessage" in logged  # what was called is still there
