"""The one-message reader (bot/rules/reader.py) on the hand-written cases of
tests/data/reader_cases.json: per-field scores, the share of fields it invented, and the median
time per message, against a baseline measured in the same run (folding the text and finding its
numbers with one regex: the least any reader must do).

    python bench/reader.py              # every case, 20 rounds
    python bench/reader.py --rounds 1   # quick

The scoring functions are shared with tests/bot/rules/test_reader.py.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.rules.reader import Household, ReaderContext, Reading, read  # noqa: E402

CASES = ROOT / "tests" / "data" / "reader_cases.json"
HELD_OUT = ROOT / "tests" / "data" / "reader_cases_heldout.json"
BLIND = ROOT / "tests" / "data" / "reader_cases_blind.json"
# Fields whose value is free text: right when the two agree after folding, or when one contains
# the other and is at least half as long (a place "主街" for "主街两侧").
TEXT_FIELDS = {"place", "concern"}
SET_FIELDS = {"categories", "roles"}


def load(path: Path = CASES) -> tuple[list[dict[str, Any]], dict[str, ReaderContext]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    now = datetime.fromisoformat(doc["now"])
    contexts = {
        name: ReaderContext(
            now=now,
            villages=tuple(c.get("villages", ())),
            households=tuple(Household(i, head) for i, head in c.get("households", ())),
        )
        for name, c in doc["contexts"].items()
    }
    return doc["cases"], contexts


def _fold(text: str) -> str:
    return re.sub(r"[\s,,。;;:::、!!??\"“”'‘’]", "", unicodedata.normalize("NFKC", str(text)))


def same(name: str, got: Any, want: Any) -> bool:
    if name in SET_FIELDS:
        return set(got) == set(want)
    if name in TEXT_FIELDS:
        a, b = _fold(got), _fold(want)
        if a == b:
            return True
        short, long_ = sorted((a, b), key=len)
        return bool(short) and short in long_ and len(short) * 2 >= len(long_)
    return got == want


def fields_of(reading: Reading) -> dict[str, Any]:
    values = reading.values()
    return {k: v for k, v in values.items() if v not in (None, [], {})}


def score(cases: list[dict[str, Any]], contexts: dict[str, ReaderContext]) -> dict[str, Any]:
    """Per field: how many cases state it, how many the reader got right, and how many fields
    the reader filled that the case does not state (invented)."""
    per: dict[str, list[int]] = {}  # name -> [stated, right]
    invented: list[tuple[int, str, Any]] = []
    wrong: list[tuple[int, str, Any, Any]] = []
    kinds_right = 0
    filled = 0
    for case in cases:
        reading = read(case["text"], contexts[case["ctx"]])
        got = fields_of(reading)
        kinds_right += reading.kind == case["kind"]
        want = case["expect"]
        for name, value in want.items():
            entry = per.setdefault(name, [0, 0])
            entry[0] += 1
            if name in got and same(name, got[name], value):
                entry[1] += 1
            else:
                wrong.append((case["id"], name, got.get(name), value))
        for name, value in got.items():
            filled += 1
            if name not in want:
                invented.append((case["id"], name, value))
            elif isinstance(value, dict) and isinstance(want[name], dict):
                extra = set(value) - set(want[name])
                if extra:
                    invented.append((case["id"], f"{name}.{'/'.join(sorted(extra))}", value))
    stated = sum(v[0] for v in per.values())
    right = sum(v[1] for v in per.values())
    return {
        "cases": len(cases),
        "per_field": per,
        "fields_right": right / stated if stated else 1.0,
        "stated": stated,
        "right": right,
        "kinds_right": kinds_right / len(cases) if cases else 1.0,
        "filled": filled,
        "invented": invented,
        "not_invented": 1 - len(invented) / filled if filled else 1.0,
        "wrong": wrong,
    }


def _baseline(text: str) -> int:
    return len(re.findall(r"[0-9]+", unicodedata.normalize("NFKC", text)))


def timings(cases: list[dict[str, Any]], contexts: dict[str, ReaderContext], rounds: int) -> tuple[float, float]:
    """Median seconds per message: (reader, baseline)."""
    reader_times: list[float] = []
    base_times: list[float] = []
    for _ in range(rounds):
        for case in cases:
            ctx = contexts[case["ctx"]]
            t0 = time.perf_counter()
            read(case["text"], ctx)
            t1 = time.perf_counter()
            _baseline(case["text"])
            t2 = time.perf_counter()
            reader_times.append(t1 - t0)
            base_times.append(t2 - t1)
    return statistics.median(reader_times), statistics.median(base_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--cases", type=int, default=0, help="only the first N cases (0: all)")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument(
        "--cases-file", type=Path, default=None,
        help="another case file (default: both reader_cases.json and the held-out set)",
    )
    args = parser.parse_args()
    if args.cases_file is None:
        for label, path in (("held-out set", HELD_OUT), ("blind set, never tuned on", BLIND)):
            extra_cases, extra_contexts = load(path)
            extra = score(extra_cases, extra_contexts)
            print(
                f"{label} ({path.relative_to(ROOT)}, {extra['cases']} messages written after the"
                f" reader): fields right {extra['fields_right']:.1%},"
                f" never invents {extra['not_invented']:.1%}"
            )
    cases, contexts = load(args.cases_file or CASES)
    if args.cases:
        cases = cases[: args.cases]
    result = score(cases, contexts)
    print(f"reader on {result['cases']} hand-written messages ({args.cases_file or CASES.relative_to(ROOT)})")
    print(f"{'field':<12}{'stated':>8}{'right':>8}{'score':>8}")
    for name, (stated, right) in sorted(result["per_field"].items()):
        print(f"{name:<12}{stated:>8}{right:>8}{right / stated:>8.1%}")
    print(f"all fields: {result['right']}/{result['stated']} right = {result['fields_right']:.1%}")
    print(f"kind (report / visit / neither) right: {result['kinds_right']:.1%}")
    print(
        f"never invents: {result['filled'] - len(result['invented'])}/{result['filled']} filled fields"
        f" were stated = {result['not_invented']:.1%}"
    )
    if args.show_misses:
        for miss in result["wrong"]:
            print("  wrong", miss)
        for extra in result["invented"]:
            print("  invented", extra)
    reader_s, base_s = timings(cases, contexts, max(1, args.rounds))
    long_text = "".join(c["text"] for c in cases)[:2000]
    t0 = time.perf_counter()
    read(long_text, contexts["member"] if "member" in contexts else next(iter(contexts.values())))
    print(f"one message of {len(long_text)} characters (the cases run together): {(time.perf_counter() - t0) * 1000:.1f} ms")
    print(
        f"median time per message: reader {reader_s * 1000:.3f} ms, baseline (fold + find numbers)"
        f" {base_s * 1000:.4f} ms, ratio {reader_s / base_s if base_s else float('inf'):.0f}x (target < 5 ms)"
    )


if __name__ == "__main__":
    main()
