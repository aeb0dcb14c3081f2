"""/households changes: link or re-link a member (with the 5-to-10 warning), archive and
restore; and two engine forms (bot/forms): adding a household step by step with a review
(``hhadd``), and editing one field of a household (``hhedit``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from telegram import Update

from bot.context import CadreContext
from bot.forms import core
from bot.forms.core import Choice, Custom, Env, Form, Outcome, Retry, Saved, Screen, Text
from bot.rules.ids import parse_id, parse_page
from handlers.auth import requires
from handlers.flow import answer, ask, cb, draft_of, hint, keyboard, new_draft, parse_cb
from handlers.households.views import (
    ADD_FLOW,
    EDIT_FLOW,
    FLOW,
    HOUSEHOLDS,
    MAX_GRIDS,
    MENU,
    OVERVIEW,
    card_screen,
    member_buttons,
    member_options,
    my_village,
    own_household,
    own_member,
    show_card,
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


# -- the engine forms ----------------------------------------------------------------------------
def as_screen(screen: tuple[str, list[list[tuple[str, str]]]]) -> Screen:
    text, rows = screen
    return Screen(text, [[core.Button(label, data) for label, data in row] for row in rows])


async def card_or_notice(env: Env, household_id: int, notice: str) -> Screen:
    card = await card_screen(env.ctx, household_id, env.now.date(), notice=notice)
    return as_screen(card) if card else Screen(notice, [[core.Button(env.t("hh.btn.menu"), OVERVIEW)]])


def checked(field: str) -> Callable[[str], tuple[str | None, str | None]]:
    """A Text step's check: :func:`clean` for ``field``."""
    return lambda text: clean(field, text)


async def add_setup(env: Env, draft: dict[str, Any]) -> str | None:
    return None if await my_village(env.ctx) else "hh.no_village"


async def grid_show(env: Env, draft: dict[str, Any]) -> Screen:
    context = env.ctx
    village = await my_village(context) or 0
    grids = (await context.repos.households.grids(village))[:MAX_GRIDS]
    draft["grids"] = grids
    return Screen(env.t("hh.add.grid_form"), [[core.Button(g, core.payload(ADD_FLOW, "grid", i))] for i, g in enumerate(grids)])


async def grid_handle(env: Env, draft: dict[str, Any], inp: core.Input) -> Outcome:
    """A grid of the list, or one typed."""
    grids = draft.get("grids") or []
    if inp.kind == "button" and inp.action == "grid" and parse_page(inp.arg, -1) in range(len(grids)):
        draft["grid"] = grids[int(inp.arg)]
        return Outcome(done=True)
    if inp.kind == "text":
        value, problem = clean("grid", inp.text)
        if problem:
            return Outcome(note=env.t(problem))
        draft["grid"] = value
        return Outcome(done=True, echo=value or "-")
    return Outcome(alert=env.t("form.stale")) if inp.kind == "button" else Outcome(note=env.t("form.wrong.text"))


async def member_choices(env: Env, draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(mid), label) for mid, label in await member_options(env.ctx)] + [("0", env.t("hh.btn.nobody"))]


def member_id(draft: dict[str, Any]) -> int | None:
    value = str(draft.get("member") or "0")
    return parse_id(value)


async def add_review(env: Env, draft: dict[str, Any]) -> str:
    t = env.t
    holder = await env.ctx.repos.households.member(member_id(draft)) if member_id(draft) else None
    return t(
        "hh.add.review_form",
        head=draft["head"],
        address=draft.get("address") or "-",
        grid=draft.get("grid") or "-",
        phone=draft.get("phone") or "-",
        member=holder.name if holder else t("hh.card.nobody"),
    )


async def add_save(env: Env, draft: dict[str, Any]) -> Saved:
    context, t = env.ctx, env.t
    village = await my_village(context)
    holder = member_id(draft)
    if village is None:
        return Saved(Screen(t("hh.no_village")))
    try:
        household = await context.repos.households.add(
            village, draft["head"], address=draft.get("address") or "", grid=draft.get("grid") or "",
            phone=draft.get("phone"), member_id=holder,
        )
    except DuplicateHousehold as exc:
        notice = t("hh.duplicate", head=draft["head"])
        return Saved(await card_or_notice(env, exc.existing.id if exc.existing else 0, notice))
    notes = [t("hh.added", head=household.head)] + await warnings_for(context, holder)
    return Saved(await card_or_notice(env, household.id, "\n".join(notes)), record=household.id)


ADD_FORM = Form(
    ADD_FLOW,
    allowed=HOUSEHOLDS,
    entry="start",  # the 添加农户 button of the overview
    steps=[
        Text("head", ask="hh.add.head", label="hh.field.head", check=checked("head")),
        Text("address", ask="hh.add.address_form", label="hh.field.address", optional=True, check=checked("address")),
        Custom("grid", label="hh.field.grid", optional=True, kind_="text", show=grid_show, handle=grid_handle),
        Text("phone", ask="hh.add.phone", label="hh.field.phone", optional=True, check=checked("phone")),
        Choice("member", ask="hh.add.member", label="hh.field.member", options=member_choices, per_row=1, page_size=20),
    ],
    review=add_review,
    save=add_save,
    setup=add_setup,
    keys={"form.paused_plain": "hh.add.paused", "form.timeout_plain": "hh.add.timeout"},
)

ASK_FIELD = {"head": "hh.ask.head", "address": "hh.ask.address", "grid": "hh.ask.grid", "phone": "hh.ask.phone"}


async def edit_setup(env: Env, draft: dict[str, Any]) -> str | None:
    """The pressed button's household (``<field>.<id>``) if it is in the secretary's village."""
    field, _, hid = str(draft.get("arg") or "").partition(".")
    household = await env.ctx.repos.households.get(my_int(hid))
    if household is None or household.village_id != await my_village(env.ctx):
        return "hh.not_yours"
    if field not in EDITABLE or field not in ASK_FIELD:
        return "form.stale"
    draft.update(field=field, id=household.id, head=household.head, current=getattr(household, field) or "-")
    return None


async def value_show(env: Env, draft: dict[str, Any]) -> Screen:
    return Screen(env.t(ASK_FIELD[draft["field"]], head=draft["head"], current=draft["current"]))


async def value_handle(env: Env, draft: dict[str, Any], inp: core.Input) -> Outcome:
    if inp.kind != "text":
        return Outcome(alert=env.t("form.stale")) if inp.kind == "button" else Outcome(note=env.t("form.wrong.text"))
    value, problem = clean(draft["field"], inp.text)
    if problem:
        return Outcome(note=env.t(problem))
    draft["value"] = value
    return Outcome(done=True)


async def edit_save(env: Env, draft: dict[str, Any]) -> Saved | Retry:
    try:
        await env.ctx.repos.households.update(draft["id"], draft["field"], draft.get("value"))
    except DuplicateHousehold:
        return Retry("value", "hh.duplicate_edit")
    return Saved(await card_or_notice(env, draft["id"], env.t("hh.saved_field")), record=draft["id"])


EDIT_FORM = Form(
    EDIT_FLOW,
    allowed=HOUSEHOLDS,
    entry="start",  # the 改户主/改地址/... buttons of a card: hhedit:start:<field>.<id>
    steps=[Custom("value", kind_="text", show=value_show, handle=value_handle)],
    save=edit_save,
    setup=edit_setup,
    title=lambda draft: str(draft.get("head") or ""),
)
FORMS = (ADD_FORM, EDIT_FORM)
