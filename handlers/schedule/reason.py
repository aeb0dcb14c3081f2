"""请假 with a reason: after a member taps 请假 under a notice (in a group), the bot asks them in
private, once per occurrence, why (a few quick reasons, or typed, or 跳过). Only those who manage
the event see the reasons (/schedule → 回复情况); the group's notice shows the counts only.

The question is a push (recorded in the push log, key ``rsvp_why``, sent at most once); its
buttons are the entry buttons of the engine form :data:`FORM` (``rsvp_why:start:<event>.<day>.<code>``):
a quick reason or 跳过 saves at once, ✍️ opens the form's one question (a short text, skippable).
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any

from telegram.ext import Application

from bot.forms.core import OPEN_AT, SAVE, Env, Form, Saved, Screen, Text
from bot.i18n import Translator
from bot.rules.ids import parse_id
from bot.rules.recurrence import Rule, occurrence_on
from bot.services import notices, scheduler
from bot.services.delivery import Push
from handlers.auth import EVERYONE, Command
from storage.events import Event
from storage.pushes import PushKey

FLOW = "rsvp_why"
ANYONE = Command("rsvp", EVERYONE)  # whoever may answer a notice may say why
QUICK = ("ill", "away", "work")  # quick reasons: sched.why.quick.<code>
WRITE, SKIP_IT = "text", "skip"
MAX_REASON = 60


def _arg(event_id: int, occurrence: str, code: str) -> str:
    return f"{event_id}.{occurrence.replace('-', '')}.{code}"


def render_ask(t: Translator, *, event: Event, occurrence: str, at: datetime, zone: Any) -> notices.Rendered:
    rows = [
        [(t(f"sched.why.quick.{code}"), notices.cb(FLOW, "start", _arg(event.id, occurrence, code))) for code in QUICK[:2]],
        [(t(f"sched.why.quick.{QUICK[2]}"), notices.cb(FLOW, "start", _arg(event.id, occurrence, QUICK[2]))),
         (t("sched.why.btn.write"), notices.cb(FLOW, "start", _arg(event.id, occurrence, WRITE)))],
        [(t("sched.why.btn.skip"), notices.cb(FLOW, "start", _arg(event.id, occurrence, SKIP_IT)))],
    ]
    return t("sched.why.ask", title=event.title, when=notices.moment(t, at, zone)), notices.keyboard(rows)


async def ask(app: Application, event: Event, occurrence: str, at: datetime, telegram_id: int, now: datetime) -> bool:
    """Ask the member who tapped 请假 why, in private (once per occurrence; a member who never
    opened a private chat with the bot cannot be asked). True if the question went out."""
    draw = functools.partial(render_ask, event=event, occurrence=occurrence, at=at, zone=scheduler.zone(app))
    outcome = await scheduler.deliver(app, [Push(PushKey(FLOW, event.id, occurrence, "", telegram_id), draw)], now)
    return bool(outcome.sent)


def _parse(arg: str) -> tuple[int, str, str] | None:
    parts = arg.split(".")
    if len(parts) != 3 or parse_id(parts[0]) is None:
        return None
    day = parts[1]
    if len(day) != 8 or not (day.isascii() and day.isdigit()):
        return None
    try:
        occurrence = date(int(day[:4]), int(day[4:6]), int(day[6:8])).isoformat()
    except ValueError:
        return None
    return parse_id(parts[0]), occurrence, parts[2]  # type: ignore[return-value]


async def setup(env: Env, draft: dict[str, Any]) -> str | None:
    context = env.ctx
    parsed = _parse(str(draft.get("arg") or ""))
    if parsed is None or context.telegram_id is None:
        return "form.stale"
    event_id, occurrence, code = parsed
    event = await context.repos.events.get(event_id)
    if event is None:
        return "sched.rsvp.gone"
    mine = await context.repos.events.answer_of(event_id, occurrence, context.telegram_id)
    if mine is None or mine.answer != "no":
        return "sched.why.not_excused"
    occ = await context.repos.events.occurrence(event_id, occurrence)
    tz = context.services.settings.tz
    at = occ.moved_to if occ is not None and occ.moved_to else occurrence_on(Rule.from_dict(event.rule), date.fromisoformat(occurrence), tz)
    if (occ is not None and occ.skipped) or at <= env.now:
        return "sched.rsvp.over"
    draft.update(event_id=event_id, occurrence=occurrence, title=event.title)
    if code in QUICK:
        draft.update(reason=env.t(f"sched.why.quick.{code}"), **{OPEN_AT: SAVE})
    elif code == SKIP_IT:
        draft.update(reason=None, **{OPEN_AT: SAVE})
    elif code != WRITE:
        return "form.stale"
    return None


async def save(env: Env, draft: dict[str, Any]) -> Saved:
    context = env.ctx
    reason = str(draft.get("reason") or "")
    if not reason:
        return Saved(Screen(env.t("sched.why.skipped")))
    kept = await context.repos.events.set_reason(int(draft["event_id"]), str(draft["occurrence"]), context.telegram_id, reason)
    return Saved(Screen(env.t("sched.why.saved" if kept else "sched.why.not_excused", reason=reason)))


FORM = Form(
    FLOW,
    allowed=ANYONE,
    entry="start",
    steps=[Text("reason", ask="sched.why.ask_text", label="sched.why.field", max_len=MAX_REASON, optional=True,
                hint="sched.why.too_long")],
    save=save,
    setup=setup,
    keys={"form.paused_plain": "sched.why.paused", "form.timeout_plain": "sched.why.timeout"},
    title=lambda draft: str(draft.get("title") or ""),
)
FORMS = (FORM,)


def register(app: Application) -> None:
    """Nothing of its own: the engine's one handler runs FORM."""
