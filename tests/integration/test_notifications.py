"""Exactly one notification per run and destination: Slack, signed webhook, EventBridge."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from conftest import HOOK_PATH, SLACK_PATH, WEBHOOK_SECRET, context, events_on, sqs_event
from run_notifier.adapters.dynamodb import RunsTable
from standardwebhooks import Webhook


def test_same_run_twice_in_a_batch_and_again_later_notifies_once(
    load_app, all_destinations_env, sim, receiver, aws_session, event_bus
):
    sim.add_run("RunTwice00000001", 0.0, settle_secs=0, final_usd=1.5)
    app = load_app(all_destinations_env)
    body = json.dumps({"runId": "RunTwice00000001"})
    assert app.lambda_handler(sqs_event([body, body]), context(30)) == {"batchItemFailures": []}
    assert app.lambda_handler(sqs_event([body]), context(30)) == {"batchItemFailures": []}
    app2 = load_app(all_destinations_env)  # a fresh container: no in-memory state helps
    assert app2.lambda_handler(sqs_event([body]), context(30)) == {"batchItemFailures": []}
    assert len(receiver.received(SLACK_PATH)) == 1
    assert len(receiver.received(HOOK_PATH)) == 1
    events = events_on(aws_session, event_bus[1], expected=1)
    events += events_on(aws_session, event_bus[1], expected=0, timeout=1.0)  # and no second one
    assert len(events) == 1


def test_webhook_signature_verifies_and_payload_matches_contract(
    load_app, all_destinations_env, sim, receiver, aws_session, event_bus
):
    sim.add_run("RunSigned0000001", 0.0, settle_secs=0, final_usd=0.25, task_id="TaskSim000000001", exit_code=0)
    app = load_app(all_destinations_env)
    assert app.lambda_handler(sqs_event(["RunSigned0000001"]), context(30)) == {"batchItemFailures": []}
    [hook] = receiver.received(HOOK_PATH)
    payload = Webhook(WEBHOOK_SECRET).verify(hook.body, hook.headers)
    assert payload["type"] == "apify.run.finished"
    data = payload["data"]
    assert set(data) == {
        "runId",
        "actId",
        "actorTaskId",
        "status",
        "statusMessage",
        "exitCode",
        "usageTotalUsd",
        "startedAt",
        "finishedAt",
        "durationSecs",
        "defaultDatasetId",
        "datasetItemsUrl",
        "consoleUrl",
    }
    assert data["runId"] == "RunSigned0000001"
    assert data["usageTotalUsd"] == 0.25
    assert data["actorTaskId"] == "TaskSim000000001"
    assert data["datasetItemsUrl"] == "https://api.apify.com/v2/datasets/dsRunSigned000000/items?format=json"
    assert data["consoleUrl"] == "https://console.apify.com/actors/SimActor00000001/runs/RunSigned0000001"
    # a tampered body does not verify
    with pytest.raises(Exception, match="signature"):
        Webhook(WEBHOOK_SECRET).verify(hook.body.replace(b"0.25", b"0.00"), hook.headers)
    [event] = events_on(aws_session, event_bus[1], expected=1)
    assert event["source"] == "apify.run-notifier"
    assert event["detail-type"] == "Apify Run Finished"
    # the same data, plus the webhook's stable ID for receivers that de-duplicate
    assert event["detail"] == {**data, "notificationId": hook.headers["webhook-id"]}


def test_slack_500_then_200_posts_once_and_webhook_is_not_called_again(load_app, all_destinations_env, sim, receiver):
    sim.add_run("RunRetry00000001", 0.0, settle_secs=0)
    receiver.script(SLACK_PATH, (500, {}, "oops"))
    app = load_app(all_destinations_env)
    assert app.lambda_handler(sqs_event(["RunRetry00000001"]), context(30)) == {"batchItemFailures": []}
    assert [m.status for m in receiver.received(SLACK_PATH)] == [500, 200]
    assert len(receiver.received(HOOK_PATH)) == 1


def test_slack_failing_past_the_budget_is_retried_alone_on_redelivery(
    load_app, all_destinations_env, sim, receiver, aws_session, resources, event_bus
):
    sim.add_run("RunRedel00000001", 0.0, settle_secs=0)
    receiver.script(SLACK_PATH, *[(503, {}, "down")] * 40)
    app = load_app(all_destinations_env)
    event = sqs_event(["RunRedel00000001"])
    result = app.lambda_handler(event, context(14))
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    # Slack is retried within its share of the time; it cannot starve the webhook and the event.
    assert len(receiver.received(SLACK_PATH)) >= 2
    assert [m.status for m in receiver.received(HOOK_PATH)] == [200]
    assert len(events_on(aws_session, event_bus[1], expected=1)) == 1
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunRedel00000001")
    assert item["slackNotification"]["state"] == "RETRYING"
    receiver.clear_script(SLACK_PATH)  # Slack is back
    assert app.lambda_handler(event, context(30)) == {"batchItemFailures": []}  # SQS redelivery
    assert len(receiver.received(SLACK_PATH, ok_only=True)) == 1
    assert len(receiver.received(HOOK_PATH)) == 1  # not re-posted


@pytest.mark.parametrize("header", ["Retry-After", "retry-after"])  # header names are case-insensitive
def test_slack_429_with_retry_after_succeeds_within_invocation(load_app, all_destinations_env, sim, receiver, header):
    sim.add_run("RunSlow429000001", 0.0, settle_secs=0)
    receiver.script(SLACK_PATH, (429, {header: "2"}, "rate_limited"))
    app = load_app(all_destinations_env)
    started = time.monotonic()
    assert app.lambda_handler(sqs_event(["RunSlow429000001"]), context(30)) == {"batchItemFailures": []}
    statuses = [m.status for m in receiver.received(SLACK_PATH)]
    assert statuses == [429, 200]
    assert time.monotonic() - started >= 2.0  # Retry-After was honoured (the fallback backoff waits <= 1 s)


def test_slack_400_is_permanent_and_others_still_delivered(
    load_app, all_destinations_env, sim, receiver, aws_session, resources, event_bus, log_output
):
    sim.add_run("RunBadSlack00001", 0.0, settle_secs=0)
    receiver.script(SLACK_PATH, (400, {}, "invalid_payload"))
    app = load_app(all_destinations_env)
    assert app.lambda_handler(sqs_event(["RunBadSlack00001"]), context(30)) == {"batchItemFailures": []}
    assert app.lambda_handler(sqs_event(["RunBadSlack00001"]), context(30)) == {"batchItemFailures": []}
    assert len(receiver.received(SLACK_PATH)) == 1  # no retry loop
    assert len(receiver.received(HOOK_PATH)) == 1
    assert len(events_on(aws_session, event_bus[1], expected=1)) == 1
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunBadSlack00001")
    assert item["slackNotification"]["state"] == "FAILED"
    assert "invalid_payload" in item["slackNotification"]["error"]
    assert "slacksecretpart" not in json.dumps(item, default=str)
    failures = [e for e in log_output() if e.get("message", "").startswith("Notification failed permanently")]
    assert failures
    assert "HTTP 400" in failures[0]["reason"]


def test_notify_on_failed_records_succeeded_run_without_posting(
    load_app, all_destinations_env, sim, receiver, aws_session, resources, event_bus
):
    sim.add_run("RunQuiet00000001", 0.0, settle_secs=0)
    app = load_app({**all_destinations_env, "NOTIFY_ON": "FAILED"})
    assert app.lambda_handler(sqs_event(["RunQuiet00000001"]), context(30)) == {"batchItemFailures": []}
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunQuiet00000001")
    assert item["status"] == "SUCCEEDED"
    assert receiver.received(SLACK_PATH) == []
    assert receiver.received(HOOK_PATH) == []
    assert events_on(aws_session, event_bus[1], expected=0, timeout=1.0) == []


def test_routes_send_failed_runs_of_an_actor_to_another_slack(load_app, all_destinations_env, sim, receiver):
    sim.add_run("RunRouted0000001", 0.0, settle_secs=0, final_status="FAILED", exit_code=1)
    sim.add_run("RunNotRouted0001", 0.0, settle_secs=0)
    routes = {
        "routes": [
            {
                "match": {"status": ["FAILED"], "actId": "SimActor00000001"},
                "slack": {"webhookUrl": receiver.base_url + "/oncall"},
                "webhook": False,
            }
        ]
    }
    app = load_app({**all_destinations_env, "ROUTES_JSON": json.dumps(routes)})
    result = app.lambda_handler(sqs_event(["RunRouted0000001", "RunNotRouted0001"]), context(30))
    assert result == {"batchItemFailures": []}
    assert ["RunRouted0000001" in m.body.decode() for m in receiver.received("/oncall")] == [True]
    assert ["RunNotRouted0001" in m.body.decode() for m in receiver.received(SLACK_PATH)] == [True]
    assert ["RunNotRouted0001" in m.body.decode() for m in receiver.received(HOOK_PATH)] == [True]


def test_secrets_from_secrets_manager_by_arn(load_app, base_env, sim, receiver, aws_session, log_output):
    sm = aws_session.client("secretsmanager")
    suffix = uuid.uuid4().hex[:6]
    token_arn = sm.create_secret(Name=f"apify-token-{suffix}", SecretString=sim.token)["ARN"]
    slack_arn = sm.create_secret(Name=f"slack-{suffix}", SecretString=receiver.base_url + SLACK_PATH)["ARN"]
    hook_arn = sm.create_secret(Name=f"whsec-{suffix}", SecretString=WEBHOOK_SECRET)["ARN"]
    sim.require_token = True
    env = {
        **base_env,
        "SETTLE_SECONDS": "0",
        "APIFY_TOKEN": "",
        "SLACK_WEBHOOK_URL": "",
        "APIFY_TOKEN_SECRET_ARN": token_arn,
        "SLACK_WEBHOOK_URL_SECRET_ARN": slack_arn,
        "WEBHOOK_URL": receiver.base_url + HOOK_PATH,
        "WEBHOOK_SECRET_ARN": hook_arn,
    }
    sim.add_run("RunArn0000000001", 0.0, settle_secs=0, final_usd=0.5)
    app = load_app(env)
    assert app.lambda_handler(sqs_event(["RunArn0000000001"]), context(30)) == {"batchItemFailures": []}
    assert "$0.5000" in receiver.received(SLACK_PATH)[0].body.decode()  # usage visible: the token was used
    [hook] = receiver.received(HOOK_PATH)
    Webhook(WEBHOOK_SECRET).verify(hook.body, hook.headers)
    text = json.dumps(log_output())
    assert sim.token not in text
    assert WEBHOOK_SECRET not in text
    assert SLACK_PATH not in text


def test_routed_http_target_outside_loopback_is_refused(
    load_app, all_destinations_env, sim, receiver, aws_session, resources
):
    sim.add_run("RunPlainHttp0001", 0.0, settle_secs=0)
    routes = {"routes": [{"match": {}, "webhook": {"url": "http://example.com/hook"}}]}
    env = {**all_destinations_env, "ROUTES_JSON": json.dumps(routes)}
    app = load_app(env)
    assert app.lambda_handler(sqs_event(["RunPlainHttp0001"]), context(30)) == {"batchItemFailures": []}
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunPlainHttp0001")
    assert item["webhookNotification"]["state"] == "FAILED"
    assert "https" in item["webhookNotification"]["error"]
    assert len(receiver.received(SLACK_PATH)) == 1


def test_a_webhook_answering_410_is_recorded_logged_counted_and_moves_the_alarms_metric(
    load_app, all_destinations_env, sim, receiver, aws_session, resources, event_bus, log_output, capsys
):
    from localdev.aws import load_template

    sim.add_run("RunGoneHook00001", 0.0, settle_secs=0)
    receiver.script(HOOK_PATH, (410, {}, "this endpoint was removed"))
    app = load_app(all_destinations_env)
    capsys.readouterr()
    assert app.lambda_handler(sqs_event(["RunGoneHook00001"]), context(30)) == {"batchItemFailures": []}
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunGoneHook00001")
    assert item["webhookNotification"]["state"] == "FAILED"
    [line] = [e for e in log_output() if e.get("message", "").startswith("Notification failed permanently")]
    assert (line["destination"], line["run_id"]) == ("webhook", "RunGoneHook00001")
    assert "HTTP 410" in line["reason"]
    assert "this endpoint was removed" in line["reason"]
    alarm = load_template()["Resources"]["NotificationFailedAlarm"]["Properties"]
    emitted = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith('{"_aws"')]
    counts = [e[alarm["MetricName"]] for e in emitted if alarm["MetricName"] in e]
    assert counts
    assert sum(v if isinstance(v, float | int) else sum(v) for v in counts) == 1
    [dimension] = alarm["Dimensions"]
    assert all(e[dimension["Name"]] == dimension["Value"] for e in emitted if alarm["MetricName"] in e)
