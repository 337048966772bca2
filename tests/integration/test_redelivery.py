"""Failed records come back after a backoff, not after the queue's 600 s visibility timeout.

These queues keep the template's own visibility timeout (600 s): without the backoff each
of these tests would wait ten minutes per redelivery and time out.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from conftest import SLACK_PATH, event_source
from run_notifier.adapters.sqs_redelivery import SqsRedelivery
from run_notifier.config import load_settings

from localdev.aws import LocalResources, create_resources

TEMPLATE_VISIBILITY_SECS = 600


@pytest.fixture
def template_queue(aws_session) -> LocalResources:
    resources = create_resources(aws_session, prefix=f"r{uuid.uuid4().hex[:10]}", max_receive_count=3)
    assert resources.visibility_timeout == TEMPLATE_VISIBILITY_SECS
    return resources


def _on(queue: LocalResources, env: dict[str, str], **overrides: str) -> dict[str, str]:
    return {**env, "RUN_QUEUE_URL": queue.queue_url, "RUNS_TABLE_NAME": queue.table_name, **overrides}


def _dlq_depth(sqs, resources: LocalResources) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=resources.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


@pytest.mark.parametrize(
    "body",
    ["../../users/me", "[" * 1000 + "]" * 1000, '{"runId": "' + "x" * 200_000 + '"}', '{"runId": ["a"]}'],
    ids=["path", "nested-json", "huge-string", "wrong-type"],
)
def test_a_malformed_message_reaches_the_dlq_in_seconds(
    load_app, base_env, aws_session, template_queue, log_output, body
):
    app = load_app(_on(template_queue, base_env))
    sqs = aws_session.client("sqs")
    sqs.send_message(QueueUrl=template_queue.queue_url, MessageBody=body)
    source = event_source(app, aws_session, template_queue)
    started = time.monotonic()
    assert source.run_until(lambda: _dlq_depth(sqs, template_queue) == 1, timeout_secs=30)
    assert time.monotonic() - started < 15  # seconds, not maxReceiveCount x the queue's 600 s
    assert len(source.invocations) == template_queue.max_receive_count
    backoffs = [line for line in log_output() if line["message"].startswith("Record failed; SQS redelivers")]
    assert [line["redeliver_after_secs"] for line in backoffs] == [0, 0, 0]
    assert [line["receive_count"] for line in backoffs] == [1, 2, 3]
    rejections = [line for line in log_output() if line["message"].startswith("Rejected message")]
    assert len(rejections) == 3
    assert all(line["reason"] and len(line["reason"]) < 300 for line in rejections)


def test_a_record_whose_notification_failed_is_retried_after_the_backoff(
    load_app, base_env, sim, receiver, aws_session, template_queue, log_output
):
    sim.add_run("RunBackoff000001", 0.0, settle_secs=0)
    app = load_app(_on(template_queue, base_env, SETTLE_SECONDS="0", RETRY_VISIBILITY_SCHEDULE="2,600"))
    sqs = aws_session.client("sqs")
    sqs.send_message(QueueUrl=template_queue.queue_url, MessageBody=json.dumps({"runId": "RunBackoff000001"}))
    source = event_source(app, aws_session, template_queue, timeout_secs=14)
    receiver.script(SLACK_PATH, *[(503, {}, "down")] * 40)
    first = None
    while first is None:
        first = source.poll_once()
    assert len(first.failures) == 1  # Slack stayed down for the whole invocation
    failed_at = time.monotonic()
    receiver.clear_script(SLACK_PATH)  # Slack is back
    assert source.run_until(lambda: receiver.received(SLACK_PATH, ok_only=True) != [], timeout_secs=30)
    waited = time.monotonic() - failed_at
    assert 1.5 <= waited < 30, f"redelivered after {waited:.1f} s; the backoff says 2 s"
    assert source.invocations[-1].failures == []
    assert _dlq_depth(sqs, template_queue) == 0
    backoff = [line for line in log_output() if line["message"].startswith("Record failed; SQS redelivers")]
    assert [(line["redeliver_after_secs"], line["receive_count"]) for line in backoff] == [(2, 1)]
    assert backoff[0]["run_id"] == "RunBackoff000001"


def test_a_live_invocation_keeps_its_records_and_a_dead_ones_come_back_within_one_hold_step(
    aws_session, template_queue
):
    """Against SQS's own visibility semantics (moto's server): the heartbeat, not the queue's 600 s."""
    sqs = aws_session.client("sqs")
    sqs.send_message(QueueUrl=template_queue.queue_url, MessageBody='{"runId": "HeldRun000000001"}')
    [message] = sqs.receive_message(QueueUrl=template_queue.queue_url, WaitTimeSeconds=1)["Messages"]
    settings = load_settings({"RUNS_TABLE_NAME": "t", "RUN_QUEUE_URL": template_queue.queue_url})
    redelivery = SqsRedelivery(sqs, template_queue.queue_url, settings.schedule, hold_step_secs=2)
    held = redelivery.hold([(template_queue.queue_arn, message["ReceiptHandle"])], remaining_secs=60)
    assert held is not None

    def receive_within(secs: float) -> list[dict]:
        deadline = time.monotonic() + secs
        while time.monotonic() < deadline:
            wait = max(1, min(20, int(deadline - time.monotonic())))
            got = sqs.receive_message(QueueUrl=template_queue.queue_url, WaitTimeSeconds=wait).get("Messages", [])
            if got:
                return got
        return []

    assert receive_within(5) == []  # alive for two and a half steps: nobody else gets it
    held.close()  # the invocation dies: no more renewals, nothing deleted
    died = time.monotonic()
    [again] = receive_within(30)
    assert again["MessageId"] == message["MessageId"]
    assert time.monotonic() - died < 2 + 2  # within one step (and a receive's rounding), not 600 s
