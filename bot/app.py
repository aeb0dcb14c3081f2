"""The single composition root: :func:`build_application`.

Everything the bot is made of is wired here and nowhere else: settings, the database, the
catalogs, persistence, the update processor, the rate limiter, the handlers of each feature
and the one error handler. The database is opened in ``initialize`` (before persistence is
read) and closed in ``shutdown``; ``post_init`` publishes the command menus and rebuilds the
schedules from the database.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.context import CadreContext, Services
from bot.i18n import Catalogs
from bot.persistence import SQLitePersistence
from bot.processor import ChatOrderedUpdateProcessor
from bot.ratelimit import SlidingWindowRateLimiter
from bot.settings import Settings
from storage import Database, Repos

log = logging.getLogger("cadre.updates")


class CadreApplication(Application):
    """An Application that owns the database and logs one line per update."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services

    async def initialize(self) -> None:
        if self.services.repos is None:
            db = await Database.open(self.services.settings.db_path)
            self.services.repos = Repos.over(db)
        await super().initialize()

    async def shutdown(self) -> None:
        await super().shutdown()
        if self.services.repos is not None:
            await self.services.repos.db.close()
            self.services.repos = None

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            if isinstance(update, Update):
                log.info(
                    "update %s user=%s chat=%s kind=%s took=%.1fms",
                    update.update_id,
                    update.effective_user.id if update.effective_user else "-",
                    update.effective_chat.id if update.effective_chat else "-",
                    describe(update),
                    (time.perf_counter() - started) * 1000,
                )


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


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    repos: Repos | None = None,
    catalogs: Catalogs | None = None,
    rate_limit: bool = True,
) -> CadreApplication:
    """Build the whole bot. ``request`` replaces the network (tests and the console)."""
    from handlers import register_all

    # Our conversations track callback queries per user on purpose (their buttons carry
    # flow:action:id payloads and drafts live in user_data), so PTB's per_message hint is noise.
    warnings.filterwarnings("ignore", message=r"If 'per_message=False'", category=PTBUserWarning)
    services = Services(settings=settings, catalogs=catalogs or Catalogs(settings.locale))
    services.repos = repos
    persistence = SQLitePersistence(lambda: services.repos.state)  # type: ignore[union-attr]

    builder = (
        ApplicationBuilder()
        .application_class(CadreApplication, kwargs={"services": services})
        .token(settings.token or "0:offline")
        .context_types(ContextTypes(context=CadreContext))
        .persistence(persistence)
        .defaults(Defaults(tzinfo=settings.tz, block=True))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    processor = ChatOrderedUpdateProcessor(256)
    builder = builder.concurrent_updates(processor)
    if rate_limit:
        builder = builder.rate_limiter(SlidingWindowRateLimiter())
    if request is not None:
        builder = builder.request(request).get_updates_request(request).updater(None)
    if settings.base_url:
        builder = builder.base_url(settings.base_url)
    if settings.base_file_url:
        builder = builder.base_file_url(settings.base_file_url)
    app: CadreApplication = builder.build()  # type: ignore[assignment]
    processor.after_update = app.update_persistence
    register_all(app)
    return app


async def post_init(app: Application) -> None:
    from handlers import on_startup

    await on_startup(app)


async def post_shutdown(app: Application) -> None:
    return None
