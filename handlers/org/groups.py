"""Group chats: ``/bind`` and ``/unbind``, the bot being added, removed or made admin, and a
group upgraded to a supergroup.

``/bind`` (an admin or a secretary, in the group): which of their units the group belongs to,
and what it receives (reminders, notices, bulletins; all by default). Only the person who sent
``/bind`` can press its buttons. A group the bot is removed from is marked inactive and the
person who bound it is told privately; added back, it keeps its binding. Nothing personal is
ever said in a group: unit names and settings only.
"""

from __future__ import annotations

import secrets

from telegram import BotCommandScopeAllChatAdministrators, ChatMember, Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import CadreContext
from bot.rules.ids import id_or_zero
from handlers.auth import LEADERS, command, requires
from handlers.flow import Button, answer, ask, cb, keyboard, parse_cb
from handlers.org.ui import split_page, tell, unit_path, unit_picker
from storage.chats import KINDS, Chat

BIND = command("bind", LEADERS, private=False, group=True)
UNBIND = command("unbind", LEADERS, private=False, group=True)
PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER, ChatMember.RESTRICTED)


def kinds_text(context: CadreContext, kinds: list[str] | tuple[str, ...]) -> str:
    t = context.t
    return t("list.sep").join(t(f"bind.kind.{k}") for k in KINDS if k in kinds) or t("bind.kinds_none")


def chat_kinds(chat: Chat) -> list[str]:
    return [k for k in KINDS if getattr(chat, k)]


async def may_change(context: CadreContext, chat: Chat | None) -> bool:
    return chat is None or chat.unit_id is None or await context.repos.org.manages(context.person, chat.unit_id)


# -- /bind ------------------------------------------------------------------------------------------
@requires(BIND)
async def bind_command(update: Update, context: CadreContext) -> None:
    t, repos, me = context.t, context.repos, context.person
    if me is None:
        raise RuntimeError("no person here: this runs behind @requires")
    chat_id = update.effective_chat.id
    await repos.chats.seen(chat_id, update.effective_chat.title or "")
    chat = await repos.chats.get(chat_id)
    if not await may_change(context, chat):
        if chat is None or chat.unit_id is None:
            raise RuntimeError("unexpected: chat or chat.unit_id is None")
        await update.effective_message.reply_text(t("bind.taken", unit=await unit_path(context, chat.unit_id)))
        return
    kinds = chat_kinds(chat) if chat and chat.unit_id else list(KINDS)
    context.user_data["bind"] = {"chat": chat_id, "unit": None, "kinds": kinds, "token": secrets.token_hex(3)}
    unit = await repos.org.unit(me.unit_id)
    if unit is None:
        raise RuntimeError("unexpected: unit is None")
    if me.role == "secretary" and not await repos.org.children(unit.id):
        context.user_data["bind"]["unit"] = unit.id
        await show_kinds(update, context)
        return
    await show_picker(update, context, unit.id, 0)


async def show_picker(update: Update, context: CadreContext, unit_id: int, page: int) -> None:
    org, me = context.repos.org, context.person
    if me is None:
        raise RuntimeError("no person here: this runs behind @requires")
    root, current = await org.unit(me.unit_id), await org.unit(unit_id)
    if root is None or current is None:
        raise RuntimeError("unexpected: root or current is None")
    text, markup = await unit_picker(
        context, flow="bind", root=root, current=current, page=page, selectable=lambda u: True,
        intro=context.t("bind.choose_unit"),
    )
    await ask(update, context, text, markup)


async def show_kinds(update: Update, context: CadreContext) -> None:
    t = context.t
    draft = context.user_data["bind"]
    buttons: list[list[Button]] = [
        [(t("bind.kind_on" if k in draft["kinds"] else "bind.kind_off", kind=t(f"bind.kind.{k}")), cb("bind", "kind", k))]
        for k in KINDS
    ]
    buttons.append([(t("bind.save"), cb("bind", "done", draft["token"])), (t("org.close"), cb("bind", "close"))])
    text = t("bind.choose_kinds", unit=await unit_path(context, draft["unit"]))
    await ask(update, context, text, keyboard(buttons))


@requires(BIND)
async def bind_pressed(update: Update, context: CadreContext) -> None:
    t, repos = context.t, context.repos
    _, action, arg = parse_cb(update.callback_query.data)
    draft = context.user_data.get("bind")
    if not isinstance(draft, dict) or draft.get("chat") != update.effective_chat.id:
        await update.callback_query.answer(t("bind.not_your_buttons"), show_alert=True)
        return
    if action == "close":
        context.user_data.pop("bind", None)
        await answer(update)
        await ask(update, context, t("org.closed"))
        return
    if action in ("open", "pick"):
        head, page = split_page(arg)
        unit = await repos.org.unit(id_or_zero(head))
        if unit is None or not await repos.org.manages(context.person, unit.id):
            await update.callback_query.answer(t("org.not_yours"), show_alert=True)
            return
        await answer(update)
        if action == "open":
            await show_picker(update, context, unit.id, page)
        else:
            draft["unit"] = unit.id
            await show_kinds(update, context)
        return
    if draft.get("unit") is None:
        await update.callback_query.answer(t("bind.not_your_buttons"), show_alert=True)
        return
    if action == "kind" and arg in KINDS:
        kinds = set(draft["kinds"]) ^ {arg}
        draft["kinds"] = [k for k in KINDS if k in kinds]
        await answer(update)
        await show_kinds(update, context)
    elif action == "done" and arg == draft.get("token"):
        if not draft["kinds"]:
            await update.callback_query.answer(t("bind.pick_one"), show_alert=True)
            return
        await save_binding(update, context, draft)


async def save_binding(update: Update, context: CadreContext, draft: dict) -> None:
    t, repos, me = context.t, context.repos, context.person
    if me is None:
        raise RuntimeError("no person here: this runs behind @requires")
    chat = await repos.chats.get(draft["chat"])
    if not await may_change(context, chat) or not await repos.org.manages(me, draft["unit"]):
        await update.callback_query.answer(t("org.not_yours"), show_alert=True)
        return
    title = update.effective_chat.title or ""
    bound = await repos.chats.bind(draft["chat"], title, draft["unit"], me.id, draft["kinds"])
    context.user_data.pop("bind", None)
    await answer(update)
    await ask(
        update,
        context,
        t("bind.done", unit=await unit_path(context, draft["unit"]), kinds=kinds_text(context, chat_kinds(bound))),
    )


@requires(UNBIND)
async def unbind_command(update: Update, context: CadreContext) -> None:
    t, repos = context.t, context.repos
    chat = await repos.chats.get(update.effective_chat.id)
    if chat is None or chat.unit_id is None:
        await update.effective_message.reply_text(t("bind.not_bound"))
        return
    path = await unit_path(context, chat.unit_id)
    if not await may_change(context, chat):
        await update.effective_message.reply_text(t("bind.taken", unit=path))
        return
    await repos.chats.unbind(chat.chat_id)
    await update.effective_message.reply_text(t("bind.unbound", unit=path))


# -- the bot's own membership -------------------------------------------------------------------------
async def membership_changed(update: Update, context: CadreContext) -> None:
    change = update.my_chat_member
    chat = change.chat
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return  # a user blocked the bot (private chat), or a channel: not a group to bind
    repos, t = context.repos, context.t
    old, new = change.old_chat_member.status, change.new_chat_member.status
    known = await repos.chats.get(chat.id)
    was_in, is_in = old in PRESENT, new in PRESENT
    await repos.chats.seen(chat.id, chat.title or "", active=is_in, status=new)
    if is_in and not was_in:
        if known is not None and known.unit_id is not None:
            text = t("group.welcome_back", unit=await unit_path(context, known.unit_id),
                     kinds=kinds_text(context, chat_kinds(known)))
        else:
            text = t("group.welcome")
        await context.bot.send_message(chat.id, text)
    elif was_in and not is_in and known is not None and known.unit_id is not None and known.bound_by:
        binder = await repos.org.person(known.bound_by)
        if binder is not None:
            await tell(
                context.application, binder.telegram_id, "group.removed_notice",
                title=chat.title or str(chat.id), unit=await unit_path(context, known.unit_id),
            )


async def migrated(update: Update, context: CadreContext) -> None:
    """A group became a supergroup: follow it to its new id, binding and chat_data included."""
    message = update.effective_message
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    else:
        old, new = message.migrate_from_chat_id, message.chat.id
    if old in context.application.chat_data:
        context.application.migrate_chat_data(old_chat_id=old, new_chat_id=new)
    await context.repos.chats.migrate(old, new)


async def on_startup(app: Application) -> None:
    """Group admins see the leaders' group commands (/bind, /unbind...) in their menu."""
    from handlers.general.commands import menu

    catalogs = app.services.catalogs  # type: ignore[attr-defined]
    for lang in catalogs.languages:
        t = catalogs.get(lang)
        code = None if lang == catalogs.default else lang.split("_")[0]
        commands = []
        for role in sorted(LEADERS):
            commands += [c for c in menu(t, role, in_group=True) if c.command not in {x.command for x in commands}]
        await app.bot.set_my_commands(commands, scope=BotCommandScopeAllChatAdministrators(), language_code=code)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("bind", bind_command))
    app.add_handler(CommandHandler("unbind", unbind_command))
    app.add_handler(CallbackQueryHandler(bind_pressed, pattern=r"^bind:"))
    app.add_handler(ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrated))
