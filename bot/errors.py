"""The one error handler: a short apology to the user, the traceback to the log, a short
report to CADRE_ADMIN_CHAT when it is set (no message bodies, no personal data)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError

from bot.context import CadreContext
from storage.db import StorageBusy, StorageFull

log = logging.getLogger("cadre.errors")


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
            from bot.app import describe

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
