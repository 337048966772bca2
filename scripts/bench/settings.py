"""What the benchmark measures with: sizes, repeats, the seed of the run mix, where it writes."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DOCS = ROOT / "docs"
RUN_END_SECS = 3.0
BATCH_SIZES = (1, 10, 100)
BATCH_REPEATS = 5
COLD_START_REPEATS = 31
SIM_RUNS = 1000
SEED = 20261128
#: Time from a message becoming visible to the invocation that gets it (poller + batching window).
SQS_PICKUP_SECS = 1.0
