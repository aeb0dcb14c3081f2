"""Pure rules of the sanitation clean-up reports (人居环境整治): categories, the order of the
questions, validation of answers and the summary figures of a report or of many.

No Telegram, no I/O, no clock of its own and no user-facing text: the handlers pass the
reference time in and translate the reason codes returned here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

# Category codes in display order (labels are catalog keys ``report.cat.<code>``), from the
# seeds: 房前屋后整治, 残垣断壁拆除, 垃圾清除, 村内绿化亮化, 废弃地/空闲院整治, 污水坑塘治理,
# 杂草杂物清理, and 其他 with a name the user types.
CATEGORIES: tuple[str, ...] = ("yard", "walls", "garbage", "green", "idle", "ponds", "weeds", "other")
OTHER = "other"

# The units each category's work is counted in (amount fields of bot.rules.numbers, most
# usual first): trees 棵/株 and lights 盏 for greening, walls 处/米, ponds 个/米/方, area
# 平方米/亩, loads 车/吨.  The amounts question shows an example in these units.
CATEGORY_AMOUNTS: dict[str, tuple[str, ...]] = {
    "yard": ("area_m2", "garbage_trucks"),
    "walls": ("walls", "length_m", "area_m2", "garbage_trucks"),
    "garbage": ("garbage_trucks", "garbage_tons"),
    "green": ("trees", "lights", "area_m2"),
    "idle": ("area_m2", "area_mu", "garbage_trucks"),
    "ponds": ("ponds", "length_m", "volume_m3"),
    "weeds": ("area_m2", "area_mu", "garbage_trucks"),
}

PHASES: tuple[str, ...] = ("before", "after")  # 整治前 / 整治后
MAX_PHOTOS = 10
MAX_PLACE_LEN = 100
MAX_NOTES_LEN = 500
MAX_OTHER_NAME_LEN = 20
EDIT_WINDOW = timedelta(hours=24)
QUICK_DAYS: tuple[int, ...] = (0, -1, -2)  # the 今天 / 昨天 / 前天 buttons

# The questions of a report, in order (the village is asked only of people with several).
VILLAGE, DATE, CATEGORY, PLACE, PEOPLE, AMOUNTS, PHOTOS, NOTES = (
    "village", "date", "category", "place", "people", "amounts", "photos", "notes",
)
STEPS: tuple[str, ...] = (VILLAGE, DATE, CATEGORY, PLACE, PEOPLE, AMOUNTS, PHOTOS, NOTES)
REVIEW = "review"
# Fields the review's 修改 button offers, in the order of the questions.
EDITABLE: tuple[str, ...] = STEPS


def steps_for(several_villages: bool) -> tuple[str, ...]:
    return STEPS if several_villages else STEPS[1:]


def next_step(step: str, several_villages: bool) -> str:
    """The question after ``step`` (the review after the last one)."""
    steps = steps_for(several_villages)
    index = steps.index(step) if step in steps else -1
    return steps[index + 1] if index + 1 < len(steps) else REVIEW


def step_number(step: str, several_villages: bool) -> tuple[int, int]:
    """(1-based position, how many questions) for the progress line."""
    steps = steps_for(several_villages)
    return steps.index(step) + 1, len(steps)


# --------------------------------------------------------------------------- answers


def work_date_problem(day: date, today: date, max_age_days: int) -> str | None:
    """Reason a date of work is refused (the same codes as ``parse_when``), or None."""
    if day > today:
        return "future"
    if day < today - timedelta(days=max_age_days):
        return "too_old"
    return None


def clean_text(text: str | None) -> str | None:
    """A free-text answer with full-width forms and blanks folded; None if empty."""
    if text is None:
        return None
    folded = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()
    return folded or None


def text_problem(text: str | None, max_len: int) -> str | None:
    cleaned = clean_text(text)
    if cleaned is None:
        return "empty"
    if len(cleaned) > max_len:
        return "too_long"
    return None


# Parsing vocabulary (not user-facing text): words that name the villagers in a count.
_VILLAGER_WORDS = ("群众", "村民")
# Parsing vocabulary (not user-facing text): words that name the other two groups.
_OTHER_GROUP_WORDS = ("干部", "党员")


def villagers_given(text: str) -> bool:
    """Whether a one-line participants answer said how many villagers took part.

    Either it names them (群众/村民) or it is the unlabelled three-number form. "党员12" leaves
    them out, and the seeds insist villagers take part, so the bot asks for them.
    """
    s = unicodedata.normalize("NFKC", text)
    if any(word in s for word in _VILLAGER_WORDS):
        return True
    return not any(word in s for word in _OTHER_GROUP_WORDS)


def participants_problem(cadres: int, members: int, villagers: int) -> str | None:
    if cadres + members + villagers == 0:
        return "nobody"
    return None


def editable(created_at: datetime, now: datetime) -> bool:
    """A report may be deleted or corrected by its author within 24 hours of saving."""
    return now - created_at < EDIT_WINDOW


def correctable(created_at: datetime, now: datetime, *, returned: bool) -> bool:
    """Its author may correct a report within 24 hours, or whenever an admin has returned it
    for correction (/review) and it has not been resubmitted since."""
    return returned or editable(created_at, now)


def choose_categories(chosen: Sequence[str], code: str) -> list[str]:
    """Toggle ``code`` in the chosen categories, keeping the display order."""
    if code not in CATEGORIES:
        return list(chosen)
    picked = set(chosen) ^ {code}
    return [c for c in CATEGORIES if c in picked]


# --------------------------------------------------------------------------- months


def month_key(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}"


def parse_month_key(key: str) -> tuple[date, date] | None:
    """``"202611"`` → (first day, first day of the next month); None if malformed."""
    if not re.fullmatch(r"\d{6}", key or ""):
        return None
    year, month = int(key[:4]), int(key[4:])
    if not (1 <= month <= 12 and 2000 <= year <= 2200):
        return None
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def recent_months(today: date, count: int = 12) -> list[str]:
    """Month keys from this month back, newest first."""
    out = []
    year, month = today.year, today.month
    for _ in range(count):
        out.append(f"{year:04d}{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


# --------------------------------------------------------------------------- summaries


def photo_counts(phases: Iterable[str]) -> tuple[int, int]:
    """(before, after) photo counts."""
    phases = list(phases)
    return phases.count("before"), phases.count("after")


def short_number(value: float) -> str:
    """5.0 → "5", 2.25 → "2.25" (amounts are kept to 0.01)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------- who may do what

# A report's review state: its newest review step (bot.services / storage.oversight), none
# yet is "pending". "resubmitted" is a returned report corrected and waiting to be checked.
PENDING, RETURNED, RESUBMITTED, VERIFIED = "pending", "returned", "resubmitted", "verified"
REVIEW_STATES: tuple[str, ...] = (PENDING, RETURNED, RESUBMITTED, VERIFIED)
# What may be done with a report (the buttons /myreports and /reports offer).
CORRECT, DELETE, VOID = "correct", "delete", "void"


def review_state(last_action: str | None) -> str:
    """The state of a report from its newest review step (None: never reviewed)."""
    return last_action if last_action in (RETURNED, RESUBMITTED, VERIFIED) else PENDING


def author_may(state: str, created_at: datetime, now: datetime) -> frozenset[str]:
    """What a report's author may do with it now: THE one rule (catalog key ``report.rule``).

    - returned by an admin: correct it (更正), at any age: no new report, no duplicate;
    - not reviewed yet: correct or delete it within 24 hours of saving, nothing after;
    - verified, or corrected and waiting to be checked again: nothing (an admin may).
    """
    if state == RETURNED:
        return frozenset({CORRECT})
    if state == PENDING and editable(created_at, now):
        return frozenset({CORRECT, DELETE})
    return frozenset()


def admin_may(state: str, *, active: bool = True) -> frozenset[str]:
    """What an admin over the report's village may do: correct it or void it (作废, with a
    reason) in any state, the old answers and the reason kept in the trail."""
    return frozenset({CORRECT, VOID}) if active else frozenset()
