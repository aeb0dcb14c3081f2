"""The channel port: what the services need from a chat platform, with no platform in it.

The scheduler and delivery send pushes, edit notices already sent, and plan their own next
runs. They do it through the two small interfaces here, never through python-telegram-bot:
the Telegram adapter (:mod:`bot.channel_telegram`, wired by the composition root) maps them
onto the Bot API and PTB's JobQueue. Another channel (WeCom, where Telegram is blocked) is
one more adapter of these interfaces; nothing in ``bot/services`` changes.

* :class:`Button` / :data:`Keyboard`: an inline keyboard as plain data (a label and either a
  callback payload ``flow:action:id`` or a link).
* :class:`Channel`: ``send`` a text (or a photo with a caption) and ``edit`` a sent text. What
  the platform refuses comes back as one of the :class:`ChannelError` kinds below, which say
  what delivery should do, not which platform said it.
* :class:`Jobs`: run a callback once at a moment or every few seconds, by name.
* :class:`Host`: what the services are handed: the shared :class:`bot.runtime.Services`
  (settings, catalogs, repositories, the channel, the jobs). python-telegram-bot's
  Application is one (the composition root sets ``services`` on it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.runtime import Services


@dataclass(frozen=True)
class Button:
    """One inline button: a callback payload (``data``) or a link (``url``)."""

    label: str
    data: str | None = None
    url: str | None = None


Keyboard = tuple[tuple[Button, ...], ...]


def keyboard(rows: Iterable[Sequence[tuple[str, str]]]) -> Keyboard:
    """Rows of (label, payload) as a :data:`Keyboard` (empty rows left out)."""
    return tuple(tuple(Button(label, data) for label, data in row) for row in rows if row)


# -- what a channel may answer instead of "sent" --------------------------------------------
class ChannelError(Exception):
    """A send or an edit the channel did not complete; ``str()`` is the platform's own words."""


class Unreachable(ChannelError):
    """The bot may no longer post in that chat (blocked, removed, the chat is gone): never retry."""


class Moved(ChannelError):
    """The chat has a new id (a group became a supergroup): retry there."""

    def __init__(self, message: str, new_chat_id: int) -> None:
        super().__init__(message)
        self.new_chat_id = new_chat_id


class Rejected(ChannelError):
    """This message is refused as it is (a malformed request): never retry it."""


class Uncertain(ChannelError):
    """Timed out or the connection was lost: the message may have arrived."""


class Failed(ChannelError):
    """Not sent this time (flood control after retries, a server error): try again later."""


class Channel(Protocol):
    async def send(self, chat_id: int, text: str, *, keyboard: Keyboard | None = None,
                   photo: str | bytes | None = None) -> int:
        """Send ``text`` (the caption, with ``photo``: a file id or PNG bytes); the message's id."""
        ...

    async def edit(self, chat_id: int, message_id: int, text: str, *, keyboard: Keyboard | None = None) -> None:
        """Replace a sent message's text and keyboard."""
        ...


Job = Callable[[], Awaitable[object]]


class Jobs(Protocol):
    def once(self, name: str, when: float | datetime, run: Job, *, replace: bool = False) -> None:
        """Run ``run`` once, ``when`` seconds from now or at a moment (``replace``: the
        jobs of that name planned before are dropped)."""
        ...

    def every(self, name: str, seconds: float, first: float, run: Job) -> None:
        """Run ``run`` every ``seconds``, first after ``first`` (replacing jobs of that name)."""
        ...

    def cancel(self, name: str) -> None:
        """Drop the planned runs of that name."""
        ...


class Host(Protocol):
    """What the services are handed: an object carrying the shared services."""

    services: Services
