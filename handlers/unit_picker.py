"""Choosing target units in a few taps, for /newtask and /schedule.

An admin browses their own part of the tree: a township admin sees their villages as toggles
with "all villages" at the top; a district admin sees their townships (open one to toggle its
villages, or take all its villages at once). The unit browsed can itself be chosen when the
caller allows it (an event for the township's own group; a task for a township). The choice
lives in the conversation's draft (``draft["units"]``), so it survives a restart.

As a step of an engine form: :func:`form_step` (a Custom step; /newtask, /schedule).

Payloads: ``<flow>:u<action>:<arg>`` with actions ``t`` toggle a unit, ``a`` toggle all
villages under a unit, ``o`` open a unit, ``p`` page, ``k`` done.
"""

from __future__ import annotations

from typing import Any

from bot.context import CadreContext
from bot.forms import core
from bot.rules.ids import id_or_zero, parse_page
from handlers.flow import Button, cb, chunk
from storage.org import Unit

PAGE = 24
PICKABLE = ("township", "village")
MAX_LISTED = 12


async def children(context: CadreContext, unit: Unit) -> list[Unit]:
    return [u for u in await context.repos.org.subtree(unit.id) if u.parent_id == unit.id and u.level in PICKABLE]


async def villages_under(context: CadreContext, unit_id: int) -> list[Unit]:
    return await context.repos.org.subtree(unit_id, "village")


def start(draft: dict[str, Any], root: Unit, selected: list[int] | None = None) -> None:
    draft["units"] = list(selected or [])
    draft["browse"] = root.id
    draft["page"] = 0


def form_step(flow: str, *, ask: str, label: str, allow_root: bool, name: str = "units") -> core.Custom:
    """The picker as a Custom step of an engine form (the engine adds 返回/取消)."""

    async def show(env: core.Env, draft: dict[str, Any]) -> core.Screen:
        text, rows = await picker(env.ctx, draft, flow, env.t(ask), allow_root=allow_root)
        return core.Screen(text, [[core.Button(text_, data) for text_, data in row] for row in rows])

    async def handle(env: core.Env, draft: dict[str, Any], inp: core.Input) -> core.Outcome:
        result = await press(env.ctx, draft, inp.action, inp.arg)
        if result == "empty":
            return core.Outcome(alert=env.t("task.wrong.no_units"))
        if result == "denied":
            return core.Outcome(alert=env.t("task.wrong.unit_denied"))
        return core.Outcome(done=result == "done")

    return core.Custom(name, label=label, show=show, handle=handle)


async def picker(
    context: CadreContext, draft: dict[str, Any], flow: str, prompt: str, *, allow_root: bool
) -> tuple[str, list[list[Button]]]:
    t = context.t
    org = context.repos.org
    root_id = context.person.unit_id if context.person else 0
    browse = await org.unit(draft.get("browse") or root_id) or await org.unit(root_id)
    if browse is None:
        raise RuntimeError("unexpected: browse is None")
    selected = set(draft.get("units", []))
    rows: list[list[Button]] = []

    def mark(on: bool, label: str) -> str:
        return t("task.pick.on" if on else "task.pick.off", name=label)

    if allow_root or browse.id != root_id:
        rows.append([(mark(browse.id in selected, t("task.pick.itself", name=browse.name)), cb(flow, "ut", browse.id))])
    villages = await villages_under(context, browse.id)
    if villages:
        every = all(v.id in selected for v in villages)
        label = t("task.pick.none_of", name=browse.name) if every else t("task.pick.all_of", name=browse.name, count=len(villages))
        rows.append([(label, cb(flow, "ua", browse.id))])
    kids = await children(context, browse)
    page = int(draft.get("page", 0))
    pages = max(1, -(-len(kids) // PAGE))
    page = min(page, pages - 1)
    shown = kids[page * PAGE : (page + 1) * PAGE]
    buttons: list[Button] = []
    for kid in shown:
        if kid.level == "village":
            buttons.append((mark(kid.id in selected, kid.name), cb(flow, "ut", kid.id)))
        else:
            inside = await villages_under(context, kid.id)
            count = sum(1 for v in inside if v.id in selected) + (kid.id in selected)
            buttons.append((t("task.pick.open", name=kid.name, count=count), cb(flow, "uo", kid.id)))
    rows += chunk(buttons, 2)
    if pages > 1:
        nav = []
        if page > 0:
            nav.append((t("task.pick.prev"), cb(flow, "up", page - 1)))
        if page < pages - 1:
            nav.append((t("task.pick.next"), cb(flow, "up", page + 1)))
        rows.append(nav)
    bottom: list[Button] = []
    if browse.id != root_id and browse.parent_id is not None:
        bottom.append((t("task.pick.up"), cb(flow, "uo", browse.parent_id)))
    bottom.append((t("task.pick.done", count=len(selected)), cb(flow, "uk")))
    rows.append(bottom)
    text = prompt
    if selected:
        text += "\n\n" + t("task.pick.chosen", names=await summary(context, sorted(selected)))
    return text, rows


async def press(context: CadreContext, draft: dict[str, Any], action: str, arg: str) -> str | None:
    """Apply a press; returns "done" when the choice is confirmed, "empty" if nothing is
    chosen yet, "denied" for a unit outside the admin's part of the tree, else None."""
    org = context.repos.org
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    selected = set(draft.get("units", []))
    if action == "uk":
        return "done" if selected else "empty"
    if action == "up":
        draft["page"] = parse_page(arg)
        return None
    unit_id = id_or_zero(arg)
    unit = await org.unit(unit_id)
    if unit is None or not await org.contains(person.unit_id, unit_id):
        return "denied"
    if action == "uo":
        draft["browse"] = unit.id
        draft["page"] = 0
    elif action == "ut":
        selected ^= {unit.id}
    elif action == "ua":
        ids = {v.id for v in await villages_under(context, unit.id)}
        selected = selected - ids if ids <= selected else selected | ids
    draft["units"] = sorted(selected)
    return None


async def summary(context: CadreContext, unit_ids: list[int]) -> str:
    """红旗村、向阳村 / 东风镇全部3个村 / ... and N more."""
    t = context.t
    org = context.repos.org
    remaining = set(unit_ids)
    parts: list[str] = []
    townships = sorted({u.parent_id for u in [await org.unit(i) for i in unit_ids] if u and u.level == "village"} - {None})
    for township_id in townships:
        villages = await villages_under(context, township_id)
        ids = {v.id for v in villages}
        if len(ids) > 1 and ids <= remaining:
            township = await org.unit(township_id)
            parts.append(t("task.pick.all_villages", name=township.name if township else "", count=len(ids)))
            remaining -= ids
    for unit_id in sorted(remaining):
        unit = await org.unit(unit_id)
        if unit is not None:
            parts.append(t("task.pick.itself", name=unit.name) if unit.level != "village" else unit.name)
    if len(parts) > MAX_LISTED:
        return t("task.names_more", names=t("list.sep").join(parts[:MAX_LISTED]), count=len(unit_ids))
    return t("list.sep").join(parts)
