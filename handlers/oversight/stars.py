"""/stars: admins set villages' star levels (五星支部, 1-5) and record 先进带后进 help pairs.

分项评星 rates a village on the five areas of the seeds (bot.rules.stars: 基层党建, 集体经济,
产业发展, 美丽村庄, 基层治理), each change with its date and basis and kept in a history. Once
all five are rated the overall star follows from them (the number of areas met) and the review
screen shows the overall star before and after; while an area is still 还没评 the overall star
stays as it is, and the review and the saved note say so ("其余4项还没评,总星级暂不变").
设置星级 still sets the overall star directly (for a village not rated per area yet, e.g. from a
roster's 星级 column); an area rating re-derives it only once all five are rated.

Every screen is a button menu whose state travels in the callback payloads (``stars:...``),
so there is no draft to lose: each screen has 返回, and nothing is stored before a review
screen's 确认. Forged payloads are harmless: every village is checked against the admin's
own unit on every press. A pair that does not fit the rule of the seeds (five-star helps
two-star, four-star helps three-star) gets a warning on the review screen, never a refusal.
"""

from __future__ import annotations

from datetime import date, datetime

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import CadreContext
from bot.i18n import Translator
from bot.rules import stars as stars_rules
from bot.rules.bulletin import helper_shortfall, pair_problems
from bot.rules.ids import parse_numbers
from bot.services.scheduler import now_of
from handlers.auth import ADMINS, command, requires
from handlers.flow import Button, answer, ask, cb, chunk, keyboard, parse_cb
from storage.oversight import AreaRating, HelpPair, Village

STARS = command("stars", ADMINS)
FLOW = "stars"
PAGE = 24


def star_label(t: Translator, stars: int | None) -> str:
    return t(f"stars.level.{stars}") if stars else t("stars.level.none")


def village_label(t: Translator, v: Village) -> str:
    return t("stars.village", name=v.name, level=star_label(t, v.stars))


def moment(update: Update, context: CadreContext) -> datetime:
    """Now, local: a message's own date; for a button press the clock (``bot.services.scheduler.now_of``)."""
    tz = context.services.settings.tz
    if update.callback_query is None and update.effective_message is not None:
        return update.effective_message.date.astimezone(tz)
    return now_of(context.application).astimezone(tz)


def local_today(update: Update, context: CadreContext) -> date:
    return moment(update, context).date()


async def scope(context: CadreContext) -> dict[int, Village]:
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    return {v.id: v for v in await context.repos.oversight.villages(person.unit_id)}


# -- the overview ------------------------------------------------------------------------------
async def overview(context: CadreContext) -> tuple[str, list[list[Button]]]:
    t = context.t
    villages = list((await scope(context)).values())
    if not villages:
        return t("stars.no_villages"), []
    lines = [t("stars.title")]
    levels = [5, 4, 3, 2, 1, None]
    for level in levels:
        names = [v.name for v in villages if v.stars == level]
        if names:
            lines.append(t("stars.line", level=star_label(t, level), count=len(names),
                           names=t("list.sep").join(names)))
    pairs = await context.repos.oversight.pairs(context.person.unit_id)  # type: ignore[union-attr]
    lines.append("")
    lines.append(t("stars.pairs_title") if pairs else t("stars.no_pairs"))
    for p in pairs:
        lines.append(pair_line(t, p))
    lines.extend(shortfalls(t, villages, pairs))
    rows = [
        [(t("stars.btn.areas"), cb(FLOW, "areas"))],
        [(t("stars.btn.set"), cb(FLOW, "set"))],
        [(t("stars.btn.pair"), cb(FLOW, "pair"))],
    ]
    if pairs:
        rows.append([(t("stars.btn.end"), cb(FLOW, "ends"))])
    rows.append([(t("stars.btn.close"), cb(FLOW, "close"))])
    return "\n".join(lines), rows


def pair_line(t: Translator, p: HelpPair) -> str:
    return t(
        "stars.pair_line", helper=village_label(t, p.helper), helped=village_label(t, p.helped),
        since=t.short_date(p.since),
    )


def shortfalls(t: Translator, villages: list[Village], pairs: list[HelpPair]) -> list[str]:
    """Five-star villages helping fewer than two two-star villages (a reminder, not a blame)."""
    out = []
    for v in villages:
        helped = [p.helped.stars for p in pairs if p.helper.id == v.id]
        missing = helper_shortfall(v.stars, helped)
        if missing and v.stars == 5:
            out.append(t("stars.shortfall_five", name=v.name, count=missing))
    return out


async def stars_command(update: Update, context: CadreContext) -> None:
    text, rows = await overview(context)
    await update.effective_message.reply_text(text, reply_markup=keyboard(rows) if rows else None)


# -- choosing villages -------------------------------------------------------------------------
def village_buttons(
    t: Translator, villages: list[Village], action: str, paging: str, extra: str, page: int, back: str
) -> list[list[Button]]:
    """A page of village buttons; a press sends ``stars:<action>:<extra><village id>``, the
    page buttons ``stars:<paging>:<extra><page>``."""
    shown = villages[page * PAGE : (page + 1) * PAGE]
    rows = chunk([(village_label(t, v), cb(FLOW, action, f"{extra}{v.id}")) for v in shown], 2)
    nav = []
    if page > 0:
        nav.append((t("stars.btn.prev"), cb(FLOW, paging, f"{extra}{page - 1}")))
    if (page + 1) * PAGE < len(villages):
        nav.append((t("stars.btn.next"), cb(FLOW, paging, f"{extra}{page + 1}")))
    return [*rows, nav, [(t("stars.btn.back"), back)]]


def ints(arg: str) -> list[int]:
    parts = ".".join(x for x in arg.split(".") if x != "")
    return (parse_numbers(parts) or []) if parts else []


@requires(STARS)
async def pressed(update: Update, context: CadreContext) -> None:
    """Every ``stars:`` button: route on the action; check each village against the scope."""
    t = context.t
    _, action, arg = parse_cb(update.callback_query.data)
    if action == "close":
        await answer(update)
        await update.callback_query.edit_message_reply_markup(None)
        return
    villages = await scope(context)
    numbers = ints(arg)
    needed = len(village_ids(action, [0, 0]))  # how many village ids the action carries
    if len(numbers) < needed or any(n not in villages for n in village_ids(action, numbers)):
        await update.callback_query.answer(t("stars.not_yours"), show_alert=True)
        return
    await answer(update)
    text, rows = await screen(update, context, action, numbers, villages)
    await ask(update, context, text, keyboard(rows))


def village_ids(action: str, numbers: list[int]) -> list[int]:
    """Which of the payload's numbers are village ids (the others are pages, levels, pairs)."""
    return {
        "lvl": numbers[:1], "ok": numbers[:1], "save": numbers[:1],
        "helped": numbers[:1], "helpedp": numbers[:1], "review": numbers[:2],
        "pairsave": numbers[:2],
        "av": numbers[:1], "aa": numbers[:1], "am": numbers[:1], "ab": numbers[:1], "ak": numbers[:1],
        "ah": numbers[:1],
    }.get(action, [])


async def screen(
    update: Update, context: CadreContext, action: str, n: list[int], villages: dict[int, Village]
) -> tuple[str, list[list[Button]]]:
    t = context.t
    repo = context.repos.oversight
    person = context.person
    if person is None:
        raise RuntimeError("no person here: this runs behind @requires")
    ordered = sorted(villages.values(), key=lambda v: (v.township_name, v.name))
    home = cb(FLOW, "home")
    if action == "home":
        return await overview(context)
    if action in ("set", "setp"):
        page = n[0] if n else 0
        return t("stars.pick_village"), village_buttons(t, ordered, "lvl", "setp", "", page, home)
    if action == "lvl":
        v = villages[n[0]]
        buttons = [(star_label(t, s), cb(FLOW, "ok", f"{v.id}.{s}")) for s in range(5, 0, -1)]
        rows = [*chunk(buttons, 3), [(t("stars.level.none"), cb(FLOW, "ok", f"{v.id}.0"))]]
        return t("stars.pick_level", name=v.name, level=star_label(t, v.stars)), [*rows, [(t("stars.btn.back"), cb(FLOW, "set"))]]
    if action == "ok" and len(n) == 2 and 0 <= n[1] <= 5:
        v = villages[n[0]]
        text = t("stars.confirm_level", name=v.name, old=star_label(t, v.stars), new=star_label(t, n[1] or None))
        return text, [[(t("stars.btn.confirm"), cb(FLOW, "save", f"{v.id}.{n[1]}")),
                       (t("stars.btn.back"), cb(FLOW, "lvl", v.id))]]
    if action == "save" and len(n) == 2 and 0 <= n[1] <= 5:
        v = villages[n[0]]
        await repo.set_stars(v.id, n[1] or None, by=person.id, at=moment(update, context))
        note = t("stars.level_saved", name=v.name, level=star_label(t, n[1] or None))
        text, rows = await overview(context)
        return note + "\n\n" + text, rows
    if action in ("areas", "areasp"):
        page = n[0] if n else 0
        return t("stars.areas_pick_village"), village_buttons(t, ordered, "av", "areasp", "", page, home)
    if action in AREA_ACTIONS:
        return await area_screen(update, context, action, n, villages[n[0]])
    if action in ("pair", "pairp"):
        page = n[0] if n else 0
        return t("stars.pick_helper"), village_buttons(t, ordered, "helped", "pairp", "", page, home)
    if action in ("helped", "helpedp"):
        helper = villages[n[0]]
        page = n[1] if action == "helpedp" and len(n) > 1 else 0
        others = [v for v in ordered if v.id != helper.id]
        rows = village_buttons(t, others, "review", "helpedp", f"{helper.id}.", page, cb(FLOW, "pair"))
        return t("stars.pick_helped", helper=village_label(t, helper)), rows
    if action == "review" and len(n) == 2:
        return await pair_review(update, context, villages[n[0]], villages[n[1]])
    if action == "pairsave" and len(n) == 2:
        helper, helped = villages[n[0]], villages[n[1]]
        pair, created = await repo.add_pair(helper.id, helped.id, since=local_today(update, context), by=person.id)
        key = "stars.pair_saved" if created else "stars.pair_exists"
        text, rows = await overview(context)
        return t(key, pair=pair_line(t, pair)) + "\n\n" + text, rows
    if action == "ends":
        pairs = await repo.pairs(person.unit_id)
        buttons = [[(t("stars.pair_button", helper=p.helper.name, helped=p.helped.name), cb(FLOW, "end", p.id))] for p in pairs]
        return t("stars.pick_end"), [*buttons, [(t("stars.btn.back"), home)]]
    if action in ("end", "endok") and n:
        pair = await repo.pair(n[0])
        if pair is None or pair.ended is not None or (pair.helper.id not in villages and pair.helped.id not in villages):
            text, rows = await overview(context)
            return t("stars.pair_gone") + "\n\n" + text, rows
        if action == "end":
            return t("stars.confirm_end", pair=pair_line(t, pair)), [
                [(t("stars.btn.confirm_end"), cb(FLOW, "endok", pair.id)), (t("stars.btn.back"), cb(FLOW, "ends"))]
            ]
        await repo.end_pair(pair.id, on=local_today(update, context), by=person.id)
        text, rows = await overview(context)
        return t("stars.pair_ended", pair=pair_line(t, pair)) + "\n\n" + text, rows
    return await overview(context)


# -- star ratings per area (五星支部: the overall star is the number of areas met) ---------------
AREA_ACTIONS = ("av", "aa", "am", "ab", "ak", "ah")


def area_state(t: Translator, rating: AreaRating | None) -> str:
    if rating is None:
        return t("stars.area_state_none")
    return t("stars.area_state_met" if rating.met else "stars.area_state_unmet")


def area_line(t: Translator, area: str, rating: AreaRating | None) -> str:
    label = t(f"stars.area.{area}")
    if rating is None:
        return t("stars.area_line_none", area=label)
    key = "stars.area_line_met" if rating.met else "stars.area_line_unmet"
    return t(key, area=label, since=t.short_date(rating.since), basis=t(f"stars.basis.{rating.basis}"))


async def area_screen(
    update: Update, context: CadreContext, action: str, n: list[int], v: Village
) -> tuple[str, list[list[Button]]]:
    """A village's five areas, and the steps of changing one: area → 达标/未达标 → basis →
    review (with the overall star before and after) → 确认. The payload carries the village,
    the area's and the basis's index in bot.rules.stars.AREAS / BASES, and 1/0 for met."""
    t = context.t
    repo = context.repos.oversight
    ratings = await repo.area_ratings(v.id)
    area = stars_rules.AREAS[n[1]] if len(n) > 1 and 0 <= n[1] < len(stars_rules.AREAS) else None
    met = bool(n[2]) if len(n) > 2 and n[2] in (0, 1) else None
    basis = stars_rules.BASES[n[3]] if len(n) > 3 and 0 <= n[3] < len(stars_rules.BASES) else None
    back = cb(FLOW, "av", v.id)
    if action == "aa" and area is not None:
        i = n[1]
        text = t("stars.area_pick_met", name=v.name, area=t(f"stars.area.{area}"), current=area_state(t, ratings.get(area)))
        return text, [[(t("stars.btn.area_met"), cb(FLOW, "am", f"{v.id}.{i}.1")),
                       (t("stars.btn.area_unmet"), cb(FLOW, "am", f"{v.id}.{i}.0"))],
                      [(t("stars.btn.back"), back)]]
    if action == "am" and area is not None and met is not None:
        buttons = [(t(f"stars.basis.{b}"), cb(FLOW, "ab", f"{v.id}.{n[1]}.{int(met)}.{j}"))
                   for j, b in enumerate(stars_rules.BASES)]
        return t("stars.area_pick_basis", name=v.name, area=t(f"stars.area.{area}")), [
            *chunk(buttons, 2), [(t("stars.btn.back"), cb(FLOW, "aa", f"{v.id}.{n[1]}"))]]
    if action in ("ab", "ak") and area is not None and met is not None and basis is not None:
        since = local_today(update, context)
        new_met = {a: r.met for a, r in ratings.items()} | {area: met}
        new_level = stars_rules.overall_stars(new_met, v.stars)
        unrated = len(stars_rules.unrated_areas(new_met))  # while > 0 the overall star stays
        if action == "ab":  # the review: nothing is stored before 确认
            same = area in ratings and ratings[area].met == met  # re-rated on a new basis
            key = "stars.area_review_again" if same else "stars.area_review"
            pending_key = "stars.area_review_again_pending" if same else "stars.area_review_pending"
            fields = dict(name=v.name, area=t(f"stars.area.{area}"), old=area_state(t, ratings.get(area)),
                          new=t("stars.area_state_met" if met else "stars.area_state_unmet"),
                          basis=t(f"stars.basis.{basis}"), since=t.date(since))
            if unrated:
                text = t.n(pending_key, unrated, level=star_label(t, v.stars), **fields)
            else:
                text = t(key, old_level=star_label(t, v.stars), new_level=star_label(t, new_level), **fields)
            payload = f"{v.id}.{n[1]}.{int(met)}.{n[3]}"
            return text, [[(t("stars.btn.confirm"), cb(FLOW, "ak", payload))],
                          [(t("stars.btn.back"), cb(FLOW, "am", f"{v.id}.{n[1]}.{int(met)}")),
                           (t("stars.btn.cancel"), back)]]
        person = context.person
        if person is None:
            raise RuntimeError("no person here: this runs behind @requires")
        level, _ = await repo.set_area(v.id, area, met, since=since, basis=basis, by=person.id,
                                       at=moment(update, context))
        fields = dict(name=v.name, area=t(f"stars.area.{area}"),
                      state=t("stars.area_state_met" if met else "stars.area_state_unmet"), level=star_label(t, level))
        note = t.n("stars.area_saved_pending", unrated, **fields) if unrated else t("stars.area_saved", **fields)
        v = (await repo.village(v.id)) or v
        text, rows = await village_areas(context, v)
        return note + "\n\n" + text, rows
    if action == "ah":
        history = await repo.area_history(v.id)
        lines = [t("stars.area_history_title", name=v.name)]
        lines += [t("stars.area_history_line", since=t.short_date(r.since), area=t(f"stars.area.{r.area}"),
                    state=area_state(t, r), basis=t(f"stars.basis.{r.basis}"), by=r.by_name) for r in history]
        if not history:
            lines.append(t("stars.area_history_none"))
        return "\n".join(lines), [[(t("stars.btn.back"), back)]]
    return await village_areas(context, v)


async def village_areas(context: CadreContext, v: Village) -> tuple[str, list[list[Button]]]:
    t = context.t
    ratings = await context.repos.oversight.area_ratings(v.id)
    lines = [t("stars.areas_title", name=v.name, level=star_label(t, v.stars))]
    lines += [area_line(t, a, ratings.get(a)) for a in stars_rules.AREAS]
    lines += ["", t("stars.areas_rule_five")]
    buttons = [(t(f"stars.area.{a}"), cb(FLOW, "aa", f"{v.id}.{i}")) for i, a in enumerate(stars_rules.AREAS)]
    rows = [*chunk(buttons, 2), [(t("stars.btn.area_history"), cb(FLOW, "ah", v.id))],
            [(t("stars.btn.back"), cb(FLOW, "areas")), (t("stars.btn.close"), cb(FLOW, "close"))]]
    return "\n".join(lines), rows


async def pair_review(
    update: Update, context: CadreContext, helper: Village, helped: Village
) -> tuple[str, list[list[Button]]]:
    t = context.t
    pairs = await context.repos.oversight.pairs(context.person.unit_id)  # type: ignore[union-attr]
    already = [p.helped.stars for p in pairs if p.helper.id == helper.id and p.helped.id != helped.id]
    problems = pair_problems(helper.stars, helped.stars, already)
    lines = [t("stars.pair_review", helper=village_label(t, helper), helped=village_label(t, helped),
               since=t.date(local_today(update, context)))]
    if problems:
        lines.append("")
        lines.append(t("stars.pair_warning_title"))
        lines.extend("· " + t(f"stars.problem.{code}") for code in problems)
        lines.append(t("stars.pair_warning_ok"))
    rows = [
        [(t("stars.btn.confirm"), cb(FLOW, "pairsave", f"{helper.id}.{helped.id}"))],
        [(t("stars.btn.back"), cb(FLOW, "helped", helper.id)), (t("stars.btn.cancel"), cb(FLOW, "home"))],
    ]
    return "\n".join(lines), rows


def register(app: Application) -> None:
    app.add_handler(CommandHandler("stars", requires(STARS)(stars_command), filters=filters.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(pressed, pattern=r"^stars:"))
