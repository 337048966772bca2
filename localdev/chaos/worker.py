"""One chaos worker: a "Lambda container" with the real handler, fed by its own SQS poller, that
journals its claims and rejections from the product's events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from localdev.lambda_paths import as_in_lambda


def spawn_worker(spec: dict[str, Any], journal: Path, log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start a worker process (`python -m localdev.chaos --worker SPEC`) with its own journal and log."""
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "localdev.chaos", "--worker", json.dumps({**spec, "journal": str(journal)})],
            cwd=cwd,
            env={**os.environ, **spec["env"]},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def worker_main(settings_json: str) -> None:
    spec = json.loads(settings_json)
    os.environ.update(spec["env"])
    as_in_lambda("RunWatcherFunction")
    import boto3
    from run_notifier.config import load_settings
    from run_notifier.domain import events as e
    from run_notifier.observability import events
    from run_notifier.sqs_handler import make_handler
    from run_notifier.wiring import build_components

    from localdev.event_source import EventSource

    journal = open(spec["journal"], "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    def note(line: str) -> None:
        journal.write(line + "\n")

    def journal_event(event: Any) -> None:
        """The product's own events: the claims this worker holds, and the messages it rejected."""
        match event:
            case e.ClaimTaken(run_id=run_id, destination=kind):
                note(f"claim {run_id} {kind}")
            case e.ClaimClosed(run_id=run_id, destination=kind):
                note(f"close {run_id} {kind}")
            case e.MessageRejected():
                note(f"rejected {event.message_id} {json.dumps(event.reason)}")

    events.subscribe(journal_event)

    handler = make_handler(build_components(load_settings()))
    poller = boto3.session.Session(region_name="us-east-1").client("sqs", endpoint_url=spec["moto"])
    source = EventSource(
        poller, spec["queue_url"], spec["queue_arn"], handler, timeout_secs=spec["function_timeout"], batch_size=10
    )
    while True:
        note("invoke")
        source.poll_once(wait_secs=1)
        source.invocations.clear()  # the harness keeps no history: a soak measures the product's memory
        note("idle")
