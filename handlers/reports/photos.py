"""The photo step: optional, up to 10 photos, each marked 整治前 or 整治后 by the button pressed
before sending it; single photos and albums.

An album arrives as several updates with one ``media_group_id``. They are collected into the
draft silently and acknowledged once: by a job that runs ``ALBUM_WAIT`` seconds after the
album's last photo (each photo of the album pushes it back), or by the answer to the user's
next input at this step, whichever comes first.
"""

from __future__ import annotations

from typing import Any

from telegram import Message, Update

from bot.context import CadreContext
from bot.rules import reports as rules
from handlers.flow import answer, cb, parse_cb
from handlers.reports.ask import Rows, proceed, question, render, show
from handlers.reports.draft import FLOW, PHOTOS, fields_of, reference_time, step_of
from handlers.reports.render import photos_text

ALBUM_WAIT = 2.0  # seconds of quiet after an album's last photo before acknowledging it
ALBUM_JOB = "report-album"


@question(PHOTOS)
async def ask_photos(context: CadreContext, draft: dict[str, Any]) -> tuple[str, Rows]:
    t = context.t
    photos = draft.get("photos") or []
    phase = draft.get("phase") or "before"
    text = t("report.q.photos", max=rules.MAX_PHOTOS, phase=t(f"report.phase.{phase}"))
    if photos:
        text += "\n" + t("report.photos.so_far", value=photos_text(t, fields_of(draft)))
    phases = []
    for code in rules.PHASES:
        label = t(f"report.phase.{code}")
        phases.append((t("report.chosen", label=label) if code == phase else label, cb("report", "phase", code)))
    done = t("report.btn.photos_done") if photos else t("report.btn.no_photos")
    rows: Rows = [phases, [(done, cb("report", "photosdone"))]]
    if photos:
        rows.append([(t("report.btn.photos_clear"), cb("report", "photosclear"))])
    return text, rows


def flush_albums(draft: dict[str, Any]) -> None:
    """The answer about to be shown lists every photo: nothing is left to acknowledge."""
    draft["albums"] = {}


async def phase_chosen(update: Update, context: CadreContext) -> str:
    draft = context.user_data[FLOW]
    phase = parse_cb(update.callback_query.data)[2]
    await answer(update)
    if phase in rules.PHASES:
        draft["phase"] = phase
    flush_albums(draft)
    return await show(update, context, draft, PHOTOS)


async def photos_done(update: Update, context: CadreContext) -> str:
    draft = context.user_data[FLOW]
    await answer(update)
    flush_albums(draft)
    note = None
    if draft.get("photos"):
        note = context.t("report.echo.photos", value=photos_text(context.t, fields_of(draft)))
    return await proceed(update, context, draft, PHOTOS, note=note)


async def photos_cleared(update: Update, context: CadreContext) -> str:
    draft = context.user_data[FLOW]
    await answer(update)
    draft["photos"] = []
    flush_albums(draft)
    return await show(update, context, draft, PHOTOS)


def add_photo(draft: dict[str, Any], message: Message) -> str:
    """Keep the photo's largest size: "added", "duplicate" or "full"."""
    photo = message.photo[-1]
    photos = draft.setdefault("photos", [])
    if any(p["file_unique_id"] == photo.file_unique_id for p in photos):
        return "duplicate"
    if len(photos) >= rules.MAX_PHOTOS:
        return "full"
    photos.append(
        {"file_id": photo.file_id, "file_unique_id": photo.file_unique_id, "phase": draft.get("phase") or "before"}
    )
    return "added"


async def photo_received(update: Update, context: CadreContext) -> str:
    reference_time(update, context)
    draft = context.user_data[FLOW]
    message = update.effective_message
    outcome = add_photo(draft, message)
    album = message.media_group_id
    if album:
        entry = draft.setdefault("albums", {}).setdefault(album, {"added": 0, "full": 0})
        if outcome in entry:
            entry[outcome] += 1
        schedule_album_ack(context, update, album)
        return PHOTOS
    flush_albums(draft)
    t = context.t
    if outcome == "full":
        note = t("report.photo.full", max=rules.MAX_PHOTOS)
    else:
        note = t("report.photo.added", phase=t(f"report.phase.{draft.get('phase') or 'before'}"))
    return await show(update, context, draft, PHOTOS, note=note, edit=False)


def schedule_album_ack(context: CadreContext, update: Update, album: str) -> None:
    queue = context.job_queue
    if queue is None or not queue.scheduler.running:
        return  # acknowledged by the answer to the next input instead
    chat_id = update.effective_chat.id
    name = f"{ALBUM_JOB}:{chat_id}:{album}"
    for job in queue.get_jobs_by_name(name):
        job.schedule_removal()
    queue.run_once(
        album_ack, ALBUM_WAIT, data=album, name=name, chat_id=chat_id, user_id=update.effective_user.id
    )


async def album_ack(context: CadreContext) -> None:
    """One message for a whole album: how many photos it added, and the question again."""
    job = context.job
    draft = context.user_data.get(FLOW) if context.user_data is not None else None
    if not draft or step_of(draft) != PHOTOS:
        return
    entry = (draft.get("albums") or {}).pop(job.data, None)
    if entry is None:
        return
    user = await context.repos.users.get(job.user_id)
    context.set_lang(user.lang if user else None)
    t = context.t
    phase = t(f"report.phase.{draft.get('phase') or 'before'}")
    if entry["full"]:
        note = t("report.photo.album_full", count=entry["added"], dropped=entry["full"], max=rules.MAX_PHOTOS)
    else:
        note = t("report.photo.album", count=entry["added"], phase=phase)
    text, markup = await render(context, draft, PHOTOS, note)
    await context.bot.send_message(job.chat_id, text, reply_markup=markup)
