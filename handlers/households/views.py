"""What /households shows a village secretary: the overview, lists, a household's card, the
member picker. Every screen is drawn from the database alone, for the secretary's own village.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Update

from bot.context import CadreContext
from bot.i18n import Translator
from bot.rules.ids import id_or_zero, parse_id, parse_page
from handlers.auth import SECRETARIES, command
from handlers.flow import Button, ask, cb, hint, keyboard
from handlers.visits.common import FEW_HOUSEHOLDS, MANY_HOUSEHOLDS, paged, reference_now, village_of
from storage.visits import Household, HouseholdStatus, Member

HOUSEHOLDS = command("households", SECRETARIES)
FLOW = "hh"
ADD_FLOW, EDIT_FLOW = "hhadd", "hhedit"  # the engine forms of handlers.households.edit
FIND_FLOW = "hhfind"  # the engine form of the overview: typed text finds households
OVERVIEW = f"{FIND_FLOW}:start:"  # 回到总览 on every screen: (re)opens the overview form
FIND = f"{FIND_FLOW}:start:find"  # 查找: the same form, asking for the words to look for
MENU = "menu"
MAX_GRIDS = 12


async def my_village(context: CadreContext) -> int | None:
    if context.person is None:  # behind @requires
        raise RuntimeError("no person here: this runs behind @requires")
    return await village_of(context, context.person)


async def own_household(update: Update, context: CadreContext, household_id: int) -> Household | None:
    """The household if it belongs to the secretary's village; otherwise refuse and None."""
    household = await context.repos.households.get(household_id)
    if household is None or household.village_id != await my_village(context):
        await hint(update, context, "hh.not_yours")
        return None
    return household


async def own_member(update: Update, context: CadreContext, member_id: int) -> Member | None:
    member = await context.repos.households.member(member_id)
    if member is None or member.village_id != await my_village(context):
        await hint(update, context, "hh.member_not_here")
        return None
    return member


def item_label(t: Translator, household: Household) -> str:
    if household.address:
        return t("hh.item", head=household.head, address=household.address)
    return t("hh.item_bare", head=household.head)


def member_line(t: Translator, key: str, name: str, count: int) -> str:
    """The overview line (``hh.overview``) or button (``hh.member``) for a member's count."""
    if count < FEW_HOUSEHOLDS:
        return t(f"{key}_few", name=name, count=count, few=FEW_HOUSEHOLDS)
    if count > MANY_HOUSEHOLDS:
        return t(f"{key}_many", name=name, count=count, many=MANY_HOUSEHOLDS)
    return t(key, name=name, count=count)


def holders(members: list[Member], counts: dict[int | None, int]) -> list[Member]:
    """Members who should hold households: every party member, the secretary if they do."""
    return [m for m in members if m.role == "member" or counts.get(m.id)]


async def menu_screen(context: CadreContext) -> tuple[str, list[list[Button]]] | None:
    """The overview: how many households each member holds, and the buttons (None: no village)."""
    t = context.t
    village = await my_village(context)
    unit = await context.repos.org.unit(village) if village else None
    if unit is None:
        return None
    repo = context.repos.households
    counts = await repo.counts(unit.id)
    lines = [
        t("hh.overview", village=unit.name, total=sum(counts.values()), archived=await repo.archived_count(unit.id))
    ]
    for member in holders(await repo.members(unit.id), counts):
        held = counts.get(member.id, 0)
        if member.role == "member":
            lines.append(member_line(t, "hh.overview.member", member.name, held))
        else:
            lines.append(t("hh.overview.member", name=member.name, count=held))
    if counts.get(None):
        lines.append(t("hh.overview.unlinked", count=counts[None]))
    lines.append(t("hh.overview.hint"))
    rows = [
        [(t("hh.btn.add"), cb(ADD_FLOW, "start")), (t("hh.btn.find"), FIND)],
        [(t("hh.btn.by_member"), cb(FLOW, "members")), (t("hh.btn.unlinked"), cb(FLOW, "list", "u.0"))],
        [(t("hh.btn.archived"), cb(FLOW, "list", "a.0"))],
    ]
    return "\n".join(lines), rows


async def show_menu(update: Update, context: CadreContext, *, edit: bool = True) -> str:
    """The overview drawn by a button outside the overview form (with its own 完成)."""
    t = context.t
    screen = await menu_screen(context)
    if screen is None:
        await ask(update, context, t("hh.no_village"), edit=edit)
        return MENU
    text, rows = screen
    rows.append([(t("hh.btn.done"), cb(FLOW, "done"))])
    await ask(update, context, text, keyboard(rows), edit=edit)
    return MENU


async def member_options(context: CadreContext) -> list[tuple[int, str]]:
    """(member id, "李党员(4户)" with the 5-to-10 warning) for the village's members."""
    t = context.t
    village = await my_village(context)
    repo = context.repos.households
    counts = await repo.counts(village) if village else {}
    members = await repo.members(village) if village else []
    out = []
    for m in members:
        held = counts.get(m.id, 0)
        # the secretary holds households only by choice: no 5-to-10 warning for them
        label = t("hh.member", name=m.name, count=held) if m.role == "secretary" else member_line(t, "hh.member", m.name, held)
        out.append((m.id, label))
    return out


async def member_buttons(context: CadreContext, action: str, prefix: str = "") -> list[Button]:
    return [(label, cb(FLOW, action, f"{prefix}{mid}")) for mid, label in await member_options(context)]


async def show_members(update: Update, context: CadreContext) -> str:
    t = context.t
    buttons = await member_buttons(context, "list", "m")
    rows = [[b] for b in buttons]
    rows.append([(t("hh.btn.menu"), OVERVIEW)])
    await ask(update, context, t("hh.ask.member_list") if buttons else t("hh.no_members"), keyboard(rows))
    return MENU


async def show_list(update: Update, context: CadreContext, draft: dict[str, Any], spec: str) -> str:
    """``spec`` is ``<kind>.<page>``: m<member id>, u (nobody holds them), a (archived), q (search)."""
    t = context.t
    kind, _, page_text = spec.partition(".")
    page = parse_page(page_text)
    village = await my_village(context)
    repo = context.repos.households
    if kind == "q":
        text, rows = await found_screen(context, str(draft.get("query") or ""), page)
        await ask(update, context, text, keyboard(rows))
        return MENU
    statuses: list[HouseholdStatus] = []
    title = t("hh.list.unlinked")
    if village is None:
        pass
    elif kind.startswith("m") and parse_id(kind[1:]) is not None:
        member = await own_member(update, context, id_or_zero(kind[1:]))
        if member is None:
            return MENU
        statuses = await repo.in_village(village, member_id=member.id)
        title = member_line(t, "hh.list.member", member.name, len(statuses))
    elif kind == "a":
        statuses, title = await repo.in_village(village, archived=True), t("hh.list.archived")
    else:
        statuses = await repo.in_village(village, unlinked=True)
    if not statuses:
        title += "\n" + t("hh.list.empty")
    await ask(update, context, title, keyboard(list_rows(t, statuses, kind, page)))
    return MENU


def list_rows(t: Translator, statuses: list[HouseholdStatus], kind: str, page: int) -> list[list[Button]]:
    buttons = [(item_label(t, s.household), cb(FLOW, "card", s.household.id)) for s in statuses]
    rows, _ = paged(buttons, page, FLOW, t, action="list", prefix=f"{kind}.")
    rows.append([(t("hh.btn.menu"), OVERVIEW)])
    return rows


async def found_screen(context: CadreContext, query: str, page: int = 0) -> tuple[str, list[list[Button]]]:
    """The households whose head, address, grid or phone contain ``query``, in the own village."""
    t = context.t
    village = await my_village(context)
    statuses = await context.repos.households.search(village, query) if query and village else []
    title = t("hh.list.found", query=query, count=len(statuses)) if statuses else t("hh.list.not_found", query=query)
    return title, list_rows(t, statuses, "q", page)


async def card_text(context: CadreContext, status: HouseholdStatus, today: date) -> str:
    t = context.t
    household = status.household
    holder = await context.repos.households.member(household.member_id) if household.member_id else None
    days = status.days_unvisited(today)
    if status.last_visit is None:
        last = t("hh.card.never")
    else:
        last = t("hh.card.last", date=t.date(status.last_visit), days=days)
    text = t(
        "hh.card",
        head=household.head,
        address=household.address or "-",
        grid=household.grid or "-",
        phone=household.phone or "-",
        member=holder.name if holder else t("hh.card.nobody"),
        last=last,
        followups=status.open_followups,
    )
    if household.archived:
        text = t("hh.card.archived") + "\n" + text
    return text


async def show_card(
    update: Update, context: CadreContext, draft: dict[str, Any], household_id: int, *, notice: str = "", edit: bool = True
) -> str:
    screen = await card_screen(context, household_id, reference_now(update, context, draft).date(), notice=notice)
    if screen is None:
        return await show_menu(update, context, edit=edit)
    await ask(update, context, screen[0], keyboard(screen[1]), edit=edit)
    return MENU


async def card_screen(
    context: CadreContext, household_id: int, today: date, *, notice: str = ""
) -> tuple[str, list[list[Button]]] | None:
    """A household's card: its text and buttons (also shown by the engine forms' saves)."""
    t = context.t
    status = await context.repos.households.status(household_id)
    if status is None:
        return None
    hid = status.household.id

    def edit(key: str, field: str) -> Button:
        return (t(key), cb(EDIT_FLOW, "start", f"{field}.{hid}"))

    rows = [
        [edit("hh.btn.edit_head", "head"), edit("hh.btn.edit_address", "address")],
        [edit("hh.btn.edit_grid", "grid"), edit("hh.btn.edit_phone", "phone")],
    ]
    if status.household.archived:
        rows.append([(t("hh.btn.restore"), cb(FLOW, "restore", hid))])
    else:
        rows.append([(t("hh.btn.link"), cb(FLOW, "link", hid)), (t("hh.btn.archive"), cb(FLOW, "arch", hid))])
    rows.append([(t("hh.btn.menu"), OVERVIEW)])
    text = await card_text(context, status, today)
    return (f"{notice}\n\n{text}" if notice else text), rows
