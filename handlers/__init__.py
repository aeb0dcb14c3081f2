"""Feature modules, one per conversation or feature, each with ``register(app)``.

The order matters: within a handler group the first matching handler wins, so features come
first and :mod:`handlers.common` (with its catch-all for unexpected input) comes last. Joining
by a typed invite code comes just before it, after every conversation, so that text a user
types inside a conversation is never taken for a code.
A module may also define ``async def on_startup(app)`` (rebuild jobs from the database...).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from telegram.ext import Application

FEATURES = (
    "handlers.stars",
    "handlers.export",
    "handlers.bulletin",
    "handlers.review",
    "handlers.reports",
    "handlers.myreports",
    "handlers.admin_reports",
    "handlers.visits",
    "handlers.followups",
    "handlers.households",
    "handlers.coverage",
    "handlers.groups",
    "handlers.invites",
    "handlers.people",
    "handlers.roster",
    "handlers.tasks_done",
    "handlers.tasks_list",
    "handlers.tasks_extend",
    "handlers.tasks",
    "handlers.schedule",
    "handlers.schedule_manage",
    "handlers.schedule_rsvp",
    "handlers.join",
    "handlers.common",
)


def modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in FEATURES]


def register_all(app: Application) -> None:
    features = modules()
    for module in features:
        if hasattr(module, "register_early"):
            module.register_early(app)
    for module in features:
        module.register(app)


async def on_startup(app: Application) -> None:
    for module in modules():
        hook = getattr(module, "on_startup", None)
        if hook is not None:
            await hook(app)
