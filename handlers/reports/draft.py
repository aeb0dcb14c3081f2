"""The draft of a clean-up report (the /report form's, :mod:`handlers.reports.form`): plain JSON in
``user_data["report"]`` (so persistence keeps it across restarts), its step names, the reference
time of an update, and the conversions between a draft and :class:`storage.reports.ReportFields`.

Draft keys: ``token``, ``history`` (the questions asked, for 返回), ``mode`` ("new" or
"correct"), ``report_id`` (when correcting), ``unit_id``/``unit_name``, ``several`` (whether
the user has several villages), ``work_date`` (ISO), ``categories``, ``other_name``,
``place``, ``lat``/``lon``, ``cadres``/``members``/``villagers``, ``amounts`` (field → value),
``photos`` (dicts with file_id, file_unique_id, phase), ``phase``, ``albums`` (album id →
photos not yet acknowledged), ``notes``, ``answered`` (questions answered), ``editing`` (the
review was reached: answers return to it), ``people_approx`` (group → "more"/"about" for an
approximate count), ``people_mode`` (the counts asked one by one, or only the villagers),
``filled`` (questions filled from a message, marked in the review; ``from_text`` in an offer).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from telegram import Update

from bot.context import CadreContext
from bot.rules import reports as rules
from bot.rules.numbers import AMOUNT_COLUMNS
from handlers.reports import permissions
from storage.reports import Report, ReportFields, ReportPhoto

FLOW = "report"
PARKED = "report_parked"  # a new report set aside while the user corrects an old one
SEEN_AT = "report_seen_at"  # when the user last wrote to the report flows (ISO)

# Conversation states: the questions (bot.rules.reports.STEPS) and these.
VILLAGE, DATE, CATEGORY, PLACE, PEOPLE, AMOUNTS, PHOTOS, NOTES = rules.STEPS
REVIEW = rules.REVIEW
OTHER_NAME = "other_name"
CADRES, MEMBERS, VILLAGERS = "people_cadres", "people_members", "people_villagers"
# The amounts stored in the report's own columns; the others (trees, lights, ...) and an
# amount kept as text ("text") go to ReportFields.amounts_more.
FROM_TEXT = "from_text"  # draft key: the questions the reader filled from the user's message


def reference_time(update: Update, context: CadreContext) -> datetime:
    """"Now" for this update, in CADRE_TZ: the date of the user's message.

    A button press carries no time of its own, so it takes the time of the user's latest
    message in the report flows (kept in user_data), else the date of the message the button
    is on.
    """
    tz = context.services.settings.tz
    message = update.effective_message
    if update.callback_query is None and message is not None:
        moment = message.date.astimezone(tz)
        if context.user_data is not None:
            context.user_data[SEEN_AT] = moment.isoformat()
        return moment
    seen = context.user_data.get(SEEN_AT) if context.user_data is not None else None
    if seen:
        return datetime.fromisoformat(seen).astimezone(tz)
    if message is None:
        raise RuntimeError("button presses in the report flows come with their message")
    return message.date.astimezone(tz)


async def may_correct(context: CadreContext, report: Report, now: datetime) -> bool:
    """The one rule (handlers.reports.permissions): the author's own report returned to them,
    or not reviewed and saved within 24 hours; or an admin over its village."""
    return await permissions.may_correct(context, report, now)


def work_date(draft: dict[str, Any]) -> date | None:
    value = draft.get("work_date")
    return date.fromisoformat(value) if value else None


def missing_step(draft: dict[str, Any]) -> str | None:
    """The first question a save still needs (village, date, category, participants)."""
    if not draft.get("unit_id"):
        return VILLAGE
    if not draft.get("work_date"):
        return DATE
    if not draft.get("categories"):
        return CATEGORY
    if rules.OTHER in draft["categories"] and not draft.get("other_name"):
        return OTHER_NAME
    if PEOPLE not in draft["answered"]:
        return PEOPLE
    return None


def fields_of(draft: dict[str, Any]) -> ReportFields:
    amounts = draft.get("amounts") or {}
    return ReportFields(
        unit_id=int(draft.get("unit_id") or 0),
        work_date=work_date(draft) or date.min,
        categories=tuple(draft.get("categories") or ()),
        other_name=draft.get("other_name") if rules.OTHER in draft.get("categories", ()) else None,
        place=draft.get("place") or None,  # "" : a location was shared instead
        latitude=draft.get("lat") if draft.get("place") is not None else None,  # None: skipped
        longitude=draft.get("lon") if draft.get("place") is not None else None,
        cadres=int(draft.get("cadres") or 0),
        members=int(draft.get("members") or 0),
        villagers=int(draft.get("villagers") or 0),
        notes=draft.get("notes"),
        photos=tuple(
            ReportPhoto(p["file_id"], p["file_unique_id"], p["phase"]) for p in draft.get("photos", ())
        ),
        **{name: amounts.get(name) for name in AMOUNT_COLUMNS},
        amounts_more=tuple((k, v) for k, v in amounts.items() if k not in AMOUNT_COLUMNS and v is not None),
        people_approx=tuple(
            (g, f) for g in ("cadres", "members", "villagers")
            if (f := (draft.get("people_approx") or {}).get(g))
        ),
    )


def draft_values(report: Report) -> dict[str, Any]:
    """A saved report as draft values (for a correction)."""
    f = report.fields
    return {
        "unit_id": f.unit_id,
        "unit_name": report.unit_name,
        "work_date": f.work_date.isoformat(),
        "categories": list(f.categories),
        "other_name": f.other_name,
        "place": f.place or ("" if f.latitude is not None else None),
        "lat": f.latitude,
        "lon": f.longitude,
        "cadres": f.cadres,
        "members": f.members,
        "villagers": f.villagers,
        "amounts": {n: getattr(f, n) for n in AMOUNT_COLUMNS if getattr(f, n) is not None}
        | dict(f.amounts_more),
        "people_approx": dict(f.people_approx),
        "photos": [
            {"file_id": p.file_id, "file_unique_id": p.file_unique_id, "phase": p.phase}
            for p in f.photos
        ],
        "notes": f.notes,
        "answered": list(rules.STEPS),
        "editing": True,
    }
