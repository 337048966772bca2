#!/usr/bin/env python3
"""Put Apify run IDs on the watch queue, for your own scripts and schedulers.

    python scripts/enqueue.py --stack-name apify-run-notifier RUN_ID [RUN_ID ...]
    python scripts/enqueue.py --queue-url https://sqs.../RunQueue RUN_ID
    echo RUN_ID | python scripts/enqueue.py --queue-url ... -

IDs are checked with the same rule the watcher uses (1-64 of [A-Za-z0-9]) before sending.
Exit code 0 when every ID was enqueued, 1 when any failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "run_notifier"))

from run_notifier.domain.watch_request import InvalidMessage, validate_run_id

QUEUE_OUTPUT = "RunQueueUrl"


def queue_url_from_stack(cloudformation: Any, stack_name: str) -> str:
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    for output in stacks[0].get("Outputs", []):
        if output["OutputKey"] == QUEUE_OUTPUT:
            return str(output["OutputValue"])
    raise SystemExit(f"stack {stack_name} has no {QUEUE_OUTPUT} output")


def enqueue(sqs: Any, queue_url: str, run_ids: list[str]) -> list[tuple[str, str]]:
    """Send in batches of 10; return (run ID, reason) for each that failed."""
    failed: list[tuple[str, str]] = []
    for start in range(0, len(run_ids), 10):
        chunk = run_ids[start : start + 10]
        response = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "MessageBody": json.dumps({"runId": r})} for i, r in enumerate(chunk)],
        )
        failed += [(chunk[int(f["Id"])], f.get("Message", f.get("Code", "failed"))) for f in response.get("Failed", [])]
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Put Apify run IDs on the Apify Run Notifier's queue.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--queue-url", help="the RunQueueUrl output of the stack")
    where.add_argument("--stack-name", help="find the queue URL in this CloudFormation stack's outputs")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration)")
    parser.add_argument("run_ids", nargs="+", help="run IDs, or - to read them from standard input")
    args = parser.parse_args(argv)

    ids = [line.strip() for line in sys.stdin if line.strip()] if args.run_ids == ["-"] else args.run_ids
    try:
        ids = [validate_run_id(r) for r in ids]
    except InvalidMessage as error:
        print(f"enqueue: {error}", file=sys.stderr)
        return 2

    import boto3

    session = boto3.session.Session(region_name=args.region)
    queue_url = args.queue_url or queue_url_from_stack(session.client("cloudformation"), args.stack_name)
    failed = enqueue(session.client("sqs"), queue_url, ids)
    for run_id, reason in failed:
        print(f"enqueue: {run_id} not enqueued: {reason}", file=sys.stderr)
    print(f"enqueued {len(ids) - len(failed)} of {len(ids)} run(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
