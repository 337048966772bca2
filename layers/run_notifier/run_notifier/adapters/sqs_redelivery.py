"""When a failed record comes back: its own visibility timeout instead of the queue's 600 s.

A record reported in `batchItemFailures` reappears after its visibility timeout, and the
queue's is 600 s (six times the function timeout, as AWS asks, so that a message is never
delivered twice while an invocation still holds it). That is the right guard while a
record is being watched and the wrong wait after it has failed: a Slack blip of a few
seconds would delay the alert by ten minutes. So a record that fails sets its own
visibility (SQS `ChangeMessageVisibility`, the backoff AWS documents for Lambda's SQS
source) from `Schedule.redeliver_after`; maxReceiveCount still bounds the retries.

Best effort: if the call fails, the record still fails and the queue's own timeout applies,
which is longer than any claim's lease.

The same 600 s would also be how long a batch waits when its invocation dies (a timeout, an
out-of-memory kill): Lambda's SQS source then leaves every record to the visibility timeout. So
each invocation holds its records in short steps while it lives (`hold`, `BatchHold`): alive, it
finishes or fails them first; dead, they come back within one step. A record that comes back
while Lambda is still deleting it is watched again and finds its run already announced (the
claims), which costs a read, never an alert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from run_notifier.adapters.batch_hold import BatchHold
from run_notifier.domain.ports import log
from run_notifier.domain.schedules import Schedule

#: How long after its invocation's deadline a held record comes back at the latest (Lambda deletes
#: the finished ones within moments of the handler's return).
HOLD_MARGIN_SECS = 5
#: How long a record is held at a time while its invocation lives (renewed every third of it): a dead
#: invocation's records come back within this.
HOLD_STEP_SECS = 12
#: SQS's limit of entries per ChangeMessageVisibilityBatch.
_BATCH = 10


class SqsRedelivery:
    """Sets a failed record's visibility on the watcher's own queue, and holds a batch for its invocation."""

    def __init__(
        self, sqs_client: Any, queue_url: str, schedule: Schedule, *, hold_step_secs: float = HOLD_STEP_SECS
    ) -> None:
        self._sqs = sqs_client
        self._hold_step_secs = hold_step_secs
        self._queue_url = queue_url
        self._queue_name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        self._schedule = schedule
        self._visibility_secs: float | None = None

    def after_failure(
        self,
        queue_arn: str,
        receipt_handle: str,
        receive_count: int,
        *,
        retryable: bool,
        not_before_secs: float = 0.0,
    ) -> None:
        """Make the message visible again after the backoff (at once when not retryable)."""
        if queue_arn.rsplit(":", 1)[-1] != self._queue_name:
            return  # not our queue (a hand-made test event): leave SQS's own timeout
        seconds = self._schedule.redeliver_after(receive_count, retryable=retryable, not_before_secs=not_before_secs)
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except Exception as error:  # best effort: SQS's own visibility timeout still applies
            log.warning(
                "Could not shorten the redelivery wait; the queue's visibility timeout applies",
                extra={"reason": f"{type(error).__name__}: {str(error)[:200]}"},
            )
            return
        log.info(
            "Record failed; SQS redelivers it after a backoff",
            extra={"redeliver_after_secs": seconds, "receive_count": receive_count},
        )

    def _queue_visibility_secs(self) -> float:
        """The queue's visibility timeout, read once per container (inf if it cannot be read: then hold)."""
        if self._visibility_secs is None:
            try:
                attributes = self._sqs.get_queue_attributes(
                    QueueUrl=self._queue_url, AttributeNames=["VisibilityTimeout"]
                )
                self._visibility_secs = float(attributes["Attributes"]["VisibilityTimeout"])
            except Exception:
                return float("inf")
        return self._visibility_secs

    def hold(self, records: Sequence[tuple[str, str]], remaining_secs: float) -> BatchHold | None:
        """Hold records ((queue ARN, receipt handle)) on our queue while this invocation lives (None when
        there are none, or when the queue's own timeout is already as short: a test's, a demo's)."""
        handles = [handle for arn, handle in records if arn.rsplit(":", 1)[-1] == self._queue_name]
        first = min(self._hold_step_secs, math.ceil(remaining_secs) + HOLD_MARGIN_SECS)
        if not handles or first >= self._queue_visibility_secs():
            return None
        return BatchHold(
            self._extend,
            handles,
            remaining_secs=remaining_secs,
            step_secs=self._hold_step_secs,
            margin_secs=HOLD_MARGIN_SECS,
        ).start()

    def _extend(self, handles: list[str], seconds: int) -> None:
        """These records come back `seconds` from now. Best effort: otherwise the last hold (or the
        queue's own timeout) applies."""
        for start in range(0, len(handles), _BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                for i, handle in enumerate(handles[start : start + _BATCH])
            ]
            try:
                response = self._sqs.change_message_visibility_batch(QueueUrl=self._queue_url, Entries=entries)
            except Exception as error:
                log.warning(
                    "Could not hold the batch for this invocation; the last hold or the queue's timeout applies",
                    extra={"reason": f"{type(error).__name__}: {str(error)[:200]}"},
                )
                return
            if response.get("Failed"):
                log.warning(
                    "Some records could not be held; the last hold or the queue's timeout applies to them",
                    extra={"failed": len(response["Failed"])},
                )
