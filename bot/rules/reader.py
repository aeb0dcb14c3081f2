"""A pure reader of one message: the fields of a clean-up report or of a household visit that a
text states, each with the span of the text it came from; everything else is left empty for
the form to ask.

No ``telegram``, no storage, no clock of its own (the reference time is in the context) and no
user-facing text: notes about what could not be placed are reason codes. The Chinese words
below are parsing vocabulary only (the seeds' words and their everyday variants).

Rules (see ``tests/data/reader_cases.json`` for 150+ worked messages):

* The text is NFKC-folded one character at a time, so every span indexes the text as typed;
  only the first :data:`MAX_CHARS` characters are read (note ``"truncated"``).
* Dates go through :func:`bot.rules.dates.parse_when`. A past date is the date of the work
  (or of the visit); two different ones leave it empty (``"several_dates"``, e.g. two reports
  in one message); a date after today is never a work date (``"future_date"``); for a visit
  it is the follow-up's due date.
* Participants are read only when a count stands next to its group (干部/两委, 党员,
  群众/村民); a count of two groups together (党员群众20人) is not split (``"people_unclear"``).
* Amounts need a unit and a clear field (:func:`bot.rules.numbers.find_amounts`); the same
  field twice is left empty (``"repeated_amount"``).
* A household is one of the sender's own: the head's full name (one wrong character
  allowed), the given name + 家, or surname + 大爷/大娘/叔/婶/家... when only one of their
  households has that surname. A name that matches none is never guessed
  (``"unknown_household"``), several candidates are not chosen between
  (``"ambiguous_household"``).

A hand grammar over the seeds' vocabulary rather than a word segmenter: measured on these
messages, jieba (from PyPI, 1 Dec 2026) needs 2.6 s to load its dictionary and 0.12 ms per
message to segment alone (as long as this whole reader takes), and it glues a mistyped name to
its 家 (王福责家 is one token), which is exactly where the reader must look inside words.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.rules.dates import parse_when
from bot.rules.numbers import COUNT_PATTERN, approx_form, find_amounts, to_number

log = logging.getLogger("cadre.reader")

__all__ = ["MAX_CHARS", "Found", "Household", "ReaderContext", "Reading", "read", "read_report", "read_visit"]

MAX_CHARS = 2000
MAX_CONCERN = 200
Span = tuple[int, int]


@dataclass(frozen=True)
class Household:
    id: int
    head: str


@dataclass(frozen=True)
class ReaderContext:
    now: datetime  # aware; "today" for the dates
    villages: tuple[str, ...] = ()  # names of the sender's villages
    households: tuple[Household, ...] = ()  # a member's own households
    max_age_days: int = 60
    tz: str = "Asia/Shanghai"


@dataclass(frozen=True)
class Found:
    value: Any
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Reading:
    kind: str | None  # "report", "visit" or None (reads as neither)
    fields: dict[str, Found] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    score: int = 0  # how strongly the text reads as ``kind``

    def values(self) -> dict[str, Any]:
        return {name: f.value for name, f in self.fields.items()}


# --------------------------------------------------------------------------- text

def _fold(text: str) -> str:
    """NFKC per character where it keeps the length (spans stay valid), lower case."""
    out = []
    for ch in text:
        n = unicodedata.normalize("NFKC", ch)
        out.append(n.lower() if len(n) == 1 else ch)
    return "".join(out)


def _overlaps(span: Span, taken: Sequence[Span]) -> bool:
    return any(a < span[1] and span[0] < b for a, b in taken)


_CN = "0-9零〇一二三四五六七八九十两"
# Parsing vocabulary (not user-facing text): date expressions, longest first.
_DATE_RE = re.compile(
    "|".join(
        [
            rf"(?:20[0-9]{{2}}|二〇[{_CN}]{{2}})年[{_CN}]{{1,3}}月[{_CN}]{{1,3}}[日号]?",
            r"(?:本|这个?|上个?|下个?)?月(?:底|末|初|中旬|上旬|下旬)(?:前|之前)?",
            rf"(?<![{_CN}.])[{_CN}]{{1,3}}月(?:底|末|初|中旬|上旬|下旬|[{_CN}]{{1,3}}[日号]?)(?:前|之前)?",
            r"(?<![0-9.])[0-9]{1,2}[./][0-9]{1,2}(?![0-9./]|\s*(?:车|吨|米|平|亩|方|处|个|棵|株|盏|人|名|万|元))",
            r"大前天|前天|昨天|昨日|昨儿个?|今天|今日|今儿个?|大后天|明天|后天|当天",
            r"(?:上上|下下|上|这|本|下)?个?(?:周|星期|礼拜)[一二三四五六日天1-7](?:前|之前)?",
            rf"(?:下个?月|本月|这个?月)[{_CN}]{{1,3}}[号日](?:前|之前)?",
            rf"[{_CN}]{{1,3}}天(?:前|以前|之前|后|以后|之后)",
            rf"(?<![{_CN}月组队社])[{_CN}]{{1,3}}[号日](?!子|楼|院|地)(?:前|之前)?",
        ]
    )
)


# Parsing vocabulary (not user-facing text): words around a date that make it a follow-up's due.
_DUE_NEAR = re.compile(
    r"再去|再来|再看|回访|跟进|之前|前(?!天)|约好|答应|落实|办好|给答复|给回复|再联系|带.{0,4}来|过来|来看|去看"
)


# Parsing vocabulary (not user-facing text): dialect words for days.
_DIALECT_DAYS = {"今儿": "今天", "今儿个": "今天", "昨儿": "昨天", "昨儿个": "昨天"}


def _dates(
    s: str, ctx: ReaderContext, *, dues: bool = False
) -> tuple[list[tuple[Any, Span]], list[tuple[Any, Span]], list[Span], list[Span]]:
    """(past dates, due dates, every date span, spans of dates after today that are not
    dues). With ``dues``, a date next to follow-up words (周五再去, 月底前回访) is a due date."""
    past, future, spans, later = [], [], [], []
    for m in _DATE_RE.finditer(s):
        sub = m.group(0)
        span = (m.start(), m.end())
        spans.append(span)
        sub = _DIALECT_DAYS.get(sub, sub)
        near = s[m.end() : m.end() + 6]
        if dues and not sub.endswith("天前") and (_DUE_NEAR.search(near) or sub.endswith("前")):
            ahead = parse_when(sub, ctx.now, want="future", tz=ctx.tz)
            if ahead.value is not None:
                future.append((ahead.value.date(), span))
                continue
        when = parse_when(sub, ctx.now, want="past", max_age_days=ctx.max_age_days, tz=ctx.tz)
        if when.value is not None:
            past.append((when.value.date(), span))
        elif when.reason == "future":
            later.append(span)
    return past, future, spans, later


def _clause(s: str, span: Span) -> Span:
    """The clause (between , 。 ; ! ? or a line break) around ``span``."""
    seps = ",;。!?\n"
    start = max((s.rfind(c, 0, span[0]) for c in seps), default=-1) + 1
    ends = [i for i in (s.find(c, span[1]) for c in seps) if i >= 0]
    return start, min(ends) if ends else len(s)


def _one_date(found: list[tuple[Any, Span]]) -> tuple[Any, tuple[Span, ...]] | bool | None:
    """The single distinct date (with its spans), None if none, False if several."""
    days = {d for d, _ in found}
    if not days:
        return None
    if len(days) > 1:
        return False
    return next(iter(days)), tuple(sp for _, sp in found)


# --------------------------------------------------------------------------- categories

# Parsing vocabulary (not user-facing text): category code → words (with common typos).
_CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "yard": ("房前屋后", "屋前屋后", "房前院后", "门前屋后", "庭院", "院落", "美丽庭院", "门前三包", "院子"),
    "walls": ("残垣断壁", "残恒断壁", "残垣", "断壁", "残墙", "危墙", "危旧房", "危房", "旧房", "破房",
              "土坯房", "废弃房", "烂房", "土坯", "猪圈", "牛圈", "羊圈", "圈舍", "旱厕", "废弃厕所", "危旧", "旧圈舍", "破墙", "断墙"),
    "garbage": ("垃圾", "拉圾", "垃极", "清运", "卫生死角", "白色污染", "建筑垃圾", "生活垃圾"),
    "green": ("绿化", "亮化", "栽树", "种树", "植树", "栽植", "栽了", "行道树", "路灯", "太阳能灯",
              "花草", "苗木", "树苗", "补植", "绿篱", "花坛"),
    "idle": ("空闲院", "闲置院", "空心院", "空闲宅", "闲置宅基地", "废弃地", "撂荒地", "荒地", "闲置地",
             "空院", "废弃院", "废院"),
    "ponds": ("坑塘", "污水", "沟渠", "清淤", "水沟", "排水沟", "臭水", "池塘", "涝池", "坑糖",
              "水渠", "河道", "排污", "黑臭", "淤泥"),
    "weeds": ("杂草", "杂物", "除草", "拔草", "柴草", "乱堆乱放", "柴堆", "秸秆", "杂树", "乱搭乱建"),
}
_CATEGORY_ORDER = ("yard", "walls", "garbage", "green", "idle", "ponds", "weeds")
_CAT_ALT = "|".join(
    re.escape(w) for w in sorted((w for ws in _CATEGORY_WORDS.values() for w in ws), key=len, reverse=True)
)
_CAT_ANY_RE = re.compile(_CAT_ALT)
# Parsing vocabulary (not user-facing text): words that name a category only when what follows
# them does not name another one (清运垃圾, but 清运杂物 is clutter).
_WEAK_WORDS = ("清运",)
# The amount fields that belong to one category only.
_IMPLIED = {"trees": "green", "lights": "green"}
_CAT_OF = {w: code for code, ws in _CATEGORY_WORDS.items() for w in ws}


def _categories(s: str) -> tuple[list[str], list[Span]]:
    codes: list[str] = []
    spans: list[Span] = []
    for m in _CAT_ANY_RE.finditer(s):
        code = _CAT_OF[m.group(0)]
        if m.group(0) in _WEAK_WORDS:
            clause = re.split(r"[,,。;;!!\n]", s[m.end() :], maxsplit=1)[0]
            if _CAT_ANY_RE.search(clause[:8]):
                continue  # 清运杂物: the object names the category
        if code not in codes:
            codes.append(code)
        spans.append((m.start(), m.end()))
    return [c for c in _CATEGORY_ORDER if c in codes], spans


# --------------------------------------------------------------------------- place

_GROUP = rf"(?:第)?[{_CN}]{{1,3}}(?:村民)?(?:小组|组|队|社)"
# Parsing vocabulary (not user-facing text): the places of a village.
_PLACE_RE = re.compile(
    "|".join(
        [
            rf"{_GROUP}(?:(?:和|、|及|与|跟|到|至|-|~){_GROUP})*",
            r"村(?:子)?[东西南北](?:头|边|口|片)|村口|村头|村委会?(?:门口|门前|院内|院子|周边|前面|后面)?|村部"
            r"|村小(?:学)?|党群服务中心|村(?:内|里)(?:主)?(?:干道|道路|街道|大街)",
            r"[东西南北中前后新老主大](?:大街|街|巷)|大街|主(?:干)?道|主干路|[东西南北]坡|[东西南北]头",
            r"(?:文化|休闲|健身)?广场|公园|学校|小学|幼儿园|卫生室|戏台|河边|河堤|渠边|沟边|路边|路口|桥头"
            r"|河道|集贸市场|养殖场|老庙|涝池边|水库|环村路|通村路",
            r"[\u4e00-\u9fff]{1,3}(?:路|巷|街)(?=[\u4e00-\u9fff]{0,2}(?:两侧|沿线|一带|周边|附近|两旁|边上|上|里|内))",
        ]
    )
)
_PLACE_JOIN = set("和、及与的,跟到至")
# Parsing vocabulary (not user-facing text): words a place may not start with.
_PLACE_STOP = ("清理", "整治", "拆除", "打扫", "栽", "种", "安装", "组织", "带领", "在", "把", "对")


def _place(s: str, taken: Sequence[Span]) -> tuple[str, tuple[Span, ...]] | None:
    found = [m for m in _PLACE_RE.finditer(s) if not _overlaps((m.start(), m.end()), taken)]
    if not found:
        return None
    groups: list[list[re.Match[str]]] = [[found[0]]]
    for m in found[1:]:
        gap = s[groups[-1][-1].end() : m.start()]
        if len(gap) <= 2 and all(ch in _PLACE_JOIN for ch in gap):
            groups[-1].append(m)
        else:
            groups.append([m])
    texts = {s[g[0].start() : g[-1].end()] for g in groups}
    if len(texts) > 1:
        return None  # several places (two reports in one message?): the form asks
    first = groups[0]
    start, end = first[0].start(), first[-1].end()
    value = s[start:end]
    for stop in _PLACE_STOP:
        if value.startswith(stop) and len(value) > len(stop):
            start += len(stop)
            value = value[len(stop):]
    return value, ((start, end),)


# --------------------------------------------------------------------------- participants

# Parsing vocabulary (not user-facing text): the groups of participants.
_PEOPLE_LABELS: dict[str, str] = {
    "村两委干部": "cadres", "两委干部": "cadres", "两委成员": "cadres", "村两委": "cadres", "两委": "cadres",
    "村干部": "cadres", "干部": "cadres", "村组干部": "cadres", "组长": "cadres",
    "党员": "members", "党员志愿者": "members",
    "群众": "villagers", "村民": "villagers", "老百姓": "villagers", "群众志愿者": "villagers", "村民志愿者": "villagers",
    "志愿者": "villagers", "户代表": "villagers",
}
_LABEL_ALT = "|".join(sorted(_PEOPLE_LABELS, key=len, reverse=True))
_FILLER = r"(?:共|有|是|计|达|达到|出动|参与|参加|合计|一共)?"
_COUNTER = r"(?:人次|人|名|位|个)"
_PEOPLE_LABEL_FIRST = re.compile(rf"(?P<label>{_LABEL_ALT})\s*[::]?\s*{_FILLER}\s*{COUNT_PATTERN}")
# (the count starts where a number starts: no quadratic retries inside a long run of digits)
_PEOPLE_NUM_FIRST = re.compile(rf"(?<![0-9.零〇一二三四五六七八九十两百千万]){COUNT_PATTERN.replace('(?P<tail>', '(?P<tail0>')}\s*{_COUNTER}?\s*(?P<label>{_LABEL_ALT})")
_ABOUT = ("约", "大约", "大概", "近", "将近", "差不多", "来", "左右", "上下")


def _people(s: str, taken: Sequence[Span]) -> tuple[dict[str, Any] | None, list[Span], bool]:
    """({group: count, "approx": {group: form}}, spans, unclear)."""
    counts: dict[str, int] = {}
    approx: dict[str, str] = {}
    spans: list[Span] = []
    unclear = False
    repeated: set[str] = set()

    def take(group: str, m: re.Match[str], form: str | None) -> None:
        nonlocal unclear
        if m.group("num") == "一" and not re.search(_COUNTER + "$", m.group(0)):
            return  # 群众一起, 党员一道: a word, not a count
        value = to_number(m.group("num"))
        if value is None or value != int(value) or value > 10000:
            return
        if group in counts:
            repeated.add(group)
            return
        counts[group] = int(value)
        if form:
            approx[group] = form
        spans.append((m.start(), m.end()))

    # all items label-first (干部3 党员5) or all number-first (3名干部 5名党员): the reading
    # that places more counts wins, label-first on a tie
    label_first: list[tuple[str, re.Match[str], str | None]] = []
    for m in _PEOPLE_LABEL_FIRST.finditer(s):
        if _overlaps((m.start(), m.end()), taken) or m.group("neg"):
            continue
        # 党员群众20人 / 干部群众共30人: one count for two groups, not split
        before = s[max(0, m.start() - 4) : m.start()]
        if re.search(rf"(?:{_LABEL_ALT})[和、及与]?$", before):
            unclear = True
            continue
        label_first.append((_PEOPLE_LABELS[m.group("label")], m, approx_form(m)))
    num_first: list[tuple[str, re.Match[str], str | None]] = []
    for m in _PEOPLE_NUM_FIRST.finditer(s):
        if _overlaps((m.start(), m.end()), taken) or m.group("neg"):
            continue
        words = [w for w in (m.group("pre"), m.group("post"), m.group("tail0")) if w]
        form = None
        if words:
            form = "about" if any(w in _ABOUT for w in words) else "more"
        num_first.append((_PEOPLE_LABELS[m.group("label")], m, form))
    chosen = num_first if len(num_first) > len(label_first) else label_first
    for group, m, form in chosen:
        take(group, m, form)
    for group in repeated:
        counts.pop(group, None)
        approx.pop(group, None)
    if not counts:
        return None, spans, unclear
    if approx:
        counts_out: dict[str, Any] = dict(counts)
        counts_out["approx"] = approx
        return counts_out, spans, unclear
    return dict(counts), spans, unclear


# --------------------------------------------------------------------------- amounts

def _amounts(s: str, categories: list[str], taken: Sequence[Span]) -> tuple[dict[str, float], list[Span], bool]:
    found: dict[str, float] = {}
    spans: list[Span] = []
    repeated: set[str] = set()
    for name, value, start, end in find_amounts(s, categories, list(taken)):
        if name in found:
            repeated.add(name)
            continue
        found[name] = int(value) if value == int(value) else round(value, 2)
        spans.append((start, end))
    for name in repeated:
        found.pop(name)
    return found, spans, bool(repeated)


# --------------------------------------------------------------------------- village

def _village(s: str, villages: Sequence[str]) -> tuple[str, tuple[Span, ...]] | None:
    hits = []
    for name in villages:
        short = re.sub(r"(村|社区)$", "", name)
        for word in dict.fromkeys((name, short)):
            if len(word) < 2:
                continue
            i = s.find(word)
            if i >= 0:
                hits.append((name, (i, i + len(word))))
                break
    names = {n for n, _ in hits}
    if len(names) != 1:
        return None
    return hits[0][0], (hits[0][1],)


# --------------------------------------------------------------------------- report

# Parsing vocabulary (not user-facing text): words of a clean-up report.
_REPORT_WORDS = re.compile(r"整治|清理|清运|拆除|拆了|拆掉|推倒|打扫|清扫|治理|人居环境|环境卫生|大扫除|美化|拉走|拉了|种了|栽了")


def _prepared(text: object) -> tuple[str, str, list[str]] | None:
    """The text cut to MAX_CHARS, its folded form and the notes so far; None for no text."""
    if not isinstance(text, str) or not text.strip():
        return None
    notes: list[str] = []
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        notes.append("truncated")
    return text, _fold(text), notes


def read_report(text: str, ctx: ReaderContext) -> Reading:
    """The fields of a clean-up report a message states (see the module doc)."""
    try:
        return _read_report(text, ctx)
    except Exception:  # a user's text must never crash the bot; the form asks as usual
        log.exception("the reader failed on a message of %d characters", len(text) if isinstance(text, str) else -1)
        return Reading(kind=None, notes=("unreadable",))


def _read_report(text: str, ctx: ReaderContext) -> Reading:
    if (prepared := _prepared(text)) is None:
        return Reading(kind=None)
    text, s, notes = prepared
    fields: dict[str, Found] = {}
    past, _, date_spans, later = _dates(s, ctx)
    one = _one_date(past)
    if one is False:
        notes.append("several_dates")
    elif one is not None:
        fields["date"] = Found(one[0].isoformat(), one[1])
    if later:
        notes.append("future_date")
    village = _village(s, ctx.villages) if len(ctx.villages) > 1 else None
    taken: list[Span] = list(date_spans)
    # a clause about a later day (明天接着清理3组) is a plan, not the work: nothing is read there
    taken.extend(_clause(s, span) for span in later)
    if village is not None:
        fields["village"] = Found(village[0], village[1])
        taken.extend(village[1])
    codes, cat_spans = _categories(s)
    if codes:
        fields["categories"] = Found(codes, tuple(cat_spans))
    people, people_spans, unclear = _people(s, taken)
    if unclear:
        notes.append("people_unclear")
    if people:
        fields["people"] = Found(people, tuple(people_spans))
    taken.extend(people_spans)
    place = _place(s, taken)
    if place is not None:
        fields["place"] = Found(*place)
        taken.extend(place[1])
    worded = bool(_REPORT_WORDS.search(s))
    amounts, amount_spans, repeated = _amounts(s, codes, taken)
    if repeated:
        notes.append("repeated_amount")
    if amounts:
        fields["amounts"] = Found(amounts, tuple(amount_spans))
    if not codes and amounts:
        # trees and lights are counted only in greening (栽了100株): the unit names the category
        implied = [c for c in _CATEGORY_ORDER if c in {_IMPLIED.get(f) for f in amounts}]
        if implied:
            codes = implied
            fields["categories"] = Found(codes, tuple(amount_spans))
    score = 2 * bool(codes) + bool(amounts) + bool(people) + worded + (worded and "date" in fields)
    kind = "report" if codes or amounts or score >= 2 else None
    return Reading(kind=kind, fields=fields, notes=tuple(notes), score=score)


# --------------------------------------------------------------------------- visit

# Parsing vocabulary (not user-facing text): the four roles of a linked party member.
_ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "survey": ("调研", "了解情况", "了解了", "了解他", "了解她", "了解家里", "摸排", "摸底", "问问情况", "收集意见",
               "听取意见", "征求意见", "社情民意", "问了问", "拉家常", "唠家常", "了解需求", "了解诉求"),
    "policy": ("宣传", "讲解", "讲政策", "讲了政策", "政策", "法规", "医保", "养老保险", "低保政策", "惠民",
               "防诈骗", "反诈"),
    "mediation": ("调解", "纠纷", "矛盾", "吵架", "闹别扭", "劝和", "说和", "化解"),
    "expert": ("专家", "技术员", "农技", "技术指导", "请了技术", "联系了技术", "植保", "兽医", "畜牧站"),
}
_ROLE_ORDER = ("survey", "policy", "mediation", "expert")
_ROLE_OF = {w: code for code, ws in _ROLE_WORDS.items() for w in ws}
_ROLE_RE = re.compile("|".join(re.escape(w) for w in sorted(_ROLE_OF, key=len, reverse=True)))
# Parsing vocabulary (not user-facing text): how people name a household.
_KIN = "大爷|大娘|大叔|大婶|大妈|大伯|大哥|大姐|奶奶|爷爷|老汉|老人|阿姨|叔叔|婶子|叔|婶|嫂子|嫂|伯|姨|家里|家|户"
_VISIT_WORDS = re.compile(r"走访|入户|上门|看望|家访|联系户|去了|到了|探望|慰问|回访|[去到].{1,4}家")
_CONCERN_RE = re.compile(
    r"(?:反映|反应|提出|提到|说起|诉求是|诉求为|诉求|希望|想要|想|要求|咨询|问能不能|担心|困难是)"
    r"[::,,]?\s*(?P<c>[^。!?;\n]{2,})"
)
# Parsing vocabulary (not user-facing text): a matter asked about (问了看病报销的事, 她问低保的问题).
_ASKED_RE = re.compile(r"(?<!问)问(?:了|起|到|起了|到了)?(?!问)(?P<c>[^。!?;\n,,、]{2,30}?的(?:事情?|问题))")
# Parsing vocabulary (not user-facing text): the outcome of a visit.
_SOLVED_RE = re.compile(r"(?<!没)(?<!未)(?<!没有)(?:已经?解决|当场解决|现场解决|解决了|办好了|处理好了|已办结|已经办了|当场化解|已经?化解|化解了|当场办了|落实了|修好了|弄好了|帮他办了|帮她办了)")
_FOLLOW_RE = re.compile(r"没解决|未解决|没有解决|还没解决|待解决|需要跟进|要跟进|需跟进|跟进|回头再|下次再|再去|再来|回访|还得|需要协调|上报|反馈给")
_NONE_RE = re.compile(r"没什么诉求|没有诉求|无诉求|没啥诉求|没提什么|一切正常|没啥事|没什么事|没有什么问题|没什么问题|无特殊情况")
_CONCERN_TRIM = " ,,::“”\"'的了"  # characters trimmed from a concern
_NAME_STOP = re.compile(r"[^\u4e00-\u9fff]")


def _household(s: str, households: Sequence[Household]) -> tuple[Household | None, tuple[Span, ...], str | None]:
    """(household, spans, note) among the member's own households."""
    if not households:
        return None, (), None
    # 1. the full name, exactly
    exact = [(h, s.find(h.head)) for h in households if h.head and s.find(h.head) >= 0]
    if len({h.id for h, _ in exact}) == 1:
        h, i = exact[0]
        return h, ((i, i + len(h.head)),), None
    if len(exact) > 1:
        return None, (), "ambiguous_household"
    # 2. the given name + 家 (建国家), or the full name with one wrong character
    fuzzy: dict[int, tuple[Household, Span]] = {}
    for h in households:
        name = h.head
        if len(name) < 2:
            continue
        given = name[1:]
        if len(given) >= 2:
            for m in re.finditer(re.escape(given) + r"(?=家|叔|大爷|大娘|哥|姐)", s):
                if m.start() > 0 and s[m.start() - 1] in _SURNAMES:
                    continue  # 吴桂兰家 is not 赵桂兰's
                fuzzy.setdefault(h.id, (h, (m.start(), m.end())))
        n = len(name)
        if n >= 3:
            # one wrong character, in the given name only (a different surname is another
            # family): only where the surname stands
            i = s.find(name[0])
            while 0 <= i <= len(s) - n and h.id not in fuzzy:
                sub = s[i : i + n]
                if sum(a != b for a, b in zip(sub, name, strict=True)) == 1 and not _NAME_STOP.search(sub):
                    fuzzy[h.id] = (h, (i, i + n))
                i = s.find(name[0], i + 1)
    if len(fuzzy) == 1:
        h, span = next(iter(fuzzy.values()))
        return h, (span,), None
    if len(fuzzy) > 1:
        return None, (), "ambiguous_household"
    # 3. surname + 大爷/大娘/家..., or 老张(家)
    mentions = list(re.finditer(rf"(?:老|小)?(?P<sur>[\u4e00-\u9fff])(?:{_KIN})", s))
    mentions += list(re.finditer(r"老(?P<sur>[\u4e00-\u9fff])(?![\u4e00-\u9fff]{0,1}(?:师|板|人|年|区|村|屋|房))", s))
    candidates: dict[int, tuple[Household, Span]] = {}
    surnames_seen = set()
    for m in mentions:
        sur = m.group("sur")
        if sur in "他她我你们咱自老小大户村这那谁人全各每本":
            continue
        surnames_seen.add(sur)
        for h in households:
            if h.head.startswith(sur):
                candidates.setdefault(h.id, (h, (m.start(), m.end())))
    if len(candidates) == 1:
        h, span = next(iter(candidates.values()))
        return h, (span,), None
    if len(candidates) > 1:
        return None, (), "ambiguous_household"
    if surnames_seen & set(_SURNAMES) or re.search(rf"[{_SURNAMES}][\u4e00-\u9fff]{{1,2}}(?:家|户)", s):
        return None, (), "unknown_household"
    return None, (), None


# Parsing vocabulary (not user-facing text): common surnames (to tell a person from a word).
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"


def read_visit(text: str, ctx: ReaderContext) -> Reading:
    """The fields of a household visit a message states (see the module doc)."""
    try:
        return _read_visit(text, ctx)
    except Exception:  # a user's text must never crash the bot; the form asks as usual
        log.exception("the reader failed on a message of %d characters", len(text) if isinstance(text, str) else -1)
        return Reading(kind=None, notes=("unreadable",))


def _read_visit(text: str, ctx: ReaderContext) -> Reading:
    if (prepared := _prepared(text)) is None:
        return Reading(kind=None)
    text, s, notes = prepared
    fields: dict[str, Found] = {}
    past, future, _, later = _dates(s, ctx, dues=True)
    if later:
        notes.append("future_date")
    one = _one_date(past)
    if one is False:
        notes.append("several_dates")
    elif one is not None:
        fields["date"] = Found(one[0].isoformat(), one[1])
    due = _one_date(future)
    if due is False:
        notes.append("several_dates")
    elif due is not None:
        fields["followup"] = Found(due[0].isoformat(), due[1])
    household, spans, note = _household(s, ctx.households)
    if household is not None:
        fields["household"] = Found(household.id, spans)
    if note:
        notes.append(note)
    roles: list[str] = []
    role_spans: list[Span] = []
    for m in _ROLE_RE.finditer(s):
        code = _ROLE_OF[m.group(0)]
        if code not in roles:
            roles.append(code)
        role_spans.append((m.start(), m.end()))
    if roles:
        fields["roles"] = Found([c for c in _ROLE_ORDER if c in roles], tuple(role_spans))
    outcome_span: Span | None = None
    outcome = None
    if m := _NONE_RE.search(s):
        outcome, outcome_span = "none", (m.start(), m.end())
    elif m := _SOLVED_RE.search(s):
        outcome, outcome_span = "solved", (m.start(), m.end())
    elif m := _FOLLOW_RE.search(s):
        outcome, outcome_span = "follow_up", (m.start(), m.end())
    if outcome is None and "followup" in fields:
        outcome, outcome_span = "follow_up", fields["followup"].spans[0]
    mixed = "several_dates" in notes or note == "ambiguous_household"
    if mixed:  # two visits in one message: what was raised and solved is not placed
        outcome = None
    if outcome is not None and outcome_span is not None:
        fields["outcome"] = Found(outcome, (outcome_span,))
    if not mixed and outcome != "none" and (m := _CONCERN_RE.search(s) or _ASKED_RE.search(s)):
        start = m.start("c")
        concern = text[start : m.end("c")]
        cut = re.search(r"[,,;;\s]|已经?|当场|现场|没解决|未解决|还没|需要跟进|要跟进|约好|答应|回头", concern)
        if cut and cut.start() >= 2:
            concern = concern[: cut.start()]
        concern = concern.strip(_CONCERN_TRIM)
        if len(concern) >= 2:
            fields["concern"] = Found(concern[:MAX_CONCERN], ((start, start + len(concern)),))
    score = 2 * (household is not None) + (note is not None) + bool(roles) + bool(_VISIT_WORDS.search(s)) + bool(fields.get("concern"))
    kind = "visit" if household is not None or score >= 2 else None
    return Reading(kind=kind, fields=fields, notes=tuple(notes), score=score)


def read(text: str, ctx: ReaderContext) -> Reading:
    """A report or a visit, whichever the message reads as more strongly; a Reading of kind
    None if neither. A sender without households may still write a visit (走访张大爷,
    他反映路灯不亮): it reads as a visit with no household, never as a report about lights."""
    report = read_report(text, ctx)
    best = report
    visit = read_visit(text, ctx)
    if visit.kind == "visit" and (report.kind is None or visit.score >= report.score):
        best = visit
    if best.kind is None:
        return Reading(kind=None, notes=best.notes)
    return best
