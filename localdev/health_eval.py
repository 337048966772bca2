"""How well the health checks judge: the fixture's 500 runs through `domain.health.judge`, in order.

`python -m localdev.health_eval` (or `make health-eval`) replays each Actor's runs as the watcher
would meet them: each judged against the runs before it, with their own judgements (flags) kept,
and prints recall of the injected outliers per metric, false WARNs on normal runs, and WARNs after
the level shift. Exit 1 when a target is missed (tests/unit/test_health_eval.py runs it).
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from run_notifier.domain.health import WARN, Expectation, Measured, PastRun, judge

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "health_runs.json"
#: Runs the product reads per judgement (the history query's page).
READ = 40


def evaluate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    history: dict[str, list[PastRun]] = defaultdict(list)
    caught: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    false_warns: list[str] = []
    after_shift: list[str] = []
    normal = 0
    for run in runs:
        measured = Measured(run["items"], run["durationSecs"], run["usd"])
        health = judge(measured, Expectation(), history[run["actor"]][-READ:])
        history[run["actor"]].append(PastRun(measured, health.flags()))
        failed = {c.name.removeprefix("anomaly:") for c in health.checks if c.failed}
        where = f"{run['actor']} #{run['index']}"
        if run["outlier"]:
            injected[run["outlier"]] += 1
            caught[run["outlier"]] += run["outlier"] in failed
        elif run["afterShift"]:
            after_shift += [where] if health.verdict == WARN else []
        else:
            normal += 1
            false_warns += [f"{where} ({', '.join(sorted(failed))})"] if health.verdict == WARN else []
    return {
        "recall": {metric: (caught[metric], injected[metric]) for metric in injected},
        "normal": normal,
        "false_warns": false_warns,
        "after_shift": after_shift,
    }


def main() -> int:
    if not FIXTURE.exists():
        print(f"no fixture at {FIXTURE} (python -m localdev.health_fixture --write)")
        return 1
    result = evaluate(json.loads(FIXTURE.read_text())["runs"])
    print("| measure (5 Actors × 100 runs) | result | target |\n|---|---|---|")
    ok = True
    for metric, (got, of) in sorted(result["recall"].items()):
        print(f"| injected {metric} outliers flagged | {got} of {of} ({100 * got / of:.0f} %) | 100 % |")
        ok = ok and got == of
    per_100 = 100 * len(result["false_warns"]) / result["normal"]
    warns = len(result["false_warns"])
    print(f"| false WARNs on normal runs | {warns} of {result['normal']} ({per_100:.2f} per 100) | ≤ 1 per 100 |")
    print(f"| WARNs after the level shift | {len(result['after_shift'])} | ≤ 2 |")
    for where in result["false_warns"] + result["after_shift"]:
        print(f"  WARN: {where}")
    ok = ok and per_100 <= 1 and len(result["after_shift"]) <= 2
    print(f"\nhealth evaluation: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
