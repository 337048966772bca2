"""3. Peak memory (RSS) of a 100-record batch, in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from scripts.bench.settings import (
    ROOT,
)

_MEMORY_CHILD = """
import json, resource, sys, uuid
from localdev.event_source import to_lambda_record
from localdev.lambda_context import FakeLambdaContext
import app
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu_before = usage.ru_utime + usage.ru_stime
ids = sys.argv[1:]
event = {"Records": [to_lambda_record({"MessageId": str(uuid.uuid4()), "ReceiptHandle": "rh",
          "Body": json.dumps({"runId": r})}, "arn:aws:sqs:us-east-1:123456789012:bench") for r in ids]}
result = app.lambda_handler(event, FakeLambdaContext(timeout_secs=90))
usage = resource.getrusage(resource.RUSAGE_SELF)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
cpu = usage.ru_utime + usage.ru_stime - cpu_before
print(json.dumps({"before_kb": before, "peak_kb": usage.ru_maxrss, "failures": len(result["batchItemFailures"]),
                  "rss_now_kb": int(status["VmRSS"].split()[0]), "cpu_secs": cpu}))
"""


def bench_memory(sim: Any, env: dict[str, str], endpoint: str) -> dict[str, Any]:
    from localdev.aws import aws_env

    ids = [f"Mem{i:05d}" for i in range(100)]
    sim.add_runs([(run_id, 4.0, {"settle_secs": 0}) for run_id in ids])  # ends while long-polled; then posted
    child_env = {
        **os.environ,
        **env,
        **aws_env(endpoint),
        "SETTLE_SECONDS": "0",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'functions' / 'run_watcher'}:{ROOT / 'layers' / 'run_notifier'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, *ids],
        env=child_env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "import_mb": data["before_kb"] / 1024,
        "peak_mb": data["peak_kb"] / 1024,
        "failures": data["failures"],
        "rss_after_mb": data["rss_now_kb"] / 1024,
        "cpu_secs": data["cpu_secs"],
    }
