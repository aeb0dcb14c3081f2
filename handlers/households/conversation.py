"""/households: a village secretary manages the village's households (党员联户).

The overview shows how many households each member holds (a warning below 5 or above 10);
from there: add a household step by step, find one by typing part of a name, address or grid,
list a member's households, those nobody holds, the archived ones; a household's card edits
a field, links or re-links its member with buttons, archives or restores it. Every payload
naming a household or a member is checked against the secretary's own village.

The overview is a one-question engine form (``hhfind``, opened by /households and by every
回到总览 button): its question is "type a few words to find a household", so typed text finds
households while it is open, and typed 取消, /cancel, another command and the timeout behave as
in every form. The lists, cards and the member picker are a menu, not a form: plain button
handlers (``hh:<action>:<arg>``) that work from any message. Adding a household and editing a
field are forms too (:mod:`handlers.households.edit`). Screens are in
:mod:`handlers.households.views`.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.context import CadreContext
from bot.forms import core
from bot.forms.core import Custom, Env, Form, Outcome, Saved, Screen
from handlers.auth import requires
from handlers.flow import answer, drop_draft, parse_cb
from handlers.households import edit as change
from handlers.households.views import (
    FIND_FLOW,
    FLOW,
    HOUSEHOLDS,
    OVERVIEW,
    found_screen,
    menu_screen,
    my_village,
    own_household,
    show_card,
    show_list,
    show_members,
)
from handlers.visits.common import my_int

MAX_QUERY = 20


# -- the overview: a form of one question (what to look for) --------------------------------------
async def overview_setup(env: Env, draft: dict[str, Any]) -> str | None:
    return None if await my_village(env.ctx) else "hh.no_village"


async def overview_show(env: Env, draft: dict[str, Any]) -> Screen:
    """The search's results once something was typed; else the overview (or, opened by 查找,
    the question alone)."""
    t = env.t
    if draft.get("query"):
        return change.as_screen(await found_screen(env.ctx, draft["query"]))
    if draft.get("arg") == "find":
        return Screen(t("hh.ask.find"), [[core.Button(t("hh.btn.menu"), OVERVIEW)]])
    screen = await menu_screen(env.ctx)
    return change.as_screen(screen) if screen else Screen(t("hh.no_village"))


async def overview_handle(env: Env, draft: dict[str, Any], inp: core.Input) -> Outcome:
    """Typed text finds households (the results come as a new message); anything else is a hint."""
    if inp.kind == "button":
        return Outcome(alert=env.t("form.stale"))
    if inp.kind != "text":
        return Outcome(note=env.t("hh.wrong.input"))
    query = " ".join(inp.text.split())[:MAX_QUERY]
    draft["query"] = query
    change.session(env.ctx)["query"] = query  # the results' 下一页 (hh:list:q.<page>) reads it
    return Outcome()


async def never_saved(env: Env, draft: dict[str, Any]) -> Saved:  # the one question is never "done"
    return Saved(Screen(env.t("hh.finished")))


OVERVIEW_FORM = Form(
    FIND_FLOW,
    command=HOUSEHOLDS,
    entry="start",  # 回到总览 (hhfind:start:) and 查找 (hhfind:start:find), from any message
    aliases=(f"{FLOW}:menu", f"{FLOW}:find"),  # those buttons on messages sent before the engine
    steps=[Custom("query", kind_="text", show=overview_show, handle=overview_handle)],
    save=never_saved,
    setup=overview_setup,
    keys={
        "form.btn.cancel": "hh.btn.done",  # 完成
        "form.cancelled": "hh.finished",
        "form.paused": "hh.ended_for_command",
        "form.timeout": "hh.timeout",
    },
)
FORMS = (*change.FORMS, OVERVIEW_FORM)  # adding, editing a field, and the overview


# -- the menu's buttons ----------------------------------------------------------------------------
@requires(HOUSEHOLDS)
async def members_chosen(update: Update, context: CadreContext) -> None:
    await answer(update)
    await show_members(update, context)


@requires(HOUSEHOLDS)
async def list_chosen(update: Update, context: CadreContext) -> None:
    await answer(update)
    _, _, spec = parse_cb(update.callback_query.data)
    await show_list(update, context, change.session(context), spec)


@requires(HOUSEHOLDS)
async def card_chosen(update: Update, context: CadreContext) -> None:
    _, _, arg = parse_cb(update.callback_query.data)
    household = await own_household(update, context, my_int(arg))
    if household is None:
        return
    await answer(update)
    await show_card(update, context, change.session(context), household.id)


async def done(update: Update, context: CadreContext) -> None:
    """完成 under an overview drawn outside the form (and on messages sent before the engine)."""
    await answer(update)
    drop_draft(context, FLOW)
    if update.callback_query.message is not None:
        await update.callback_query.edit_message_text(context.t("hh.finished"))


async def stale(update: Update, context: CadreContext) -> None:
    await update.callback_query.answer(context.t("hh.stale"), show_alert=True)


def register(app: Application) -> None:
    def button(callback, action: str) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=rf"^{FLOW}:{action}:")

    # Every button checks the village itself, so they work from any message (a card shown by
    # the add or edit form, a list sent days ago).
    for handler in (
        button(members_chosen, "members"),
        button(list_chosen, "list"),
        button(card_chosen, "card"),
        button(change.link_chosen, "link"),
        button(change.linked, "to"),
        CallbackQueryHandler(change.archive_chosen, pattern=rf"^{FLOW}:(arch|archyes|restore):"),
        button(done, "done"),
        CallbackQueryHandler(stale, pattern=rf"^{FLOW}:"),
    ):
        app.add_handler(handler)
