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
"""

from __future__ import annotations

from typing import Any

from run_notifier.domain.ports import log
from run_notifier.domain.schedules import Schedule


class SqsRedelivery:
    """Sets a failed record's visibility on the watcher's own queue."""

    def __init__(self, sqs_client: Any, queue_url: str, schedule: Schedule) -> None:
        self._sqs = sqs_client
        self._queue_url = queue_url
        self._queue_name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        self._schedule = schedule

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
