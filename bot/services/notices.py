"""The texts and buttons of what the scheduler pushes (task reminders, event notices) and of
the phrases the task and schedule screens share: deadlines, days left, recurrences, leads.

Every function takes the :class:`~bot.i18n.Translator` of the reader, so one push renders in
each reader's language (groups get the default language).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from bot.channel import Keyboard
from bot.channel import keyboard as channel_keyboard
from bot.i18n import Translator
from bot.rules.deadlines import days_left
from bot.rules.reach import (
    BOT_REMOVED,
    NO_GROUP,
    NOBODY_JOINED,
    NOBODY_NO_GROUP,
    Reach,
    UnitReach,
    delivered,
    sorted_missed,
    urgent,
)
from bot.rules.reach import reach as reach_of
from bot.rules.recurrence import LAST, MONTHLY_DAY, MONTHLY_WEEKDAY, Lead, Rule
from storage.events import Event
from storage.tasks import Task

Rendered = tuple[str, Keyboard | None]  # the text and its buttons (bot.channel)
MAX_CALLBACK_BYTES = 64  # Telegram's limit on a button's payload


def cb(flow: str, action: str, arg: object = "") -> str:
    """A ``flow:action:arg`` payload (the handlers' convention; services do not import them)."""
    data = f"{flow}:{action}:{arg}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback payload over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> Keyboard:
    return channel_keyboard(rows)
MAX_NAMES = 30  # names listed in one message before "and N more"
NTH_KEYS = {
    1: ("sched.rule.nth_1", "sched.rule.nth_1_every"),
    2: ("sched.rule.nth_2", "sched.rule.nth_2_every"),
    3: ("sched.rule.nth_3", "sched.rule.nth_3_every"),
    4: ("sched.rule.nth_4", "sched.rule.nth_4_every"),
    LAST: ("sched.rule.nth_last", "sched.rule.nth_last_every"),
}
# Why a typed deadline was refused (bot.rules.dates reasons) → the hint to show.
DEADLINE_HINTS = {
    "empty": "task.wrong.deadline_empty_any",
    "not_a_date": "task.wrong.deadline_unread",
    "past": "task.wrong.deadline_past",
    "future": "task.wrong.deadline_future",
    "too_old": "task.wrong.deadline_too_old",
}


# -- shared phrases -------------------------------------------------------------------------
def moment(t: Translator, value: datetime, zone: tzinfo) -> str:
    """A date in full with its time (the language's full date, then HH:MM)."""
    local = value.astimezone(zone)
    return t("task.moment", date=t.date(local.date()), time=f"{local:%H:%M}")


def left(t: Translator, deadline: datetime, now: datetime) -> str:
    """Days left, due today, due tomorrow, or days overdue, in the user's language."""
    if now >= deadline:
        late = -days_left(deadline, now)
        return t.n("task.left.overdue", late) if late > 0 else t("task.left.passed")
    days = days_left(deadline, now)
    if days == 0:
        return t("task.left.today")
    if days == 1:
        return t("task.left.tomorrow")
    return t.n("task.left.days", days)


def names(t: Translator, items: Iterable[str]) -> str:
    items = list(items)
    if len(items) > MAX_NAMES:
        return t("task.names_more", names=t("list.sep").join(items[:MAX_NAMES]), count=len(items))
    return t("list.sep").join(items)


def weekday_name(t: Translator, weekday: int) -> str:
    return t.babel_locale.days["format"]["wide"][weekday]


def describe_rule(t: Translator, rule: Rule) -> str:
    """A recurrence in words (monthly on a day, the last day every two months, the Nth weekday, weekly)."""
    every = rule.every
    suffix = "" if every == 1 else "_every"
    if rule.kind == MONTHLY_DAY:
        if rule.day == 31:
            text = t(f"sched.rule.last_day{suffix}", every=every)
        else:
            text = t(f"sched.rule.day{suffix}", day=rule.day, every=every)
    elif rule.kind == MONTHLY_WEEKDAY:
        key = NTH_KEYS[rule.nth][every > 1]
        text = t(key, weekday=weekday_name(t, rule.weekday), every=every)
    else:
        text = t(f"sched.rule.weekly{suffix}", weekday=weekday_name(t, rule.weekday), every=every)
    return t("sched.rule.at", rule=text, time=f"{rule.hour:02d}:{rule.minute:02d}")


def describe_lead(t: Translator, lead: Lead) -> str:
    if lead.at is None:
        if lead.minutes % 60 == 0:
            return t.n("sched.lead.hours", lead.minutes // 60)
        return t.n("sched.lead.minutes", lead.minutes)
    if lead.days == 0:
        return t("sched.lead.same_day", time=f"{lead.at:%H:%M}")
    return t.n("sched.lead.days", lead.days, time=f"{lead.at:%H:%M}")


def describe_leads(t: Translator, codes: Sequence[str]) -> str:
    if not codes:
        return t("sched.lead.none")
    leads = sorted((Lead.parse(c) for c in codes), key=lambda lead: -lead.span())
    return t("list.sep").join(describe_lead(t, lead) for lead in leads)


# -- tasks ----------------------------------------------------------------------------------
def done_markup(t: Translator, task_id: int, unit_id: int) -> Keyboard:
    return keyboard([[(t("task.btn.done"), cb("task", "done", f"{task_id}.{unit_id}"))]])


def _compose(t: Translator, text: str, task: Task, action: str) -> str:
    """The push, the task's description (if any), then what to do."""
    if task.description:
        text += "\n" + t("task.push.description", text=task.description)
    return text + "\n" + t(action)


def task_announce(
    t: Translator, *, task: Task, unit: str, zone: tzinfo, now: datetime, unit_id: int
) -> Rendered:
    key = "task.push.extended" if task.extended else "task.push.new"
    text = t(
        key,
        unit=unit,
        title=task.title,
        deadline=moment(t, task.deadline, zone),
        left=left(t, task.deadline, now),
    )
    return _compose(t, text, task, "task.push.act_done"), done_markup(t, task.id, unit_id)


def task_reminder(
    t: Translator, *, task: Task, unit: str, zone: tzinfo, now: datetime, unit_id: int
) -> Rendered:
    text = t(
        "task.push.remind",
        unit=unit,
        title=task.title,
        deadline=moment(t, task.deadline, zone),
        left=left(t, task.deadline, now),
    )
    return _compose(t, text, task, "task.push.act_if_done"), done_markup(t, task.id, unit_id)


def task_overdue(
    t: Translator, *, task: Task, unit: str, zone: tzinfo, now: datetime, unit_id: int
) -> Rendered:
    text = t(
        "task.push.overdue",
        unit=unit,
        title=task.title,
        deadline=moment(t, task.deadline, zone),
    )
    return text, done_markup(t, task.id, unit_id)


def task_late_list(
    t: Translator, *, task: Task, late: Sequence[str], done: int, total: int, zone: tzinfo
) -> Rendered:
    text = t(
        "task.push.late_list",
        title=task.title,
        deadline=moment(t, task.deadline, zone),
        done=done,
        total=total,
        late=names(t, late),
    )
    return text, None


def task_nudge(
    t: Translator, *, task: Task, unit: str, zone: tzinfo, now: datetime, unit_id: int
) -> Rendered:
    if now >= task.deadline:
        key = "task.push.nudge_late"
    else:  # 请抓紧落实 only close to the deadline, not 120 days before it
        key = "task.push.nudge" if urgent(days_left(task.deadline, now)) else "task.push.nudge_early"
    text = t(
        key,
        unit=unit,
        title=task.title,
        deadline=moment(t, task.deadline, zone),
        left=left(t, task.deadline, now),
    )
    return text, done_markup(t, task.id, unit_id)


def task_done_notice(t: Translator, *, task: Task, unit: str, who: str, note: str, done: int, total: int) -> Rendered:
    text = t("task.push.done", unit=unit, title=task.title, who=who, done=done, total=total)
    if note:
        text += "\n" + t("task.push.done_note", note=note)
    return text, None


# -- events ---------------------------------------------------------------------------------
def rsvp_markup(t: Translator, event_id: int, occurrence: str) -> Keyboard:
    day = occurrence.replace("-", "")
    return keyboard(
        [
            [
                (t("sched.btn.yes"), cb("rsvp", "yes", f"{event_id}.{day}")),
                (t("sched.btn.no"), cb("rsvp", "no", f"{event_id}.{day}")),
            ]
        ]
    )


def event_notice(
    t: Translator,
    *,
    event: Event,
    at: datetime,
    zone: tzinfo,
    counts: tuple[int, int],
    soon: bool = False,
    cancelled: bool = False,
    occ: Any = None,
    was: datetime | None = None,
) -> Rendered:
    """The notice of one occurrence, with the live count of answers. ``occ`` is its own
    arrangement (storage.events.Occurrence: this time's speaker and topic), ``was`` the rule's
    moment of an occurrence moved to ``at`` (its key stays the rule's date)."""
    header = "sched.notice.soon" if soon else "sched.notice.header"
    lines = [t(header, title=event.title), t("sched.notice.when", when=moment(t, at, zone))]
    if was is not None and was != at:
        lines.append(t("sched.notice.moved", was=moment(t, was, zone)))
    topic = getattr(occ, "topic", "") or ""
    if topic:
        lines.append(t("sched.notice.topic", topic=topic))
    if event.place:
        lines.append(t("sched.notice.place", place=event.place))
    speaker = getattr(occ, "speaker", "") or event.speaker
    if speaker:
        lines.append(t("sched.notice.speaker", speaker=speaker))
    if cancelled:
        lines.append("")
        lines.append(t("sched.notice.skipped" if getattr(occ, "skipped", False) else "sched.notice.cancelled"))
        return "\n".join(lines), None
    lines.append("")
    lines.append(t("sched.notice.count", yes=counts[0], no=counts[1]))
    key = (was or at).astimezone(zone).date().isoformat()
    return "\n".join(lines), rsvp_markup(t, event.id, key)


def event_change(t: Translator, *, event: Event, was: datetime, at: datetime | None, zone: tzinfo) -> Rendered:
    """To a group that already got the notice of an occurrence: it is cancelled this time
    (``at`` None), or moved to ``at``."""
    if at is None:
        return t("sched.push.skipped", title=event.title, was=moment(t, was, zone)), None
    return t("sched.push.moved", title=event.title, was=moment(t, was, zone), when=moment(t, at, zone)), None


def chat_gone(t: Translator, *, title: str, unit: str) -> Rendered:
    return t("sched.chat_gone", title=title or "-", unit=unit or "-"), None


# -- reach: which units a task or a notice reaches, which it cannot and why ----------------------
# One computation for tasks and notices alike: the facts of one set-based query
# (storage.chats.ChatsRepo.reach_facts), the pure rule bot.rules.reach, and the push log's sent
# chats (storage.pushes.PushesRepo.sent_to) for what was actually delivered.
TASK_KINDS = ("task_new", "task_extend", "task_remind", "task_overdue", "task_nudge")
EVENT_KINDS = ("event_notice",)
INVITE_BUTTONS = 4  # invite buttons under a status; more units: the /invite command
ALERT_MAX = 200  # Telegram's limit on a callback answer's text


async def task_reach(repos: Any, task: Task, units: Sequence[Any]) -> Reach:
    """The reach of a task's pushes to its units (TaskUnits), by its audience."""
    facts = await repos.chats.reach_facts([u.unit_id for u in units])
    return reach_of([(u.unit_id, u.unit_name) for u in units], facts, groups=task.to_groups)


async def draft_reach(repos: Any, unit_ids: Iterable[int], audience: str) -> Reach:
    """The reach a task being written would have (its units and audience)."""
    ids = list(unit_ids)
    facts = await repos.chats.reach_facts(ids)
    return reach_of(await repos.chats.unit_names(ids), facts, groups=audience != "people")


async def event_reach(repos: Any, event: Event) -> Reach:
    """The reach of an event's notices: its units' bound groups (notices go to groups only)."""
    ids = list(event.unit_ids)
    facts = await repos.chats.reach_facts(ids, "notices")
    return reach_of(await repos.chats.unit_names(ids), facts, people=False)


def why_line(t: Translator, unit: UnitReach) -> str:
    return t(f"reach.why.{unit.why or 'nobody_joined'}", unit=unit.name)


def reach_text(t: Translator, result: Reach, sent: Iterable[int] | None = None) -> str:
    """Which units it reaches (or, with the push log's ``sent`` chats, reached and not yet),
    and which it cannot, each with why. Never says everyone when not everyone."""
    lines = []
    if sent is None:
        can = result.reachable
        if can and not result.missed:
            lines.append(t("reach.all", count=len(can)))
        elif can:
            lines.append(t("reach.some", count=len(can), total=len(result.units), names=names(t, [u.name for u in can])))
        else:
            lines.append(t("reach.none", total=len(result.units)))
    else:
        done, waiting = delivered(result, sent)
        lines.append(t("reach.sent", count=len(done), total=len(result.units),
                       names=names(t, [u.name for u in done]) if done else t("reach.nobody")))
        if waiting:
            lines.append(t("reach.waiting", count=len(waiting), names=names(t, [u.name for u in waiting])))
    missed = sorted_missed(result)
    if missed:
        if sent is not None or result.reachable:  # (with none reachable, the first line counted them)
            lines.append(t("reach.missed", count=len(missed)))
        lines += [t("reach.item", text=why_line(t, u)) for u in missed[:MAX_NAMES]]
        if len(missed) > MAX_NAMES:
            lines.append(t("reach.more", count=len(missed) - MAX_NAMES))
        if any(u.why in (NOBODY_JOINED, NOBODY_NO_GROUP) for u in missed):
            lines.append(t("reach.invite_hint"))
        if any(u.why in (NO_GROUP, BOT_REMOVED, NOBODY_NO_GROUP) for u in missed):
            lines.append(t("reach.bind_hint"))
    return "\n".join(lines)


def missed_line(t: Translator, result: Reach) -> str:
    """One line for a list: how many units it cannot reach, with why ("" when none)."""
    missed = sorted_missed(result)
    if not missed:
        return ""
    return t("reach.list_missed", count=len(missed), names=t("list.sep").join(why_line(t, u) for u in missed[:5]),
             more=t("reach.more_inline", count=len(missed) - 5) if len(missed) > 5 else "")


def invite_rows(t: Translator, result: Reach) -> list[list[tuple[str, str]]]:
    """A button to invite each unit nobody joined in (the /invite flow, inv:pick:<unit>)."""
    nobody = [u for u in sorted_missed(result) if u.why in (NOBODY_JOINED, NOBODY_NO_GROUP)]
    return [[(t("reach.btn.invite", unit=u.name), cb("inv", "pick", u.unit_id))] for u in nobody[:INVITE_BUTTONS]]


def nudge_answer(t: Translator, reminded: int, result: Reach, pending_ids: Iterable[int]) -> str:
    """The 现在提醒 answer: how many units were reminded, and who was not and why."""
    pending = set(pending_ids)
    missed = [u for u in sorted_missed(result) if u.unit_id in pending]
    if not missed:
        return t("task.nudged", count=reminded)
    who = t("list.sep").join(why_line(t, u) for u in missed[:4])
    if len(missed) > 4:
        who = t("reach.more_after", names=who, count=len(missed) - 4)
    text = t("reach.nudged_some" if reminded else "reach.nudged_none", count=reminded, missed=len(missed), who=who)
    return text if len(text) <= ALERT_MAX else text[: ALERT_MAX - 1] + "…"  # an alert holds 200 characters
