"""``/me`` (who the bot thinks you are) and ``/people`` (the people of my units).

``/people [name or phone]`` lists the people of the leader's units, who has joined and who has
not, paged with buttons; filters (all / not joined / joined), another unit of theirs, and a
card per person with "send the invite" (the open code again, or a new one) and "unlink the
Telegram account" (for someone who changed phones; they join again with a new invite).
Private chat only: the card shows phone numbers.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CadreContext
from bot.rules.ids import id_or_zero, parse_page
from handlers.auth import EVERYONE, LEADERS, command, requires
from handlers.flow import Button, answer, ask, cb, keyboard, parse_cb
from handlers.general.commands import publish_user_commands
from handlers.org.invites import send_invite
from handlers.org.ui import (
    PAGE,
    invitable,
    local_date,
    now,
    pager,
    pages_of,
    person_role,
    publish_changed_menus,
    publish_menu,
    role_code,
    split_page,
    tell,
    unit_path,
    unit_picker,
)
from storage.org import Person
from storage.timefmt import from_db

ME = command("me", EVERYONE)
PEOPLE = command("people", LEADERS)
FILTERS = {"all": None, "waiting": False, "joined": True}


# -- /me -----------------------------------------------------------------------------------------
@requires(ME)
async def me_command(update: Update, context: CadreContext) -> None:
    t, person = context.t, context.person
    user_id = update.effective_user.id
    if person is None:
        await update.effective_message.reply_text(t("me.unknown", user_id=user_id))
        return
    joined = from_db(person.joined_at)
    text = t(
        "me.known",
        name=person.name,
        role=person_role(t, person),
        unit=await unit_path(context, person.unit_id),
        phone=person.phone or t("me.no_phone"),
        user_id=user_id,
        joined=local_date(context, joined) if joined else "-",
        lang=t("lang.name"),
    )
    if person.role in ("member", "secretary"):
        text += "\n" + t("me.households", count=await context.repos.org.households_held(person.id))
    if person.is_leader:
        scope = await context.repos.org.subtree(person.unit_id, "village")
        text += "\n" + t("me.scope", villages=len(scope))
    await update.effective_message.reply_text(text)
    await publish_user_commands(context.application, user_id, context)  # a stale menu is fixed here


async def on_startup(app: Application) -> None:
    """Admins' own command menus, in case one was added from the command line meanwhile."""
    await publish_changed_menus(app, ("district_admin", "township_admin"))


# -- /people ---------------------------------------------------------------------------------------
def state(context: CadreContext) -> dict:
    me = context.person
    if me is None:
        raise RuntimeError("no person here: this runs behind @requires")
    current = context.user_data.get("people")
    if not isinstance(current, dict) or current.get("root") != me.unit_id:
        current = {"root": me.unit_id, "unit": me.unit_id, "q": "", "f": "all", "page": 0}
        context.user_data["people"] = current
    return current


@requires(PEOPLE)
async def people_command(update: Update, context: CadreContext) -> None:
    view = state(context)
    view.update(q=" ".join(context.args or [])[:20], page=0)
    await show_list(update, context)


async def show_list(update: Update, context: CadreContext) -> None:
    t, org = context.t, context.repos.org
    view = state(context)
    if not await org.manages(context.person, view["unit"]):
        view["unit"] = view["root"]
    unit_id, text_filter, joined = view["unit"], view["q"], FILTERS.get(view["f"])
    _, total = await org.search_people(unit_id, text=text_filter, limit=0)
    _, joined_count = await org.search_people(unit_id, text=text_filter, joined=True, limit=0)
    shown_total = total if joined is None else (joined_count if joined else total - joined_count)
    pages = pages_of(shown_total)
    page = min(max(int(view.get("page", 0)), 0), pages - 1)
    people, _ = await org.search_people(unit_id, text=text_filter, joined=joined, limit=PAGE, offset=page * PAGE)
    names = {u: (await org.unit(u)) for u in {p.unit_id for p in people}}
    rows: list[list[Button]] = []
    for p in people:
        label = t(
            "people.button",
            mark=t("people.mark_joined") if p.joined else t("people.mark_waiting"),
            name=p.name,
            unit=names[p.unit_id].name if names.get(p.unit_id) else "?",
            role=person_role(t, p),
        )
        rows.append([(label, cb("people", "card", p.id))])
    rows.append(pager("people", "page", "", page, pages, t))
    rows.append(
        [
            ((t("people.selected", label=t(f"people.filter.{f}")) if f == view["f"] else t(f"people.filter.{f}")),
             cb("people", "filter", f))
            for f in FILTERS
        ]
    )
    tools = [(t("people.change_unit"), cb("ppl", "open", unit_id))]
    if text_filter:
        tools.append((t("people.clear_search"), cb("people", "clear")))
    rows.append(tools)
    key = "people.header_search" if text_filter else "people.header"
    text = t(
        key,
        unit=await unit_path(context, unit_id),
        total=total,
        joined=joined_count,
        waiting=total - joined_count,
        query=text_filter,
    )
    if not people:
        text += "\n\n" + t("people.none")
    await ask(update, context, text + "\n\n" + t("people.search_hint"), keyboard(rows))


@requires(PEOPLE)
async def people_pressed(update: Update, context: CadreContext) -> None:
    _, action, arg = parse_cb(update.callback_query.data)
    view = state(context)
    if action == "page":
        view["page"] = parse_page(arg)
    elif action == "filter" and arg in FILTERS:
        view.update(f=arg, page=0)
    elif action == "clear":
        view.update(q="", page=0)
    elif action in ("card", "invite", "unlink", "unlink_ok"):
        await person_action(update, context, action, arg)
        return
    await answer(update)
    await show_list(update, context)


@requires(PEOPLE)
async def unit_pressed(update: Update, context: CadreContext) -> None:
    """``ppl:open`` / ``ppl:pick`` / ``ppl:close``: show the people of another unit of mine."""
    _, action, arg = parse_cb(update.callback_query.data)
    org, view = context.repos.org, state(context)
    head, page = split_page(arg)
    if action != "close":
        unit = await org.unit(id_or_zero(head))
        if unit is None or not await org.manages(context.person, unit.id):
            await update.callback_query.answer(context.t("org.not_yours"), show_alert=True)
            return
        if action == "open":
            root = await org.unit(view["root"])
            if root is None:
                raise RuntimeError("unexpected: root is None")
            await answer(update)
            text, markup = await unit_picker(
                context, flow="ppl", root=root, current=unit, page=page, selectable=lambda u: True,
                intro=context.t("people.choose_unit"),
            )
            await ask(update, context, text, markup)
            return
        view.update(unit=unit.id, page=0)
    await answer(update)
    await show_list(update, context)


async def person_action(update: Update, context: CadreContext, action: str, arg: str) -> None:
    t, repos, me = context.t, context.repos, context.person
    if me is None:
        raise RuntimeError("no person here: this runs behind @requires")
    person = await repos.org.person(id_or_zero(arg))
    if person is None or not await repos.org.manages(me, person.unit_id):
        await update.callback_query.answer(t("org.not_yours"), show_alert=True)
        return
    unit = await repos.org.unit(person.unit_id)
    if unit is None:
        raise RuntimeError("unexpected: unit is None")
    may = role_code(person.role, person.first_secretary) in invitable(me, unit.level)
    if action in ("invite", "unlink", "unlink_ok") and not may:
        await update.callback_query.answer(t("org.not_yours"), show_alert=True)
        return
    if action == "invite":
        if person.joined:
            await update.callback_query.answer(t("invite.already_joined", name=person.name), show_alert=True)
            return
        invite = await repos.invites.open_for_person(person.id, now()) or await repos.invites.create(
            unit.id, person.role, created_by=me.id, now=now(), person_id=person.id,
            first_secretary=person.first_secretary, days=context.services.settings.invite_days,
        )
        await answer(update)
        await send_invite(update, context, invite)
        return
    if action == "unlink":
        if person.id == me.id or not person.joined:
            await update.callback_query.answer(t("people.cannot_unlink"), show_alert=True)
            return
        rows = [[(t("people.unlink_yes"), cb("people", "unlink_ok", person.id))],
                [(t("org.back"), cb("people", "card", person.id))]]
        await answer(update)
        await ask(update, context, t("people.unlink_confirm", name=person.name), keyboard(rows))
        return
    if action == "unlink_ok" and person.joined and person.id != me.id:
        old = await repos.org.unbind_telegram(person.id)
        if old is not None:
            await publish_menu(context.application, old)
            await tell(context.application, old, "people.unlinked_notice", name=person.name)
        await update.callback_query.answer(t("people.unlinked", name=person.name), show_alert=True)
        person = await repos.org.person(person.id) or person
    else:
        await answer(update)
    await show_card(update, context, person, may)


async def show_card(update: Update, context: CadreContext, person: Person, may_manage: bool) -> None:
    t, repos = context.t, context.repos
    joined = from_db(person.joined_at)
    status = t("people.joined_on", date=local_date(context, joined)) if joined else (
        t("people.joined") if person.joined else t("people.not_joined")
    )
    text = t(
        "people.card",
        name=person.name,
        role=person_role(t, person),
        unit=await unit_path(context, person.unit_id),
        phone=person.phone or t("me.no_phone"),
        status=status,
        households=await repos.org.households_held(person.id),
    )
    rows: list[list[Button]] = []
    if may_manage and not person.joined:
        rows.append([(t("people.send_invite"), cb("people", "invite", person.id))])
    if may_manage and person.joined and context.person and person.id != context.person.id:
        rows.append([(t("people.unlink"), cb("people", "unlink", person.id))])
    rows.append([(t("people.back_to_list"), cb("people", "page", state(context).get("page", 0)))])
    await ask(update, context, text, keyboard(rows))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("me", me_command))
    app.add_handler(CommandHandler("people", people_command))
    app.add_handler(CallbackQueryHandler(people_pressed, pattern=r"^people:"))
    app.add_handler(CallbackQueryHandler(unit_pressed, pattern=r"^ppl:"))
