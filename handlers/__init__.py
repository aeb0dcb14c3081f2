"""Feature modules, one per conversation or feature, each with ``register(app)``.

The order matters: within a handler group the first matching handler wins, so features come
first and :mod:`handlers.common` (with its catch-all for unexpected input) comes last.
A module may also define ``async def on_startup(app)`` (rebuild jobs from the database...).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from telegram.ext import Application

FEATURES = ("handlers.common",)


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
