"""A month of work in 东风镇 stored through the features' repositories (the ledger's and the
bulletin's seed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from storage import Repos
from storage.reports import ReportFields, ReportPhoto
from storage.visits import NewVisit
from tests.conftest import Org, local


@dataclass
class Seed:
    reports: list[int]
    october_report: int
    visits: list[int]
    followup: int
    open_followup: int
    tasks: list[int]


async def seed(repos: Repos, org: Org) -> Seed:
    """November 2026 in 东风镇: 红旗村 is active, 向阳村 has only an undone task."""
    hh = repos.households
    member, other = org.member, org.other_member
    h1 = await hh.add(org.village.id, "王大山", address="一组", grid="一网格", phone="13900000001", member_id=member.id)
    h2 = await hh.add(org.village.id, "刘二妹", address="二组", grid="一网格", phone="13900000002", member_id=member.id)
    h3 = await hh.add(org.village.id, "陈三", address="三组", grid="二网格", member_id=member.id)
    await hh.add(org.village.id, "赵四", address="四组", member_id=member.id)
    await hh.add(org.other_village.id, "周五", address="一组", member_id=other.id)

    def visit(token: str, household, day: date, outcome: str, **kw) -> NewVisit:
        return NewVisit(token=token, member_id=member.id, household_id=household.id, visited_on=day,
                        roles=kw.pop("roles", ("survey",)), outcome=outcome, **kw)

    saves = [
        await repos.visits.save(visit("v1", h1, date(2026, 11, 2), "solved", roles=("survey", "policy"),
                                      concern_text="路灯坏了"), now=local(2026, 11, 2, 10)),
        await repos.visits.save(visit("v2", h2, date(2026, 11, 3), "follow_up", concern_text="低保申请",
                                      due_on=date(2026, 11, 10), due_at=local(2026, 11, 10, 23, 59)),
                                now=local(2026, 11, 3, 9)),
        await repos.visits.save(visit("v3", h3, date(2026, 11, 4), "follow_up", concern_text="漏水",
                                      due_on=date(2026, 11, 25), due_at=local(2026, 11, 25, 23, 59)),
                                now=local(2026, 11, 4, 9)),
        await repos.visits.save(visit("v4", h3, date(2026, 10, 20), "none"), now=local(2026, 10, 20, 9)),
    ]
    followup, open_followup = saves[1].followup_id, saves[2].followup_id
    assert followup and open_followup
    await repos.visits.close_followup(followup, by_person_id=member.id, closed_at=local(2026, 11, 8, 15, 20),
                                      text="已帮助提交材料")

    def fields(day: date, **kw) -> ReportFields:
        return ReportFields(unit_id=org.village.id, work_date=day, **kw)

    r1, _ = await repos.reports.create(
        fields(date(2026, 11, 3), categories=("garbage", "other"), other_name="清理河道", place="村东头",
               latitude=34.5, longitude=109.5, cadres=3, members=5, villagers=20, garbage_trucks=4.5,
               notes='=cmd|"/c calc"!A1',
               photos=(ReportPhoto("f1", "u1", "before"), ReportPhoto("f2", "u2", "before"),
                       ReportPhoto("f3", "u3", "after"))),
        reporter_id=org.secretary.id, token="r1", at=local(2026, 11, 3, 18, 5))
    r2, _ = await repos.reports.create(
        fields(date(2026, 11, 12), categories=("walls",), cadres=2, villagers=6, walls=3),
        reporter_id=org.secretary.id, token="r2", at=local(2026, 11, 12, 8))
    r0, _ = await repos.reports.create(
        fields(date(2026, 10, 30), categories=("weeds",), villagers=4),
        reporter_id=org.secretary.id, token="r0", at=local(2026, 10, 30, 8))
    # a review: returned with a comment, corrected and resubmitted, then verified
    ov = repos.oversight
    await ov.record_review("report", r1.id, "returned", by=org.township_admin.id, at=local(2026, 11, 4, 9),
                           comment="请补充整治后照片")
    await repos.reports.correct(r1.id, r1.fields, by=org.secretary.id, at=local(2026, 11, 4, 10), token="c1")
    await ov.record_review("report", r1.id, "resubmitted", by=org.secretary.id, at=local(2026, 11, 4, 10))
    await ov.record_review("report", r1.id, "verified", by=org.township_admin.id, at=local(2026, 11, 5, 9))
    await ov.record_review("followup", followup, "verified", by=org.township_admin.id, at=local(2026, 11, 9, 9))

    tasks = repos.tasks
    t1, _ = await tasks.create(token="t1", title="清理村内垃圾死角", description="", deadline=local(2026, 11, 15, 23, 59),
                               leads=(), created_by=org.township_admin.id, scope_unit_id=org.township.id,
                               unit_ids=[org.village.id, org.other_village.id], now=local(2026, 11, 1, 9))
    t2, _ = await tasks.create(token="t2", title="上报联户名单", description="", deadline=local(2026, 11, 20, 18),
                               leads=(), created_by=org.township_admin.id, scope_unit_id=org.township.id,
                               unit_ids=[org.village.id], now=local(2026, 11, 1, 9))
    await tasks.mark_done(t1.id, org.village.id, org.secretary.id, local(2026, 11, 14, 16), note="已清理5处")
    await tasks.mark_done(t2.id, org.village.id, org.secretary.id, local(2026, 11, 21, 10))
    return Seed([r1.id, r2.id], r0.id, [s.visit.id for s in saves[:3]], followup, open_followup, [t1.id, t2.id])
