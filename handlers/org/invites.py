"""``/invite`` (make an invite: unit, role, person) and ``/invites`` (list, show, revoke).

Admins invite into any unit of theirs; a village secretary invites the party members of their
own village. Every invite is answered with one photo: the QR code of the deep link, captioned
with the link, the bare code and the expiry date, ready to forward to the person invited.
Everything routes on payloads ``inv:...`` / ``invs:...`` and every press re-checks the role and
that the unit is the presser's own (a forged payload is refused).
"""

from __future__ import annotations

import secrets

from telegram import InputFile, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CadreContext
from bot.rules.ids import id_or_zero, parse_page
from bot.rules.roster import deep_link
from bot.services import offloop
from bot.services.invite_sheet import SheetRow, SheetText, qr_png, sheet_pdf, sheet_xlsx
from handlers.auth import LEADERS, command, requires
from handlers.flow import Button, answer, ask, cb, chunk, keyboard, parse_cb
from handlers.org.ui import (
    ROLE_CODES,
    invitable,
    local_date,
    now,
    pager,
    pages_of,
    role_code,
    role_label,
    split_page,
    unit_path,
    unit_picker,
)
from storage.invites import Invite
from storage.org import Unit

INVITE = command("invite", LEADERS)
INVITES = command("invites", LEADERS)
LIST_PAGE = 5


def invite_link(bot_username: str, code: str) -> str:
    return deep_link(bot_username, code)


async def send_invite(update: Update, context: CadreContext, invite: Invite) -> None:
    """The invite as one forwardable photo: QR code, link, bare code, expiry."""
    t = context.t
    link = invite_link(context.bot.username, invite.code)
    unit = await unit_path(context, invite.unit_id)
    role = role_label(t, invite.role, invite.first_secretary)
    expires = local_date(context, invite.expires_at)
    if invite.multi_use:
        caption = t("invite.card_multi", unit=unit, link=link, code=invite.code, expires=expires)
    elif invite.person_id is not None:
        person = await context.repos.org.person(invite.person_id)
        name = person.name if person else "?"
        caption = t("invite.card_person", name=name, role=role, unit=unit, link=link, code=invite.code, expires=expires)
    else:
        caption = t("invite.card_new", role=role, unit=unit, link=link, code=invite.code, expires=expires)
    await context.bot.send_photo(update.effective_chat.id, qr_png(link), caption=caption)


# -- /invite ------------------------------------------------------------------------------------
@requires(INVITE)
async def invite_command(update: Update, context: CadreContext) -> None:
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    unit = await context.repos.org.unit(person.unit_id)
    if unit is None:
        raise RuntimeError("unexpected: unit is None")
    if person.role == "secretary":
        await show_people(update, context, unit, "m", 0)
    else:
        await show_picker(update, context, unit, 0)


async def show_picker(update: Update, context: CadreContext, current: Unit, page: int) -> None:
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    root = await context.repos.org.unit(person.unit_id)
    if root is None:
        raise RuntimeError("unexpected: root is None")
    text, markup = await unit_picker(
        context,
        flow="inv",
        root=root,
        current=current,
        page=page,
        selectable=lambda u: bool(invitable(person, u.level)),
        intro=context.t("invite.choose_unit"),
        extra=sheet_row(context, current),
    )
    await ask(update, context, text, markup)


def sheet_row(context: CadreContext, unit: Unit) -> list[list[Button]]:
    """On a township: 一次邀请全乡镇的村书记 (the invite sheet), for whoever may invite its
    villages' secretaries."""
    if unit.level != "township" or "s" not in invitable(context.person, "village"):
        return []
    return [[(context.t("invite.sheet.btn", unit=unit.name), cb("inv", "sheet", unit.id))]]


async def own_unit(update: Update, context: CadreContext, unit_id: str) -> Unit | None:
    """The unit of a payload, if it is one of the presser's; otherwise refuse the press."""
    unit = await context.repos.org.unit(id_or_zero(unit_id))
    if unit is None or not await context.repos.org.manages(context.person, unit.id):
        await update.callback_query.answer(context.t("org.not_yours"), show_alert=True)
        return None
    return unit


@requires(INVITE)
async def invite_pressed(update: Update, context: CadreContext) -> None:
    _, action, arg = parse_cb(update.callback_query.data)
    t = context.t
    if action == "close":
        await answer(update)
        await ask(update, context, t("org.closed"))
        return
    head, page = split_page(arg)
    unit_id, _, code = head.partition("-")
    unit = await own_unit(update, context, unit_id)
    if unit is None:
        return
    if action == "who" and code not in invitable(context.person, unit.level):
        await update.callback_query.answer(t("org.not_yours"), show_alert=True)
        return
    await answer(update)
    if action == "open":
        await show_picker(update, context, unit, page)
    elif action == "pick":
        await show_roles(update, context, unit)
    else:
        await show_people(update, context, unit, code, page)


async def show_roles(update: Update, context: CadreContext, unit: Unit) -> None:
    t = context.t
    codes = invitable(context.person, unit.level)
    if not codes:
        await ask(update, context, t("org.not_yours"))
        return
    if len(codes) == 1:
        await show_people(update, context, unit, codes[0], 0)
        return
    buttons = [(role_label(t, *ROLE_CODES[c]), cb("inv", "who", f"{unit.id}-{c}")) for c in codes]
    rows = [*chunk(buttons, 1), [(t("org.back"), cb("inv", "open", unit.parent_id or unit.id))]]
    text = t("invite.choose_role", unit=await unit_path(context, unit.id))
    await ask(update, context, text, keyboard(rows))


async def show_people(update: Update, context: CadreContext, unit: Unit, code: str, page: int) -> None:
    """Who is invited: a roster name not joined yet, someone new, or (members) everyone."""
    t = context.t
    role, first = ROLE_CODES[code]
    waiting = [p for p in await context.repos.org.waiting(unit.id, role) if p.first_secretary == first]
    token = secrets.token_hex(3)
    context.user_data["invite_token"] = token
    pages = pages_of(len(waiting))
    page = min(page, pages - 1)
    shown = waiting[page * 8 : (page + 1) * 8]
    rows: list[list[Button]] = chunk([(p.name, cb("inv", "for", f"{p.id}.{token}")) for p in shown], 2)
    rows.append(pager("inv", "who", f"{unit.id}-{code}", page, pages, t))
    rows.append([(t("invite.someone_new"), cb("inv", "new", f"{unit.id}-{code}.{token}"))])
    if code == "m" and unit.level == "village":
        rows.append([(t("invite.everyone"), cb("inv", "multi", f"{unit.id}.{token}"))])
    nav = [(t("org.close"), cb("inv", "close"))]
    if context.person is not None and context.person.role != "secretary":  # admins: one step back
        several_roles = len(invitable(context.person, unit.level)) > 1
        back = cb("inv", "pick", unit.id) if several_roles else cb("inv", "open", unit.parent_id or unit.id)
        nav.insert(0, (t("org.back"), back))
    rows.append(nav)
    key = "invite.choose_person" if waiting else "invite.nobody_waiting"
    text = t(key, role=role_label(t, role, first), unit=await unit_path(context, unit.id), count=len(waiting))
    await ask(update, context, text, keyboard(rows))


@requires(INVITE)
async def invite_made(update: Update, context: CadreContext) -> None:
    """``inv:for`` / ``inv:new`` / ``inv:multi``: make (or reuse) the code and send it."""
    _, action, arg = parse_cb(update.callback_query.data)
    t, repos = context.t, context.repos
    target, _, token = arg.rpartition(".")
    if token != context.user_data.get("invite_token"):
        await update.callback_query.answer(t("invite.already_made"), show_alert=True)
        return
    me = context.person
    if me is None:
        raise RuntimeError("no person here: this runs behind @requires")
    invite: Invite | None = None
    if action == "for":
        person = await repos.org.person(id_or_zero(target))
        unit = await repos.org.unit(person.unit_id) if person else None
        if (
            person is None
            or unit is None
            or not await repos.org.manages(me, unit.id)
            or role_code(person.role, person.first_secretary) not in invitable(me, unit.level)
        ):
            await update.callback_query.answer(t("org.not_yours"), show_alert=True)
            return
        if person.joined:
            await update.callback_query.answer(t("invite.already_joined", name=person.name), show_alert=True)
            return
        invite = await repos.invites.open_for_person(person.id, now()) or await repos.invites.create(
            unit.id, person.role, created_by=me.id, now=now(), person_id=person.id,
            first_secretary=person.first_secretary, days=context.services.settings.invite_days,
        )
    else:
        unit_id, _, code = target.partition("-")
        unit = await own_unit(update, context, unit_id)
        if unit is None:
            return
        if action == "multi":
            if "m" not in invitable(me, unit.level) or unit.level != "village":
                await update.callback_query.answer(t("org.not_yours"), show_alert=True)
                return
            invite = await repos.invites.open_multi(unit.id, now()) or await repos.invites.create(
                unit.id, "member", created_by=me.id, now=now(), multi_use=True,
                days=context.services.settings.invite_days,
            )
        elif code in invitable(me, unit.level):
            role, first = ROLE_CODES[code]
            invite = await repos.invites.create(
                unit.id, role, created_by=me.id, now=now(), first_secretary=first,
                days=context.services.settings.invite_days,
            )
    if invite is None:
        await update.callback_query.answer(t("org.not_yours"), show_alert=True)
        return
    context.user_data.pop("invite_token", None)
    await answer(update)
    await ask(update, context, t("invite.made"))
    await send_invite(update, context, invite)


# -- the township's invite sheet (issue 13, item 11) ----------------------------------------
MAX_TEXT = 3500  # the links message is split below Telegram's 4,096 characters


@requires(INVITE)
async def sheet_pressed(update: Update, context: CadreContext) -> None:
    """``inv:sheet:<township>``: one invite per secretary of the township's villages who has
    not joined (their open code if they have one, else a new one: one code per person, the
    usual expiry and lockout), sent as one message of links and a printable sheet (XLSX and
    PDF) with a QR code per row."""
    t, repos, me = context.t, context.repos, context.person
    _, _, arg = parse_cb(update.callback_query.data)
    unit = await own_unit(update, context, arg)
    if unit is None:
        return
    if me is None or unit.level != "township" or "s" not in invitable(me, "village"):
        await update.callback_query.answer(t("org.not_yours"), show_alert=True)
        return
    await answer(update)
    villages = {v.id: v for v in await repos.org.children(unit.id) if v.level == "village"}
    secretaries = [p for p in await repos.org.people_in(unit.id, "secretary") if p.unit_id in villages]
    joined = sum(1 for p in secretaries if p.joined)
    without = [v.name for v in villages.values() if all(p.unit_id != v.id for p in secretaries)]
    rows: list[SheetRow] = []
    for person in sorted((p for p in secretaries if not p.joined), key=lambda p: (p.unit_id, p.first_secretary, p.id)):
        invite = await repos.invites.open_for_person(person.id, now()) or await repos.invites.create(
            person.unit_id, person.role, created_by=me.id, now=now(), person_id=person.id,
            first_secretary=person.first_secretary, days=context.services.settings.invite_days,
        )
        rows.append(SheetRow(
            person.name, villages[person.unit_id].name, role_label(t, person.role, person.first_secretary),
            invite.code, invite_link(context.bot.username, invite.code), local_date(context, invite.expires_at),
        ))
    counts = t("invite.sheet.counts", made=len(rows), joined=joined)
    if without:
        counts += "\n" + t("invite.sheet.without", villages=t("list.sep").join(without))
    if not rows:
        await ask(update, context, t("invite.sheet.nobody", unit=unit.name) + "\n" + counts)
        return
    await ask(update, context, t("invite.sheet.made", unit=unit.name) + "\n" + counts)
    lines = [t("invite.sheet.line", name=r.name, village=r.village, link=r.link, code=r.code) for r in rows]
    chat_id = update.effective_chat.id
    message = t("invite.sheet.links_title")
    for line in lines:
        if len(message) + len(line) + 1 > MAX_TEXT:
            await context.bot.send_message(chat_id, message, disable_web_page_preview=True)
            message = ""
        message = f"{message}\n{line}" if message else line
    await context.bot.send_message(chat_id, message, disable_web_page_preview=True)
    today = local_date(context, now())
    text = SheetText(
        title=t("invite.sheet.title", unit=unit.name, date=today),
        how=t("invite.sheet.how"),
        headers=tuple(t(f"invite.sheet.col.{c}") for c in SHEET_COLUMNS),  # type: ignore[arg-type]
        sheet_name=t("invite.sheet.sheet_name"),
    )
    xlsx = await offloop.run(sheet_xlsx, rows, text, lane=offloop.EXPORTS)
    pdf = await offloop.run(sheet_pdf, rows, text, lane=offloop.EXPORTS)
    name = t("invite.sheet.filename", unit=unit.name)
    caption = t("invite.sheet.caption", unit=unit.name, count=len(rows))
    await context.bot.send_document(chat_id, InputFile(xlsx, filename=f"{name}.xlsx"), caption=caption)
    await context.bot.send_document(chat_id, InputFile(pdf, filename=f"{name}.pdf"), caption=caption)


SHEET_COLUMNS = ("n", "name", "village", "role", "code", "link", "expires", "qr")


# -- /invites -----------------------------------------------------------------------------------
async def visible_invites(context: CadreContext) -> list[Invite]:
    repos, me = context.repos, context.person
    scope = await repos.org.scope_ids(me)
    invites = await repos.invites.open_in(scope, now())
    out = []
    for invite in invites:
        unit = await repos.org.unit(invite.unit_id)
        if unit and role_code(invite.role, invite.first_secretary) in invitable(me, unit.level):
            out.append(invite)
    return out


async def invite_line(context: CadreContext, invite: Invite) -> str:
    t = context.t
    unit = await context.repos.org.unit(invite.unit_id)
    if invite.multi_use:
        who = t("invites.who_multi")
    elif invite.person_id is not None:
        person = await context.repos.org.person(invite.person_id)
        who = person.name if person else "?"
    else:
        who = t("invites.who_new")
    return t(
        "invites.line",
        code=invite.code,
        unit=unit.name if unit else "?",
        role=role_label(t, invite.role, invite.first_secretary),
        who=who,
        expires=local_date(context, invite.expires_at),
        uses=invite.uses,
    )


async def show_invites(update: Update, context: CadreContext, page: int) -> None:
    t = context.t
    invites = await visible_invites(context)
    if not invites:
        await ask(update, context, t("invites.none"))
        return
    pages = pages_of(len(invites), LIST_PAGE)
    page = min(max(page, 0), pages - 1)
    shown = invites[page * LIST_PAGE : (page + 1) * LIST_PAGE]
    lines = [await invite_line(context, i) for i in shown]
    rows = [
        [(t("invites.show", code=i.code), cb("invs", "show", i.code)),
         (t("invites.revoke", code=i.code), cb("invs", "revoke", i.code))]
        for i in shown
    ]
    rows.append(pager("invs", "page", "", page, pages, t))
    text = t("invites.header", count=len(invites)) + "\n\n" + "\n".join(lines)
    await ask(update, context, text, keyboard(rows))


@requires(INVITES)
async def invites_command(update: Update, context: CadreContext) -> None:
    await show_invites(update, context, 0)


@requires(INVITES)
async def invites_pressed(update: Update, context: CadreContext) -> None:
    _, action, arg = parse_cb(update.callback_query.data)
    t = context.t
    if action == "page":
        await answer(update)
        await show_invites(update, context, parse_page(arg))
        return
    invite = next((i for i in await visible_invites(context) if i.code == arg), None)
    if invite is None:
        await update.callback_query.answer(t("invites.gone"), show_alert=True)
        await show_invites(update, context, 0)
        return
    if action == "show":
        await answer(update)
        await send_invite(update, context, invite)
    elif action == "revoke":
        await context.repos.invites.revoke(invite.code, now())
        await update.callback_query.answer(t("invites.revoked", code=invite.code), show_alert=True)
        await show_invites(update, context, 0)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("invite", invite_command))
    app.add_handler(CommandHandler("invites", invites_command))
    app.add_handler(CallbackQueryHandler(invite_pressed, pattern=r"^inv:(open|pick|who|close):"))
    app.add_handler(CallbackQueryHandler(invite_made, pattern=r"^inv:(for|new|multi):"))
    app.add_handler(CallbackQueryHandler(sheet_pressed, pattern=r"^inv:sheet:"))
    app.add_handler(CallbackQueryHandler(invites_pressed, pattern=r"^invs:"))
