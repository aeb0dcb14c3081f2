"""How a report reads to a person: the full review/detail text, the one-line summary after
saving and the line of a list. Every word comes from the catalogs (``reports.po``)."""

from __future__ import annotations

from bot.i18n import Translator
from bot.rules import reports as rules
from storage.reports import Report, ReportFields

AMOUNT_FIELDS = ("garbage_trucks", "garbage_tons", "area_m2", "walls", "ponds")


def categories_text(t: Translator, fields: ReportFields) -> str:
    names = []
    for code in fields.categories:
        if code == rules.OTHER and fields.other_name:
            names.append(t("report.cat.other_named", name=fields.other_name))
        else:
            names.append(t(f"report.cat.{code}"))
    return t("list.sep").join(names) if names else t("report.none")


def people_text(t: Translator, fields: ReportFields) -> str:
    return t(
        "report.people",
        cadres=fields.cadres,
        members=fields.members,
        villagers=fields.villagers,
        total=fields.cadres + fields.members + fields.villagers,
    )


def amounts_text(t: Translator, fields: ReportFields) -> str | None:
    parts = []
    for name in AMOUNT_FIELDS:
        value = getattr(fields, name)
        if value is not None:
            parts.append(t(f"report.amount.{name}", value=rules.short_number(value)))
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


def full_text(t: Translator, fields: ReportFields, unit_name: str) -> str:
    """Every answer, one per line (the review screen and the detail view)."""
    lines = [
        t("report.line.village", value=unit_name),
        t("report.line.date", value=t.date(fields.work_date) if fields.work_date.year > 1 else t("report.none")),
        t("report.line.categories", value=categories_text(t, fields)),
        *place_lines(t, fields),
        t("report.line.people", value=people_text(t, fields)),
        t("report.line.amounts", value=amounts_text(t, fields) or t("report.none")),
        t("report.line.photos", value=photos_text(t, fields)),
        t("report.line.notes", value=fields.notes or t("report.none")),
    ]
    return "\n".join(lines)


def summary(t: Translator, report: Report) -> str:
    """One line after saving: date, village, categories, how many took part, photos."""
    f = report.fields
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
    if f.photos:
        return t("report.list_line_photos", photos=len(f.photos), **values)
    return t("report.list_line", **values)


def detail(t: Translator, report: Report) -> str:
    header = t("report.detail_header", number=report.id, reporter=report.reporter_name)
    return header + "\n" + full_text(t, report.fields, report.unit_name)
