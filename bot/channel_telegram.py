"""The Telegram adapter of the channel port (:mod:`bot.channel`).

The services send, edit and plan runs through :class:`TelegramChannel` and :class:`PTBJobs`;
this is the only place that knows how the Bot API says "blocked", "moved" or "timed out", and
how PTB's JobQueue names and runs a job. The composition root sets both on the shared
services when it builds the application; handlers that show a service's keyboard themselves
turn it into Telegram's with :func:`markup`.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, TelegramError
from telegram.ext import Application, CallbackContext, JobQueue

from bot.channel import Failed, Job, Keyboard, Moved, Rejected, Uncertain, Unreachable

# Parts of Telegram's error descriptions meaning the bot cannot post in that chat any more.
GONE_ERRORS = (
    "chat not found",
    "bot was kicked",
    "bot is not a member",
    "not enough rights",
    "have no rights",
    "chat_write_forbidden",
    "group chat was deactivated",
    "chat was deleted",
)


def markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """A channel keyboard as Telegram's inline keyboard (None stays None)."""
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, url=b.url) if b.url else InlineKeyboardButton(b.label, callback_data=b.data)
          for b in row] for row in keyboard]
    )


def _described(exc: TelegramError) -> str:
    return f"{type(exc).__name__}: {exc}"


class TelegramChannel:
    """Sends and edits through the application's bot (its rate limiter included)."""

    def __init__(self, app: Application) -> None:
        self._app = app

    async def send(self, chat_id: int, text: str, *, keyboard: Keyboard | None = None,
                   photo: str | bytes | None = None) -> int:
        bot = self._app.bot
        try:
            if photo:
                message = await bot.send_photo(chat_id, photo, caption=text, reply_markup=markup(keyboard))
            else:
                message = await bot.send_message(chat_id, text, reply_markup=markup(keyboard))
        except Exception as exc:
            raise _translated(exc) from exc
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, text: str, *, keyboard: Keyboard | None = None) -> None:
        try:
            await self._app.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=markup(keyboard)
            )
        except Exception as exc:
            raise _translated(exc) from exc


def _translated(exc: Exception) -> Exception:
    """The Bot API's refusal as the port's error kind; anything else unchanged."""
    if isinstance(exc, Forbidden):
        return Unreachable(str(exc))
    if isinstance(exc, ChatMigrated):
        return Moved(str(exc), exc.new_chat_id)
    if isinstance(exc, BadRequest):
        if any(part in str(exc).lower() for part in GONE_ERRORS):
            return Unreachable(str(exc))
        return Rejected(str(exc))
    if isinstance(exc, NetworkError):  # a timeout or a lost connection: Telegram may have it already
        return Uncertain(_described(exc))
    if isinstance(exc, TelegramError):  # flood control after retries, other refusals
        return Failed(_described(exc))
    return exc


async def _run_job(run: Job, context: CallbackContext) -> None:
    await run()


class PTBJobs:
    """Named runs on python-telegram-bot's JobQueue (APScheduler underneath)."""

    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue

    def cancel(self, name: str) -> None:
        for job in self._queue.get_jobs_by_name(name):
            job.schedule_removal()

    def once(self, name: str, when: float | datetime, run: Job, *, replace: bool = False) -> None:
        if replace:
            self.cancel(name)
        self._queue.run_once(functools.partial(_run_job, run), when, name=name)

    def every(self, name: str, seconds: float, first: float, run: Job) -> None:
        self.cancel(name)
        self._queue.run_repeating(functools.partial(_run_job, run), seconds, first=first, name=name)


def attach(app: Any) -> None:
    """Give the application's shared services their Telegram adapters."""
    services = app.services
    services.channel = TelegramChannel(app)
    services.jobs = PTBJobs(app.job_queue) if app.job_queue is not None else None
