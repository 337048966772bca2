"""Bad input fails alone with a reason; Apify faults never lose a run nor loop forever."""

from __future__ import annotations

import json
import logging

import pytest
from conftest import SLACK_PATH, context, sqs_event
from run_notifier.adapters.dynamodb import RunsTable

BAD_BODIES = {
    "empty": "",
    "not-json": "{not json at all",
    "no-run-id": json.dumps({"hello": "world"}),
    "path-traversal": json.dumps({"runId": "../../users/me"}),
    "garbage-100kb": "\x00garbage!" * 10_240,
    "nested-json": "[" * 1000 + "]" * 1000,
    "wrong-type-run-id": json.dumps({"runId": 12345}),
    "wrong-type-attempt": json.dumps({"runId": "RunGood000000001", "attempt": "many"}),
}


def test_bad_records_fail_alone_and_reach_no_apify(load_app, base_env, sim, receiver, log_output):
    sim.add_run("RunGood000000001", 0.0)
    app = load_app(base_env)
    bodies = [*BAD_BODIES.values(), json.dumps({"runId": "RunGood000000001"})]
    event = sqs_event(bodies)
    result = app.lambda_handler(event, context(30))
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    bad_ids = {r["messageId"] for r in event["Records"][: len(BAD_BODIES)]}
    assert failed == bad_ids
    # Apify only ever saw the good run
    assert {r.path for r in sim.requests} == {"/v2/actor-runs/RunGood000000001"}
    logs = log_output()
    rejections = [entry for entry in logs if entry.get("message", "").startswith("Rejected message")]
    assert {entry["message_id"] for entry in rejections} == bad_ids
    reasons = " | ".join(entry["reason"] for entry in rejections)
    for expected in (
        "empty message body",
        "neither JSON nor a bare run ID",
        "no run ID",
        "1-64 characters of [A-Za-z0-9]",
        "nested too deeply",
        "run ID must be a string, got int",
        "attempt must be a whole number",
    ):
        assert expected in reasons
    assert all(len(entry["reason"]) < 300 for entry in rejections)  # no 100 KB echo


def test_bad_message_ends_in_dlq_after_max_receive_count(load_app, base_env, aws_session, resources):
    app = load_app(base_env)
    sqs = aws_session.client("sqs")
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody="../../users/me")
    from conftest import event_source

    source = event_source(app, aws_session, resources)

    def in_dlq() -> bool:
        attrs = sqs.get_queue_attributes(QueueUrl=resources.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
        return attrs["Attributes"]["ApproximateNumberOfMessages"] == "1"

    assert source.run_until(in_dlq, timeout_secs=20)
    assert len(source.invocations) == resources.max_receive_count


def test_429_then_200_succeeds_within_the_invocation(load_app, base_env, sim, aws_session, resources):
    sim.add_run("RunRate000000001", 0.0)
    sim.inject("RunRate000000001", 429, 429)
    app = load_app({**base_env, "SETTLE_SECONDS": "0"})
    result = app.lambda_handler(sqs_event(['{"runId": "RunRate000000001"}']), context(30))
    assert result == {"batchItemFailures": []}
    assert len(sim.requests_for("RunRate000000001")) == 3
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunRate000000001")
    assert item["status"] == "SUCCEEDED"


def test_5xx_until_budget_ends_is_requeued_not_lost(load_app, base_env, sim, aws_session, resources):
    sim.add_run("RunDown000000001", 0.0)
    sim.inject("RunDown000000001", *([503] * 50))
    app = load_app(base_env)
    result = app.lambda_handler(sqs_event(['{"runId": "RunDown000000001"}']), context(16))
    assert result == {"batchItemFailures": []}
    attrs = aws_session.client("sqs").get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])
    assert attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
    assert 2 <= len(sim.requests_for("RunDown000000001")) < 50


def test_404_is_recorded_not_found_without_looping(load_app, base_env, sim, aws_session, resources, receiver):
    app = load_app(base_env)
    result = app.lambda_handler(sqs_event(['{"runId": "RunMissing000001"}']), context(30))
    assert result == {"batchItemFailures": []}
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunMissing000001")
    assert item["status"] == "NOT_FOUND"
    # ~3 s of replica-lag grace at 0.5 s, then it stops
    assert 2 <= len(sim.requests_for("RunMissing000001")) <= 10
    attrs = aws_session.client("sqs").get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])
    assert attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "0"
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert receiver.received(SLACK_PATH) == []  # NOT_FOUND is not in the default NOTIFY_ON


def test_404_replica_lag_then_found(load_app, base_env, sim, aws_session, resources):
    sim.add_run("RunLag0000000001", 0.0)
    sim.inject("RunLag0000000001", 404, 404)
    app = load_app({**base_env, "SETTLE_SECONDS": "0"})
    assert app.lambda_handler(sqs_event(["RunLag0000000001"]), context(30)) == {"batchItemFailures": []}
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunLag0000000001")
    assert item["status"] == "SUCCEEDED"


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_401_gives_a_clear_error_and_fails_the_record(load_app, base_env, sim, token, log_output):
    sim.require_token = True
    sim.add_run("RunAuth000000001", 0.0)
    env = {**base_env, "APIFY_TOKEN": token or ""}
    app = load_app(env)
    event = sqs_event(["RunAuth000000001"])
    result = app.lambda_handler(event, context(30))
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    out = json.dumps(log_output())
    assert "Apify refused run RunAuth000000001 with 401" in out
    expected = "Check the Apify token" if token else "No Apify token is configured"
    assert expected in out


def test_token_only_in_authorization_header_never_in_logs_or_urls(
    load_app, base_env, sim, receiver, capsys, caplog, log_output
):
    caplog.set_level(logging.DEBUG)
    sim.add_run("RunTok0000000001", 0.0)
    app = load_app({**base_env, "SETTLE_SECONDS": "0"})
    app.lambda_handler(sqs_event(["RunTok0000000001"]), context(30))
    assert sim.requests, "Apify was called"
    for request in sim.requests:
        assert request.headers["authorization"] == f"Bearer {sim.token}"
        assert sim.token not in request.path
        assert all(sim.token not in v for values in request.query.values() for v in values)
    posted = receiver.received(SLACK_PATH)[0].body.decode()
    assert sim.token not in posted
    captured = capsys.readouterr()
    assert log_output(), "the run was logged"
    assert sim.token not in captured.out + captured.err + caplog.text + json.dumps(log_output())
