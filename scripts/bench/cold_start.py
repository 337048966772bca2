"""2. Cold start: a fresh interpreter importing the handler against `import boto3` with the same clients."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from typing import Any

from scripts.bench.settings import (
    COLD_START_REPEATS,
    ROOT,
)

_COLD_HANDLER = """
import time
t = time.perf_counter()
import app
print(time.perf_counter() - t)
"""
_COLD_POWERTOOLS = """
import time
t = time.perf_counter()
import aws_lambda_powertools.utilities.batch, aws_lambda_powertools.logging, aws_lambda_powertools.metrics
print(time.perf_counter() - t)
"""
_COLD_BASELINE = """
import time
t = time.perf_counter()
import boto3
session = boto3.session.Session()
session.client("sqs"); session.client("dynamodb")
print(time.perf_counter() - t)
"""


def bench_cold_start() -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'functions' / 'run_watcher'}:{ROOT / 'layers' / 'run_notifier'}",
        "RUNS_TABLE_NAME": "t",
        "RUN_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    samples: dict[str, list[float]] = {"handler": [], "baseline": [], "powertools": []}
    codes = (("handler", _COLD_HANDLER), ("baseline", _COLD_BASELINE), ("powertools", _COLD_POWERTOOLS))
    for _, code in codes:  # warm the bytecode caches once
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    for _ in range(COLD_START_REPEATS):
        for name, code in codes:
            out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
            samples[name].append(float(out.stdout.strip().splitlines()[-1]))
    handler, baseline = statistics.median(samples["handler"]), statistics.median(samples["baseline"])
    # Each handler sample is taken right beside a baseline sample: the median of those paired ratios
    # cancels the machine's drift better than a ratio of two medians. Both are reported.
    paired = statistics.median(h / b for h, b in zip(samples["handler"], samples["baseline"], strict=True))
    return {
        "handler": handler,
        "baseline": baseline,
        "ratio": paired,
        "ratio_of_medians": handler / baseline,
        "samples": samples,
        "powertools": statistics.median(samples["powertools"]),
    }
