"""The words and the chart of a monthly bulletin (通报), from :class:`bot.rules.bulletin.Bulletin`.

A township's bulletin lists its villages (grouped by star level when stars are set); the
district's lists its townships and names villages only where it praises them, lists those
with nothing recorded, and shows the help pairs. Ranking is by outcomes only; the footnote
says so. No Telegram here: the caller sends the text and the PNG.

:func:`make` is the whole bulletin (figures read on a read-only connection of its own, the
rules, the words and the chart) as one blocking call, for a worker thread
(:func:`bot.services.offloop.run`): a district's bulletin never stalls the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from bot.i18n import Translator
from bot.rules.bulletin import (
    Bulletin,
    PairInput,
    PairProgress,
    StarGroup,
    VillageMonth,
    compute,
    percent,
    previous_month,
    ranked,
    total,
)
from bot.services.charts import bar_chart
from storage.org import Unit
from storage.oversight import FiguresReader

MESSAGE_LIMIT = 4096
NAMES_SHOWN = 30
PAIRS_SHOWN = 15
CHART_BARS = 30  # a township with more villages: the chart shows the best and the worst 15


@dataclass(frozen=True)
class Rendered:
    parts: tuple[str, ...]  # the message, split at line ends to fit Telegram's limit
    chart: bytes | None  # None when it could not be drawn: the text goes alone
    caption: str
    bulletin: Bulletin  # the figures, for the Word document


def star_label(t: Translator, stars: int | None) -> str:
    return t(f"stars.level.{stars}") if stars else t("stars.level.none")


def names(t: Translator, villages: Sequence[VillageMonth], *, township: bool = False) -> str:
    shown = [t("bulletin.village_in", name=v.name, township=v.township) if township else v.name
             for v in villages[:NAMES_SHOWN]]
    text = t("list.sep").join(shown)
    if len(villages) > NAMES_SHOWN:
        text = t("bulletin.and_more", names=text, count=len(villages))
    return text


def outcome_line(t: Translator, v: VillageMonth) -> str:
    """Coverage, problems solved, tasks; then (never ranked) reports and people mobilised."""
    parts = []
    if v.households:
        parts.append(t("bulletin.coverage", percent=percent(v.coverage), visited=v.visited, households=v.households))
    else:
        parts.append(t("bulletin.no_households"))
    parts.append(t("bulletin.solved", count=v.followups_closed))
    if v.followups_overdue:
        parts.append(t("bulletin.overdue", count=v.followups_overdue))
    if v.tasks_due:
        parts.append(t("bulletin.tasks", on_time=v.tasks_on_time, late=v.tasks_late, not_done=v.tasks_not_done))
    if v.reports:
        parts.append(t("bulletin.reports", reports=v.reports, villagers=v.villagers, cadres=v.cadres + v.members))
    return t("bulletin.sep").join(parts)


def village_line(t: Translator, v: VillageMonth) -> str:
    return t("bulletin.village_line", name=v.name, figures=outcome_line(t, v))


def praise_lines(t: Translator, b: Bulletin, *, township: bool) -> list[str]:
    if not b.praise:
        return []
    lines = ["", t("bulletin.praise_title")]
    for p in b.praise:
        lines.append(t(f"bulletin.praise.{p.code}", names=names(t, p.villages, township=township)))
    return lines


def pair_line(t: Translator, p: PairProgress) -> str:
    helper = t("stars.village", name=p.helper.name, level=star_label(t, p.helper.stars))
    helped = t("stars.village", name=p.helped.name, level=star_label(t, p.helped.stars))
    change = p.coverage_change
    if p.helped.coverage is None:
        how = t("bulletin.pair_no_households", name=p.helped.name)
    elif change is None:
        how = t("bulletin.pair_coverage", name=p.helped.name, percent=percent(p.helped.coverage))
    else:
        points = round(change * 100)
        key = "bulletin.pair_up" if points > 0 else "bulletin.pair_down" if points < 0 else "bulletin.pair_same"
        how = t(key, name=p.helped.name, percent=percent(p.helped.coverage), points=abs(points))
    extra = t("bulletin.pair_solved", count=p.helped.followups_closed) if p.helped.followups_closed else ""
    line = t("bulletin.pair_line", helper=helper, helped=helped, how=how + extra)
    if p.problems:
        line += t("bulletin.pair_off_rule")
    return line


def pair_lines(t: Translator, b: Bulletin) -> list[str]:
    if not b.pairs:
        return []
    lines = ["", t("bulletin.pairs_title")]
    lines += [pair_line(t, p) for p in b.pairs[:PAIRS_SHOWN]]
    if len(b.pairs) > PAIRS_SHOWN:
        lines.append(t("bulletin.pairs_more", count=len(b.pairs) - PAIRS_SHOWN))
    return lines


def quiet_lines(t: Translator, b: Bulletin, *, township: bool) -> list[str]:
    if not b.quiet:
        return []
    return ["", t("bulletin.quiet", count=len(b.quiet), names=names(t, b.quiet, township=township))]


def group_heading(t: Translator, g: StarGroup) -> str:
    stars = "⭐" * (g.stars or 0)
    return t("bulletin.group", stars=stars, level=star_label(t, g.stars), count=len(g.villages),
             percent=percent(g.coverage))


def header(t: Translator, unit: Unit, b: Bulletin, partial_to: str | None) -> list[str]:
    month = t("export.month", year=b.start.year, month=b.start.month)
    lines = [t("bulletin.title", unit=unit.name, month=month)]
    if partial_to:
        lines.append(t("bulletin.partial", day=partial_to))
    lines += ["", t("bulletin.total", figures=outcome_line(t, b.totals))]
    return lines


def township_text(t: Translator, unit: Unit, b: Bulletin, partial_to: str | None) -> list[str]:
    lines = header(t, unit, b, partial_to)
    lines += praise_lines(t, b, township=False)
    if b.groups:
        lines += ["", t("bulletin.stars_legend")]  # what the ⭐ and the chart's colours mean
        for g in b.groups:
            lines += ["", group_heading(t, g)]
            lines += [village_line(t, v) for v in g.villages]
    else:
        lines += ["", t("bulletin.villages_title")]
        lines += [village_line(t, v) for v in b.villages]
    lines += pair_lines(t, b)
    lines += quiet_lines(t, b, township=False)
    return lines


def district_text(t: Translator, unit: Unit, b: Bulletin, partial_to: str | None) -> list[str]:
    lines = header(t, unit, b, partial_to)
    lines += ["", t("bulletin.townships_title")]
    for name, villages in townships(b):
        summary = total(villages, name)
        lines.append(t("bulletin.township_line", name=name, count=len(villages), figures=outcome_line(t, summary)))
    lines += praise_lines(t, b, township=True)
    if b.groups:
        lines += ["", t("bulletin.groups_title"), t("bulletin.stars_legend")]
        lines += [group_heading(t, g) for g in b.groups]
    lines += pair_lines(t, b)
    lines += quiet_lines(t, b, township=True)
    return lines


def townships(b: Bulletin) -> list[tuple[str, list[VillageMonth]]]:
    """Villages per township, the townships by the same outcomes as villages."""
    by: dict[str, list[VillageMonth]] = {}
    for v in b.villages:
        by.setdefault(v.township, []).append(v)
    order = ranked(total(vs, name) for name, vs in by.items())
    return [(s.name, by[s.name]) for s in order]


def split(lines: list[str], limit: int = MESSAGE_LIMIT) -> tuple[str, ...]:
    """Join lines into messages of at most ``limit`` characters, breaking only at line ends."""
    parts: list[str] = []
    current = ""
    for line in lines:
        line = line[:limit]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        parts.append(current)
    return tuple(parts)


def render(t: Translator, unit: Unit, b: Bulletin, *, partial_to: str | None = None) -> Rendered:
    """The message(s), the chart and its caption of a township's or the district's bulletin."""
    month = t("export.month", year=b.start.year, month=b.start.month)
    if unit.level == "district":
        lines = district_text(t, unit, b, partial_to)
        groups = townships(b)
        labels = [name for name, _ in groups]
        values = [100 * (total(vs).coverage or 0) for _, vs in groups]
        chart_title = t("bulletin.chart_townships", unit=unit.name, month=month)
        colour = None
    else:
        lines = township_text(t, unit, b, partial_to)
        villages = [v for g in b.groups for v in g.villages] if b.groups else list(b.villages)
        if len(villages) > CHART_BARS:  # never a hundred bars on a phone: the best and the worst
            half = CHART_BARS // 2
            keep = {v.village_id for v in (*b.villages[:half], *b.villages[-half:])}
            villages = [v for v in villages if v.village_id in keep]
        labels = [t("stars.village", name=v.name, level=star_label(t, v.stars)) if b.groups else v.name
                  for v in villages]
        values = [100 * (v.coverage or 0) for v in villages]
        chart_title = t("bulletin.chart_villages", unit=unit.name, month=month)
        if len(villages) < len(b.villages):
            chart_title = t("bulletin.chart_villages_ends", unit=unit.name, month=month, count=CHART_BARS // 2)
        colour = [star_label(t, v.stars) for v in villages] if b.groups else None
    lines += ["", t("bulletin.footnote")]
    chart = bar_chart(labels, values, title=chart_title, xlabel=t("bulletin.chart_axis"), percent=True, groups=colour)
    return Rendered(split(lines), chart, chart_title, b)


def figures(reader: FiguresReader, unit: Unit, start: date, end: date, now: datetime,
            pairs: Sequence[PairInput] = ()) -> Bulletin:
    """The bulletin of ``unit`` for the month [start, end) as of ``now`` (blocking)."""
    tz = now.tzinfo

    def bounds(a: date, b: date) -> tuple[datetime, datetime]:
        return datetime.combine(a, time(0), tz), datetime.combine(b, time(0), tz)

    start_at, end_at = bounds(start, end)
    villages = reader.month_figures(unit.id, start, end, start_at=start_at, end_at=end_at, now=now)
    before_start, before_end = previous_month(start)
    b_start_at, b_end_at = bounds(before_start, before_end)
    before = reader.month_figures(unit.id, before_start, before_end, start_at=b_start_at, end_at=b_end_at, now=now)
    return compute(start, end, villages, before=before, pairs=pairs)


def make(
    db_path: str, t: Translator, unit: Unit, start: date, end: date, now: datetime,
    pairs: Sequence[PairInput] = (), *, partial_to: str | None = None,
) -> Rendered | None:
    """Read, compute and render the bulletin in the calling (worker) thread; None when the
    unit has no villages."""
    with FiguresReader(db_path) as reader:
        b = figures(reader, unit, start, end, now, pairs)
    if not b.villages:
        return None
    return render(t, unit, b, partial_to=partial_to)


def docx(t: Translator, unit: Unit, b: Bulletin, *, chart: bytes | None, made: date,
         partial_to: str | None = None) -> bytes:
    """The bulletin as a Word document (:func:`bot.services.bulletin_docx.bulletin_docx`), for
    the worker process (:func:`bot.services.offloop.run_in_process`): python-docx is imported
    there, never in the bot's own process."""
    from bot.services.bulletin_docx import bulletin_docx

    return bulletin_docx(t, unit, b, chart=chart, made=made, partial_to=partial_to)


def docx_filename(t: Translator, unit: Unit, b: Bulletin) -> str:
    month = t("export.month", year=b.start.year, month=b.start.month)
    return t("bulletin.docx.filename", unit=unit.name, month=month)
