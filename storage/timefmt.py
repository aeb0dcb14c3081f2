"""How every table stores instants: UTC text ``YYYY-MM-DDTHH:MM:SSZ`` (sorts as time). The one
helper for it, in Python (:func:`to_db`, :func:`from_db`) and in SQL (:data:`SQL_NOW`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SQL_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"  # the same text, made by SQLite


def to_db(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return value.astimezone(UTC).strftime(FORMAT)


def from_db(text: str | None) -> datetime | None:
    if not text:
        return None
    if len(text) == 20 and text[10] == "T" and text[19] == "Z":  # FORMAT: 15x quicker than strptime
        return datetime.fromisoformat(text)
    return datetime.strptime(text, FORMAT).replace(tzinfo=UTC)


def plan_rows(plans: Iterable[tuple[int, int, datetime | None]], never: str) -> list[tuple[str, int, int]]:
    """``(id, plan_rev, next_at)`` of a sweep's plans as rows ``(next_at as stored, id,
    plan_rev)`` for one ``UPDATE ... FROM json_each``; plans alike share the text of their
    moment (formatted once), None is ``never``."""
    moments: dict[datetime | None, str] = {None: never}
    rows = []
    for ident, rev, at in plans:
        text = moments.get(at)
        if text is None:
            text = moments[at] = to_db(at)  # type: ignore[arg-type]
        rows.append((text, ident, rev))
    return rows
