"""Reading /coverage's text: its rows of figures, by name."""

from __future__ import annotations

import re

VILLAGE_ROW = r"· ([^\s(]+?):(\d+)/(\d+) 户\(\d+%\),没走访的党员 (\d+) 人,久未走访 (\d+) 户,逾期跟进 (\d+) 项"
TOWNSHIP_ROW = r"· (\S+?)\((\d+)个村\):(\d+)/(\d+) 户\(\d+%\),没走访的党员 (\d+) 人,久未走访 (\d+) 户,逾期跟进 (\d+) 项"


def rows(text: str, pattern: str) -> dict[str, tuple[int, ...]]:
    return {m[0]: tuple(int(x) for x in m[1:]) for m in re.findall(pattern, text)}
