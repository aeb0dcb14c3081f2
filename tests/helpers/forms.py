"""The form engine's toy form (a meeting: title, optional head count, day; the whole form is the
~40 lines a newcomer needs for a new form), and a user who drives the core without Telegram."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from bot.forms import core
from bot.forms.core import Count, Env, Form, Input, Saved, Screen, Text, When
from tests.conftest import NOW, TZ, shared_catalogs

# -- the toy form: a meeting with a title, an optional head count and a day ---------------------
RECORDS: dict[str, dict] = {}  # the toy's "storage", keyed by draft token


async def toy_review(env: Env, draft: dict) -> str:
    return f"review: {draft['title']} / {draft.get('people')} / {draft['day'][:10]}"


async def toy_save(env: Env, draft: dict) -> Saved:
    RECORDS.setdefault(draft["token"], {k: draft[k] for k in ("title", "people", "day")})
    return Saved(Screen(f"saved: {draft['title']}"), record=draft["token"])


TOY = Form(
    "toy",
    command=SimpleNamespace(name="toy"),  # in the bot: a handlers.auth.Command (name and roles)
    steps=[
        Text("title", ask="toy.ask.title", label="toy.field.title", max_len=20),
        Count("people", ask="toy.ask.people", label="toy.field.people", optional=True, high=500),
        When("day", ask="toy.ask.day", label="toy.field.day", want="future",
             quick=(("tmr", "toy.quick.tomorrow", "明天"),)),
    ],
    review=toy_review,
    save=toy_save,
)
# -- end of the toy form --------------------------------------------------------------------------

ENV = Env(t=shared_catalogs("zh_CN").get("zh_CN"), now=NOW, tz="Asia/Shanghai")


class User:
    """Plays the adapter: keeps the draft and state, numbers the messages the bot sends."""

    def __init__(self, form: Form = TOY) -> None:
        self.form, self.draft, self.state, self.reply, self.message_id = form, None, None, None, 0

    async def go(self, reply_or_input) -> core.Reply:
        if isinstance(reply_or_input, Input):
            reply = await core.handle(self.form, ENV, self.draft, reply_or_input)
        else:
            reply = await reply_or_input
        self.draft, self.state, self.reply = reply.draft, reply.state, reply
        pressed = isinstance(reply_or_input, Input) and reply_or_input.kind == "button"
        if reply.screen is not None and reply.draft is not None and not (pressed and reply.edit and not reply.notes):
            self.message_id += 1
            reply.draft["asked"] = self.message_id
        elif reply.draft is not None and reply.screen is not None:
            reply.draft["asked"] = self.message_id
        return reply

    async def open(self) -> core.Reply:
        return await self.go(core.open_form(self.form, ENV, self.draft))

    async def say(self, text: str) -> core.Reply:
        return await self.go(Input("command" if text.startswith("/") else "text", text=text))

    async def press(self, label: str, *, message_id: int | None = None) -> core.Reply:
        buttons = [b for row in self.reply.screen.buttons for b in row]
        button = next(b for b in buttons if label in b.label or label == b.payload)
        return await self.go(Input("button", payload=button.payload, message_id=message_id or self.message_id))

    def text(self) -> str:
        return self.reply.screen.text if self.reply.screen else ""

    def labels(self) -> list[str]:
        return [b.label for row in self.reply.screen.buttons for b in row] if self.reply.screen else []


async def toy_read(env: Env, draft: dict, inp: Input) -> list[str]:
    """The toy's reader: "<title>会 ... 明天 ... N人" (a real form uses bot.rules.reader)."""
    import re

    found = []
    words = inp.text.split()
    if words and words[0].endswith("会"):
        draft["title"] = words[0]
        found.append("title")
    if "明天" in inp.text:
        draft["day"] = datetime(2026, 11, 23, 23, 59, tzinfo=TZ).isoformat()
        found.append("day")
    if match := re.search(r"(\d+)人", inp.text):
        draft["people"] = int(match[1])
        found.append("people")
    return found if len(found) > 1 else []  # one field: the question's own answer
