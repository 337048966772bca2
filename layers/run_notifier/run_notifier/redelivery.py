"""When a failed record comes back: a backoff on SQS redelivery instead of the queue's 600 s.

A record reported in `batchItemFailures` reappears after its visibility timeout, and the
queue's is 600 s (six times the function timeout, as AWS asks, so that a message is never
delivered twice while an invocation still holds it). That is the right guard while a
record is being watched and the wrong wait after it has failed: a Slack blip of a few
seconds would delay the alert by ten minutes. So a record that fails sets its own
visibility (SQS `ChangeMessageVisibility`, the backoff AWS documents for Lambda's SQS
source) from a schedule by receive count, and a message that can never succeed (malformed)
comes back at once, so it reaches the DLQ in seconds rather than after maxReceiveCount x
10 minutes. maxReceiveCount still bounds the retries; the DLQ and its alarm still catch
what keeps failing.

Best effort: if the call fails, the record still fails and the queue's own timeout applies.
"""

from __future__ import annotations

from typing import Any

from run_notifier.observability import logger
from run_notifier.schedule import pick

#: SQS caps a message's visibility timeout at 12 hours.
SQS_MAX_VISIBILITY_SECS = 12 * 3600
#: The default backoff by receive count: 30 s, 2, 5, then 15 min (the last entry repeats).
DEFAULT_RETRY_VISIBILITY_SECS = (30, 120, 300, 900)


def validate_retry_schedule(values: tuple[int, ...]) -> tuple[int, ...]:
    if any(not 0 <= value <= SQS_MAX_VISIBILITY_SECS for value in values):
        raise ValueError(f"RETRY_VISIBILITY_SCHEDULE entries must be 0..{SQS_MAX_VISIBILITY_SECS} seconds")
    return values


def retry_visibility(schedule: tuple[int, ...], receive_count: int) -> int:
    """Seconds until a message that failed on its ``receive_count``-th receive is seen again."""
    return pick(schedule, receive_count - 1)


class Redelivery:
    """Sets a failed record's visibility on the watcher's own queue."""

    def __init__(self, sqs_client: Any, queue_url: str, schedule: tuple[int, ...]) -> None:
        self._sqs = sqs_client
        self._queue_url = queue_url
        self._queue_name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        self._schedule = schedule

    def after_failure(self, queue_arn: str, receipt_handle: str, receive_count: int, *, retryable: bool) -> None:
        """Make the message visible again after the backoff (at once when not retryable)."""
        if queue_arn.rsplit(":", 1)[-1] != self._queue_name:
            return  # not our queue (a hand-made test event): leave SQS's own timeout
        seconds = retry_visibility(self._schedule, receive_count) if retryable else 0
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except Exception as error:  # best effort: SQS's own visibility timeout still applies
            logger.warning(
                "Could not shorten the redelivery wait; the queue's visibility timeout applies",
                extra={"reason": f"{type(error).__name__}: {error}"},
            )
            return
        logger.info(
            "Record failed; SQS redelivers it after a backoff",
            extra={"redeliver_after_secs": seconds, "receive_count": receive_count},
        )
