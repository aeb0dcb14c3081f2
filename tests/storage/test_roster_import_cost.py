"""The roster import's cost grows with the rows only linearly: its SQL round trips do not grow
with the rows at all (set-based reads, executemany in chunks), counted, never timed."""

from __future__ import annotations

from pathlib import Path

import pytest

import storage.roster as roster_storage
from bot.rules.roster import parse_roster
from storage import Database, Repos


def village(n: int) -> str:
    return "村" + "".join(d * 2 for d in str(n))  # no two one character apart


def roster_csv(rows: int, *, phone: str = "") -> bytes:
    lines = ["区,乡镇,村,户主,地址,电话,联户党员"]
    for n in range(rows):
        lines.append(f"示例区,东风镇,{village(n % 40)},户主{n},{n % 9}组,{phone},党员{n % 50}")
    return ("\n".join(lines) + "\n").encode()


async def statements(repos: Repos, data: bytes) -> int:
    result = await repos.roster.import_roster(parse_roster(data, "r.csv"))
    assert result.committed and not result.errors
    return repos.roster.statements


async def test_round_trips_do_not_grow_with_the_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the chunks (one round trip per CHUNK rows written, set large here), none per row."""
    monkeypatch.setattr(roster_storage, "CHUNK", 10_000)
    counts = []
    for rows in (100, 1500):
        db = await Database.open(tmp_path / f"{rows}.db")
        try:
            repos = Repos.over(db)
            new = await statements(repos, roster_csv(rows))
            again = await statements(repos, roster_csv(rows))  # nothing changes
            changed = await statements(repos, roster_csv(rows, phone="13900000001"))  # every household
            counts.append((new, again, changed))
        finally:
            await db.close()
    assert counts[0] == counts[1], counts


async def test_more_rows_than_a_chunk_are_written_in_chunks(repos: Repos, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(roster_storage, "CHUNK", 100)
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    result = await repos.roster.import_roster(parse_roster(roster_csv(350), "r.csv"), progress=progress)
    assert result.committed and result.households.created == 350
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and {t for _, t in seen} == {700}
    assert seen[:3] == [(100, 700), (200, 700), (300, 700)] and seen[-1] == (700, 700)
    again = await repos.roster.import_roster(parse_roster(roster_csv(350), "r.csv"))
    assert again.households.unchanged == 350 and not again.changed
