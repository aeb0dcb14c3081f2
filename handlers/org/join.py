"""Joining with an invite: ``/start <code>`` (the deep link), or the bare code typed in.

A code made for a roster person binds at once; a code made without a person asks the joiner's
name (one question and its confirmation: the engine form ``joinname``, opened for the update
that brought the code by :func:`bot.forms.ptb.open_later`); a village's multi-use code lets each joiner pick their own name from the
village roster (and confirm it). Someone who already is somebody else in the bot is asked
before they switch. The joiner is greeted with what they can do now and gets a command menu
for their role; whoever made the invite is told. Registered before ``handlers.general.commands`` so that
``/start <code>`` reaches it first; ``/start`` with anything but a code-shaped argument (other
deep links) is left to other handlers.
"""

from __future__ import annotations

import re
import time

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import CadreContext
from bot.forms.core import Custom, Env, Form, Input, Outcome, Saved, Screen
from bot.forms.ptb import open_later
from bot.rules.ids import parse_id, parse_page
from handlers.auth import requires
from handlers.flow import Button, answer, ask, cb, chunk, keyboard, parse_cb
from handlers.general.commands import START, help_text, publish_user_commands, send_menu
from handlers.org.ui import (
    local_date,
    now,
    pager,
    pages_of,
    person_role,
    role_label,
    tell,
    unit_path,
)
from storage.invites import CODE_ALPHABET, CODE_LENGTH, Invite, Redeemed, normalise_code
from storage.org import Person

NAME_FLOW = "joinname"  # the name question (not "join": join:<action> are plain buttons)
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60  # seconds
MAX_NAME = 20
# a message that is nothing but a code (letters and digits of the code alphabet, at least one
# digit so that ordinary words are not taken for codes), optionally split by a space or dash
_SYMBOLS = re.escape(CODE_ALPHABET + CODE_ALPHABET.lower())
CODE_TEXT = re.compile(
    rf"^\s*(?=[^\d]*[2-9])[{_SYMBOLS}]{{4}}[\s-]?[{_SYMBOLS}]{{{CODE_LENGTH - 4}}}\s*$"
)
# /start with a code-shaped argument only: other deep links (start=rpt_7...) are not invites
START_CODE = re.compile(rf"^/start(@\w+)?\s+[{_SYMBOLS}]{{{CODE_LENGTH}}}\s*$")
_NAME_OK = re.compile(r"^[^\W\d_][^\d_@/#$%^&*=+<>{}\[\]|\\]*$")


def too_many_failures(context: CadreContext) -> bool:
    recent = [s for s in context.user_data.get("join_failures", []) if time.time() - s < FAILURE_WINDOW]
    context.user_data["join_failures"] = recent
    return len(recent) >= MAX_FAILURES


def record_failure(context: CadreContext) -> None:
    context.user_data.setdefault("join_failures", []).append(time.time())


# -- arriving with a code -------------------------------------------------------------------------
@requires(START)
async def start_with_code(update: Update, context: CadreContext) -> None:
    await arrive(update, context, "".join(context.args or []))


@requires(START)
async def code_typed(update: Update, context: CadreContext) -> None:
    await arrive(update, context, update.effective_message.text or "")


async def arrive(update: Update, context: CadreContext, typed: str) -> None:
    t, repos = context.t, context.repos
    if too_many_failures(context):
        await update.effective_message.reply_text(t("join.too_many"))
        return
    code = normalise_code(typed)
    invite = await repos.invites.get(code) if code else None
    if invite is None:
        record_failure(context)
        await update.effective_message.reply_text(t("join.not_found", code=typed.strip()[:20]))
        return
    status = invite.status(now())
    if status == "used" and invite.used_by == update.effective_user.id:
        await redeem(update, context, code)  # their own link again: "you have joined already"
    elif status != "open":
        await refuse(update, context, Redeemed(status, invite))
    elif invite.multi_use:
        await show_roster(update, context, invite, 0)
    elif invite.person_id is None:
        open_later(update, context, NAME_FLOW, code)  # ask the joiner's name
    else:
        await redeem(update, context, code)


# -- a code made without a person: the joiner's name (an engine form) -----------------------------
async def name_setup(env: Env, draft: dict) -> str | Screen | None:
    """The invite of the code (``arg``), still open: its unit and role, for the question."""
    t, context = env.t, env.ctx
    code = str(draft.get("arg") or "")
    invite = await context.repos.invites.get(code) if code else None
    if invite is None or invite.status(now()) != "open" or invite.person_id is not None or invite.multi_use:
        return Screen(t("join.not_found", code=code))
    draft["unit"] = await unit_path(context, invite.unit_id)
    draft["role"] = role_label(t, invite.role, invite.first_secretary)
    return None


async def name_show(env: Env, draft: dict) -> Screen:
    if draft.get("name"):  # 不对,重新输入 on the confirmation
        return Screen(env.t("join.type_name_again"))
    return Screen(env.t("join.ask_name", unit=draft.get("unit", ""), role=draft.get("role", "")))


async def name_handle(env: Env, draft: dict, inp: Input) -> Outcome:
    if inp.kind == "button":
        return Outcome(alert=env.t("form.stale"))
    name = " ".join(inp.text.split()) if inp.kind == "text" else ""
    if not name or len(name) > MAX_NAME or not _NAME_OK.match(name):
        return Outcome(note=env.t("join.bad_name", max=MAX_NAME))
    draft["name"] = name
    return Outcome(done=True)


async def name_review(env: Env, draft: dict) -> str:
    return env.t("join.confirm_typed_name", name=draft["name"])


async def name_save(env: Env, draft: dict) -> Saved:
    """Join with the name: the welcome (or why not) is said by :func:`redeem` itself."""
    update, context = env.origin, env.ctx
    code, name = str(draft["arg"]), draft["name"]
    if await redeem(update, context, code, name=name) == "has_other":
        context.user_data["join"] = {"code": code, "name": name}  # for join:switch
    return Saved(None)


NAME_FORM = Form(
    NAME_FLOW,
    allowed=START,
    steps=[Custom("name", kind_="text", show=name_show, handle=name_handle, editable=False)],
    review=name_review,  # 您的姓名是“王小明”,对吗? 对 (the save) / 不对,重新输入 (back) / 取消
    save=name_save,
    setup=name_setup,
    title=lambda draft: str(draft.get("name") or ""),
    keys={
        "form.btn.save": "join.name_ok",
        "form.btn.back": "join.name_again",
        "form.cancelled": "join.cancelled",
        "form.paused_plain": "join.paused",
        "form.timeout_plain": "join.timeout",
        "form.ask.resume": "join.ask.resume",
    },
)
FORMS = (NAME_FORM,)


# -- a village's multi-use code: pick your name ----------------------------------------------------
async def show_roster(update: Update, context: CadreContext, invite: Invite, page: int) -> None:
    t = context.t
    waiting = await context.repos.org.waiting(invite.unit_id, invite.role)
    unit = await unit_path(context, invite.unit_id)
    if not waiting:
        await ask(update, context, t("join.roster_empty", unit=unit))
        return
    pages = pages_of(len(waiting))
    page = min(max(page, 0), pages - 1)
    buttons: list[Button] = [
        (p.name, cb("join", "pick", f"{invite.code}.{p.id}")) for p in waiting[page * 8 : (page + 1) * 8]
    ]
    rows = chunk(buttons, 2)
    rows.append(pager("join", "list", invite.code, page, pages, t))
    rows.append([(t("join.not_listed_button"), cb("join", "none", invite.code))])
    await ask(update, context, t("join.pick_name", unit=unit), keyboard(rows))


async def offered(context: CadreContext, invite: Invite, person_id: int | None) -> Person | None:
    """The person ``person_id`` if the code's roster list offers them (a multi-use code, its
    unit and role, active, not joined yet); None for anybody else."""
    if person_id is None or not invite.multi_use:
        return None
    person = await context.repos.org.person(person_id)
    if (
        person is None
        or person.unit_id != invite.unit_id
        or person.role != invite.role
        or not person.active
        or person.telegram_id is not None
    ):
        return None
    return person


# Buttons that only make sense for a village's multi-use code (its roster list).
ROSTER_ACTIONS = ("list", "none", "pick", "yes")


@requires(START)
async def join_pressed(update: Update, context: CadreContext) -> None:
    _, action, arg = parse_cb(update.callback_query.data)
    t, repos = context.t, context.repos
    if too_many_failures(context):  # the same lockout as typed codes and /start CODE
        await update.callback_query.answer(t("join.too_many"), show_alert=True)
        return
    head, _, tail = arg.partition(".")
    code = normalise_code(head)
    invite = await repos.invites.get(code) if code else None
    if invite is not None and action in ROSTER_ACTIONS and not invite.multi_use:
        invite = None  # a personal code has no roster list: answer as for a wrong code
    if invite is None or invite.status(now()) not in ("open", "used"):
        await answer(update)
        await refuse(update, context, Redeemed(invite.status(now()) if invite else "not_found", invite))
        return
    await answer(update)
    if action == "list":
        await show_roster(update, context, invite, parse_page(tail))
    elif action == "none":
        await ask(update, context, t("join.not_listed", unit=await unit_path(context, invite.unit_id)))
    elif action == "pick":
        person = await offered(context, invite, parse_id(tail))
        if person is None:
            record_failure(context)
            await ask(update, context, t("join.bad_pick"))
            return
        rows = [[(t("join.yes_its_me"), cb("join", "yes", arg))],
                [(t("join.not_me"), cb("join", "list", f"{invite.code}.0"))]]
        await ask(update, context, t("join.confirm_name", name=person.name), keyboard(rows))
    elif action == "yes":  # only someone the list offers (or oneself again); the store checks again
        person = await offered(context, invite, parse_id(tail))
        if person is None:
            own = await repos.org.person(parse_id(tail) or 0)
            if own is None or own.telegram_id != update.effective_user.id:
                record_failure(context)
                await ask(update, context, t("join.bad_pick"))
                return
            person = own
        await redeem(update, context, invite.code, person_id=person.id)
    elif action == "switch":
        person_id = parse_id(tail)
        name = (context.user_data.get("join") or {}).get("name")
        if await redeem(update, context, invite.code, person_id=person_id, name=name, switch=True) == "joined":
            context.user_data.pop("join", None)
    elif action == "stay":
        context.user_data.pop("join", None)
        await ask(update, context, t("join.stayed"))


# -- binding ------------------------------------------------------------------------------------------
async def redeem(
    update: Update,
    context: CadreContext,
    code: str,
    *,
    person_id: int | None = None,
    name: str | None = None,
    switch: bool = False,
) -> str:
    user = update.effective_user
    result = await context.repos.invites.redeem(
        code, user.id, now(), person_id=person_id, name=name, switch=switch
    )
    if result.status == "joined":
        await welcome(update, context, result)
    elif result.status == "already":
        if result.person is None:
            raise RuntimeError("unexpected: result.person is None")
        context.person = result.person
        text = context.t("join.already", name=result.person.name, role=person_role(context.t, result.person))
        await ask(update, context, text + "\n\n" + help_text(context, in_group=False))
    elif result.status == "has_other":
        await ask_switch(update, context, result, person_id)
    else:
        await refuse(update, context, result)
    return result.status


async def ask_switch(update: Update, context: CadreContext, result: Redeemed, person_id: int | None) -> None:
    t = context.t
    if result.invite is None or result.previous is None:
        raise RuntimeError("unexpected: result.invite or result.previous is None")
    current = result.previous
    tail = f".{person_id}" if person_id else ""
    rows = [[(t("join.switch_yes"), cb("join", "switch", f"{result.invite.code}{tail}"))],
            [(t("join.switch_no"), cb("join", "stay", result.invite.code))]]
    text = t(
        "join.ask_switch",
        current_role=person_role(t, current),
        current_unit=await unit_path(context, current.unit_id),
        role=role_label(t, result.invite.role, result.invite.first_secretary),
        unit=await unit_path(context, result.invite.unit_id),
    )
    await ask(update, context, text, keyboard(rows))


async def welcome(update: Update, context: CadreContext, result: Redeemed) -> None:
    person, invite = result.person, result.invite
    if person is None or invite is None:
        raise RuntimeError("no person here: this runs behind @requires")
    user = update.effective_user
    repos = context.repos
    record = await repos.users.get(user.id)
    if (record is None or record.lang is None) and (user.language_code or "").startswith("en"):
        await repos.users.set_lang(user.id, "en")
        context.set_lang("en")
    context.person = person
    t = context.t
    unit = await unit_path(context, person.unit_id)
    text = t("join.welcome", name=person.name, role=person_role(t, person), unit=unit)
    await ask(update, context, text + "\n\n" + help_text(context, in_group=False))
    await send_menu(update, context)
    await publish_user_commands(context.application, user.id, context)
    creator = await repos.org.person(invite.created_by) if invite.created_by else None
    if creator is not None and creator.telegram_id not in (None, user.id):
        await tell(
            context.application, creator.telegram_id, "invite.joined_notice",
            name=person.name, role=role_label(t, person.role, person.first_secretary), unit=unit,
        )


async def refuse(update: Update, context: CadreContext, result: Redeemed) -> None:
    """A code that cannot be used: say why, in words; tell the admin when it matters."""
    t = context.t
    invite = result.invite
    if result.status in ("not_found", "needs_name", "needs_pick"):
        record_failure(context)
        await ask(update, context, t("join.not_found", code=invite.code if invite else ""))
        return
    if result.status == "expired" and invite is not None:
        await ask(update, context, t("join.expired", date=local_date(context, invite.expires_at)))
    elif result.status == "bound_elsewhere" and invite is not None and result.person is not None:
        await ask(update, context, t("join.bound_elsewhere", name=result.person.name))
        creator = await context.repos.org.person(invite.created_by) if invite.created_by else None
        if creator is not None:
            await tell(
                context.application, creator.telegram_id, "invite.bound_elsewhere_notice",
                name=result.person.name, code=invite.code,
                user=update.effective_user.full_name, user_id=update.effective_user.id,
            )
    else:  # revoked, used, bad_pick
        await ask(update, context, t(f"join.{result.status}"))


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start_with_code, filters=private & filters.Regex(START_CODE)))
    app.add_handler(MessageHandler(private & filters.TEXT & filters.Regex(CODE_TEXT), code_typed))
    app.add_handler(CallbackQueryHandler(join_pressed, pattern=r"^join:(list|none|pick|yes|switch|stay):"))
