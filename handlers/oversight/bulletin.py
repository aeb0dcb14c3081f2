"""The monthly bulletin (通报): on demand with ``/bulletin [month]``, and pushed every month.

On the 1st of each month at 09:00 (``Settings.bulletin_day`` / ``bulletin_time`` when the
settings carry them) the bulletin of the month before goes to the groups bound for bulletins:
each township's to the groups of the township and of its villages, the district's to the
district's groups. Sending goes through the scheduler's push log
(:func:`bot.services.scheduler.deliver`, keys ``bulletin/<unit>/<YYYY-MM>/<part>/<chat>``), so each
group gets each bulletin exactly once across restarts and instances; a bulletin missed while
the bot was down is sent when it is back, up to :data:`CATCH_UP_DAYS` days late, and a failed
send is retried by the hourly check. Tests call :func:`send_monthly` with a chosen ``now``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta

from telegram import InputFile, Update
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler, filters

from bot.context import CadreContext
from bot.i18n import Translator
from bot.rules.bulletin import (
    Bulletin,
    PairInput,
    month_bounds,
    month_code,
    parse_month,
    previous_month,
)
from bot.rules.ids import id_or_zero, parse_id
from bot.services import offloop
from bot.services.bulletin import Rendered, docx, docx_filename, make
from bot.services.scheduler import LEASE, Outcome, Push, deliver, now_of
from handlers.auth import LEADERS, command, requires
from handlers.flow import answer, cb, chunk, keyboard, parse_cb
from storage import Repos
from storage.org import Unit
from storage.pushes import PushKey

log = logging.getLogger("cadre.bulletin")

BULLETIN = command("bulletin", LEADERS)
FLOW = "bulletin"
KIND = "bulletin"
CATCH_UP_DAYS = 9
MONTHLY, HOURLY = "bulletin:monthly", "bulletin:hourly"


# -- figures ----------------------------------------------------------------------------------
def partial_day(t: Translator, end: date, now: datetime) -> str | None:
    """For a month still running: the day the figures go to."""
    return t.short_date(now.date()) if now.date() < end else None


# -- /bulletin ----------------------------------------------------------------------------------
async def home_unit(context: CadreContext) -> Unit | None:
    """The district admin's district, a township admin's township, a secretary's township."""
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    for unit in await context.repos.org.ancestors(person.unit_id):
        if unit.level in ("district", "township"):
            return unit
    return None


@requires(BULLETIN)
async def bulletin_command(update: Update, context: CadreContext) -> None:
    t = context.t
    now = update.effective_message.date.astimezone(context.services.settings.tz)
    typed = " ".join(context.args or [])
    month = parse_month(typed, now.date()) if typed else previous_month(now.date())
    if month is None:
        await update.effective_message.reply_text(t("bulletin.bad_month"))
        return
    unit = await home_unit(context)
    if unit is None:
        await update.effective_message.reply_text(t("bulletin.no_unit"))
        return
    await show(update, context, unit, month[0], now)


async def pairs_of(repos: Repos, unit: Unit, end: date) -> list[PairInput]:
    """The help pairs running on the month's last day (a few rows: on the bot's connection)."""
    last_day = end - timedelta(days=1)
    return [PairInput(p.id, p.helper.id, p.helped.id) for p in await repos.oversight.pairs(unit.id, on=last_day)]


async def made(
    repos: Repos, t: Translator, unit: Unit, start: date, end: date, now: datetime, *,
    partial_to: str | None = None, progress: Callable[[], Awaitable[object]] | None = None,
) -> Rendered | None:
    """The rendered bulletin, read and drawn in a worker thread (never on the event loop)."""
    pairs = await pairs_of(repos, unit, end)
    return await offloop.run(make, repos.db.path, t, unit, start, end, now, pairs, partial_to=partial_to,
                             progress=progress)


async def show(update: Update, context: CadreContext, unit: Unit, start: date, now: datetime) -> None:
    t = context.t
    start, end = month_bounds(start.year, start.month)
    chat_id = update.effective_chat.id

    async def progress() -> None:
        await context.bot.send_message(chat_id, t("bulletin.working", unit=unit.name))

    rendered = await made(context.repos, t, unit, start, end, now, partial_to=partial_day(t, end, now),
                          progress=progress)
    if rendered is None:
        await context.bot.send_message(chat_id, t("bulletin.no_villages", unit=unit.name))
        return
    markup = None
    if unit.level == "district":
        towns = await context.repos.oversight.townships(unit.id)
        buttons = [(t("bulletin.btn.township", name=u.name), cb(FLOW, "show", f"{u.id}.{start:%Y%m}")) for u in towns]
        markup = keyboard(chunk(buttons, 2)) if buttons else None
    for n, part in enumerate(rendered.parts):
        last = n == len(rendered.parts) - 1
        await context.bot.send_message(chat_id, part, reply_markup=markup if last else None)
    if rendered.chart is not None:  # a chart that could not be drawn: the text and the document
        await context.bot.send_photo(chat_id, InputFile(rendered.chart, filename="bulletin-chart.png"),
                                     caption=rendered.caption)
    await send_docx(context, chat_id, unit, rendered.bulletin, rendered.chart, now, partial_day(t, end, now))


async def send_docx(context: CadreContext, chat_id: int, unit: Unit, b: Bulletin, chart: bytes | None,
                    now: datetime, partial_to: str | None) -> None:
    """The same bulletin as a Word document, to print and file (made in the worker process; one
    that could not be made is logged and left out: the text was sent)."""
    t = context.t
    try:
        data = await offloop.run_in_process(docx, t, unit, b, chart=chart, made=now.date(), partial_to=partial_to)
    except Exception:
        log.exception("bulletin document not made for unit %s", unit.id)
        return
    month = t("export.month", year=b.start.year, month=b.start.month)
    await context.bot.send_document(chat_id, InputFile(data, filename=docx_filename(t, unit, b)),
                                    caption=t("bulletin.docx.caption", unit=unit.name, month=month))


@requires(BULLETIN)
async def township_pressed(update: Update, context: CadreContext) -> None:
    """A district admin's button: one township's bulletin of the same month."""
    _, _, arg = parse_cb(update.callback_query.data)
    unit_part, _, month_part = arg.partition(".")
    person = context.person
    unit = await context.repos.org.unit(id_or_zero(unit_part))
    if (
        unit is None or person is None or parse_id(month_part) is None or len(month_part) != 6 or not 1 <= int(month_part[4:]) <= 12
        or not await context.repos.org.contains(person.unit_id, unit.id)
    ):
        await update.callback_query.answer(context.t("bulletin.not_yours"), show_alert=True)
        return
    await answer(update)
    now = update.effective_message.date.astimezone(context.services.settings.tz)
    await show(update, context, unit, date(int(month_part[:4]), int(month_part[4:]), 1), now)


# -- the monthly push ----------------------------------------------------------------------------
def schedule(app: Application) -> tuple[int, time]:
    settings = app.services.settings  # type: ignore[attr-defined]
    return settings.bulletin_day, settings.bulletin_time


def due_month(app: Application, now: datetime) -> tuple[date, date] | None:
    """The month whose bulletin is due at ``now`` (from its sending time, for CATCH_UP_DAYS)."""
    day, at = schedule(app)
    local = now.astimezone(app.services.settings.tz)  # type: ignore[attr-defined]
    due = datetime.combine(local.date().replace(day=min(day, 28)), at, local.tzinfo)
    if not due <= local < due + timedelta(days=CATCH_UP_DAYS):
        return None
    return previous_month(local.date())


def _part(t: Translator, *, text: str) -> tuple[str, None]:
    return text, None


async def send_monthly(app: Application, now: datetime | None = None) -> Outcome:
    """Send the bulletins due at ``now`` to every group bound for bulletins (once each)."""
    now = now or now_of(app)
    outcome = Outcome()
    month = due_month(app, now)
    if month is None:
        return outcome
    repos: Repos = app.services.repos  # type: ignore[attr-defined]
    start, end = month
    code = month_code(start)
    t = app.services.catalogs.get(None)  # type: ignore[attr-defined]
    units = await bulletin_units(repos)
    for unit in units:
        audience = [u.id for u in await repos.org.subtree(unit.id)] if unit.level == "township" else [unit.id]
        chats = [c.chat_id for c in await repos.chats.receiving(audience, "bulletins")]
        if not chats:
            continue
        settled = await repos.pushes.settled((KIND, unit.id, code, "chart"), now, LEASE)
        if set(chats) <= settled:
            continue
        rendered = await made(repos, t, unit, start, end, now)
        if rendered is None:
            continue
        for n, part in enumerate(rendered.parts):
            draw = functools.partial(_part, text=part)
            outcome.merge(await deliver(app, [Push(PushKey(KIND, unit.id, code, f"text{n}", c), draw) for c in chats], now))
        draw = functools.partial(_part, text=rendered.caption)
        photo = rendered.chart
        pushes = [Push(PushKey(KIND, unit.id, code, "chart", c), draw, photo=photo) for c in chats]  # type: ignore[arg-type]
        outcome.merge(await deliver(app, pushes, now))
    return outcome


async def bulletin_units(repos: Repos) -> list[Unit]:
    """Every district and township (the units that get a bulletin)."""
    out: dict[int, Unit] = {}
    for root in await repos.oversight.roots():
        if root.level in ("district", "township"):
            out.setdefault(root.id, root)
        for town in await repos.oversight.townships(root.id):
            out.setdefault(town.id, town)
    return list(out.values())


async def _tick(context: CallbackContext) -> None:
    await send_monthly(context.application)


async def on_startup(app: Application) -> None:
    queue = app.job_queue
    if queue is None:
        return
    day, at = schedule(app)
    tz = app.services.settings.tz  # type: ignore[attr-defined]
    queue.run_monthly(_tick, at.replace(tzinfo=tz), day=day, name=MONTHLY)
    queue.run_repeating(_tick, 3600, first=30, name=HOURLY)  # catch-up after an outage, retries


def register(app: Application) -> None:
    app.add_handler(CommandHandler("bulletin", bulletin_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(township_pressed, pattern=r"^bulletin:show:"))
