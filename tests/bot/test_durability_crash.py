"""SIGKILL the real bot process right after a reply, restart it: nothing lost, nothing doubled.

The bot runs as ``python -m bot run`` against the local Bot API server (bot/apiserver.py); it
is killed the moment a chosen step's first reply reaches the server, before the bot hears the
answer (so before its state could be flushed), and restarted. Each step's answers must equal
those of the same conversation run in process without faults (consecutive repeats aside: a
step handled again may send its screen again), exactly one record is saved, and /report or
/visit afterwards starts afresh. CI kills at a few steps of each flow (the place answer of the
issue, a button, the save); ``bench/crash.py`` kills after every reply of both flows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.crashdrill import REPORT, VISIT, drill


@pytest.mark.parametrize(
    ("flow", "kill_at"),
    [
        ("report", [1, 4, 10]),  # 昨天 (a button), the place (a text), 保存
        ("visit", [9]),  # 保存
    ],
)
async def test_kill_after_a_reply_loses_and_doubles_nothing(flow: str, kill_at: list[int], tmp_path: Path) -> None:
    steps = REPORT if flow == "report" else VISIT
    reference, crashed = await drill(flow, tmp_path, kill_at=kill_at, step_timeout=20)
    assert crashed.kills == len(kill_at)
    assert crashed.lost_steps == []
    for i, (want, got) in enumerate(zip(reference.transcript, crashed.transcript, strict=True)):
        assert got == want, f"step {i} {steps[i]}: {got} != {want}"
    assert crashed.wrong_steps == []
    assert crashed.records == 1
    assert not crashed.draft_offered_again
