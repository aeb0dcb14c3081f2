"""/report: a sanitation clean-up report (人居环境整治), one question at a time, in a private chat.

Village (only for people with several) → date → categories → place → who took part → amount
of work → photos → notes → review (保存 / 修改 / 取消). The draft lives in user_data (see
``report_draft``) and the conversation is persistent, so a restart resumes at the same step;
after 30 idle minutes the conversation ends with a message and keeps the draft, which
``/report`` then offers to resume. 保存 carries the draft's token, the unique key of the saved
report: a double tap or a redelivered update stores one report and the second press is told
the number of the first. A correction (from /myreports) is the same conversation started at
the review of a saved report.
"""

from __future__ import annotations

import functools
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import CadreContext
from bot.rules.ids import id_or_zero
from handlers.auth import LEADERS, command, requires
from handlers.flow import IDLE_MINUTES, Conversation, answer, ask, drop_draft, hand_over, parse_cb
from handlers.reports import from_text, people, photos, review, steps
from handlers.reports.ask import again, back, show
from handlers.reports.draft import (
    AMOUNTS,
    CADRES,
    CATEGORY,
    DATE,
    EDIT,
    FLOW,
    MEMBERS,
    NOTES,
    OTHER_NAME,
    PARKED,
    PEOPLE,
    PHOTOS,
    PLACE,
    RESUME,
    REVIEW,
    VILLAGE,
    VILLAGERS,
    current,
    draft_values,
    may_correct,
    reference_time,
    start_draft,
    step_of,
)
from handlers.reports.finish import cancel, save, tell_saved, timed_out

# Village secretaries report; township and district cadres who work in a village may too.
REPORT = command("report", LEADERS)
END = ConversationHandler.END
TEXT_STEPS = {VILLAGE, DATE, OTHER_NAME, PLACE, PEOPLE, CADRES, MEMBERS, VILLAGERS, AMOUNTS, NOTES}


# -- starting -------------------------------------------------------------------------------
@requires(REPORT)
async def start(update: Update, context: CadreContext) -> str | int:
    """/report: resume the unfinished draft if there is one, else the first question."""
    reference_time(update, context)
    draft = current(context)
    if draft is not None:
        return await show(update, context, draft, RESUME, edit=False)
    return await new_report(update, context, edit=False)


async def new_report(update: Update, context: CadreContext, *, edit: bool) -> str | int:
    villages = await steps.villages_of(context)
    if not villages:
        await ask(update, context, context.t("report.no_village"), None, edit=edit)
        return END
    several = len(villages) > 1
    draft = start_draft(context, several=several)
    if not several:
        draft["unit_id"], draft["unit_name"] = villages[0].id, villages[0].name
        return await show(update, context, draft, DATE, edit=edit)
    return await show(update, context, draft, VILLAGE, edit=edit)


@requires(REPORT)
async def resumed(update: Update, context: CadreContext) -> str | int:
    draft = current(context)
    await answer(update)
    if draft is None:
        return await new_report(update, context, edit=True)
    draft.pop("resuming", None)
    return await show(update, context, draft, step_of(draft) or DATE)


@requires(REPORT)
async def restarted(update: Update, context: CadreContext) -> str | int:
    await answer(update)
    drop_draft(context, FLOW)
    context.user_data.pop(PARKED, None)
    return await new_report(update, context, edit=True)


@requires(REPORT)
async def correct(update: Update, context: CadreContext) -> str | int:
    """更正 from /myreports: the saved report's review, within 24 hours, by its author."""
    at = reference_time(update, context)
    report_id = id_or_zero(parse_cb(update.callback_query.data)[2])
    report = await context.repos.reports.get(report_id)
    if report is None or not await may_correct(context, report, at):
        await update.callback_query.answer(context.t("report.correct.not_now"), show_alert=True)
        return step_of(current(context) or {}) or END
    await answer(update)
    existing = current(context)
    if existing is not None and existing.get("report_id") == report_id:
        existing.pop("resuming", None)
        return await show(update, context, existing, step_of(existing) or REVIEW, edit=False)
    if existing is not None and existing.get("mode") != "correct":
        context.user_data[PARKED] = existing
    several = len(await steps.villages_of(context)) > 1
    draft = start_draft(context, mode="correct", report_id=report_id, several=several, **draft_values(report))
    return await show(update, context, draft, REVIEW, edit=False)


# -- navigation and wrong input -------------------------------------------------------------
async def go_back(update: Update, context: CadreContext) -> str:
    await answer(update)
    return await back(update, context, current(context))


def hint_for(step: str | None, message: Message) -> str:
    if message.photo:
        return "report.hint.photo_not_now"
    if message.document and step == PHOTOS:
        return "report.hint.photo_as_file"
    if step == PHOTOS:
        return "report.hint.photos_expected"
    if step in TEXT_STEPS and not message.text:
        return "report.hint.type_text"
    return "report.hint.use_buttons"


async def wrong_input(update: Update, context: CadreContext) -> str | int:
    """Input of the wrong kind: a short hint and the same question (once per album)."""
    draft = current(context)
    if draft is None:
        return END
    reference_time(update, context)
    message = update.effective_message
    album = message.media_group_id
    if album:
        if draft.get("hinted_album") == album:
            return step_of(draft) or END
        draft["hinted_album"] = album
    return await again(update, context, draft, hint_for(step_of(draft), message))


async def paused_by_command(update: Update, context: CadreContext) -> int:
    """Another command in the middle of /report: keep the draft, end, run that command."""
    if current(context) is not None:
        await update.effective_message.reply_text(context.t("report.paused"))
    hand_over(update, context)
    return END


# -- wiring ---------------------------------------------------------------------------------
def with_draft(callback: Any) -> Any:
    """A step's handler runs only with the draft (lost only if user_data was wiped)."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: CadreContext) -> object:
        if current(context) is None:
            await answer(update)
            await ask(update, context, context.t("report.lost"), None, edit=False)
            return END
        return await callback(update, context)

    return wrapper


def conversation() -> ConversationHandler:
    def button(callback: Any, pattern: str) -> CallbackQueryHandler:
        return CallbackQueryHandler(with_draft(callback), pattern=rf"^report:{pattern}")

    def on(kind: filters.BaseFilter, callback: Any) -> MessageHandler:
        return MessageHandler(filters.UpdateType.MESSAGE & ~filters.COMMAND & kind, with_draft(callback))

    same, skip = button(people.same_as_last, "same:"), button(people.skipped, "skip:")
    return Conversation(
        entry_points=[
            CommandHandler("report", start),
            CallbackQueryHandler(resumed, pattern=r"^report:resume:$"),
            CallbackQueryHandler(restarted, pattern=r"^report:restart:$"),
            CallbackQueryHandler(correct, pattern=r"^report:correct:\d+$"),
            # 保存 / 修改 on a report offered from a message (handlers.reports.from_text)
            CallbackQueryHandler(from_text.accepted, pattern=r"^offer:(save|edit):"),
        ],
        states={
            VILLAGE: [
                button(steps.village_chosen, r"village:\d+$"),
                button(steps.village_page, r"vpage:\d+$"),
                same,
                on(filters.TEXT, steps.village_typed),
            ],
            DATE: [button(steps.date_button, "date:"), on(filters.TEXT, steps.date_typed)],
            CATEGORY: [button(steps.category_toggled, "cat:"), button(steps.categories_done, "catdone:$")],
            OTHER_NAME: [on(filters.TEXT, steps.other_name_typed)],
            PLACE: [
                skip,
                same,
                on(filters.TEXT, steps.place_typed),
                on(filters.LOCATION, steps.place_location),
            ],
            PEOPLE: [same, button(people.one_by_one, "onebyone:$"), on(filters.TEXT, people.people_typed)],
            CADRES: [on(filters.TEXT, people.count_typed)],
            MEMBERS: [on(filters.TEXT, people.count_typed)],
            VILLAGERS: [on(filters.TEXT, people.count_typed)],
            AMOUNTS: [skip, on(filters.TEXT, people.amounts_typed)],
            PHOTOS: [
                button(photos.phase_chosen, "phase:"),
                button(photos.photos_done, "photosdone:$"),
                button(photos.photos_cleared, "photosclear:$"),
                on(filters.PHOTO, photos.photo_received),
            ],
            NOTES: [skip, on(filters.TEXT, people.notes_typed)],
            REVIEW: [button(save, "save:"), button(review.edit_menu, "edit:$")],
            EDIT: [button(review.edit_field, "field:")],
            RESUME: [],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, paused_by_command),
            CallbackQueryHandler(cancel, pattern=r"^report:cancel:$"),
            button(go_back, "back:$"),
            button(save, "save:"),
            button(people.stale, ""),
            on(filters.ALL, wrong_input),
        ],
        name="report",
        persistent=True,
        allow_reentry=True,
        conversation_timeout=IDLE_MINUTES * 60,
    )


def register(app: Application) -> None:
    app.add_handler(conversation())
    # 保存 pressed again after the conversation ended: answer with the saved report's number.
    app.add_handler(CallbackQueryHandler(tell_saved, pattern=r"^report:save:"))
