"""Filling /report with the standard answers, and a saved (or verified) report to look at."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import openpyxl

from bot.services.ledger import LedgerRequest, write_ledger
from bot.simulator import Simulator
from storage.reports import Report
from tests.conftest import NOW, SECRETARY, TOWNSHIP_ADMIN, TZ, Org, at, last_text, shared_catalogs

ZH = shared_catalogs("zh_CN").get("zh_CN")

# What each question says (a phrase of the zh_CN catalog), to know where the user is.
QUESTION = {
    "village": "在哪个村",
    "date": "哪一天做的整治",
    "category": "做了哪些整治",
    "other_name": "“其他”是什么工作",
    "place": "在哪里整治的",
    "people": "有多少人参加",
    "people_cadres": "有几名干部参加",
    "people_members": "有几名党员参加",
    "people_villagers": "有多少群众参加",
    "amounts": "完成了多少工作量",
    "photos": "照片(可以不发)",
    "notes": "还有什么要补充",
    "review": "请核对",
    "edit": "要修改哪一项",
    "resume": "要接着填吗",
}

# A standard answer to each question: ("send", text) or ("press", label).
ANSWERS: dict[str, list[tuple[str, str]]] = {
    "date": [("send", "昨天")],
    "category": [("press", "垃圾清除"), ("press", "下一步")],
    "place": [("send", "村东头坑塘")],
    "people": [("send", "干部3 党员5 群众20")],
    "amounts": [("send", "清运垃圾5车 拆除残墙2处")],
    "photos": [("press", "不发照片")],
    "notes": [("send", "群众自发参与")],
}
ORDER = ("date", "category", "place", "people", "amounts", "photos", "notes")


def said(calls) -> str:
    """Everything the bot sent or edited in answer (a hint comes as its own message, then the
    question: the form engine's one behaviour)."""
    return "\n".join(c.text for c in calls if c.method in {"sendMessage", "editMessageText"})


def asking(sim: Simulator, user: int, step: str) -> bool:
    return QUESTION[step] in last_text(sim, user)


async def act(sim: Simulator, user: int, kind: str, value: str):
    if kind == "send":
        return await sim.send(value, user)
    return await sim.press(value, user)


async def go(sim: Simulator, user: int, until: str = "review", *, start: bool = True) -> None:
    """/report and the standard answers up to (not including) the question ``until``."""
    if start:
        await sim.send("/report", user)
    for step in ORDER:
        if step == until:
            break
        assert asking(sim, user, step), (step, last_text(sim, user))
        for kind, value in ANSWERS[step]:
            await act(sim, user, kind, value)
    assert asking(sim, user, until), (until, last_text(sim, user))


async def saved_reports(sim: Simulator, reporter_id: int) -> list[Report]:
    reports, _ = await sim.app.services.repos.reports.by_reporter(reporter_id, limit=100)
    return reports


async def report_with_photos(sim: Simulator, photos: int) -> None:
    await go(sim, SECRETARY, "photos")
    for i in range(photos):
        if i == 1:
            await sim.press("整治后", SECRETARY)
        await sim.photo(SECRETARY)
    await sim.press("完成" if photos else "不发照片", SECRETARY)
    await sim.press("跳过", SECRETARY)
    await sim.press("保存", SECRETARY)


async def verified_report(sim: Simulator) -> int:
    await report_with_photos(sim, 1)
    at(sim, NOW + timedelta(hours=1))
    calls = await sim.click("review:ok:r1", TOWNSHIP_ADMIN)
    assert [e.action for e in await sim.app.services.repos.oversight.history("report", 1)] == ["verified"], calls
    return 1


def ledger_rows(sim: Simulator, org: Org, tmp_path: Path) -> list[list]:
    path = tmp_path / "ledger.xlsx"
    start = NOW.date().replace(day=1)
    request = LedgerRequest(unit_id=org.township.id, start=start, end=start + timedelta(days=40), tz=TZ,
                            now=NOW + timedelta(days=2))
    write_ledger(sim.app.services.repos.db.path, request, ZH, path)
    sheet = openpyxl.load_workbook(path)["人居环境整治"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    return [r for r in rows if isinstance(r[0], int)]  # the reports' rows (not header, totals)
