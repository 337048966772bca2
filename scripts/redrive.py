#!/usr/bin/env python3
"""make redrive: move the dead-letter queue's messages back to the run queue, with progress.

    python scripts/redrive.py                                  # the stack apify-run-notifier
    python scripts/redrive.py --stack-name my-notifier --region eu-west-1 --profile ops
    python scripts/redrive.py --dlq-url https://sqs.../RunDeadLetterQueue --queue-url https://sqs.../RunQueue

Fix the cause first (each message's log line says why it failed; the DLQ alarm fired). Then
redrive: SQS's own `StartMessageMoveTask` moves the messages back to the queue they came from,
and this prints its progress until it is done. `--in-batches` moves them itself instead, ten
at a time (receive, send, delete: a crash in between leaves a duplicate, never a loss; the
watcher's claims make a duplicate harmless), for a local stand-in such as moto, which has no
message move tasks. Exit code 0 when every message was moved, 1 if the move failed, 2 for a
problem to fix first.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from scripts.aws_cli import Problem, aws_problem, session

DEFAULT_STACK = "apify-run-notifier"
POLL_SECS = 2.0


def queues_from_stack(cloudformation: Any, stack_name: str) -> tuple[str, str]:
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    try:
        return outputs["RunDeadLetterQueueUrl"], outputs["RunQueueUrl"]
    except KeyError:
        raise Problem(f"stack {stack_name} has no RunDeadLetterQueueUrl / RunQueueUrl outputs") from None


def depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def move_task(sqs: Any, dlq_arn: str, say: Callable[[str], None], sleep: Callable[[float], None]) -> bool:
    """SQS's message move task back to the source queue; progress until it ends. False if it failed."""
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    say(f"started SQS message move task {handle[:24]}...")
    while True:
        sleep(POLL_SECS)
        tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]  # the newest first
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0])
        moved, total = task.get("ApproximateNumberOfMessagesMoved", 0), task.get("ApproximateNumberOfMessagesToMove")
        say(f"  {task['Status']}: {moved} of {total if total is not None else '?'} moved")
        if task["Status"] == "COMPLETED":
            return True
        if task["Status"] in ("FAILED", "CANCELLED"):
            say(f"  the move task {task['Status'].lower()}: {task.get('FailureReason', 'no reason given')}")
            return False


def move_in_batches(sqs: Any, dlq_url: str, queue_url: str, say: Callable[[str], None]) -> int:
    """Receive, send, delete, ten at a time, until the DLQ is empty; returns how many were moved."""
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=60
        ).get("Messages", [])
        if not messages:
            return moved
        sent = sqs.send_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(messages)]
        )
        ok = {int(s["Id"]) for s in sent.get("Successful", [])}
        done = [{"Id": str(i), "ReceiptHandle": messages[i]["ReceiptHandle"]} for i in sorted(ok)]
        if done:
            sqs.delete_message_batch(QueueUrl=dlq_url, Entries=done)
        moved += len(done)
        say(f"  {moved} moved")
        if len(ok) < len(messages):
            raise Problem(f"the run queue refused {len(messages) - len(ok)} message(s); they stay in the DLQ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Move the DLQ's messages back to the run queue.")
    parser.add_argument("--stack-name", default=DEFAULT_STACK, help=f"the notifier's stack (default {DEFAULT_STACK})")
    parser.add_argument("--dlq-url", help="instead of the stack: the dead-letter queue's URL (with --queue-url)")
    parser.add_argument("--queue-url", help="instead of the stack: the run queue's URL (with --dlq-url)")
    parser.add_argument("--in-batches", action="store_true", help="move messages here instead of a move task")
    parser.add_argument("--region")
    parser.add_argument("--profile")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        return _redrive(args, say)
    except Problem as problem:
        print(f"redrive: {problem}", file=sys.stderr)
        return 2


def _redrive(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    if bool(args.dlq_url) != bool(args.queue_url):
        raise Problem("give both --dlq-url and --queue-url, or neither (then the stack's outputs are used)")
    try:
        aws = session(args.region, args.profile)
        sqs = aws.client("sqs")
        dlq_url, queue_url = (
            (args.dlq_url, args.queue_url)
            if args.dlq_url
            else queues_from_stack(aws.client("cloudformation"), args.stack_name)
        )
        waiting = depth(sqs, dlq_url)
        say(f"{waiting} message(s) in the DLQ")
        if waiting == 0:
            return 0
        if not args.in_batches:
            attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
            return 0 if move_task(sqs, attributes["QueueArn"], say, time.sleep) else 1
        moved = move_in_batches(sqs, dlq_url, queue_url, say)
        say(f"moved {moved} message(s) back to the run queue")
        return 0
    except (BotoCoreError, ClientError) as error:
        raise aws_problem(error, "redrive") from None


if __name__ == "__main__":
    sys.exit(main())
