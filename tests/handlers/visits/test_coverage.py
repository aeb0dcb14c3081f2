"""/coverage on a seeded database: the figures are checked against counts this test makes
itself from what it seeded (never through bot.rules.coverage), for a secretary (per member)
and for admins (per township or village of their units, drilling down with buttons); coverage
is the rolling window of the last 30 days by the date of the visit; the chart is a PNG whose
Chinese labels the shipped CJK font can draw; phone numbers appear nowhere."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pytest
from matplotlib.ft2font import FT2Font

import handlers.visits.coverage
from bot.services.charts import bar_chart, cjk_font, draw
from bot.simulator import Simulator, texts
from storage.visits import NewVisit
from tests.conftest import DISTRICT_ADMIN, MEMBER, NOW, SECRETARY, TODAY, TOWNSHIP_ADMIN, Org, at
from tests.conftest import TZ as SH
from tests.helpers.coverage import TOWNSHIP_ROW, VILLAGE_ROW, rows

WINDOW_START = TODAY - timedelta(days=29)  # the last 30 days, today included
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"


@dataclass
class Seeded:
    villages: dict[int, str] = field(default_factory=dict)  # id -> name
    members: dict[int, tuple[str, int, str]] = field(default_factory=dict)  # person -> (name, village, role)
    households: dict[int, dict] = field(default_factory=dict)  # id -> village, member, archived, head
    visits: list[tuple[int, int, date]] = field(default_factory=list)  # household, member, day
    followups: list[dict] = field(default_factory=list)  # household, due_at, closed


async def seed(sim: Simulator, org: Org) -> Seeded:
    """Four villages (three under 东风镇), members (one on a grid), households, visits over
    three months, re-linked households, archived ones, open and closed follow-ups."""
    at(sim, NOW)
    rng = random.Random(20261122)
    repos = sim.app.services.repos
    data = Seeded()
    other_township = await repos.org.add_unit("西岭乡", "township", org.district.id)
    third = await repos.org.add_unit("团结村", "village", org.township.id)
    far = await repos.org.add_unit("青山村", "village", other_township.id)
    grid = await repos.org.add_unit("一网格", "grid", org.village.id)
    for unit in (org.village, org.other_village, third, far):
        data.villages[unit.id] = unit.name
    people = [
        (org.member.id, "李党员", org.village.id, "member"),
        (org.other_member.id, "周党员", org.other_village.id, "member"),
        (org.secretary.id, "孙书记", org.village.id, "secretary"),
    ]
    names = iter(f"{s}{g}" for s in SURNAMES for g in "一二三")
    for unit, n in ((org.village, 4), (org.other_village, 2), (third, 3), (far, 2)):
        for _ in range(n):
            name = next(names) + "党员"
            person = await repos.org.add_person(name, "member", unit.id, phone=f"1390000{rng.randint(1000, 9999)}")
            people.append((person.id, name, unit.id, "member"))
    gridder = await repos.org.add_person("网格党员", "member", grid.id)
    people.append((gridder.id, "网格党员", org.village.id, "member"))
    for pid, name, village, role in people:
        data.members[pid] = (name, village, role)

    tokens = iter(range(1, 100000))
    heads = iter(f"{s}{g}{k}" for s in SURNAMES for g in "大小老" for k in "甲乙丙丁戊")
    for pid, _, village, role in people:
        if role == "secretary":
            holding = 2  # the secretary holds two households themselves
        elif pid == people[4][0]:
            holding = 0  # one member without households
        else:
            holding = rng.randint(3, 11)
        for _ in range(holding):
            head = next(heads)
            hh = await repos.households.add(village, head, address=f"{rng.randint(1, 9)}组", phone=f"1380000{rng.randint(1000, 9999)}", member_id=pid)
            data.households[hh.id] = {"village": village, "member": pid, "archived": False, "head": head}
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                # the grid member visited nobody this month
                day = TODAY - timedelta(days=rng.randint(30 if pid == gridder.id else 0, 75))
                due = None
                if rng.random() < 0.3:
                    due = day + timedelta(days=rng.randint(1, 20))
                saved = await repos.visits.save(
                    NewVisit(
                        token=f"c{next(tokens)}", member_id=pid, household_id=hh.id, visited_on=day,
                        roles=("survey",), outcome="follow_up" if due else "solved", concern_text="诉求",
                        due_on=due, due_at=datetime.combine(due, time(23, 59), tzinfo=SH) if due else None,
                    ),
                    now=NOW,
                )
                data.visits.append((hh.id, pid, day))
                if due:
                    fu = {"id": saved.followup_id, "household": hh.id, "due_at": datetime.combine(due, time(23, 59), tzinfo=SH), "closed": False}
                    if rng.random() < 0.3:
                        await repos.visits.close_followup(saved.followup_id, by_person_id=pid, closed_at=NOW, text="办好了")
                        fu["closed"] = True
                    data.followups.append(fu)
    async with repos.db.transaction() as conn:  # everyone has been on the roster for months
        await conn.execute("UPDATE people SET created_at = '2026-01-05T00:00:00Z'")
    # households nobody holds, re-linked ones (visits stay theirs), archived ones
    for village in (org.village.id, third.id):
        head = next(heads)
        hh = await repos.households.add(village, head, member_id=None)
        data.households[hh.id] = {"village": village, "member": None, "archived": False, "head": head}
    linked = [hid for hid, h in data.households.items() if h["member"] == org.member.id]
    target = people[5][0]  # another member of 红旗村
    for hid in linked[:2]:
        await repos.households.link(hid, target)
        data.households[hid]["member"] = target
    for hid in rng.sample(sorted(data.households), 6):
        await repos.households.set_archived(hid, True)
        data.households[hid]["archived"] = True
    return data


def expected(data: Seeded, village_ids: set[int], stale_days: int = 30) -> dict:
    """Counts made directly from what was seeded."""
    active = {hid: h for hid, h in data.households.items() if not h["archived"] and h["village"] in village_ids}
    this_month = [(hid, pid) for hid, pid, day in data.visits if WINDOW_START <= day <= TODAY]
    visited = {hid for hid, _ in this_month if hid in active}
    last = {}
    for hid, _, day in data.visits:
        if day <= TODAY:
            last[hid] = max(last.get(hid, day), day)
    stale = {hid for hid in active if hid not in last or (TODAY - last[hid]).days >= stale_days}
    overdue = [f for f in data.followups if not f["closed"] and f["household"] in active and f["due_at"] < NOW]

    per_member, idle = {}, set()
    for pid, (name, village, role) in data.members.items():
        if village not in village_ids:
            continue
        mine = {hid for hid, h in active.items() if h["member"] == pid}
        if role == "secretary" and not mine:
            continue
        per_member[name] = (len(mine & visited), len(mine))
        if mine and not any(p == pid and hid in mine for hid, p in this_month):
            idle.add(name)
    per_village = {}
    for vid in village_ids:
        hids = {hid for hid, h in active.items() if h["village"] == vid}
        idle_here = {n for n in idle if any(m[0] == n and m[1] == vid for m in data.members.values())}
        per_village[data.villages[vid]] = (
            len(hids & visited),
            len(hids),
            len(idle_here),
            len(hids & stale),
            sum(1 for f in overdue if f["household"] in hids),
        )
    return {
        "visited": len(visited),
        "households": len(active),
        "stale": len(stale),
        "overdue": len(overdue),
        "idle": idle,
        "per_member": per_member,
        "per_village": per_village,
        "unlinked": (len({h for h in visited if active[h]["member"] is None}), sum(1 for h in active.values() if h["member"] is None)),
    }


@pytest.fixture
async def seeded(sim: Simulator, org: Org) -> Seeded:
    return await seed(sim, org)


async def test_secretary_sees_their_village_per_member(sim: Simulator, org: Org, seeded: Seeded, monkeypatch) -> None:
    charts = []
    monkeypatch.setattr(handlers.visits.coverage, "bar_chart", lambda labels, values, **kw: charts.append((labels, values, kw)) or bar_chart(labels, values, **kw))
    calls = await sim.send("/coverage", SECRETARY)
    text = texts(calls)[0]
    want = expected(seeded, {org.village.id})
    assert f"全村近30天已走访 {want['visited']}/{want['households']} 户" in text
    members = rows(text, r"· (\S+?):(\d+)/(\d+) 户")
    members |= {name: (0, 0) for name in re.findall(r"· (\S+?):还没有联系户", text)}
    unlinked_label = "未安排党员的农户"
    assert members.pop(unlinked_label) == want["unlinked"]
    assert members == want["per_member"]
    assert "联系户" in text and "还没有联系户的党员(1人)" in text
    idle_line = next(line for line in text.splitlines() if line.startswith("近30天一次也没走访过联系户的党员"))
    assert set(idle_line.split(":", 1)[1].split("、")) == want["idle"]
    assert f"超过30天没走访的农户({want['stale']}户" in text
    assert f"逾期没办结的跟进事项({want['overdue']}项)" in text
    assert "周党员" not in text and "青山村" not in text
    assert not re.search(r"1[38]\d{9}", text), "no phone numbers in coverage"
    # never visited first, then the longest unvisited
    stale_lines = [line for line in text.splitlines() if line.startswith("· ") and ("未走访" in line)]
    days = [-1 if "从未走访" in line else int(re.search(r"(\d+)天未走访", line)[1]) for line in stale_lines]
    assert days == sorted(days, key=lambda d: (d != -1, -d))
    # the chart: one bar per member with households, lowest coverage first, the unlinked last
    (labels, values, kw), = charts
    assert kw["percent"] and "红旗村" in kw["title"]
    assert set(labels) == {n for n, (_, total) in want["per_member"].items() if total} | {unlinked_label}
    assert labels[-1] == unlinked_label and list(values[:-1]) == sorted(values[:-1])
    assert not any(re.search(r"\d{7}", label) for label in labels)
    (photo,) = [c for c in calls if c.method == "sendPhoto"]
    assert next(iter(photo.files.values())).startswith(b"\x89PNG\r\n\x1a\n")


async def test_stale_days_can_be_given(sim: Simulator, org: Org, seeded: Seeded) -> None:
    text = texts(await sim.send("/coverage 60", SECRETARY))[0]
    want = expected(seeded, {org.village.id}, stale_days=60)
    assert f"超过60天没走访的农户({want['stale']}户" in text
    (reply,) = texts(await sim.send("/coverage 两个月", SECRETARY))
    assert "1到365" in reply


async def test_township_admin_sees_its_villages(sim: Simulator, org: Org, seeded: Seeded) -> None:
    text = texts(await sim.send("/coverage", TOWNSHIP_ADMIN))[0]
    villages = {vid for vid, name in seeded.villages.items() if name != "青山村"}
    want = expected(seeded, villages)
    got = rows(text, r"· (\S+?):(\d+)/(\d+) 户\(\d+%\),没走访的党员 (\d+) 人,久未走访 (\d+) 户,逾期跟进 (\d+) 项")
    assert got == want["per_village"]
    assert f"近30天已走访 {want['visited']}/{want['households']} 户" in text
    assert f"超过30天没走访的 {want['stale']} 户;逾期跟进 {want['overdue']} 项" in text
    heads = {h["head"] for h in seeded.households.values()}
    assert not any(head in text for head in heads), "admins see figures, not households by name"
    assert not re.search(r"1[38]\d{9}", text)


async def test_district_admin_drills_down_from_townships_to_a_village(sim: Simulator, org: Org, seeded: Seeded) -> None:
    calls = await sim.send("/coverage", DISTRICT_ADMIN)
    text = texts(calls)[0]
    per = expected(seeded, set(seeded.villages))["per_village"]
    dongfeng = [per[name] for name in ("红旗村", "向阳村", "团结村")]
    assert rows(text, TOWNSHIP_ROW) == {
        "东风镇": (3, *(sum(column) for column in zip(*dongfeng, strict=True))),
        "西岭乡": (1, *per["青山村"]),
    }
    assert rows(text, VILLAGE_ROW) == {}, "the district's view lists townships, not villages"
    assert [c.method for c in calls] == ["sendMessage"]  # two townships: no chart
    text = texts(await sim.press("东风镇", DISTRICT_ADMIN))[0]
    assert rows(text, VILLAGE_ROW) == {name: per[name] for name in ("红旗村", "向阳村", "团结村")}
    calls = await sim.press("红旗村", DISTRICT_ADMIN)
    text = texts(calls)[0]
    want = expected(seeded, {org.village.id})
    assert f"全村近30天已走访 {want['visited']}/{want['households']} 户" in text
    idle_line = next(line for line in text.splitlines() if line.startswith("近30天一次也没走访过联系户的党员"))
    assert set(idle_line.split(":", 1)[1].split("、")) == want["idle"], "admins manage the members: named"
    heads = {h["head"] for h in seeded.households.values()}
    assert not any(head in text for head in heads), "admins see figures, not households by name"
    assert [c.method for c in calls][-1] == "sendPhoto"  # many members: a chart, the buttons under it
    text = texts(await sim.press("返回上一级", DISTRICT_ADMIN))[0]
    assert rows(text, VILLAGE_ROW) == {name: per[name] for name in ("红旗村", "向阳村", "团结村")}


async def test_a_forged_unit_is_refused(sim: Simulator, org: Org, seeded: Seeded) -> None:
    await sim.send("/coverage", TOWNSHIP_ADMIN)
    far = next(vid for vid, name in seeded.villages.items() if name == "青山村")
    calls = await sim.click(f"coverage:u:{far}.30.r.0", TOWNSHIP_ADMIN)
    assert "不在您的管辖范围" in str([c.params for c in calls])
    assert not [c for c in calls if c.method in ("sendMessage", "sendPhoto")]
    calls = await sim.click(f"coverage:u:{org.other_village.id}.30.r.0", SECRETARY)
    assert "不在您的管辖范围" in str([c.params for c in calls]), "a secretary sees only their own village"


async def test_members_may_not_see_coverage(sim: Simulator, org: Org) -> None:
    (reply,) = texts(await sim.send("/coverage", MEMBER))
    assert "仅限" in reply


async def test_few_rows_get_no_chart(sim: Simulator, org: Org) -> None:
    calls = await sim.send("/coverage", SECRETARY)
    assert [c.method for c in calls] == ["sendMessage"]
    assert "全村近30天已走访 0/0 户" in texts(calls)[0]


def test_the_chart_font_draws_the_chinese_labels() -> None:
    font = cjk_font()
    path = font.get_file()
    assert path.endswith("NotoSansCJKsc-Regular.otf")
    face = FT2Font(path)
    assert "CJK" in face.family_name
    labels = ["李党员", "未安排党员的农户", "红旗村 2026年11月联户走访覆盖率", "本月已走访农户占比(%)"]
    missing = [ch for label in labels for ch in label if not ch.isspace() and face.get_char_index(ord(ch)) == 0]
    assert missing == []
    png = bar_chart(labels[:2], [40.0, 75.0], title=labels[2], xlabel=labels[3], percent=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


def test_rendering_chinese_labels_warns_about_no_missing_glyph(recwarn) -> None:
    draw(["孙书记", "网格党员"], [10.0, 90.0], title="覆盖率", percent=True)  # here, not in the worker: its warnings
    assert not [w for w in recwarn if "missing from" in str(w.message).lower()]
