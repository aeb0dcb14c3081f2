"""Who may use what: the command table and the one permission check every handler uses.

Every command is declared once, as a :class:`Command`: the roles that may use it and where
(private chat, group). ``/help`` and Telegram's command menus are made from the same table,
so they list exactly what a user's role may use, and :func:`requires` refuses everybody else
with a message naming the role needed.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ConversationHandler

from bot.context import CadreContext

ADMINS = frozenset({"district_admin", "township_admin"})
SECRETARIES = frozenset({"secretary"})
LEADERS = ADMINS | SECRETARIES
MEMBERS = frozenset({"member", "secretary"})
JOINED = ADMINS | SECRETARIES | frozenset({"member"})
EVERYONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Command:
    name: str
    roles: frozenset[str] = EVERYONE  # empty: anybody, even someone the bot does not know
    private: bool = True
    group: bool = False

    @property
    def help_key(self) -> str:
        return f"cmd.{self.name}"

    def allowed(self, role: str | None) -> bool:
        return not self.roles or role in self.roles


COMMANDS: dict[str, Command] = {}


def command(name: str, roles: frozenset[str] = EVERYONE, *, private: bool = True, group: bool = False) -> Command:
    """Declare a command (once, at import of its handler module)."""
    cmd = Command(name, roles, private, group)
    COMMANDS[name] = cmd
    return cmd


def commands_for(role: str | None, *, in_group: bool) -> list[Command]:
    return [
        c
        for c in COMMANDS.values()
        if c.allowed(role) and (c.group if in_group else c.private)
    ]


Callback = Callable[[Update, CadreContext], Awaitable[Any]]


def requires(cmd: Command) -> Callable[[Callback], Callback]:
    """Refuse the update unless the user's role may use ``cmd`` here; say what is needed."""

    def decorate(func: Callback) -> Callback:
        @functools.wraps(func)
        async def wrapper(update: Update, context: CadreContext) -> Any:
            refusal = refusal_for(cmd, update, context)
            if refusal is None:
                return await func(update, context)
            if update.callback_query is not None:
                await update.callback_query.answer(refusal, show_alert=True)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(refusal)
            return ConversationHandler.END

        return wrapper

    return decorate


def refusal_for(cmd: Command, update: Update, context: CadreContext) -> str | None:
    t = context.t
    chat = update.effective_chat
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    if in_group and not cmd.group:
        return t("auth.private_only", command=cmd.name)
    if not in_group and not cmd.private:
        return t("auth.group_only", command=cmd.name)
    person = context.person
    if cmd.allowed(person.role if person else None):
        return None
    if person is None:
        return t("auth.not_joined")
    needed = t("list.sep").join(t(f"role.{r}") for r in sorted(cmd.roles))
    return t("auth.needs_role", command=cmd.name, roles=needed)
