"""Bringing people in: an invite's code read off its QR message, the secretary's invite, and a
roster workbook made in memory."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook

from bot.fakebot import Call
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
