"""4. The run mix: the product's own RunWatcher on a virtual clock (localdev/virtual_watch.py), beside
models of the alternatives (a blocking waiter, fixed polling), and a sweep of the re-enqueue cap."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from run_notifier.config import load_settings  # the one table of defaults
from run_notifier.domain.schedules import Schedule  # the real scheduling code, imported

from localdev.virtual_watch import Costs, RunResult, simulate
from scripts.bench.push import LAMBDA_GB_S_USD, LAMBDA_REQUEST_USD, SQS_REQUEST_USD
from scripts.bench.push import percentile as _pct
from scripts.bench.settings import (
    SEED,
    SIM_RUNS,
    SQS_PICKUP_SECS,
)


@dataclass
class RunCost:
    latency: float
    api_calls: int
    sqs_messages: int
    invocations: int
    billed_secs: float
    ended_during_long_poll: bool


def simulate_blocking(duration: float) -> RunCost:
    """A worker that holds `waitForFinish` (60 s) loops until the end, like `wait_for_finish`."""
    calls = max(1, math.ceil(duration / 60))
    return RunCost(0.05, calls, 1, max(1, math.ceil(duration / 900)), duration, False)


def simulate_fixed_polling(
    duration: float, poll_overhead: float, finish_overhead: float, every: float = 60.0
) -> RunCost:
    t, calls, messages = SQS_PICKUP_SECS, 0, 1
    while True:
        calls += 1
        if duration <= t:
            return RunCost(
                t - duration + finish_overhead, calls, messages, calls, calls * poll_overhead + finish_overhead, False
            )
        messages += 1
        t += poll_overhead + every + SQS_PICKUP_SECS


def summarize(
    name: str, costs: Sequence[RunCost | RunResult], durations: list[float], memory_gb: float
) -> dict[str, Any]:
    run_hours = sum(durations) / 3600
    latencies = sorted(c.latency for c in costs)
    polled = sorted(c.latency for c in costs if c.ended_during_long_poll)
    gb_s = sum(c.billed_secs for c in costs) * memory_gb
    calls = sum(c.api_calls for c in costs)
    invocations = sum(c.invocations for c in costs)
    sqs_requests = sum(c.sqs_messages for c in costs) * 3  # send + receive + delete
    usd = gb_s * LAMBDA_GB_S_USD + invocations * LAMBDA_REQUEST_USD + sqs_requests * SQS_REQUEST_USD
    return {
        "name": name,
        "p50": _pct(latencies, 50),
        "p95": _pct(latencies, 95),
        "max": latencies[-1],
        "p95_polled": _pct(polled, 95) if polled else None,
        "polled_runs": len(polled),
        "gb_s_per_run_hour": gb_s / run_hours,
        "calls_per_run_hour": calls / run_hours,
        "usd_per_1000_runs": usd * 1000 / len(costs),
        "memory_gb": memory_gb,
    }


def bench_simulation(poll_overhead: float, finish_overhead: float, memory_gb: float, timeout: float) -> dict[str, Any]:
    rng = random.Random(SEED)
    durations = [math.exp(rng.uniform(math.log(10), math.log(24 * 3600))) for _ in range(SIM_RUNS)]
    settings = load_settings({"RUNS_TABLE_NAME": "bench", "RUN_QUEUE_URL": "bench"})
    default = settings.schedule
    costs = Costs(poll_overhead, finish_overhead, 0.0, SQS_PICKUP_SECS)

    def watched(schedule: Schedule) -> list[RunResult]:
        """The mix through the product's own RunWatcher on a virtual clock (localdev/virtual_watch.py)."""
        return simulate(durations, schedule, costs, timeout_secs=timeout, max_watch_secs=settings.max_watch_seconds)

    ours = summarize("notifier (defaults)", watched(default), durations, memory_gb)
    blocking = summarize("blocking waiter (128 MB)", [simulate_blocking(d) for d in durations], durations, 0.125)
    fixed = summarize(
        "fixed polling every 60 s",
        [simulate_fixed_polling(d, poll_overhead, finish_overhead) for d in durations],
        durations,
        memory_gb,
    )
    sweep = []
    for cap in (15, 30, 45, 60, 62, 90, 120, 300, 900):
        for first_wait in (60, 0):
            schedule = default._replace(
                max_requeue_delay_secs=cap,
                requeue_delays_secs=tuple(min(d, cap) for d in (5, 20, 40, 60, 120, 300, 900)),
                long_poll_secs=(first_wait, 0),
            )
            row = summarize(f"cap {cap} s, first wait {first_wait} s", watched(schedule), durations, memory_gb)
            row.update(cap=cap, first_wait=first_wait)
            sweep.append(row)
    return {
        "ours": ours,
        "blocking": blocking,
        "fixed": fixed,
        "sweep": sweep,
        "durations": durations,
        "settle": default.settle_secs,
    }
