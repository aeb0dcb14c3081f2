"""Bringing people in: an invite's code read off its QR message, the secretary's invite, and a
roster workbook made in memory."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import re
import threading
from collections.abc import Callable

from openpyxl import Workbook

from bot.fakebot import Call
from bot.rules.roster import parse_roster
from bot.services import roster as roster_service
from bot.simulator import Simulator
from tests.conftest import SECRETARY, Org

NEWCOMER = 601  # someone the org does not know yet, who joins by an invite


def code_of(calls: list[Call]) -> str:
    photo = next(c for c in calls if c.method == "sendPhoto")
    match = re.search(r"\?start=([A-Z2-9]{8})", photo.text)
    assert match, photo.text
    return match[1]


async def invite_member_of_village(sim: Simulator, org: Org, name: str | None = None) -> str:
    """The secretary of 红旗村 invites a roster member (or someone new)."""
    await sim.send("/invite", SECRETARY)
    return code_of(await sim.press(name or "名单以外的新人", SECRETARY))


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def hold_roster_reading(monkeypatch) -> tuple[threading.Event, concurrent.futures.ThreadPoolExecutor]:
    """Roster files are read in a worker thread that waits until the returned event is set
    (shut the returned pool down at the end of the test)."""
    release = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(1)

    def held_parse(data: bytes, name: str):
        release.wait(30)
        return parse_roster(data, name)

    monkeypatch.setattr(roster_service, "_executor", lambda: pool)
    monkeypatch.setattr(roster_service, "parse_roster", held_parse)
    return release, pool


def when_called(sim: Simulator, monkeypatch, seen: Callable[[Call], bool]) -> asyncio.Event:
    """An event set once the bot has made a Bot API call for which ``seen`` is true."""
    reached = asyncio.Event()
    request = sim.api.do_request

    async def watched(*args, **kwargs):
        answer = await request(*args, **kwargs)
        if any(seen(c) for c in sim.api.calls):
            reached.set()
        return answer

    monkeypatch.setattr(sim.api, "do_request", watched)
    return reached
