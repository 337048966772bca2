"""Put a run back on the watch queue with a delay."""

from __future__ import annotations

import json
from typing import Any

from run_notifier.intake import WatchRequest
from run_notifier.schedule import SQS_MAX_DELAY_SECS


class Requeuer:
    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._sqs = sqs_client
        self._queue_url = queue_url

    def send(self, request: WatchRequest, delay_secs: int) -> str:
        """Send; raises on failure, so the caller fails the record and SQS redelivers it."""
        response = self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=json.dumps(request.to_body()),
            DelaySeconds=max(0, min(int(delay_secs), SQS_MAX_DELAY_SECS)),
        )
        return str(response["MessageId"])
