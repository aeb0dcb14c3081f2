"""The callback context every handler receives: services, the user's translator and person."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Translator
from bot.runtime import Services

__all__ = ["CadreContext", "Services"]

if TYPE_CHECKING:
    from storage import Repos
    from storage.org import Person


class CadreContext(CallbackContext[ExtBot, dict, dict, dict]):
    """``context.services``, ``context.repos``, ``context.t`` and ``context.person``.

    ``t`` and ``person`` are filled in per update by ``handlers.general.commands.load_user`` (group -1).
    """

    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None):
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.person: Person | None = None
        self.telegram_id = user_id  # the user the update is from (None for a channel post)
        self.lang: str = self.services.settings.locale
        self.t: Translator = self.services.catalogs.get(self.lang)

    @property
    def services(self) -> Services:
        return self.application.services  # type: ignore[attr-defined]

    @property
    def repos(self) -> Repos:
        repos = self.services.repos
        if repos is None:
            raise RuntimeError("the database is opened in Application.initialize()")
        return repos

    def set_lang(self, lang: str | None) -> None:
        self.t = self.services.catalogs.get(lang or self.services.settings.locale)
        self.lang = self.t.lang
