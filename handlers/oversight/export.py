"""/export: an admin gets the Excel ledger (台账) of their unit for a month or a date range.

One question at a time: which unit (a district admin picks the district or one township; a
township admin's own township needs no question), then which period (buttons for the recent
months, opening on last month in a month's first days as /reports does; or a typed month such
as 10月 or a range such as 11月1日到11月15日). ``/export 10月`` skips the period question.

Then the rows of the period are counted (one indexed query) and the question becomes the
working message: "正在生成…" for a quick ledger, how long it will take ("大约需要2分钟") for a
longer one, and for one that waits behind another admin's, how many are before it and how
long in all. The workbook is written in the background (the admin's chat stays free) in the
ledgers' lane of :mod:`bot.services.offloop`, one at a time, by
:func:`bot.services.ledger.write_ledger` (streaming) into a temporary file, and sent back as a
document; while it takes long the working message says every :data:`PROGRESS_EVERY` seconds
how many rows are written and how long is left. An admin who asks again meanwhile is told
their ledger is still being made (one at a time each), not given a second copy.
The questions are a form of the engine (:mod:`bot.forms`): back, cancel (also typed), a
command in the middle and the timeout are the engine's.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from bot.context import CadreContext, Services
from bot.forms import core
from bot.forms.core import Choice, Custom, Env, Form, Input, Outcome, Saved, Screen
from bot.rules.bulletin import month_bounds, opening_month, parse_month, previous_month
from bot.rules.dates import parse_date
from bot.services import offloop
from bot.services.ledger import PACE, LedgerRequest, Written, count_ledger, write_ledger
from handlers.auth import ADMINS, command
from storage.org import Unit

log = logging.getLogger(__name__)
EXPORT = command("export", ADMINS)
FLOW = "export"
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # what a bot may send
MAX_RANGE_DAYS = 3 * 366
# Parsing vocabulary (not user-facing text): what separates the two ends of a typed range.
_RANGE_SPLIT = re.compile(r"\s*(?:到|至|~|～|—|--|－|\s-\s)\s*")
# Parsing vocabulary (not user-facing text): a whole year, 2026年 / 2026年全年 / 今年 / 去年.
_YEAR = re.compile(r"\s*(?:(\d{4})\s*年?|(今|去|前)年)\s*(?:全年|整年|一整年|一年)?\s*")
_YEAR_BACK = {"今": 0, "去": 1, "前": 2}


def local_now(env: Env) -> datetime:
    return env.now.astimezone(ZoneInfo(env.tz))


def period_label(t, start: date, end: date) -> str:
    if start.day == 1 and (start, end) == month_bounds(start.year, start.month):
        return t("export.month", year=start.year, month=start.month)
    if (start.month, start.day) == (1, 1) and end == date(start.year + 1, 1, 1):
        return t("export.year", year=start.year)
    return t("export.range", start=t.short_date(start), end=t.short_date(date.fromordinal(end.toordinal() - 1)))


def parse_period(text: str, now: datetime, tz: str) -> tuple[date, date] | str:
    """A typed month (10月, 2026-10, 上月), year (2026年, 今年) or range (11月1日到11月15日,
    1月到11月): (start, end) or a reason."""
    today = now.date()
    month = parse_month(text, today)
    if month is not None:
        return month
    year = _YEAR.fullmatch(text)
    if year is not None:
        number = int(year[1]) if year[1] else today.year - _YEAR_BACK[year[2]]
        if number > today.year:
            return "future"
        if not 2000 <= number:
            return "not_a_period"
        return date(number, 1, 1), date(number + 1, 1, 1)
    parts = _RANGE_SPLIT.split(text.strip(), maxsplit=1)
    if len(parts) != 2:
        return "not_a_period"
    ends: list[tuple[date, date]] = []
    for part in parts:  # each end a month (1月到11月) or a day (11月1日到11月15日)
        whole = parse_month(part, today)
        if whole is not None:
            ends.append(whole)
            continue
        day = parse_date(part, now, want="past", max_age_days=MAX_RANGE_DAYS, tz=tz)
        if not day.ok:
            return "future" if day.reason == "future" else "not_a_period"
        ends.append((day.day, date.fromordinal(day.day.toordinal() + 1)))  # type: ignore[union-attr]
    first, end = min(e[0] for e in ends), max(e[1] for e in ends)
    if first > today:
        return "future"
    if (end - first).days > MAX_RANGE_DAYS + 1:
        return "too_long"
    return first, end


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


async def setup(env: Env, draft: dict[str, Any]) -> str | Screen | None:
    """One unit needs no question; ``/export 10月`` answers the period. While this admin's
    ledger is being made, they are told so (one at a time each)."""
    refused = await still_making(env)
    if refused is not None:
        return refused
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
PROGRESS_EVERY = 15.0  # seconds between the progress edits of a long ledger
# user_data: the ledger being made (its working message), kept until it is sent, so that one a
# restart cut short is said to be so at the next start (its working message would wait forever)
MARK = "ledger_being_made"


@dataclass(eq=False)
class Making:
    """A ledger being made for one admin (at most one each): what the progress messages say."""

    unit: str
    label: str
    counts: dict[str, int]
    message_id: int | None
    written: Written = field(default_factory=Written)
    job: offloop.Job = field(default_factory=lambda: offloop.Job(0.0))

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def left(self) -> float:
        """Seconds still needed once it runs: the estimate's share of the rows not written yet,
        and more and more (as the rows get written) the pace they were written at. At first
        the pace says little (the summary's queries come before any row)."""
        started = self.job.started
        if started is None:
            return self.job.seconds
        done, rows = self.written.rows, max(1, self.rows)
        share = min(1.0, done / rows)
        planned = self.job.seconds * (1 - share)
        if not done:
            return max(planned, self.job.seconds - (offloop.clock() - started))
        paced = (offloop.clock() - started) / done * max(0, rows - done)
        return (1 - share) * planned + share * paced


def making_of(services: Services) -> dict[int, Making]:
    """The ledgers being made, by chat (this application's; gone when it stops)."""
    return services.extras.setdefault("exports", {})  # type: ignore[return-value]


def about(t, seconds: float) -> str:
    """A duration as the admin reads it: "15秒" (by fives, at least 5) or "2分钟"."""
    fives = max(5, math.ceil(seconds / 5) * 5)
    if fives < 60:  # never "60秒": that is 1分钟
        return t("export.seconds", n=fives)
    minutes = max(1, int(seconds / 60 + 0.5))  # half up (round() would make 2.5 minutes 2)
    return t.n("export.minutes", minutes, n=minutes)


def ahead_of(job: offloop.Job) -> int:
    """The ledgers before ``job`` in the lane (running or waiting)."""
    queue = offloop.jobs(offloop.LEDGERS)
    return queue.index(job) if job in queue else len(queue)


def state_text(t, m: Making) -> str:
    """Where a ledger stands: waiting its turn (how many before it, how long in all), being
    written (rows so far, time left), or about to start."""
    job = m.job
    if not job.running:
        count = ahead_of(job)
        if count:
            total = offloop.wait_seconds(offloop.LEDGERS, before=job) + job.seconds
            return t.n("export.queued", count, unit=m.unit, period=m.label, time=about(t, total))
        return t("export.working_long", unit=m.unit, period=m.label, rows=m.rows, time=about(t, job.seconds))
    return t("export.progress", unit=m.unit, period=m.label, done=m.written.rows, rows=m.rows,
             time=about(t, m.left()))


def first_text(t, m: Making) -> str:
    """The message the question becomes: a quick ledger says only "正在生成…"; a longer one
    how long; one that must wait for another admin's, that and how long in all."""
    if not m.job.running and ahead_of(m.job) == 0 and m.job.seconds <= offloop.PROGRESS_AFTER:
        return t("export.working", unit=m.unit, period=m.label)
    return state_text(t, m)


async def still_making(env: Env) -> Screen | None:
    """An admin who asks again while their ledger is being made is told so, not given two."""
    person = env.ctx.person
    m = making_of(env.ctx.services).get(person.telegram_id) if person is not None else None
    if m is None:
        return None
    return Screen(env.t("export.still_making", state=state_text(env.t, m)))


async def deliver(env: Env, draft: dict[str, Any]) -> Saved:
    """The form's save: count the rows (a quick indexed query), say how long it will take,
    then make the workbook in the background (the admin's chat and everyone else's go on);
    it arrives as a document."""
    context, t = env.ctx, env.t
    refused = await still_making(env)
    if refused is not None:
        return Saved(refused)
    start, end = (date.fromisoformat(d) for d in draft["period"])
    unit = await unit_name(env, draft)
    request = LedgerRequest(
        unit_id=int(draft["unit"]), start=start, end=end, tz=context.services.settings.tz,
        now=env.now, bot_username=context.bot.username,
    )
    chat_id = context.person.telegram_id  # forms run in private chats
    db_path = context.repos.db.path
    counts = await offloop.run(count_ledger, db_path, request)
    m = Making(unit, period_label(t, start, end), counts, None)
    m.job = offloop.Job(PACE.seconds(counts), left=m.left)
    working = first_text(t, m)
    try:  # the question becomes "正在生成…" while the workbook is written
        await context.bot.edit_message_text(working, chat_id=chat_id, message_id=int(draft["asked"]))
        m.message_id = int(draft["asked"])
    except (BadRequest, KeyError, TypeError, ValueError):
        m.message_id = (await context.bot.send_message(chat_id, working)).message_id
    making_of(context.services)[chat_id] = m
    context.user_data[MARK] = {"message": m.message_id, "unit": unit, "period": m.label, "lang": t.lang}
    task = asyncio.get_running_loop().create_task(produce(context, t, chat_id, request, m, working))
    background = context.services.background  # kept (not collected mid-flight); tests wait for it
    background.add(task)
    task.add_done_callback(background.discard)
    return Saved(None)  # the answer is the working message above, then the document


async def produce(context: CadreContext, t, chat_id: int, request: LedgerRequest, m: Making, shown: str) -> None:
    """Write the workbook in the ledgers' lane (one at a time), keep the working message up to
    date while it takes long, send it; whatever happens, the admin is told."""
    bot = context.bot
    last = [shown]

    async def edit(text: str) -> bool:
        if m.message_id is None or text == last[0]:
            return False
        try:
            await bot.edit_message_text(text, chat_id=chat_id, message_id=m.message_id)
        except BadRequest:
            return False
        last[0] = text
        return True

    async def tell() -> None:
        await edit(state_text(t, m))

    handle, path = tempfile.mkstemp(prefix="cadre-ledger-", suffix=".xlsx")
    os.close(handle)
    try:
        counts = await offloop.run(
            write_ledger, context.repos.db.path, request, t, path, m.written,
            lane=offloop.LEDGERS, job=m.job, progress=tell, every=PROGRESS_EVERY,
        )
        if m.job.started is not None:
            PACE.learn(m.counts, offloop.clock() - m.job.started)
        size = os.path.getsize(path)
        if size > MAX_DOCUMENT_BYTES:
            text = t("export.too_big", size=size // (1024 * 1024))
            if not await edit(text):
                await bot.send_message(chat_id, text)
            return
        rows = list(counts.values())
        caption = t(
            "export.caption", unit=m.unit, period=m.label, reports=rows[0], visits=rows[1], followups=rows[2],
            tasks=rows[3],
        )
        filename = t("export.filename", unit=m.unit, period=m.label)
        await bot.send_document(chat_id, Path(path), filename=filename, caption=caption)
        making_of(context.services).pop(chat_id, None)
        await bot.send_message(chat_id, t("export.sent", unit=m.unit, period=m.label))
    except Exception:
        log.exception("the ledger of unit %s could not be made", request.unit_id)
        try:
            await bot.send_message(chat_id, t("export.failed", unit=m.unit, period=m.label))
        except Exception:  # Telegram unreachable too: the log has it
            log.exception("and the admin could not be told")
    finally:
        if making_of(context.services).get(chat_id) is m:
            making_of(context.services).pop(chat_id, None)
        data = context.user_data
        if data is not None and isinstance(data.get(MARK), dict) and data[MARK].get("message") == m.message_id:
            data.pop(MARK, None)
        os.unlink(path)


async def on_startup(app: Application) -> None:
    """A ledger that was being made when the bot stopped: its working message says it was not
    finished and how to ask again (the admin would otherwise wait for it forever)."""
    services: Services = app.services  # type: ignore[attr-defined]
    for user_id, data in list(app.user_data.items()):
        mark = data.pop(MARK, None)
        if not isinstance(mark, dict):
            continue
        t = services.catalogs.get(mark.get("lang"))
        text = t("export.interrupted", unit=mark.get("unit", ""), period=mark.get("period", ""))
        try:
            await app.bot.edit_message_text(text, chat_id=user_id, message_id=int(mark["message"]))
        except (BadRequest, KeyError, TypeError, ValueError):
            try:
                await app.bot.send_message(user_id, text)
            except TelegramError:
                log.warning("could not tell user %s their ledger was cut short", user_id)


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
