"""/report: a sanitation clean-up report (人居环境整治), as a form of the engine (:mod:`bot.forms`),
one question at a time, in a private chat:

village (only for people with several; 12 a page; 同上次) → date (今天 / 昨天 / 前天 or typed) →
categories (with the name of 其他) → place (text, a location, 同上次 or 跳过) → who took part (one
line, 同上次, or one count at a time; the villagers are always asked) → amount of work (read
with the units of the chosen categories) → photos (整治前 / 整治后, single photos and albums,
an album acknowledged once) → notes → review (💾 保存 / ✏️ 修改, a menu of the fields).

The engine does the rest, once for every form: back, skip, cancel (also typed), the resume
offer, pause by another command, the timeout, stale buttons, the progress line and one report
per draft token (a second 保存 is told the number saved: ``Form.late``). The day is the day the
user's message was sent (``message_clock``).

Entry buttons ``report:open:<how>``: ``c<id>`` corrects a saved report (更正 in /myreports and
/review; opens at its review; a new report being written is set aside and comes back after,
``Form.closed``), ``t<token>`` / ``s<token>`` open (修改) or save (保存) a report offered from
one message (:mod:`handlers.reports.from_text`). The older ``report:correct:<id>`` still opens
a correction. Inside the form, a first answer (or a photo's caption) that states several fields
fills them (``Form.read``, :func:`bot.rules.reader.read_report`), and a photo sent at any step is
kept for the photo step (``Form.aside``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.forms import core
from bot.forms.core import (
    OPEN_AT,
    REVIEW,
    SAVE,
    Button,
    Custom,
    Env,
    Form,
    Input,
    Outcome,
    Retry,
    Saved,
    Screen,
)
from bot.rules import reports as rules
from bot.rules.dates import EXAMPLES_PAST, parse_when
from bot.rules.ids import id_or_zero, parse_page
from bot.rules.numbers import MAX_PARTICIPANTS, parse_count_approx, parse_participants, read_amounts
from bot.rules.reader import ReaderContext, read_report
from handlers.auth import LEADERS, command
from handlers.reports import permissions
from handlers.reports.draft import (
    AMOUNTS,
    CADRES,
    CATEGORY,
    DATE,
    FLOW,
    MEMBERS,
    NOTES,
    OTHER_NAME,
    PARKED,
    PEOPLE,
    PHOTOS,
    PLACE,
    SEEN_AT,
    VILLAGE,
    VILLAGERS,
    draft_values,
    fields_of,
    missing_step,
)
from handlers.reports.render import amounts_text, full_text, people_text, photos_text, summary

# Village secretaries report; township and district cadres who work in a village may too.
REPORT = command("report", LEADERS)
VILLAGES_PER_PAGE = 12
QUICK_LABELS = {0: "today", -1: "yesterday", -2: "day_before"}  # catalog keys report.btn.*
EDIT = "edit"  # the review's 修改: a menu of the fields
ENTRY = "open"  # the form's entry button: report:open:c<id> (更正), s<token> / t<token> (an offer's 保存 / 修改)
ALBUM_WAIT = 2.0  # seconds of quiet after an album's last photo before acknowledging it
ALBUM_JOB = "report-album"
COUNT_STEPS = {CADRES: "cadres", MEMBERS: "members", VILLAGERS: "villagers"}


def cb(action: str, arg: object = "") -> str:
    return core.payload(FLOW, action, arg)


def rows_of(pairs: list[list[tuple[str, str]]]) -> list[list[Button]]:
    return [[Button(label, data) for label, data in row] for row in pairs if row]


def chunk(buttons: list[tuple[str, str]], per_row: int) -> list[list[tuple[str, str]]]:
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def alert(env: Env, key: str, inp: Input, **kw: Any) -> Outcome:
    """A short note about the answer: an alert for a press, a message for a typed answer."""
    text = env.t(key, **kw)
    return Outcome(alert=text) if inp.kind == "button" else Outcome(note=text)


def stale(env: Env) -> Outcome:
    return Outcome(alert=env.t("form.stale"))


# -- reads the form repeats, kept while the database says nothing they depend on changed -------
CACHE_SIZE = 1000  # entries per kind (one a user)


async def remembered(context: Any, kind: str, key: Hashable, load: Callable[[], Awaitable[Any]],
                     *, reports: bool = False) -> Any:
    """``load()``, or its value from an earlier update while it still holds: kept under the
    database's ``generation`` (people and units; another process's commit) and, with
    ``reports``, its ``reports_generation``, both read *before* the load, so a change made
    while it ran makes the next call load again. The /report screens read the villages and
    the last report at several steps of one report; each is read once."""
    db = context.repos.db
    stamp = (await db.current_generation(), db.reports_generation if reports else 0)
    extras = context.services.extras
    cache = extras.get(kind)
    if cache is None:
        cache = extras[kind] = OrderedDict()
    hit = cache.get(key)
    if hit is not None and hit[0] == stamp:
        cache.move_to_end(key)
        return hit[1]
    value = await load()
    cache[key] = (stamp, value)
    cache.move_to_end(key)
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return value


# -- who may report where -------------------------------------------------------------------
async def villages_of(context: Any) -> list[Any]:
    """The villages the user may report for: their own, or those under their township/district."""
    person = context.person
    if person is None:
        return []
    return list(await remembered(context, "cache:villages", (person.id, person.unit_id), lambda: _villages(context)))


async def _villages(context: Any) -> list[Any]:
    person = context.person
    org = context.repos.org
    unit = await org.unit(person.unit_id)
    if unit is None:
        return []
    if unit.level == "village":
        return [unit]
    if unit.level == "grid":
        parent = await org.unit(unit.parent_id) if unit.parent_id else None
        return [parent] if parent is not None else []
    return await org.subtree(unit.id, "village")


async def last_report(env: Env, draft: dict[str, Any]) -> Any:
    context = env.ctx
    if context.person is None:
        return None
    person_id, exclude = context.person.id, draft.get("report_id")
    return await remembered(
        context, "cache:last_report", (person_id, exclude),
        lambda: context.repos.reports.last_by_reporter(person_id, exclude=exclude), reports=True,
    )


def answered(draft: dict[str, Any], step: str) -> None:
    done = draft.setdefault("answered", [])
    if step not in done:
        done.append(step)


# -- village --------------------------------------------------------------------------------
async def show_village(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    villages = await villages_of(env.ctx)
    page = int(draft.get("village_page") or 0)
    pages = max(1, -(-len(villages) // VILLAGES_PER_PAGE))
    page = min(page, pages - 1)
    shown = villages[page * VILLAGES_PER_PAGE : (page + 1) * VILLAGES_PER_PAGE]
    rows = chunk([(u.name, cb("village", u.id)) for u in shown], 3)
    if pages > 1:
        paging = []
        if page > 0:
            paging.append((t("report.btn.prev_page"), cb("vpage", page - 1)))
        if page + 1 < pages:
            paging.append((t("report.btn.next_page"), cb("vpage", page + 1)))
        rows.append(paging)
    text = t("report.q.village")
    last = await last_report(env, draft)
    if last is not None and any(u.id == last.fields.unit_id for u in villages):
        text += "\n" + t("report.last_value", value=last.unit_name)
        rows.insert(0, [(t("report.btn.same_as_last"), cb("same", VILLAGE))])
    return Screen(text, rows_of(rows))


async def take_village(env: Env, draft: dict[str, Any], unit: Any, inp: Input) -> Outcome:
    if unit is None or unit.id not in {u.id for u in await villages_of(env.ctx)}:
        return alert(env, "report.hint.not_your_village" if inp.kind == "button" else "report.hint.village_unknown", inp)
    draft["unit_id"], draft["unit_name"] = unit.id, unit.name
    return Outcome(done=True, said=env.t("report.echo.village", value=unit.name))


async def village(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    org = env.ctx.repos.org
    if inp.kind == "button":
        if inp.action == "vpage":
            draft["village_page"] = parse_page(inp.arg)
            return Outcome()
        if inp.action == "same" and inp.arg == VILLAGE:
            last = await last_report(env, draft)
            return await take_village(env, draft, await org.unit(last.fields.unit_id) if last else None, inp) if last else stale(env)
        if inp.action == "village":
            return await take_village(env, draft, await org.unit(id_or_zero(inp.arg)), inp)
        return stale(env)
    if inp.kind != "text":
        return alert(env, "form.wrong.text", inp)
    name = rules.clean_text(inp.text) or ""
    villages = await villages_of(env.ctx)
    matches = [u for u in villages if u.name == name] or [u for u in villages if name and name in u.name]
    return await take_village(env, draft, matches[0] if len(matches) == 1 else None, inp)


# -- date -----------------------------------------------------------------------------------
async def show_date(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    buttons = [(t(f"report.btn.{QUICK_LABELS[offset]}"), cb("date", offset)) for offset in rules.QUICK_DAYS]
    return Screen(t("report.q.date"), rows_of([buttons]))


def date_refusal(env: Env, reason: str) -> str:
    t = env.t
    if reason == "future":
        return t("report.date.future")
    if reason == "too_old":
        return t("report.date.too_old", days=env.ctx.services.settings.report_max_age_days)
    return t("report.date.not_a_date", first=EXAMPLES_PAST[0], second=EXAMPLES_PAST[1])


async def work_date(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    max_age = env.ctx.services.settings.report_max_age_days
    today = env.now.date()
    if inp.kind == "button":
        if inp.action != "date":
            return stale(env)
        arg = inp.arg
        offset = -parse_page(arg[1:]) if arg.startswith("-") else parse_page(arg)
        day = today + timedelta(days=offset if offset in rules.QUICK_DAYS else 0)
        problem = rules.work_date_problem(day, today, max_age)
        if problem is not None:
            return Outcome(alert=date_refusal(env, problem))
    elif inp.kind == "text":
        when = parse_when(inp.text, env.now, want="past", max_age_days=max_age, tz=env.tz)
        if when.value is None:
            return Outcome(note=date_refusal(env, when.reason or ""))
        day = when.value.date()
    else:
        return alert(env, "form.wrong.text", inp)
    draft["work_date"] = day.isoformat()
    return Outcome(done=True, said=env.t("report.echo.date", value=env.t.date(day)))


# -- categories (and the name of 其他) -------------------------------------------------------
async def show_category(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    chosen = draft.get("categories") or []
    buttons = []
    for code in rules.CATEGORIES:
        label = t(f"report.cat.{code}")
        buttons.append((t("report.chosen", label=label) if code in chosen else label, cb("cat", code)))
    rows = chunk(buttons, 2)
    rows.append([(t("report.btn.next"), cb("catdone"))])
    return Screen(t("report.q.category"), rows_of(rows))


async def category(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.action == "cat":
        draft["categories"] = rules.choose_categories(draft.get("categories") or [], inp.arg)
        return Outcome()
    if inp.action == "catdone":
        if not draft.get("categories"):
            return Outcome(alert=env.t("report.hint.pick_category"))
        return Outcome(done=True)
    return stale(env)


def wants_other_name(draft: dict[str, Any]) -> bool:
    return rules.OTHER in (draft.get("categories") or ())


async def show_other_name(env: Env, draft: dict[str, Any]) -> Screen:
    text = env.t("report.q.other_name", max=rules.MAX_OTHER_NAME_LEN)
    if draft.get("other_name"):
        text += "\n" + env.t("report.current_value", value=draft["other_name"])
    return Screen(text)


async def other_name(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind != "text":
        return stale(env) if inp.kind == "button" else alert(env, "form.wrong.text", inp)
    if rules.text_problem(inp.text, rules.MAX_OTHER_NAME_LEN):
        return Outcome(note=env.t("report.hint.too_long", max=rules.MAX_OTHER_NAME_LEN))
    draft["other_name"] = rules.clean_text(inp.text)
    return Outcome(done=True)


# -- place ----------------------------------------------------------------------------------
async def show_place(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    text = t("report.q.place")
    rows: list[list[tuple[str, str]]] = []
    last = await last_report(env, draft)
    if last is not None and (last.fields.place or last.fields.latitude is not None):
        text += "\n" + t("report.last_value", value=last.fields.place or t("report.location_shared"))
        rows.append([(t("report.btn.same_as_last"), cb("same", PLACE))])
    return Screen(text, rows_of(rows))


def set_place(env: Env, draft: dict[str, Any], place: str | None, lat: float | None = None, lon: float | None = None) -> Outcome:
    """The place, or a shared location (``place`` is then "", so 跳过, which sets it to None,
    also forgets the location)."""
    draft["place"] = place if place else ("" if lat is not None else None)
    draft["lat"], draft["lon"] = lat, lon
    said = ""
    if place:
        said = env.t("report.echo.place", value=place)
    elif lat is not None:
        said = env.t("report.echo.location")
    return Outcome(done=True, said=said)


async def place(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind == "button":
        last = await last_report(env, draft) if inp.action == "same" and inp.arg == PLACE else None
        if last is None:
            return stale(env)
        return set_place(env, draft, last.fields.place, last.fields.latitude, last.fields.longitude)
    if inp.kind == "location" and inp.location:
        return set_place(env, draft, None, *inp.location)
    if inp.kind != "text":
        return alert(env, "form.wrong.text", inp)
    if rules.text_problem(inp.text, rules.MAX_PLACE_LEN):
        return Outcome(note=env.t("report.hint.too_long", max=rules.MAX_PLACE_LEN))
    return set_place(env, draft, rules.clean_text(inp.text))


# -- who took part ----------------------------------------------------------------------------
async def show_people(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    text = t("report.q.people")
    row = [(t("report.btn.one_by_one"), cb("onebyone"))]
    last = await last_report(env, draft)
    if last is not None:
        text += "\n" + t("report.last_value", value=people_text(t, last.fields))
        row.insert(0, (t("report.btn.same_as_last"), cb("same", PEOPLE)))
    return Screen(text, rows_of([row]))


def set_people(env: Env, draft: dict[str, Any], cadres: int, members: int, villagers: int,
               approx: dict[str, str] | None = None) -> Outcome:
    if rules.participants_problem(cadres, members, villagers):
        return Outcome(note=env.t("report.hint.nobody"))
    draft["cadres"], draft["members"], draft["villagers"] = cadres, members, villagers
    draft["people_approx"] = dict(approx or {})
    draft.pop("people_mode", None)
    answered(draft, PEOPLE)
    return Outcome(done=True, said=env.t("report.echo.people", value=people_text(env.t, fields_of(draft))))


def participants_hint(reason: str) -> str:
    return {"negative": "report.hint.negative", "too_large": "report.hint.too_many_people"}.get(
        reason, "report.hint.people_format_approx"
    )


async def people(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind == "button":
        if inp.action == "onebyone":
            draft["people_mode"] = "one"  # the three counts, one at a time (steps that apply now)
            return Outcome(done=True)
        last = await last_report(env, draft) if inp.action == "same" and inp.arg == PEOPLE else None
        if last is None:
            return stale(env)
        f = last.fields
        return set_people(env, draft, f.cadres, f.members, f.villagers, dict(f.people_approx))
    if inp.kind != "text":
        return alert(env, "form.wrong.text", inp)
    result = parse_participants(inp.text)
    if isinstance(result, str):
        return Outcome(note=env.t(participants_hint(result), max=MAX_PARTICIPANTS))
    approx = dict(result.approx)
    if not rules.villagers_given(inp.text):  # the seeds insist villagers take part: asked next
        draft["cadres"], draft["members"] = result.cadres, result.members
        draft.pop("villagers", None)
        draft["people_approx"] = {g: f for g, f in approx.items() if g != "villagers"}
        draft["people_mode"] = "villagers"
        return Outcome(done=True)
    return set_people(env, draft, result.cadres, result.members, result.villagers, approx)


async def show_count(env: Env, draft: dict[str, Any], step: str) -> Screen:
    if step == VILLAGERS:
        return Screen(env.t("report.q.villagers", cadres=draft.get("cadres", 0), members=draft.get("members", 0)))
    return Screen(env.t("report.q.cadres" if step == CADRES else "report.q.members"))


def count_step(step: str) -> Custom:
    async def show(env: Env, draft: dict[str, Any]) -> Screen:
        return await show_count(env, draft, step)

    async def handle(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
        if inp.kind != "text":
            return stale(env) if inp.kind == "button" else alert(env, "form.wrong.text", inp)
        env.ctx.user_data[SEEN_AT] = env.now.isoformat()
        read = parse_count_approx(inp.text)
        if read is None:
            return Outcome(note=env.t("report.hint.count"))
        count, approx_form = read
        if count > MAX_PARTICIPANTS:
            return Outcome(note=env.t("report.hint.too_many_people", max=MAX_PARTICIPANTS))
        group = COUNT_STEPS[step]
        draft[group] = count
        approx = {g: f for g, f in (draft.get("people_approx") or {}).items() if g != group}
        if approx_form is not None:
            approx[group] = approx_form
        draft["people_approx"] = approx
        if step != VILLAGERS:
            return Outcome(done=True)
        return set_people(env, draft, int(draft.get("cadres") or 0), int(draft.get("members") or 0), count, approx)

    modes = ("one",) if step != VILLAGERS else ("one", "villagers")
    return Custom(step, show=show, handle=handle, kind_="text", substep=True, editable=False,
                  when=lambda d: d.get("people_mode") in modes)


# -- amount of work -----------------------------------------------------------------------------
async def show_amounts(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    text = t("report.q.amounts")
    # the units of the chosen categories: an example in their words (栽树120棵, 路灯15盏 ...)
    examples = [c for c in draft.get("categories") or () if c in rules.CATEGORY_AMOUNTS]
    if examples:
        text += "\n" + t(f"report.amounts_example.{examples[0]}")
    return Screen(text)


async def amounts(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind != "text":
        return stale(env) if inp.kind == "button" else alert(env, "form.wrong.text", inp)
    result = read_amounts(inp.text, draft.get("categories") or ())
    if isinstance(result, str):
        if result == "too_long":
            return Outcome(note=env.t("report.hint.too_long", max=200))
        key = {"negative": "report.hint.negative", "too_large": "report.hint.too_large"}.get(result, "report.hint.amounts_format")
        return Outcome(note=env.t(key))
    draft["amounts"] = dict(result.values()) | ({"text": result.text} if result.text else {})
    shown = amounts_text(env.t, fields_of(draft))
    key = "report.echo.amounts_kept" if result.text else "report.echo.amounts"
    return Outcome(done=True, said=env.t(key, value=shown))


# -- photos -------------------------------------------------------------------------------------
async def show_photos(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    photos = draft.get("photos") or []
    phase = draft.get("phase") or "before"
    text = t("report.q.photos", max=rules.MAX_PHOTOS, phase=t(f"report.phase.{phase}"))
    if photos:
        text += "\n" + t("report.photos.so_far", value=photos_text(t, fields_of(draft)))
    phases = []
    for code in rules.PHASES:
        label = t(f"report.phase.{code}")
        phases.append((t("report.chosen", label=label) if code == phase else label, cb("phase", code)))
    done = t("report.btn.photos_done") if photos else t("report.btn.no_photos")
    rows = [phases, [(done, cb("photosdone"))]]
    if photos:
        rows.append([(t("report.btn.photos_clear"), cb("photosclear"))])
    return Screen(text, rows_of(rows))


def add_photo(draft: dict[str, Any], inp: Input, phase: str | None = None) -> str:
    """Keep the photo: "added", "duplicate" or "full"."""
    file_id = inp.photos[0]
    key = inp.photo_keys[0] if inp.photo_keys else file_id
    photos = draft.setdefault("photos", [])
    if any(p["file_unique_id"] == key for p in photos):
        return "duplicate"
    if len(photos) >= rules.MAX_PHOTOS:
        return "full"
    photos.append({"file_id": file_id, "file_unique_id": key, "phase": phase or draft.get("phase") or "before"})
    return "added"


async def photos(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    t = env.t
    if inp.kind == "photos" and inp.photos:
        outcome = add_photo(draft, inp)
        if inp.album:  # an album is collected quietly and acknowledged once (album_ack)
            draft["album"] = inp.album
            count_album(env, draft, inp.album, outcome)
            return Outcome(quiet=True)
        draft["albums"] = {}
        if outcome == "full":
            return Outcome(note=t("report.photo.full", max=rules.MAX_PHOTOS))
        return Outcome(note=t("report.photo.added", phase=t(f"report.phase.{draft.get('phase') or 'before'}")))
    if inp.kind == "document":  # a photo sent as a file: say how to send it as a photo
        return Outcome(note=t("report.hint.photo_as_file"))
    if inp.kind != "button":
        return Outcome(note=t("form.wrong.photos"))
    draft["albums"] = {}  # the answer shown now lists every photo: nothing left to acknowledge
    if inp.action == "phase":
        if inp.arg in rules.PHASES:
            draft["phase"] = inp.arg
        return Outcome()
    if inp.action == "photosclear":
        draft["photos"] = []
        return Outcome()
    if inp.action == "photosdone":
        answered(draft, PHOTOS)
        shown = photos_text(t, fields_of(draft)) if draft.get("photos") else ""
        return Outcome(done=True, said=t("report.echo.photos", value=shown) if shown else "")
    return stale(env)


def count_album(env: Env, draft: dict[str, Any], album: str, outcome: str) -> None:
    entry = draft.setdefault("albums", {}).setdefault(album, {"added": 0, "full": 0})
    if outcome in entry:
        entry[outcome] += 1
    schedule_album_ack(env, album)


def schedule_album_ack(env: Env, album: str) -> None:
    context = env.ctx
    queue = context.job_queue
    person = context.person
    if queue is None or not queue.scheduler.running or person is None:
        return  # acknowledged by the answer to the next input instead
    chat_id = person.telegram_id  # the form runs in private chats only
    name = f"{ALBUM_JOB}:{chat_id}:{album}"
    for job in queue.get_jobs_by_name(name):
        job.schedule_removal()
    queue.run_once(album_ack, ALBUM_WAIT, data=album, name=name, chat_id=chat_id, user_id=chat_id)


async def album_ack(context: Any) -> None:
    """One message for a whole album: how many photos it added, and the question again."""
    from bot.forms.ptb import markup
    from bot.services import scheduler

    job = context.job
    draft = context.user_data.get(FLOW) if context.user_data is not None else None
    if not draft or core.current(draft) != PHOTOS:
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
    settings = context.services.settings
    env = Env(t=t, now=scheduler.now_of(context.application), tz=settings.tz_name, ctx=context)
    reply = await core.goto(FORM, env, draft, PHOTOS, echo=note)
    sent = await context.bot.send_message(job.chat_id, reply.screen.text, reply_markup=markup(reply.screen))
    draft["asked"] = sent.message_id  # its buttons answer the question now


# -- notes --------------------------------------------------------------------------------------
async def show_notes(env: Env, draft: dict[str, Any]) -> Screen:
    return Screen(env.t("report.q.notes", max=rules.MAX_NOTES_LEN))


async def notes(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.kind != "text":
        return stale(env) if inp.kind == "button" else alert(env, "form.wrong.text", inp)
    if rules.text_problem(inp.text, rules.MAX_NOTES_LEN):
        return Outcome(note=env.t("report.hint.too_long", max=rules.MAX_NOTES_LEN))
    draft["notes"] = rules.clean_text(inp.text)
    return Outcome(done=True)


# -- the review and its 修改 menu ----------------------------------------------------------------
def draft_text(t: Any, draft: dict[str, Any]) -> str:
    """Every answer, the ones read from the user's message marked (the engine's ``filled``)."""
    unit_name = draft.get("unit_name") or t("report.none")
    unanswered = () if PEOPLE in draft.get("answered", rules.STEPS) else (PEOPLE,)
    marked = draft.get("filled") or ()
    text = full_text(t, fields_of(draft), unit_name, marked, unanswered)
    if marked:  # some answers were read from the user's message: say which
        text += "\n\n" + t("report.offer.legend")
    return text


async def review(env: Env, draft: dict[str, Any]) -> str:
    t = env.t
    if draft.get("mode") == "correct":
        head = t("report.q.review_correction", number=draft.get("report_id"))
    else:
        head = t("report.q.review")
    return head + "\n\n" + draft_text(t, draft)


def editable_steps(draft: dict[str, Any]) -> tuple[str, ...]:
    return rules.EDITABLE if draft.get("several") else tuple(s for s in rules.EDITABLE if s != VILLAGE)


async def show_edit(env: Env, draft: dict[str, Any]) -> Screen:
    t = env.t
    buttons = [(t(f"report.field.{step}"), cb("field", step)) for step in editable_steps(draft)]
    return Screen(t("report.q.edit"), rows_of(chunk(buttons, 2)))


async def edit(env: Env, draft: dict[str, Any], inp: Input) -> Outcome:
    if inp.action != "field" or inp.arg not in editable_steps(draft):
        return stale(env)
    draft["village_page"] = 0
    if inp.arg == PEOPLE:
        draft.pop("people_mode", None)
    return Outcome(done=True, then=inp.arg)


# -- the save -------------------------------------------------------------------------------------
async def save(env: Env, draft: dict[str, Any]) -> Saved | Retry:
    """A new report, or the correction of a saved one, once per draft token."""
    from handlers.reports.mine import tell_verifiers

    context = env.ctx
    t = env.t
    missing = missing_step(draft)
    if missing is not None:
        return Retry(missing, "report.hint.missing")
    person = context.person
    repo = context.repos.reports
    token = draft["token"]
    at = env.now
    if draft.get("mode") == "correct":
        old = await repo.get(int(draft.get("report_id") or 0))
        if old is None or not await permissions.may_correct(context, old, at):
            return Saved(Screen(t("report.correct.not_saved")))
        report, changed = await repo.correct(old.id, fields_of(draft), by=person.id, at=at, token=token)
        if changed:  # whoever verified it is told (what was verified changed)
            await tell_verifiers(context, report)
        return Saved(Screen(t("report.corrected", number=report.id) + "\n" + summary(t, report)), report)
    report, _ = await repo.create(fields_of(draft), reporter_id=person.id, token=token, at=at)
    return Saved(Screen(t("report.saved", number=report.id) + "\n" + summary(t, report)), report)


async def late(env: Env, inp: Input) -> str | None:
    """保存 pressed again (a double tap, a redelivery, an older review), or an old one-message
    offer's 保存 / 修改 (``report:open:s<token>`` / ``t<token>``) once it was saved: the number saved."""
    if inp.action == SAVE:
        token = inp.arg
    elif inp.action == ENTRY and inp.arg[:1] in ("s", "t") and len(inp.arg) > 1:
        token = inp.arg[1:]
    else:
        return None
    person = env.ctx.person
    repo = env.ctx.repos.reports
    report = await repo.by_token(token)
    if report is not None and person is not None and report.reporter_id == person.id:
        return env.t("report.already_saved", number=report.id)
    change = await repo.change_by_token(token)
    if change is not None and person is not None and change.changed_by == person.id:
        return env.t("report.already_corrected", number=change.report_id)
    return None


async def closed(env: Env, draft: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """A new report set aside for a correction (or an offer) comes back when it ends."""
    parked = env.ctx.user_data.pop(PARKED, None)
    if isinstance(parked, dict):
        return parked, env.t("report.parked_back")
    return None, ""


# -- opening ----------------------------------------------------------------------------------------
def base() -> dict[str, Any]:
    """A new report's empty answers (new lists each time)."""
    return {"mode": "new", "categories": [], "photos": [], "phase": "before", "albums": {}, "amounts": {}, "answered": []}


async def setup(env: Env, draft: dict[str, Any]) -> str | None:
    """A new report (no village to report for: refused); ``c<id>``: the correction of a saved
    report, at its review; ``t<token>`` / ``s<token>``: a report offered from one message."""
    context = env.ctx
    villages = await villages_of(context)
    if not villages:
        return "report.no_village"
    last_seen = context.user_data.get(SEEN_AT)
    if env.press and last_seen and not draft.get("now"):  # a press: the time of the user's latest message
        env = replace(env, now=datetime.fromisoformat(last_seen).astimezone(env.now.tzinfo))
        draft["now"] = env.now.isoformat()
    elif not env.press:
        context.user_data[SEEN_AT] = env.now.isoformat()
    how = str(draft.get("arg") or "")
    draft.update(base(), several=len(villages) > 1)
    draft["arg"] = ""  # /report resumes whatever draft is kept (a correction too)
    existing = context.user_data.get(FLOW)
    existing = existing if isinstance(existing, dict) and core.answered(FORM, existing) else None
    if how[:1] == "c" or how.isdigit():
        report_id = id_or_zero(how.lstrip("c"))
        report = await context.repos.reports.get(report_id)
        if report is None or not await permissions.may_correct(context, report, env.now):
            return "report.correct.not_now"
        if existing is not None and existing.get("report_id") == report_id:
            draft.update({k: v for k, v in existing.items() if k not in ("history", "asked", "arg")})
        else:
            if existing is not None and existing.get("mode") != "correct":
                context.user_data[PARKED] = existing
            draft.update(draft_values(report), mode="correct", report_id=report_id)
            draft.pop("editing", None)
        draft[OPEN_AT] = REVIEW
        return None
    if how[:1] in ("t", "s"):
        return take_offer(env, draft, how[1:], existing, save=how[:1] == "s")
    context.user_data.pop(PARKED, None)  # 重新开始 or a new /report: nothing set aside any more
    if len(villages) == 1:
        draft["unit_id"], draft["unit_name"] = villages[0].id, villages[0].name
    return None


def take_offer(env: Env, draft: dict[str, Any], token: str, existing: dict[str, Any] | None, *, save: bool) -> str | None:
    from handlers.reports.from_text import OFFER

    context = env.ctx
    offer = context.user_data.get(OFFER)
    if not isinstance(offer, dict) or offer.get("token") != token:
        return "form.stale"
    if existing is not None:
        if existing.get("mode") == "correct" or context.user_data.get(PARKED):
            return "report.offer.busy"
        context.user_data[PARKED] = existing
    context.user_data.pop(OFFER, None)
    kept = {k: v for k, v in offer.items() if k not in ("history", "album", "message_id", "read_caption", "reader_notes", "editing",
                                                     "offered_at")}
    draft.update(kept)
    draft["filled"] = list(offer.get("from_text") or [])
    draft.pop("from_text", None)
    draft[OPEN_AT] = SAVE if save else REVIEW
    return None


# -- one message, several answers; a photo at any step ----------------------------------------------------
async def read(env: Env, draft: dict[str, Any], inp: Input) -> list[str]:
    """``Form.read``: the fields a first answer (a text or a caption) states."""
    from handlers.reports.from_text import fill

    context = env.ctx
    villages = await villages_of(context)
    ctx = ReaderContext(
        now=env.now,
        villages=tuple(u.name for u in villages),
        max_age_days=context.services.settings.report_max_age_days,
        tz=env.tz,
    )
    reading = read_report(inp.text, ctx)
    if reading.kind != "report":
        return []
    scratch = dict(draft)
    fill(scratch, reading, villages, inp.text)
    found = list(scratch.get("from_text") or [])
    if not [s for s in found if s != NOTES]:
        return []
    for key in ("unit_id", "unit_name", "work_date", "categories", "place", "cadres", "members", "villagers",
                "people_approx", "amounts", "notes"):
        if key in scratch:
            draft[key] = scratch[key]
    if PEOPLE in (scratch.get("answered") or ()):
        answered(draft, PEOPLE)
    elif PEOPLE in found:  # the groups but not the villagers: asked as a question
        found.remove(PEOPLE)
        draft["people_mode"] = "villagers"
    if rules.OTHER in (draft.get("categories") or ()):
        draft.pop("other_name", None)
    return found


async def keep_photo(env: Env, draft: dict[str, Any], inp: Input) -> Outcome | None:
    """``Form.aside``: a photo at any step is kept for the photo step ("照片已收下"); the rest of
    an album quietly. Anything else: the step's own hint (None)."""
    if inp.kind != "photos" or not inp.photos:
        return None
    from handlers.reports.from_text import photo_phase

    same_album = inp.album is not None and inp.album == draft.get("album")
    outcome = add_photo(draft, inp, photo_phase(inp.text) if inp.text else draft.get("phase"))
    if core.current(draft) == PHOTOS and inp.album:  # the photo step's album: acknowledged once
        count_album(env, draft, inp.album, outcome)
        return Outcome(quiet=True)
    return Outcome(quiet=True) if same_album else Outcome(note=env.t("form.photo_kept"))


def seen(handle: Any) -> Any:
    """Remember the time of the user's message (draft.reference_time: /myreports and /review
    read it for a press, which carries no time)."""

    async def wrapper(env: Env, draft: dict[str, Any], inp: Input) -> Any:
        if inp.kind != "button" and env.ctx is not None and env.ctx.user_data is not None:
            env.ctx.user_data[SEEN_AT] = env.now.isoformat()
        return await handle(env, draft, inp)

    return wrapper


FORM = Form(
    FLOW,
    command=REPORT,
    steps=[
        Custom(VILLAGE, label="report.field.village", show=show_village, handle=seen(village), kind_="text",
               editable=False, when=lambda d: bool(d.get("several"))),
        Custom(DATE, label="report.field.date", show=show_date, handle=seen(work_date), kind_="text", editable=False),
        Custom(CATEGORY, label="report.field.category", show=show_category, handle=seen(category), editable=False),
        Custom(OTHER_NAME, show=show_other_name, handle=seen(other_name), kind_="text", substep=True, editable=False,
               when=wants_other_name),
        Custom(PLACE, label="report.field.place", show=show_place, handle=seen(place), kind_="text", optional=True,
               editable=False),
        Custom(PEOPLE, label="report.field.people", show=show_people, handle=seen(people), kind_="text", editable=False),
        count_step(CADRES),
        count_step(MEMBERS),
        count_step(VILLAGERS),
        Custom(AMOUNTS, label="report.field.amounts", show=show_amounts, handle=seen(amounts), kind_="text", optional=True,
               editable=False),
        Custom(PHOTOS, label="report.field.photos", show=show_photos, handle=seen(photos), kind_="photos", editable=False),
        Custom(NOTES, label="report.field.notes", show=show_notes, handle=seen(notes), kind_="text", optional=True,
               editable=False),
        Custom(EDIT, label="report.btn.edit", show=show_edit, handle=seen(edit), review_only=True),
    ],
    review=review,
    save=save,
    setup=setup,
    entry=ENTRY,
    aliases=("report:correct",),  # 更正 on messages sent before the form (report:correct:<id>)
    keys={
        "form.cancelled": "report.cancelled",
        "form.btn.edit": "report.btn.edit",
        "form.ask.resume": "report.ask.resume_form",
    },
    title=lambda d: str(d.get("unit_name") or ""),
    message_clock=True,
    read=seen(read),
    aside=seen(keep_photo),
    late=late,
    closed=closed,
    cancelled=lambda d: "report.correct.cancelled" if d.get("mode") == "correct" else "report.cancelled",
    missing=lambda env, d: missing_step(d),  # a refused save asks each missing answer, then the review
)
FORMS = (FORM,)


def register(app: object) -> None:
    """Nothing of its own: the engine's one handler runs FORM (see handlers.flow.register_forms)."""
