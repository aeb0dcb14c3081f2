"""Reading a roster (花名册) file into rows: pure, no Telegram, no SQL.

An office's roster is a CSV (UTF-8 with or without BOM, GB18030 as Excel in China saves it,
or UTF-16 as Excel's "Unicode text") or an XLSX workbook. Headers may be Chinese or English
(see :data:`HEADER_ALIASES`); a title row above the header is skipped; merged cells in XLSX
(a township written once for many rows) are filled in from their top-left cell.

Each data row becomes a :class:`RosterRow`, or one or more :class:`RowError` with the row's
number as the office sees it in Excel. Problems with the whole file (too large, not a table,
an unknown encoding, no header) raise :class:`RosterFileError` (reading the bytes into cells
is :mod:`bot.rules.roster_files`). Error codes are catalog keys
``roster.err.<code>`` / ``roster.file.<code>``; this module never produces UI text.

Cells holding a formula (``=SUM(...)``, or a CSV cell starting with ``=``) are refused with
an error naming the cell: the value a formula shows is not in the file we read
(``data_only=False``) and a formula pasted into a roster is almost always a mistake; the row
is reported and the office can paste values instead.

Mistakes an office makes that would otherwise change things silently:

* the template's sample rows (:data:`TEMPLATE_ROWS`) left in the file are skipped, never
  imported (:attr:`Roster.samples` counts them);
* a 星级 cell on a household's row (a row with a 户主 and no 书记) is not the village's star
  level (a column of stars copied down every row, or a household's own rating): it is
  ignored, and the village's stars come only from the village's own rows (those naming its
  secretary, or no household);
* a village name one character away from another village of the same township (向阳材 next to
  向阳村, in the file or already in the database) is a likely typo: :func:`close_names` finds
  such pairs, and the import reports them (``close_name``) instead of creating a new village.

Deep links into the bot have one form everywhere (invites, QR codes, ledgers):
:func:`deep_link`, ``https://t.me/<bot>?start=<payload>``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from bot.rules.roster_files import HEADER_SEARCH_ROWS, Cell, Table, read_table
from bot.rules.roster_files import MAX_BYTES as MAX_BYTES  # re-exported for the handlers
from bot.rules.roster_files import Formula as Formula
from bot.rules.roster_files import RosterFileError as RosterFileError

MAX_UNIT_NAME = 40
MAX_PERSON_NAME = 30
MAX_TEXT = 100

# Parsing vocabulary (not UI text): header spellings seen in offices' rosters, normalised by
# :func:`normalise_header` (lower case, no spaces, no "*", no full-width brackets).
HEADER_ALIASES: dict[str, str] = {
    **dict.fromkeys(("区", "县", "区县", "县区", "县(区)", "区(县)", "县市区", "district", "county"), "district"),
    **dict.fromkeys(
        ("乡镇", "乡", "镇", "街道", "乡镇街道", "乡镇(街道)", "乡镇/街道", "镇街", "镇(街道)",
         "乡镇(街道办)", "township", "town", "street", "subdistrict"),
        "township",
    ),
    **dict.fromkeys(
        ("村", "社区", "村社区", "村(社区)", "村/社区", "行政村", "村名", "村居", "village", "community"),
        "village",
    ),
    **dict.fromkeys(("户主", "户主姓名", "户主名", "农户", "household_head", "householdhead", "head", "household"), "head"),
    **dict.fromkeys(("地址", "住址", "家庭住址", "组", "村民小组", "小组", "组别", "address", "group"), "address"),
    **dict.fromkeys(("网格", "微网格", "所在网格", "网格名称", "grid", "microgrid", "micro_grid"), "grid"),
    **dict.fromkeys(
        ("电话", "户主电话", "联系电话", "手机", "手机号", "户主手机", "phone", "household_phone", "tel"),
        "phone",
    ),
    **dict.fromkeys(("联户党员", "党员", "联系党员", "党员姓名", "member", "party_member"), "member"),
    **dict.fromkeys(("党员电话", "党员手机", "联户党员电话", "member_phone"), "member_phone"),
    **dict.fromkeys(("星级", "星级评定", "五星支部星级", "stars", "star"), "stars"),
    **dict.fromkeys(("书记", "村书记", "党组织书记", "村党组织书记", "支部书记", "secretary"), "secretary"),
    **dict.fromkeys(("书记电话", "书记手机", "secretary_phone"), "secretary_phone"),
    **dict.fromkeys(("第一书记", "驻村第一书记", "first_secretary"), "first_secretary"),
}
FIELDS = (
    "district", "township", "village", "head", "address", "grid", "phone",
    "member", "member_phone", "stars", "secretary", "secretary_phone", "first_secretary",
)
NAME_FIELDS = ("district", "township", "village", "head", "member", "secretary", "first_secretary")
PHONE_FIELDS = ("phone", "member_phone", "secretary_phone")

# Parsing vocabulary: star levels as offices write them (三星, 3星, ★★★, 三星级).
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_STARS = re.compile(r"^([1-5一二两三四五])\s*(星级?|星)?$")
_MOBILE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(0\d{2,3}-?)?\d{7,8}(-\d{1,5})?$")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BOT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")


def deep_link(bot_username: str, payload: str) -> str:
    """The one form of a link that opens the bot with ``/start <payload>``:
    ``https://t.me/<bot>?start=<payload>`` (Telegram allows [A-Za-z0-9_-], at most 64)."""
    if not _BOT_NAME.fullmatch(bot_username):
        raise ValueError(f"not a bot username: {bot_username!r}")
    if not _PAYLOAD.fullmatch(payload):
        raise ValueError(f"a start payload is 1-64 of A-Z a-z 0-9 _ -: {payload!r}")
    return f"https://t.me/{bot_username}?start={payload}"


@dataclass(frozen=True)
class RosterRow:
    line: int
    district: str = ""
    township: str = ""
    village: str = ""
    head: str = ""
    address: str = ""
    grid: str = ""
    phone: str = ""
    member: str = ""
    member_phone: str = ""
    stars: int | None = None
    secretary: str = ""
    secretary_phone: str = ""
    first_secretary: str = ""

    @property
    def path(self) -> tuple[str, str, str]:
        return (self.district, self.township, self.village)


@dataclass(frozen=True)
class RowError:
    """Row ``line`` is wrong: ``code`` is the catalog key ``roster.err.<code>``."""

    line: int
    code: str
    column: str = ""  # the header as the file spells it
    value: str = ""
    other_line: int = 0


@dataclass(frozen=True)
class Roster:
    rows: tuple[RosterRow, ...]
    errors: tuple[RowError, ...] = ()
    columns: tuple[str, ...] = ()  # fields found in the header
    ignored: tuple[str, ...] = ()  # headers not understood (kept out of the import)
    header_line: int = 1
    kind: str = "csv"
    total: int = field(default=0)  # data rows that were not empty
    samples: int = 0  # the template's sample rows found in the file (skipped)

    @property
    def bad_lines(self) -> frozenset[int]:
        return frozenset(e.line for e in self.errors)

    @property
    def good_rows(self) -> tuple[RosterRow, ...]:
        bad = self.bad_lines
        return tuple(r for r in self.rows if r.line not in bad)


# -- the header ----------------------------------------------------------------------------------
def normalise_header(text: str) -> str:
    text = clean(text).lower().replace("（", "(").replace("）", ")").replace("／", "/")
    return re.sub(r"[\s*＊:：]", "", text)


def field_of(header: str) -> str | None:
    norm = normalise_header(header)
    if not norm:
        return None
    if norm in HEADER_ALIASES:
        return HEADER_ALIASES[norm]
    bare = re.sub(r"\(.*?\)", "", norm)  # "户主(必填)", "电话(选填)"
    return HEADER_ALIASES.get(bare)


def find_header(table: Table) -> tuple[int, dict[int, str], list[str]]:
    """The header row: the first of the top rows naming at least two known columns."""
    for index, (_number, cells) in enumerate(table[:HEADER_SEARCH_ROWS]):
        mapping: dict[int, str] = {}
        ignored: list[str] = []
        for col, cell in enumerate(cells):
            if isinstance(cell, Formula):
                continue
            name = field_of(cell)
            if name is None:
                if clean(cell):
                    ignored.append(clean(cell))
                continue
            if name in mapping.values():
                # a second "电话" after the member's column is the member's phone
                if name == "phone" and "member" in mapping.values() and "member_phone" not in mapping.values():
                    name = "member_phone"
                else:
                    ignored.append(clean(cell))
                    continue
            mapping[col] = name
        found = set(mapping.values())
        if len(found) >= 2 and found & {"township", "village", "head", "member"}:
            return index, mapping, ignored
    raise RosterFileError("no_header")


# -- the rows ------------------------------------------------------------------------------------
def clean(text: str) -> str:
    """Trim, and collapse runs of spaces (full-width ones too) into one."""
    return re.sub(r"\s+", " ", text.replace("\u3000", " ").replace("\ufeff", "")).strip()


def parse_stars(text: str) -> int | None:
    text = clean(text)
    if not text:
        return None
    if set(text) <= {"★", "☆"} and 1 <= text.count("★") <= 5:
        return text.count("★")
    match = _STARS.match(text)
    if not match:
        raise ValueError(text)
    digit = match[1]
    return int(digit) if digit.isdigit() else _CN_DIGITS[digit]


def normalise_phone(text: str) -> str:
    """Spaces and dashes between digit groups removed from mobiles; '' when empty."""
    text = clean(text).replace(" ", "").replace("（", "(").replace("）", ")")
    text = re.sub(r"^\((0\d{2,3})\)", r"\1-", text)
    if not text:
        return ""
    digits = text.replace("-", "")
    if _MOBILE.match(digits):
        return digits[-11:]
    if _LANDLINE.match(text):
        return text
    raise ValueError(text)


def parse_roster(data: bytes, filename: str = "") -> Roster:
    """Read and check a roster file; row problems are collected, file problems raised."""
    kind, table = read_table(data, filename)
    if not table:
        raise RosterFileError("empty")
    try:
        header_index, mapping, ignored = find_header(table)
    except RosterFileError:
        if kind == "csv-gb18030":  # bytes GB18030 accepts but no header: most likely Big5 etc.
            raise RosterFileError("encoding") from None
        raise
    header_cells = table[header_index][1]
    titles = {col: clean(str(header_cells[col])) for col in mapping}
    rows, errors = check_rows(table[header_index + 1 :], mapping, titles)
    kept = [r for r in rows if not is_sample(r)]
    samples = len(rows) - len(kept)
    rows = kept
    errors.extend(close_name_errors(rows, column_of={name: titles[col] for col, name in mapping.items()}))
    if not rows and not errors:
        raise RosterFileError("only_samples" if samples else "no_rows")
    total = len({r.line for r in rows} | {e.line for e in errors})
    return Roster(
        rows=tuple(rows),
        errors=tuple(sorted(errors, key=lambda e: (e.line, e.code))),
        columns=tuple(f for f in FIELDS if f in mapping.values()),
        ignored=tuple(ignored),
        header_line=table[header_index][0],
        kind=kind,
        total=total,
        samples=samples,
    )


def check_rows(
    table: Iterable[tuple[int, list[Cell]]], mapping: dict[int, str], titles: dict[int, str]
) -> tuple[list[RosterRow], list[RowError]]:
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    column_of = {name: titles[col] for col, name in mapping.items()}
    households: dict[tuple[str, ...], int] = {}
    stars_seen: dict[tuple[str, ...], tuple[int, int]] = {}
    phones_seen: dict[tuple[str, ...], tuple[str, int]] = {}
    for number, cells in table:
        raw = {name: (cells[col] if col < len(cells) else "") for col, name in mapping.items()}
        if all(not isinstance(v, Formula) and not clean(v) for v in raw.values()):
            continue
        row_errors = list(_cell_errors(number, raw, column_of))
        values = {k: clean(v) for k, v in raw.items() if not isinstance(v, Formula)}
        stars = None
        if values.get("head") and not (values.get("secretary") or values.get("first_secretary")):
            values["stars"] = ""  # a household's row (no secretary on it): not the village's stars
        try:
            stars = parse_stars(values.get("stars", ""))
        except ValueError:
            row_errors.append(RowError(number, "bad_stars", column_of.get("stars", ""), values.get("stars", "")))
        phones = {}
        for name in PHONE_FIELDS:
            try:
                phones[name] = normalise_phone(values.get(name, ""))
            except ValueError:
                row_errors.append(RowError(number, "bad_phone", column_of.get(name, ""), values.get(name, "")))
        row = RosterRow(
            number,
            **{k: values.get(k, "") for k in FIELDS if k not in ("stars", *PHONE_FIELDS)},
            **{k: phones.get(k, "") for k in PHONE_FIELDS},
            stars=stars,
        )
        row_errors.extend(_shape_errors(row, column_of, stars_given=bool(values.get("stars"))))
        if not row_errors:
            row_errors.extend(_conflicts(row, column_of, households, stars_seen, phones_seen))
        errors.extend(row_errors)
        if not row_errors:
            rows.append(row)
    return rows, errors


def _cell_errors(number: int, raw: dict[str, Cell], column_of: dict[str, str]) -> Iterator[RowError]:
    for name, value in raw.items():
        if isinstance(value, Formula):
            yield RowError(number, "formula", column_of.get(name, ""), value.text[:40])
            continue
        text = clean(value)
        limit = MAX_UNIT_NAME if name in ("district", "township", "village") else (
            MAX_PERSON_NAME if name in NAME_FIELDS else MAX_TEXT
        )
        if len(text) > limit:
            yield RowError(number, "too_long", column_of.get(name, ""), text[:20] + "…")
        elif name in NAME_FIELDS and text and not _HAS_LETTER.search(text):
            yield RowError(number, "bad_name", column_of.get(name, ""), text)


def _shape_errors(row: RosterRow, column_of: dict[str, str], *, stars_given: bool) -> Iterator[RowError]:
    """Rows that cannot mean anything: a phone without a name, a household without a village."""
    col = column_of.get
    if not row.head and (row.address or row.grid or row.phone):
        yield RowError(row.line, "missing_head", col("head", ""))
    if not row.member and row.member_phone:
        yield RowError(row.line, "missing_member", col("member", ""))
    if not row.secretary and row.secretary_phone:
        yield RowError(row.line, "missing_secretary", col("secretary", ""))
    needs_village = row.head or row.member or row.secretary or row.first_secretary or stars_given
    if needs_village and not row.village:
        yield RowError(row.line, "missing_village", col("village", ""))
    if row.village and not row.township and row.district:
        yield RowError(row.line, "missing_township", col("township", ""))
    if not (row.district or row.township or row.village):
        yield RowError(row.line, "missing_unit", col("village", "") or col("township", ""))


def _conflicts(
    row: RosterRow,
    column_of: dict[str, str],
    households: dict[tuple[str, ...], int],
    stars_seen: dict[tuple[str, ...], tuple[int, int]],
    phones_seen: dict[tuple[str, ...], tuple[str, int]],
) -> Iterator[RowError]:
    """Rows that contradict an earlier row of the same file."""
    if row.head:
        key = (*row.path, row.head, row.address)
        if key in households:
            yield RowError(row.line, "duplicate_household", column_of.get("head", ""), row.head, households[key])
        else:
            households[key] = row.line
    if row.stars is not None and row.village:
        earlier = stars_seen.get(row.path)
        if earlier is not None and earlier[0] != row.stars:
            yield RowError(row.line, "conflicting_stars", column_of.get("stars", ""), str(row.stars), earlier[1])
        elif earlier is None:
            stars_seen[row.path] = (row.stars, row.line)
    for name_field, phone_field in (("member", "member_phone"), ("secretary", "secretary_phone")):
        name, phone = getattr(row, name_field), getattr(row, phone_field)
        if not (name and phone):
            continue
        earlier_phone = phones_seen.get((*row.path, name))
        if earlier_phone is not None and earlier_phone[0] != phone:
            yield RowError(row.line, "conflicting_phone", column_of.get(phone_field, ""), phone, earlier_phone[1])
        elif earlier_phone is None:
            phones_seen[(*row.path, name)] = (phone, row.line)


# -- the template offices can fill in ------------------------------------------------------------
# Parsing vocabulary again: the header each field is written with in the template.
TEMPLATE_HEADERS = {
    "zh_CN": ("区", "乡镇(街道)", "村(社区)", "星级", "书记", "书记电话", "户主", "地址", "网格", "电话", "联户党员", "党员电话"),
    "en": ("district", "township", "village", "stars", "secretary", "secretary_phone", "household_head",
           "address", "grid", "phone", "member", "member_phone"),
}
# Plainly fictional sample rows (names of the demo district) shown under the template header;
# left in a filled-in template they are skipped (:func:`is_sample`), never imported.
TEMPLATE_ROWS = (
    ("示例区", "东风乡", "红旗村", "3", "王书记", "13800000000", "", "", "", "", "", ""),
    ("示例区", "东风乡", "红旗村", "", "", "", "张大山", "一组", "第一网格", "13900000001", "李党员", "13700000001"),
    ("示例区", "东风乡", "红旗村", "", "", "", "刘小河", "二组", "第一网格", "", "李党员", ""),
)


def template_xlsx(lang: str) -> bytes:
    """An XLSX with the header row and a few sample rows, to fill in and send back."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    headers = TEMPLATE_HEADERS.get(lang, TEMPLATE_HEADERS["zh_CN"])
    sheet.append(list(headers))
    for row in TEMPLATE_ROWS:
        sheet.append(list(row))
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(10, len(header) * 2 + 4)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


_TEMPLATE_FIELDS = ("district", "township", "village", "stars", "secretary", "secretary_phone", "head",
                    "address", "grid", "phone", "member", "member_phone")


def _sample_key(values: dict[str, object]) -> tuple[str, ...]:
    return tuple(str(values.get(f) or "") for f in _TEMPLATE_FIELDS)


_SAMPLES = frozenset(_sample_key(dict(zip(_TEMPLATE_FIELDS, row, strict=True))) for row in TEMPLATE_ROWS)


def is_sample(row: RosterRow) -> bool:
    """A sample row of the template left in the file: every cell as the template has it
    (names, phones, stars), so a real row that shares a name with a sample is never skipped."""
    return _sample_key({f: getattr(row, f) for f in _TEMPLATE_FIELDS}) in _SAMPLES


# -- names that are probably typos of each other ---------------------------------------------------
# Parsing vocabulary: characters that tell neighbouring villages apart on purpose (东庄村 and
# 西庄村, 一组 and 二组, 新村 and 老村): names differing only in these are not typos.
DISTINGUISHING = frozenset("东西南北上下前后左右中内外大小新老旧一二三四五六七八九十")


def one_apart(a: str, b: str) -> bool:
    """Same length and one character different (向阳材 / 向阳村), or one character more or
    fewer (红旗 / 红旗村; 红旗村 / 红旗新村 is not, 新 tells them apart); names differing only
    in a :data:`DISTINGUISHING` character (东庄村 / 西庄村) are not."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
        return len(a) >= 2 and len(diff) == 1 and not (diff[0][0] in DISTINGUISHING and diff[0][1] in DISTINGUISHING)
    short, long = sorted((a, b), key=len)
    if len(long) - len(short) != 1 or len(short) < 2:
        return False
    return any(long[:i] + long[i + 1 :] == short and long[i] not in DISTINGUISHING for i in range(len(long)))


def close_names(names: Iterable[str], known: Iterable[str] = ()) -> dict[str, str]:
    """For each of ``names`` that is one character apart from another name (of ``names`` or
    ``known``): that name. Of two close names in the file, the one on fewer rows is the likely
    typo; ``known`` names (already in the database) are never the typo.

    Each name is compared only with the names an index of one-character deletions says may be
    one apart (:func:`_near_keys`), not with every other name: linear in the names."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    known_set = set(known)
    order = [*known_set, *counts]  # the order candidates are tried in (a known name first)
    index: dict[tuple[object, ...], list[int]] = {}
    for position, other in enumerate(order):
        for key in _own_keys(other):
            index.setdefault(key, []).append(position)
    out: dict[str, str] = {}
    for name in counts:
        if name in known_set:
            continue
        candidates = sorted({p for key in _near_keys(name) for p in index.get(key, ())})
        for position in candidates:
            other = order[position]
            if other == name or not one_apart(name, other):
                continue
            if other in known_set or counts[other] > counts[name] or (counts[other] == counts[name] and other < name):
                out[name] = other
                break
    return out


def _own_keys(name: str) -> Iterator[tuple[object, ...]]:
    """The keys ``name`` is filed under: each deletion at its place (a same-length name one
    substitution away shares one), each deletion (a name one shorter equals one), itself (a name
    one longer has it as a deletion)."""
    yield ("whole", name)
    for i in range(len(name)):
        rest = name[:i] + name[i + 1 :]
        yield ("at", i, rest)
        yield ("less", rest)


def _near_keys(name: str) -> Iterator[tuple[object, ...]]:
    """The keys under which a name one character apart from ``name`` is filed."""
    yield ("less", name)  # one longer
    for i in range(len(name)):
        rest = name[:i] + name[i + 1 :]
        yield ("at", i, rest)  # same length
        yield ("whole", rest)  # one shorter


def close_name_errors(rows: Sequence[RosterRow], *, column_of: dict[str, str]) -> list[RowError]:
    """Rows naming a village one character apart from another village of the same township in
    the file (the rarer spelling): ``close_name``, with the other spelling as ``value``."""
    by_township: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        if row.village:
            by_township.setdefault((row.district, row.township), []).append(row.village)
    errors = []
    typos = {key: close_names(names) for key, names in by_township.items()}
    for row in rows:
        other = typos.get((row.district, row.township), {}).get(row.village)
        if other:
            errors.append(RowError(row.line, "close_name", column_of.get("village", ""), f"{row.village}→{other}"))
    return errors
