"""/households: a village secretary manages the village's households (党员联户).

The overview shows how many households each member holds (a warning below 5 or above 10);
from there: add a household step by step, find one by typing part of a name, address or grid,
list a member's households, those nobody holds, the archived ones; a household's card edits
a field, links or re-links its member with buttons, archives or restores it. Every payload
naming a household or a member is checked against the secretary's own village.
Screens are in :mod:`handlers.households.views`, changes in :mod:`handlers.households.edit`.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
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
from handlers.auth import requires
from handlers.flow import (
    IDLE_MINUTES,
    Conversation,
    answer,
    ask,
    cb,
    drop_draft,
    hand_over,
    hint,
    keyboard,
    new_draft,
    parse_cb,
)
from handlers.households import edit as change
from handlers.households.views import (
    FLOW,
    HOUSEHOLDS,
    MENU,
    own_household,
    show_card,
    show_list,
    show_members,
    show_menu,
)
from handlers.visits.common import my_int, reference_now

MSG = filters.UpdateType.MESSAGE
TEXT = MSG & filters.TEXT & ~filters.COMMAND
MAX_QUERY = 20
FORMS = change.FORMS  # adding a household and editing a field run on the form engine


@requires(HOUSEHOLDS)
async def start(update: Update, context: CadreContext) -> str:
    draft = new_draft(context, FLOW)
    reference_now(update, context, draft)
    return await show_menu(update, context, edit=False)


@requires(HOUSEHOLDS)
async def menu_chosen(update: Update, context: CadreContext) -> str:
    await answer(update)
    change.session(context)
    return await show_menu(update, context)


@requires(HOUSEHOLDS)
async def members_chosen(update: Update, context: CadreContext) -> str:
    await answer(update)
    return await show_members(update, context)


@requires(HOUSEHOLDS)
async def list_chosen(update: Update, context: CadreContext) -> str:
    await answer(update)
    _, _, spec = parse_cb(update.callback_query.data)
    return await show_list(update, context, change.session(context), spec)


@requires(HOUSEHOLDS)
async def find_chosen(update: Update, context: CadreContext) -> str:
    await answer(update)
    t = context.t
    change.session(context)
    await ask(update, context, t("hh.ask.find"), keyboard([[(t("hh.btn.menu"), cb(FLOW, "menu"))]]))
    return MENU


@requires(HOUSEHOLDS)
async def search_typed(update: Update, context: CadreContext) -> str:
    """Typed text on the overview: find households by part of head, address, grid or phone."""
    draft = change.session(context)
    reference_now(update, context, draft)
    query = " ".join((update.message.text or "").split())[:MAX_QUERY]
    draft["query"] = query
    return await show_list(update, context, draft, "q.0")


@requires(HOUSEHOLDS)
async def card_chosen(update: Update, context: CadreContext) -> str | None:
    _, _, arg = parse_cb(update.callback_query.data)
    household = await own_household(update, context, my_int(arg))
    if household is None:
        return None
    await answer(update)
    return await show_card(update, context, change.session(context), household.id)


async def done(update: Update, context: CadreContext) -> int:
    await answer(update)
    drop_draft(context, FLOW)
    if update.callback_query is not None and update.callback_query.message is not None:
        await update.callback_query.edit_message_text(context.t("hh.finished"))
    else:
        await update.effective_message.reply_text(context.t("hh.finished"))
    return ConversationHandler.END


async def ended_by_command(update: Update, context: CadreContext) -> int:
    drop_draft(context, FLOW)
    await update.effective_message.reply_text(context.t("hh.ended_for_command"))
    hand_over(update, context)
    return ConversationHandler.END


async def wrong_input(update: Update, context: CadreContext) -> None:
    await hint(update, context, "hh.wrong.input")


async def timed_out(update: Update, context: CadreContext) -> None:
    drop_draft(context, FLOW)
    if update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, context.t("hh.timeout", minutes=IDLE_MINUTES))


async def stale(update: Update, context: CadreContext) -> None:
    await update.callback_query.answer(context.t("hh.stale"), show_alert=True)


def register(app: Application) -> None:
    def button(callback, action: str) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=rf"^{FLOW}:{action}:")

    # The overview's and the cards' buttons work from any message (each checks the village), and
    # (re)open the overview conversation, e.g. on a card shown by the add or edit form.
    buttons = [
        button(menu_chosen, "menu"),
        button(members_chosen, "members"),
        button(list_chosen, "list"),
        button(find_chosen, "find"),
        button(card_chosen, "card"),
        button(change.link_chosen, "link"),
        button(change.linked, "to"),
        CallbackQueryHandler(change.archive_chosen, pattern=rf"^{FLOW}:(arch|archyes|restore):"),
    ]
    app.add_handler(
        Conversation(
            entry_points=[CommandHandler("households", start), *buttons],
            states={
                MENU: [MessageHandler(TEXT, search_typed)],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
            },
            fallbacks=[
                button(done, "done"),
                CommandHandler("cancel", done),
                MessageHandler(MSG & filters.COMMAND, ended_by_command),
                CallbackQueryHandler(stale, pattern=rf"^{FLOW}:"),
                MessageHandler(MSG, wrong_input),
            ],
            name="households",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=timedelta(minutes=IDLE_MINUTES),
        )
    )
    app.add_handler(CallbackQueryHandler(stale, pattern=rf"^{FLOW}:"))
