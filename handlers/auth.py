"""Who may use what: the command table and the one permission check every handler uses.

Every command is declared once, as a :class:`Command`: the roles that may use it and where
(private chat, group). ``/help`` and Telegram's command menus are made from the same table,
so they list exactly what a user's role may use, and :func:`requires` refuses everybody else
with a message naming the role needed.

Each role also has its work in order (:data:`TASK_ORDER`: ``/help`` lists a secretary's
``/report`` first, an admin's ``/review``) and its three or four main actions
(:data:`MAIN_ACTIONS`), offered as a persistent reply keyboard (:func:`main_menu`). Reply
keyboard buttons arrive as plain text; :func:`menu_command` is the ONE place that maps such a
text back to its command, through the ``menu.btn.<command>`` labels of every language's
catalog (no string compares anywhere else).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.ext import ConversationHandler

from bot.context import CadreContext
from bot.rules.roster import deep_link

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


_ADMIN_WORK = (
    "review", "reports", "newtask", "tasks", "coverage", "bulletin", "export", "schedule",
    "report", "myreports", "people", "invite", "invites", "import", "stars", "bind", "unbind",
)
# The work of each role in the order it is done; /help and the command menus follow it. Commands
# not named here come after, in the order they were declared.
TASK_ORDER: dict[str | None, tuple[str, ...]] = {
    "secretary": (
        "report", "myreports", "visit", "followups", "tasks", "households", "coverage", "bulletin",
        "people", "invite", "invites", "bind", "unbind",
    ),
    "member": ("visit", "followups", "tasks"),
    "township_admin": _ADMIN_WORK,
    "district_admin": _ADMIN_WORK,
    None: ("start", "help", "me", "lang"),
}
GENERAL_LAST = ("start", "help", "me", "lang", "cancel")  # everyone's commands close the list

# The three or four main actions of each role: the persistent menu under the message box.
MAIN_ACTIONS: dict[str, tuple[str, ...]] = {
    "secretary": ("report", "visit", "tasks", "followups"),
    "member": ("visit", "followups", "tasks"),
    "township_admin": ("review", "newtask", "tasks", "coverage"),
    "district_admin": ("review", "newtask", "tasks", "coverage"),
}
MENU_LABEL = "menu.btn."  # catalog key prefix of the menu's button labels


def _rank(role: str | None) -> Callable[[Command], tuple[int, int]]:
    order = TASK_ORDER.get(role, ())
    declared = list(COMMANDS)

    def rank(cmd: Command) -> tuple[int, int]:
        if cmd.name in order:
            return 0, order.index(cmd.name)
        if cmd.name in GENERAL_LAST:
            return 2, GENERAL_LAST.index(cmd.name)
        return 1, declared.index(cmd.name)

    return rank


def commands_for(role: str | None, *, in_group: bool) -> list[Command]:
    """The commands ``role`` may use here, in the order of the role's work."""
    allowed = [c for c in COMMANDS.values() if c.allowed(role) and (c.group if in_group else c.private)]
    return sorted(allowed, key=_rank(role))


def main_actions(role: str | None) -> tuple[str, ...]:
    return tuple(name for name in MAIN_ACTIONS.get(role or "", ()) if name in COMMANDS)


def main_menu(t: Callable[..., str], role: str | None) -> ReplyKeyboardMarkup | None:
    """The role's main actions as a persistent keyboard, two buttons a row (None: no role)."""
    names = main_actions(role)
    if not names:
        return None
    buttons = [KeyboardButton(t(MENU_LABEL + name)) for name in names]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, is_persistent=True)


_LABELS: dict[int, dict[str, str]] = {}


def menu_labels(catalogs: Any) -> dict[str, str]:
    """Every menu button label, in every language, to its command name (built once)."""
    labels = _LABELS.get(id(catalogs))
    if labels is None:
        labels = {}
        for lang in catalogs.languages:
            for key, text in catalogs.keys(lang).items():
                if key.startswith(MENU_LABEL) and isinstance(text, str) and text.strip():
                    labels[text.strip()] = key[len(MENU_LABEL) :]
        _LABELS[id(catalogs)] = labels
    return labels


def menu_command(text: str | None, catalogs: Any) -> str | None:
    """The command a reply-keyboard button stands for, from the text it sent; None otherwise.

    The one place where button text is read: the labels are the ``menu.btn.<command>`` entries
    of every language's catalog, so a menu shown in English still works after /lang 中文.
    """
    if not text:
        return None
    name = menu_labels(catalogs).get(text.strip())
    return name if name in COMMANDS else None


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
                markup = private_chat_markup(context, cmd.name) if in_group_only_private(cmd, update) else None
                text = context.t("auth.private_only_button", command=cmd.name) if markup else refusal
                await update.effective_message.reply_text(text, reply_markup=markup)
            return ConversationHandler.END

        return wrapper

    return decorate


START_COMMAND = "cmd_"  # /start cmd_<name>: the private chat opened from a group starts /<name>


def in_group_only_private(cmd: Command, update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type != ChatType.PRIVATE and not cmd.group


def private_chat_markup(context: CadreContext, name: str) -> InlineKeyboardMarkup | None:
    """A button that opens the private chat with the bot and starts ``/name`` there (the deep
    link ``https://t.me/<bot>?start=cmd_<name>``); None if the bot's username is unknown."""
    try:
        url = deep_link(context.bot.username or "", START_COMMAND + name)
    except (ValueError, RuntimeError):
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(context.t("auth.btn.open_private", command=name), url=url)]])


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
