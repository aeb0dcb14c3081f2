"""Pieces the organisation handlers share: who may invite whom, unit paths, the unit picker,
paging, and telling another user something in their own language."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from telegram import BotCommandScopeChat, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application

from bot.context import CadreContext
from bot.i18n import Translator
from bot.rules.ids import parse_page
from handlers.flow import Button, cb, chunk, keyboard
from storage.org import Person, Unit

PAGE = 8

# Role codes used in callback payloads: code -> (role, first secretary)
ROLE_CODES: dict[str, tuple[str, bool]] = {
    "da": ("district_admin", False),
    "ta": ("township_admin", False),
    "s": ("secretary", False),
    "fs": ("secretary", True),
    "m": ("member", False),
}
# Whom each role may invite, by the level of the unit the invitee will belong to.
INVITABLE: dict[str, dict[str, tuple[str, ...]]] = {
    "district_admin": {
        "district": ("da",),
        "township": ("ta",),
        "village": ("s", "fs", "m"),
        "grid": ("m",),
    },
    "township_admin": {"township": ("ta",), "village": ("s", "fs", "m"), "grid": ("m",)},
    "secretary": {"village": ("m",), "grid": ("m",)},
}


def now() -> datetime:
    return datetime.now(UTC)


def invitable(viewer: Person | None, level: str) -> tuple[str, ...]:
    """Role codes ``viewer`` may invite into a unit of ``level`` (inside their own units)."""
    if viewer is None:
        return ()
    return INVITABLE.get(viewer.role, {}).get(level, ())


def role_code(role: str, first_secretary: bool) -> str:
    return next(code for code, value in ROLE_CODES.items() if value == (role, first_secretary))


def role_label(t: Translator, role: str, first_secretary: bool = False) -> str:
    return t("org.first_secretary") if role == "secretary" and first_secretary else t(f"role.{role}")


def person_role(t: Translator, person: Person) -> str:
    return role_label(t, person.role, person.first_secretary)


async def unit_path(context: CadreContext, unit_id: int) -> str:
    return context.t("org.path_sep").join(await context.repos.org.path_names(unit_id))


def local_date(context: CadreContext, moment: datetime) -> str:
    return context.t.short_date(moment.astimezone(context.services.settings.tz).date())


def pager(flow: str, action: str, arg: str, page: int, pages: int, t: Translator) -> list[Button]:
    """◀ / ▶ buttons; ``arg`` and the page number go into the payload as ``arg.page``."""
    row: list[Button] = []
    if page > 0:
        row.append((t("org.prev"), cb(flow, action, f"{arg}.{page - 1}" if arg else page - 1)))
    if page + 1 < pages:
        row.append((t("org.next"), cb(flow, action, f"{arg}.{page + 1}" if arg else page + 1)))
    return row


def split_page(arg: str) -> tuple[str, int]:
    """``"12.3"`` -> ("12", 3); a payload without a page is page 0."""
    head, _, page = arg.rpartition(".")
    if not head:
        return arg, 0
    return head, parse_page(page)


def pages_of(total: int, per_page: int = PAGE) -> int:
    return max(1, (total + per_page - 1) // per_page)


async def unit_picker(
    context: CadreContext,
    *,
    flow: str,
    root: Unit,
    current: Unit,
    page: int,
    selectable: Callable[[Unit], bool],
    intro: str,
    extra: Sequence[Sequence[Button]] = (),
) -> tuple[str, InlineKeyboardMarkup]:
    """A tree walk from ``root``: pick ``current`` itself, or open / pick one of its children.

    Payloads: ``flow:open:<unit>[.page]`` shows a unit's children, ``flow:pick:<unit>`` chooses.
    """
    t, org = context.t, context.repos.org
    children = await org.children(current.id)
    counts = await org.child_counts([c.id for c in children])
    pages = pages_of(len(children))
    page = min(max(page, 0), pages - 1)
    rows: list[list[Button]] = []
    if selectable(current):
        rows.append([(t("org.pick_this", name=current.name), cb(flow, "pick", current.id))])
    buttons: list[Button] = []
    for child in children[page * PAGE : (page + 1) * PAGE]:
        if counts.get(child.id):
            buttons.append((t("org.open_unit", name=child.name), cb(flow, "open", child.id)))
        elif selectable(child):
            buttons.append((child.name, cb(flow, "pick", child.id)))
    rows += chunk(buttons, 2)
    rows.append(pager(flow, "open", str(current.id), page, pages, t))
    nav: list[Button] = []
    if current.id != root.id and current.parent_id is not None:
        nav.append((t("org.up"), cb(flow, "open", current.parent_id)))
    nav.append((t("org.close"), cb(flow, "close")))
    rows += [list(r) for r in extra]
    rows.append(nav)
    text = t("org.picker", intro=intro, path=await unit_path(context, current.id))
    return text, keyboard(rows)


async def tell(app: Application, telegram_id: int | None, key: str, **kwargs: object) -> bool:
    """Send another user a message in their own language; False if they cannot be reached."""
    if telegram_id is None:
        return False
    services = app.services  # type: ignore[attr-defined]
    user = await services.repos.users.get(telegram_id)
    t = services.catalogs.get(user.lang if user else None)
    try:
        await app.bot.send_message(telegram_id, t(key, **kwargs))
    except (Forbidden, BadRequest):
        return False  # they blocked the bot, never started it, or the id is wrong
    return True


async def publish_menu(app: Application, telegram_id: int) -> None:
    """The command menu of someone else's private chat, for their (new) role and language."""
    from handlers.general.commands import menu

    services = app.services  # type: ignore[attr-defined]
    user = await services.repos.users.get(telegram_id)
    t = services.catalogs.get(user.lang if user else None)
    person = await services.repos.org.person_by_telegram(telegram_id)
    commands = menu(t, person.role if person else None, in_group=False)
    # published only when it changed (start-up goes over every admin: a province has ~1,700)
    digest = hashlib.sha1(json.dumps([[c.command, c.description] for c in commands]).encode()).hexdigest()
    if await services.repos.users.menu_digest(telegram_id) == digest:
        return
    try:
        await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(telegram_id))
    except TelegramError:
        return  # a chat the bot cannot see: the default menu stays (tried again next time)
    await services.repos.users.set_menu_digest(telegram_id, digest)
