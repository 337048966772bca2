"""Feed an SQS queue to the handler the way Lambda's SQS event source does.

Batches of up to ``batch_size`` records in Lambda's event shape; messages reported in
`batchItemFailures` are left to reappear after the visibility timeout (and SQS's redrive
moves them to the DLQ after maxReceiveCount); the others are deleted. Message delays and
visibility timeouts are SQS's own (moto honours them).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localdev.lambda_context import FakeLambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def to_lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": message.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
            "SentTimestamp": message.get("Attributes", {}).get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


@dataclass
class Invocation:
    records: int
    failures: list[str]
    seconds: float


@dataclass
class EventSource:
    sqs: Any
    queue_url: str
    queue_arn: str
    handler: Handler
    timeout_secs: float = 90.0
    batch_size: int = 10
    invocations: list[Invocation] = field(default_factory=list)

    def poll_once(self, wait_secs: int = 1) -> Invocation | None:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(10, self.batch_size),
            WaitTimeSeconds=wait_secs,
            AttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return None
        event = {"Records": [to_lambda_record(m, self.queue_arn) for m in messages]}
        started = time.monotonic()
        result = self.handler(event, FakeLambdaContext(timeout_secs=self.timeout_secs))
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        done = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if m["MessageId"] not in failed
        ]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done)
        invocation = Invocation(len(messages), sorted(failed), time.monotonic() - started)
        self.invocations.append(invocation)
        return invocation

    def run_until(
        self, done: Callable[[], bool], timeout_secs: float, on_idle: Callable[[float], None] | None = None
    ) -> bool:
        """Poll and invoke until ``done()`` or the timeout; True when done."""
        deadline = time.monotonic() + timeout_secs
        while time.monotonic() < deadline:
            if done():
                return True
            if self.poll_once() is None and on_idle:
                on_idle(deadline - time.monotonic())
        return done()
