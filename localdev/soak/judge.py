"""Whether the soak's workers leaked: from its samples, live or saved.

`python -m localdev.soak.judge /tmp/.../soak.json` re-judges a saved run.

Memory: each worker's RSS from the end of the warm-up to the last sample while runs arrived must
grow by at most `max_growth_mb`. FDs and threads: "flat" is the floor (the fewest in a window of
`WINDOW` samples) of the last window within a tolerance of the first window's. Connections in
flight move FDs sample to sample, and pooled keep-alive connections fill up to the concurrency
peaks seen (bounded by the pools' sizes); a leak raises the floor with every run.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from localdev.soak.sampler import ProcessSample

FD_TOLERANCE = 5
THREAD_TOLERANCE = 2
WINDOW = 10


@dataclass
class Row:
    t: float
    started: int
    announced: int
    items: int
    queued: int
    workers: list[ProcessSample]


class Health(NamedTuple):
    ok: bool
    lines: list[str]


def judge(rows: list[Row], config: Any) -> Health:
    steady = [r for r in rows if r.t >= config.warmup_minutes * 60] or rows[-1:]
    # Until the last run arrived: after that the workers idle, which is not steady state.
    loaded = [r for r in steady if r.t <= config.minutes * 60] or steady
    first, last = loaded[0], loaded[-1]
    window = max(1, min(WINDOW, len(loaded) // 2))
    lines, ok = [], True
    for w, (a, b) in enumerate(zip(first.workers, last.workers, strict=True)):
        growth = b.rss_mb - a.rss_mb
        floors = {
            measure: (
                min(getattr(r.workers[w], measure) for r in loaded[:window]),
                min(getattr(r.workers[w], measure) for r in loaded[-window:]),
            )
            for measure in ("fds", "threads")
        }
        fds, threads = floors["fds"], floors["threads"]
        worker_ok = (
            growth <= config.max_growth_mb
            and fds[1] <= fds[0] + FD_TOLERANCE
            and threads[1] <= threads[0] + THREAD_TOLERANCE
        )
        ok &= worker_ok
        span = [r.workers[w].fds for r in loaded]
        lines.append(
            f"| worker {w}, {first.t / 60:.0f} -> {last.t / 60:.0f} min | RSS {a.rss_mb:.1f} -> {b.rss_mb:.1f} MB "
            f"({growth:+.1f} MB); FDs {min(span)}-{max(span)}, floor {fds[0]} -> {fds[1]}; threads floor "
            f"{threads[0]} -> {threads[1]}: {'flat' if worker_ok else 'LEAKING'} |"
        )
    return Health(ok, lines)


def main(path: str) -> int:
    saved = json.loads(Path(path).read_text())

    class Config(NamedTuple):
        minutes: float
        warmup_minutes: float
        max_growth_mb: float

    config = Config(**{k: saved["config"][k] for k in Config._fields})
    rows = [Row(**{**r, "workers": [ProcessSample(*w) for w in r["workers"]]}) for r in saved["rows"]]
    health = judge(rows, config)
    print("\n".join(health.lines))
    print(f"workers: {'flat' if health.ok else 'LEAKING'}")
    return 0 if health.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
