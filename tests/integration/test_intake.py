"""The webhook intake behind its Function URL: every answer, nothing enqueued for a 4xx, rotation, duplicates."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import boto3
import pytest
from conftest import INTAKE_TOKEN, SLACK_PATH, event_source
from run_notifier.config import load_intake_settings
from run_notifier.function_url_handler import make_intake_handler
from run_notifier.wiring import build_intake

from localdev.lambda_context import FakeLambdaContext

RUN = "RunIntake0000001"


def url_event(
    path: str,
    body: str | bytes = "",
    *,
    method: str = "POST",
    token: str | None = INTAKE_TOKEN,
    content_type: str = "application/json",
    base64_encoded: bool = False,
) -> dict:
    """A Lambda Function URL event, payload format 2.0 (lower-case headers). A text body is passed on
    as it is (any code point, lone surrogates included, as Lambda could hand it over)."""
    headers = {"content-type": content_type, "x-apify-webhook": "dispatch"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    raw = body if isinstance(body, bytes) else body.encode("utf-8", errors="surrogatepass")
    text = body if isinstance(body, str) else raw.decode(errors="replace")
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "domainName": "abc.lambda-url.us-east-1.on.aws",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": base64.b64encode(raw).decode() if base64_encoded else text,
        "isBase64Encoded": base64_encoded,
    }


def webhook(event_type: str = "ACTOR.RUN.SUCCEEDED", run_id: object = RUN) -> str:
    return json.dumps(
        {
            "userId": "SimUser0000000001",
            "createdAt": "2026-11-28T10:00:00.000Z",
            "eventType": event_type,
            "eventData": {"actorId": "SimActor00000001", "actorRunId": run_id},
            "resource": {"id": run_id, "status": "SUCCEEDED"},
        }
    )


def queued(aws_session, resources) -> list[dict]:
    sqs = aws_session.client("sqs")
    bodies = []
    while True:
        response = sqs.receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not response.get("Messages"):
            return bodies
        for message in response["Messages"]:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=resources.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.mark.parametrize(
    "event_type",
    [
        "ACTOR.RUN.CREATED",
        "ACTOR.RUN.RESURRECTED",
        "ACTOR.RUN.SUCCEEDED",
        "ACTOR.RUN.FAILED",
        "ACTOR.RUN.TIMED_OUT",
        "ACTOR.RUN.ABORTED",
    ],
)
def test_run_events_enqueue_the_run(intake, aws_session, resources, event_type):
    assert intake(url_event("/apify/webhooks", webhook(event_type))) == (202, {"runId": RUN, "enqueued": True})
    assert queued(aws_session, resources) == [{"runId": RUN, "event": event_type}]


def test_a_run_that_just_ended_is_enqueued_to_be_read_once_its_costs_settled(resources, aws_session):
    """With SETTLE_SECONDS 10, a terminal event for a run that finished 4 s ago waits 6 s on the queue
    (the watcher then reads it once, settled, instead of coming back for the costs); a run that is
    starting is enqueued at once."""
    now = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)
    settings = load_intake_settings({"RUN_QUEUE_URL": resources.queue_url, "INTAKE_TOKEN": INTAKE_TOKEN})
    components = build_intake(settings, boto3.session.Session(region_name="us-east-1"))._replace(clock=lambda: now)
    handler = make_intake_handler(components)
    ended = json.loads(webhook("ACTOR.RUN.FAILED"))
    ended["resource"]["finishedAt"] = "2026-12-02T09:59:56.000Z"
    context = FakeLambdaContext(timeout_secs=10, function_name="WebhookIntakeFunction")
    assert handler(url_event("/apify/webhooks", json.dumps(ended)), context)["statusCode"] == 202
    assert handler(url_event("/apify/webhooks", webhook("ACTOR.RUN.CREATED")), context)["statusCode"] == 202
    attributes = aws_session.client("sqs").get_queue_attributes(
        QueueUrl=resources.queue_url,
        AttributeNames=["ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessages"],
    )["Attributes"]
    assert (attributes["ApproximateNumberOfMessagesDelayed"], attributes["ApproximateNumberOfMessages"]) == ("1", "1")
    assert queued(aws_session, resources) == [{"runId": RUN, "event": "ACTOR.RUN.CREATED"}]


@pytest.mark.parametrize(
    ("event_type", "header", "push"),
    [
        ("ACTOR.RUN.CREATED", "actor", "actor"),  # make enroll's webhook: it will announce the end too
        ("ACTOR.RUN.RESURRECTED", "adhoc", "adhoc"),  # the run's own ad-hoc webhook, still armed
        ("ACTOR.RUN.CREATED", "off", None),  # only the modes that promise an announcement are passed on
        ("ACTOR.RUN.CREATED", "yes-please", None),
        ("ACTOR.RUN.SUCCEEDED", "adhoc", None),  # the end itself: nothing to arm or to back off
    ],
)
def test_the_notifiers_own_webhooks_tell_the_watcher_how_the_run_is_pushed(
    intake, aws_session, resources, event_type, header, push
):
    event = url_event("/apify/webhooks", webhook(event_type))
    event["headers"]["x-run-notifier-push"] = header
    assert intake(event)[0] == 202
    expected = {"runId": RUN, "event": event_type} | ({"push": push} if push else {})
    assert queued(aws_session, resources) == [expected]


def test_the_run_id_comes_from_the_resource_when_event_data_has_none(intake, aws_session, resources):
    body = json.dumps({"eventType": "ACTOR.RUN.FAILED", "eventData": {}, "resource": {"id": RUN}})
    assert intake(url_event("/apify/webhooks", body, base64_encoded=True))[0] == 202
    assert queued(aws_session, resources) == [{"runId": RUN, "event": "ACTOR.RUN.FAILED"}]


def test_apify_test_dispatch_and_other_events_enqueue_nothing(intake, aws_session, resources):
    assert intake(url_event("/apify/webhooks", webhook("TEST"))) == (200, {"ok": True, "enqueued": False})
    status, body = intake(url_event("/apify/webhooks", webhook("ACTOR.BUILD.SUCCEEDED")))
    assert (status, body) == (202, {"eventType": "ACTOR.BUILD.SUCCEEDED", "enqueued": False})
    assert queued(aws_session, resources) == []


def test_run_list_enqueues_each_id_once(intake, aws_session, resources):
    ids = [f"RunList{i:09d}" for i in range(12)]
    status, body = intake(url_event("/runs", json.dumps({"runIds": [*ids, ids[0]]})))
    assert (status, body) == (202, {"runIds": ids, "enqueued": True})
    assert sorted(m["runId"] for m in queued(aws_session, resources)) == ids


@pytest.mark.parametrize(
    ("event", "status", "error_type"),
    [
        (url_event("/apify/webhooks", webhook(), token=None), 401, "token-not-valid"),
        (url_event("/apify/webhooks", webhook(), token="wrong-token"), 401, "token-not-valid"),
        (url_event("/apify/webhooks", "{not json"), 400, "invalid-input"),
        (url_event("/apify/webhooks", "[" * 5000 + "]" * 5000), 400, "invalid-input"),
        (url_event("/apify/webhooks", webhook(run_id="../../users/me")), 400, "invalid-input"),
        (url_event("/apify/webhooks", webhook(run_id=123)), 400, "invalid-input"),
        (url_event("/apify/webhooks", json.dumps({"eventType": "ACTOR.RUN.CREATED"})), 400, "invalid-input"),
        (url_event("/runs", json.dumps({"runIds": []})), 400, "invalid-input"),
        (url_event("/runs", json.dumps({"runIds": [f"R{i}" for i in range(101)]})), 400, "invalid-input"),
        (url_event("/runs", json.dumps({"runIds": ["ok1", "not ok"]})), 400, "invalid-input"),
        (url_event("/apify/webhooks", "x" * 300_000), 413, "payload-too-large"),
        (url_event("/apify/webhooks", webhook(), content_type="text/plain"), 415, "unsupported-media-type"),
        (url_event("/apify/webhooks", webhook(), method="GET"), 405, "method-not-allowed"),
        (url_event("/runs", "", method="DELETE"), 405, "method-not-allowed"),
        (url_event("/v2/actor-runs", webhook()), 404, "page-not-found"),
    ],
    ids=[
        "no-token",
        "wrong-token",
        "bad-json",
        "nested",
        "bad-id",
        "id-type",
        "no-id",
        "empty-list",
        "101-ids",
        "bad-id-in-list",
        "300kb",
        "not-json-type",
        "get",
        "delete",
        "unknown-path",
    ],
)
def test_every_refusal_answers_like_apify_and_enqueues_nothing(
    intake, aws_session, resources, log_output, event, status, error_type
):
    got_status, body = intake(event)
    assert got_status == status
    assert body["error"]["type"] == error_type
    assert body["error"]["message"]
    assert queued(aws_session, resources) == []
    assert INTAKE_TOKEN not in json.dumps(log_output())


def test_a_queue_that_refuses_answers_503_so_apify_retries(aws_session, resources):
    missing_queue = resources.queue_url + "-gone"
    settings = load_intake_settings({"RUN_QUEUE_URL": missing_queue, "INTAKE_TOKEN": INTAKE_TOKEN})
    handler = make_intake_handler(build_intake(settings, boto3.session.Session(region_name="us-east-1")))
    answer = handler(url_event("/apify/webhooks", webhook()), FakeLambdaContext(timeout_secs=10))
    assert answer["statusCode"] == 503
    assert json.loads(answer["body"])["error"]["type"] == "service-unavailable"


def test_both_the_current_and_the_previous_token_work_during_a_rotation(aws_session, resources):
    sm = aws_session.client("secretsmanager")
    arn = sm.create_secret(Name=f"intake-{uuid.uuid4().hex[:6]}", SecretString="intake-token-before-rotation")["ARN"]
    sm.put_secret_value(SecretId=arn, SecretString="intake-token-after-rotation")  # the old one is AWSPREVIOUS now
    settings = load_intake_settings({"RUN_QUEUE_URL": resources.queue_url, "INTAKE_TOKEN_SECRET_ARN": arn})
    handler = make_intake_handler(build_intake(settings, boto3.session.Session(region_name="us-east-1")))

    def status(token: str) -> int:
        return handler(url_event("/runs", json.dumps({"runIds": [RUN]}), token=token), FakeLambdaContext())[
            "statusCode"
        ]

    assert status("intake-token-after-rotation") == 202
    assert status("intake-token-before-rotation") == 202
    assert status("intake-token-never-issued") == 401


def test_a_webhook_delivered_twice_and_replayed_later_notifies_once(
    intake, load_app, base_env, sim, receiver, aws_session, resources
):
    sim.add_run(RUN, 0.0, settle_secs=0)
    for _ in range(2):
        assert intake(url_event("/apify/webhooks", webhook()))[0] == 202
    watcher = load_app({**base_env, "SETTLE_SECONDS": "0"})
    source = event_source(watcher, aws_session, resources)
    assert source.run_until(lambda: len(receiver.received(SLACK_PATH)) >= 1 and _empty(aws_session, resources), 30)
    assert intake(url_event("/apify/webhooks", webhook()))[0] == 202  # the replay, "an hour later"
    assert source.run_until(lambda: _empty(aws_session, resources), 30)
    assert len(receiver.received(SLACK_PATH)) == 1


def _empty(aws_session, resources) -> bool:
    attrs = aws_session.client("sqs").get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    return all(
        attrs[name] == "0"
        for name in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def test_the_shipped_sample_event_is_accepted(resources, aws_session):
    from conftest import load_event

    event = load_event("function_url_apify_webhook.json")  # sam local invoke WebhookIntakeFunction -e ...
    token = event["headers"]["authorization"].removeprefix("Bearer ")
    # Settle 0: read at once (the sample's run has no finishedAt, so it would wait the whole settle time).
    settings = load_intake_settings(
        {"RUN_QUEUE_URL": resources.queue_url, "INTAKE_TOKEN": token, "SETTLE_SECONDS": "0"}
    )
    handler = make_intake_handler(build_intake(settings, boto3.session.Session(region_name="us-east-1")))
    answer = handler(event, FakeLambdaContext())
    assert answer["statusCode"] == 202
    assert queued(aws_session, resources) == [{"runId": RUN, "event": "ACTOR.RUN.SUCCEEDED"}]


def test_an_unreadable_token_secret_answers_503_so_apify_retries_rather_than_401(aws_session, resources, log_output):
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:intake-missing-AbCdEf"
    settings = load_intake_settings({"RUN_QUEUE_URL": resources.queue_url, "INTAKE_TOKEN_SECRET_ARN": missing})
    handler = make_intake_handler(build_intake(settings, boto3.session.Session(region_name="us-east-1")))
    answer = handler(url_event("/apify/webhooks", webhook()), FakeLambdaContext())
    assert answer["statusCode"] == 503
    assert queued(aws_session, resources) == []
    assert any(line["message"] == "Intake token unreadable" for line in log_output())
