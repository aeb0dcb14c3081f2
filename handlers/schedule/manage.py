"""/schedule: the admin's recurring events: list, a page per event, pause/resume, delete, and
who answered the notice of the coming date (参加 / 请假 / not yet). 新建 and 修改 are the entry
buttons of the form in :mod:`handlers.schedule.conversation`."""

from __future__ import annotations

from datetime import date, datetime, time

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import CadreContext
from bot.forms.core import day_label
from bot.rules.ids import id_or_zero
from bot.rules.recurrence import Rule, arranged, occurrence_on
from bot.services import notices, scheduler
from handlers import unit_picker
from handlers.auth import ADMINS, command, requires
from handlers.flow import Button, answer, ask, cb, chunk, keyboard, parse_cb
from handlers.schedule import occurrence as occ_form
from handlers.schedule.steps import FLOW as FORM_FLOW
from handlers.schedule.steps import holiday_notes
from storage.events import Event, Occurrence
from storage.org import Person

SCHEDULE = command("schedule", ADMINS)
FLOW = "sched"
AUDIENCE_ROLES = {"secretaries": ("secretary",), "everyone": ("secretary", "member")}
SHOWN, PICKABLE = 3, 6  # dates on an event's page; dates offered by 其他日期


async def changes_of(context: CadreContext, event_ids: list[int], now: datetime) -> dict[int, dict[date, Occurrence]]:
    """Each event's arranged occurrences still to come, by the rule's date (one query)."""
    tz = context.services.settings.tz
    rows = await context.repos.events.arrangements(event_ids, now.astimezone(tz).date().isoformat(), now)
    return {eid: {occ.day: occ for occ in by_day.values()} for eid, by_day in rows.items()}


def short_day(t, day: date, now: datetime) -> str:
    """12月4日(周五), the year only when not this year (the engine's one date format)."""
    return day_label(t, datetime.combine(day, time(12), now.tzinfo), now)


def occurrence_label(context: CadreContext, day: date, at: datetime, occ: Occurrence | None, now: datetime) -> str:
    """One coming date as the admin sees it: its moment, and what is special about it."""
    t = context.t
    tz = context.services.settings.tz
    shown = notices.moment(t, at, tz)
    if occ is not None and occ.skipped:
        return t("sched.occ.line_skipped", when=shown)
    if occ is not None and occ.moved_to is not None:
        shown = t("sched.occ.line_moved", when=shown, was=short_day(t, day, now))
    speaker = occ.speaker if occ is not None else ""
    return t("sched.occ.line_speaker", when=shown, speaker=speaker) if speaker else shown


def speaker_line(t, event: Event, occ: Occurrence | None, now: datetime) -> str:
    """The event's speaker, and the next held date's own speaker and topic, named for that date."""
    speaker = event.speaker or t("sched.review.none")
    if occ is None:
        return speaker
    day = short_day(t, occ.day, now)
    if occ.speaker:
        speaker = t("sched.view.speaker_next", speaker=speaker, date=day, next=occ.speaker)
    if occ.topic:
        speaker = t("sched.view.topic_next", speaker=speaker, date=day, topic=occ.topic)
    return speaker


def short(title: str, limit: int = 20) -> str:
    """An event's title on a button: cut with … past ``limit`` characters."""
    return title if len(title) <= limit else title[: limit - 1] + "…"


async def may_edit(context: CadreContext, event: Event) -> bool:
    person = context.person
    if person is None or person.role not in ADMINS:
        return False
    return person.id == event.organiser or await context.repos.org.contains(person.unit_id, event.scope_unit_id)


async def list_screen(context: CadreContext) -> tuple[str, object]:
    t = context.t
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    tz = context.services.settings.tz
    now = scheduler.now_of(context.application)
    events = await context.repos.events.in_scope(person.unit_id)
    lines = [t("sched.list.header")] if events else [t("sched.list.empty")]
    buttons: list[Button] = []
    changes = await changes_of(context, [event.id for event in events], now)
    for n, event in enumerate(events, start=1):
        rule = Rule.from_dict(event.rule)
        nxt = arranged(rule, changes.get(event.id, {}), now, tz, 1)  # a skipped date is not "next"
        key = "sched.list.line_paused" if event.paused else "sched.list.line"
        lines.append(t(key, n=n, title=event.title, rule=notices.describe_rule(t, rule),
                       next=notices.moment(t, nxt[0][1], tz) if nxt else "-"))
        buttons.append((t("sched.list.button", n=n, title=short(event.title)), cb(FLOW, "view", event.id)))
    rows = chunk(buttons, 1)
    rows.append([(t("sched.btn.new"), cb(FORM_FLOW, "start"))])
    return "\n\n".join(lines), keyboard(rows)


@requires(SCHEDULE)
async def schedule_command(update: Update, context: CadreContext) -> None:
    text, markup = await list_screen(context)
    await update.effective_message.reply_text(text, reply_markup=markup)


@requires(SCHEDULE)
async def list_pressed(update: Update, context: CadreContext) -> None:
    await answer(update)
    text, markup = await list_screen(context)
    await ask(update, context, text, markup)  # type: ignore[arg-type]


async def _event(update: Update, context: CadreContext) -> Event | None:
    _, _, arg = parse_cb(update.callback_query.data)
    event = await context.repos.events.get(id_or_zero(arg))
    if event is None or not await may_edit(context, event):
        await update.callback_query.answer(context.t("task.stale"), show_alert=True)
        return None
    return event


async def event_screen(context: CadreContext, event: Event) -> tuple[str, object]:
    t = context.t
    tz = context.services.settings.tz
    rule = Rule.from_dict(event.rule)
    now = scheduler.now_of(context.application)
    changes = (await changes_of(context, [event.id], now)).get(event.id, {})
    nexts = arranged(rule, changes, now, tz, SHOWN, skipped=True)
    held = [(day, at) for day, at in nexts if not (changes.get(day) and changes[day].skipped)]
    text = t(
        "sched.view",
        title=event.title,
        state=t("sched.state.paused" if event.paused else "sched.state.active"),
        rule=notices.describe_rule(t, rule),
        next=t("list.sep").join(occurrence_label(context, day, at, changes.get(day), now) for day, at in nexts) or "-",
        place=event.place or t("sched.review.none"),
        speaker=speaker_line(t, event, changes.get(held[0][0]) if held else None, now),
        units=await unit_picker.summary(context, list(event.unit_ids)),
        leads=notices.describe_leads(t, event.leads),
        audience=t(f"sched.audience.{event.audience}"),
    )
    reach = await notices.event_reach(context.repos, event)  # which units' groups get the notices
    sent = (await context.repos.pushes.sent_to(notices.EVENT_KINDS, [event.id])).get(event.id)
    text += "\n\n" + t("sched.view.reach", reach=notices.reach_text(t, reach, sent))
    flags = holiday_notes(t, [at for _, at in held], now, tz)  # moved dates are checked at their new day
    if flags:
        text = "\n".join([text, "", *flags])
    pause = ("sched.btn.unpause", "unpause") if event.paused else ("sched.btn.pause", "pause")
    rows = [
        [(t(pause[0]), cb(FLOW, pause[1], event.id)), (t("sched.btn.edit"), cb(FORM_FLOW, "start", event.id))],
    ]
    if nexts:  # this time's speaker, topic, skip or move: the next date, or one chosen
        day = nexts[0][0]
        rows.append([(t("sched.occ.btn.next", date=short_day(t, day, now)), occ_form.entry(event.id, day)),
                     (t("sched.occ.btn.other"), cb(FLOW, "occs", event.id))])
    for day, at in held:  # a date on a statutory holiday: offer the next working day
        workday = occ_form.next_workday(at.astimezone(tz))
        if workday is not None:
            rows.append([(t("sched.occ.btn.to_workday", date=short_day(t, day, now), next=short_day(t, workday.date(), now)),
                          occ_form.entry(event.id, day, ".w"))])
            break
    rows += [
        [(t("sched.btn.answers"), cb(FLOW, "ans", event.id)), (t("sched.btn.delete"), cb(FLOW, "del", event.id))],
        [(t("task.btn.to_list"), cb(FLOW, "list"))],
    ]
    return text, keyboard(rows)


@requires(SCHEDULE)
async def occurrences_pressed(update: Update, context: CadreContext) -> None:
    """其他日期: the coming dates (skipped and moved ones too), each opening its arrangement."""
    t = context.t
    event = await _event(update, context)
    if event is None:
        return
    await answer(update)
    tz = context.services.settings.tz
    now = scheduler.now_of(context.application)
    changes = (await changes_of(context, [event.id], now)).get(event.id, {})
    nexts = arranged(Rule.from_dict(event.rule), changes, now, tz, PICKABLE, skipped=True)
    rows = [[(occurrence_label(context, day, at, changes.get(day), now), occ_form.entry(event.id, day))] for day, at in nexts]
    rows.append([(t("task.btn.back"), cb(FLOW, "view", event.id))])
    await ask(update, context, t("sched.occ.pick", title=event.title), keyboard(rows))


@requires(SCHEDULE)
async def view_pressed(update: Update, context: CadreContext) -> None:
    event = await _event(update, context)
    if event is None:
        return
    await answer(update)
    text, markup = await event_screen(context, event)
    await ask(update, context, text, markup)  # type: ignore[arg-type]


@requires(SCHEDULE)
async def pause_pressed(update: Update, context: CadreContext) -> None:
    event = await _event(update, context)
    if event is None:
        return
    _, action, _ = parse_cb(update.callback_query.data)
    app = context.application
    paused = action == "pause"
    await context.repos.events.set_paused(event.id, paused, scheduler.now_of(app))
    await update.callback_query.answer(context.t("sched.paused" if paused else "sched.unpaused"), show_alert=True)
    if not paused:
        scheduler.poke(app)
    event = await context.repos.events.get(event.id)
    if event is not None:
        text, markup = await event_screen(context, event)
        await ask(update, context, text, markup)  # type: ignore[arg-type]


@requires(SCHEDULE)
async def delete_pressed(update: Update, context: CadreContext) -> None:
    t = context.t
    event = await _event(update, context)
    if event is None:
        return
    await answer(update)
    rows = [[(t("sched.btn.delete_confirm"), cb(FLOW, "delok", event.id)), (t("task.btn.back"), cb(FLOW, "view", event.id))]]
    await ask(update, context, t("sched.delete.confirm", title=event.title), keyboard(rows))


@requires(SCHEDULE)
async def delete_confirmed(update: Update, context: CadreContext) -> None:
    event = await _event(update, context)
    if event is None:
        return
    await answer(update)
    app = context.application
    now = scheduler.now_of(app)
    await context.repos.events.delete(event.id, now)
    edited = await scheduler.refresh_notices(app, event, now, cancelled=True)
    await ask(update, context, context.t("sched.deleted", title=event.title, count=edited))


async def focus_occurrence(context: CadreContext, event: Event, now: datetime) -> date | None:
    """The date whose answers matter: the first coming date already announced, else the
    last announced one, else the next date."""
    tz = context.services.settings.tz
    today = now.astimezone(tz).date()
    announced = sorted({date.fromisoformat(r.key.occurrence) for r in await context.repos.pushes.messages("event_notice", event.id)})
    coming = [d for d in announced if d >= today]
    if coming:
        return coming[0]
    if announced:
        return announced[-1]
    changes = (await changes_of(context, [event.id], now)).get(event.id, {})
    nxt = arranged(Rule.from_dict(event.rule), changes, now, tz, 1)
    return nxt[0][0] if nxt else None


async def audience(context: CadreContext, event: Event) -> list[Person]:
    """Who is expected to answer: secretaries (or everyone) of the target units, joined."""
    seen: dict[int, Person] = {}
    for unit_id in event.unit_ids:
        for role in AUDIENCE_ROLES.get(event.audience, ("secretary",)):
            for person in await context.repos.org.people_in(unit_id, role):
                if person.telegram_id is not None:
                    seen.setdefault(person.id, person)
    return sorted(seen.values(), key=lambda p: (p.unit_id, p.name))


@requires(SCHEDULE)
async def answers_pressed(update: Update, context: CadreContext) -> None:
    """Who answered 参加 / 请假 for the coming date, and who has not answered yet."""
    t = context.t
    event = await _event(update, context)
    if event is None:
        return
    await answer(update)
    tz = context.services.settings.tz
    now = scheduler.now_of(context.application)
    day = await focus_occurrence(context, event, now)
    if day is None:
        await ask(update, context, t("sched.answers.none"), keyboard([[(t("task.btn.back"), cb(FLOW, "view", event.id))]]))
        return
    answers = await context.repos.events.answers(event.id, day.isoformat())
    expected = await audience(context, event)
    names: dict[int, str] = {p.telegram_id: p.name for p in expected if p.telegram_id is not None}
    for a in answers:
        if a.telegram_id not in names:
            person = await context.repos.org.person_by_telegram(a.telegram_id)
            names[a.telegram_id] = person.name if person else a.name
    yes = [names[a.telegram_id] for a in answers if a.answer == "yes"]
    # 请假 with its reason, if one was given (this screen is for those who manage the event only)
    no = [t("sched.answers.with_reason", name=names[a.telegram_id], reason=a.reason) if a.reason else names[a.telegram_id]
          for a in answers if a.answer == "no"]
    answered = {a.telegram_id for a in answers}
    silent = [p.name for p in expected if p.telegram_id not in answered]
    rule = Rule.from_dict(event.rule)
    occ = await context.repos.events.occurrence(event.id, day.isoformat())
    at = occ.moved_to if occ is not None and occ.moved_to is not None else occurrence_on(rule, day, tz)
    text = t(
        "sched.answers",
        title=event.title,
        when=occurrence_label(context, day, at.astimezone(tz), occ, now),
        yes_count=len(yes),
        yes=notices.names(t, yes) or "-",
        no_count=len(no),
        no=notices.names(t, no) or "-",
        silent_count=len(silent),
        silent=notices.names(t, silent) or "-",
    )
    reach = await notices.event_reach(context.repos, event)
    if reach.missed:  # "还没回复(0人)" must not hide the units the notice never reached
        text += "\n\n" + t("sched.answers.unreached", reach=notices.reach_text(t, reach))
    await ask(update, context, text, keyboard([[(t("task.btn.back"), cb(FLOW, "view", event.id))]]))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("schedule", schedule_command, filters=filters.ChatType.PRIVATE))
    for action, callback in (
        ("list", list_pressed),
        ("view", view_pressed),
        ("pause", pause_pressed),
        ("unpause", pause_pressed),
        ("del", delete_pressed),
        ("delok", delete_confirmed),
        ("ans", answers_pressed),
        ("occs", occurrences_pressed),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=rf"^{FLOW}:{action}(:|$)"))
