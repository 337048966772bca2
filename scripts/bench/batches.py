"""1. Batch concurrency: one invocation for 1, 10 and 100 records whose runs all end 3 s in."""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import time
from typing import Any

from localdev.lambda_paths import load_app
from scripts.bench.settings import (
    BATCH_REPEATS,
    BATCH_SIZES,
    RUN_END_SECS,
)
from scripts.bench.stack import sqs_event


def bench_batches(sim: Any, env: dict[str, str]) -> dict[str, Any]:
    import logging

    from localdev.lambda_context import FakeLambdaContext

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.update(env)
    app = load_app("RunWatcherFunction")
    walls: dict[int, list[float]] = {n: [] for n in BATCH_SIZES}
    for repeat in range(BATCH_REPEATS):
        for n in BATCH_SIZES:
            ids = [f"B{repeat}x{n}x{i:05d}" for i in range(n)]
            sim.add_runs([(run_id, RUN_END_SECS, {}) for run_id in ids])
            started = time.monotonic()
            with contextlib.redirect_stdout(io.StringIO()):  # the handler's EMF metric lines
                result = app.lambda_handler(sqs_event(ids), FakeLambdaContext(timeout_secs=90))
            walls[n].append(time.monotonic() - started)
            assert result == {"batchItemFailures": []}, result
    # The finish path (run already ended and settled): read, DynamoDB write, Slack post.
    finish = []
    os.environ["SETTLE_SECONDS"] = "0"
    import importlib

    app = importlib.reload(app)
    for repeat in range(BATCH_REPEATS):
        run_id = f"Fin{repeat:05d}"
        sim.add_runs([(run_id, 0.0, {"settle_secs": 0})])
        started = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):
            app.lambda_handler(sqs_event([run_id]), FakeLambdaContext(timeout_secs=90))
        finish.append(time.monotonic() - started)
    medians = {n: statistics.median(v) for n, v in walls.items()}
    return {
        "walls": walls,
        "median": medians,
        "ratio": {n: medians[n] / medians[1] for n in BATCH_SIZES},
        "poll_overhead": max(0.01, medians[1] - RUN_END_SECS),
        "finish_overhead": statistics.median(finish),
    }
