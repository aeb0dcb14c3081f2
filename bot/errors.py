"""The one error handler: a short apology to the user, the traceback to the log, a short
report to CADRE_ADMIN_CHAT when it is set (no message bodies, no personal data)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError

from bot.context import CadreContext
from storage.db import StorageBusy, StorageFull

log = logging.getLogger("cadre.errors")


def describe(update: Update) -> str:
    """What arrived, without its content: a command name, a callback flow, or the kind."""
    message = update.effective_message
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        return "callback:" + data.split(":", 1)[0]
    if message is not None and message.text and message.text.startswith("/"):
        return message.text.split()[0].split("@")[0]
    if message is not None:
        for kind in ("text", "photo", "location", "document", "voice", "sticker"):
            if getattr(message, kind, None):
                return kind
    return next((k for k, v in update.to_dict().items() if k != "update_id" and v), "other")


async def on_error(update: object, context: CadreContext) -> None:
    error = context.error
    log.error("error while handling an update", exc_info=error)
    if isinstance(error, NetworkError) and not isinstance(error, Forbidden):
        return  # PTB retries network trouble; nothing the user can do about it
    user_lang = None
    if isinstance(update, Update) and update.effective_user is not None:
        try:
            user_lang = context.repos.users.cached_lang(update.effective_user.id)
            if user_lang is None:
                user = await context.repos.users.get(update.effective_user.id)
                user_lang = user.lang if user else None
        except Exception:  # the database may be what failed
            log.debug("could not read the user's language", exc_info=True)
    t = context.services.catalogs.get(user_lang)
    key = "error.sorry"
    if isinstance(error, StorageFull):
        key = "db.full"  # the transaction was rolled back: nothing half-saved
    elif isinstance(error, StorageBusy):
        key = "db.busy"
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            if update.callback_query is not None:
                await update.callback_query.answer()
            await context.bot.send_message(update.effective_chat.id, t(key))
        except TelegramError:
            log.warning("could not tell the user about the error", exc_info=True)
    admin_chat = context.services.settings.admin_chat
    if admin_chat is not None:
        kind = "-"
        if isinstance(update, Update):
            kind = describe(update)
        admin_t = context.services.catalogs.get(None)
        text = admin_t(
            "error.admin_report",
            error=f"{type(error).__name__}: {str(error)[:300]}",
            kind=kind,
        )
        try:
            await context.bot.send_message(admin_chat, text)
        except TelegramError:
            log.warning("could not report the error to the admin chat", exc_info=True)
