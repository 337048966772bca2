"""The whole path over real HTTP: SQS (moto server) -> handler -> Apify simulator -> DynamoDB -> Slack."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from conftest import SLACK_PATH, context, event_source, send, sqs_event
from run_notifier.adapters.dynamodb import RunsTable


def _item(aws_session, resources, run_id):
    return RunsTable(aws_session.client("dynamodb"), resources.table_name).get(run_id)


def test_succeeded_run_is_posted_once_with_settled_cost(load_app, base_env, sim, receiver, aws_session, resources):
    sim.add_run("RunOk000000000001", 0.5, final_usd=0.4321, prelim_usd=0.1, settle_secs=0.8, exit_code=0)
    app = load_app(base_env)
    send(aws_session, resources.queue_url, json.dumps({"runId": "RunOk000000000001"}))
    source = event_source(app, aws_session, resources)
    assert source.run_until(lambda: bool(receiver.received(SLACK_PATH)), timeout_secs=20)

    posts = receiver.received(SLACK_PATH)
    assert len(posts) == 1
    message = posts[0].json()
    text = json.dumps(message)
    assert "RunOk000000000001" in text
    assert "SUCCEEDED" in text
    assert "$0.4321" in text  # the settled cost, not the preliminary 0.1
    assert "*Exit code*\\n0" in text
    assert "https://console.apify.com/storage/datasets/dsRunOk0000000000" in text
    assert message["blocks"]
    assert message["text"]
    assert all(inv.failures == [] for inv in source.invocations)

    item = _item(aws_session, resources, "RunOk000000000001")
    assert item["status"] == "SUCCEEDED"
    assert item["exitCode"] == 0
    assert item["usageTotalUsd"] == Decimal("0.4321")
    assert item["defaultDatasetId"] == "dsRunOk0000000000"
    assert item["slackNotification"]["state"] == "SENT"
    assert "slackNotifiedAt" in item
    assert item["costsSettled"] is True


def test_running_past_budget_is_requeued_with_delay_then_notified(
    load_app, base_env, sim, receiver, aws_session, resources
):
    sim.add_run("RunLong0000000001", 4.0)
    app = load_app({**base_env, "REQUEUE_DELAY_SCHEDULE": "2,3"})
    # A 14 s budget minus the 12 s safety margin leaves a 2 s long poll: the run outlives it.
    result = app.lambda_handler(sqs_event([json.dumps({"runId": "RunLong0000000001"})]), context(14))
    assert result == {"batchItemFailures": []}
    assert receiver.received(SLACK_PATH) == []
    sqs = aws_session.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
    got = []
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=resources.queue_url, WaitTimeSeconds=1).get("Messages", [])
    body = json.loads(got[0]["Body"])
    assert body["runId"] == "RunLong0000000001"
    assert body["attempt"] == 1
    assert "firstSeenAt" in body
    # Delivered again after the run ends -> notified.
    sqs.change_message_visibility(
        QueueUrl=resources.queue_url, ReceiptHandle=got[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    source = event_source(app, aws_session, resources)
    assert source.run_until(lambda: bool(receiver.received(SLACK_PATH)), timeout_secs=20)
    assert len(receiver.received(SLACK_PATH)) == 1


def test_run_ending_during_long_poll_is_notified_after_settle_only(
    load_app, base_env, sim, receiver, aws_session, resources
):
    sim.add_run("RunPoll0000000001", 2.0, settle_secs=0.5)
    app = load_app(base_env)
    send(aws_session, resources.queue_url, "RunPoll0000000001")
    started = time.monotonic()
    source = event_source(app, aws_session, resources, timeout_secs=30)
    assert source.run_until(lambda: bool(receiver.received(SLACK_PATH)), timeout_secs=20)
    elapsed = time.monotonic() - started
    # ends at 2 s; settle 1 s; plus queue polling - far below any re-enqueue backoff.
    assert elapsed < 7, elapsed
    assert len(sim.requests_for("RunPoll0000000001")) == 2  # one long poll, one settle read


def test_ten_runs_ending_3s_in_finish_in_about_3s(load_app, base_env, sim, receiver, aws_session, resources):
    ids = [f"RunBatch{i:09d}" for i in range(10)]
    for run_id in ids:
        sim.add_run(run_id, 3.0)
    app = load_app(base_env)
    started = time.monotonic()
    result = app.lambda_handler(sqs_event([json.dumps({"runId": r}) for r in ids]), context(30))
    elapsed = time.monotonic() - started
    assert result == {"batchItemFailures": []}
    assert elapsed < 6, f"10 runs took {elapsed:.1f} s"
    # every one is now settling (re-enqueued with the short settle delay)
    bodies = []
    sqs = aws_session.client("sqs")
    deadline = time.monotonic() + 10
    while len(bodies) < 10 and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            bodies.append(json.loads(m["Body"]))
    assert sorted(b["runId"] for b in bodies) == ids
    assert all(b["settle"] is True for b in bodies)


def test_unknown_actor_name_falls_back_to_its_id_without_the_run_404_grace(load_app, base_env, sim, receiver):
    sim.add_run("RunNoActor000001", 0.0, settle_secs=0, act_id="UnknownActor0001")
    app = load_app({**base_env, "SETTLE_SECONDS": "0"})
    started = time.monotonic()
    assert app.lambda_handler(sqs_event(["RunNoActor000001"]), context(30)) == {"batchItemFailures": []}
    assert time.monotonic() - started < 2.0  # a missing Actor is not retried like a lagging run
    [post] = receiver.received(SLACK_PATH)
    assert post.json()["text"].startswith("SUCCEEDED: UnknownActor0001 run RunNoActor000001")
    assert len([r for r in sim.requests if r.path == "/v2/acts/UnknownActor0001"]) == 1


def test_actor_name_is_resolved_once_per_actor(load_app, base_env, sim, receiver):
    sim.add_run("RunNameA00000001", 0.0, settle_secs=0)
    sim.add_run("RunNameB00000001", 0.0, settle_secs=0)
    app = load_app({**base_env, "SETTLE_SECONDS": "0"})
    assert app.lambda_handler(sqs_event(["RunNameA00000001"]), context(30)) == {"batchItemFailures": []}
    assert app.lambda_handler(sqs_event(["RunNameB00000001"]), context(30)) == {"batchItemFailures": []}
    texts = [m.json()["text"] for m in receiver.received(SLACK_PATH)]
    assert all(t.startswith("SUCCEEDED: janedoe/web-scraper run") for t in texts)
    assert len(texts) == 2
    assert len([r for r in sim.requests if r.path == "/v2/acts/SimActor00000001"]) == 1
