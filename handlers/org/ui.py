"""Pieces the organisation handlers share: who may invite whom, unit paths, the unit picker,
paging, and telling another user something in their own language."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application

from bot.context import CadreContext
from bot.i18n import Translator
from bot.rules.ids import parse_page
from handlers.flow import Button, cb, chunk, keyboard
from storage.org import Person, Unit

PAGE = 8
log = logging.getLogger(__name__)

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


def menu_and_digest(t: Translator, role: str | None) -> tuple[list[BotCommand], str]:
    """A private chat's command menu for a role, and its digest (published only when it changed)."""
    from handlers.general.commands import menu

    commands = menu(t, role, in_group=False)
    digest = hashlib.sha1(json.dumps([[c.command, c.description] for c in commands]).encode()).hexdigest()
    return commands, digest


async def publish_menu(app: Application, telegram_id: int) -> None:
    """The command menu of someone else's private chat, for their (new) role and language."""
    services = app.services  # type: ignore[attr-defined]
    user = await services.repos.users.get(telegram_id)
    t = services.catalogs.get(user.lang if user else None)
    person = await services.repos.org.person_by_telegram(telegram_id)
    commands, digest = menu_and_digest(t, person.role if person else None)
    # published only when it changed (start-up goes over every admin: a province has ~1,700)
    if await services.repos.users.menu_digest(telegram_id) == digest:
        return
    await _set_menu(app, telegram_id, commands, digest)


async def _set_menu(app: Application, telegram_id: int, commands: list[BotCommand], digest: str) -> None:
    try:
        await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(telegram_id))
    except TelegramError:
        return  # a chat the bot cannot see: the default menu stays (tried again next time)
    await app.services.repos.users.set_menu_digest(telegram_id, digest)  # type: ignore[attr-defined]


MENUS_AT_START = 20  # menus published before the bot is ready; more go on in the background


async def publish_changed_menus(app: Application, roles: tuple[str, ...]) -> asyncio.Task | None:
    """Start-up: the menus of these roles' people that changed since last published (one query
    finds them, whatever the number of admins). Up to :data:`MENUS_AT_START` are published
    now; the rest (a province's ~1,700 after a release that changed the menus, a minute of
    Telegram calls) by a background task, returned, so that the bot is ready meanwhile."""
    services = app.services  # type: ignore[attr-defined]
    menus: dict[tuple[str | None, str], tuple[list[BotCommand], str]] = {}
    changed = []
    for telegram_id, role, lang, published in await services.repos.users.published_menus_of(roles):
        key = (lang, role)
        if key not in menus:
            menus[key] = menu_and_digest(services.catalogs.get(lang), role)
        commands, digest = menus[key]
        if digest != published:
            changed.append((telegram_id, commands, digest))
    for telegram_id, commands, digest in changed[:MENUS_AT_START]:
        await _set_menu(app, telegram_id, commands, digest)
    rest = changed[MENUS_AT_START:]
    if not rest:
        return None

    async def publish_rest() -> None:
        try:
            for telegram_id, commands, digest in rest:
                await _set_menu(app, telegram_id, commands, digest)
        except Exception:  # the bot is stopping (the database closed): the rest wait for the next start
            log.info("admin menus: %d left for the next start", len(rest), exc_info=True)

    task = asyncio.create_task(publish_rest(), name="publish-admin-menus")
    services.extras.setdefault("background", []).append(task)  # cancelled at shutdown
    return task
