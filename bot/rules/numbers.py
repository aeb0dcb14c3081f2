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
from dataclasses import dataclass, replace

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
    "parse_count_approx",
    "parse_participants",
    "read_amounts",
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


# How an approximate count reads: "more" (二十多, 20余: shown 20余人) or "about" (十来个,
# 约20, 20左右: shown 约20人).
APPROX_FORMS = ("more", "about")


@dataclass(frozen=True)
class Participants:
    cadres: int
    members: int
    villagers: int
    # (group, form) for each group whose count was approximate, groups in field order.
    approx: tuple[tuple[str, str], ...] = ()

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
# Parsing vocabulary (not user-facing text): words that make a count approximate, before the
# number (约20) or after it (二十多, 20余, 十来个, 二十几, 20人左右).
_APPROX_BEFORE = "大约|大概|约|近|将近|差不多"
_APPROX_AFTER = "多|余|来|几"
_APPROX_TAIL = "左右|上下"
_APPROX_ABOUT_WORDS = ("约", "大约", "大概", "近", "将近", "差不多", "来", "左右", "上下")
_COUNT = (
    rf"(?P<pre>{_APPROX_BEFORE})?(?P<neg>-\s*)?(?P<num>{_NUM})(?P<post>{_APPROX_AFTER})?"
    rf"\s*[{_PERSON_COUNTERS}]?(?P<tail>{_APPROX_TAIL})?"
)
_LABEL_FIRST_RE = re.compile(rf"(?P<label>{_LABEL_ALT})[\s:=]*(?:有|是)?{_COUNT}")
_NUM_FIRST_RE = re.compile(rf"{_COUNT}\s*(?P<label>{_LABEL_ALT})")
_COUNT_ONLY_RE = re.compile(rf"^{_COUNT}$")


# For readers of whole messages (bot.rules.reader): one count with its approximate words, as a
# regex fragment with the groups pre, neg, num, post, tail; approx_form reads a match of it.
COUNT_PATTERN = _COUNT
NUMBER_PATTERN = _NUM


def approx_form(m: re.Match[str]) -> str | None:
    return _approx_form(m)


def to_number(tok: str) -> float | None:
    """A number token (Arabic, decimal or Chinese numeral) as a float; None if malformed."""
    return _to_number(tok)


def _approx_form(m: re.Match[str]) -> str | None:
    """"more", "about" or None (an exact count) from a match of ``_COUNT``."""
    words = [w for w in (m.group("pre"), m.group("post"), m.group("tail")) if w]
    if not words:
        return None
    return "about" if any(w in _APPROX_ABOUT_WORDS for w in words) else "more"



def _clean(text: str) -> str:
    s = normalize(text).lower()
    s = s.replace("。", " ").replace("；", ";").replace("，", ",")
    return s.strip(" .!！;,")


def _only_separators(rest: str, fillers: tuple[str, ...]) -> bool:
    for word in fillers:
        rest = rest.replace(word, " ")
    return re.fullmatch(rf"[{_SEP_CHARS}]*", rest) is not None


def _read_labelled(
    s: str, regex: re.Pattern[str], approx: dict[str, str]
) -> tuple[list[float], bool] | None:
    """Values (cadres, members, villagers) and a minus-sign flag, or None unless
    ``regex`` reads the whole text (each label once, integer counts); the approximate
    groups go into ``approx``."""
    found: dict[str, float] = {}
    negative = False
    approx.clear()
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
        form = _approx_form(m)
        if form is not None:
            approx[field] = form
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
    * A count may be approximate: 二十多, 20余, 二十几 (form "more", shown 20余人), 十来个,
      约20, 20人左右 (form "about", shown 约20人); it is taken as its number and the group
      is listed in ``approx``.  Counter words 人/名/位/个 may follow any count.
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
    approx: dict[str, str] = {}
    if any(label in s for label in _PARTICIPANT_LABELS):
        # Labelled form: all items label-first or all number-first.
        for regex in (_LABEL_FIRST_RE, _NUM_FIRST_RE):
            result = _read_labelled(s, regex, approx)
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
        for field, part in zip(("cadres", "members", "villagers"), parts, strict=True):
            m = _COUNT_ONLY_RE.match(part)
            if m is None:
                return "not_understood"
            value = _to_number(m.group("num"))
            if value is None or value != int(value):
                return "not_understood"
            negative = negative or bool(m.group("neg"))
            values.append(value)
            form = _approx_form(m)
            if form is not None:
                approx[field] = form
    if negative:
        return "negative"
    if any(v > MAX_PARTICIPANTS for v in values):
        return "too_large"
    cadres, members, villagers = (int(v) for v in values)
    marks = tuple((f, approx[f]) for f in ("cadres", "members", "villagers") if f in approx)
    return Participants(cadres=cadres, members=members, villagers=villagers, approx=marks)


def format_participants(p: Participants) -> str:
    """Canonical text ``"干部3 党员5 群众20"`` (``"群众20余"``, ``"群众约20"`` when approximate);
    ``parse_participants`` reads it back."""
    forms = dict(p.approx)

    def one(field: str, value: int) -> str:
        form = forms.get(field)
        return f"约{value}" if form == "about" else f"{value}余" if form == "more" else str(value)

    return f"干部{one('cadres', p.cadres)} 党员{one('members', p.members)} 群众{one('villagers', p.villagers)}"


def parse_count_approx(text: str) -> tuple[int, str | None] | None:
    """One count, maybe approximate: ``"12"`` → (12, None), ``"二十多人"`` → (20, "more"),
    ``"十来个"`` → (10, "about"); None if not a count."""
    if not isinstance(text, str):
        return None
    s = normalize(text).rstrip("。.!！").strip()
    if len(s) > 40:
        return None
    exact = parse_count(s)
    if exact is not None:
        return exact, None
    m = _COUNT_ONLY_RE.match(s)
    if m is None or m.group("neg"):
        return None
    value = _to_number(m.group("num"))
    if value is None or value != int(value):
        return None
    return int(value), _approx_form(m)


# --------------------------------------------------------------------------- amounts


@dataclass(frozen=True)
class Amounts:
    garbage_trucks: float | None = None
    garbage_tons: float | None = None
    area_m2: float | None = None
    walls: int | None = None
    ponds: int | None = None
    trees: int | None = None
    lights: int | None = None
    length_m: float | None = None
    area_mu: float | None = None
    volume_m3: float | None = None
    # What the grammar did not read, kept as typed (never a dead end).
    text: str | None = None

    def is_empty(self) -> bool:
        return self.text is None and all(getattr(self, f) is None for f in AMOUNT_FIELDS)

    def values(self) -> dict[str, float | int]:
        """The numeric fields that are set, in display order."""
        return {f: getattr(self, f) for f in AMOUNT_FIELDS if getattr(self, f) is not None}


# The numeric amount fields in display order (the one list: reports, their review, the ledger
# and the catalog keys report.amount.<field> are all built from it).
AMOUNT_FIELDS = (
    "garbage_trucks", "garbage_tons", "area_m2", "walls", "ponds",
    "trees", "lights", "length_m", "area_mu", "volume_m3",
)
# The first five have columns of their own in the reports table; the rest go to amounts_more.
AMOUNT_COLUMNS = AMOUNT_FIELDS[:5]
INT_AMOUNT_FIELDS = frozenset({"walls", "ponds", "trees", "lights"})
MAX_AMOUNT_TEXT = 200

# Upper bounds for one report from one village.
AMOUNT_LIMITS: dict[str, float] = {
    "garbage_trucks": 1000,
    "garbage_tons": 10000,
    "area_m2": 1_000_000,
    "walls": 1000,
    "ponds": 1000,
    "trees": 100_000,
    "lights": 10_000,
    "length_m": 100_000,
    "area_mu": 10_000,
    "volume_m3": 100_000,
}

# Parsing vocabulary (not user-facing text): units that fix the field.
# NFKC turns ㎡ and m² into "m2", ㎥ into "m3" before matching.
_FIXED_UNITS: dict[str, str] = {
    "平方米": "area_m2",
    "平米": "area_m2",
    "平方": "area_m2",
    "m2": "area_m2",
    "㎡": "area_m2",
    "车次": "garbage_trucks",
    "车": "garbage_trucks",
    "辆": "garbage_trucks",
    "趟": "garbage_trucks",
    "吨": "garbage_tons",
    "t": "garbage_tons",
    "棵": "trees",
    "株": "trees",
    "盏": "lights",
    "立方米": "volume_m3",
    "立方": "volume_m3",
    "方": "volume_m3",
    "m3": "volume_m3",
    "㎥": "volume_m3",
    "延米": "length_m",
    "米": "length_m",
    "m": "length_m",
    "亩": "area_mu",
}
# Parsing vocabulary (not user-facing text): counters whose field comes from a keyword next
# to the number (or from the report's category).
_COUNTER_UNITS = ("处", "个", "堵", "面", "段", "口", "座", "条", "根", "间")
# Parsing vocabulary (not user-facing text): keywords that name what a counter counts.
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "walls": ("墙", "垣", "壁", "危房", "旧房", "土房", "圈舍", "厕所"),
    "ponds": ("塘", "坑", "池", "沟", "渠"),
    "lights": ("灯",),
    "trees": ("树", "苗"),
}
# Category code → the counter field it implies when no keyword says (bot.rules.reports).
_CATEGORY_COUNTER = {"walls": "walls", "ponds": "ponds"}

# Latin units must not run into a following letter/digit ("3 tons" is not 3t).
_UNIT_ALT = "|".join(
    re.escape(u) + ("(?![a-z0-9])" if u.isascii() else "")
    for u in sorted([*_FIXED_UNITS, *_COUNTER_UNITS], key=len, reverse=True)
)
_AMOUNT_RE = re.compile(rf"(?P<neg>-\s*)?(?P<num>{_NUM})\s*(?P<unit>{_UNIT_ALT})?")
_CLAUSE_RE = re.compile(r"[^,;、\s。]+")
_PHRASE_RE = re.compile(r"[^,;、。]+")
# Parsing vocabulary (not user-facing text): words of a count without a number.
_VAGUE_RE = re.compile(rf"几|些|若干|一批|大量|[{''.join(_COUNTER_UNITS)}棵株盏车吨亩]")


def _keyword_field(snippet: str) -> str | bool | None:
    """The counter's field from keywords in ``snippet``; None if none, False if several."""
    hits = {field for field, words in _KEYWORDS.items() if any(w in snippet for w in words)}
    if len(hits) > 1:
        return False
    return hits.pop() if hits else None


def _category_field(categories: tuple[str, ...] | list[str]) -> str | None:
    fields = {_CATEGORY_COUNTER[c] for c in categories if c in _CATEGORY_COUNTER}
    return fields.pop() if len(fields) == 1 else None


def parse_amounts(text: str, categories: tuple[str, ...] | list[str] = ()) -> Amounts | str:
    """Read clean-up work amounts, e.g. ``"清运垃圾5车 拆除残墙2处 整治坑塘1个"``; strict:
    every number must be understood (see :func:`read_amounts` for the lenient reading).

    Rules:

    * The unit decides the field: 车/车次/辆/趟 → garbage_trucks, 吨 → garbage_tons,
      平方米/平米/平方/㎡/m² → area_m2, 棵/株 → trees, 盏 → lights, 米/延米 → length_m,
      亩 → area_mu, 方/立方(米)/㎥ → volume_m3.
    * Counters 处/个/堵/面/段/口/座/条/根/间 (or no unit at all) need a keyword: 墙/垣/壁/危房
      → walls, 塘/坑/池/沟/渠 → ponds, 灯 → lights, 树/苗 → trees, looked up first in the
      words before the number (since the previous amount), else in the words right after
      it; without a keyword, the report's category decides when it names one field
      (``categories`` with 残垣断壁 → walls, 坑塘 → ponds).
    * Words around the numbers (清运, 拆除, 绿化 ...) are otherwise free.  Every
      number must be understood, each field may appear once, and at least one
      field must be given; otherwise ``"not_understood"``.
    * Trucks, tons, areas, lengths and volumes may have decimals (rounded to 0.01); walls,
      ponds, trees and lights are integers.  Bounds in :data:`AMOUNT_LIMITS` (above:
      ``"too_large"``); a minus sign: ``"negative"``.
    """
    if not isinstance(text, str):
        return "not_understood"
    s = _clean(text).replace("m²", "m2").replace("m³", "m3")
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
    by_category = _category_field(categories)
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
            if field is None and unit is not None and by_category is not None:
                field = by_category
        prev_end = m.end()
        if not field or field in found:
            return "not_understood"
        value = _to_number(m.group("num"))
        if value is None:
            return "not_understood"
        if field in INT_AMOUNT_FIELDS and value != int(value):
            return "not_understood"
        negative = negative or bool(m.group("neg"))
        found[field] = value
    if negative:
        return "negative"
    if any(v > AMOUNT_LIMITS[f] for f, v in found.items()):
        return "too_large"
    return _amounts(found)


def _amounts(found: dict[str, float], text: str | None = None) -> Amounts:
    values: dict[str, float | int | None] = {}
    for field in AMOUNT_FIELDS:
        if field not in found:
            continue
        values[field] = int(found[field]) if field in INT_AMOUNT_FIELDS else _round2(found[field])
    return Amounts(**values, text=text)  # type: ignore[arg-type]


def read_amounts(text: str, categories: tuple[str, ...] | list[str] = ()) -> Amounts | str:
    """The lenient reading of an amounts answer: what :func:`parse_amounts` understands, the
    rest kept as text in ``Amounts.text`` (an amount the grammar does not know is never a dead
    end).  Refusals: ``"empty"``, ``"negative"``, ``"too_large"`` (a number it did read is out
    of bounds); a text over 200 characters is ``"too_long"``.

    The whole answer is read first; if that fails, each clause (between commas, 、, ; or
    blanks) is read on its own and the clauses it cannot read are kept, in order, as text.
    """
    if not isinstance(text, str):
        return "empty"
    whole = parse_amounts(text, categories)
    if whole in ("empty", "negative", "too_large"):
        return whole
    s = re.sub(r"\s+", " ", normalize(text)).strip()
    if isinstance(whole, Amounts):
        # A clause with no number that still counts something (拆了几间破房子) is kept.
        vague = [c for c in _PHRASE_RE.findall(s) if not _AMOUNT_RE.search(c) and _VAGUE_RE.search(c)]
        return replace(whole, text=" ".join(vague)) if vague else whole
    if len(s) > MAX_AMOUNT_TEXT:
        return "too_long"
    found: dict[str, float] = {}
    leftover: list[str] = []
    for clause in _CLAUSE_RE.findall(s):
        part = parse_amounts(clause, categories)
        if isinstance(part, str):
            if part in ("negative", "too_large"):
                return part
            leftover.append(clause)
            continue
        numbers = part.values()
        if any(f in found for f in numbers):
            leftover.append(clause)
            continue
        found.update(numbers)
    rest = " ".join(leftover) or None
    if not found and rest is None:
        return "empty"
    return _amounts(found, rest)


def find_amounts(
    s: str, categories: tuple[str, ...] | list[str] = (), taken: list[tuple[int, int]] | None = None
) -> list[tuple[str, float, int, int]]:
    """Amounts inside a free message ``s`` (already NFKC-folded): (field, value, start, end) for
    each number with a unit whose field is clear (the rules of :func:`parse_amounts`, with
    keywords looked up in the same clause only); numbers without a unit, inside a ``taken``
    span, or whose field is unclear are skipped (never guessed)."""
    out: list[tuple[str, float, int, int]] = []
    taken = taken or []
    by_category = _category_field(categories)
    s_low = s.lower()
    matches = [m for m in _AMOUNT_RE.finditer(s_low) if m.group("unit")]
    prev_end = 0
    for m in matches:
        start, end = m.start("num"), m.end()
        if any(a < end and start < b for a, b in taken):
            continue
        if m.group("neg"):
            continue
        unit = m.group("unit")
        clause_start = max(
            prev_end, max((s_low.rfind(c, 0, start) + 1 for c in ",;。!?\n、"), default=0)
        )
        field: str | bool | None
        if unit in _FIXED_UNITS:
            field = _FIXED_UNITS[unit]
        else:
            field = _keyword_field(s_low[clause_start:start])
            if field is None:
                after = re.split(rf"[{_SEP_CHARS}。!?]", s_low[end : end + 8], maxsplit=1)[0]
                field = _keyword_field(after)
            if field is None:
                field = by_category
        prev_end = end
        if not field:
            continue
        value = _to_number(m.group("num"))
        if value is None or (field in INT_AMOUNT_FIELDS and value != int(value)):
            continue
        if value > AMOUNT_LIMITS[field]:
            continue
        out.append((field, value, start, end))
    return out


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
    ("trees", "栽树{}棵"),
    ("lights", "安装路灯{}盏"),
    ("length_m", "整治长度{}米"),
    ("area_mu", "整治面积{}亩"),
    ("volume_m3", "清淤{}立方米"),
)


def format_amounts(a: Amounts) -> str:
    """Canonical text, e.g. ``"清运垃圾5车 拆除残墙2处"``; fields that are None are
    left out (all None gives ``""``), the unread text comes last as typed.
    ``parse_amounts`` reads it back for any non-empty value rounded to 0.01 within the
    limits (without text)."""
    parts = []
    for field, template in _AMOUNT_FORMAT:
        v = getattr(a, field)
        if v is None:
            continue
        parts.append(template.format(v if isinstance(v, int) else _fmt_float(v)))
    if a.text:
        parts.append(a.text)
    return " ".join(parts)
