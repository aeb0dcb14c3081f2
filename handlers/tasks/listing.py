"""/tasks: my open tasks with the days left; for admins, each task's completion.

* A village secretary (or member) sees their unit's open tasks, soonest first, with the days
  left and whether the unit has done it; a secretary gets 已完成 / 补充说明 buttons (the
  :mod:`handlers.tasks.done` flow).
* An admin also sees the tasks they follow (created by them or given to units under them):
  done/total and who has not finished; a task's page lists the units, with buttons to remind
  the late ones now, extend the deadline (typed freely, confirmed before saving) or close it.
  Only the creator, or an admin above the creator's unit, may remind, extend or close.

Units are listed by name, never ranked.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    filters,
)

from bot.context import CadreContext
from bot.rules.ids import id_or_zero
from bot.rules.reach import reach as reach_of
from bot.services import notices, scheduler
from bot.services.scheduler import Push
from handlers.auth import ADMINS, JOINED, Command, command, requires
from handlers.flow import (
    Button,
    answer,
    ask,
    cb,
    chunk,
    keyboard,
    parse_cb,
)
from storage.pushes import PushKey
from storage.tasks import Task, TaskUnit

TASKS = command("tasks", JOINED)
# The buttons of a task's page: admins only (declared without command(): not a menu entry).
MANAGE = Command("tasks", ADMINS)
FLOW = "tasks"
EXTEND_FLOW = "taskext"  # the 延期 conversation (handlers.tasks.extend)
MSG = filters.UpdateType.MESSAGE
TEXT = MSG & filters.TEXT & ~filters.COMMAND


def status_line(context: CadreContext, task: Task, units: list[TaskUnit], now: datetime) -> str:
    t = context.t
    tz = context.services.settings.tz
    done = sum(u.done for u in units)
    late = [u.unit_name for u in units if not u.done]
    key = "task.list.admin_line_late" if now >= task.deadline and late else "task.list.admin_line"
    return t(
        key,
        title=task.title,
        deadline=notices.moment(t, task.deadline, tz),
        left=notices.left(t, task.deadline, now),
        done=done,
        total=len(units),
        late=notices.names(t, late) if late else t("task.list.nobody"),
    )


async def may_manage(context: CadreContext, task: Task) -> bool:
    person = context.person
    if person is None or person.role not in ADMINS:
        return False
    return person.id == task.created_by or await context.repos.org.contains(person.unit_id, task.scope_unit_id)


async def list_screen(context: CadreContext) -> tuple[str, Any]:
    t = context.t
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    repos = context.repos
    tz = context.services.settings.tz
    now = scheduler.now_of(context.application)
    parts: list[str] = []
    rows: list[list[Button]] = []
    mine = await repos.tasks.open_for_unit(person.unit_id)
    leader = any(leader.person_id == person.id for leader in await repos.tasks.leaders([person.unit_id]))
    if mine:
        parts.append(t("task.list.mine_header", unit=mine[0][1].unit_name))
        for n, (task, part) in enumerate(mine, start=1):
            key = "task.list.mine_done" if part.done else "task.list.mine_open"
            parts.append(
                t(key, n=n, title=task.title, deadline=notices.moment(t, task.deadline, tz),
                  left=notices.left(t, task.deadline, now))
            )
            if leader:
                arg = f"{task.id}.{part.unit_id}"
                if part.done:
                    rows.append([(t("task.btn.note_for", n=n), cb("task", "note", arg))])
                else:
                    rows.append([(t("task.btn.done_for", n=n), cb("task", "done", arg))])
    if person.role in ADMINS:
        followed = [task for task in await repos.tasks.visible_to(person.id, person.unit_id)
                    if task.id not in {m[0].id for m in mine}]
        if followed:
            units_of = await repos.tasks.units_of([task.id for task in followed])
            facts = await repos.chats.reach_facts({u.unit_id for us in units_of.values() for u in us})
            parts.append(t("task.list.admin_header"))
            buttons = []
            for n, task in enumerate(followed, start=1):
                line = f"{n}. " + status_line(context, task, units_of[task.id], now)
                pending = [(u.unit_id, u.unit_name) for u in units_of[task.id] if not u.done]
                missed = notices.missed_line(t, reach_of(pending, facts, groups=task.to_groups))
                parts.append(f"{line}\n{missed}" if missed else line)
                buttons.append((t("task.btn.view", n=n), cb(FLOW, "view", task.id)))
            rows += chunk(buttons, 4)
    if not parts:
        return t("task.list.empty_admin" if person.role in ADMINS else "task.list.empty"), None
    return "\n\n".join(parts), keyboard(rows) if rows else None


@requires(TASKS)
async def tasks_command(update: Update, context: CadreContext) -> None:
    text, markup = await list_screen(context)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def task_screen(context: CadreContext, task: Task) -> tuple[str, Any]:
    t = context.t
    now = scheduler.now_of(context.application)
    units = await context.repos.tasks.units(task.id)
    lines = [status_line(context, task, units, now)]
    if task.description:
        lines.append(t("task.push.description", text=task.description))
    done = [u for u in units if u.done]
    if done:
        lines.append(t("task.view.done_header", count=len(done)))
        for u in done:
            key = "task.view.done_note" if u.note or u.photo_file_id else "task.view.done_unit"
            mark = t("task.view.photo_mark") if u.photo_file_id else ""
            lines.append(t(key, unit=u.unit_name, note=u.note, photo=mark))
    lines.append(t("task.view.audience", audience=t(f"reach.audience.{task.audience}")))
    reach = await notices.task_reach(context.repos, task, units)
    sent = (await context.repos.pushes.sent_to(notices.TASK_KINDS, [task.id])).get(task.id, set())
    lines.append(notices.reach_text(t, reach, sent))
    rows: list[list[Button]] = []
    if await may_manage(context, task):
        rows += notices.invite_rows(t, reach)
        if any(not u.done for u in units):
            rows.append([(t("task.btn.nudge"), cb(FLOW, "nudge", task.id))])
        rows.append([(t("task.btn.extend"), cb(EXTEND_FLOW, "start", task.id)),
                     (t("task.btn.close"), cb(FLOW, "close", task.id))])
    rows.append([(t("task.btn.to_list"), cb(FLOW, "list"))])
    return "\n".join(lines), keyboard(rows)


async def task_or_alert(update: Update, context: CadreContext) -> Task | None:
    _, _, arg = parse_cb(update.callback_query.data)
    task = await context.repos.tasks.get(id_or_zero(arg))
    if task is None or not task.open:
        await update.callback_query.answer(context.t("task.stale"), show_alert=True)
        return None
    return task


async def managed_task_or_alert(update: Update, context: CadreContext) -> Task | None:
    """The pressed button's task if it is open and the user may manage it; else an alert."""
    task = await task_or_alert(update, context)
    if task is None:
        return None
    if not await may_manage(context, task):
        await update.callback_query.answer(context.t("task.not_manager"), show_alert=True)
        return None
    return task


@requires(MANAGE)
async def view_pressed(update: Update, context: CadreContext) -> None:
    task = await task_or_alert(update, context)
    if task is None:
        return
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    visible = {x.id for x in await context.repos.tasks.visible_to(person.id, person.unit_id)}
    if task.id not in visible:
        await update.callback_query.answer(context.t("task.stale"), show_alert=True)
        return
    await answer(update)
    text, markup = await task_screen(context, task)
    await ask(update, context, text, markup)


@requires(TASKS)
async def list_pressed(update: Update, context: CadreContext) -> None:
    await answer(update)
    text, markup = await list_screen(context)
    await ask(update, context, text, markup)


@requires(MANAGE)
async def nudge_pressed(update: Update, context: CadreContext) -> None:
    """Remind the units that have not finished, now (at most once an hour per task)."""
    t = context.t
    task = await managed_task_or_alert(update, context)
    if task is None:
        return
    app = context.application
    repos = context.repos
    tz = context.services.settings.tz
    now = scheduler.now_of(app)
    pending = [u for u in await repos.tasks.units(task.id) if not u.done]
    reach = await notices.task_reach(repos, task, pending)  # where each unit's pushes go, or why not
    hour = now.astimezone(tz).strftime("%Y-%m-%dT%H")
    pushes = []
    for unit in pending:
        draw = functools.partial(notices.task_nudge, task=task, unit=unit.unit_name, zone=tz, now=now, unit_id=unit.unit_id)
        chats = reach.of(unit.unit_id).chats  # type: ignore[union-attr]
        pushes += [Push(PushKey("task_nudge", task.id, hour, "", chat), draw) for chat in chats]
    done_already = await repos.pushes.settled(("task_nudge", task.id, hour, ""), now, scheduler.LEASE)
    units_to_remind = sum(1 for u in pending if set(reach.of(u.unit_id).chats) - done_already)  # type: ignore[union-attr]
    if units_to_remind or reach.missed:
        message = notices.nudge_answer(t, units_to_remind, reach, [u.unit_id for u in pending])
    elif pushes:
        message = t("task.nudged_already")
    else:
        message = t("task.nudge_nowhere")
    await update.callback_query.answer(message, show_alert=True)  # before the sends: they are paced
    if units_to_remind:
        await scheduler.deliver(app, pushes, now)


@requires(MANAGE)
async def close_pressed(update: Update, context: CadreContext) -> None:
    t = context.t
    task = await managed_task_or_alert(update, context)
    if task is None:
        return
    await answer(update)
    rows = [[(t("task.btn.close_confirm"), cb(FLOW, "closeok", task.id)), (t("task.btn.back"), cb(FLOW, "view", task.id))]]
    await ask(update, context, t("task.close.confirm", title=task.title), keyboard(rows))


@requires(MANAGE)
async def close_confirmed(update: Update, context: CadreContext) -> None:
    t = context.t
    task = await managed_task_or_alert(update, context)
    if task is None:
        return
    await answer(update)
    await context.repos.tasks.close(task.id, context.person.id, scheduler.now_of(context.application))  # type: ignore[union-attr]
    await ask(update, context, t("task.closed", title=task.title))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("tasks", tasks_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(view_pressed, pattern=rf"^{FLOW}:view:"))
    app.add_handler(CallbackQueryHandler(list_pressed, pattern=rf"^{FLOW}:list:"))
    app.add_handler(CallbackQueryHandler(nudge_pressed, pattern=rf"^{FLOW}:nudge:"))
    app.add_handler(CallbackQueryHandler(close_pressed, pattern=rf"^{FLOW}:close:"))
    app.add_handler(CallbackQueryHandler(close_confirmed, pattern=rf"^{FLOW}:closeok:"))
