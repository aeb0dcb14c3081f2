"""The roster import decides outside the write lock and holds it only to write: other chats'
writes go on while it reads and goes through the rows; when the units, people or households
change meanwhile, it decides again, holding the lock, and its writes are still right."""

from __future__ import annotations

import asyncio

import pytest

import storage.roster as roster_storage
from bot.rules.roster import parse_roster
from storage import Repos

WAIT = 10  # seconds: only a guard against a hang (a write waiting for a lock the import holds)
ROWS = 450


def roster_csv(rows: int) -> bytes:
    lines = ["区,乡镇,村,户主,地址"] + [f"示例区,东风镇,红旗村,户主{n},{n % 9}组" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
async def village(repos: Repos) -> int:
    district = await repos.org.add_unit("示例区", "district")
    township = await repos.org.add_unit("东风镇", "township", district.id)
    return (await repos.org.add_unit("红旗村", "village", township.id)).id


def counting_decisions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    decided: list[int] = []
    decide = roster_storage.RosterRepo._decide

    async def counted(self, *args, **kwargs):
        decided.append(1)
        return await decide(self, *args, **kwargs)

    monkeypatch.setattr(roster_storage.RosterRepo, "_decide", counted)
    return decided


async def test_another_chats_write_goes_on_while_the_import_goes_through_its_rows(
    repos: Repos, village: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roster_storage, "CHUNK", 100)
    decided = counting_decisions(monkeypatch)
    added = []

    async def progress(done: int, total: int) -> None:
        if done < ROWS and not added:  # going through the rows: a member adds a household
            added.append(await asyncio.wait_for(repos.households.add(village, "别的户主", address="9组"), WAIT))

    result = await repos.roster.import_roster(parse_roster(roster_csv(ROWS), "r.csv"), progress=progress)
    assert added, "the write went through before the import was done deciding"
    assert result.committed and not result.errors and result.households.created == ROWS
    assert len(decided) == 2  # a household came meanwhile: decided again, holding the lock
    assert sum((await repos.households.counts(village)).values()) == ROWS + 1  # no id taken twice
    assert await repos.households.find(village, "别的户主", "9组") is not None
    assert await repos.households.find(village, f"户主{ROWS - 1}", f"{(ROWS - 1) % 9}组") is not None


async def test_an_import_nothing_disturbs_decides_once(repos: Repos, village: int, monkeypatch: pytest.MonkeyPatch) -> None:
    decided = counting_decisions(monkeypatch)
    result = await repos.roster.import_roster(parse_roster(roster_csv(50), "r.csv"))
    assert result.committed and len(decided) == 1
    again = await repos.roster.import_roster(parse_roster(roster_csv(50), "r.csv"))  # unchanged
    assert again.committed and again.households.created == 0 and len(decided) == 2


async def test_a_unit_added_meanwhile_is_seen_by_the_import(repos: Repos, village: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another admin creates the village the file names while the import is deciding: the import
    decides again and puts the households there, creating no second village."""
    monkeypatch.setattr(roster_storage, "CHUNK", 100)
    lines = ["区,乡镇,村,户主"] + [f"示例区,东风镇,新建村,户主{n}" for n in range(300)]
    created = []

    async def progress(done: int, total: int) -> None:
        if not created:
            township = await repos.org.find_unit("东风镇", (await repos.org.find_unit("示例区")).id)
            created.append(await repos.org.add_unit("新建村", "village", township.id))

    result = await repos.roster.import_roster(parse_roster(("\n".join(lines) + "\n").encode(), "r.csv"), progress=progress)
    assert result.committed and not result.errors
    assert len(await repos.org.units_named("新建村")) == 1
    assert sum((await repos.households.counts(created[0].id)).values()) == 300


async def test_reads_beside_the_writing_see_none_of_the_import_until_it_commits(
    repos: Repos, village: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writes go through a connection of their own: a chat's read while they are written is
    not queued behind them and sees the households as they were; after the commit, all of them."""
    monkeypatch.setattr(roster_storage, "CHUNK", 100)
    seen: list[int] = []

    async def progress(done: int, total: int) -> None:
        if done > ROWS:  # writing: some chunks of households are in, not committed
            seen.append(sum((await asyncio.wait_for(repos.households.counts(village), WAIT)).values()))

    result = await repos.roster.import_roster(parse_roster(roster_csv(ROWS), "r.csv"), progress=progress)
    assert result.committed and seen and set(seen) == {0}
    assert sum((await repos.households.counts(village)).values()) == ROWS
