"""The backoff a failed record gets before SQS redelivers it."""

from __future__ import annotations

from typing import Any

import pytest
from run_notifier.adapters.sqs_redelivery import HOLD_MARGIN_SECS, HOLD_STEP_SECS, SqsRedelivery
from run_notifier.config import load_settings

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/app-RunQueue"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:app-RunQueue"


def _schedule(retry: str = "30,120,300,900"):
    return load_settings(
        {"RUNS_TABLE_NAME": "t", "RUN_QUEUE_URL": QUEUE_URL, "RETRY_VISIBILITY_SCHEDULE": retry}
    ).schedule


class RecordingSqs:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self._error = error

    def change_message_visibility(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)
        if self._error:
            raise self._error


@pytest.mark.parametrize(("receive_count", "expected"), [(0, 30), (1, 30), (2, 120), (4, 900), (9, 900)])
def test_backoff_grows_with_the_receive_count_and_the_last_entry_repeats(receive_count, expected):
    assert _schedule().redeliver_after(receive_count, retryable=True) == expected


def test_a_retryable_failure_gets_the_backoff_and_a_malformed_message_comes_back_at_once():
    sqs = RecordingSqs()
    redelivery = SqsRedelivery(sqs, QUEUE_URL, _schedule("30,120"))
    redelivery.after_failure(QUEUE_ARN, "rh-1", 2, retryable=True)
    redelivery.after_failure(QUEUE_ARN, "rh-2", 1, retryable=False)
    assert sqs.calls == [
        {"QueueUrl": QUEUE_URL, "ReceiptHandle": "rh-1", "VisibilityTimeout": 120},
        {"QueueUrl": QUEUE_URL, "ReceiptHandle": "rh-2", "VisibilityTimeout": 0},
    ]


def test_records_from_another_queue_are_left_alone():
    sqs = RecordingSqs()
    SqsRedelivery(sqs, QUEUE_URL, _schedule("30")).after_failure(
        "arn:aws:sqs:us-east-1:1:other", "rh", 1, retryable=True
    )
    assert sqs.calls == []


def test_a_failing_visibility_call_is_logged_and_never_raised(log_output):
    sqs = RecordingSqs(RuntimeError("receipt handle has expired"))
    SqsRedelivery(sqs, QUEUE_URL, _schedule("30")).after_failure(QUEUE_ARN, "rh", 1, retryable=True)
    [line] = [entry for entry in log_output() if entry["level"] == "WARNING"]
    assert "queue's visibility timeout applies" in line["message"]
    assert "receipt handle has expired" in line["reason"]


def test_a_record_that_leaves_a_claim_held_comes_back_only_after_the_lease():
    schedule = _schedule("30,120")
    assert schedule.redeliver_after(1, retryable=True, not_before_secs=95.2) == 96
    assert schedule.redeliver_after(2, retryable=True, not_before_secs=95.2) == 120
    sqs = RecordingSqs()
    SqsRedelivery(sqs, QUEUE_URL, schedule).after_failure(QUEUE_ARN, "rh", 1, retryable=True, not_before_secs=70)
    assert sqs.calls[0]["VisibilityTimeout"] == 70


class BatchSqs:
    def __init__(self, fail: bool = False, visibility: int = 600) -> None:
        self.batches: list[dict[str, Any]] = []
        self._fail = fail
        self._visibility = visibility

    def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]:
        return {"Attributes": {"VisibilityTimeout": str(self._visibility)}}

    def change_message_visibility_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.batches.append(kwargs)
        if self._fail:
            raise ConnectionError("SQS unreachable")
        return {"Successful": [{"Id": e["Id"]} for e in kwargs["Entries"]]}


def test_a_batch_is_held_one_step_at_a_time_in_chunks_of_ten_and_only_on_our_queue():
    sqs = BatchSqs()
    redelivery = SqsRedelivery(sqs, QUEUE_URL, _schedule())
    records = [(QUEUE_ARN, f"rh-{i}") for i in range(23)] + [("arn:aws:sqs:us-east-1:123456789012:other", "x")]
    held = redelivery.hold(records, remaining_secs=88.2)
    assert held is not None
    held.close()
    first = sqs.batches[:3]
    assert [len(b["Entries"]) for b in first] == [10, 10, 3]
    assert {e["VisibilityTimeout"] for b in first for e in b["Entries"]} == {HOLD_STEP_SECS}
    assert "x" not in {e["ReceiptHandle"] for b in sqs.batches for e in b["Entries"]}


def test_an_invocation_with_less_time_than_a_step_is_held_only_to_its_deadline_plus_the_margin():
    sqs = BatchSqs()
    held = SqsRedelivery(sqs, QUEUE_URL, _schedule()).hold([(QUEUE_ARN, "rh-1")], remaining_secs=3.2)
    assert held is not None
    held.close()
    assert sqs.batches[0]["Entries"][0]["VisibilityTimeout"] == 4 + HOLD_MARGIN_SECS


def test_a_hold_that_fails_does_not_fail_the_invocation():
    sqs = BatchSqs(fail=True)
    held = SqsRedelivery(sqs, QUEUE_URL, _schedule()).hold([(QUEUE_ARN, "rh-1")], remaining_secs=10)  # no raise
    assert held is not None
    held.close()
    assert len(sqs.batches) >= 1


def test_no_hold_when_the_queues_own_timeout_is_already_shorter():
    sqs = BatchSqs(visibility=10)
    assert SqsRedelivery(sqs, QUEUE_URL, _schedule()).hold([(QUEUE_ARN, "rh-1")], remaining_secs=60) is None
    assert sqs.batches == []
