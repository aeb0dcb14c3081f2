"""A clean-up report from one message: outside any conversation, in a private chat, a text
that reads as a clean-up report (bot.rules.reader), or photos with or without a caption, get
"要把这条作为整治上报吗?" with the filled review and [保存] [修改] [不是上报].

Nothing is saved without a tap. The offer is kept in ``user_data[OFFER]`` (plain JSON, like a
draft) and becomes the /report draft only when 保存 or 修改 is pressed: 保存 saves it, or asks
the first thing a save still needs (the review asks only for what is missing); 修改 opens the
review's edit menu. The review marks the lines that came from the message. An album is one
offer: its later photos join it. In a group the bot never does this.

``offer_report`` is called by the catch-all of :mod:`handlers.general.commands`; its 保存 and
修改 are the /report form's entry button (``report:open:s<token>`` saves, ``report:open:t<token>``
opens the review; :mod:`handlers.reports.form`), ``offer:no`` is handled here.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, ConversationHandler

from bot.context import CadreContext
from bot.forms.core import Env
from bot.rules import reports as rules
from bot.rules.reader import Household, ReaderContext, Reading, read
from handlers.flow import answer, ask, cb, keyboard, parse_cb
from handlers.reports.draft import (
    CATEGORY,
    DATE,
    FLOW,
    FROM_TEXT,
    PEOPLE,
    VILLAGE,
    reference_time,
)
from handlers.reports.form import draft_text, villages_of
from handlers.visits.ask import FLOW as VISIT_FLOW
from handlers.visits.ask import OFFER as VISIT_OFFER
from handlers.visits.reading import fill as fill_visit

OFFER = "report_offer"  # user_data key of the offered draft
OFFERED_AT = "offered_at"  # the offer's time: a photo sent soon after joins it (JOIN_MINUTES)
JOIN_MINUTES = 10
# What the reader could not place, said on the offer (catalog keys report.offer.note.<code>).
NOTES_SHOWN = ("several_dates", "future_date", "repeated_amount", "people_unclear", "truncated")
END = ConversationHandler.END
# Parsing vocabulary (not user-facing text): a caption that says which photos these are.
_BEFORE = re.compile(r"整治前|之前|以前|原来|原貌")
_AFTER = re.compile(r"整治后|之后|以后|完成后|现在|效果")


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def may_report(context: CadreContext) -> bool:
    from handlers.reports.form import REPORT

    person = context.person
    return person is not None and REPORT.allowed(person.role)


def may_visit(context: CadreContext) -> bool:
    from handlers.visits.ask import VISIT

    person = context.person
    return person is not None and VISIT.allowed(person.role)


def photo_phase(text: str) -> str:
    """整治前 when the caption says so, else 整治后 (photos of work done show the result)."""
    if _BEFORE.search(text) and not _AFTER.search(text):
        return "before"
    return "after"


def fill(draft: dict[str, Any], reading: Reading, villages: list[Any], text: str) -> None:
    """The reader's fields into a report draft; ``from_text`` lists the questions they fill."""
    values = reading.values()
    marked: list[str] = []
    if len(villages) == 1:
        draft["unit_id"], draft["unit_name"] = villages[0].id, villages[0].name
    elif "village" in values:
        unit = next((u for u in villages if u.name == values["village"]), None)
        if unit is not None:
            draft["unit_id"], draft["unit_name"] = unit.id, unit.name
            marked.append(VILLAGE)
    if "date" in values:
        draft["work_date"] = values["date"]
        marked.append(DATE)
    if values.get("categories"):
        draft["categories"] = [c for c in rules.CATEGORIES if c in values["categories"]]
        marked.append(CATEGORY)
    if values.get("place"):
        draft["place"] = values["place"][: rules.MAX_PLACE_LEN]
        marked.append(rules.PLACE)
    people = values.get("people")
    if people:
        for group in ("cadres", "members", "villagers"):
            draft[group] = int(people.get(group) or 0)
        draft["people_approx"] = dict(people.get("approx") or {})
        marked.append(PEOPLE)
    amounts = values.get("amounts")
    if amounts:
        draft["amounts"] = dict(amounts)
        marked.append(rules.AMOUNTS)
    cleaned = rules.clean_text(text)
    if cleaned and not rules.text_problem(cleaned, rules.MAX_NOTES_LEN):
        draft["notes"] = cleaned  # the message itself, so nothing it said is lost
        marked.append(rules.NOTES)
    draft[FROM_TEXT] = marked
    draft["reader_notes"] = [n for n in reading.notes if n in NOTES_SHOWN]
    # what a save needs and the message gave: answered (villagers too: the seeds insist)
    answered = [s for s in marked if s != PEOPLE]
    if people and "villagers" in people:
        answered.append(PEOPLE)
    if draft.get("unit_id"):
        answered.append(VILLAGE)
    draft["answered"] = answered


def new_offer(several: bool) -> dict[str, Any]:
    return {
        "token": secrets.token_hex(8), "history": [], "mode": "new", "several": several,
        "categories": [], "photos": [], "phase": "after", "albums": {}, "amounts": {},
        "answered": [], "editing": True, "notes": None,
    }


def add_photo(offer: dict[str, Any], message: Message, phase: str) -> None:
    photo = message.photo[-1]
    photos = offer.setdefault("photos", [])
    if len(photos) >= rules.MAX_PHOTOS or any(p["file_unique_id"] == photo.file_unique_id for p in photos):
        return
    photos.append({"file_id": photo.file_id, "file_unique_id": photo.file_unique_id, "phase": phase})
    if rules.PHOTOS not in offer[FROM_TEXT]:
        offer[FROM_TEXT].append(rules.PHOTOS)
        offer["answered"].append(rules.PHOTOS)


def offer_text(context: CadreContext, offer: dict[str, Any]) -> str:
    t = context.t
    lines = [t("report.offer.question"), "", draft_text(t, {**offer, "filled": offer.get(FROM_TEXT) or []})]
    notes = offer.get("reader_notes") or []
    if notes:
        lines += ["", *(t(f"report.offer.note.{code}") for code in notes)]
    missing = missing_steps(offer)
    if missing:
        names = t("list.sep").join(t(f"report.field.{step}") for step in missing)
        lines += ["", t("report.offer.missing", fields=names)]
    return "\n".join(lines)


def missing_steps(draft: dict[str, Any]) -> list[str]:
    """Every question a save still needs, in order (missing_step gives the first)."""
    out = []
    if not draft.get("unit_id"):
        out.append(VILLAGE)
    if not draft.get("work_date"):
        out.append(DATE)
    if not draft.get("categories"):
        out.append(CATEGORY)
    if PEOPLE not in draft.get("answered", ()):
        out.append(PEOPLE)
    return out


def offer_markup(context: CadreContext, offer: dict[str, Any]):
    t = context.t
    token = offer["token"]
    return keyboard(
        [[
            (t("form.btn.save"), cb(FLOW, "open", f"s{token}")),
            (t("report.btn.edit"), cb(FLOW, "open", f"t{token}")),
            (t("report.offer.btn.no"), cb("offer", "no", token)),
        ]]
    )


async def offer_report(update: Update, context: CadreContext) -> bool:
    """Offer a text or photos sent outside any flow as a clean-up report; True if offered."""
    message = update.effective_message
    if message is None or not is_private(update) or not (may_report(context) or may_visit(context)):
        return False
    text = message.text or message.caption or ""
    if message.text and message.text.startswith("/"):
        return False
    album = message.media_group_id
    existing = context.user_data.get(OFFER)
    if message.photo and album and isinstance(existing, dict) and existing.get("album") == album:
        return await join_album(update, context, existing, text)
    if message.photo and isinstance(existing, dict) and await joins(update, context, existing, text):
        return await join_offer(update, context, existing, text)
    visit = context.user_data.get(VISIT_OFFER)
    if message.photo and album and isinstance(visit, dict) and visit.get("album") == album:
        return True  # the rest of an album offered as a visit (a visit keeps one photo)
    villages = await villages_of(context)
    if not villages and not may_visit(context):
        return False
    reading = await read_text(update, context, text, villages) if text else None
    if reading is not None and reading.kind == "visit":
        return await offer_visit(update, context, reading)
    if not may_report(context) or not villages:
        return False
    if not message.photo and (reading is None or reading.kind != "report"):
        return False
    offer = new_offer(len(villages) > 1)
    if reading is not None and reading.kind == "report":
        fill(offer, reading, villages, text)
    else:
        fill(offer, Reading(kind=None), villages, "")
    offer["read_caption"] = bool(reading is not None and reading.kind == "report")
    if message.photo:
        offer["album"] = album
        add_photo(offer, message, photo_phase(text))
    offer[OFFERED_AT] = reference_time(update, context).isoformat()
    sent = await message.reply_text(offer_text(context, offer), reply_markup=offer_markup(context, offer))
    offer["message_id"] = sent.message_id
    context.user_data[OFFER] = offer
    return True


async def read_text(update: Update, context: CadreContext, text: str, villages: list[Any]) -> Reading:
    """The message read with the sender's villages and households: a text that reads more as a
    visit than as a clean-up (走访张大爷,他反映路灯不亮) is not offered as a report."""
    settings = context.services.settings
    person = context.person
    households = await context.repos.households.of_member(person.id) if person is not None else []
    ctx = ReaderContext(
        now=reference_time(update, context),
        villages=tuple(u.name for u in villages),
        households=tuple(Household(s.household.id, s.household.head) for s in households),
        max_age_days=settings.report_max_age_days,
        tz=settings.tz_name,
    )
    return read(text, ctx)


async def join_album(update: Update, context: CadreContext, offer: dict[str, Any], text: str) -> bool:
    """A later photo of an album already offered: it joins the offer (and its caption, if the
    first photo had none, is read), and the offer's message shows it."""
    message = update.effective_message
    if text and not offer.get("read_caption"):
        villages = await villages_of(context)
        reading = await read_text(update, context, text, villages)
        if reading.kind == "report":
            photos = offer.get("photos") or []
            fill(offer, reading, villages, text)
            offer["photos"] = [p | {"phase": photo_phase(text)} for p in photos]
            if photos:
                offer[FROM_TEXT].append(rules.PHOTOS)
                offer["answered"].append(rules.PHOTOS)
            offer["read_caption"] = True
    phases = {p["phase"] for p in offer.get("photos") or []}
    add_photo(offer, message, next(iter(phases)) if len(phases) == 1 else photo_phase(text))
    try:
        await context.bot.edit_message_text(
            offer_text(context, offer), chat_id=update.effective_chat.id, message_id=offer["message_id"],
            reply_markup=offer_markup(context, offer),
        )
    except BadRequest:
        pass  # the same text (a duplicate photo), or the message is gone: the offer still holds
    return True


async def joins(update: Update, context: CadreContext, offer: dict[str, Any], text: str) -> bool:
    """A photo (not of the offer's album) sent while the offer is pending and recent joins the
    offer: without a caption, or with one that reads as a report when the offer had none (a
    caption of another report, or of a visit, is an offer of its own)."""
    at = offer.get(OFFERED_AT)
    if not at or not offer.get("message_id"):
        return False
    age = (reference_time(update, context) - datetime.fromisoformat(at)).total_seconds()
    if not 0 <= age <= JOIN_MINUTES * 60:
        return False
    if not text:
        return True
    if offer.get("read_caption"):
        return False
    return (await read_text(update, context, text, await villages_of(context))).kind == "report"


async def join_offer(update: Update, context: CadreContext, offer: dict[str, Any], text: str) -> bool:
    """A photo sent on its own (or a new album) soon after an offer: it joins the offer's
    photos, up to the report's limit, the offer's message shows it, and a short note says so."""
    before = len(offer.get("photos") or [])
    offer["album"] = update.effective_message.media_group_id  # the rest of a new album joins too
    offer[OFFERED_AT] = reference_time(update, context).isoformat()  # a third photo joins as well
    await join_album(update, context, offer, text)
    photos = len(offer.get("photos") or [])
    if photos > before:
        note = context.t("report.offer.photo_joined", count=photos)
    elif photos >= rules.MAX_PHOTOS:
        note = context.t("report.offer.photos_full", max=rules.MAX_PHOTOS)
    else:
        return True  # the same picture again: already there
    await update.effective_message.reply_text(note)
    return True


# -- the buttons ----------------------------------------------------------------------------
def offer_for(context: CadreContext, token: str) -> dict[str, Any] | None:
    offer = context.user_data.get(OFFER)
    return offer if isinstance(offer, dict) and offer.get("token") == token else None


async def declined(update: Update, context: CadreContext) -> None:
    """不是上报: the offer is dropped, nothing saved."""
    token = parse_cb(update.callback_query.data)[2]
    visit = context.user_data.get(VISIT_OFFER)
    if isinstance(visit, dict) and visit.get("token") == token:
        context.user_data.pop(VISIT_OFFER, None)
        await answer(update)
        await ask(update, context, context.t("visit.offer.declined"), None)
        return
    if offer_for(context, token) is not None:
        context.user_data.pop(OFFER, None)
    await answer(update)
    await ask(update, context, context.t("report.offer.declined"), None)


# -- a visit from one message ------------------------------------------------------------------
VISIT_NOTES = ("unknown_household", "ambiguous_household", "several_dates", "future_date", "truncated")


async def offer_visit(update: Update, context: CadreContext, reading: Reading) -> bool:
    """A member's text that reads as a visit: "要把这条作为走访记录吗?" with the visit's review
    and [保存] [修改] [不是走访]. The household is only ever one of the member's own."""
    from handlers.visits.common import reference_now

    person = context.person
    if not may_visit(context) or person is None or not await context.repos.households.count_of(person.id):
        return False  # nobody to have visited: today's answer
    values = reading.values()
    draft: dict[str, Any] = {
        "token": secrets.token_hex(8), "history": [], "v": 1, "roles": list(values.get("roles") or []),
        "closes": {}, "page": 0, "reviewed": True,
    }
    now = reference_now(update, context, draft)
    env = Env(t=context.t, now=now, tz=context.services.settings.tz_name, ctx=context)
    draft[FROM_TEXT] = await fill_visit(env, draft, values, now)  # /visit's review marks them ✍️
    message = update.effective_message
    if message.photo:
        draft["photo"] = message.photo[-1].file_id
        draft["album"] = message.media_group_id
        draft[FROM_TEXT].append("photo")
    notes = [n for n in reading.notes if n in VISIT_NOTES]
    t = context.t
    lines = [t("visit.offer.question"), "", visit_text(context, draft, now), "", t("visit.offer.legend")]
    lines += [t(f"visit.offer.note.{n}") for n in notes]
    missing = visit_missing(draft)
    if missing:
        lines += ["", t("visit.offer.missing", fields=t("list.sep").join(t(f"visit.step.{m}") for m in missing))]
    token = draft["token"]
    markup = keyboard(
        [[
            (t("form.btn.save"), cb(VISIT_FLOW, "offer", f"{token}.save")),
            (t("report.btn.edit"), cb(VISIT_FLOW, "offer", token)),
            (t("visit.offer.btn.no"), cb("offer", "no", token)),
        ]]
    )
    await message.reply_text("\n".join(lines), reply_markup=markup)
    context.user_data[VISIT_OFFER] = draft
    return True


def visit_text(context: CadreContext, draft: dict[str, Any], now: datetime) -> str:
    """The visit's review (its catalog text), with 未填 for what the message did not say rather
    than the review's defaults (无诉求 is an answer, not a blank)."""
    from datetime import date

    from handlers.visits.ask import concern_text, outcome_text
    from storage.visits import ROLE_CODES

    t = context.t
    none = t("report.none")
    roles = t("list.sep").join(t(f"visit.role.{c}") for c in ROLE_CODES if c in (draft.get("roles") or []))
    return t(
        "visit.offer.review",
        household=t("visit.offer.household", head=draft["head"]) if draft.get("head") else none,
        date=t.date(date.fromisoformat(draft["date"])) if draft.get("date") else none,
        roles=roles or none,
        concern=concern_text(t, draft) if draft.get("concern") else none,
        outcome=outcome_text(Env(t=t, now=now, ctx=context), draft) if draft.get("outcome") else none,
        photo=t("visit.photo.yes") if draft.get("photo") else t("visit.photo.no"),
    )


def visit_missing(draft: dict[str, Any]) -> list[str]:
    """Every question a visit's save still needs, in the order /visit asks them (the save's own
    check, handlers.visits.save.first_missing, asks them one at a time)."""
    out = [step for step, key in (("household", "household_id"), ("date", "date"), ("roles", "roles"),
                                  ("concern", "concern")) if not draft.get(key)]
    if draft.get("outcome") not in ("solved", "follow_up", "none"):
        out.append("outcome")
    elif draft["outcome"] == "follow_up" and not draft.get("due"):
        out.append("due")
    return out


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(declined, pattern=r"^offer:no:"))
