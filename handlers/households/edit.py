"""/households changes: edit one field, link or re-link a member (with the 5-to-10 warning),
archive and restore, and adding a household step by step with a review before saving."""

from __future__ import annotations

import re
from typing import Any

from telegram import Update

from bot.context import CadreContext
from handlers.auth import requires
from handlers.flow import (
    answer,
    ask,
    cb,
    draft_of,
    hint,
    keyboard,
    new_draft,
    parse_cb,
    pop_step,
    push_step,
)
from handlers.households.views import (
    ADD_ADDRESS,
    ADD_GRID,
    ADD_HEAD,
    ADD_MEMBER,
    ADD_PHONE,
    ADD_REVIEW,
    EDIT,
    FLOW,
    HOUSEHOLDS,
    MAX_GRIDS,
    MENU,
    member_buttons,
    own_household,
    own_member,
    show_card,
    show_menu,
)
from handlers.visits.common import count_warning, my_int
from storage.visits import EDITABLE, DuplicateHousehold

LIMITS = {"head": 20, "address": 60, "grid": 30}
PHONE = re.compile(r"^\+?\d{7,15}$")
# Parsing vocabulary (what users type to leave a field empty), not UI text:
EMPTY_WORDS = frozenset({"无", "没有", "不填", "跳过", "清除", "删除", "none", "skip", "-"})


def session(context: CadreContext) -> dict[str, Any]:
    return draft_of(context, FLOW) or new_draft(context, FLOW)


def clean(field: str, text: str) -> tuple[str | None, str | None]:
    """(value, None) or (None, the catalog key of the complaint). Empty words clear a field."""
    text = " ".join((text or "").split())
    if text.lower() in EMPTY_WORDS:
        return (None, "hh.bad.head") if field == "head" else ("" if field != "phone" else None, None)
    if field == "phone":
        digits = re.sub(r"[\s\-()]", "", text)
        return (digits, None) if PHONE.match(digits) else (None, "hh.bad.phone")
    if not text or len(text) > LIMITS[field]:
        return None, f"hh.bad.{field}"
    return text, None


async def warnings_for(context: CadreContext, *member_ids: int | None) -> list[str]:
    out = []
    for member_id in dict.fromkeys(m for m in member_ids if m):
        member = await context.repos.households.member(member_id)
        if member is not None and member.role == "member":
            note = count_warning(context.t, member.name, await context.repos.households.count_of(member_id))
            if note:
                out.append(note)
    return out


# -- one field of a household ------------------------------------------------------------------
@requires(HOUSEHOLDS)
async def edit_chosen(update: Update, context: CadreContext) -> str | None:
    _, _, arg = parse_cb(update.callback_query.data)
    field, _, hid = arg.partition(".")
    household = await own_household(update, context, my_int(hid))
    if household is None or field not in EDITABLE:
        return None
    await answer(update)
    session(context)["edit"] = {"field": field, "id": household.id}
    t = context.t
    current = getattr(household, field) or "-"
    rows = [[(t("hh.btn.back"), cb(FLOW, "card", household.id))]]
    await ask(update, context, t(f"hh.ask.{field}", head=household.head, current=current), keyboard(rows))
    return EDIT


@requires(HOUSEHOLDS)
async def edit_typed(update: Update, context: CadreContext) -> str | None:
    draft = session(context)
    target = draft.get("edit") or {}
    household = await own_household(update, context, int(target.get("id") or 0))
    if household is None or target.get("field") not in EDITABLE:
        return await show_menu(update, context, edit=False)
    field = target["field"]
    value, problem = clean(field, update.message.text)
    if problem:
        await hint(update, context, problem)
        return EDIT
    try:
        await context.repos.households.update(household.id, field, value)
    except DuplicateHousehold:
        await hint(update, context, "hh.duplicate_edit")
        return EDIT
    draft.pop("edit", None)
    return await show_card(update, context, draft, household.id, notice=context.t("hh.saved_field"), edit=False)


# -- who holds it --------------------------------------------------------------------------------
@requires(HOUSEHOLDS)
async def link_chosen(update: Update, context: CadreContext) -> str | None:
    _, _, arg = parse_cb(update.callback_query.data)
    household = await own_household(update, context, my_int(arg))
    if household is None:
        return None
    await answer(update)
    t = context.t
    rows = [[b] for b in await member_buttons(context, "to", f"{household.id}.")]
    rows.append([(t("hh.btn.nobody"), cb(FLOW, "to", f"{household.id}.0"))])
    rows.append([(t("hh.btn.back"), cb(FLOW, "card", household.id))])
    await ask(update, context, t("hh.ask.link", head=household.head), keyboard(rows))
    return MENU


@requires(HOUSEHOLDS)
async def linked(update: Update, context: CadreContext) -> str | None:
    _, _, arg = parse_cb(update.callback_query.data)
    hid, _, mid = arg.partition(".")
    household = await own_household(update, context, my_int(hid))
    if household is None or household.archived:
        if household is not None:
            await hint(update, context, "hh.archived_no_link")
        return None
    member = await own_member(update, context, my_int(mid)) if my_int(mid) else None
    if my_int(mid) and member is None:
        return None
    await answer(update)
    await context.repos.households.link(household.id, member.id if member else None)
    t = context.t
    notes = [t("hh.linked", head=household.head, name=member.name) if member else t("hh.unlinked", head=household.head)]
    notes += await warnings_for(context, member.id if member else None, household.member_id)
    return await show_card(update, context, session(context), household.id, notice="\n".join(notes))


# -- archive and restore -------------------------------------------------------------------------
@requires(HOUSEHOLDS)
async def archive_chosen(update: Update, context: CadreContext) -> str | None:
    _, action, arg = parse_cb(update.callback_query.data)
    household = await own_household(update, context, my_int(arg))
    if household is None:
        return None
    await answer(update)
    t = context.t
    if action == "arch":
        rows = [[(t("hh.btn.archive_yes"), cb(FLOW, "archyes", household.id)), (t("hh.btn.back"), cb(FLOW, "card", household.id))]]
        await ask(update, context, t("hh.ask.archive", head=household.head), keyboard(rows))
        return MENU
    archive = action == "archyes"
    await context.repos.households.set_archived(household.id, archive)
    notes = [t("hh.archived" if archive else "hh.restored", head=household.head)]
    notes += await warnings_for(context, household.member_id)
    return await show_card(update, context, session(context), household.id, notice="\n".join(notes))


# -- adding a household --------------------------------------------------------------------------
async def ask_add(update: Update, context: CadreContext, draft: dict[str, Any], step: str) -> str:
    t = context.t
    push_step(draft, step)
    new = draft.setdefault("new", {})
    back = [(t("hh.btn.back"), cb(FLOW, "back")), (t("hh.btn.cancel_add"), cb(FLOW, "menu"))]
    skip = [(t("hh.btn.skip"), cb(FLOW, "skip"))]
    rows: list[list[tuple[str, str]]] = []
    if step == ADD_HEAD:
        text = t("hh.add.head")
    elif step == ADD_ADDRESS:
        text, rows = t("hh.add.address", head=new["head"]), [skip]
    elif step == ADD_GRID:
        village = (await context.repos.households.village_of(context.person.unit_id)) or 0  # type: ignore[union-attr]
        grids = (await context.repos.households.grids(village))[:MAX_GRIDS]
        draft["grids"] = grids
        rows = [[(g, cb(FLOW, "grid", i))] for i, g in enumerate(grids)] + [skip]
        text = t("hh.add.grid")
    elif step == ADD_PHONE:
        text, rows = t("hh.add.phone"), [skip]
    elif step == ADD_MEMBER:
        rows = [[b] for b in await member_buttons(context, "addto")]
        rows.append([(t("hh.btn.nobody"), cb(FLOW, "addto", 0))])
        text = t("hh.add.member", head=new["head"])
    else:
        holder = await context.repos.households.member(new["member_id"]) if new.get("member_id") else None
        text = t(
            "hh.add.review",
            head=new["head"],
            address=new.get("address") or "-",
            grid=new.get("grid") or "-",
            phone=new.get("phone") or "-",
            member=holder.name if holder else t("hh.card.nobody"),
        )
        rows = [[(t("hh.btn.save"), cb(FLOW, "addsave", draft["token"]))]]
    rows.append(back)
    await ask(update, context, text, keyboard(rows))
    return step


ADD_ORDER = (ADD_HEAD, ADD_ADDRESS, ADD_GRID, ADD_PHONE, ADD_MEMBER, ADD_REVIEW)


def after(step: str) -> str:
    return ADD_ORDER[min(ADD_ORDER.index(step) + 1, len(ADD_ORDER) - 1)]


@requires(HOUSEHOLDS)
async def add_start(update: Update, context: CadreContext) -> str:
    await answer(update)
    draft = new_draft(context, FLOW, new={})
    return await ask_add(update, context, draft, ADD_HEAD)


@requires(HOUSEHOLDS)
async def add_typed(update: Update, context: CadreContext) -> str | None:
    draft = session(context)
    step = (draft.get("history") or [ADD_HEAD])[-1]
    field = {ADD_HEAD: "head", ADD_ADDRESS: "address", ADD_GRID: "grid", ADD_PHONE: "phone"}.get(step)
    if field is None:
        await hint(update, context, "hh.wrong.button")
        return await ask_add(update, context, draft, step)
    value, problem = clean(field, update.message.text)
    if problem:
        await hint(update, context, problem)
        return await ask_add(update, context, draft, step)
    draft.setdefault("new", {})[field] = value
    return await ask_add(update, context, draft, after(step))


@requires(HOUSEHOLDS)
async def add_button(update: Update, context: CadreContext) -> str | None:
    """跳过, a grid of the list, or the member (0: nobody yet)."""
    draft = draft_of(context, FLOW)
    if draft is None or "new" not in draft or not draft.get("history"):
        await hint(update, context, "hh.stale")
        return None
    _, action, arg = parse_cb(update.callback_query.data)
    step = draft["history"][-1]
    new = draft["new"]
    if action == "grid" and step == ADD_GRID and my_int(arg) < len(draft.get("grids") or []):
        new["grid"] = draft["grids"][my_int(arg)]
    elif action == "addto" and step == ADD_MEMBER:
        if my_int(arg) and await own_member(update, context, my_int(arg)) is None:
            return None
        new["member_id"] = my_int(arg) or None
    elif action == "skip" and step in (ADD_ADDRESS, ADD_GRID, ADD_PHONE):
        new[{ADD_ADDRESS: "address", ADD_GRID: "grid", ADD_PHONE: "phone"}[step]] = None
    else:
        await hint(update, context, "hh.stale")
        return None
    await answer(update)
    return await ask_add(update, context, draft, after(step))


@requires(HOUSEHOLDS)
async def add_back(update: Update, context: CadreContext) -> str | None:
    await answer(update)
    draft = draft_of(context, FLOW)
    if draft is None or "new" not in draft:
        return await show_menu(update, context)
    previous = pop_step(draft)
    if previous is None:
        return await show_menu(update, context)
    return await ask_add(update, context, draft, previous)


@requires(HOUSEHOLDS)
async def add_save(update: Update, context: CadreContext) -> str | None:
    draft = draft_of(context, FLOW)
    _, _, token = parse_cb(update.callback_query.data)
    if draft is None or draft.get("token") != token or "new" not in draft:
        await hint(update, context, "hh.already_added")
        return None
    village = await context.repos.households.village_of(context.person.unit_id)  # type: ignore[union-attr]
    new = draft["new"]
    member_id = new.get("member_id")
    if village is None or (member_id and await own_member(update, context, member_id) is None):
        return None
    await answer(update)
    t = context.t
    try:
        household = await context.repos.households.add(
            village, new["head"], address=new.get("address") or "", grid=new.get("grid") or "",
            phone=new.get("phone"), member_id=member_id,
        )
    except DuplicateHousehold as exc:
        draft.pop("new", None)
        if exc.existing is None:
            return await show_menu(update, context, notice=t("hh.duplicate", head=new["head"]))
        return await show_card(update, context, draft, exc.existing.id, notice=t("hh.duplicate", head=new["head"]))
    draft.pop("new", None)
    draft["token"] = None  # a second tap on 保存 finds no draft token and says it was saved
    notes = [t("hh.added", head=household.head)] + await warnings_for(context, member_id)
    return await show_card(update, context, draft, household.id, notice="\n".join(notes))
