"""A secret that cannot be read says what AWS said: a wrong ARN and a missing permission read differently."""

from __future__ import annotations

import pytest
from run_notifier.adapters.memo import Lazy
from run_notifier.adapters.secret_store import SecretStore, SecretUnavailable


def test_a_missing_secret_names_the_arn_and_awss_error_code(aws_session):
    store = SecretStore(Lazy(lambda: aws_session.client("secretsmanager")), max_age_secs=0)
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
    with pytest.raises(SecretUnavailable) as raised:
        store.source(arn, None, "Slack webhook URL")()
    text = str(raised.value)
    assert text.startswith(f"could not read the Slack webhook URL secret {arn}: ResourceNotFoundException: ")
    assert "GetParameterError" not in text


def test_a_readable_secret_never_appears_in_an_error(aws_session):
    client = aws_session.client("secretsmanager")
    arn = client.create_secret(Name="blank-secret-for-test", SecretString="   ")["ARN"]
    store = SecretStore(Lazy(lambda: client), max_age_secs=0)
    with pytest.raises(SecretUnavailable, match="is empty"):
        store.source(arn, None, "webhook signing")()


# --- secrets this process never read: masked by their shape -------------------------------

import json  # noqa: E402
import secrets as random_secrets  # noqa: E402

from conftest import INTAKE_TOKEN, context, load_event, sqs_event  # noqa: E402
from run_notifier.adapters.dynamodb import RunsTable  # noqa: E402


def _never_read_apify_token() -> str:
    return "apify_api_" + random_secrets.token_hex(15)


def test_an_apify_token_sent_as_a_message_body_is_never_logged(load_app, base_env, log_output):
    """A `make enqueue` slip: the token itself on the queue, before the watcher has read any secret."""
    token = _never_read_apify_token()
    app = load_app(base_env)
    result = app.lambda_handler(sqs_event([token, json.dumps({"runId": token})]), context(10))
    assert len(result["batchItemFailures"]) == 2  # rejected, each alone, towards the DLQ
    lines = json.dumps(log_output())
    assert "MessageRejected" in lines
    assert token[10:] not in lines
    assert token[10:22] not in lines


def test_an_apify_token_in_post_runs_is_never_logged(intake, log_output):
    token = _never_read_apify_token()
    event = load_event("function_url_apify_webhook.json")
    event.update(rawPath="/runs", body=json.dumps({"runIds": [token]}), isBase64Encoded=False)
    event["requestContext"]["http"]["path"] = "/runs"
    event["headers"] = {**event["headers"], "authorization": f"Bearer {INTAKE_TOKEN}"}
    status, _ = intake(event)
    assert status == 400
    lines = json.dumps(log_output())
    assert "IntakeRequestRefused" in lines
    assert token[10:22] not in lines


PAGERDUTY = "/pagerduty-echo/v2/enqueue"


def test_a_destination_echoing_its_secret_in_an_error_stores_no_secret(
    load_app, base_env, sim, receiver, aws_session, resources
):
    key = "R0UT" + random_secrets.token_hex(14)
    sim.add_run("RunEchoSecret001", 0.0, settle_secs=0, final_status="FAILED", exit_code=1)
    echo = json.dumps({"status": "invalid event", "errors": [f"routing_key {key} is not a valid key"]})
    receiver.script(PAGERDUTY, (400, {}, echo))
    env = {
        **base_env,
        "SETTLE_SECONDS": "0",
        "PAGERDUTY_ROUTING_KEY": key,
        "PAGERDUTY_EVENTS_URL": receiver.base_url + PAGERDUTY,
    }
    app = load_app(env)
    assert app.lambda_handler(sqs_event(["RunEchoSecret001"]), context(30)) == {"batchItemFailures": []}
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunEchoSecret001") or {}
    assert "pagerdutyNotification" in item, (sorted(item), [m.path for m in receiver.messages])
    stored = item["pagerdutyNotification"]
    assert stored["state"] == "FAILED"
    assert "HTTP 400" in stored["error"]
    assert key not in json.dumps(item, default=str)
    assert key[:12] not in json.dumps(item, default=str)
