"""How a report reads to a person: the full review/detail text, the one-line summary after
saving and the line of a list. Every word comes from the catalogs (``reports.po``)."""

from __future__ import annotations

from collections.abc import Collection

from bot.i18n import Translator
from bot.rules import reports as rules
from bot.rules.numbers import AMOUNT_COLUMNS, AMOUNT_FIELDS
from storage.reports import Report, ReportFields


def categories_text(t: Translator, fields: ReportFields) -> str:
    names = []
    for code in fields.categories:
        if code == rules.OTHER and fields.other_name:
            names.append(t("report.cat.other_named", name=fields.other_name))
        else:
            names.append(t(f"report.cat.{code}"))
    return t("list.sep").join(names) if names else t("report.none")


def people_text(t: Translator, fields: ReportFields) -> str:
    total = fields.cadres + fields.members + fields.villagers
    if not fields.people_approx:
        return t(
            "report.people",
            cadres=fields.cadres,
            members=fields.members,
            villagers=fields.villagers,
            total=total,
        )
    # Some counts were approximate (二十多人): each count reads 20余人 or 约20人.
    forms = dict(fields.people_approx)

    def count(group: str, n: int) -> str:
        return t(f"report.count.{forms.get(group, 'exact')}", n=n)

    return t(
        "report.people_counted",
        cadres=count("cadres", fields.cadres),
        members=count("members", fields.members),
        villagers=count("villagers", fields.villagers),
        total=t("report.count.about", n=total),
    )


def amount_values(fields: ReportFields) -> dict[str, object]:
    """Every amount of a report (the five columns, then the others, then ``text``)."""
    values: dict[str, object] = {n: getattr(fields, n) for n in AMOUNT_COLUMNS}
    values |= dict(fields.amounts_more)
    return {k: v for k, v in values.items() if v is not None}


def amounts_text(t: Translator, fields: ReportFields) -> str | None:
    parts = []
    values = amount_values(fields)
    for name in AMOUNT_FIELDS:
        value = values.get(name)
        if isinstance(value, int | float):
            parts.append(t(f"report.amount.{name}", value=rules.short_number(value)))
    if values.get("text"):
        parts.append(t("report.amount.text", text=values["text"]))
    return t("list.sep").join(parts) if parts else None


def photos_text(t: Translator, fields: ReportFields) -> str:
    before, after = rules.photo_counts(p.phase for p in fields.photos)
    if not before and not after:
        return t("report.photos.none")
    return t("report.photos.counts", before=before, after=after)


def place_lines(t: Translator, fields: ReportFields) -> list[str]:
    lines = []
    if fields.place:
        lines.append(t("report.line.place", value=fields.place))
    if fields.latitude is not None and fields.longitude is not None:
        lines.append(
            t("report.line.location", lat=f"{fields.latitude:.5f}", lon=f"{fields.longitude:.5f}")
        )
    return lines or [t("report.line.place", value=t("report.none"))]


def full_text(
    t: Translator,
    fields: ReportFields,
    unit_name: str,
    marked: Collection[str] = (),
    unanswered: Collection[str] = (),
) -> str:
    """Every answer, one per line (the review screen and the detail view); the lines of the
    questions in ``marked`` (filled from the user's message) carry a mark, and who took part
    reads 未填 while it is ``unanswered`` (not "0 people")."""

    def mark(step: str, lines: list[str]) -> list[str]:
        return [t("report.line.marked", line=line) for line in lines] if step in marked else lines

    lines = [
        *mark(rules.VILLAGE, [t("report.line.village", value=unit_name)]),
        *mark(rules.DATE, [t("report.line.date", value=t.date(fields.work_date) if fields.work_date.year > 1 else t("report.none"))]),
        *mark(rules.CATEGORY, [t("report.line.categories", value=categories_text(t, fields))]),
        *mark(rules.PLACE, place_lines(t, fields)),
        *mark(rules.PEOPLE, [t("report.line.people", value=t("report.none") if rules.PEOPLE in unanswered else people_text(t, fields))]),
        *mark(rules.AMOUNTS, [t("report.line.amounts", value=amounts_text(t, fields) or t("report.none"))]),
        *mark(rules.PHOTOS, [t("report.line.photos", value=photos_text(t, fields))]),
        *mark(rules.NOTES, [t("report.line.notes", value=fields.notes or t("report.none"))]),
    ]
    return "\n".join(lines)


def summary(t: Translator, report: Report) -> str:
    """One line after saving: date, village, categories, how many took part, photos."""
    f = report.fields
    if f.people_approx:  # 约27人参加,其中群众20余人
        forms = dict(f.people_approx)
        return t(
            "report.summary_approx",
            date=t.short_date(f.work_date),
            village=report.unit_name,
            categories=categories_text(t, f),
            total=t("report.count.about", n=f.cadres + f.members + f.villagers),
            villagers=t(f"report.count.{forms.get('villagers', 'exact')}", n=f.villagers),
            photos=len(f.photos),
        )
    return t(
        "report.summary",
        date=t.short_date(f.work_date),
        village=report.unit_name,
        categories=categories_text(t, f),
        total=f.cadres + f.members + f.villagers,
        villagers=f.villagers,
        photos=len(f.photos),
    )


def list_line(t: Translator, report: Report) -> str:
    f = report.fields
    values = {
        "number": report.id,
        "date": t.short_date(f.work_date),
        "village": report.unit_name,
        "categories": categories_text(t, f),
        "people": f.cadres + f.members + f.villagers,
    }
    if f.people_approx:  # 约16人参加, as the report's own text and its summary say
        values["people"] = t("report.count.about", n=values["people"])
        if f.photos:
            return t("report.list_line_photos_approx", photos=len(f.photos), **values)
        return t("report.list_line_approx", **values)
    if f.photos:
        return t("report.list_line_photos", photos=len(f.photos), **values)
    return t("report.list_line", **values)


def detail(t: Translator, report: Report) -> str:
    header = t("report.detail_header", number=report.id, reporter=report.reporter_name)
    return header + "\n" + full_text(t, report.fields, report.unit_name)
