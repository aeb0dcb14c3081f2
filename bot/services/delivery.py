"""Sending pushes exactly once, through the push log; editing notices already sent.

Every push has a key (what, which occurrence and slot, which chat) in the push log
(:class:`storage.pushes.PushesRepo`). :func:`deliver` first *claims* the key (an atomic
insert), then sends, then marks it sent the moment Telegram's answer arrives (one short
transaction per send, nothing batched); a failed send gives the claim back to be retried by a
later run.

Claims are short leases (:data:`LEASE`, a minute) that :func:`deliver` renews every
:data:`RENEW_EVERY` while its sends wait in the rate limiter, so a live instance keeps its
claims however long a burst takes, and the claims of a process that died are taken back
within a minute: by this process after a restart, or by another live instance. When a run
finds pushes claimed by somebody else, it plans one more run for the moment those claims can
be taken back (:attr:`Outcome.retry_at`), so nothing waits for the next sweep.

The one gap left: a process that dies after Telegram accepted a message but before the mark
committed; that push goes out once more, and the push log marks it *uncertain*. Sends go one
at a time (:data:`CONCURRENCY`), each claimed just before it is sent, so a crash leaves at
most one such push and at most one unsent claim; the pushes are interleaved chat by chat so
that none waits behind its own chat's window while the overall rate still has room. A send that
timed out (:class:`~bot.channel.Uncertain`: the request may have reached the chat)
is also uncertain: it is retried once, never twice, so a chat sees at most two copies.

A chat the bot may no longer post in (:class:`~bot.channel.Unreachable`: blocked,
kicked, "chat not found"...) is never retried; a group is marked inactive and whoever bound it
is told, once.

Sending and editing go through the channel port (:mod:`bot.channel`), never through
a chat platform's library: the composition root sets the Telegram adapter
(:mod:`bot.channel_telegram`) on the shared services.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from bot.channel import (
    Channel,
    ChannelError,
    Failed,
    Host,
    Moved,
    Rejected,
    Uncertain,
    Unreachable,
)
from bot.i18n import Translator
from bot.rules.recurrence import Rule, occurrence_on
from bot.services import notices
from bot.services.notices import Rendered
from storage import Repos
from storage.events import Event
from storage.pushes import PushKey

log = logging.getLogger("cadre.scheduler")

LEASE = timedelta(minutes=1)  # a claim not renewed for this long (its claimer died) is taken back
RENEW_EVERY = 15.0  # seconds between renewals of the claims a burst still holds
MAX_ATTEMPTS = 5  # failed sends of one push before it is given up
# Sends in flight at once. Each one in flight is a message Telegram may have accepted whose
# "sent" mark is not yet committed, i.e. a possible duplicate if the process dies right then;
# one keeps that at one per crash. The price: at most 1 / round trip sends a second (50/s at
# 20 ms, 10/s at 100 ms), under the rate limiter's 30/s only with a slow link.
CONCURRENCY = 1




# -- time -----------------------------------------------------------------------------------
def zone(app: Host) -> tzinfo:
    return app.services.settings.tz


def now_of(app: Host) -> datetime:
    """The current moment: ``services.extras["clock"]()`` if set (tests), else the wall clock."""
    clock = app.services.extras.get("clock")
    if callable(clock):
        return clock()
    return datetime.now(zone(app))


def repos_of(app: Host) -> Repos:
    repos = app.services.repos
    if repos is None:
        raise RuntimeError("the database is opened in Application.initialize()")
    return repos


def channel_of(app: Host) -> Channel:
    channel = app.services.channel
    if channel is None:
        raise RuntimeError("the channel adapter is set when the application is built")
    return channel


def translator(app: Host, lang: str | None = None) -> Translator:
    return app.services.catalogs.get(lang)


# -- pushes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Push:
    """One message to one chat, under its push-log key; ``render`` makes it in a language."""

    key: PushKey
    render: Callable[[Translator], Rendered]
    photo: str | bytes | None = None  # a file id or PNG bytes: sent as a photo, the text as caption


@dataclass
class Outcome:
    sent: list[PushKey] = field(default_factory=list)
    skipped: int = 0  # already sent, given up, or being sent by someone else
    failed: list[PushKey] = field(default_factory=list)  # will be retried
    dropped: list[PushKey] = field(default_factory=list)  # never retried
    gone_chats: list[int] = field(default_factory=list)
    uncertain: list[PushKey] = field(default_factory=list)  # timed out: retried once at most
    held: list[PushKey] = field(default_factory=list)  # claimed by somebody else right now
    retry_at: datetime | None = None  # when the held claims can be taken back if not sent

    def merge(self, other: Outcome) -> None:
        self.sent += other.sent
        self.skipped += other.skipped
        self.failed += other.failed
        self.dropped += other.dropped
        self.gone_chats += other.gone_chats
        self.uncertain += other.uncertain
        self.held += other.held
        if other.retry_at is not None:
            self.retry_at = min(filter(None, (self.retry_at, other.retry_at)))



# -- sending --------------------------------------------------------------------------------
async def deliver(app: Host, pushes: Iterable[Push], now: datetime) -> Outcome:
    """Send each push that nobody has sent yet: claim, send, mark sent (or give back)."""
    repos = repos_of(app)
    outcome = Outcome()
    unique: dict[PushKey, Push] = {}
    for push in pushes:
        unique.setdefault(push.key, push)
    standing = await repos.pushes.standing(unique, now, LEASE)  # one query, however many pushes
    todo = []
    for push in unique.values():
        if push.key not in standing:
            todo.append(push)
        elif (renewed := standing[push.key]) is not None:  # claimed by somebody else right now
            _hold(outcome, push.key, renewed)
        else:  # sent or dropped
            outcome.skipped += 1
    if not todo:
        _plan_retry(app, outcome)
        return outcome
    todo = _interleave(todo)
    langs = await repos.users.langs(sorted({p.key.chat_id for p in todo if p.key.chat_id > 0}))
    limit = asyncio.Semaphore(CONCURRENCY)
    claimed: set[PushKey] = set()  # claims this run holds and has not settled yet
    renewer = asyncio.ensure_future(_renew(app, claimed))

    async def one(push: Push) -> None:
        async with limit:
            await _send(app, push, now, langs, outcome, claimed)

    try:
        results = await asyncio.gather(*(one(push) for push in todo), return_exceptions=True)
    finally:
        renewer.cancel()
    errors = [r for r in results if isinstance(r, BaseException)]
    _plan_retry(app, outcome)
    if outcome.gone_chats:
        outcome.merge(await deliver(app, await _gone_notes(app, outcome.gone_chats, now), now))
    if errors:
        raise errors[0]
    return outcome


def _interleave(pushes: list[Push]) -> list[Push]:
    """Round robin over chats: every chat's first push, then every chat's second..."""
    rounds: dict[int, list[Push]] = {}
    for push in pushes:
        rounds.setdefault(push.key.chat_id, []).append(push)
    out: list[Push] = []
    for turn in range(max((len(v) for v in rounds.values()), default=0)):
        out += [queue[turn] for queue in rounds.values() if turn < len(queue)]
    return out


def _hold(outcome: Outcome, key: PushKey, renewed: datetime) -> None:
    outcome.held.append(key)
    free_at = renewed + LEASE + timedelta(seconds=1)
    outcome.retry_at = free_at if outcome.retry_at is None else min(outcome.retry_at, free_at)


async def _renew(app: Host, claimed: set[PushKey]) -> None:
    """Renew this run's open claims every :data:`RENEW_EVERY` seconds until cancelled."""
    sleep = app.services.extras.get("sleep") or asyncio.sleep
    while True:
        await sleep(RENEW_EVERY)
        if claimed:
            try:
                await repos_of(app).pushes.renew(list(claimed), now_of(app))
            except Exception:  # a renewal that failed is tried again; the claims still hold
                log.warning("could not renew %d push claims", len(claimed), exc_info=True)


RETRY_JOB = "delivery.retry"


def _plan_retry(app: Host, outcome: Outcome) -> None:
    """Pushes held by somebody else: run the scheduler again when their claims can be taken
    back (if that somebody is alive and sends them, that run finds them sent)."""
    jobs = app.services.jobs
    if outcome.retry_at is None or jobs is None:
        return
    from bot.services import scheduler  # the scheduler imports this module

    async def again() -> None:
        await scheduler.run_due(app)

    delay = max((outcome.retry_at - now_of(app)).total_seconds(), 1.0)
    jobs.once(RETRY_JOB, delay, again, replace=True)


async def _send(
    app: Host,
    push: Push,
    now: datetime,
    langs: dict[int, str],
    outcome: Outcome,
    claimed: set[PushKey],
) -> None:
    repos = repos_of(app)
    key = push.key
    if key.chat_id in outcome.gone_chats:  # found gone earlier in this burst
        outcome.skipped += 1
        return
    # the claim carries the moment it is made (a long burst's last claims are minutes after
    # the run's ``now``), so that nobody takes it for a dead one
    if not await repos.pushes.claim(key, max(now, now_of(app)), LEASE):
        outcome.skipped += 1
        return
    claimed.add(key)
    try:
        await _attempt(app, push, now, langs, outcome)
    finally:
        claimed.discard(key)


async def _attempt(app: Host, push: Push, now: datetime, langs: dict[int, str], outcome: Outcome) -> None:
    repos = repos_of(app)
    key = push.key
    try:
        text, buttons = push.render(translator(app, langs.get(key.chat_id) if key.chat_id > 0 else None))
        message_id = await channel_of(app).send(key.chat_id, text, keyboard=buttons, photo=push.photo)
    except Unreachable as exc:
        await _gone(repos, key, str(exc), outcome)
    except Moved as exc:
        await repos.chats.migrate(key.chat_id, exc.new_chat_id)
        await repos.pushes.dropped(key, f"migrated to {exc.new_chat_id}")
        outcome.failed.append(key)  # the next run sends it to the new chat id
    except Rejected as exc:
        log.error("push %s refused: %s", key, exc)
        await repos.pushes.dropped(key, str(exc))
        outcome.dropped.append(key)
    except Uncertain as exc:  # a timeout or a lost connection: the channel may have it already
        outcome.uncertain.append(key)
        if await repos.pushes.timed_out(key, str(exc)):
            log.info("push %s timed out, will be retried once: %s", key, exc)
            outcome.failed.append(key)
        else:
            log.warning("push %s timed out twice, not retried again: %s", key, exc)
            outcome.dropped.append(key)
    except Failed as exc:  # flood control after retries, other refusals
        attempts = await repos.pushes.failed(key, str(exc))
        if attempts >= MAX_ATTEMPTS:
            log.warning("push %s given up after %d attempts: %s", key, attempts, exc)
            await repos.pushes.dropped(key, str(exc))
            outcome.dropped.append(key)
        else:
            log.info("push %s failed (attempt %d), will retry: %s", key, attempts, exc)
            outcome.failed.append(key)
    except BaseException as exc:
        await repos.pushes.failed(key, f"{type(exc).__name__}: {exc}")
        raise
    else:
        await repos.pushes.sent(key, message_id, now)
        outcome.sent.append(key)


async def _gone(repos: Repos, key: PushKey, error: str, outcome: Outcome) -> None:
    """The bot cannot post there any more: never retry; a group is marked inactive."""
    first = key.chat_id < 0 and key.chat_id not in outcome.gone_chats
    if first:
        outcome.gone_chats.append(key.chat_id)  # before any await: concurrent sends see it
    await repos.pushes.dropped(key, error)
    outcome.dropped.append(key)
    if first:
        await repos.chats.set_active(key.chat_id, False)
        log.warning("group %s removed or blocked the bot: marked inactive", key.chat_id)


async def _gone_notes(app: Host, chat_ids: Iterable[int], now: datetime) -> list[Push]:
    """Tell whoever bound each lost group, once (one push-log key per group and day)."""
    repos, tz = repos_of(app), zone(app)
    out = []
    for chat_id in chat_ids:
        chat = await repos.chats.get(chat_id)
        if chat is None or chat.bound_by is None:
            continue
        binder = await repos.org.person(chat.bound_by)
        if binder is None or binder.telegram_id is None or not binder.active:
            continue
        unit = await repos.org.unit(chat.unit_id) if chat.unit_id is not None else None
        draw = functools.partial(notices.chat_gone, title=chat.title, unit=unit.name if unit else "")
        day = now.astimezone(tz).date().isoformat()
        out.append(Push(PushKey("chat_gone", chat_id, day, "", binder.telegram_id), draw))
    return out


# -- edits of sent notices ------------------------------------------------------------------
async def refresh_notices(app: Host, event: Event, now: datetime, *, cancelled: bool = False) -> int:
    """Edit the sent notices of the event's coming occurrences to its current details (or to
    cancelled, if the event was deleted/paused or the day is no longer one of its days).
    Returns how many messages were edited."""
    repos, tz = repos_of(app), zone(app)
    t = translator(app)
    rule = Rule.from_dict(event.rule)
    today = now.astimezone(tz).date()
    changes = (await repos.events.arrangements([event.id], today.isoformat(), now)).get(event.id, {})
    edited = 0
    for record in await repos.pushes.messages("event_notice", event.id):
        occ = changes.get(record.key.occurrence)
        day = date.fromisoformat(record.key.occurrence)
        if (day < today and (occ is None or occ.moved_to is None)) or record.message_id is None:
            continue
        was = occurrence_on(rule, day, tz)
        at = occ.moved_to.astimezone(tz) if occ is not None and occ.moved_to is not None else was
        still = not cancelled and rule.is_day(day) and at > now and not (occ is not None and occ.skipped)
        counts = await repos.events.counts(event.id, record.key.occurrence)
        text, buttons = notices.event_notice(
            t,
            event=event,
            at=at,
            zone=tz,
            counts=counts,
            soon=record.key.slot.startswith("m"),
            cancelled=not still,
            occ=occ,
            was=was,
        )
        try:
            await channel_of(app).edit(record.key.chat_id, record.message_id, text, keyboard=buttons)
            edited += 1
        except ChannelError as exc:
            log.info("could not edit notice %s: %s", record.key, exc)
    return edited
