"""The benchmark scripts still run (tiny sizes; their figures are not checked here: speed is
measured by running them in full, never by timed tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

RUNS = [
    ("concurrency.py", ["--users", "4", "--sequential-users", "2", "--latency", "0.001"]),
    ("reports.py", ["--rounds", "2", "--reports", "2", "--users", "2", "--warmup", "1"]),
    ("broadcast.py", ["--groups", "5", "--skip-stock"]),
    ("broadcast_kill.py", ["--groups", "5", "--kills", "1"]),
    ("roster_stall.py", ["--rows", "20", "--columns", "8"]),
    ("notice.py", ["--groups", "3", "--skip-direct"]),
    ("export.py", ["--sizes", "50"]),
    ("crash.py", ["--flows", "report", "--every", "12"]),
    ("scale.py", ["--sizes", "20,30", "--events", "3", "--cache", "cache"]),
    ("admin_stall.py", ["--townships", "2", "--villages", "3", "--households", "5"]),
    ("reader.py", ["--rounds", "1", "--cases", "20"]),
]


@pytest.mark.parametrize(("script", "args"), RUNS, ids=[r[0] for r in RUNS])
def test_benchmark_runs(script: str, args: list[str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
        # this tree's code, not whatever the editable install points at
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stdout.strip()
