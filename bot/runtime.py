"""What every layer above storage shares at run time, with no chat platform in it.

:class:`Services` is built once by the composition root (:func:`bot.app.build_application`)
and reached as ``context.services`` in handlers and as ``host.services`` in the services
(:class:`bot.channel.Host`). The channel and the jobs are the platform's adapters
(:mod:`bot.channel_telegram` for Telegram), set when the application is built.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.i18n import Catalogs
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.channel import Channel, Jobs
    from storage import Repos


@dataclass
class Services:
    """Settings, catalogs, repositories, and the channel's adapters (sending and timed jobs)."""

    settings: Settings
    catalogs: Catalogs
    repos: Repos | None = None
    extras: dict[str, object] = field(default_factory=dict)
    # tasks started outside an update (e.g. handlers.flow.hand_over); kept so that they are not
    # garbage-collected mid-flight and so that tests and the console can wait for them
    background: set[asyncio.Task] = field(default_factory=set)
    channel: Channel | None = None  # sends and edits pushes (bot.channel.Channel)
    jobs: Jobs | None = None  # timed runs of the scheduler; None: no job queue, nothing is timed
