"""What every user meets: who they are (loaded per update), /start, /help, /lang, /cancel
outside a conversation, the main menu, and a polite answer to input nobody expected.

The main menu (:func:`handlers.auth.main_menu`) comes with /start, /help and any text outside
a conversation; a press of one of its buttons is turned into that command
(:func:`menu_pressed`, before anything else sees the text), so it behaves exactly like typing
it, also in the middle of a conversation.

Registered last (see ``handlers/__init__.py``): its catch-all must not shadow the features.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import CadreContext
from bot.errors import on_error
from bot.forms.core import is_cancel_words
from bot.forms.ptb import hand_over
from handlers.auth import (
    COMMANDS,
    EVERYONE,
    START_COMMAND,
    command,
    commands_for,
    main_menu,
    menu_command,
    private_chat_markup,
)
from handlers.reports.from_text import offer_report

START = command("start", EVERYONE)
HELP = command("help", EVERYONE, group=True)
LANG = command("lang", EVERYONE)
CANCEL = command("cancel", EVERYONE)

log = logging.getLogger("cadre.updates")


async def load_user(update: Update, context: CadreContext) -> None:
    """Group -1: who is this, in which language; ignore updates nobody should see."""
    if update.channel_post or update.edited_channel_post:
        raise ApplicationHandlerStop
    user = update.effective_user
    if user is None or user.is_bot:
        return
    # cached per user. A lookup that fails (a lock held past the wait, a full disk) stops the
    # update with a message: it is never handled as if from a stranger.
    try:
        record, context.person = await context.repos.users.who(
            user.id, user.first_name or "", context.repos.org.person_by_telegram
        )
    except Exception:
        log.warning("could not tell who sent update %s", update.update_id, exc_info=True)
        if update.effective_chat is not None:
            lang = context.repos.users.cached_lang(user.id)
            t = context.services.catalogs.get(lang)
            with contextlib.suppress(TelegramError):
                if update.callback_query is not None:
                    await update.callback_query.answer()
                await context.bot.send_message(update.effective_chat.id, t("db.busy"))
        raise ApplicationHandlerStop from None
    in_group = update.effective_chat is not None and update.effective_chat.type != ChatType.PRIVATE
    context.set_lang(None if in_group else record.lang)


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


async def start(update: Update, context: CadreContext) -> None:
    t = context.t
    person = context.person
    payload = (context.args or [""])[0]
    wanted = COMMANDS.get(payload[len(START_COMMAND):]) if payload.startswith(START_COMMAND) else None
    if wanted is not None and wanted.private and wanted.name != "start":
        # opened from a group's 去私聊 button: the command itself, as if typed here
        data = update.to_dict()
        data["message"]["text"] = f"/{wanted.name}"
        data["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": len(wanted.name) + 1}]
        hand_over(Update.de_json(data, context.bot), context)
        return
    if person is None:
        await update.effective_message.reply_text(t("start.unknown"))
        return
    await update.effective_message.reply_text(
        t("start.known", name=person.name, role=t(f"role.{person.role}"))
        + "\n\n"
        + help_text(context, in_group=not is_private(update)),
        reply_markup=menu_markup(update, context),
    )


def menu_markup(update: Update, context: CadreContext) -> ReplyKeyboardMarkup | None:
    """The user's main menu, in a private chat with someone who has joined; else None."""
    if context.person is None or not is_private(update):
        return None
    return main_menu(context.t, context.person.role)


async def send_menu(update: Update, context: CadreContext) -> None:
    """Put the user's main menu under the message box (after joining), with one short line."""
    markup = menu_markup(update, context)
    if markup is not None:
        await context.bot.send_message(update.effective_chat.id, context.t("menu.shown"), reply_markup=markup)


async def menu_pressed(update: Update, context: CadreContext) -> None:
    """Group -2: a main-menu button's text is its command: the same update, as ``/command``,
    goes through the update processor again (after this one), and nothing else sees the text."""
    message = update.message
    name = menu_command(message.text if message else None, context.services.catalogs)
    if name is None:
        return
    data = update.to_dict()
    data["message"]["text"] = f"/{name}"
    data["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": len(name) + 1}]
    hand_over(Update.de_json(data, context.bot), context)
    raise ApplicationHandlerStop


def help_text(context: CadreContext, *, in_group: bool) -> str:
    t = context.t
    role = context.person.role if context.person else None
    lines = [f"/{c.name} {t(c.help_key)}" for c in commands_for(role, in_group=in_group)]
    return t("help.header") + "\n" + "\n".join(lines)


async def help_command(update: Update, context: CadreContext) -> None:
    text = help_text(context, in_group=not is_private(update))
    if context.person is None and is_private(update):
        text = context.t("help.unknown") + "\n\n" + text
    await update.effective_message.reply_text(text, reply_markup=menu_markup(update, context))


async def lang_command(update: Update, context: CadreContext) -> None:
    buttons = [
        InlineKeyboardButton(context.services.catalogs.get(lang)("lang.name"), callback_data=f"lang:set:{lang}")
        for lang in context.services.catalogs.languages
    ]
    await update.effective_message.reply_text(
        context.t("lang.choose"), reply_markup=InlineKeyboardMarkup([buttons])
    )


async def lang_chosen(update: Update, context: CadreContext) -> None:
    query = update.callback_query
    lang = (query.data or "").rsplit(":", 1)[-1]
    if lang not in context.services.catalogs.languages:
        await query.answer()
        return
    await context.repos.users.set_lang(query.from_user.id, lang)
    context.set_lang(lang)
    await query.answer()
    await query.edit_message_text(context.t("lang.set"))
    await publish_user_commands(context.application, query.from_user.id, context)


async def cancel_outside(update: Update, context: CadreContext) -> None:
    await update.effective_message.reply_text(context.t("cancel.nothing"))


async def unexpected_private(update: Update, context: CadreContext) -> None:
    """Input no feature is waiting for, in a private chat. Text or photos that read as a
    clean-up report (or a visit) get an offer to save them; someone who has not joined hears how
    to join (an invite code or link from their secretary); someone who has gets their main
    actions as buttons. A typed 取消 (or 算了…) with nothing in progress is answered as /cancel."""
    text = update.effective_message.text
    if text and is_cancel_words(text):
        await cancel_outside(update, context)
        return
    if await offer_report(update, context):  # a clean-up report in one message (or photos)
        return
    if context.person is None:
        await update.effective_message.reply_text(context.t("unexpected.not_joined"))
        return
    await update.effective_message.reply_text(context.t("unexpected.menu"), reply_markup=menu_markup(update, context))


async def private_only_here(update: Update, context: CadreContext) -> None:
    """A private-only command sent in a group: say where it works, with a button that opens
    the private chat and starts the command there (and show nothing else)."""
    name = (update.effective_message.text or "/").split()[0][1:].split("@")[0].lower()
    markup = private_chat_markup(context, name)
    key = "auth.private_only_button" if markup else "auth.private_only"
    await update.effective_message.reply_text(context.t(key, command=name), reply_markup=markup)


async def stale_button(update: Update, context: CadreContext) -> None:
    """A button from an old message whose conversation is over."""
    await update.callback_query.answer(context.t("unexpected.stale_button"), show_alert=True)


def menu(context_t, role: str | None, *, in_group: bool) -> list[BotCommand]:
    return [BotCommand(c.name, context_t(c.help_key)[:256]) for c in commands_for(role, in_group=in_group)]


async def publish_user_commands(app: Application, telegram_id: int, context: CadreContext) -> None:
    """The command menu of one user's private chat, for their role and language."""
    person = await context.repos.org.person_by_telegram(telegram_id)
    commands = menu(context.t, person.role if person else None, in_group=False)
    await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(telegram_id))


async def on_startup(app: Application) -> None:
    """Default menus per language: private chats (as for a newcomer) and groups."""
    catalogs = app.services.catalogs  # type: ignore[attr-defined]
    for lang in catalogs.languages:
        t = catalogs.get(lang)
        code = None if lang == catalogs.default else lang.split("_")[0]
        await app.bot.set_my_commands(
            menu(t, None, in_group=False), scope=BotCommandScopeAllPrivateChats(), language_code=code
        )
        await app.bot.set_my_commands(
            menu(t, "member", in_group=True), scope=BotCommandScopeAllGroupChats(), language_code=code
        )


def register_early(app: Application) -> None:
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, menu_pressed), group=-2)
    app.add_handler(TypeHandler(Update, load_user), group=-1)
    app.add_error_handler(on_error)


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start, filters=private))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler("lang", lang_command, filters=private))
    app.add_handler(CallbackQueryHandler(lang_chosen, pattern=r"^lang:set:"))
    app.add_handler(CommandHandler("cancel", cancel_outside, filters=private))
    # every feature is registered by now: commands of the table that no group handler took
    private_only = sorted(c.name for c in COMMANDS.values() if not c.group)
    app.add_handler(CommandHandler(private_only, private_only_here, filters=filters.ChatType.GROUPS))
    app.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL, unexpected_private)
    )
    app.add_handler(CallbackQueryHandler(stale_button))
