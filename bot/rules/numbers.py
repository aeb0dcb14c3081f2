"""Pure parsers for the numbers users type: counts, participants, clean-up amounts.

No I/O, no clock, no ``telegram`` import and no user-facing text: parsers return
either a value or a machine-readable reason code (a plain ``str``) that the UI
layer translates.  The Chinese words below are parsing vocabulary only.

Reason codes returned by :func:`parse_participants` and :func:`parse_amounts`:

``"empty"``           nothing but blanks / punctuation was typed
``"not_understood"``  the text could not be read unambiguously
``"negative"``        a number was typed with a minus sign
``"too_large"``       a value is above the sane upper bound for its field
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "AMOUNT_LIMITS",
    "MAX_PARTICIPANTS",
    "Amounts",
    "Participants",
    "chinese_int",
    "format_amounts",
    "format_participants",
    "parse_amounts",
    "parse_count",
    "parse_participants",
]

# Longest run of Arabic digits accepted anywhere (keeps int() far from
# Python's int-string conversion limit and rejects absurd inputs early).
_MAX_DIGITS = 18

# Parsing vocabulary (not user-facing text): Chinese digits.
_CN_DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
# Parsing vocabulary (not user-facing text): Chinese units below 万.
_CN_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
_CN_WAN = "万"
# Characters that may make up a Chinese numeral (digits, units, 万).
CN_NUMERAL_CHARS = "".join(_CN_DIGITS) + "".join(_CN_UNITS) + _CN_WAN

_ASCII_INT_RE = re.compile(r"[0-9]+")
_TOKEN_RE = re.compile(r"[0-9]+|.", re.S)


def normalize(text: str) -> str:
    """NFKC-fold (full-width digits/letters/punctuation to ASCII) and strip."""
    return unicodedata.normalize("NFKC", text).strip()


def _cn_section(text: str) -> int | None:
    """Value of a numeral below 10000 (no 万), or None if malformed.

    Accepts canonical forms (一百零五, 十五, 两千三百) plus the colloquial
    omission of the last unit after 百/千 (一百二 = 120, 三千五 = 3500).
    Arabic digit runs may stand in for a digit (3千 = 3000).
    """
    if not text:
        return None
    value = 0
    cur: int | None = None  # digit waiting for its unit
    last_unit = 10**9  # units must strictly decrease
    zero_seen = False
    for tok in _TOKEN_RE.findall(text):
        if tok.isascii() and tok.isdigit():
            if cur is not None or len(tok) > _MAX_DIGITS:
                return None
            cur = int(tok)
        elif tok in ("零", "〇"):
            if cur is not None:
                return None
            zero_seen = True
        elif tok in _CN_DIGITS:
            if cur is not None:
                return None
            cur = _CN_DIGITS[tok]
        elif tok in _CN_UNITS:
            unit = _CN_UNITS[tok]
            if unit >= last_unit:
                return None
            if cur is None:
                if unit != 10:  # "百" / "千" alone are not numbers
                    return None
                cur = 1  # 十五, 一百十
            value += cur * unit
            last_unit = unit
            cur = None
            zero_seen = False
        else:
            return None
    if cur is not None:
        if last_unit in (100, 1000) and not zero_seen:
            value += cur * (last_unit // 10)  # 一百二 = 120, 三千五 = 3500
        else:
            value += cur
    return value


def chinese_int(text: str) -> int | None:
    """Parse a non-negative integer typed as Arabic digits or a Chinese numeral.

    ``"15"``, ``"１５"``, ``"十五"``, ``"一百零五"``, ``"两百"``, ``"三万二千"`` and the
    digit-by-digit form ``"二〇二四"`` are accepted.  Units go up to 万 (and 万
    may follow a smaller number: 十万 = 100000).  Anything else, including a
    sign, decimals or surrounding words, gives ``None``.
    """
    if not isinstance(text, str):
        return None
    s = normalize(text)
    if not s or len(s) > 40:
        return None
    if _ASCII_INT_RE.fullmatch(s):
        return int(s) if len(s) <= _MAX_DIGITS else None
    if any(ch not in CN_NUMERAL_CHARS and not ("0" <= ch <= "9") for ch in s):
        return None
    # Digit-by-digit form: 二〇二四 = 2024, 一零五 = 105 (two or more digits, no units).
    if len(s) >= 2 and all(ch in _CN_DIGITS and ch != "两" for ch in s):
        return int("".join(str(_CN_DIGITS[ch]) for ch in s))
    if s.count(_CN_WAN) > 1:
        return None
    if _CN_WAN in s:
        high_s, low_s = s.split(_CN_WAN)
        high = _cn_section(high_s)
        if high is None or high == 0:
            return None
        if not low_s:
            low = 0
        elif len(low_s) == 1 and low_s in _CN_DIGITS and low_s not in ("零", "〇"):
            low = _CN_DIGITS[low_s] * 1000  # 一万五 = 15000
        else:
            low = _cn_section(low_s)
            if low is None or low >= 10000:
                return None
            # 一万零五 is 10005, but 一万五十 would be ambiguous; require 零
            # before a low part that does not reach the thousands.
            if low < 1000 and not low_s.startswith(("零", "〇")):
                return None
        return high * 10000 + low
    return _cn_section(s)


# A number token inside a longer text: Arabic (optionally decimal) or Chinese.
_NUM = rf"(?:[0-9]+(?:\.[0-9]+)?|[{CN_NUMERAL_CHARS}]+)"


def _to_number(tok: str) -> float | None:
    if re.fullmatch(r"[0-9]+\.[0-9]+", tok):
        if len(tok) > _MAX_DIGITS + 1:
            return None
        return float(tok)
    n = chinese_int(tok)
    return None if n is None else float(n)


# --------------------------------------------------------------------------- counts

# Parsing vocabulary (not user-facing text): counter words allowed after a count.
_COUNT_SUFFIXES = ("人", "个", "名", "位", "户")


def parse_count(text: str) -> int | None:
    """A single non-negative integer answer: ``"12"``, ``"十二"``, ``"12人"``, ``"３个"``."""
    if not isinstance(text, str):
        return None
    s = normalize(text).rstrip("。.!！")
    s = s.strip()
    for suffix in _COUNT_SUFFIXES:
        if s.endswith(suffix):
            s = s[: -len(suffix)].rstrip()
            break
    return chinese_int(s)


# --------------------------------------------------------------------------- participants

MAX_PARTICIPANTS = 10000


@dataclass(frozen=True)
class Participants:
    cadres: int
    members: int
    villagers: int

    @property
    def total(self) -> int:
        return self.cadres + self.members + self.villagers


# Parsing vocabulary (not user-facing text): labels for the three groups.
# 村民 is a synonym of 群众.
_PARTICIPANT_LABELS: dict[str, str] = {
    "两委干部": "cadres",
    "村干部": "cadres",
    "干部": "cadres",
    "党员": "members",
    "群众": "villagers",
    "村民": "villagers",
}
# Parsing vocabulary (not user-facing text): counter words after a number.
_PERSON_COUNTERS = "人名位个"
# Parsing vocabulary (not user-facing text): filler words ignored between items.
_PARTICIPANT_FILLERS = ("参会", "参加", "其中", "和", "及", "与", "共", "另有")

_LABEL_ALT = "|".join(sorted(_PARTICIPANT_LABELS, key=len, reverse=True))
_SEP_CHARS = r"\s,;、/|:=+"
_LABEL_FIRST_RE = re.compile(
    rf"(?P<label>{_LABEL_ALT})[\s:=]*(?P<neg>-\s*)?(?P<num>{_NUM})\s*[{_PERSON_COUNTERS}]?"
)
_NUM_FIRST_RE = re.compile(
    rf"(?P<neg>-\s*)?(?P<num>{_NUM})\s*[{_PERSON_COUNTERS}]?\s*(?P<label>{_LABEL_ALT})"
)
_UNLABELLED_RE = re.compile(rf"^\s*(?P<neg>-\s*)?(?P<num>{_NUM})\s*[{_PERSON_COUNTERS}]?\s*$")


def _clean(text: str) -> str:
    s = normalize(text).lower()
    s = s.replace("。", " ").replace("；", ";").replace("，", ",")
    return s.strip(" .!！;,")


def _only_separators(rest: str, fillers: tuple[str, ...]) -> bool:
    for word in fillers:
        rest = rest.replace(word, " ")
    return re.fullmatch(rf"[{_SEP_CHARS}]*", rest) is not None


def _read_labelled(s: str, regex: re.Pattern[str]) -> tuple[list[float], bool] | None:
    """Values (cadres, members, villagers) and a minus-sign flag, or None unless
    ``regex`` reads the whole text (each label once, integer counts)."""
    found: dict[str, float] = {}
    negative = False
    pieces: list[str] = []
    pos = 0
    for m in regex.finditer(s):
        field = _PARTICIPANT_LABELS[m.group("label")]
        if field in found:
            return None
        value = _to_number(m.group("num"))
        if value is None or value != int(value):
            return None
        negative = negative or bool(m.group("neg"))
        found[field] = value
        pieces.append(s[pos : m.start()])
        pos = m.end()
    pieces.append(s[pos:])
    if not found or not _only_separators(" ".join(pieces), _PARTICIPANT_FILLERS):
        return None
    return [found.get(f, 0.0) for f in ("cadres", "members", "villagers")], negative


def parse_participants(text: str) -> Participants | str:
    """Read how many cadres, party members and villagers took part.

    Rules:

    * Labelled form, items in any order, each label once: ``"干部3 党员5 群众20"``,
      ``"党员五人，干部三人"``, ``"3名干部 5名党员"``.  村民 means 群众.  When at
      least one label is given, a missing group counts as 0 (``"党员12"`` is a
      members-only meeting).
    * Unlabelled form: exactly three numbers in the fixed order cadres, members,
      villagers: ``"3 5 20"``, ``"3，5，20"``, ``"3、5、20"``.  One or two bare
      numbers are ambiguous and refused.  Labelled and bare numbers may not mix.
    * Each count is an integer in 0..10000 (above: ``"too_large"``); a minus sign
      gives ``"negative"``; all zeros is accepted (the caller may reject it).
    """
    if not isinstance(text, str):
        return "not_understood"
    s = _clean(text)
    if not s:
        return "empty"
    if len(s) > 200:
        return "not_understood"

    values: list[float]
    negative = False
    if any(label in s for label in _PARTICIPANT_LABELS):
        # Labelled form: all items label-first or all number-first.
        for regex in (_LABEL_FIRST_RE, _NUM_FIRST_RE):
            result = _read_labelled(s, regex)
            if result is not None:
                break
        else:
            return "not_understood"
        values, negative = result
    else:
        parts = [p for p in re.split(rf"[{_SEP_CHARS}]+", s) if p]
        if len(parts) != 3:
            return "not_understood"
        values = []
        for part in parts:
            m = _UNLABELLED_RE.match(part)
            if m is None:
                return "not_understood"
            value = _to_number(m.group("num"))
            if value is None or value != int(value):
                return "not_understood"
            negative = negative or bool(m.group("neg"))
            values.append(value)
    if negative:
        return "negative"
    if any(v > MAX_PARTICIPANTS for v in values):
        return "too_large"
    cadres, members, villagers = (int(v) for v in values)
    return Participants(cadres=cadres, members=members, villagers=villagers)


def format_participants(p: Participants) -> str:
    """Canonical text ``"干部3 党员5 群众20"``; ``parse_participants`` reads it back."""
    return f"干部{p.cadres} 党员{p.members} 群众{p.villagers}"


# --------------------------------------------------------------------------- amounts


@dataclass(frozen=True)
class Amounts:
    garbage_trucks: float | None = None
    garbage_tons: float | None = None
    area_m2: float | None = None
    walls: int | None = None
    ponds: int | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f) is None for f in _AMOUNT_FIELDS)


_AMOUNT_FIELDS = ("garbage_trucks", "garbage_tons", "area_m2", "walls", "ponds")

# Upper bounds for one report from one village.
AMOUNT_LIMITS: dict[str, float] = {
    "garbage_trucks": 1000,
    "garbage_tons": 10000,
    "area_m2": 1_000_000,
    "walls": 1000,
    "ponds": 1000,
}

# Parsing vocabulary (not user-facing text): units that fix the field.
# NFKC turns ㎡ and m² into "m2" before matching.
_FIXED_UNITS: dict[str, str] = {
    "平方米": "area_m2",
    "平米": "area_m2",
    "平方": "area_m2",
    "m2": "area_m2",
    "车次": "garbage_trucks",
    "车": "garbage_trucks",
    "辆": "garbage_trucks",
    "吨": "garbage_tons",
    "t": "garbage_tons",
}
# Parsing vocabulary (not user-facing text): counters for walls or ponds; the
# field then comes from a keyword next to the number.
_COUNTER_UNITS = ("处", "个", "堵", "面", "段", "口", "座")
# Parsing vocabulary (not user-facing text): keywords for walls and ponds.
_WALL_KEYWORDS = ("墙", "垣", "壁")
_POND_KEYWORDS = ("塘", "坑", "池")

# Latin units must not run into a following letter/digit ("3 tons" is not 3t).
_UNIT_ALT = "|".join(
    re.escape(u) + ("(?![a-z0-9])" if u.isascii() else "")
    for u in sorted([*_FIXED_UNITS, *_COUNTER_UNITS], key=len, reverse=True)
)
_AMOUNT_RE = re.compile(rf"(?P<neg>-\s*)?(?P<num>{_NUM})\s*(?P<unit>{_UNIT_ALT})?")


def _keyword_field(snippet: str) -> str | bool | None:
    """walls/ponds from keywords in ``snippet``; None if none, False if both."""
    wall = any(k in snippet for k in _WALL_KEYWORDS)
    pond = any(k in snippet for k in _POND_KEYWORDS)
    if wall and pond:
        return False
    if wall:
        return "walls"
    if pond:
        return "ponds"
    return None


def parse_amounts(text: str) -> Amounts | str:
    """Read clean-up work amounts, e.g. ``"清运垃圾5车 拆除残墙2处 整治坑塘1个"``.

    Rules:

    * The unit decides the field: 车/车次/辆 → garbage_trucks, 吨 → garbage_tons,
      平方米/平米/平方/㎡/m² → area_m2.
    * Counters 处/个/堵/面/段/口/座 (or no unit at all) need a keyword: 墙/垣/壁
      → walls, 塘/坑/池 → ponds, looked up first in the words before the number
      (since the previous amount), else in the words right after it.
    * Words around the numbers (清运, 拆除, 绿化 ...) are otherwise free.  Every
      number must be understood, each field may appear once, and at least one
      field must be given; otherwise ``"not_understood"``.
    * Trucks, tons and area may have decimals (rounded to 0.01); walls and ponds
      are integers.  Bounds in :data:`AMOUNT_LIMITS` (above: ``"too_large"``);
      a minus sign: ``"negative"``.
    """
    if not isinstance(text, str):
        return "not_understood"
    s = _clean(text).replace("m²", "m2")
    if not s:
        return "empty"
    if len(s) > 300:
        return "not_understood"

    matches = list(_AMOUNT_RE.finditer(s))
    if not matches:
        return "not_understood"
    found: dict[str, float] = {}
    negative = False
    prev_end = 0
    for i, m in enumerate(matches):
        unit = m.group("unit")
        field: str | bool | None
        if unit in _FIXED_UNITS:
            field = _FIXED_UNITS[unit]
        else:
            field = _keyword_field(s[prev_end : m.start()])
            if field is None:
                next_start = matches[i + 1].start() if i + 1 < len(matches) else len(s)
                after = re.split(rf"[{_SEP_CHARS}]", s[m.end() : next_start], maxsplit=1)[0]
                field = _keyword_field(after)
        prev_end = m.end()
        if not field or field in found:
            return "not_understood"
        value = _to_number(m.group("num"))
        if value is None:
            return "not_understood"
        if field in ("walls", "ponds") and value != int(value):
            return "not_understood"
        negative = negative or bool(m.group("neg"))
        found[field] = value
    if negative:
        return "negative"
    if any(v > AMOUNT_LIMITS[f] for f, v in found.items()):
        return "too_large"
    return Amounts(
        garbage_trucks=_round2(found.get("garbage_trucks")),
        garbage_tons=_round2(found.get("garbage_tons")),
        area_m2=_round2(found.get("area_m2")),
        walls=None if "walls" not in found else int(found["walls"]),
        ponds=None if "ponds" not in found else int(found["ponds"]),
    )


def _round2(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def _fmt_float(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


# Parsing vocabulary (not user-facing text), also the canonical echo form.
_AMOUNT_FORMAT: tuple[tuple[str, str], ...] = (
    ("garbage_trucks", "清运垃圾{}车"),
    ("garbage_tons", "清运垃圾{}吨"),
    ("area_m2", "整治面积{}平方米"),
    ("walls", "拆除残墙{}处"),
    ("ponds", "整治坑塘{}个"),
)


def format_amounts(a: Amounts) -> str:
    """Canonical text, e.g. ``"清运垃圾5车 拆除残墙2处"``; fields that are None are
    left out (all None gives ``""``).  ``parse_amounts`` reads it back for any
    non-empty value rounded to 0.01 within the limits."""
    parts = []
    for field, template in _AMOUNT_FORMAT:
        v = getattr(a, field)
        if v is None:
            continue
        parts.append(template.format(v if isinstance(v, int) else _fmt_float(v)))
    return " ".join(parts)
