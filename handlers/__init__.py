"""Feature modules, one per conversation or feature, each with ``register(app)``.

The order matters: within a handler group the first matching handler wins, so features come
first and :mod:`handlers.general.commands` (with its catch-all for unexpected input) comes last. Joining
by a typed invite code comes just before it, after every conversation, so that text a user
types inside a conversation is never taken for a code.
A module may also define ``async def on_startup(app)`` (rebuild jobs from the database...).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from telegram.ext import Application

FEATURES = (
    "handlers.oversight.stars",
    "handlers.oversight.export",
    "handlers.oversight.bulletin",
    "handlers.oversight.review",
    "handlers.reports.form",
    "handlers.reports.mine",
    "handlers.reports.admin",
    "handlers.visits.conversation",
    "handlers.visits.followups",
    "handlers.visits.branch",
    "handlers.households.conversation",
    "handlers.visits.coverage",
    "handlers.org.groups",
    "handlers.org.invites",
    "handlers.org.people",
    "handlers.org.roster",
    "handlers.tasks.done",
    "handlers.tasks.listing",
    "handlers.tasks.extend",
    "handlers.tasks.newtask",
    "handlers.schedule.conversation",
    "handlers.schedule.manage",
    "handlers.schedule.rsvp",
    "handlers.schedule.occurrence",
    "handlers.schedule.reason",
    "handlers.org.join",
    "handlers.reports.from_text",
    "handlers.general.commands",
)


def modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in FEATURES]


def register_all(app: Application) -> None:
    features = modules()
    for module in features:
        if hasattr(module, "register_early"):
            module.register_early(app)
    from handlers.flow import register_forms  # every engine form (a module's FORMS), one handler

    register_forms(app, [form for module in features for form in getattr(module, "FORMS", ())])
    for module in features:
        module.register(app)


async def on_startup(app: Application) -> None:
    for module in modules():
        hook = getattr(module, "on_startup", None)
        if hook is not None:
            await hook(app)
