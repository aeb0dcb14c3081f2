"""/export: an admin gets the Excel ledger (台账) of their unit for a month or a date range.

One question at a time: which unit (a district admin picks the district or one township; a
township admin's own township needs no question), then which period (buttons for the recent
months, opening on last month in a month's first days as /reports does; or a typed month such
as 10月 or a range such as 11月1日到11月15日). The workbook is written in a worker thread (:func:`bot.services.ledger.write_ledger`, streaming) into a
temporary file and sent back as a document. ``/export 10月`` skips the period question.
The questions are a form of the engine (:mod:`bot.forms`): back, cancel (also typed), a
command in the middle and the timeout are the engine's.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram.error import BadRequest
from telegram.ext import Application

from bot.context import CadreContext
from bot.forms import core
from bot.forms.core import Choice, Custom, Env, Form, Input, Outcome, Saved, Screen
from bot.rules.bulletin import month_bounds, opening_month, parse_month, previous_month
from bot.rules.dates import parse_date
from bot.services import offloop
from bot.services.ledger import LedgerRequest, write_ledger
from handlers.auth import ADMINS, command
from storage.org import Unit

EXPORT = command("export", ADMINS)
FLOW = "export"
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # what a bot may send
MAX_RANGE_DAYS = 3 * 366
# Parsing vocabulary (not user-facing text): what separates the two ends of a typed range.
_RANGE_SPLIT = re.compile(r"\s*(?:到|至|~|～|—|--|－|\s-\s)\s*")


def local_now(env: Env) -> datetime:
    return env.now.astimezone(ZoneInfo(env.tz))


def period_label(t, start: date, end: date) -> str:
    if start.day == 1 and (start, end) == month_bounds(start.year, start.month):
        return t("export.month", year=start.year, month=start.month)
    return t("export.range", start=t.short_date(start), end=t.short_date(date.fromordinal(end.toordinal() - 1)))


def parse_period(text: str, now: datetime, tz: str) -> tuple[date, date] | str:
    """A typed month (10月, 2026-10, 上月) or range (11月1日到11月15日): (start, end) or a reason."""
    today = now.date()
    month = parse_month(text, today)
    if month is not None:
        return month
    parts = _RANGE_SPLIT.split(text.strip(), maxsplit=1)
    if len(parts) != 2:
        return "not_a_period"
    ends = [parse_date(p, now, want="past", max_age_days=MAX_RANGE_DAYS, tz=tz) for p in parts]
    if not all(e.ok for e in ends):
        return "future" if any(e.reason == "future" for e in ends) else "not_a_period"
    first, last = sorted(e.day for e in ends)  # type: ignore[type-var]
    if (last - first).days > MAX_RANGE_DAYS:
        return "too_long"
    return first, date.fromordinal(last.toordinal() + 1)


# -- the form (the engine: bot.forms) ---------------------------------------------------------
async def scopes(context: CadreContext) -> list[Unit]:
    """The units the admin may export: their own, and for a district admin each township."""
    person = context.person
    own = await context.repos.org.unit(person.unit_id) if person else None
    if own is None:
        return []
    if person.role != "district_admin":
        return [own]
    return [own, *await context.repos.oversight.townships(own.id)]


async def setup(env: Env, draft: dict[str, Any]) -> str | None:
    """One unit needs no question; ``/export 10月`` answers the period."""
    units = await scopes(env.ctx)
    if not units:
        return "unexpected.stale_button"
    draft["several"] = len(units) > 1
    draft["names"] = {str(u.id): u.name for u in units}
    if len(units) == 1:
        draft["unit"] = str(units[0].id)
    typed = " ".join(getattr(env.ctx, "args", None) or [])
    if typed:
        period = parse_period(typed, local_now(env), env.tz)
        if isinstance(period, str):
            draft["bad"] = period  # said with the period question
        else:
            draft["period"] = [period[0].isoformat(), period[1].isoformat()]
    return None


async def unit_options(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(u.id), u.name) for u in await scopes(env.ctx)]


async def unit_name(env: Env, draft: dict[str, Any]) -> str:
    return str((draft.get("names") or {}).get(str(draft.get("unit")), ""))


async def period_show(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    now = local_now(env)
    start, _ = opening_month(now.date())  # in a month's first days, the month before first
    months: list[core.Button] = []
    day = start
    for _ in range(6):
        months.append(core.Button(t("export.month", year=day.year, month=day.month), core.payload(FLOW, "month", f"{day:%Y%m}")))
        day = previous_month(day)[0]
    text = t("export.ask_period", unit=await unit_name(env, draft))
    bad = draft.pop("bad", None)  # a period typed with the command that was not understood
    if bad:
        text = t(f"export.bad.{bad}") + "\n\n" + text
    return Screen(text, [months[i : i + 3] for i in range(0, len(months), 3)])


async def period_handle(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind == "button":
        arg = inp.arg
        if inp.action != "month" or not re.fullmatch(r"\d{6}", arg) or not 1 <= int(arg[4:]) <= 12:
            return Outcome(alert=env.t("form.stale"))
        period = month_bounds(int(arg[:4]), int(arg[4:]))
    elif inp.kind == "text":
        found = parse_period(inp.text, local_now(env), env.tz)
        if isinstance(found, str):
            return Outcome(note=env.t(f"export.bad.{found}"))
        period = found
    else:
        return Outcome(note=env.t("export.hint"))
    draft["period"] = [period[0].isoformat(), period[1].isoformat()]
    return Outcome(done=True)


# -- making and sending the workbook -------------------------------------------------------
async def deliver(env: Env, draft: dict[str, Any]) -> Saved:
    """The form's save: the workbook, written off the event loop, sent as a document."""
    context, t = env.ctx, env.t
    start, end = (date.fromisoformat(d) for d in draft["period"])
    unit = await unit_name(env, draft)
    request = LedgerRequest(
        unit_id=int(draft["unit"]), start=start, end=end, tz=context.services.settings.tz,
        now=env.now, bot_username=context.bot.username,
    )
    label = period_label(t, start, end)
    chat_id = context.person.telegram_id  # forms run in private chats
    working = t("export.working", unit=unit, period=label)
    try:  # the question becomes "正在生成…" while the workbook is written
        await context.bot.edit_message_text(working, chat_id=chat_id, message_id=int(draft["asked"]))
    except (BadRequest, KeyError, TypeError, ValueError):
        await context.bot.send_message(chat_id, working)
    handle, path = tempfile.mkstemp(prefix="cadre-ledger-", suffix=".xlsx")
    os.close(handle)
    try:
        db_path = context.repos.db.path
        counts = await offloop.run(write_ledger, db_path, request, t, path, lane=offloop.EXPORTS)
        size = os.path.getsize(path)
        if size > MAX_DOCUMENT_BYTES:
            return Saved(Screen(t("export.too_big", size=size // (1024 * 1024))))
        rows = list(counts.values())
        caption = t(
            "export.caption", unit=unit, period=label, reports=rows[0], visits=rows[1], followups=rows[2], tasks=rows[3],
        )
        filename = t("export.filename", unit=unit, period=label)
        await context.bot.send_document(chat_id, Path(path), filename=filename, caption=caption)
    finally:
        os.unlink(path)
    return Saved(Screen(t("export.sent", unit=unit, period=label)))


FORM = Form(
    FLOW,
    command=EXPORT,
    steps=[
        Choice("unit", ask="export.ask_scope", options=unit_options, when=lambda d: bool(d.get("several"))),
        Custom("period", show=period_show, handle=period_handle, kind_="text", skip_answered=True),
    ],
    save=deliver,
    setup=setup,
    keys={"form.cancelled": "export.cancelled"},
    title=lambda draft: str((draft.get("names") or {}).get(str(draft.get("unit")), "")),
)
FORMS = (FORM,)


def register(app: Application) -> None:
    """Nothing of its own: the engine's one handler runs FORM."""
