"""The monthly bulletin (通报): figures against counts the test makes itself through the other
features' repositories, ranking by outcomes only, plain wording for quiet villages, the chart
with a CJK font, /bulletin on demand, and the monthly push sent exactly once."""

from __future__ import annotations

import random
import warnings
from datetime import date, datetime, time, timedelta

from bot.rules.bulletin import (
    VillageMonth,
    compute,
    month_bounds,
    parse_month,
    percent,
    previous_month,
)
from bot.rules.coverage import Window
from bot.services.bulletin import render, split
from bot.services.charts import cjk_font
from bot.simulator import Simulator, texts
from handlers.oversight.bulletin import send_monthly
from storage import Repos
from storage.reports import ReportFields, ReportQuery
from storage.visits import NewVisit
from tests.conftest import (
    DISTRICT_ADMIN,
    MEMBER,
    SECRETARY,
    TOWNSHIP_ADMIN,
    TZ,
    Org,
    local,
    start_sim,
)
from tests.helpers.ledger import seed

NOV = month_bounds(2026, 11)
SHAMING = ("落后", "倒数", "批评", "差劲", "末位", "排名靠后")


# -- pure rules --------------------------------------------------------------------------------
def v(vid: int, name: str, **kw) -> VillageMonth:
    return VillageMonth(village_id=vid, name=name, **kw)


def test_villages_are_ranked_by_outcomes_never_by_activity() -> None:
    busy = v(1, "甲村", reports=30, villagers=300, visits=2, households=10, visited=2)
    solid = v(2, "乙村", reports=0, households=10, visited=9, followups_closed=3)
    b = compute(*NOV, [busy, solid])
    assert [x.name for x in b.villages] == ["乙村", "甲村"]
    # many reports earn no praise; full coverage, solved problems and tasks on time do
    assert [p.code for p in b.praise] == ["all_solved"]
    full = v(3, "丙村", households=4, visited=4, tasks_on_time=2)
    b = compute(*NOV, [busy, solid, full])
    assert {p.code: [x.name for x in p.villages] for p in b.praise} == {
        "full_coverage": ["丙村"], "all_solved": ["乙村"], "tasks_on_time": ["丙村"],
    }
    assert b.villages[0].name == "丙村"


def test_quiet_villages_and_star_groups() -> None:
    quiet = v(1, "静村", households=5, stars=2, tasks_not_done=1)
    active = v(2, "动村", households=5, visited=1, stars=4)
    unrated = v(3, "新村", reports=1)
    b = compute(*NOV, [quiet, active, unrated])
    assert [x.name for x in b.quiet] == ["静村"]
    assert [(g.stars, [x.name for x in g.villages]) for g in b.groups] == [(4, ["动村"]), (2, ["静村"]), (None, ["新村"])]
    assert compute(*NOV, [v(1, "a"), v(2, "b")]).groups == ()  # no stars set: no groups


def test_months_typed_and_message_splitting() -> None:
    today = date(2026, 12, 2)
    assert parse_month("10月", today) == month_bounds(2026, 10)
    assert parse_month("上月", today) == NOV
    assert parse_month("2027-01", today) is None
    assert previous_month(date(2026, 1, 15)) == month_bounds(2025, 12)
    assert percent(2 / 3) == "67%" and percent(None) == "—"
    parts = split(["x" * 3000, "y" * 3000, "z"])
    assert parts == ("x" * 3000, "y" * 3000 + "\nz")


# -- figures against independent counts --------------------------------------------------------
async def random_month(repos: Repos, org: Org, rng: random.Random, tag: str) -> dict:
    """Random visits, follow-ups, reports and tasks around November, through the repositories."""
    hh = repos.households
    villages = [(org.village, org.member), (org.other_village, org.other_member)]
    households = []
    for village, member in villages:
        for n in range(rng.randint(2, 6)):
            households.append(await hh.add(village.id, f"户{village.id}-{n}", member_id=member.id))
    archived = households[0]
    days = [date(2026, 10, 25) + timedelta(days=d) for d in range(45)]  # Oct 25 .. Dec 8
    followups = []
    for n in range(40):
        h = rng.choice(households[1:])
        member = org.member if h.village_id == org.village.id else org.other_member
        day = rng.choice(days)
        follow = rng.random() < 0.4
        due = day + timedelta(days=rng.randint(1, 12))
        saved = await repos.visits.save(NewVisit(
            token=f"{tag}v{n}", member_id=member.id, household_id=h.id, visited_on=day, roles=("survey",),
            outcome="follow_up" if follow else "solved",
            due_on=due if follow else None, due_at=datetime.combine(due, time(23, 59), TZ) if follow else None,
        ), now=datetime.combine(day, time(12), TZ))
        if saved.followup_id:
            followups.append(saved.followup_id)
    for fid in followups:
        if rng.random() < 0.6:
            when = datetime.combine(rng.choice(days), time(rng.choice((0, 12, 23)), rng.choice((5, 30))), TZ)
            await repos.visits.close_followup(fid, by_person_id=org.member.id, closed_at=when)
    await hh.set_archived(archived.id, True)  # an archived household counts nowhere
    for n in range(12):
        village = rng.choice(villages)[0]
        await repos.reports.create(
            ReportFields(unit_id=village.id, work_date=rng.choice(days), categories=("garbage",),
                         cadres=rng.randint(0, 3), members=rng.randint(0, 3), villagers=rng.randint(1, 9)),
            reporter_id=org.secretary.id, token=f"{tag}r{n}", at=local(2026, 12, 8, 9))
    tasks = []
    for n in range(6):
        deadline = datetime.combine(rng.choice(days), time(23, 59) if n % 2 else time(18), TZ)
        task, _ = await repos.tasks.create(
            token=f"{tag}t{n}", title=f"任务{n}", description="", deadline=deadline, leads=(),
            created_by=org.township_admin.id, scope_unit_id=org.township.id,
            unit_ids=[org.village.id, org.other_village.id], now=local(2026, 10, 1, 9))
        tasks.append(task.id)
        for village, _ in villages:
            if rng.random() < 0.7:
                await repos.tasks.mark_done(task.id, village.id, org.secretary.id,
                                            deadline + timedelta(hours=rng.randint(-40, 40)))
    return {"followups": followups, "tasks": tasks}


async def expected(repos: Repos, org: Org, made: dict, cut: datetime) -> dict[int, dict]:
    """Each village's November figures counted here, from the features' own reads."""
    start, end = NOV
    start_at = datetime.combine(start, time(0), TZ)
    out = {}
    for village in (org.village, org.other_village):
        reports = await repos.reports.search(ReportQuery(village.id, month_start=start, month_end=end), limit=999)
        # the month as the coverage rules' window: the one definition the bulletin uses too
        cov = await repos.visits.coverage_input([village.id], today=date(2026, 11, 30), window=Window.month(*NOV))
        fus = [await repos.visits.followup(f) for f in made["followups"]]
        fus = [f for f in fus if f.village_id == village.id]
        active = {h.id for h in cov.households}
        units = await repos.tasks.units_of(made["tasks"])
        marks = []
        for task_id, parts in units.items():
            task = await repos.tasks.get(task_id)
            if not start_at <= task.deadline < datetime.combine(end, time(0), TZ):
                continue
            for part in parts:
                if part.unit_id != village.id:
                    continue
                done = part.done_at if part.done_at is not None and part.done_at < cut else None
                if done is not None:
                    marks.append("on_time" if done <= task.deadline else "late")
                elif task.deadline < cut:
                    marks.append("not_done")
        out[village.id] = {
            "reports": len(reports),
            "villagers": sum(r.fields.villagers for r in reports),
            "cadres": sum(r.fields.cadres for r in reports),
            "households": len(cov.households),
            "visited": len({x.household_id for x in cov.visits} & active),
            "closed": sum(1 for f in fus if f.closed_at is not None and start_at <= f.closed_at < cut),
            "overdue": sum(1 for f in fus if f.household_id in active and f.due_at < cut
                           and (f.closed_at is None or f.closed_at >= cut)),
            "on_time": marks.count("on_time"), "late": marks.count("late"), "not_done": marks.count("not_done"),
        }
    return out


async def test_figures_match_counts_made_independently(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    for seed_no in (1, 2):
        made = await random_month(repos, org, random.Random(seed_no), f"s{seed_no}")
        cut = local(2026, 12, 1)
        rows = await repos.oversight.month_figures(
            org.township.id, *NOV, start_at=local(2026, 11, 1), end_at=cut, now=local(2026, 12, 8))
        want = await expected(repos, org, made, cut)
        for row in rows:
            w = want[row.village_id]
            got = {
                "reports": row.reports, "villagers": row.villagers, "cadres": row.cadres,
                "households": row.households, "visited": row.visited, "closed": row.followups_closed,
                "overdue": row.followups_overdue, "on_time": row.tasks_on_time, "late": row.tasks_late,
                "not_done": row.tasks_not_done,
            }
            assert got == w, (seed_no, row.name)
        assert sum(w["visited"] for w in want.values()) > 0
        # a fresh organisation for the second round
        org = await fresh_township(repos, org, seed_no)


async def fresh_township(repos: Repos, org: Org, n: int) -> Org:
    from dataclasses import replace

    town = await repos.org.add_unit(f"新镇{n}", "township", org.district.id)
    a = await repos.org.add_unit("甲村", "village", town.id)
    b = await repos.org.add_unit("乙村", "village", town.id)
    m1 = await repos.org.add_person(f"党员甲{n}", "member", a.id)
    m2 = await repos.org.add_person(f"党员乙{n}", "member", b.id)
    return replace(org, township=town, village=a, other_village=b, member=m1, other_member=m2)


async def test_a_running_month_is_counted_up_to_now(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await seed(repos, org)
    rows = await repos.oversight.month_figures(
        org.township.id, *NOV, start_at=local(2026, 11, 1), end_at=local(2026, 12, 1), now=local(2026, 11, 13))
    red = next(r for r in rows if r.village_id == org.village.id)
    assert (red.reports, red.visited, red.followups_closed, red.followups_overdue) == (2, 3, 1, 0)
    assert (red.tasks_on_time, red.tasks_late, red.tasks_not_done) == (0, 0, 0)  # nothing due before the 13th


# -- the message and the chart ---------------------------------------------------------------
async def test_on_demand_bulletin_message_and_chart(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await seed(repos, org)
    await repos.oversight.add_pair(org.village.id, org.other_village.id, since=date(2026, 10, 1), by=None)
    sim.clock = lambda: local(2026, 12, 2, 9).timestamp()
    calls = await sim.send("/bulletin", TOWNSHIP_ADMIN)
    message, caption, document = texts(calls)  # the message, the chart, the Word document
    assert message.startswith("📋 东风镇2026年11月") and "Word" in document
    assert "联户走访覆盖率 60%(3/5户)" in message  # four households in 红旗村, one in 向阳村
    assert message.index("⭐⭐⭐ 三星村") < message.index("⭐⭐ 二星村")
    assert "· 红旗村:联户走访覆盖率 75%(3/4户);办结群众诉求 1 件;逾期未办结 1 件;任务按时完成 1 项、逾期完成 1 项" in message
    assert "参与群众 26 人次、干部党员 10 人次" in message
    assert "红旗村(三星)帮带向阳村(二星):向阳村走访覆盖率 0%" in message
    assert "本月暂无工作记录的村(1个):向阳村。" in message
    assert not any(word in message for word in SHAMING)
    assert caption == "东风镇2026年11月各村联户走访覆盖率"
    png = next(c for c in calls if c.method == "sendPhoto").files["photo"]
    assert png.startswith(b"\x89PNG")
    assert "Noto Sans CJK" in cjk_font().get_name()


def test_chart_labels_render_without_missing_glyphs(monkeypatch) -> None:
    import bot.services.bulletin as service
    from bot.services.charts import draw

    monkeypatch.setattr(service, "bar_chart", draw)  # drawn here, not in the worker process: its warnings
    b = compute(*NOV, [v(1, "红旗村", households=4, visited=3, stars=3), v(2, "向阳村", households=2, stars=2)])
    from bot.i18n import Catalogs
    from storage.org import Unit

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rendered = render(Catalogs().get("zh_CN"), Unit(9, 1, "township", "东风镇"), b)
    assert rendered.chart.startswith(b"\x89PNG")
    assert not [w for w in caught if "missing from" in str(w.message)]


async def test_bulletin_for_another_month_and_bad_input(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await seed(repos, org)
    sim.clock = lambda: local(2026, 12, 2, 9).timestamp()
    message = texts(await sim.send("/bulletin 10月", TOWNSHIP_ADMIN))[0]
    assert "2026年10月" in message and "联户走访覆盖率 20%(1/5户)" in message
    running = texts(await sim.send("/bulletin 本月", TOWNSHIP_ADMIN))[0]
    assert "本月尚未结束" in running
    assert "没看懂这个月份" in texts(await sim.send("/bulletin 明年", TOWNSHIP_ADMIN))[0]
    # a secretary sees their township's bulletin; a party member may not ask for one
    assert "东风镇2026年11月" in texts(await sim.send("/bulletin", SECRETARY))[0]
    assert "仅限" in texts(await sim.send("/bulletin", MEMBER))[0]


async def test_district_bulletin_lists_townships_and_opens_one(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await seed(repos, org)
    sim.clock = lambda: local(2026, 12, 2, 9).timestamp()
    calls = await sim.send("/bulletin", DISTRICT_ADMIN)
    message = texts(calls)[0]
    assert "示例区2026年11月" in message and "· 东风镇(2个村):联户走访覆盖率 60%" in message
    assert "向阳村(东风镇)" in message
    calls = await sim.press("看东风镇", DISTRICT_ADMIN)
    assert texts(calls)[0].startswith("📋 东风镇2026年11月")
    # a township of another district cannot be opened with a forged button
    other = await repos.org.add_unit("外区", "district")
    far = await repos.org.add_unit("外镇", "township", other.id)
    calls = await sim.click(f"bulletin:show:{far.id}.202611", DISTRICT_ADMIN)
    assert any("不在您的管辖范围" in str(c.params.get("text")) for c in calls)


# -- the monthly push ----------------------------------------------------------------------------
async def bind_groups(repos: Repos, org: Org) -> None:
    await repos.chats.bind(-1001, "东风镇书记群", org.township.id, org.township_admin.id, kinds=("bulletins",))
    await repos.chats.bind(-1002, "红旗村党员群", org.village.id, org.township_admin.id, kinds=("bulletins", "notices"))
    await repos.chats.bind(-1003, "区里群", org.district.id, org.district_admin.id, kinds=("bulletins",))
    await repos.chats.bind(-1004, "只收提醒的群", org.township.id, org.township_admin.id, kinds=("reminders",))


def sent_to(calls, chat_id: int) -> list[str]:
    return [c.method + ":" + c.text.split("\n")[0] for c in calls
            if c.chat_id == chat_id and c.method in ("sendMessage", "sendPhoto")]


async def test_monthly_push_goes_once_to_each_bound_group(sim: Simulator, org: Org, settings) -> None:
    repos = sim.app.services.repos
    await seed(repos, org)
    await bind_groups(repos, org)
    assert (await send_monthly(sim.app, local(2026, 12, 1, 8, 59))).sent == []  # not yet
    before = len(sim.api.calls)
    outcome = await send_monthly(sim.app, local(2026, 12, 1, 9, 0))
    calls = sim.api.calls[before:]
    assert len(outcome.sent) == 6
    for chat in (-1001, -1002):
        assert sent_to(calls, chat) == [
            "sendMessage:📋 东风镇2026年11月党建引领乡村振兴工作通报", "sendPhoto:东风镇2026年11月各村联户走访覆盖率",
        ]
    assert sent_to(calls, -1003) == [
        "sendMessage:📋 示例区2026年11月党建引领乡村振兴工作通报", "sendPhoto:示例区2026年11月各乡镇联户走访覆盖率",
    ]
    assert sent_to(calls, -1004) == []
    # again, and after a restart: nothing more
    assert (await send_monthly(sim.app, local(2026, 12, 1, 10))).sent == []
    await sim.stop()
    second = await start_sim(settings)
    try:
        assert (await send_monthly(second.app, local(2026, 12, 2, 9))).sent == []
    finally:
        await second.stop()
        await sim.start()


async def test_a_missed_bulletin_is_sent_late_but_not_too_late(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await seed(repos, org)
    await bind_groups(repos, org)
    assert (await send_monthly(sim.app, local(2026, 12, 10, 9))).sent == []  # past the catch-up days
    outcome = await send_monthly(sim.app, local(2026, 12, 5, 14))
    assert len(outcome.sent) == 6
    # a group that removed the bot is dropped (and whoever bound it is told, by the
    # scheduler), the others still get theirs
    sim.api.forbidden_chats.add(-1001)
    await repos.chats.bind(-1005, "新群", org.township.id, org.township_admin.id, kinds=("bulletins",))
    outcome = await send_monthly(sim.app, local(2027, 1, 1, 9))
    assert {k.chat_id for k in outcome.sent if k.kind == "bulletin"} == {-1002, -1003, -1005}
    assert [k.chat_id for k in outcome.sent if k.kind != "bulletin"] == [TOWNSHIP_ADMIN]
    assert not (await repos.chats.get(-1001)).active


def test_a_township_of_many_villages_charts_the_best_and_the_worst(monkeypatch) -> None:
    import bot.services.bulletin as service
    from bot.i18n import Catalogs
    from storage.org import Unit

    villages = [v(i, f"村{i:02d}", households=10, visited=i % 11, stars=1 + i % 5) for i in range(1, 41)]
    b = compute(*NOV, villages)
    drawn = []
    monkeypatch.setattr(service, "bar_chart", lambda labels, values, **kw: drawn.append((labels, kw)) or b"png")
    rendered = render(Catalogs().get("zh_CN"), Unit(9, 1, "township", "东风镇"), b)
    (labels, _kw), = drawn
    assert len(labels) == 30
    best, worst = {x.name for x in b.villages[:15]}, {x.name for x in b.villages[-15:]}
    assert {label.split("(")[0] for label in labels} == best | worst
    assert "最好和最差的各15个村" in rendered.caption
    assert any("村40" in part or "村01" in part for part in rendered.parts), "the text still lists every village"
    small = render(Catalogs().get("zh_CN"), Unit(9, 1, "township", "东风镇"), compute(*NOV, villages[:5]))
    assert "最好和最差" not in small.caption


async def test_a_slow_bulletin_says_it_is_being_made(sim: Simulator, org: Org, monkeypatch) -> None:
    """Made in a worker thread: over PROGRESS_AFTER seconds "正在生成…" comes first (the worker
    waits for it: no wall clock), then the bulletin and its chart."""
    import time as clock

    import handlers.oversight.bulletin as handler
    from bot.services import offloop

    sim.clock = lambda: local(2026, 12, 2, 9).timestamp()
    make = handler.make

    def slow(*args, **kwargs):
        for _ in range(500):
            if any("正在生成" in str(c.params) for c in list(sim.api.calls)):
                return make(*args, **kwargs)
            clock.sleep(0.01)
        raise AssertionError("no progress message")

    monkeypatch.setattr(handler, "make", slow)
    monkeypatch.setattr(offloop, "PROGRESS_AFTER", 0.0)
    calls = await sim.send("/bulletin", TOWNSHIP_ADMIN)
    said = texts(calls)
    assert "正在生成东风镇的通报" in said[0] and "2026年11月" in said[1]
    assert [c.method for c in calls[-2:]] == ["sendPhoto", "sendDocument"]
