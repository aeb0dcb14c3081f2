"""The form engine's core: a form is data; given (form, draft, input) it returns what to store
and what to show next. Channel-free: no ``telegram`` import (tests/test_architecture.py).

A *form* is a list of steps (:class:`Text`, :class:`Count`, :class:`When`, :class:`Choice`,
:class:`Photos`, :class:`Location`, :class:`Custom`), a review and a save. The engine does
everything generic, once, for every form:

* state names ``"<form>:<step>"``; the next step skips the ones whose ``when`` is false;
* 返回 pops the history kept in the draft; 跳过 for optional steps; 修改 on the review jumps
  to a step and, once answered, comes back to the review;
* a kept draft gets the resume offer (继续 / 重新开始) when the form is opened again;
* a button is stale unless it belongs to the message that asked the current question (its id
  is kept in the draft) and carries the form's own prefix;
* wrong input gets a hint derived from the step kind (text where buttons are expected...);
* /cancel, the cancel button and typed cancel words end the form at any step;
* another command pauses it (the draft stays; ``Reply.hand_over`` asks the adapter to run the
  command), and an idle timeout does the same (:func:`timeout`);
* the progress line (第2步,共5步) and the echo of a typed answer (✅ 日期:…);
* save once per draft token: the draft ends with the save, a second tap finds it gone.

A form's special behaviour goes in ``Custom`` steps and a few optional hooks rather than in
the engine: ``Outcome.quiet`` (an input taken without a new screen: the rest of an album),
``Outcome.then`` (a step that opens another), ``Step.substep`` (a follow-up question
keeps its step's number), ``Form.aside`` (keep an input the step does not take, e.g. a photo
for the photo step), ``Form.read`` (a first answer that states several fields; they are
marked ``filled`` and not asked), ``Form.late`` (a better answer than "stale" to a button of
a closed form) and ``Form.closed`` (a draft set aside comes back when the form ends).

The draft is a JSON dict kept by the adapter (``user_data[form.name]``): the answers under the
steps' names, plus ``token``, ``history`` (the steps asked, in order), ``asked`` (the id of
the message that asked), ``editing`` (a step opened from the review), ``arg`` (the entry
button's argument) and ``filled`` (steps filled by a reader or the setup, not asked).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.rules.dates import parse_when
from bot.rules.ids import parse_page
from bot.rules.numbers import parse_count

Draft = dict[str, Any]
MAX_PAYLOAD = 64
IDLE_MINUTES = 30
RESUME, REVIEW = "resume", "review"
RESERVED = frozenset({"token", "history", "asked", "editing", "arg", "page", "album", "now", "confirm", "filled",
                      "missing"})
# Set by a form's setup that filled the draft from elsewhere (a message read by bot.rules.reader):
# SAVE saves at once (or asks, one by one, what its save still needs), REVIEW opens the review.
OPEN_AT = "open_at"
# The engine's own button actions; any other action at a Custom step goes to its handler.
BACK, CANCEL, SKIP, SAVE, EDIT, GO, PICK, OK, PAGE, QUICK = (
    "back", "cancel", "skip", "save", "edit", "resume", "pick", "ok", "pg", "q"
)
SURE = "sure"  # a When step's confirmation: <form>:sure:yes / <form>:sure:no
# Parsing vocabulary, not UI text: what users type to leave a form (取消, 算了,不报了...).
CANCEL_WORDS = ("取消", "算了", "不报了", "不填了", "退出", "不要了", "cancel", "quit")


# Punctuation and filler characters that may surround the cancel words ("先不报了吧。").
FILLERS = frozenset(",,。.!!~、;;… 了吧啊呀先就我")


def is_cancel_words(text: str) -> bool:
    """True for a short message made of cancel words and fillers ("算了,不报了", "取消了")."""
    rest = "".join(text.split()).lower()
    if not rest or len(rest) > 12:
        return False
    found = False
    for word in sorted(CANCEL_WORDS, key=len, reverse=True):
        if word in rest:
            found = True
            rest = rest.replace(word, "")
    return found and all(ch in FILLERS for ch in rest)


def payload(form: str, action: str, arg: object = "") -> str:
    data = f"{form}:{action}:{arg}"
    if len(data.encode()) >= MAX_PAYLOAD:
        raise ValueError(f"payload of {MAX_PAYLOAD} bytes or more: {data!r}")
    return data


def parse_payload(data: str) -> tuple[str, str, str]:
    flow, _, rest = (data or "").partition(":")
    action, _, arg = rest.partition(":")
    return flow, action, arg


# -- what goes in and what comes out -----------------------------------------------------------
@dataclass(frozen=True)
class Button:
    label: str
    payload: str


@dataclass
class Screen:
    """A message: text and rows of buttons, in neutral terms."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)


@dataclass(frozen=True)
class Input:
    """One thing the user did. ``kind``: text, button, photos, location, voice, command, document
    (a file: a photo sent as a file, say) or other."""

    kind: str
    text: str = ""
    payload: str = ""
    message_id: int | None = None  # the message whose button was pressed
    photos: tuple[str, ...] = ()
    photo_keys: tuple[str, ...] = ()  # the photos' stable ids (the same picture sent twice has one)
    location: tuple[float, float] | None = None
    album: str | None = None  # photos sent together
    voice: str | None = None  # a voice note or audio file (its file id), kind "voice"
    seconds: int = 0  # its length
    at: datetime | None = None  # when the user sent the message (None for a press)

    @property
    def action(self) -> str:
        return parse_payload(self.payload)[1]

    @property
    def arg(self) -> str:
        return parse_payload(self.payload)[2]

    @property
    def command(self) -> str:
        return self.text.split()[0].lstrip("/").split("@")[0] if self.kind == "command" and self.text else ""


@dataclass
class Reply:
    """What the adapter does: show ``notes`` then ``screen`` (editing the pressed message when
    ``edit``), answer a press with ``alert``, keep ``draft`` (None: drop it), go to ``state``
    (None: the form is over), and with ``hand_over`` run the input (a command) again."""

    draft: Draft | None
    state: str | None
    screen: Screen | None = None
    notes: list[str] = field(default_factory=list)
    alert: str | None = None
    edit: bool = True
    hand_over: bool = False
    record: Any = None


@dataclass
class Env:
    """What a form's functions get: the translator, the time, and the adapter's own context
    (``ctx``; in python-telegram-bot the CadreContext) for the form's storage calls."""

    t: Callable[..., str]
    now: datetime
    tz: str = "Asia/Shanghai"
    ctx: Any = None
    press: bool = False  # the input is a button press (which carries no time of its own)
    origin: Any = None  # the adapter's own input (in python-telegram-bot the Update), for a save that answers itself


# -- steps -----------------------------------------------------------------------------------------
Options = Callable[[Env, Draft], Awaitable[Sequence[tuple[Any, str]]]]  # (code, label)


@dataclass
class Step:
    name: str
    ask: str = ""  # catalog key of the question (gets the draft's answers as placeholders)
    label: str = ""  # catalog key of the field's name, for the echo and the review's 修改 button
    optional: bool = False
    when: Callable[[Draft], bool] | None = None
    review_only: bool = False  # not asked in order; reached from the review's 修改 button
    editable: bool = True  # offered on the review
    skip_answered: bool = False  # asked in order only while unanswered (an earlier answer may fill it)
    substep: bool = False  # part of the step before it (a follow-up question): not counted in the progress line, shown with that step's number
    kind = "buttons"  # what a wrong input is told: "text", "buttons", "photos", "location"

    def applies(self, draft: Draft) -> bool:
        return self.when is None or bool(self.when(draft))


@dataclass
class Text(Step):
    max_len: int = 80
    min_len: int = 1
    one_line: bool = True
    check: Callable[[str], tuple[Any, str | None]] | None = None  # -> (value, complaint key)
    hint: str = "form.wrong.length"  # the complaint about the length (gets {max})
    kind = "text"

    def read(self, text: str) -> tuple[Any, str | None]:
        text = " ".join(text.split()) if self.one_line else text.strip()
        if self.check is not None:
            return self.check(text)
        if len(text) < self.min_len or len(text) > self.max_len:
            return None, self.hint
        return text, None


@dataclass
class Count(Step):
    low: int = 0
    high: int = 100_000
    kind = "text"


@dataclass
class When(Step):
    want: str = "future"  # or "past"
    quick: Sequence[tuple[str, str, str]] = ()  # (code, label key, the words the button stands for)
    hints: dict[str, str] = field(default_factory=dict)  # parse_when reason -> catalog key
    echo: Callable[[Env, datetime], str] | None = None  # how the answer is echoed (default: the day)
    # confirm(env, value, year_inferred) -> a question to ask before the value is taken
    # ("是指2027年11月底吗?" with 是 / 不是,重新输入), or None to take it at once.
    confirm: Callable[[Env, datetime, bool], str | None] | None = None
    kind = "text"


@dataclass
class Choice(Step):
    options: Options | None = None
    multi: bool = False
    per_row: int = 2
    page_size: int = 8
    min_chosen: int = 1
    done: str = "form.btn.done"  # the multi choice's confirm button


@dataclass
class Photos(Step):
    max_photos: int = 10
    kind = "photos"


@dataclass
class Location(Step):
    kind = "location"


@dataclass
class Outcome:
    """What a Custom step's handler decided: ``done`` moves on; otherwise the question is asked
    again, with an optional ``alert`` (button) or ``note`` (message)."""

    done: bool = False
    alert: str | None = None
    note: str | None = None
    echo: str = ""  # the answer as shown back ("✅ 网格:一网格"), for a typed one
    then: str | None = None  # with ``done``: the step to ask next instead of the following one
    quiet: bool = False  # taken without a new screen (the rest of an album, for instance)
    said: str = ""  # with ``done``: a line shown as is on top of the next screen (a form's own echo)


@dataclass
class Custom(Step):
    """The escape hatch: ``show(env, draft) -> Screen`` (the engine adds the navigation row) and
    ``handle(env, draft, input) -> Outcome`` for every input that is not generic."""

    show: Callable[[Env, Draft], Awaitable[Screen]] | None = None
    handle: Callable[[Env, Draft, Input], Awaitable[Outcome]] | None = None
    kind_: str = "buttons"

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.kind_


def quick_or_typed(
    flow: str, labels: str, count: int, *, max_len: int = 300, bad: str = "review.bad_reason", into: str = "reason"
) -> tuple[Callable[[Callable[..., str]], list[list[Button]]], Callable[[Env, Draft, Input], Awaitable[Outcome]]]:
    """A Custom step's buttons and handler for "tap a quick answer or type your own" (a reason
    to send something back): the buttons ``<labels>1`` … ``<labels><count>`` (``labels`` ends with
    its dot: ``"review.reason."``) carry
    ``<flow>:why:<n>``; a typed answer is kept on one line, at most ``max_len`` characters (else
    ``bad`` with {max}). The answer goes to ``draft[into]``."""

    def buttons(t: Callable[..., str]) -> list[list[Button]]:
        return [[Button(t(f"{labels}{n}"), payload(flow, "why", n))] for n in range(1, count + 1)]

    async def handle(env: Env, draft: Draft, inp: Input) -> Outcome:
        t = env.t
        if inp.kind == "button":
            if inp.action != "why" or not 1 <= parse_page(inp.arg) <= count:
                return Outcome(alert=t("form.stale"))
            draft[into] = t(f"{labels}{inp.arg}")
            return Outcome(done=True)
        text = " ".join(inp.text.split()) if inp.kind == "text" else ""
        if not text or len(text) > max_len:
            return Outcome(note=t(bad, max=max_len))
        draft[into] = text
        return Outcome(done=True)

    return buttons, handle


@dataclass
class Saved:
    """The save's answer: the final message (the form is over) and the record. ``screen`` None:
    the save answered through the channel itself (several messages, e.g. joining's welcome)."""

    screen: Screen | None
    record: Any = None


@dataclass
class Retry:
    """The save refused: ask ``step`` again with ``hint`` (the draft stays)."""

    step: str
    hint: str


@dataclass
class Form:
    name: str  # the payload prefix and the key of the draft
    steps: Sequence[Step]
    save: Callable[[Env, Draft], Awaitable[Saved | Retry]]
    review: Callable[[Env, Draft], Awaitable[str]] | None = None  # None: save after the last step
    command: Any = None  # e.g. handlers.auth.Command: its ``name`` opens the form
    allowed: Any = None  # the Command whose roles may use a form that has no command of its own
    entry: str | None = None  # the action of an entry button (``<form>:<entry>:<arg>``)
    aliases: Sequence[str] = ()  # older entry payload prefixes ("review:resub") on users' messages
    setup: Callable[[Env, Draft], Awaitable[str | Screen | None]] | None = None  # fill a new draft; or refuse (a key, or a Screen)
    keys: dict[str, str] = field(default_factory=dict)  # overrides of the form.* keys
    title: Callable[[Draft], str] | None = None  # for the resume offer; default: the first answer
    # True: "now" is when the user sent the message (remembered in the draft as ``now`` for the
    # presses, which carry no time), not the bot's clock: a message handled late keeps its day.
    message_clock: bool = False
    # An input the current step does not take (a photo at a text step...): the form may keep it
    # for a later step (an Outcome: its note, or nothing when quiet) instead of the wrong-input
    # hint (None). Not called for buttons, commands or typed cancel words.
    aside: Callable[[Env, Draft, Input], Awaitable[Outcome | None]] | None = None
    # A press of one of the form's buttons on an older message or while it is not open (a
    # second 保存...), or an entry button its setup refused (an offer's 保存 tapped again): the
    # alert to answer with instead of form.stale or the refusal (None: those).
    late: Callable[[Env, Input], Awaitable[str | None]] | None = None
    # A text typed at the first question (or a photo's caption there) may state several fields
    # ("昨天在3组清理了垃圾"): ``read`` stores what it found and returns those steps' names; the
    # engine notes them (form.read), marks them ``filled`` (skipped in order, still on the
    # review) and asks the first step still missing. [] : the step's own answer as usual.
    read: Callable[[Env, Draft, Input], Awaitable[Sequence[str]]] | None = None
    # The form ended by its save or a cancel: the draft to keep under the form's key after it
    # (e.g. a new report set aside while an old one was corrected; None: nothing) and a line
    # to add under the last message ("": none).
    closed: Callable[[Env, Draft], Awaitable[tuple[Draft | None, str]]] | None = None
    # The key of the cancel text for this draft (e.g. a correction: "the report stays as it was").
    cancelled: Callable[[Draft], str] | None = None
    # The first step a save still needs (None: none), the save's own check: once a save was
    # refused (Retry), each answer goes on to the next missing step, and the review comes when
    # nothing is missing (an offer's "还需要补充:A、B" asks A, then B, then the review).
    missing: Callable[[Env, Draft], str | None] | None = None

    def key(self, key: str) -> str:
        return self.keys.get(key, key)

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    def state(self, step: str) -> str:
        return f"{self.name}:{step}"

    @property
    def states(self) -> list[str]:
        return [self.state(s.name) for s in self.steps] + [self.state(RESUME), self.state(REVIEW)]


def current(draft: Draft) -> str:
    history = draft.get("history") or []
    return history[-1] if history else ""


def answered(form: Form, draft: Draft) -> bool:
    """At least one question was answered (the user got past the first one), or the draft was
    opened at its review (filled from elsewhere: a correction, a message read)."""
    history = [h for h in draft.get("history") or [] if h != RESUME]
    return len(history) > 1 or REVIEW in history


def new_draft(arg: str = "") -> Draft:
    return {"token": secrets.token_hex(8), "history": [], "arg": arg}


# -- screens ----------------------------------------------------------------------------------------
def _t(form: Form, env: Env, key: str, **kw: Any) -> str:
    return env.t(form.key(key), **kw)


def _fields(draft: Draft) -> dict[str, Any]:
    return {k: ("" if v is None else v) for k, v in draft.items() if k not in RESERVED}


def sequence(form: Form, draft: Draft) -> list[Step]:
    return [s for s in form.steps if not s.review_only and s.applies(draft)]


def progress(form: Form, env: Env, draft: Draft, step: Step) -> str:
    steps = sequence(form, draft)
    counted = [s for s in steps if not s.substep]
    if step not in steps or len(counted) < 2:
        return ""
    number = len([s for s in steps[: steps.index(step) + 1] if not s.substep])
    return _t(form, env, "form.progress", n=max(1, number), total=len(counted))


def nav_row(form: Form, env: Env, draft: Draft, step: Step | None) -> list[Button]:
    row = []
    if len(draft.get("history") or []) > 1 or draft.get("editing"):
        row.append(Button(_t(form, env, "form.btn.back"), payload(form.name, BACK)))
    if step is not None and step.optional:
        row.append(Button(_t(form, env, "form.btn.skip"), payload(form.name, SKIP)))
    row.append(Button(_t(form, env, "form.btn.cancel"), payload(form.name, CANCEL)))
    return row


async def options_of(step: Choice, env: Env, draft: Draft) -> list[tuple[str, str]]:
    """The choice's (code, label) pairs; codes are text, as they travel in payloads."""
    return [(str(code), label) for code, label in await step.options(env, draft)] if step.options else []


async def _step_screen(form: Form, env: Env, draft: Draft, step: Step) -> Screen:
    t = env.t
    rows: list[list[Button]] = []
    pending = draft.get("confirm")
    if isinstance(step, Custom) and step.show is not None:
        screen = await step.show(env, draft)
        text, rows = screen.text, list(screen.buttons)
    elif isinstance(step, When) and pending and pending.get("step") == step.name:
        rows = [[Button(_t(form, env, "form.btn.sure_yes"), payload(form.name, SURE, "yes")),
                 Button(_t(form, env, "form.btn.sure_no"), payload(form.name, SURE, "no"))],
                nav_row(form, env, draft, step)]
        return Screen(str(pending.get("text") or ""), rows)
    else:
        text = t(step.ask, **_fields(draft)) if step.ask else ""
    if isinstance(step, When) and step.quick:
        rows.append([Button(t(label), payload(form.name, QUICK, code)) for code, label, _ in step.quick])
    elif isinstance(step, Choice):
        options = await options_of(step, env, draft)
        chosen = set(draft.get(step.name) or []) if step.multi else {draft.get(step.name)}
        page = int(draft.get("page") or 0) if len(options) > step.page_size else 0
        shown = options[page * step.page_size : (page + 1) * step.page_size]
        buttons = []
        for code, label in shown:
            mark = "form.selected" if code in chosen else "form.unselected"
            buttons.append(Button(_t(form, env, mark, name=label) if step.multi else label, payload(form.name, PICK, code)))
        rows += [buttons[i : i + step.per_row] for i in range(0, len(buttons), step.per_row)]
        pager = []
        if page > 0:
            pager.append(Button(_t(form, env, "form.btn.prev"), payload(form.name, PAGE, page - 1)))
        if (page + 1) * step.page_size < len(options):
            pager.append(Button(_t(form, env, "form.btn.more"), payload(form.name, PAGE, page + 1)))
        if pager:
            rows.append(pager)
        if step.multi:
            rows.append([Button(_t(form, env, step.done), payload(form.name, OK))])
    elif isinstance(step, Photos) and draft.get(step.name):
        rows.append([Button(_t(form, env, "form.btn.done"), payload(form.name, OK))])
    rows.append(nav_row(form, env, draft, step))
    head = progress(form, env, draft, step)
    return Screen(f"{head}\n{text}" if head else text, rows)


async def review_screen(form: Form, env: Env, draft: Draft) -> Screen:
    if form.review is None:
        raise ValueError(f"form {form.name} has no review")
    rows = [[Button(_t(form, env, "form.btn.save"), payload(form.name, SAVE, draft["token"]))]]
    edits = [
        Button(_t(form, env, "form.btn.edit", field=env.t(s.label)), payload(form.name, EDIT, s.name))
        for s in form.steps
        if s.editable and s.label and s.applies(draft)
    ]
    rows += [edits[i : i + 2] for i in range(0, len(edits), 2)]
    rows.append(nav_row(form, env, draft, None))
    return Screen(await form.review(env, draft), rows)


def resume_screen(form: Form, env: Env, draft: Draft) -> Screen:
    first = next((draft[s.name] for s in form.steps if draft.get(s.name) not in (None, "", [])), "")
    title = form.title(draft) if form.title else str(first)
    rows = [[Button(_t(form, env, "form.btn.resume"), payload(form.name, GO, "go")),
             Button(_t(form, env, "form.btn.restart"), payload(form.name, GO, "new"))]]
    return Screen(_t(form, env, "form.ask.resume", title=title), rows)


async def goto(form: Form, env: Env, draft: Draft, name: str, *, notes: Sequence[str] = (),
               echo: str = "", alert: str | None = None, edit: bool = True) -> Reply:
    """Ask ``name`` (a step, the review or the resume offer) and remember it in the history."""
    history = draft.setdefault("history", [])
    if name == REVIEW and REVIEW in history:  # back to the review: forget the edits' detours
        del history[history.index(REVIEW) + 1 :]
    elif not history or history[-1] != name:
        history.append(name)
    if name == REVIEW:
        draft["editing"] = False
        draft.pop("missing", None)
        screen = await review_screen(form, env, draft)
    elif name == RESUME:
        screen = resume_screen(form, env, draft)
    else:
        step = form.step(name)
        if step is None:
            raise ValueError(f"form {form.name} has no step {name!r}")
        screen = await _step_screen(form, env, draft, step)
    if echo:
        screen = Screen(f"{echo}\n\n{screen.text}", screen.buttons)
    return Reply(draft, form.state(name), screen, list(notes), alert, edit)


def next_step(form: Form, draft: Draft, done: str) -> str | None:
    """The step after ``done`` that applies (None: all asked); steps ``filled`` by a reader or
    by the form's setup are not asked."""
    names = [s.name for s in form.steps]
    after = names.index(done) + 1 if done in names else 0
    filled = draft.get("filled") or ()
    for step in form.steps[after:]:
        if step.review_only or not step.applies(draft) or step.name in filled:
            continue
        if step.skip_answered and draft.get(step.name) not in (None, ""):
            continue
        if not (draft.get("editing") and step.name in draft):
            return step.name
    return None


async def advance(form: Form, env: Env, draft: Draft, done: str, *, echo: str = "") -> Reply:
    """After an answer: the next question; once all are asked (or after an edit), the review."""
    editing = bool(draft.get("editing"))
    if done in (draft.get("filled") or ()):  # answered by the user now, no longer as read
        draft["filled"] = [name for name in draft["filled"] if name != done]
    following = next_step(form, draft, done)
    if editing and following is not None and form.step(following) and form.step(following).when is None:  # type: ignore[union-attr]
        following = None  # an edit goes back to the review unless it opened a conditional step
    if following is None and editing and draft.get("missing") and form.missing is not None:
        following = form.missing(env, draft)  # a refused save: the next thing it still needs
        if following is not None and (following == done or form.step(following) is None):
            following = None  # the answer did not do (the save will say why) or not a step
    if following is not None:
        return await goto(form, env, draft, following, echo=echo)
    if form.review is None:
        return await save(form, env, draft, echo=echo)
    return await goto(form, env, draft, REVIEW, echo=echo)


async def save(form: Form, env: Env, draft: Draft, *, echo: str = "") -> Reply:
    result = await form.save(env, draft)
    if isinstance(result, Retry):
        draft["editing"] = True
        draft["missing"] = True  # the following answers go on to what is still missing (Form.missing)
        return await goto(form, env, draft, result.step, alert=env.t(result.hint), echo=echo)
    screen = result.screen
    if echo and screen is not None:
        screen = Screen(f"{echo}\n\n{screen.text}", screen.buttons)
    return await _closed(form, env, draft, Reply(None, None, screen, record=result.record))


async def _closed(form: Form, env: Env, draft: Draft, reply: Reply) -> Reply:
    """The form ended (saved or cancelled): its ``closed`` hook may keep a draft after it and
    add a line under the last message."""
    if form.closed is None:
        return reply
    kept, line = await form.closed(env, draft)
    screen = reply.screen
    if line and screen is not None:
        screen = Screen(f"{screen.text}\n\n{line}", screen.buttons)
    return Reply(kept, None, screen, reply.notes, reply.alert, reply.edit, reply.hand_over, reply.record)


DATE_HINTS = {
    "empty": "form.wrong.date_empty",
    "not_a_date": "form.wrong.date_not_a_date",
    "past": "form.wrong.date_past",
    "future": "form.wrong.date_future",
    "too_old": "form.wrong.date_too_old",
}


def _echo(form: Form, env: Env, step: Step, shown: str) -> str:
    return _t(form, env, "form.echo", field=env.t(step.label), value=shown) if step.label else ""


# -- the entry points --------------------------------------------------------------------------------
async def open_form(form: Form, env: Env, draft: Draft | None, arg: str = "", *, at: datetime | None = None,
                    inp: Input | None = None) -> Reply:
    """The form's command or entry button (``inp``, the press): the resume offer for a kept
    draft, else a new one."""
    env = clocked(form, env, draft, at)
    return _remember_now(form, env, await _open_form(form, env, draft, arg, inp=inp), at)


async def _open_form(form: Form, env: Env, draft: Draft | None, arg: str = "", state: str | None = None,
                     inp: Input | None = None) -> Reply:
    if draft is not None and answered(form, draft) and str(draft.get("arg") or "") == arg and current(draft):
        draft.pop("asked", None)
        return await goto(form, env, draft, RESUME, edit=False)
    return await restart(form, env, arg, keep=draft, state=state, inp=inp)


async def restart(form: Form, env: Env, arg: str = "", *, keep: Draft | None = None, state: str | None = None,
                  inp: Input | None = None) -> Reply:
    """A new draft (its setup may refuse: then the draft kept before, ``keep``, stays as it was,
    in ``state``). A refused entry button (``inp``) gets the form's ``late`` answer when it has
    one (the 保存 of an offer saved before: "已保存 #12"), else the refusal."""
    draft = new_draft(arg)
    if form.setup is not None:
        refusal = await form.setup(env, draft)
        if isinstance(refusal, Screen):  # a refusal that needs more than a key (names, counts)
            if state is not None:  # the form stays at its question: the refusal is a note
                return Reply(keep, state, notes=[refusal.text])
            return Reply(keep, None, refusal)
        if refusal:
            told = await form.late(env, inp) if form.late is not None and inp is not None and inp.kind == "button" else None
            return Reply(keep, state, alert=told or env.t(refusal))
    opened_at = draft.pop(OPEN_AT, None)  # a setup that filled the answers from elsewhere
    if draft.get("now"):  # ... may also bring the time they were given at (message_clock)
        env = clocked(form, env, draft, None)
    if opened_at in (SAVE, REVIEW):
        draft["editing"] = True  # answering what is missing returns to the review
        return await save(form, env, draft) if opened_at == SAVE else await goto(form, env, draft, REVIEW)
    first = next_step(form, draft, "")
    if first is None:
        return await advance(form, env, draft, "")
    return await goto(form, env, draft, first)


def stale(form: Form, env: Env, draft: Draft | None, state: str | None) -> Reply:
    """A button of an older message or of a form not open: refused politely, nothing changes."""
    return Reply(draft, state, alert=_t(form, env, "form.stale"))


async def late(form: Form, env: Env, inp: Input, draft: Draft | None = None, state: str | None = None) -> Reply:
    """A button of the form on an older message, or while the form is not open: its ``late``
    answer (e.g. "saved as #12" for a second 保存), else :func:`stale`. Nothing changes."""
    alert = await form.late(env, inp) if form.late is not None and inp.kind == "button" else None
    return Reply(draft, state, alert=alert) if alert else stale(form, env, draft, state)


def timeout(form: Form, env: Env, draft: Draft | None) -> Reply:
    """Idle too long: the form pauses, the draft stays for the resume offer."""
    key = "form.timeout" if form.command is not None else "form.timeout_plain"
    return Reply(draft, None, notes=[_t(form, env, key, command=_command(form), minutes=IDLE_MINUTES)])


def _command(form: Form) -> str:
    return f"/{form.command.name}" if form.command is not None else ""


def clocked(form: Form, env: Env, draft: Draft | None, at: datetime | None) -> Env:
    """The env whose ``now`` is the message's time (or the draft's remembered one), for a form
    with ``message_clock``; unchanged otherwise, or when neither is known."""
    if not form.message_clock:
        return env
    if at is not None:
        moment = at
    elif draft is not None and draft.get("now"):
        moment = datetime.fromisoformat(draft["now"])
    else:
        return env
    return replace(env, now=moment.astimezone(ZoneInfo(env.tz)))


def _remember_now(form: Form, env: Env, reply: Reply, at: datetime | None = None) -> Reply:
    """Remember "now" in the draft: the time of a message, or (a press) what the draft or its
    setup already knew, else the clock."""
    if form.message_clock and reply.draft is not None and (at is not None or not reply.draft.get("now")):
        reply.draft["now"] = env.now.isoformat()
    return reply


# -- one input ---------------------------------------------------------------------------------------
async def handle(form: Form, env: Env, draft: Draft | None, inp: Input) -> Reply:
    """Handle one input while the form is open (its state is ``<form>:<current step>``)."""
    env = clocked(form, env, draft, inp.at)
    return _remember_now(form, env, await _handle(form, env, draft, inp), inp.at)


async def _handle(form: Form, env: Env, draft: Draft | None, inp: Input) -> Reply:
    if draft is None or not current(draft):
        # the draft is gone (user data wiped): a press is stale, anything else goes elsewhere
        return await late(form, env, inp) if inp.kind == "button" else Reply(None, None, hand_over=True)
    state = form.state(current(draft))
    if inp.kind == "button":
        flow, action, arg = parse_payload(inp.payload)
        entries = (form.entry, *[a.partition(":")[2] for a in form.aliases if a.partition(":")[0] == form.name])
        if flow == form.name and form.entry and action in entries:  # its entry button, from any message
            return await _open_form(form, env, draft, arg, state, inp=inp)
        if flow != form.name:
            return stale(form, env, draft, state)
        if draft.get("asked") is not None and inp.message_id != draft.get("asked"):
            return await late(form, env, inp, draft, state)
        if action == CANCEL:
            return await _closed(form, env, draft, cancel(form, env, draft))
    elif inp.kind == "command":
        if inp.command == "cancel":
            return await _closed(form, env, draft, cancel(form, env, draft))
        if form.command is not None and inp.command == form.command.name:
            return await _open_form(form, env, draft, str(draft.get("arg") or ""))
        key = "form.paused" if form.command is not None else "form.paused_plain"
        return Reply(draft, None, notes=[_t(form, env, key, command=_command(form))], hand_over=True)
    elif inp.kind == "text" and is_cancel_words(inp.text):
        return await _closed(form, env, draft, cancel(form, env, draft))

    name = current(draft)
    if inp.kind == "photos" and inp.album is not None and draft.get("album") == inp.album and not isinstance(form.step(name), Photos):
        if form.aside is not None:  # the rest of an album kept aside: taken quietly, like its first photo
            await form.aside(env, draft, replace(inp, text=""))
        return Reply(draft, state)  # the rest of an album a step took one photo of: already answered
    if name == RESUME:
        if inp.kind == "button" and inp.action == GO:
            if inp.arg == "new":
                return await restart(form, env, str(draft.get("arg") or ""))
            history = [h for h in draft.get("history") or [] if h != RESUME and (h == REVIEW or form.step(h))]
            draft["history"] = history
            return await goto(form, env, draft, history[-1] if history else (next_step(form, draft, "") or REVIEW))
        return await _wrong(form, env, draft, "buttons", inp)
    if inp.kind == "button" and inp.action == BACK:
        return await back(form, env, draft)
    if name == REVIEW:
        if inp.kind != "button":
            return await _wrong(form, env, draft, "buttons", inp)
        if inp.action == SAVE:
            if inp.arg != draft.get("token"):
                return stale(form, env, draft, state)
            return await save(form, env, draft)
        if inp.action == EDIT and form.step(inp.arg) is not None:
            draft["editing"] = True
            return await goto(form, env, draft, inp.arg)
        return stale(form, env, draft, state)

    step = form.step(name)
    if step is None:  # a step the form no longer has (an old draft): start its questions again
        draft["history"] = []
        return await goto(form, env, draft, next_step(form, draft, "") or REVIEW)
    if inp.kind == "text":
        jumped = await _read(form, env, draft, inp)
        if jumped is not None:
            return jumped
    if inp.kind == "button" and inp.action == SKIP and step.optional:
        draft[step.name] = None
        return await advance(form, env, draft, name)
    if isinstance(step, Custom):
        if inp.kind == "photos" and step.kind != "photos":  # a photo kept for a later step (Form.aside)
            kept = await _aside(form, env, draft, inp)
            if kept is not None:
                return kept
        if step.handle is None or (step.kind == "buttons" and inp.kind != "button"):
            return await _wrong(form, env, draft, step.kind, inp)
        outcome = await step.handle(env, draft, inp)
        if outcome.done and outcome.then:
            return await goto(form, env, draft, outcome.then, edit=inp.kind == "button")
        if outcome.quiet and not outcome.done:
            return Reply(draft, state, notes=[outcome.note] if outcome.note else [], alert=outcome.alert)
        if outcome.done:
            return await advance(form, env, draft, name, echo=_echo(form, env, step, outcome.echo) if outcome.echo else outcome.said)
        return await goto(form, env, draft, name, notes=[outcome.note] if outcome.note else (),
                          alert=outcome.alert, edit=inp.kind == "button" and not outcome.note)
    if isinstance(step, Text) and inp.kind == "text":
        value, problem = step.read(inp.text)
        if problem:
            return await _hint(form, env, draft, inp, problem, max=step.max_len)
        draft[name] = value
        return await advance(form, env, draft, name, echo=_echo(form, env, step, str(value or "-")))
    if isinstance(step, Count) and inp.kind == "text":
        count = parse_count(inp.text)
        if count is None or not step.low <= count <= step.high:
            return await _hint(form, env, draft, inp, "form.wrong.count", low=step.low, high=step.high)
        draft[name] = count
        return await advance(form, env, draft, name, echo=_echo(form, env, step, str(count)))
    if isinstance(step, When) and inp.kind == "button" and inp.action == SURE:
        pending = draft.pop("confirm", None)
        if not pending or pending.get("step") != name:
            return stale(form, env, draft, state)
        if inp.arg != "yes":  # 不是,重新输入: the question again
            return await goto(form, env, draft, name)
        return await _take_when(form, env, draft, step, datetime.fromisoformat(pending["value"]))
    if isinstance(step, When) and (inp.kind == "text" or (inp.kind == "button" and inp.action == QUICK)):
        draft.pop("confirm", None)  # a new answer replaces one waiting for its confirmation
        typed = inp.text if inp.kind == "text" else next((w for c, _, w in step.quick if c == inp.arg), "")
        when = parse_when(typed, env.now, want=step.want, tz=env.tz)  # type: ignore[arg-type]
        if when.value is None:
            reason = when.reason or "not_a_date"
            return await _hint(form, env, draft, inp, step.hints.get(reason) or DATE_HINTS.get(reason, DATE_HINTS["not_a_date"]))
        question = step.confirm(env, when.value, when.year_inferred) if step.confirm is not None else None
        if question:
            draft["confirm"] = {"step": name, "value": when.value.isoformat(), "text": question}
            return await goto(form, env, draft, name, edit=inp.kind == "button")
        return await _take_when(form, env, draft, step, when.value)
    if isinstance(step, Choice) and inp.kind == "button":
        return await _choice(form, env, draft, step, inp)
    if isinstance(step, Photos) and inp.kind == "photos":
        same_album = inp.album is not None and draft.get("album") == inp.album
        draft["album"] = inp.album
        draft[name] = [*(draft.get(name) or []), *inp.photos][: step.max_photos]
        if same_album:  # an album is acknowledged once, by its first photo
            return Reply(draft, state)
        return await goto(form, env, draft, name, edit=False)
    if isinstance(step, Photos) and inp.kind == "button" and inp.action == OK and draft.get(name):
        return await advance(form, env, draft, name)
    if isinstance(step, Location) and inp.kind == "location" and inp.location:
        draft[name] = {"lat": inp.location[0], "lon": inp.location[1]}
        return await advance(form, env, draft, name)
    if inp.kind == "button":
        return stale(form, env, draft, state)
    return await _wrong(form, env, draft, step.kind, inp)


async def _take_when(form: Form, env: Env, draft: Draft, step: When, value: datetime) -> Reply:
    draft[step.name] = value.isoformat()
    if step.echo is not None:
        shown = step.echo(env, value)
    else:
        shown = day_and_time(env.t, value, env.now) if step.want == "future" else day_label(env.t, value, env.now)
    return await advance(form, env, draft, step.name, echo=_echo(form, env, step, shown))


def first_question(form: Form, draft: Draft) -> bool:
    history = draft.get("history") or []
    return len(history) == 1 and form.step(history[0]) is not None and not draft.get("editing")


async def _read(form: Form, env: Env, draft: Draft, inp: Input, notes: Sequence[str] = ()) -> Reply | None:
    """``form.read`` on a text (or a caption) at the first question; None: it read nothing."""
    if form.read is None or not inp.text or not first_question(form, draft):
        return None
    found = [name for name in await form.read(env, draft, inp) if form.step(name) is not None]
    if not found:
        return None
    draft["filled"] = list(dict.fromkeys([*(draft.get("filled") or []), *found]))
    shown = [env.t(step.label) for step in form.steps if step.name in found and step.label]
    note = _t(form, env, "form.read", fields=env.t("list.sep").join(shown)) if shown else ""
    target = next_step(form, draft, "")
    if target is None:
        target = REVIEW if form.review is not None else None
    if target is None:
        return await save(form, env, draft, echo=note)
    return await goto(form, env, draft, target, notes=[*notes, note] if note else list(notes), edit=False)


async def _aside(form: Form, env: Env, draft: Draft, inp: Input) -> Reply | None:
    """The form's ``aside`` took an input its current step does not take (None: it did not)."""
    if form.aside is None or inp.kind in ("button", "command"):
        return None
    outcome = await form.aside(env, draft, inp)
    if outcome is None:
        return None
    if inp.kind == "photos" and inp.album is not None:
        draft["album"] = inp.album  # the rest of this album goes to ``aside`` too, without a word
    name = current(draft)
    notes = [outcome.note] if outcome.note else []
    if inp.kind == "photos" and inp.text:  # a caption is read like a message
        jumped = await _read(form, env, draft, inp, notes)
        if jumped is not None:
            return jumped
    if outcome.quiet:
        return Reply(draft, form.state(name), notes=notes)
    return await goto(form, env, draft, name, notes=notes, edit=False)


async def _choice(form: Form, env: Env, draft: Draft, step: Choice, inp: Input) -> Reply:
    codes = [code for code, _ in await options_of(step, env, draft)]
    if inp.action == PAGE:
        draft["page"] = parse_page(inp.arg)
        return await goto(form, env, draft, step.name)
    if inp.action == PICK and inp.arg in codes:
        if not step.multi:
            draft[step.name] = inp.arg
            draft.pop("page", None)
            return await advance(form, env, draft, step.name)
        chosen = set(draft.get(step.name) or []) ^ {inp.arg}
        draft[step.name] = [c for c in codes if c in chosen]
        return await goto(form, env, draft, step.name)
    if inp.action == OK and step.multi:
        if len(draft.get(step.name) or []) < step.min_chosen:
            return await goto(form, env, draft, step.name, alert=_t(form, env, "form.wrong.none_chosen"))
        draft.pop("page", None)
        return await advance(form, env, draft, step.name)
    return stale(form, env, draft, form.state(step.name))


async def back(form: Form, env: Env, draft: Draft) -> Reply:
    draft.pop("confirm", None)
    history = draft.setdefault("history", [])
    if draft.get("editing") and len(history) > 1:
        history.pop()
        draft["editing"] = False
        return await goto(form, env, draft, REVIEW if REVIEW in history else history[-1])
    if len(history) > 1:
        history.pop()
    draft["editing"] = False
    return await goto(form, env, draft, history[-1] if history else (next_step(form, draft, "") or REVIEW))


def cancel(form: Form, env: Env, draft: Draft | None = None) -> Reply:
    key = form.cancelled(draft) if form.cancelled is not None and draft is not None else "form.cancelled"
    return Reply(None, None, Screen(_t(form, env, key)))


async def _hint(form: Form, env: Env, draft: Draft, inp: Input, key: str, **kw: Any) -> Reply:
    """A polite note about the answer, then the same question again."""
    text = _t(form, env, key, **kw)
    if inp.kind == "button":
        return await goto(form, env, draft, current(draft), alert=text)
    return await goto(form, env, draft, current(draft), notes=[text], edit=False)


async def _wrong(form: Form, env: Env, draft: Draft, kind: str, inp: Input) -> Reply:
    kept = await _aside(form, env, draft, inp)
    if kept is not None:
        return kept
    wanted = {"text": "form.wrong.text", "photos": "form.wrong.photos", "location": "form.wrong.location"}
    return await _hint(form, env, draft, inp, wanted.get(kind, "form.wrong.buttons"))


# -- one date format for questions and reviews --------------------------------------------------------
def day_label(t: Callable[..., str], value: datetime, now: datetime) -> str:
    """11月27日(周五); with the year only when it is not this year."""
    from babel.dates import format_date

    local = value.astimezone(now.tzinfo) if value.tzinfo and now.tzinfo else value
    key = "form.date" if local.year == now.year else "form.date_year"
    return format_date(local.date(), format=t(key), locale=getattr(t, "babel_locale", "zh_CN"))


def day_and_time(t: Callable[..., str], value: datetime, now: datetime) -> str:
    local = value.astimezone(now.tzinfo) if value.tzinfo and now.tzinfo else value
    return t("form.date_time", date=day_label(t, local, now), time=f"{local:%H:%M}")
