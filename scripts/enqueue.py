#!/usr/bin/env python3
"""Put Apify run IDs on the watch queue, for your own scripts and schedulers.

    python scripts/enqueue.py RUN_ID [RUN_ID ...]                      # the stack apify-run-notifier
    python scripts/enqueue.py --stack-name my-notifier --region eu-west-1 --profile ops RUN_ID
    python scripts/enqueue.py --queue-url https://sqs.../RunQueue https://console.apify.com/actors/X/runs/RUN_ID
    echo RUN_ID | python scripts/enqueue.py -

A run is given by its ID or by its Console or API URL (the ID is taken from it); each is
checked with the watcher's own rule (1-64 of [A-Za-z0-9]) before anything is sent.
Exit code 0 when every ID was enqueued, 1 when any was refused by SQS, 2 for a problem to
fix first (no credentials or region, no such stack, bad or no input): one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from run_notifier.domain.watch_request import InvalidMessage, validate_run_id

from scripts.aws_cli import Problem, aws_problem, session

QUEUE_OUTPUT = "RunQueueUrl"
DEFAULT_STACK = "apify-run-notifier"  # samconfig.toml's stack_name
#: console.apify.com/actors/<actId>/runs/<runId>, console.apify.com/actors/runs/<runId>,
#: api.apify.com/v2/actor-runs/<runId>, with or without a query or a trailing slash.
RUN_URL = re.compile(r"^https://(?:console|api)\.apify\.com/.*?(?:/runs|/actor-runs)/([^/?#]+)/?(?:[?#].*)?$")


def run_id_of(text: str) -> str:
    """A run ID as given, or the one in a Console / API run URL."""
    match = RUN_URL.match(text.strip())
    try:
        return validate_run_id(match.group(1) if match else text.strip())
    except InvalidMessage as error:
        raise Problem(f"{text.strip()[:80]!r}: {error}") from None


def queue_url_from_stack(cloudformation: Any, stack_name: str) -> str:
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    for output in stacks[0].get("Outputs", []):
        if output["OutputKey"] == QUEUE_OUTPUT:
            return str(output["OutputValue"])
    raise Problem(f"stack {stack_name} has no {QUEUE_OUTPUT} output: is it the notifier's stack?")


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
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--queue-url", help="the stack's RunQueueUrl output")
    where.add_argument("--stack-name", default=DEFAULT_STACK, help=f"the notifier's stack (default {DEFAULT_STACK})")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration)")
    parser.add_argument("--profile", help="AWS profile (default: your AWS configuration)")
    parser.add_argument("runs", nargs="*", help="run IDs or Console run URLs, or - to read them from standard input")
    args = parser.parse_args(argv)
    try:
        texts = [line for line in sys.stdin if line.strip()] if args.runs == ["-"] else args.runs
        if not texts:
            raise Problem("no run IDs given (pass them as arguments, or - to read them from standard input)")
        ids = list(dict.fromkeys(run_id_of(text) for text in texts))
        failed = _send(args, ids)
    except Problem as problem:
        print(f"enqueue: {problem}", file=sys.stderr)
        return 2
    for run_id, reason in failed:
        print(f"enqueue: {run_id} not enqueued: {reason}", file=sys.stderr)
    print(f"enqueued {len(ids) - len(failed)} of {len(ids)} run(s)")
    return 1 if failed else 0


def _send(args: argparse.Namespace, ids: list[str]) -> list[tuple[str, str]]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        aws = session(args.region, args.profile)
        queue_url = args.queue_url or queue_url_from_stack(aws.client("cloudformation"), args.stack_name)
    except (BotoCoreError, ClientError) as error:
        raise aws_problem(error, f"finding the queue of stack {args.stack_name}") from None
    try:
        return enqueue(aws.client("sqs"), queue_url, ids)
    except (BotoCoreError, ClientError) as error:
        raise aws_problem(error, "sending to the run queue") from None


if __name__ == "__main__":
    sys.exit(main())
