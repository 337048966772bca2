"""Put still-running runs back on the run queue with a delay (`ports.Requeue`), in SendMessageBatch calls.

Records are watched in parallel threads, and the runs of a batch often reach the end of
their long poll together; sending their re-enqueues in batches of up to 10 cuts SQS calls
(and their cost and CPU) by up to ten times. Each caller still gets its own outcome: a
failed entry raises in the thread that asked for it, so only that record fails and SQS
redelivers it.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from run_notifier.domain.ports import RequeueFailed
from run_notifier.domain.schedules import SQS_MAX_DELAY_SECS
from run_notifier.domain.watch_request import WatchRequest

MAX_BATCH = 10
#: How long the first caller waits for others to join its batch.
LINGER_SECS = 0.02


class _Pending:
    __slots__ = ("body", "delay", "done", "error", "message_id")

    def __init__(self, body: str, delay: int) -> None:
        self.body = body
        self.delay = delay
        self.done = threading.Event()
        self.message_id: str | None = None
        self.error: str | None = None


class SqsRequeue:
    """`ports.RunRequeue` on SQS: the run back on the queue with `DelaySeconds` (at most 900)."""

    def __init__(self, sqs_client: Any, queue_url: str, linger_secs: float = LINGER_SECS) -> None:
        self._sqs = sqs_client
        self._queue_url = queue_url
        self._linger = linger_secs
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []

    def send(self, request: WatchRequest, delay_secs: int) -> str:
        """Send; raises RequeueFailed, so the caller fails the record and SQS redelivers it."""
        entry = _Pending(json.dumps(request.to_body()), max(0, min(int(delay_secs), SQS_MAX_DELAY_SECS)))
        with self._lock:
            self._pending.append(entry)
            leader = len(self._pending) == 1
        if leader:
            time.sleep(self._linger)  # let the other records of this batch join in
            with self._lock:
                batch, self._pending = self._pending, []
            for start in range(0, len(batch), MAX_BATCH):
                self._flush(batch[start : start + MAX_BATCH])
        entry.done.wait()
        if entry.error is not None or entry.message_id is None:
            raise RequeueFailed(f"re-enqueue failed: {entry.error or 'no answer'}")
        return entry.message_id

    def _flush(self, chunk: list[_Pending]) -> None:
        try:
            response = self._sqs.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "MessageBody": p.body, "DelaySeconds": p.delay} for i, p in enumerate(chunk)],
            )
        except Exception as error:  # every entry of the chunk fails, each in its own record
            for pending in chunk:
                pending.error = type(error).__name__
                pending.done.set()
            return
        for ok in response.get("Successful", []):
            chunk[int(ok["Id"])].message_id = ok["MessageId"]
        for failed in response.get("Failed", []):
            chunk[int(failed["Id"])].error = f"{failed.get('Code')}: {failed.get('Message', '')}"[:200]
        for pending in chunk:
            pending.done.set()
