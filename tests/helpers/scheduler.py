"""A task or a recurring event stored directly, and the notice a scheduler run sends."""

from __future__ import annotations

from datetime import datetime

from bot.rules.deadlines import DEFAULT_TASK_LEADS
from bot.rules.recurrence import DEFAULT_EVENT_LEADS, MONTHLY_WEEKDAY, Rule
from bot.services import scheduler
from bot.simulator import Simulator
from tests.conftest import TOWN_GROUP, Org


async def add_task(sim: Simulator, org: Org, *, deadline: datetime, created: datetime, title: str = "村级活动场所规范化建设"):
    task, _ = await sim.app.services.repos.tasks.create(
        token=f"t-{title}-{deadline.isoformat()}",
        title=title,
        description="",
        deadline=deadline,
        leads=[lead.code for lead in DEFAULT_TASK_LEADS],
        created_by=org.township_admin.id,
        scope_unit_id=org.township.id,
        unit_ids=[org.village.id, org.other_village.id],
        now=created,
    )
    return task


async def add_lecture(sim: Simulator, org: Org, created: datetime):
    rule = Rule(MONTHLY_WEEKDAY, nth=1, weekday=4, hour=14, minute=30)  # 每月第一个周五 14:30
    event, _ = await sim.app.services.repos.events.create(
        token="lecture",
        title="五星支部创建大讲堂",
        rule=rule.to_dict(),
        place="镇党委会议室",
        speaker="红旗村孙书记",
        leads=[lead.code for lead in DEFAULT_EVENT_LEADS],
        audience="secretaries",
        organiser=org.township_admin.id,
        scope_unit_id=org.township.id,
        unit_ids=[org.township.id],
        now=created,
    )
    return event


async def notice_in_town_group(sim: Simulator, now):
    sim.api.clear()
    await scheduler.run_due(sim.app, now)
    (call,) = [c for c in sim.api.calls if c.chat_id == TOWN_GROUP and c.method == "sendMessage"]
    return call


def handed_to_deliver(monkeypatch, check=None) -> list[int]:
    """``scheduler.deliver`` counted: how many pushes each call was handed, in order.
    ``check(app, when, calls)``, when given, is awaited before each call is delivered."""
    handed: list[int] = []
    deliver = scheduler.deliver

    async def counted(app, pushes, when):
        pushes = list(pushes)
        handed.append(len(pushes))
        if check is not None:
            await check(app, when, len(handed))
        return await deliver(app, pushes, when)

    monkeypatch.setattr(scheduler, "deliver", counted)
    return handed


class Statements:
    """Counts the SQL statements the application's connection runs."""

    def __init__(self, sim: Simulator) -> None:
        self.db = sim.app.services.repos.db
        self.n = 0

    def _count(self, _sql: str) -> None:
        self.n += 1

    async def __aenter__(self) -> Statements:
        await self.db.conn._execute(self.db.conn._conn.set_trace_callback, self._count)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.db.conn._execute(self.db.conn._conn.set_trace_callback, None)
