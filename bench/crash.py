"""Kill the real bot (SIGKILL) right after every reply of a whole /report and /visit.

Usage: ``python bench/crash.py [--flows report,visit] [--every N]``

Runs :func:`bot.crashdrill.drill` for each flow: the bot as a process over the local Bot API
server, killed the moment each step's first reply reaches the server (before the bot hears
the answer), then restarted; compared with the same conversation run in process without
faults. Printed per flow: kills tried, steps lost (never made durable), steps whose answers
differ from the fault-free run (an answer in the wrong step), records saved (expected 1),
whether the saved draft was offered again, updates Telegram delivered more than once, and the
time from a restart to the killed step being done (min/median/max; it includes the start-up
of a Python process).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.crashdrill import FLOWS, drill  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flows", default="report,visit", help="comma-separated: report, visit")
    parser.add_argument("--every", type=int, default=1, help="kill after every N-th step (default 1: all)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    failed = False
    print(f"{'flow':8} {'steps':>5} {'kills':>5} {'lost':>5} {'wrong':>5} {'records':>7} {'re-offer':>8}"
          f" {'redeliv':>7}   catch-up s (min/median/max)")
    for flow in args.flows.split(","):
        steps, _ = FLOWS[flow]
        with tempfile.TemporaryDirectory() as tmp:
            _, r = await drill(flow, Path(tmp), kill_at=range(0, len(steps), args.every))
        spread = (
            f"{min(r.catch_up):.2f} / {statistics.median(r.catch_up):.2f} / {max(r.catch_up):.2f}"
            if r.catch_up else "-"
        )
        print(f"{flow:8} {r.steps:5} {r.kills:5} {len(r.lost_steps):5} {len(r.wrong_steps):5} {r.records:7}"
              f" {'yes' if r.draft_offered_again else 'no':>8} {r.redelivered:7}   {spread}")
        failed |= bool(r.lost_steps or r.wrong_steps or r.records != 1 or r.draft_offered_again)
    if failed:
        sys.exit("something was lost, doubled or offered again")


if __name__ == "__main__":
    asyncio.run(main())
