"""How the scheduler's tables store instants: UTC text ``YYYY-MM-DDTHH:MM:SSZ`` (sorts as time)."""

from __future__ import annotations

from datetime import UTC, datetime

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def to_db(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return value.astimezone(UTC).strftime(FORMAT)


def from_db(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, FORMAT).replace(tzinfo=UTC)
