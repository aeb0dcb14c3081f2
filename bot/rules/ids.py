"""Ids from callback payloads and deep links: one parser with a range check.

A payload is data anybody can forge. An id in it is accepted only as 1 to 19 ASCII digits whose
value lies in SQLite's INTEGER range (1 ≤ id ≤ 2**63 - 1); anything else (empty, negative,
signs, spaces, non-ASCII digits such as "²" or "١", a 20-digit number) is ``None``, which
every caller treats as "no such row" and answers politely.
"""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(text: object) -> int | None:
    """The id in ``text``, or None if it is not a plain, in-range positive integer."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def id_or_zero(text: object) -> int:
    """:func:`parse_id`, with 0 (never a row id) for anything refused."""
    return parse_id(text) or 0


def parse_page(text: object, default: int = 0) -> int:
    """A page number from a payload: 0..MAX_ID as plain digits, else ``default``."""
    if isinstance(text, str) and _DIGITS.fullmatch(text):
        value = int(text)
        if value <= MAX_ID:
            return value
    return default


def parse_ids(text: str, sep: str = ".") -> list[int] | None:
    """Several ids separated by ``sep`` (``"7.12"``); None if any part is refused."""
    out = []
    for part in text.split(sep):
        value = parse_id(part)
        if value is None:
            return None
        out.append(value)
    return out


def parse_numbers(text: str, sep: str = ".") -> list[int] | None:
    """Several plain non-negative numbers (ids, pages, levels: ``"7.0"``); None if any part
    is not 1-19 ASCII digits within range."""
    out = []
    for part in text.split(sep):
        value = parse_page(part, -1)
        if value < 0:
            return None
        out.append(value)
    return out
