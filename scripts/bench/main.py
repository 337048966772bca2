"""`make bench` (`python -m scripts.bench`): measure, then write docs/performance.md and .png."""

from __future__ import annotations

import resource
import time
import uuid

from run_notifier.config import load_settings  # the one table of defaults

from scripts.bench import costs as bench_costs
from scripts.bench import push as bench_push
from scripts.bench.batches import bench_batches
from scripts.bench.cold_start import bench_cold_start
from scripts.bench.deadline import bench_deadline
from scripts.bench.memory import bench_memory
from scripts.bench.mix import bench_simulation
from scripts.bench.plot import plot
from scripts.bench.report import intake_memory_gb, template_numbers, write_report
from scripts.bench.settings import (
    DOCS,
    SEED,
    SQS_PICKUP_SECS,
)
from scripts.bench.stack import local_stack


def main() -> int:
    started = time.monotonic()
    memory_gb, timeout = template_numbers()
    moto, endpoint, aws, _resources, sim, receiver, env = local_stack()
    try:
        print("batch concurrency ...", flush=True)
        batches = bench_batches(sim, env)
        print("peak memory ...", flush=True)
        posted_before = len(receiver.messages)
        memory = bench_memory(sim, env, endpoint)
        memory["posted"] = len(receiver.messages) - posted_before
        print(f"push: {bench_push.PIPELINE_RUNS} runs through the local pipeline ...", flush=True)
        from localdev.aws import create_resources

        fresh = create_resources(aws, prefix=f"push{uuid.uuid4().hex[:6]}")  # no leftovers from the batches
        push_env = {**env, "RUNS_TABLE_NAME": fresh.table_name, "RUN_QUEUE_URL": fresh.queue_url}
        pipeline = bench_push.bench_push_pipeline(sim, push_env, fresh, receiver, aws)
    finally:
        sim.stop()
        receiver.stop()
        moto.stop()
    print("cold start ...", flush=True)
    cold = bench_cold_start()
    print("deadlines against dripping servers ...", flush=True)
    deadline = bench_deadline()
    print("simulation ...", flush=True)
    simulation = bench_simulation(batches["poll_overhead"], batches["finish_overhead"], memory_gb, timeout)
    simulation["push"] = bench_push.bench_push_simulation(
        simulation["durations"],
        load_settings({"RUNS_TABLE_NAME": "bench", "RUN_QUEUE_URL": "bench"}).schedule,
        batches["poll_overhead"],
        batches["finish_overhead"],
        pipeline["intake_secs"],
        SQS_PICKUP_SECS,
        memory_gb,
        SEED + 1,
        load_settings({"RUNS_TABLE_NAME": "bench", "RUN_QUEUE_URL": "bench"}).max_watch_seconds,
        timeout,
    )
    simulation["pipeline"] = pipeline
    simulation["costs"] = bench_costs.cost_table(
        pipeline["aws_calls"],
        pipeline["runs"],
        pipeline["item_kb"],
        simulation["push"]["push"],
        pipeline["intake_secs"],
        intake_memory_gb(),
        pipeline["intake_calls"] / pipeline["runs"],
        pipeline["ttl_days"],
        sum(simulation["durations"]) / len(simulation["durations"]) / 3600,
        max(load_settings({"RUNS_TABLE_NAME": "bench", "RUN_QUEUE_URL": "bench"}).schedule.safety_net_delays_secs),
        batches["poll_overhead"] * memory_gb,
    )
    DOCS.mkdir(exist_ok=True)
    plot(simulation, DOCS / "performance.png")
    report = write_report(batches, cold, memory, simulation, memory_gb, time.monotonic() - started, deadline)
    (DOCS / "performance.md").write_text(report)
    print(report.split("## Batch concurrency")[0])
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0
