"""What a returned report's author changed before it came back (issue 13, item 5): the report
as it was when it was last returned (the ``old_values`` of the first correction since, in
``report_changes``) against the report now, line by line as the detail view shows them
(改前 / 改后), and whether its photos were replaced. Shown under /reports' detail and /review's.
"""

from __future__ import annotations

from bot.context import CadreContext
from handlers.reports.render import full_text
from storage.reports import Report, fields_from_json


async def changed_lines(context: CadreContext, report: Report) -> list[str]:
    """The 改前/改后 lines since the report was last returned, under a title; [] if it was
    never returned (or returned and not corrected since: then the author only added a note,
    which the review trail shows)."""
    t = context.t
    events = await context.repos.oversight.history("report", report.id)
    returned = next((e for e in reversed(events) if e.action == "returned"), None)
    if returned is None:
        return []
    since = [c for c in await context.repos.reports.changes(report.id)
             if c.action == "correct" and c.changed_at >= returned.at]
    if not since:
        return []
    before = fields_from_json(since[0].old_values)
    now = report.fields
    old_unit = report.unit_name
    if before.unit_id != now.unit_id:
        unit = await context.repos.org.unit(before.unit_id)
        old_unit = unit.name if unit else ""
    old_lines = full_text(t, before, old_unit).splitlines()
    new_lines = full_text(t, now, report.unit_name).splitlines()
    lines: list[str] = []
    if len(old_lines) == len(new_lines):  # the same questions line by line: each change as a pair
        for old, new in zip(old_lines, new_lines, strict=True):
            if old != new:
                lines += [t("reports.changed.before", line=old), t("reports.changed.after", line=new)]
    else:  # a place line more or less (a shared location added or taken away)
        lines = [t("reports.changed.before", line=line) for line in old_lines if line not in new_lines]
        lines += [t("reports.changed.after", line=line) for line in new_lines if line not in old_lines]
    if [p.file_unique_id for p in before.photos] != [p.file_unique_id for p in now.photos]:
        lines.append(t("reports.changed.photos"))
    return [t("reports.changed.title"), *(lines or [t("reports.changed.nothing")])]
