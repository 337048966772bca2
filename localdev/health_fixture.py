"""The health checks' evaluation data: 5 Actors × 100 SUCCEEDED runs with realistic noise.

`python -m localdev.health_fixture --write` regenerates `tests/fixtures/health_runs.json` (a fixed
seed: the file is data, committed, and the evaluation reads it as it is):

- a run every 6 hours (100 runs ≈ 25 days), durations log-normal around each Actor's own median,
  items with a weekend dip (Saturday and Sunday about 35 % fewer) and noise, cost proportional to
  compute (duration) plus proxy traffic (items), with noise;
- 3 injected outliers per metric per Actor, labelled: items (0, or a few % of the usual), duration
  (4–8× the usual: a hang; its cost follows), cost (6–10× with items and duration as usual: a
  proxy or loop cost spike);
- one level shift: from run 60 on, `shop-scraper`'s normal doubles (items, duration and cost).
"""

from __future__ import annotations

import argparse
import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "health_runs.json"
SEED = 20261202
RUNS = 100
#: (Actor, median items, median duration s, USD per second (memory: about $0.3 per GB-hour), USD per
#: item (proxy traffic))
ACTORS = [
    ("demo/shop-scraper", 1200, 600, 0.00033, 0.00002),  # 4 GB browser
    ("demo/news-feed", 300, 180, 0.00008, 0.00001),  # 1 GB
    ("demo/price-watch", 50, 90, 0.00017, 0.0002),  # 2 GB, residential proxy
    ("demo/catalog-crawl", 5000, 2400, 0.00033, 0.000005),  # 4 GB
    ("demo/api-poller", 20, 120, 0.00008, 0.0004),  # 1 GB, paid API per item
]
SHIFTED = "demo/shop-scraper"
SHIFT_AT = 60
#: Where the outliers go (after the first 20 runs, apart from each other and from the shift).
OUTLIER_SLOTS = {"items": (24, 47, 83), "duration": (31, 55, 91), "cost": (38, 72, 96)}
START = datetime(2026, 10, 1, tzinfo=UTC)


def generate() -> list[dict[str, object]]:
    rng = random.Random(SEED)
    runs: list[dict[str, object]] = []
    for offset, (actor, items, duration, per_sec, per_item) in enumerate(ACTORS):
        for index in range(RUNS):
            at = START + timedelta(hours=6 * index, minutes=7 * offset)
            level = 2.0 if actor == SHIFTED and index >= SHIFT_AT else 1.0
            weekend = 0.65 if at.weekday() >= 5 else 1.0
            n_items = max(0, round(items * level * weekend * math.exp(rng.gauss(0, 0.12))))
            secs = duration * level * math.exp(rng.gauss(0, 0.2))
            outlier = next((m for m, slots in OUTLIER_SLOTS.items() if index in slots), None)
            if outlier == "items":
                n_items = 0 if rng.random() < 0.5 else round(n_items * rng.uniform(0.01, 0.05))
            elif outlier == "duration":
                secs *= rng.uniform(4, 8)
            usd = (secs * per_sec + n_items * per_item) * math.exp(rng.gauss(0, 0.05))
            if outlier == "cost":
                usd *= rng.uniform(6, 10)
            runs.append(
                {
                    "actor": actor,
                    "index": index,
                    "finishedAt": at.isoformat().replace("+00:00", "Z"),
                    "items": n_items,
                    "durationSecs": round(secs, 1),
                    "usd": round(usd, 5),
                    "outlier": outlier,
                    "afterShift": actor == SHIFTED and index >= SHIFT_AT,
                }
            )
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {FIXTURE.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    lines = ",\n".join(json.dumps(run, separators=(",", ":")) for run in generate())
    header = json.dumps({"seed": SEED, "shiftAt": SHIFT_AT, "shifted": SHIFTED})[:-1]
    text = f'{header}, "runs": [\n{lines}\n]}}'

    if args.write:
        FIXTURE.write_text(text + "\n")
        print(f"wrote {FIXTURE.relative_to(ROOT)}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
