"""Demo data for ``cadre-bot console --demo``: a plainly fictional district, brought in the way a
real one is, through the roster import (:func:`bot.rules.roster.parse_roster` and
:meth:`storage.roster.RosterRepo.import_roster`) from a roster CSV made here.

Two townships and four street offices, a dozen villages and communities with star
levels, a secretary each, and households linked to party members (six each, as the campaign
asks for five to ten). The console user becomes the secretary of the first village, so a
newcomer sees the real flows at once.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.rules.roster import parse_roster
from storage import Repos
from storage.roster import ImportResult

MEMBERS_PER_VILLAGE = 2
HOUSEHOLDS_PER_MEMBER = 6
SECRETARY_HOUSEHOLDS = 3


@dataclass(frozen=True)
class DemoData:
    """The fictional district of ``demo.json`` (names of places and people: data, not UI text)."""

    district: str
    file_name: str
    units: tuple[tuple[str, tuple[str, ...]], ...]
    surnames: str
    given: tuple[str, ...]
    headers: tuple[str, ...]
    secretary_name: str
    group: str
    grid: str


@lru_cache(maxsize=1)
def demo_data() -> DemoData:
    raw = json.loads(Path(__file__).with_name("demo.json").read_text(encoding="utf-8"))
    return DemoData(
        district=raw["district"],
        file_name=raw["file_name"],
        units=tuple((t, tuple(vs)) for t, vs in raw["units"]),
        surnames=raw["surnames"],
        given=tuple(raw["given"]),
        headers=tuple(raw["headers"]),
        secretary_name=raw["secretary_name"],
        group=raw["group"],
        grid=raw["grid"],
    )


def name(n: int) -> str:
    d = demo_data()
    return d.surnames[n % len(d.surnames)] + d.given[(n * 7 + n // len(d.surnames)) % len(d.given)]


def roster_csv(secretary_of_first_village: str) -> bytes:
    """The demo roster as an office would save it from Excel: GB18030 CSV, Chinese headers."""
    d = demo_data()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(d.headers)
    n = 0
    for t_index, (township, villages) in enumerate(d.units):
        for v_index, village in enumerate(villages):
            stars = (t_index + v_index) % 5 + 1
            n += 1
            secretary = secretary_of_first_village if n == 1 else d.secretary_name.format(name=name(n + 100))
            writer.writerow((d.district, township, village, stars, secretary, "", "", "", "", "", ""))
            for m in range(MEMBERS_PER_VILLAGE):
                n += 1
                member, member_phone = name(n), f"1370000{n:04d}"
                for h in range(HOUSEHOLDS_PER_MEMBER):
                    n += 1
                    group = d.group.format(n=h % 3 + 1)
                    grid = d.grid.format(n=m + 1)
                    phone = f"1390000{n:04d}" if h % 2 == 0 else ""
                    writer.writerow((d.district, township, village, "", "", name(n), group, grid, phone, member, member_phone))
    return out.getvalue().encode("gb18030")


async def seed_demo(repos: Repos, *, console_user: int, console_name: str) -> ImportResult:
    """Import the demo roster; make ``console_user`` the secretary of the first village."""
    d = demo_data()
    roster = parse_roster(roster_csv(console_name), d.file_name)
    result = await repos.roster.import_roster(roster)
    if not result.committed or result.errors:
        raise RuntimeError(f"the demo roster was not imported: {result.errors}")
    first_township, first_villages = d.units[0]
    district = (await repos.org.units_named(d.district))[0]
    township = await repos.org.find_unit(first_township, district.id)
    if township is None:
        raise RuntimeError("unexpected: township is None")
    village = await repos.org.find_unit(first_villages[0], township.id)
    if village is None:
        raise RuntimeError("unexpected: village is None")
    secretary = await repos.org.find_person(village.id, console_name, "secretary")
    if secretary is None:
        raise RuntimeError("unexpected: secretary is None")
    await repos.org.bind_telegram(secretary.id, console_user)
    # secretaries are linked to households too: give the console user a few, so /visit works
    for n in range(SECRETARY_HOUSEHOLDS):
        await repos.households.add(
            village.id, name(500 + n), address=d.group.format(n=4), member_id=secretary.id
        )
    return result
