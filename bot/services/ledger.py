"""The sheets of the Excel ledger (台账) and :func:`write_ledger`, shared by ``/export``, the
``cadre-bot export`` command and ``bench/export.py`` (one code path for all three).

No Telegram here: rows come from :class:`storage.ledger.LedgerReader` (read-only, in the
calling thread) and go through :func:`bot.rules.ledger.write_workbook`, which streams them.
Headers and labels come from the catalog in the reader's language. Household phone numbers
are never written to a ledger.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import BinaryIO, TypeVar

from bot.i18n import Catalogs, Translator
from bot.rules.bulletin import month_bounds
from bot.rules.ledger import Column, Link, Sheet, bot_link, write_workbook
from bot.rules.reports import CATEGORIES
from bot.settings import SUPPORTED_LOCALES
from storage.ledger import (
    FollowupLine,
    LedgerReader,
    ReportLine,
    ReviewStep,
    TaskLine,
    VillageSummary,
    VisitLine,
    followup_states,
    ledger_counts,
    unit_name,
    village_summaries,
)

T = TypeVar("T")


@dataclass(frozen=True)
class LedgerRequest:
    unit_id: int
    start: date
    end: date  # exclusive
    tz: tzinfo
    now: datetime  # for "overdue" (an open follow-up or task past its deadline)
    bot_username: str | None = None  # None: no "view in the bot" links

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), self.tz)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time(0), self.tz)


def _cols(t: Translator, *spec: tuple[str, str]) -> list[Column]:
    return [Column(t(f"ledger.col.{key}"), kind) for key, kind in spec]


class Sheets:
    """The four sheets of a ledger for one request, in the reader's language."""

    def __init__(self, t: Translator, request: LedgerRequest) -> None:
        self.t = t
        self.request = request
        self.sep = t("list.sep")

    def link(self, payload: str) -> Link | None:
        bot = self.request.bot_username
        return Link(bot_link(bot, payload), self.t("ledger.view")) if bot else None

    def linked(self, columns: list[Column]) -> list[Column]:
        if self.request.bot_username:
            return [*columns, Column(self.t("ledger.col.link"), "link")]
        return columns

    def with_link(self, row: list[object], payload: str) -> list[object]:
        return [*row, self.link(payload)] if self.request.bot_username else row

    def local(self, utc_text: str | None) -> str:
        """A UTC stamp as local "2026-11-21 09:30" (for text cells such as the review trail)."""
        if not utc_text:
            return ""
        return datetime.fromisoformat(utc_text).astimezone(self.request.tz).strftime("%Y-%m-%d %H:%M")

    def trail(self, steps: tuple[ReviewStep, ...]) -> tuple[str, str]:
        """(current review state, the history one step a line).

        A returned follow-up's trail also holds the closing that was returned (a ``closed``
        step, kept when it was reopened), so the history reads: closed, returned,
        resubmitted (closed again: what was done is in the resolution column), verified.
        """
        t = self.t
        reviewed = [s.action for s in steps if s.action != "closed"]
        if not reviewed:
            return t("ledger.review.none"), ""
        lines = []
        for s in steps:
            comment = s.comment or (t("ledger.voice_note") if s.voice else "")
            key = "ledger.trail_comment" if comment else "ledger.trail"
            lines.append(t(key, at=self.local(s.at), by=s.by_name, action=t(f"ledger.review.{s.action}"),
                           comment=comment))
        return t(f"ledger.review.{reviewed[-1]}"), "\n".join(lines)

    # -- clean-up reports ---------------------------------------------------------------------
    def reports(self, lines: Iterable[ReportLine]) -> Sheet:
        t = self.t
        columns = _cols(
            t, ("id", "int"), ("township", "text"), ("village", "text"), ("work_date", "date"),
            ("categories", "text"), ("place", "text"), ("cadres", "int"), ("members", "int"),
            ("villagers", "int"), ("people", "int"), ("garbage_trucks", "number"),
            ("garbage_tons", "number"), ("area_m2", "number"), ("walls", "int"), ("ponds", "int"),
            ("photos_before", "int"), ("photos_after", "int"), ("notes", "text"),
            ("reporter", "text"), ("created_at", "datetime"), ("corrections", "int"),
            ("review", "text"), ("review_trail", "text"),
        )

        def rows() -> Iterator[list[object]]:
            for r in lines:
                cats = self.sep.join(
                    (r.other_name or t("report.cat.other")) if c == "other" else t(f"report.cat.{c}")
                    for c in r.categories
                )
                place = r.place or ""
                if r.latitude is not None and r.longitude is not None:
                    place = (place + " " if place else "") + f"({r.latitude:.5f}, {r.longitude:.5f})"
                state, history = self.trail(r.reviews)
                row: list[object] = [
                    r.id, r.township, r.village, r.work_date, cats, place, r.cadres, r.members,
                    r.villagers, r.cadres + r.members + r.villagers, r.garbage_trucks,
                    r.garbage_tons, r.area_m2, r.walls, r.ponds, r.photos_before, r.photos_after,
                    r.notes, r.reporter, r.created_at, r.corrections, state, history,
                ]
                yield self.with_link(row, f"rpt_{r.id}")

        return Sheet(t("ledger.sheet.reports"), self.linked(columns), rows())

    # -- household visits ---------------------------------------------------------------------
    def visits(self, lines: Iterable[VisitLine], followups: Mapping[int, tuple[str | None, str]] | None = None) -> Sheet:
        """``followups``: visit id -> (closed_at, due_at) of the follow-up it raised, so the
        outcome shows where that stands now (已办结 once closed, not 需要跟进)."""
        t = self.t
        columns = _cols(
            t, ("id", "int"), ("township", "text"), ("village", "text"), ("grid", "text"),
            ("head", "text"), ("visited_on", "date"), ("member", "text"), ("roles", "text"),
            ("concern", "text"), ("outcome", "text"), ("photos", "int"), ("entered_at", "datetime"),
        )

        def rows() -> Iterator[list[object]]:
            for v in lines:
                concern = v.concern_text or ""
                if v.concern_seconds is not None:
                    voice = t("ledger.voice", seconds=v.concern_seconds)
                    concern = f"{concern}\n{voice}" if concern else voice
                row: list[object] = [
                    v.id, v.township, v.village, v.grid, v.head, v.visited_on, v.member,
                    self.sep.join(t(f"visit.role.{r}") for r in v.roles), concern,
                    self.outcome(v, followups), v.photos, v.created_at,
                ]
                yield self.with_link(row, f"vst_{v.id}")

        return Sheet(t("ledger.sheet.visits"), self.linked(columns), rows())

    def outcome(self, v: VisitLine, followups: Mapping[int, tuple[str | None, str]] | None) -> str:
        state = (followups or {}).get(v.id)
        if state is None:
            return self.t(f"visit.outcome.{v.outcome}")
        closed_at, due_at = state
        if closed_at is not None:
            return self.t("ledger.fu.closed")
        overdue = datetime.fromisoformat(due_at) < self.request.now
        return self.t("ledger.fu.overdue" if overdue else "ledger.fu.open")

    # -- the summary per village --------------------------------------------------------------
    def summary(self, villages: Iterable[VillageSummary]) -> Sheet:
        """One row per village: reports by category, visits and coverage, follow-ups, tasks."""
        t = self.t
        columns = [
            Column(t("ledger.col.township")), Column(t("ledger.col.village")),
            Column(t("ledger.sum.reports"), "int", total=True),
            *(Column(t("ledger.sum.category", category=t(f"report.cat.{c}")), "int", total=True) for c in CATEGORIES),
            Column(t("ledger.sum.visits"), "int", total=True),
            Column(t("ledger.sum.households"), "int", total=True),
            Column(t("ledger.sum.visited"), "int", total=True),
            Column(t("ledger.sum.coverage"), "percent"),
            Column(t("ledger.sum.fu_open"), "int", total=True),
            Column(t("ledger.sum.fu_closed"), "int", total=True),
            Column(t("ledger.sum.tasks_due"), "int", total=True),
            Column(t("ledger.sum.on_time"), "int", total=True),
            Column(t("ledger.sum.late"), "int", total=True),
            Column(t("ledger.sum.not_done"), "int", total=True),
        ]

        def rows() -> Iterator[list[object]]:
            for v in villages:
                coverage = v.households_visited / v.households if v.households else None
                yield [
                    v.township, v.village, v.reports, *(v.by_category.get(c, 0) for c in CATEGORIES),
                    v.visits, v.households, v.households_visited, coverage, v.followups_open,
                    v.followups_closed, v.tasks_due, v.tasks_on_time, v.tasks_late,
                    v.tasks_due - v.tasks_on_time - v.tasks_late,
                ]

        return Sheet(t("ledger.sheet.summary"), columns, rows())

    def period(self) -> str:
        r = self.request
        last = r.end - timedelta(days=1)
        if r.start.day == 1 and month_bounds(r.start.year, r.start.month) == (r.start, r.end):
            return self.t("export.month", year=r.start.year, month=r.start.month)
        return self.t("ledger.period_range", start=r.start.isoformat(), end=last.isoformat())

    def on_paper(self, sheet: Sheet, unit: str) -> Sheet:
        """The sheet as a printed 台账: a title row (unit, sheet, period, 制表日期) and a totals
        row summing its count columns (every int/number column but the first, its id)."""
        t = self.t
        heading = t("ledger.heading", unit=unit, sheet=sheet.title, period=self.period(),
                    made=self.request.now.astimezone(self.request.tz).date().isoformat())
        columns = [
            c if c.total or i == 0 or c.kind not in ("int", "number") else replace(c, total=True)
            for i, c in enumerate(sheet.columns)
        ]
        return replace(sheet, columns=columns, heading=heading, totals=t("ledger.totals"))

    # -- follow-ups ---------------------------------------------------------------------------
    def followups(self, lines: Iterable[FollowupLine]) -> Sheet:
        t = self.t
        columns = _cols(
            t, ("id", "int"), ("township", "text"), ("village", "text"), ("head", "text"),
            ("member", "text"), ("visited_on", "date"), ("concern", "text"), ("due_on", "date"),
            ("state", "text"), ("closed_at", "datetime"), ("closed_by", "text"),
            ("resolution", "text"), ("review", "text"), ("review_trail", "text"),
        )
        end_at = min(self.request.end_at, self.request.now)

        def rows() -> Iterator[list[object]]:
            for f in lines:
                if f.closed_at is not None:
                    state = t("ledger.fu.closed")
                elif datetime.fromisoformat(f.due_at) < end_at:
                    state = t("ledger.fu.overdue")
                else:
                    state = t("ledger.fu.open")
                resolution = f.resolution or (t("ledger.voice_note") if f.resolution_voice else "")
                review, history = self.trail(f.reviews)
                row: list[object] = [
                    f.id, f.township, f.village, f.head, f.member, f.visited_on, f.concern_text,
                    f.due_on, state, f.closed_at, f.closed_by, resolution, review, history,
                ]
                yield self.with_link(row, f"fu_{f.id}")

        return Sheet(t("ledger.sheet.followups"), self.linked(columns), rows())

    # -- tasks --------------------------------------------------------------------------------
    def tasks(self, lines: Iterable[TaskLine]) -> Sheet:
        t = self.t
        columns = _cols(
            t, ("task_id", "int"), ("task", "text"), ("deadline", "datetime"), ("township", "text"),
            ("village", "text"), ("task_state", "text"), ("done_at", "datetime"),
            ("done_by", "text"), ("note", "text"), ("photos", "int"),
        )
        now = self.request.now

        def rows() -> Iterator[list[object]]:
            for x in lines:
                row: list[object] = [
                    x.task_id, x.title, x.deadline, x.township, x.village,
                    t(f"ledger.task.{task_state(x, now)}"), x.done_at, x.done_by, x.note, x.photos,
                ]
                yield self.with_link(row, f"tsk_{x.task_id}")

        return Sheet(t("ledger.sheet.tasks"), self.linked(columns), rows())


def task_state(x: TaskLine, now: datetime) -> str:
    """on_time / late / overdue (not done, deadline passed) / open."""
    deadline = datetime.fromisoformat(x.deadline)
    if x.done_at is not None:
        return "on_time" if datetime.fromisoformat(x.done_at) <= deadline else "late"
    return "overdue" if deadline < now else "open"


class Written:
    """How many rows a ledger being written has put down so far (all sheets), for the progress
    message: written by the worker thread, read by the event loop (one int: no lock needed)."""

    def __init__(self) -> None:
        self.rows = 0

    def counting(self, lines: Iterable[T]) -> Iterator[T]:
        for line in lines:
            yield line
            self.rows += 1


# Seconds per row of each sheet, and for the whole: measured on a district of bench/scale.py
# (2,000 villages, links on, 2 cores shared with other work) since the rows are written as XML
# (bot/rules/ledger.py): about 0.1 ms a visit or a village of the summary sheet, 0.12 ms a
# report, 0.15 ms a follow-up, 0.07 ms a task entry (each 3-4 times less than before).
SECONDS_PER_ROW = {"reports": 0.00012, "visits": 0.0001, "followups": 0.00015, "tasks": 0.00007, "villages": 0.0001}
SECONDS_FIXED = 0.5  # opening the database, the summary's queries, zipping the workbook on close


class Pace:
    """How long a ledger takes: :data:`SECONDS_PER_ROW` times the rows it will hold, scaled by
    what the last ledgers on this machine actually took (a machine twice as slow as the one
    measured learns it after its first big ledger)."""

    LEARN_FROM = 2.0  # seconds: shorter ledgers say little about the machine
    WEIGHT = 0.5  # of the newest ledger in the running factor

    def __init__(self) -> None:
        self.factor = 1.0

    def seconds(self, counts: Mapping[str, int]) -> float:
        base = SECONDS_FIXED + sum(SECONDS_PER_ROW.get(k, 0.0003) * n for k, n in counts.items())
        return base * self.factor

    def learn(self, counts: Mapping[str, int], took: float) -> None:
        expected = self.seconds(counts) / self.factor
        if expected < self.LEARN_FROM or took <= 0:
            return
        seen = min(10.0, max(0.1, took / expected))
        self.factor = (1 - self.WEIGHT) * self.factor + self.WEIGHT * seen


PACE = Pace()


def count_ledger(db_path: str | Path, request: LedgerRequest) -> dict[str, int]:
    """The rows the ledger of ``request`` will hold per sheet (reports, visits, followups,
    tasks, villages), counted without reading them. Blocking: run it in a worker thread."""
    r = request
    with LedgerReader(str(db_path)) as reader:
        return ledger_counts(reader.conn, r.unit_id, r.start, r.end, r.start_at, r.end_at)


def write_ledger(
    db_path: str | Path, request: LedgerRequest, t: Translator, target: str | Path | BinaryIO,
    written: Written | None = None,
) -> dict[str, int]:
    """Write the ledger of ``request`` to ``target``; the rows written per sheet. ``written``
    counts the rows as they go (for a progress message).

    Blocking (SQLite reads and the workbook): run it in a worker thread from async code.
    """
    sheets = Sheets(t, request)
    r = request
    count = (written or Written()).counting
    with LedgerReader(str(db_path)) as reader:
        unit = unit_name(reader, r.unit_id)
        summary = sheets.summary(count(village_summaries(reader, r.unit_id, r.start, r.end, r.start_at, r.end_at)))
        states = followup_states(reader, r.unit_id, r.start, r.end)
        return write_workbook(
            target,
            [sheets.on_paper(sheet, unit) for sheet in (
                sheets.reports(count(reader.reports(r.unit_id, r.start, r.end))),
                sheets.visits(count(reader.visits(r.unit_id, r.start, r.end)), states),
                sheets.followups(count(reader.followups(r.unit_id, r.start, r.end, r.start_at, r.end_at))),
                sheets.tasks(count(reader.tasks(r.unit_id, r.start_at, r.end_at))),
                summary,  # last: the callers read the four sheets' counts in this order
            )],
            tz=r.tz,
        )


# -- cadre-bot export ---------------------------------------------------------------------------
def add_cli_parser(sub: argparse._SubParsersAction) -> None:
    """``cadre-bot export --unit NAME (--month YYYY-MM | --from DAY --to DAY) --out FILE``."""
    e = sub.add_parser("export", help="write the Excel ledger of a unit for a month or a date range")
    e.add_argument("--unit", required=True, help="unit name, or a path of names from the district down (DISTRICT/TOWNSHIP)")
    period = e.add_mutually_exclusive_group(required=True)
    period.add_argument("--month", help="a month: YYYY-MM")
    period.add_argument("--from", dest="start", help="first day: YYYY-MM-DD (with --to)")
    e.add_argument("--to", dest="end", help="last day, included: YYYY-MM-DD")
    e.add_argument("--out", required=True, help="the .xlsx file to write")
    e.add_argument("--db", help="SQLite file (default: CADRE_DB or ./cadre.db)")
    e.add_argument("--lang", choices=SUPPORTED_LOCALES, help="language of the headers (default: CADRE_LOCALE)")
    e.add_argument("--bot", help="the bot's username, for the 'view in the bot' links (default: no links)")


def cli_period(args: argparse.Namespace) -> tuple[date, date]:
    if args.month:
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", args.month)
        if not match or not 1 <= int(match[2]) <= 12:
            raise ValueError(f"--month {args.month!r} must look like 2026-11")
        return month_bounds(int(match[1]), int(match[2]))
    if not args.end:
        raise ValueError("--from needs --to")
    first, last = date.fromisoformat(args.start), date.fromisoformat(args.end)
    if last < first:
        raise ValueError("--to is before --from")
    return first, last + timedelta(days=1)


def cmd_export(args: argparse.Namespace) -> int:
    from bot.settings import load_settings

    settings = load_settings(require_token=False, db=args.db)
    try:
        start, end = cli_period(args)
    except ValueError as exc:
        print(f"cadre-bot: {exc}", file=sys.stderr)
        return 2
    if not Path(settings.db_path).is_file():
        print(f"cadre-bot: no database at {settings.db_path}", file=sys.stderr)
        return 1
    try:
        with LedgerReader(str(settings.db_path)) as reader:
            found = reader.units_at(args.unit)
    except sqlite3.Error as exc:
        print(f"cadre-bot: cannot read {settings.db_path}: {exc}", file=sys.stderr)
        return 1
    if len(found) != 1:
        what = "no unit named" if not found else "several units are named"
        print(f"cadre-bot: {what} {args.unit!r}", file=sys.stderr)
        for _, path in found:
            print(f"  {path}", file=sys.stderr)
        return 1
    t = Catalogs(settings.locale).get(args.lang or settings.locale)
    request = LedgerRequest(
        unit_id=found[0][0], start=start, end=end, tz=settings.tz, now=datetime.now(settings.tz),
        bot_username=args.bot,
    )
    try:
        counts = write_ledger(settings.db_path, request, t, args.out)
    except sqlite3.OperationalError as exc:
        print(f"cadre-bot: cannot read {settings.db_path} ({exc}); try: cadre-bot db upgrade", file=sys.stderr)
        return 1
    summary = ", ".join(f"{title} {n}" for title, n in counts.items())
    print(f"wrote {args.out} ({found[0][1]}, {start} to {end - timedelta(days=1)}): {summary}")
    return 0
