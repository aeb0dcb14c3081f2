"""Demo data for ``cadre-bot console --demo``: a plainly fictional district.

Two townships and four street offices ("两乡四办"), a dozen villages and communities, their
secretaries, party members and households. The console user becomes the secretary of the
first village, so a newcomer sees the real flows at once.
"""

from __future__ import annotations

from storage import Repos

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
SURNAMES = "王李张刘陈杨黄赵周吴"


async def seed_demo(repos: Repos, *, console_user: int, console_name: str) -> None:
    org = repos.org
    district = await org.add_unit(DISTRICT, "district")
    first_village = None
    n = 0
    for township_name, villages in UNITS:
        township = await org.add_unit(township_name, "township", district.id)
        await org.add_person(f"{township_name}管理员(示例)", "township_admin", township.id)
        for index, village_name in enumerate(villages):
            village = await org.add_unit(village_name, "village", township.id, stars=(index % 5) + 1)
            first_village = first_village or village
            for _ in range(2):
                n += 1
                member = await org.add_person(f"{SURNAMES[n % 10]}党员{n}(示例)", "member", village.id)
                await repos.db.conn.execute("SELECT 1")  # keep the loop cooperative
                del member
    assert first_village is not None
    await org.add_person(console_name, "secretary", first_village.id, telegram_id=console_user)
