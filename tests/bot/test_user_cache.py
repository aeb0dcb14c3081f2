"""Who sent an update is cached per user (``UsersRepo.who``, no query per update), and a change
of who they are takes effect at their next update: a role changed, an account unlinked from its
village, a person deactivated by another program, a change made while the lookup ran. All
through the real Application."""

from __future__ import annotations

import sqlite3

from bot.simulator import Simulator, texts
from tests.conftest import MEMBER, SECRETARY, TOWNSHIP_ADMIN, Org
from tests.helpers.org import code_of


def tr(sim: Simulator, key: str, **kwargs: object) -> str:
    return sim.app.services.catalogs.get(None)(key, **kwargs)


async def may_report(sim: Simulator, user: int) -> bool:
    """Whether /report is open to ``user`` (the conversation is left again)."""
    said = texts(await sim.send("/report", user))
    if any("哪一天" in text for text in said):
        await sim.send("/cancel", user)
        return True
    return False


async def lookups(sim: Simulator, monkeypatch) -> list[int]:
    """The telegram ids whose person is looked up in the database from now on."""
    org_repo = sim.app.services.repos.org
    seen: list[int] = []
    original = org_repo.person_by_telegram

    async def counting(telegram_id: int):
        seen.append(telegram_id)
        return await original(telegram_id)

    monkeypatch.setattr(org_repo, "person_by_telegram", counting)
    return seen


async def test_the_person_is_looked_up_once_while_nothing_changes(sim: Simulator, org: Org, monkeypatch) -> None:
    looked = await lookups(sim, monkeypatch)
    for _ in range(3):
        assert await may_report(sim, SECRETARY)
    assert looked == [SECRETARY]


async def test_a_role_change_by_invite_takes_effect_at_the_next_update(sim: Simulator, org: Org) -> None:
    assert await may_report(sim, SECRETARY) and await may_report(sim, SECRETARY)  # cached
    assert not await may_report(sim, MEMBER)
    # the township admin invites a member of 向阳村; the secretary of 红旗村 takes it and
    # switches: she is a member in another village now; the member becomes a first secretary
    for user, role in ((SECRETARY, "党员"), (MEMBER, "驻村第一书记")):
        await sim.send("/invite", TOWNSHIP_ADMIN)
        await sim.press("向阳村", TOWNSHIP_ADMIN)
        await sim.press(role, TOWNSHIP_ADMIN)
        code = code_of(await sim.press("名单以外的新人", TOWNSHIP_ADMIN))
        await sim.send(f"/start {code}", user)
        await sim.send("孙书记" if user == SECRETARY else "李党员", user)
        await sim.press("对", user)
        await sim.press("确定", user)
    [said] = texts(await sim.send("/report", SECRETARY))
    assert said.startswith("/report") and tr(sim, "role.secretary") in said  # "only for ..."
    assert await may_report(sim, MEMBER)


async def test_an_unlinked_account_loses_its_rights_at_the_next_update(sim: Simulator, org: Org) -> None:
    refused = [tr(sim, "auth.not_joined")]
    assert texts(await sim.send("/followups", MEMBER)) != refused
    assert texts(await sim.send("/followups", MEMBER)) != refused  # from the cache
    await sim.send("/people", SECRETARY)
    await sim.click(f"people:unlink_ok:{org.member.id}", SECRETARY)  # the secretary unlinks her member
    assert texts(await sim.send("/followups", MEMBER)) == refused


async def test_a_deactivation_by_another_program_is_seen_within_a_second(sim: Simulator, org: Org, monkeypatch) -> None:
    import storage.db

    class Clock:
        now = 1000.0

        def monotonic(self) -> float:
            return self.now

    clock = Clock()
    monkeypatch.setattr(storage.db, "time", clock)  # the database's look at other writers
    assert await may_report(sim, SECRETARY)
    other = sqlite3.connect(sim.app.services.repos.db.path)
    with other:
        other.execute("UPDATE people SET active = 0 WHERE telegram_id = ?", (SECRETARY,))
    other.close()
    clock.now += storage.db.OTHER_WRITERS_CHECK_SECONDS
    assert texts(await sim.send("/report", SECRETARY)) == [tr(sim, "auth.not_joined")]


async def test_a_change_made_while_the_lookup_runs_is_not_cached_as_current(sim: Simulator, org: Org, monkeypatch) -> None:
    repos = sim.app.services.repos
    original = repos.org.person_by_telegram
    racing = True

    async def lookup_then_unlink(telegram_id: int):
        nonlocal racing
        person = await original(telegram_id)
        if racing and person is not None:  # another update unlinks her meanwhile
            racing = False
            await repos.org.unbind_telegram(person.id)
        return person

    monkeypatch.setattr(repos.org, "person_by_telegram", lookup_then_unlink)
    assert await may_report(sim, SECRETARY)  # answered with what was read
    assert texts(await sim.send("/report", SECRETARY)) == [tr(sim, "auth.not_joined")]
