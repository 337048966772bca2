"""The public intake under hostile input: knocking costs no AWS calls, and no bytes make it raise."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from conftest import INTAKE_TOKEN
from run_notifier.config import load_intake_settings
from run_notifier.function_url_handler import make_intake_handler
from run_notifier.wiring import build_intake

from localdev.lambda_context import FakeLambdaContext
from tests.integration.test_intake import RUN, queued, url_event, webhook

LONE_SURROGATE = "\ud800"


def _handler(env: dict[str, str], session: boto3.session.Session):
    handler = make_intake_handler(build_intake(load_intake_settings(env), session))

    def call(event: dict) -> tuple[int, dict]:
        answer = handler(event, FakeLambdaContext(timeout_secs=10, function_name="WebhookIntakeFunction"))
        return answer["statusCode"], json.loads(answer["body"])

    return call


def _counted_session() -> tuple[boto3.session.Session, list[str]]:
    """A session whose clients report each GetSecretValue they send (the SDK's own event hook)."""
    session = boto3.session.Session(region_name="us-east-1")
    calls: list[str] = []
    session.events.register("before-call.secrets-manager.GetSecretValue", lambda **kw: calls.append("get"))
    return session, calls


def _secret(aws_session, value: str | bytes) -> str:
    sm = aws_session.client("secretsmanager")
    name = f"intake-{uuid.uuid4().hex[:8]}"
    if isinstance(value, bytes):
        return sm.create_secret(Name=name, SecretBinary=value)["ARN"]
    return sm.create_secret(Name=name, SecretString=value)["ARN"]


def test_a_flood_of_wrong_tokens_costs_at_most_one_read_per_stage(aws_session, resources):
    arn = _secret(aws_session, INTAKE_TOKEN)  # never rotated: there is no AWSPREVIOUS version
    session, calls = _counted_session()
    intake = _handler({"RUN_QUEUE_URL": resources.queue_url, "INTAKE_TOKEN_SECRET_ARN": arn}, session)
    for attempt in range(200):
        assert intake(url_event("/runs", json.dumps({"runIds": [RUN]}), token=f"wrong-{attempt}"))[0] == 401
    assert intake(url_event("/runs", json.dumps({"runIds": [RUN]})))[0] == 202  # the right one still works
    assert len(calls) <= 2  # AWSCURRENT once, the absent AWSPREVIOUS once


@pytest.mark.parametrize(("value", "why"), [("", "empty"), ("   ", "blank"), (b"\xff\xfe\x00binary", "not UTF-8")])
def test_an_unusable_secret_answers_503_without_asking_again_per_request(aws_session, resources, value, why):
    if value == "":
        sm = aws_session.client("secretsmanager")
        arn = sm.create_secret(Name=f"intake-{uuid.uuid4().hex[:8]}")["ARN"]  # a secret with no value yet
    else:
        arn = _secret(aws_session, value)
    session, calls = _counted_session()
    intake = _handler({"RUN_QUEUE_URL": resources.queue_url, "INTAKE_TOKEN_SECRET_ARN": arn}, session)
    for _ in range(20):
        status, body = intake(url_event("/runs", json.dumps({"runIds": [RUN]})))
        assert status == 503, why
        assert body["error"]["type"] == "service-unavailable"
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (url_event("/runs", json.dumps({"runIds": [RUN]}), token=f"tok{LONE_SURROGATE}en"), 401),
        (url_event("/runs", json.dumps({"runIds": [RUN]}), token=LONE_SURROGATE * 300), 401),
        (url_event("/runs", '{"runIds": ["Run' + "\\ud800" + 'x"]}'), 400),
        (url_event("/apify/webhooks", webhook(event_type="ACTOR.RUN.\\ud800")), 202),
        (url_event("/apify/webhooks", webhook(run_id="Run\\udfff")), 400),
    ],
    ids=["surrogate-in-token", "surrogates-only-token", "surrogate-in-run-id", "surrogate-event-type", "low-surrogate"],
)
def test_lone_surrogates_anywhere_get_an_answer_not_an_exception(intake, event, status):
    assert intake(event)[0] == status


def test_a_raw_lone_surrogate_in_the_body_is_refused_with_400(intake):
    body = '{"runIds": ["Run' + LONE_SURROGATE + 'x"]}'
    assert intake(url_event("/runs", body))[0] == 400
    hook = webhook(run_id="RunIntake000000Z").replace("RunIntake000000Z", "Run" + LONE_SURROGATE)
    assert intake(url_event("/apify/webhooks", hook))[0] == 400


def test_an_ignored_event_type_with_a_lone_surrogate_keeps_its_log_line(intake, log_output, capsys):
    hook = webhook(event_type="ACTOR.BUILD.X").replace("ACTOR.BUILD.X", "ACTOR.BUILD." + LONE_SURROGATE)
    answer = intake(url_event("/apify/webhooks", hook))
    assert answer == (202, {"eventType": "ACTOR.BUILD." + LONE_SURROGATE, "enqueued": False})  # JSON-escaped
    ignored = [line for line in log_output() if line.get("event") == "IntakeIgnored"]
    assert [line["event_type"] for line in ignored] == ["ACTOR.BUILD.\\ud800"]
    assert "Logging error" not in capsys.readouterr().err


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "post", "Post", "GET"])
@pytest.mark.parametrize("path", ["/runs", "/apify/webhooks"])
def test_every_method_but_post_on_a_known_path_is_405(intake, aws_session, resources, method, path):
    body = json.dumps({"runIds": [RUN]}) if path == "/runs" else webhook()
    status, answer = intake(url_event(path, body, method=method))
    assert (status, answer["error"]["type"]) == (405, "method-not-allowed")
    assert aws_session.client("sqs").receive_message(QueueUrl=resources.queue_url).get("Messages") is None


@pytest.mark.parametrize(
    "body",
    ['{"runIds": ["RunA00000000001"], "runIds": ["RunB00000000001"]}', webhook()[:-1] + ', "eventType": "TEST"}'],
    ids=["run-list", "webhook"],
)
def test_a_key_given_twice_is_refused_rather_than_guessed(intake, aws_session, resources, body):
    path = "/runs" if body.startswith('{"runIds"') else "/apify/webhooks"
    status, answer = intake(url_event(path, body))
    assert status == 400
    assert "twice" in answer["error"]["message"]
    assert aws_session.client("sqs").receive_message(QueueUrl=resources.queue_url).get("Messages") is None


def test_a_token_sent_as_a_run_id_reaches_no_log_even_cut_to_a_preview(aws_session, resources, log_output, capsys):
    token = "intake-" + "k" * 20 + uuid.uuid4().hex  # longer than the 40-character preview of a bad value
    arn = _secret(aws_session, token)
    intake = _handler({"RUN_QUEUE_URL": resources.queue_url, "INTAKE_TOKEN_SECRET_ARN": arn}, _counted_session()[0])
    status, _ = intake(url_event("/runs", json.dumps({"runIds": [token]}), token=token))
    assert status == 400
    logged = json.dumps(log_output()) + capsys.readouterr().out
    assert "400" in logged  # the refusal was logged...
    assert token[:12] not in logged  # ...without the token, whole or cut


def test_powertools_event_logging_and_dev_mode_never_print_the_token(
    aws_session, resources, monkeypatch, log_output, capsys
):
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    monkeypatch.setenv("POWERTOOLS_EVENT_HANDLER_DEBUG", "true")
    token = f"fresh-token-{uuid.uuid4().hex}"  # never read before this cold start: the scrubber does not know it
    arn = _secret(aws_session, token)
    intake = _handler({"RUN_QUEUE_URL": resources.queue_url, "INTAKE_TOKEN_SECRET_ARN": arn}, _counted_session()[0])
    assert intake(url_event("/runs", json.dumps({"runIds": [RUN]}), token=token))[0] == 202
    printed = capsys.readouterr()
    assert token not in json.dumps(log_output()) + printed.out + printed.err


def test_each_route_takes_only_its_own_token_and_only_the_webhook_token_may_push(aws_session, resources):
    webhook_arn = _secret(aws_session, INTAKE_TOKEN)
    runs_token = f"runs-token-{uuid.uuid4().hex}"
    runs_arn = _secret(aws_session, runs_token)
    env = {
        "RUN_QUEUE_URL": resources.queue_url,
        "INTAKE_TOKEN_SECRET_ARN": webhook_arn,
        "RUNS_TOKEN_SECRET_ARN": runs_arn,
    }
    intake = _handler(env, _counted_session()[0])
    created = webhook(event_type="ACTOR.RUN.CREATED")

    # A CI token cannot speak as Apify's webhooks: no push claim, nothing enqueued.
    pushed = url_event("/apify/webhooks", created, token=runs_token)
    pushed["headers"]["x-run-notifier-push"] = "actor"
    status, body = intake(pushed)
    assert (status, body["error"]["message"]) == (401, "this is the token for POST /runs, not for this route")
    # Nor the webhook token as a CI caller, and a CI call cannot claim a push either.
    status, body = intake(url_event("/runs", json.dumps({"runIds": [RUN]})))
    assert status == 401
    assert "Apify's webhooks" in body["error"]["message"]
    claimed = url_event("/runs", json.dumps({"runIds": [RUN]}), token=runs_token)
    claimed["headers"]["x-run-notifier-push"] = "actor"
    assert intake(claimed)[0] == 400
    assert queued(aws_session, resources) == []

    # Each on its own route is accepted; the webhook's push claim reaches the watcher.
    assert intake(url_event("/runs", json.dumps({"runIds": [RUN]}), token=runs_token))[0] == 202
    pushed["headers"]["authorization"] = f"Bearer {INTAKE_TOKEN}"
    assert intake(pushed)[0] == 202
    bodies = queued(aws_session, resources)
    assert sorted(b.get("push", "-") for b in bodies) == ["-", "actor"]


def test_the_runs_token_rotates_on_its_own(aws_session, resources):
    old, new = f"runs-old-{uuid.uuid4().hex}", f"runs-new-{uuid.uuid4().hex}"
    runs_arn = _secret(aws_session, old)
    aws_session.client("secretsmanager").put_secret_value(SecretId=runs_arn, SecretString=new)  # old -> AWSPREVIOUS
    env = {"RUN_QUEUE_URL": resources.queue_url, "INTAKE_TOKEN": INTAKE_TOKEN, "RUNS_TOKEN_SECRET_ARN": runs_arn}
    intake = _handler(env, _counted_session()[0])
    for token in (old, new):
        assert intake(url_event("/runs", json.dumps({"runIds": [RUN]}), token=token))[0] == 202
    assert intake(url_event("/apify/webhooks", webhook(), token=INTAKE_TOKEN))[0] == 202
    assert intake(url_event("/apify/webhooks", webhook(), token=new))[0] == 401
