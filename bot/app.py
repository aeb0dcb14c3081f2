"""The single composition root: :func:`build_application`.

Everything the bot is made of is wired here and nowhere else: settings, the database, the
catalogs, persistence, the update processor, the rate limiter, the handlers of each feature
and the one error handler. The database is opened in ``initialize`` (before persistence is
read) and closed in ``shutdown``; ``post_init`` publishes the command menus and rebuilds the
schedules from the database.

An update is handled once its effects are durable: see ``bot.inbox`` for the design (a durable
inbox written before Telegram is told, marked done in the persistence flush that follows each
update, replayed at start).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
import warnings
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    ContextTypes,
    ConversationHandler,
    Defaults,
)
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot import channel_telegram
from bot.context import CadreContext, Services
from bot.errors import describe
from bot.i18n import Catalogs
from bot.inbox import DurableQueue, InboxWriter, RawUpdates, RawUpdatesRequest, Row
from bot.jobs import CadreJobQueue
from bot.logfilter import install_log_redaction
from bot.persistence import SQLitePersistence, UserData
from bot.processor import ChatOrderedUpdateProcessor
from bot.ratelimit import SlidingWindowRateLimiter
from bot.settings import Settings
from storage import Database, Repos
from storage.db import StorageError, lock_notice
from storage.inbox import InboxRepo

log = logging.getLogger("cadre.updates")


PRUNE_EVERY = 1000  # commits between two prunings of the inbox
KNOWN = 10_000  # ids of the newest inbox rows kept in memory to drop redeliveries without a query


class CadreApplication(Application):
    """An Application that owns the database, the durable inbox, and logs one line per update."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.inbox: InboxRepo | None = None
        self.raw_updates = RawUpdates()  # filled by the getUpdates connection (build_application)
        self._from_inbox: set[int] = set()  # update ids in the inbox and not done yet
        self._known: dict[int, None] = {}  # ids the inbox holds (the newest KNOWN), oldest first
        self._commits = 0
        self._persistent_conversations = False  # a persistent ConversationHandler is registered
        # rows of arrived updates until stored (by their flush, or a group insert soon after)
        self.inbox_writer = InboxWriter(self._add_rows)

    async def initialize(self) -> None:
        if self.services.repos is None:
            db = await Database.open(self.services.settings.db_path)
            self.services.repos = Repos.over(db)
        await self.services.repos.db.checkpoint_in_background()  # not in an update's commit
        self.inbox = InboxRepo(self.services.repos.db)
        await super().initialize()
        if isinstance(self.update_queue, DurableQueue):
            await self.inbox.prune()
            for update_id in await self.inbox.recent(KNOWN):
                self._known[update_id] = None
            # updates not made durable before a stop or crash: handled again, in order, first
            for update_id, data in await self.inbox.pending():
                self._known[update_id] = None
                self._from_inbox.add(update_id)
                self.update_queue.requeue(Update.de_json(json.loads(data), self.bot))
            self.update_queue.admit = self.admit_update
            self.update_queue.store = self.store_update
            self.update_queue.known = self.wait_stored

    async def shutdown(self) -> None:
        if isinstance(self.update_queue, DurableQueue):
            self.update_queue.admit = self.update_queue.store = self.update_queue.known = None
        await super().shutdown()
        if self.services.repos is not None:
            await self.inbox_writer.close()
            await self.services.repos.db.close()
            self.services.repos = None

    def admit_update(self, update: Update) -> bool:
        """Whether an arriving update is new (no query: the ids the inbox holds are in memory)."""
        if update.update_id in self._known:
            return False
        self._known[update.update_id] = None
        while len(self._known) > KNOWN:
            del self._known[next(iter(self._known))]
        self._from_inbox.add(update.update_id)
        return True

    async def store_update(self, update: Update, raw: str | None = None) -> None:
        """Have an admitted update's inbox row stored; return once it is committed.

        ``raw`` is its JSON as Telegram sent it (else the text kept from the getUpdates answer,
        else the update serialised again). An update of a getUpdates answer returns at once:
        the next getUpdates, whose offset confirms it, first waits for its row
        (``RawUpdatesRequest.before_fetch``), so a whole answer's rows need one insert at most.
        """
        if self.inbox is None:
            raise RuntimeError("the inbox opens in initialize()")
        chat_key = ChatOrderedUpdateProcessor.ordering_key(update)
        fetched = raw is None and (raw := self.raw_updates.pop(update.update_id)) is not None
        future = self.inbox_writer.add((update.update_id, chat_key, raw or update.to_json()))
        if not fetched:
            await asyncio.shield(future)

    async def wait_stored(self, update: Update) -> None:
        """A redelivery of an update whose row is not stored yet: until it is."""
        future = self.inbox_writer.future_of(update.update_id)
        if future is not None and self.raw_updates.pop(update.update_id) is None:
            await asyncio.shield(future)

    async def _add_rows(self, rows: list[Row]) -> None:
        if self.inbox is None:
            raise RuntimeError("the inbox opens in initialize()")
        new = await self.inbox.add_many(rows)
        for update_id, _key, _data in rows:
            if update_id not in new:
                log.info("update %s was in the inbox already", update_id)

    async def accept_update(self, update: Update, raw: str | None = None) -> bool:
        """Admit and store an update; False (and nothing stored) for a redelivery."""
        if not self.admit_update(update):
            return False
        await self.store_update(update, raw)
        return True

    async def finish_update(self, update: object) -> None:
        """After an update: stage the state (PTB's flush), then commit it with the inbox mark.

        The commit also carries the inbox rows not stored yet (this update's as done): when the
        handling was quick, the whole update costs this one thread hop.
        """
        lock_notice.set(None)  # the answer is out: a wait for the lock now needs no "one moment"
        persistence: SQLitePersistence = self.persistence  # type: ignore[assignment]
        if not self._stage_own_data(update, persistence):
            await super().update_persistence()
        done = None
        if isinstance(update, Update) and update.update_id in self._from_inbox:
            done = update.update_id
        arrived: list[Row] = []
        if self.inbox_writer.pending and persistence.carries_inbox:
            arrived = self.inbox_writer.take()  # no await from here to the commit's write
        try:
            await persistence.commit(done=done, arrived=arrived)
        except BaseException as exc:
            if arrived:  # stored on their own, at once (a failed one stays pending, tried again)
                self.inbox_writer.give_back(arrived)
                try:
                    await self.inbox_writer.write_pending()
                except Exception:
                    log.warning("could not store %d arrived updates", len(arrived), exc_info=True)
            if not isinstance(exc, StorageError):
                raise
            # a lock held too long or a full disk: the state and the "done" mark stay staged for
            # the next commit; until then a restart handles the update again (harmless)
            log.warning("could not save the state after update %s", getattr(update, "update_id", "-"), exc_info=True)
            return
        self.inbox_writer.stored(arrived)
        if done is not None:
            self._from_inbox.discard(done)
            self._commits += 1
            if self._commits % PRUNE_EVERY == 0 and self.inbox is not None:
                await self.inbox.prune()

    def add_handler(self, handler: BaseHandler, group: int = 0) -> None:
        super().add_handler(handler, group)
        if isinstance(handler, ConversationHandler) and handler.persistent:
            self._persistent_conversations = True  # its states are PTB's to flush: see below

    def _stage_own_data(self, update: object, persistence: SQLitePersistence) -> bool:
        """After an update in a private chat: stage its user's and chat's data, the only data
        such an update touches (as PTB marks it), here and now. PTB's own flush would gather
        every ``update_*`` call for it (two event-loop turns); it still runs on its interval
        (and at stop) for anything else, after every update in a group (where a chat may move to
        a new id, dropping its old data), and after every update while a persistent
        ConversationHandler is registered (the bot's forms are not one: their state is in
        ``user_data``). False: not such an update."""
        if not isinstance(update, Update) or self._persistent_conversations:
            return False
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or chat.type != "private":
            return False
        data = self.user_data.get(user.id)
        if data is not None:
            persistence.stage_user_data(user.id, data)
        chat_data = self.chat_data.get(chat.id)
        if chat_data is not None:
            persistence.stage_chat_data(chat.id, chat_data)
        return True

    async def update_persistence(self) -> None:
        await super().update_persistence()
        if self.persistence is not None:
            await self.persistence.commit()  # type: ignore[attr-defined]

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        if isinstance(update, Update) and update.effective_chat is not None:
            lock_notice.set(self._lock_notice(update))
        try:
            await super().process_update(update)
        finally:
            if isinstance(update, Update) and log.isEnabledFor(logging.INFO):  # describe() costs
                log.info(
                    "update %s user=%s chat=%s kind=%s took=%.1fms",
                    update.update_id,
                    update.effective_user.id if update.effective_user else "-",
                    update.effective_chat.id if update.effective_chat else "-",
                    describe(update),
                    (time.perf_counter() - started) * 1000,
                )

    def _lock_notice(self, update: Update) -> Any:
        """Tell the chat "one moment" (once per update) when a write waits for a lock."""
        told = False

        async def notice() -> None:
            nonlocal told
            if told:
                return
            told = True
            repos = self.services.repos
            user = update.effective_user
            lang = repos.users.cached_lang(user.id) if repos is not None and user is not None else None
            in_group = update.effective_chat.type != "private"
            t = self.services.catalogs.get(None if in_group else lang)
            await self.bot.send_message(update.effective_chat.id, t("db.wait"))

        return notice


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
    install_log_redaction(settings.token)
    persistence = SQLitePersistence(lambda: services.repos.state)  # type: ignore[union-attr]

    builder = (
        ApplicationBuilder()
        .application_class(CadreApplication, kwargs={"services": services})
        .token(settings.token or "0:offline")
        .context_types(ContextTypes(context=CadreContext, user_data=UserData))
        .persistence(persistence)
        .defaults(Defaults(tzinfo=settings.tz, block=True))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .update_queue(DurableQueue())
        .job_queue(CadreJobQueue())
    )
    processor = ChatOrderedUpdateProcessor(256)
    builder = builder.concurrent_updates(processor)
    if rate_limit:
        builder = builder.rate_limiter(SlidingWindowRateLimiter())
    raw_updates = RawUpdates()
    fetching: RawUpdatesRequest | None = None
    if request is not None:
        builder = builder.request(request).get_updates_request(request).updater(None)
    else:  # PTB's default getUpdates connection, keeping the raw JSON for the inbox
        fetching = RawUpdatesRequest(HTTPXRequest(connection_pool_size=1, http_version="1.1"), raw_updates)
        builder = builder.get_updates_request(fetching)
    if settings.base_url:
        builder = builder.base_url(settings.base_url)
    if settings.base_file_url:
        builder = builder.base_file_url(settings.base_file_url)
    app: CadreApplication = builder.build()  # type: ignore[assignment]
    app.raw_updates = raw_updates
    channel_telegram.attach(app)  # the services send and plan their runs through these adapters
    if fetching is not None:  # a getUpdates confirms the updates before it: their rows first
        fetching.before_fetch = app.inbox_writer.wait_all
    processor.finish_update = app.finish_update
    register_all(app)
    return app


async def post_init(app: Application) -> None:
    from handlers import on_startup

    await on_startup(app)
    settle_heap()


def settle_heap() -> None:
    """Once per process, after the first start-up: what is alive now (the modules, the
    catalogs, dateparser's and Babel's tables: most of the heap, and it stays) leaves the
    garbage collector's view (:func:`gc.freeze`). A full collection then walks only what the
    updates made; it had taken 50-100 ms, on the event loop, now and then."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


async def post_shutdown(app: Application) -> None:
    for task in app.services.extras.pop("background", ()):  # type: ignore[attr-defined]
        task.cancel()  # work started at start-up and not finished (the admins' menus)
