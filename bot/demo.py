"""Demo data for ``cadre-bot console --demo``: a plainly fictional district, brought in the way a
real one is, through the roster import (:func:`bot.rules.roster.parse_roster` and
:meth:`storage.roster.RosterRepo.import_roster`) from a roster CSV made here.

Two townships and four street offices ("两乡四办"), a dozen villages and communities with star
levels, a secretary each, and households linked to party members (six each, as the campaign
asks for five to ten). The console user becomes the secretary of the first village, so a
newcomer sees the real flows at once.
"""

from __future__ import annotations

import csv
import io

from bot.rules.roster import parse_roster
from storage import Repos
from storage.roster import ImportResult

# Fictional sample data (not UI text): the names of a district that does not exist.
DISTRICT = "示例区"
# (township or street office, [villages or communities])
UNITS = (
    ("东风乡", ("红旗村", "向阳村", "团结村")),
    ("西岭乡", ("青山村", "石桥村")),
    ("城关街道", ("南关社区", "北关社区")),
    ("新华街道", ("新华社区",)),
    ("河滨街道", ("柳岸社区", "滨河社区")),
    ("文昌街道", ("文昌社区", "书院社区")),
)
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗"
GIVEN = ("建国", "秀英", "志强", "桂兰", "国华", "春梅", "德明", "玉珍", "文博", "海燕", "立新", "淑芬")
MEMBERS_PER_VILLAGE = 2
HOUSEHOLDS_PER_MEMBER = 6
HEADERS = ("区", "乡镇(街道)", "村(社区)", "星级", "书记", "户主", "地址", "网格", "电话", "联户党员", "党员电话")


def name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7 + n // len(SURNAMES)) % len(GIVEN)]


def roster_csv(secretary_of_first_village: str) -> bytes:
    """The demo roster as an office would save it from Excel: GB18030 CSV, Chinese headers."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    n = 0
    for t_index, (township, villages) in enumerate(UNITS):
        for v_index, village in enumerate(villages):
            stars = (t_index + v_index) % 5 + 1
            n += 1
            secretary = secretary_of_first_village if n == 1 else name(n + 100) + "书记"
            writer.writerow((DISTRICT, township, village, stars, secretary, "", "", "", "", "", ""))
            for m in range(MEMBERS_PER_VILLAGE):
                n += 1
                member, member_phone = name(n), f"1370000{n:04d}"
                for h in range(HOUSEHOLDS_PER_MEMBER):
                    n += 1
                    group = f"{h % 3 + 1}组"
                    grid = f"第{m + 1}网格"
                    phone = f"1390000{n:04d}" if h % 2 == 0 else ""
                    writer.writerow((DISTRICT, township, village, "", "", name(n), group, grid, phone, member, member_phone))
    return out.getvalue().encode("gb18030")


async def seed_demo(repos: Repos, *, console_user: int, console_name: str) -> ImportResult:
    """Import the demo roster; make ``console_user`` the secretary of the first village."""
    roster = parse_roster(roster_csv(console_name), "示例区花名册.csv")
    result = await repos.roster.import_roster(roster)
    assert result.committed and not result.errors, result.errors
    first_township, first_villages = UNITS[0]
    district = (await repos.org.units_named(DISTRICT))[0]
    township = await repos.org.find_unit(first_township, district.id)
    assert township is not None
    village = await repos.org.find_unit(first_villages[0], township.id)
    assert village is not None
    secretary = await repos.org.find_person(village.id, console_name, "secretary")
    assert secretary is not None
    await repos.org.bind_telegram(secretary.id, console_user)
    return result
