"""Households and visits stored directly, as if entered earlier."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time

from bot.simulator import Simulator
from storage.visits import Household, NewVisit
from tests.conftest import NOW, TZ

_tokens = itertools.count(1)


async def add_households(sim: Simulator, village_id: int, member_id: int | None, *heads: str, **kw) -> list[Household]:
    repo = sim.app.services.repos.households
    return [await repo.add(village_id, head, address=f"{i + 1}组", member_id=member_id, **kw) for i, head in enumerate(heads)]


async def log_visit(
    sim: Simulator, member_id: int, household_id: int, day: date, *, due: date | None = None, concern: str = "诉求"
) -> int:
    """A visit stored directly (as if logged earlier); with ``due`` it leaves a follow-up."""
    due_at = datetime.combine(due, time(23, 59), tzinfo=TZ) if due else None
    saved = await sim.app.services.repos.visits.save(
        NewVisit(
            token=f"seed-{next(_tokens)}",
            member_id=member_id,
            household_id=household_id,
            visited_on=day,
            roles=("survey",),
            outcome="follow_up" if due else "solved",
            concern_text=concern,
            due_on=due,
            due_at=due_at,
        ),
        now=NOW,
    )
    return saved.visit.id


CALLED_BACK, NOT_YET, SATISFIED, SKIP = "回访过了", "还没回访", "😊 满意", "跳过"


async def call_back(sim: Simulator, user: int, *answers: str) -> list:
    """Answer the closing's call-back questions (回访, then 满意 when called back) with these
    buttons; returns the calls of the last press (the confirmation, once all are answered)."""
    calls: list = []
    for label in answers:
        calls = await sim.press(label, user)
    return calls
