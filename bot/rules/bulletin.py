"""The monthly bulletin (通报) and the 先进带后进 pairs: pure figures, no Telegram, no SQL, no text.

Storage hands over one :class:`VillageMonth` per village (counts for a calendar month);
:func:`compute` turns them into a :class:`Bulletin`: per-village outcomes, the order of the
villages, who is praised and why, the villages with nothing recorded, star-level groups and how
the help pairs are doing. The handlers translate the codes into words.

Rules against "指尖上的形式主义": villages are ranked and praised on OUTCOMES only (visit
coverage, problems solved, tasks done on time), never on counts of reports, photos, clicks or
check-ins. Report counts and the people mobilised are shown, never ranked.

Definitions (tests check them against counts they make themselves):

* coverage = households visited in the month / active households (None without households):
  the definition of :mod:`bot.rules.coverage` with the calendar month as its window
  (``Window.month``), computed by :func:`bot.rules.coverage.fraction`;
* problems solved = follow-ups closed in the month; *overdue* = follow-ups due before the end
  of the month (or before now, for the running month) and still open then;
* tasks of the month = the village's tasks whose deadline falls in the month: done on time
  (done at or before the deadline), done late, or not done by the end of the month / now;
* a village has *nothing recorded* when it has no report, no visit, no closed follow-up and no
  task done in the month.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.rules import coverage
from bot.rules.numbers import chinese_int

# -- 先进带后进 ------------------------------------------------------------------------------
# The rule of the seeds: a five-star village helps at least two two-star villages, a
# four-star village helps one three-star village.
PAIR_RULE: dict[int, tuple[int, int]] = {5: (2, 2), 4: (3, 1)}  # helper stars: (helped stars, how many)


def pair_problems(
    helper_stars: int | None, helped_stars: int | None, helper_helps: Sequence[int | None] = ()
) -> list[str]:
    """Why a pair does not fit the rule (a warning, never a refusal); [] when it fits.

    ``helper_helps``: the star levels of the villages the helper already helps (open pairs,
    not counting this one). Codes: ``helper_unrated``, ``helped_unrated``, ``not_stronger``,
    ``not_rule`` (the levels are not 5→2 or 4→3), ``four_has_one`` (a four-star village helps
    one three-star village and already has one).
    """
    problems = []
    if helper_stars is None:
        problems.append("helper_unrated")
    if helped_stars is None:
        problems.append("helped_unrated")
    if helper_stars is None or helped_stars is None:
        return problems
    if helper_stars <= helped_stars:
        problems.append("not_stronger")
    expected = PAIR_RULE.get(helper_stars)
    if expected is None or expected[0] != helped_stars:
        problems.append("not_rule")
    elif helper_stars == 4 and sum(1 for s in helper_helps if s == 3) >= expected[1]:
        problems.append("four_has_one")
    return problems


def helper_shortfall(helper_stars: int | None, helped: Sequence[int | None]) -> int:
    """How many more villages of the right level a helper should help (0 when enough)."""
    expected = PAIR_RULE.get(helper_stars or 0)
    if expected is None:
        return 0
    level, count = expected
    return max(0, count - sum(1 for s in helped if s == level))


# -- months ---------------------------------------------------------------------------------
def month_bounds(year: int, month: int) -> tuple[date, date]:
    """(first day, first day of the next month)."""
    start = date(year, month, 1)
    return start, date(year + (month == 12), month % 12 + 1, 1)


def previous_month(day: date) -> tuple[date, date]:
    """The calendar month before the one ``day`` is in."""
    first = day.replace(day=1)
    year, month = (first.year - 1, 12) if first.month == 1 else (first.year, first.month - 1)
    return month_bounds(year, month)


EARLY_DAYS = 5  # on the 1st to the 5th of a month, the month being checked is the one before


def opening_month(today: date) -> tuple[date, date]:
    """The month a list or a ledger opens on (/reports, /export): this month, or the month
    before in the first :data:`EARLY_DAYS` days, when last month is the one being checked and
    this one is still empty."""
    if today.day <= EARLY_DAYS:
        return previous_month(today)
    return month_bounds(today.year, today.month)


def month_code(start: date) -> str:
    return f"{start.year:04d}-{start.month:02d}"


# Parsing vocabulary (not user-facing text): words for this month and last month.
_THIS_MONTH = ("本月", "这个月", "当月", "this")
_LAST_MONTH = ("上月", "上个月", "last")


def parse_month(text: str, today: date) -> tuple[date, date] | None:
    """A month the user typed: 2026-11, 202611, 2026年11月, 11月, 十一月, 本月, 上月.

    A month without a year is the latest such month not after ``today``. None if it is not
    a month, or is in the future.
    """
    s = unicodedata.normalize("NFKC", text or "").strip().lower().replace(" ", "")
    if not s:
        return None
    if s in _THIS_MONTH:
        return month_bounds(today.year, today.month)
    if s in _LAST_MONTH:
        return previous_month(today)
    match = (
        re.fullmatch(r"(\d{4})[-/.年]?(\d{1,2})月?(份)?", s)
        or re.fullmatch(r"(\d{4})(\d{2})", s)
    )
    if match:
        year, month = int(match[1]), int(match[2])
    else:
        match = re.fullmatch(r"([0-9一二三四五六七八九十两〇零]{1,3})月(份)?", s)
        if not match:
            return None
        parsed = int(match[1]) if match[1].isdigit() else chinese_int(match[1])
        if parsed is None:
            return None
        month = parsed
        year = today.year if month <= today.month else today.year - 1
    if not (1 <= month <= 12 and 2000 <= year <= 2200):
        return None
    start, end = month_bounds(year, month)
    if start > today:
        return None
    return start, end


# -- figures --------------------------------------------------------------------------------
@dataclass(frozen=True)
class VillageMonth:
    """What the database holds about one village for one month (counts only)."""

    village_id: int
    name: str
    township_id: int | None = None
    township: str = ""
    stars: int | None = None
    reports: int = 0
    cadres: int = 0
    members: int = 0
    villagers: int = 0
    households: int = 0
    visited: int = 0
    visits: int = 0
    followups_closed: int = 0
    followups_overdue: int = 0
    tasks_on_time: int = 0
    tasks_late: int = 0
    tasks_not_done: int = 0

    @property
    def coverage(self) -> float | None:
        """Households visited in the month, 0..1 (None: the village has no households yet)."""
        return coverage.fraction(self.visited, self.households)

    @property
    def tasks_due(self) -> int:
        return self.tasks_on_time + self.tasks_late + self.tasks_not_done

    @property
    def on_time_rate(self) -> float | None:
        return self.tasks_on_time / self.tasks_due if self.tasks_due else None

    @property
    def people(self) -> int:
        return self.cadres + self.members + self.villagers

    @property
    def quiet(self) -> bool:
        """Nothing recorded in the month (no report, visit, solved problem or task done)."""
        return not (
            self.reports or self.visits or self.visited or self.followups_closed
            or self.tasks_on_time or self.tasks_late
        )


PRAISES = ("full_coverage", "all_solved", "tasks_on_time")


@dataclass(frozen=True)
class Praise:
    code: str  # one of PRAISES
    villages: tuple[VillageMonth, ...]


@dataclass(frozen=True)
class StarGroup:
    stars: int | None  # None: not rated yet
    villages: tuple[VillageMonth, ...]  # best outcome first

    @property
    def coverage(self) -> float | None:
        return coverage.fraction(sum(v.visited for v in self.villages), sum(v.households for v in self.villages))


@dataclass(frozen=True)
class PairProgress:
    pair_id: int
    helper: VillageMonth
    helped: VillageMonth
    helped_before: VillageMonth | None  # the helped village the month before
    problems: tuple[str, ...] = ()  # pair_problems codes

    @property
    def coverage_change(self) -> float | None:
        """Change of the helped village's coverage against the month before (fraction)."""
        now = self.helped.coverage
        before = self.helped_before.coverage if self.helped_before else None
        return None if now is None or before is None else now - before


@dataclass(frozen=True)
class PairInput:
    pair_id: int
    helper_id: int
    helped_id: int


@dataclass(frozen=True)
class Bulletin:
    start: date
    end: date  # exclusive
    villages: tuple[VillageMonth, ...]  # best outcome first
    totals: VillageMonth
    praise: tuple[Praise, ...]
    quiet: tuple[VillageMonth, ...]
    groups: tuple[StarGroup, ...]  # five stars first, not rated last; () when no stars are set
    pairs: tuple[PairProgress, ...] = field(default=())


def outcome_key(v: VillageMonth) -> tuple:
    """Best outcome first: coverage, then problems solved, then tasks on time; never activity."""
    coverage = v.coverage
    rate = v.on_time_rate
    return (
        coverage is None,
        -(coverage or 0.0),
        -v.followups_closed,
        v.followups_overdue,
        rate is None,
        -(rate or 0.0),
        v.township,
        v.name,
        v.village_id,
    )


def ranked(villages: Iterable[VillageMonth]) -> list[VillageMonth]:
    return sorted(villages, key=outcome_key)


def total(villages: Iterable[VillageMonth], name: str = "") -> VillageMonth:
    vs = list(villages)

    def s(attr: str) -> int:
        return sum(getattr(v, attr) for v in vs)

    return VillageMonth(
        village_id=0, name=name, reports=s("reports"), cadres=s("cadres"), members=s("members"),
        villagers=s("villagers"), households=s("households"), visited=s("visited"),
        visits=s("visits"), followups_closed=s("followups_closed"),
        followups_overdue=s("followups_overdue"), tasks_on_time=s("tasks_on_time"),
        tasks_late=s("tasks_late"), tasks_not_done=s("tasks_not_done"),
    )


def praise_of(villages: Sequence[VillageMonth]) -> tuple[Praise, ...]:
    """Outcomes worth naming: every household visited; every due problem solved; every task on time."""
    full = [v for v in villages if v.households and v.visited == v.households]
    solved = [v for v in villages if v.followups_closed and not v.followups_overdue]
    on_time = [v for v in villages if v.tasks_due and v.tasks_on_time == v.tasks_due]
    out = []
    for code, found in zip(PRAISES, (full, solved, on_time), strict=True):
        if found:
            out.append(Praise(code, tuple(ranked(found))))
    return tuple(out)


def star_groups(villages: Sequence[VillageMonth]) -> tuple[StarGroup, ...]:
    if not any(v.stars for v in villages):
        return ()
    levels = sorted({v.stars for v in villages if v.stars}, reverse=True)
    groups = [StarGroup(s, tuple(ranked(v for v in villages if v.stars == s))) for s in levels]
    unrated = [v for v in villages if not v.stars]
    if unrated:
        groups.append(StarGroup(None, tuple(ranked(unrated))))
    return tuple(groups)


def compute(
    start: date,
    end: date,
    villages: Sequence[VillageMonth],
    *,
    before: Sequence[VillageMonth] = (),
    pairs: Sequence[PairInput] = (),
) -> Bulletin:
    """The bulletin of a month; ``before`` are the same villages the month before (for pairs)."""
    by_id = {v.village_id: v for v in villages}
    before_by_id = {v.village_id: v for v in before}
    progress = []
    helps: dict[int, list[int | None]] = {}
    for p in pairs:
        if p.helper_id in by_id and p.helped_id in by_id:
            helps.setdefault(p.helper_id, []).append(by_id[p.helped_id].stars)
    for p in pairs:
        helper, helped = by_id.get(p.helper_id), by_id.get(p.helped_id)
        if helper is None or helped is None:
            continue
        others = list(helps.get(p.helper_id, []))
        others.remove(helped.stars)
        progress.append(
            PairProgress(
                p.pair_id, helper, helped, before_by_id.get(p.helped_id),
                tuple(pair_problems(helper.stars, helped.stars, others)),
            )
        )
    ordered = ranked(villages)
    return Bulletin(
        start=start,
        end=end,
        villages=tuple(ordered),
        totals=total(villages),
        praise=praise_of(ordered),
        quiet=tuple(sorted((v for v in villages if v.quiet), key=lambda v: (v.township, v.name))),
        groups=star_groups(villages),
        pairs=tuple(progress),
    )


def percent(fraction: float | None) -> str:
    """0.857 → "86%"; None → "—" (no households)."""
    return "—" if fraction is None else f"{round(fraction * 100):d}%"
